"""Read `gcloud ai custom-jobs create` arguments the way gcloud's argparse-based parser does.

`tokenize` turns argv into an ordered list of `Occurrence`s (flag, raw value, which argv
items it came from) plus problems, and expands `--flags-file` as gcloud does. Nothing here
interprets values beyond their shape; `parse.py` turns occurrences into a request.
"""

from __future__ import annotations

import enum
import errno
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prgcloud import files
from prgcloud.argdict import ESCAPING_HINT
from prgcloud.errors import Problem

# Reads at most `limit` characters of standard input (`TextIO.read`).
ReadStdin = Callable[[int], str]


class Kind(enum.Enum):
    VALUE = "value"  # --flag=V / --flag V; the last one wins
    BOOL = "bool"  # --flag / --no-flag
    APPEND = "append"  # repeatable; every occurrence is kept in order
    OPTIONAL = "optional"  # --flag or --flag=V (prgcloud's own: never takes the next item)


@dataclass(frozen=True)
class Flag:
    name: str
    kind: Kind
    scope: str  # "command" (create's own), "global" (gcloud-wide), or "prgcloud"
    negatable: bool = False  # gcloud also accepts --no-NAME


def _negatable(scope: str, *names: str) -> dict[str, Flag]:
    return {name: Flag(name, Kind.BOOL, scope, negatable=True) for name in names}


def _flags(scope: str, kind: Kind, *names: str) -> dict[str, Flag]:
    return {name: Flag(name, kind, scope) for name in names}


FLAGS: dict[str, Flag] = {
    **_flags(
        "command",
        Kind.VALUE,
        "--display-name",
        "--config",
        "--python-package-uris",
        "--persistent-resource-id",
        "--network",
        "--service-account",
        "--region",
        "--kms-key",
        "--kms-keyring",
        "--kms-location",
        "--kms-project",
    ),
    **_flags("command", Kind.APPEND, "--worker-pool-spec", "--args", "--command", "--labels"),
    **_negatable("command", "--enable-web-access", "--enable-dashboard-access"),
    **_flags(
        "global",
        Kind.VALUE,
        "--project",
        "--format",
        "--verbosity",
        "--account",
        "--impersonate-service-account",
        "--access-token-file",
        "--billing-project",
        "--configuration",
        "--flags-file",
        "--trace-token",
        "--http-timeout",
        "--flatten",
        "--authority-selector",
        "--authorization-token-file",
        "--credential-file-override",
        "--universe-domain",
    ),
    **_flags("global", Kind.BOOL, "--quiet", "--help"),
    **_negatable("global", "--log-http", "--user-output-enabled"),
    **_flags("prgcloud", Kind.OPTIONAL, "--dry-run", "--wait-for-capacity", "--wait"),
    **_negatable("prgcloud", "--skip-precheck", "--strict", "--stream-logs"),
}
# `hp-tuning-jobs create`'s flags: the custom-job ones it shares, its own, and prgcloud's
# extensions `--persistent-resource-id` and `--worker-pool-spec` (which gcloud lacks there).
TUNING_FLAGS: dict[str, Flag] = {
    **{
        name: flag
        for name, flag in FLAGS.items()
        if name not in ("--python-package-uris", "--args", "--command")
    },
    **_flags("command", Kind.VALUE, "--algorithm", "--max-trial-count", "--parallel-trial-count"),
    **_flags("prgcloud", Kind.VALUE, "--persistent-resource-id"),
    **_flags("prgcloud", Kind.APPEND, "--worker-pool-spec"),
}
_SHORT = {"-q": "--quiet", "-h": "--help"}
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")
FLAGS_FILE = "--flags-file"


@dataclass(frozen=True)
class Occurrence:
    """One flag as the user gave it.

    `value` is a str from the command line, a YAML value from a flags file (str, list or
    dict), True/False for a boolean flag, or None for an optional-value flag without one.
    `argv_items` are the indexes in argv it came from (empty for flags-file entries, whose
    `--flags-file` item is recorded in `from_flags_file`).
    """

    flag: Flag
    value: Any
    argv_items: tuple[int, ...] = ()
    from_flags_file: int | None = None


@dataclass
class Tokens:
    """The result of reading argv: occurrences in order, and everything that was wrong."""

    occurrences: list[Occurrence] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    flags_file_items: set[int] = field(default_factory=set)
    stdin_read: bool = False

    def all(self, name: str) -> list[Occurrence]:
        """Every occurrence of flag `name`, in order."""
        return [o for o in self.occurrences if o.flag.name == name]

    def last(self, name: str) -> Any:
        """The value of the last occurrence of `name` (argparse: last wins), else None."""
        found = self.all(name)
        return found[-1].value if found else None

    def given(self, name: str) -> bool:
        """Whether the flag appears at all."""
        return any(o.flag.name == name for o in self.occurrences)


def tokenize(
    argv: Sequence[str],
    *,
    cwd: str,
    read_stdin: ReadStdin | None = None,
    table: Mapping[str, Flag] | None = None,
) -> Tokens:
    """Read argv into occurrences; `read_stdin` is called for `--flags-file=-`.

    `table` is the command's flags (default: `custom-jobs create`'s, `FLAGS`).
    """
    table = FLAGS if table is None else table
    tokens = Tokens()
    tokens.problems.extend(_not_text(argv))
    i = 0
    while i < len(argv):
        item = argv[i]
        name, eq, inline = item.partition("=") if item.startswith("--") else (item, "", "")
        name = _SHORT.get(name, name)
        flag, negated = lookup(name, table)
        if flag is None:
            tokens.problems.append(Problem("", unrecognized(item, table)))
            i += 1
            continue
        if flag.kind in (Kind.BOOL, Kind.OPTIONAL):
            if flag.kind is Kind.BOOL and eq:
                tokens.problems.append(Problem(flag.name, f"ignored explicit argument '{inline}'"))
            value: Any = (not negated) if flag.kind is Kind.BOOL else (inline if eq else None)
            tokens.occurrences.append(Occurrence(flag, value, (i,)))
            i += 1
            continue
        if eq:
            used: tuple[int, ...] = (i,)
            value = inline
            i += 1
        elif i + 1 < len(argv) and not _looks_like_flag(argv[i + 1]):
            value, used = argv[i + 1], (i, i + 1)
            i += 2
        else:
            tokens.problems.append(Problem(flag.name, "expected one argument"))
            i += 1
            continue
        if flag.name == FLAGS_FILE:
            tokens.flags_file_items.update(used)
            _expand_flags_file(
                value, tokens, cwd=cwd, item=used[0], read_stdin=read_stdin, table=table
            )
            continue
        tokens.occurrences.append(Occurrence(flag, value, used))
    return tokens


def _not_text(argv: Sequence[str]) -> list[Problem]:
    """A problem for each argument that is not text (undecodable bytes arrive as surrogates)."""
    problems = []
    for index, item in enumerate(argv):
        if is_text(item):
            continue
        name, eq, _ = item.partition("=")
        previous = argv[index - 1] if index else ""
        if item.startswith("--") and eq and is_text(name):
            problems.append(Problem(name, f"the value {NOT_TEXT}"))
        elif previous.startswith("--") and "=" not in previous and is_text(previous):
            problems.append(Problem(previous, f"the value {NOT_TEXT}"))
        else:
            problems.append(Problem("", f"argument #{index + 1} after `create` {NOT_TEXT}"))
    return problems


# The flags whose values are lists (ArgList) or mappings (ArgDict); a flags file may give
# those values as YAML lists and mappings. Every other value flag takes a scalar.
LIST_FLAGS = frozenset({"--args", "--command", "--python-package-uris"})
DICT_FLAGS = frozenset({"--labels", "--worker-pool-spec", "--resource-pool-spec"})


NOT_TEXT = (
    "is not UTF-8 text (it holds a byte or an escape that is no character); gcloud would "
    "send it as it is, and Vertex AI takes only valid UTF-8."
)


def is_text(value: Any) -> bool:
    """Whether every string in `value` (str, list or dict) encodes as UTF-8: no lone surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(is_text(k) and is_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(is_text(v) for v in value)
    return True


def read_stdin_text(read_stdin: ReadStdin, limit: int = files.SPEC_FILE_LIMIT) -> str:
    """Standard input, refused (FileRefusedError) when it holds more than `limit` characters."""
    text = read_stdin(limit + 1)
    if len(text) > limit:
        raise files.FileRefusedError(errno.EFBIG, f"it is larger than {limit // (1024 * 1024)} MiB")
    return text


def read_user_file(path: str, cwd: str) -> str:
    """A `--config` or `--flags-file` file, within prgcloud.files' bounds (OSError otherwise)."""
    return files.read_text(os.path.join(cwd, path), limit=files.SPEC_FILE_LIMIT)


def _shape_problem(name: str, value: list[Any] | dict[Any, Any]) -> str | None:
    """What is wrong with a flags-file list or mapping given to flag `name`, if anything."""
    kind = "list" if isinstance(value, list) else "dict"
    if name in ("--worker-pool-spec", "--resource-pool-spec"):
        return None  # its own parser says which pool, and why
    if (kind == "list" and name not in LIST_FLAGS) or (kind == "dict" and name not in DICT_FLAGS):
        return f"Invalid type [{kind}] for flag value"
    pairs = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    for key, item in pairs:
        if item is None and key is not None:
            return f"Bad syntax for dict arg: [{key}]. {ESCAPING_HINT}"
        if not isinstance(item, str):
            return f"Invalid value [{item}]: expected a string"
    return None


def lookup(name: str, table: Mapping[str, Flag] | None = None) -> tuple[Flag | None, bool]:
    """The flag `name` names in `table` (default `FLAGS`), and whether it is a `--no-` form."""
    table = FLAGS if table is None else table
    flag = table.get(name)
    if flag is None and name.startswith("--no-"):
        candidate = table.get("--" + name[5:])
        if candidate is not None and candidate.negatable:
            return candidate, True
    return flag, False


# gcloud-wide flags gcloud hides from help, and so from its "did you mean" suggestions.
_HIDDEN = frozenset(
    {
        "--authority-selector",
        "--authorization-token-file",
        "--credential-file-override",
        "--http-timeout",
    }
)


def unrecognized(item: str, names: Iterable[str]) -> str:
    """gcloud's words for an argument no flag takes, with its suggestion when one is close.

    As gcloud's parser_extensions: only flags (or `name=value` items) get a suggestion, the
    closest of the visible flag names by difflib, compared in lower case.
    """
    import difflib  # only a mistyped flag pays for it

    name, eq, _value = item.partition("=")
    if name.startswith("--") or eq:
        choices = [n for n in names if n not in _HIDDEN]
        close = difflib.get_close_matches(name.lower(), choices, 1)
        if close:
            return f"unrecognized arguments: {item} (did you mean '{close[0]}'?)"
    return f"unrecognized arguments: {item}"


def _looks_like_flag(item: str) -> bool:
    # argparse: a negative number, or anything with a space in it, is a value.
    return (
        item.startswith("-")
        and len(item) > 1
        and not _NEGATIVE_NUMBER.match(item)
        and " " not in item
    )


def _expand_flags_file(
    path: str,
    tokens: Tokens,
    *,
    cwd: str,
    item: int,
    read_stdin: ReadStdin | None,
    table: Mapping[str, Flag],
    stack: tuple[str, ...] = (),
) -> None:
    """Add the flags a `--flags-file` holds, as gcloud's cli._AddFlagsFileFlags does."""
    where = FLAGS_FILE
    if path in stack:
        tokens.problems.append(Problem(where, f"recursive reference ({' > '.join(stack)})."))
        return
    contents = _flags_file_text(path, tokens, cwd=cwd, read_stdin=read_stdin)
    if contents is None:
        return
    if not contents:
        tokens.problems.append(Problem(where, f"[{path}] is empty."))
        return
    from prgcloud import yamlread  # PyYAML only for a command that reads YAML

    try:
        data = yamlread.load_flags_file(contents)
    except yamlread.YamlError as error:
        tokens.problems.append(Problem(where, f"[{path}] is not valid YAML: {error}"))
        return
    for member in data if isinstance(data, list) else [data]:
        if not isinstance(member, dict):
            tokens.problems.append(
                Problem(where, f"{path}: file must contain a dictionary or list of dictionaries.")
            )
            return
        for name, value in member.items():
            if name == FLAGS_FILE:
                for nested in value if isinstance(value, list) else [value]:
                    _expand_flags_file(
                        str(nested),
                        tokens,
                        cwd=cwd,
                        item=item,
                        read_stdin=read_stdin,
                        table=table,
                        stack=(*stack, path),
                    )
                continue
            _add_flags_file_entry(name, value, tokens, path=path, item=item, table=table)


def _flags_file_text(
    path: str, tokens: Tokens, *, cwd: str, read_stdin: ReadStdin | None
) -> str | None:
    """The text of one flags file (or standard input), or None after adding the problem."""
    where = FLAGS_FILE
    try:
        if path != "-":
            return read_user_file(path, cwd)
        if read_stdin is None or tokens.stdin_read:
            tokens.problems.append(Problem(where, "standard input can be read only once."))
            return None
        tokens.stdin_read = True
        return read_stdin_text(read_stdin)
    except FileNotFoundError:
        tokens.problems.append(Problem(where, f"[{path}] not found."))
    except OSError as error:  # files.FileRefusedError says why in its strerror
        tokens.problems.append(Problem(where, f"[{path}] cannot be read: {error.strerror}."))
    return None


def _add_flags_file_entry(
    name: Any, value: Any, tokens: Tokens, *, path: str, item: int, table: Mapping[str, Flag]
) -> None:
    """One `flag: value` entry of a flags file, as the argument gcloud injects for it."""
    flag, negated = lookup(str(name), table)
    if flag is None:
        tokens.problems.append(Problem(FLAGS_FILE, f"{path}: unrecognized flag {name}"))
        return
    if not is_text(value):
        tokens.problems.append(Problem(flag.name, f"the value in {path} {NOT_TEXT}"))
        return
    if flag.kind is Kind.BOOL:
        # gcloud injects a null or boolean entry as the bare flag, whatever its value; any
        # other scalar as `--flag=VALUE`, which argparse refuses (`yes` is text in YAML 1.2).
        if isinstance(value, (list, dict)):
            tokens.problems.append(Problem("", f"unrecognized arguments: {flag.name} {value}"))
            return
        if value is not None and not isinstance(value, bool):
            tokens.problems.append(Problem(flag.name, f"ignored explicit argument '{value}'"))
            return
        value = not negated
    elif flag.kind is Kind.OPTIONAL and (value is None or isinstance(value, bool)):
        value = None  # the bare flag: `--dry-run` alone
    elif value is None or isinstance(value, bool):
        # ... and so a null or boolean value leaves a value flag without one.
        tokens.problems.append(Problem(flag.name, "expected one argument"))
        return
    elif not isinstance(value, (list, dict)):
        value = str(value)  # gcloud injects `--flag=VALUE`: 010 is "10", 1e3 is "1000.0"
    else:
        problem = _shape_problem(flag.name, value)
        if problem:
            tokens.problems.append(Problem(flag.name, problem))
            return
    tokens.occurrences.append(Occurrence(flag, value, from_flags_file=item))
