"""How prgcloud's own verbs read their arguments, and how they shape what they print.

Two readers, one for each kind of verb:

- the verbs that take `gcloud ai custom-jobs create` arguments (`create`, `check`) read them
  with `prgcloud.flags`, which follows gcloud's own parser item by item;
- prgcloud's own verbs (`capacity`, `shim-path`) use `Parser`: argparse, set up to answer
  as gcloud does (no abbreviations; errors are BadInputError, exit 2, never a printed usage
  and SystemExit; `unrecognized arguments: --x (did you mean '--y'?)`), with gcloud's wide
  flags (`add_gcloud_wide_flags`) and `--flags-file` (`expand_flags_files`).

`Display` is what gcloud's wide flags and properties say about output: `--format`,
`--flatten`, `--verbosity`, `--[no-]user-output-enabled`. `locate` resolves where a read-only
verb acts (project, region, endpoint) and as whom, as gcloud would.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from prgcloud import flags, output
from prgcloud.errors import BadInputError, Problem

if TYPE_CHECKING:
    from prgcloud.gcloud_config import Properties
    from prgcloud.request import Identity


class Parser(argparse.ArgumentParser):
    """argparse for a prgcloud verb: gcloud's wording, BadInputError instead of an exit."""

    def __init__(self, prog: str, usage: str) -> None:
        super().__init__(prog=prog, usage=usage, add_help=False, allow_abbrev=False)

    def error(self, message: str) -> NoReturn:
        """argparse's complaint, as bad input (exit 2) with the usage line."""
        raise BadInputError(f"{message}\n{self.usage}")

    def parse(self, argv: Sequence[str]) -> argparse.Namespace:
        """Read argv; anything no argument takes is reported with gcloud's suggestion."""
        known, unknown = self.parse_known_args(list(argv))
        if unknown:
            names = [name for action in self._actions for name in action.option_strings]
            problems = [Problem("", flags.unrecognized(item, names)) for item in unknown]
            raise BadInputError([*problems, Problem("", str(self.usage))])
        return known


def add_gcloud_wide_flags(parser: argparse.ArgumentParser) -> None:
    """gcloud's wide flags (`--project`, `--format`, `--verbosity`, `--quiet`, ...), each
    under its own name: `flag(namespace, "--project")` reads one back."""
    for name, flag in flags.FLAGS.items():
        if flag.scope != "global" or name in ("--help", flags.FLAGS_FILE):
            continue
        if flag.kind is flags.Kind.VALUE:
            parser.add_argument(name, dest=name)
        elif flag.negatable:
            parser.add_argument(name, dest=name, action=argparse.BooleanOptionalAction)
        else:
            short = ["-q"] if name == "--quiet" else []
            parser.add_argument(*short, name, dest=name, action="store_true", default=None)


def flag(namespace: argparse.Namespace, name: str) -> Any:
    """The value argparse read for flag `name` (None when it was not given)."""
    return getattr(namespace, name, None)


def expand_flags_files(
    argv: Sequence[str], *, cwd: str, read_stdin: Callable[[int], str] | None = None
) -> list[str]:
    """argv with each `--flags-file` replaced by the flags its YAML holds, as gcloud does."""
    expanded: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        name, has_value, _value = items[i].partition("=")
        if name != flags.FLAGS_FILE:
            expanded.append(items[i])
            i += 1
            continue
        width = 1 if has_value or i + 1 >= len(items) else 2
        tokens = flags.tokenize(items[i : i + width], cwd=cwd, read_stdin=read_stdin)
        if tokens.problems:
            raise BadInputError(tokens.problems)
        from prgcloud.parse import inline_flag

        expanded += [arg for occurrence in tokens.occurrences for arg in inline_flag(occurrence)]
        i += width
    return expanded


def read_stdin_once(read: Callable[[int], str]) -> Callable[[int], str]:
    """`read(limit)`, called once: later calls get the same text (two readers, one stdin)."""
    text: list[str] = []

    def once(limit: int) -> str:
        if not text:
            text.append(read(limit))
        return text[0]

    return once


@dataclass(frozen=True)
class Display:
    """How a command shows its result: gcloud's format, flatten, verbosity and user output.

    `format` None is the command's own text for people.
    """

    format: output.Format | None = None
    flatten: tuple[output.Key, ...] = ()
    verbosity: str = "warning"
    user_output: bool = True

    def log(self, stream: TextIO) -> output.Log:
        """prgcloud's messages on `stream` at this verbosity."""
        return output.Log(stream, self.verbosity, self.user_output)

    def render(self, resource: Mapping[str, Any], human: Callable[[], str]) -> str:
        """What goes to stdout: the resource in `format`, or `human()`, or nothing at all
        with `--no-user-output-enabled`."""
        if not self.user_output:
            return ""
        if self.format is None:
            return human()
        return output.render(resource, self.format, flatten_keys=self.flatten)


def display(read: Callable[[str], Any], properties: Properties) -> Display:
    """The Display that the flags (`read(name)` -> value) and gcloud's properties ask for.

    Raises BadInputError (every problem at once) for a format, flatten or verbosity that
    prgcloud cannot honour.
    """
    problems: list[Problem] = []
    fmt = None
    flatten: list[output.Key] = []
    verbosity = "warning"
    try:
        text = read("--format")
        fmt = output.parse_format(text) if text else None
    except BadInputError as error:
        problems += error.problems
    try:
        flatten = output.parse_flatten([read("--flatten")] if read("--flatten") else [])
    except BadInputError as error:
        problems += error.problems
    try:
        verbosity = output.verbosity(read("--verbosity") or properties.get("core/verbosity"))
    except BadInputError as error:
        problems += error.problems
    if problems:
        raise BadInputError(problems)
    user_output = read("--user-output-enabled")
    if user_output is None:
        user_output = output.is_true(properties.get("core/user_output_enabled"), default=True)
    return Display(fmt, tuple(flatten), verbosity, bool(user_output))


_RESOURCE_NAME = re.compile(r"^projects/([^/]+)/locations/([^/]+)/persistentResources/([^/]+)$")


def resource_id(value: str) -> tuple[str, tuple[str, str] | None]:
    """A persistent resource given by id or by full name: (its id, the (project, region) a
    full name gives, else None)."""
    full = _RESOURCE_NAME.match(value)
    if full is None:
        return value, None
    return full.group(3), (full.group(1), full.group(2))


@dataclass(frozen=True)
class Located:
    """Where a verb acts and as whom, read as gcloud reads it, and how it shows its result."""

    project: str
    region: str
    endpoint: str
    identity: Identity
    properties: Properties
    display: Display


def locate(
    namespace: argparse.Namespace,
    environ: Mapping[str, str],
    *,
    named: tuple[str, str] | None = None,
    training: bool = True,
    problems: Sequence[Problem] = (),
    shows: bool = True,
) -> Located:
    """Project, region, endpoint and identity from the flags `Parser` read, gcloud's
    properties and `named` (a full name's project and region); with `shows`, the Display
    (else the default one: the verb hands `--format` to gcloud).

    Raises BadInputError with `problems` and every problem found here, all at once.
    """
    from prgcloud import parse
    from prgcloud.gcloud_config import aiplatform_endpoint

    def read(name: str) -> Any:
        return flag(namespace, name)

    properties = parse.gcloud_properties(environ, read)
    project, region, found = parse.resolve_location(
        read("--region"), properties, named=named, training=training
    )
    problems = [*problems, *found]
    shown = Display()
    if shows:
        try:
            shown = display(read, properties)
        except BadInputError as error:
            problems += error.problems
    if problems:
        raise BadInputError(problems)
    assert project is not None
    assert region is not None
    return Located(
        project=project,
        region=region,
        endpoint=aiplatform_endpoint(properties, region),
        identity=parse.identity(read, properties),
        properties=properties,
        display=shown,
    )
