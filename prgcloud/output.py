"""gcloud's output conventions for prgcloud's own commands: `--format`, `--flatten`, verbosity.

`check` and `capacity` print one resource (a JSON-ready dict). `--format` shapes it as gcloud's
resource printers (`googlecloudsdk/core/resource/`) would shape the same data:

- `json`, `yaml`: the whole resource, keys sorted; `json(a,b.c)` keeps only those keys;
- `value(a,b.c)`: one line per record, tab-separated; lists joined by `;`, dicts as `k=v`;
- `csv(a,b)`: a lower-case heading line, then comma-separated, quoted where needed;
- `table(a,b:label=X)`: a heading (the key in ANGRY_SNAKE_CASE), columns two spaces apart;
- `text` / `flattened`: one `key.path: value` line per leaf;
- `none`: nothing.

Keys are dotted names with list indexes (`pools[0].id`) or slices (`pools[].id`); a name
applied to a list applies to each item, as in gcloud. The key attribute `:label=` and the
printer attributes `[no-heading]`, `[separator=...]`, `[delimiter=...]`, `[terminator=...]`,
`[quote]`, `[no-quote]`, `[no-pad]` are understood; gcloud's transforms (`len()`,
`basename()`, ...) and the other key attributes (`:sort=`, `:align=`, ...) are refused with
exit 2 rather than ignored. `--flatten=KEY` makes one record per item of the list at KEY.

The module also carries gcloud's verbosity for prgcloud's own messages (`Log`): debug steps
on stderr with `--verbosity=debug`, warnings unless `--verbosity=error` or quieter, status
lines unless `--no-user-output-enabled`. Pure text in, text out: nothing here writes to a
stream it was not handed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from prgcloud.errors import BadInputError

if TYPE_CHECKING:
    from prgcloud.gcloud_config import Properties
    from prgcloud.precheck import Verdict
    from prgcloud.request import Identity

FORMATS = ("csv", "flattened", "json", "none", "table", "text", "value", "yaml")
_NEEDS_KEYS = ("csv", "table", "value")
# gcloud's other key attributes: refused rather than silently ignored.
_UNSUPPORTED_KEY_ATTRIBUTES = frozenset(
    {"alias", "align", "format", "optional", "reverse", "sort", "width", "wrap"}
)

# Where a camelCase word gets its `_` in gcloud's snake_case and ANGRY_SNAKE_CASE headings.
_SNAKE = re.compile(r"((?<=[a-z0-9])[A-Z]+|(?!^)[A-Z](?=[a-z]))")
# A key's parts: a name, a list index, or None for a whole slice (`[]`).
KeyPart = str | int | None
Key = tuple[KeyPart, ...]


@dataclass(frozen=True)
class Column:
    """One projected key and the label a table or csv heading shows for it."""

    key: Key
    label: str


@dataclass(frozen=True)
class Format:
    """A parsed `--format`: the printer, its `[attributes]` and its `(keys)`."""

    name: str
    attributes: Mapping[str, str | int] = field(default_factory=dict)
    columns: tuple[Column, ...] = ()


class _Lexer:
    """Reads a format expression from left to right; errors name where it went wrong."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def error(self, message: str) -> BadInputError:
        here = f"{self.text[: self.at]} *HERE* {self.text[self.at :]}".strip()
        return BadInputError.at("--format", f"{message} [{here}].")

    def skip_space(self) -> bool:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1
        return self.at < len(self.text)

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self, char: str) -> bool:
        self.skip_space()
        if self.peek() == char:
            self.at += 1
            return True
        return False

    def token(self, stops: str) -> str:
        """Characters up to one of `stops` (or the end); a quoted run may hold any of them."""
        self.skip_space()
        out: list[str] = []
        while self.at < len(self.text) and self.text[self.at] not in stops:
            char = self.text[self.at]
            if char in "'\"":
                end = self.text.find(char, self.at + 1)
                if end < 0:
                    raise self.error("Unterminated quoted string")
                out.append(self.text[self.at + 1 : end])
                self.at = end + 1
            else:
                out.append(char)
                self.at += 1
        return "".join(out).strip()


def parse_format(text: str) -> Format:
    """Read a `--format` expression; raise BadInputError (exit 2) when prgcloud cannot print it."""
    lex = _Lexer(text)
    name = lex.token("[(")
    if name not in FORMATS:
        raise BadInputError.at(
            "--format",
            f"Format must be one of {', '.join(FORMATS)}; received [{name}]. "
            "(prgcloud prints these of gcloud's formats for its own commands.)",
        )
    attributes: dict[str, str | int] = {}
    columns: list[Column] = []
    labels = _Labels()
    while lex.skip_space():
        if lex.take("["):
            _attributes(lex, attributes)
        elif lex.take("("):
            columns = _keys(lex, labels)
        else:
            raise lex.error("Expected [ or ( after the format name")
    if name in _NEEDS_KEYS and not columns:
        raise BadInputError.at(
            "--format",
            f"Format [{name}] requires a non-empty projection. Use key parameters to specify a "
            f"projection like so `{name}(foo, bar.baz)`",
        )
    return Format(name, attributes, tuple(columns))


def _attributes(lex: _Lexer, attributes: dict[str, str | int]) -> None:
    while True:
        name = lex.token("=,]")
        if name:
            value: str | int = 1
            if lex.take("="):
                value = lex.token(",]").replace("\\n", "\n").replace("\\t", "\t")
            attributes[name] = value
            attributes.pop(name[3:] if name.startswith("no-") else f"no-{name}", None)
        if lex.take("]"):
            return
        if not lex.take(","):
            raise lex.error("Expected ] in attribute list")


def _keys(lex: _Lexer, labels: _Labels) -> list[Column]:
    columns: list[Column] = []
    if lex.take(")"):
        return columns
    while True:
        key = _key(lex)
        label: str | None = None
        while lex.take(":"):
            attribute = lex.token("=:,)")
            if attribute == "label":
                if not lex.take("="):
                    raise lex.error("value expected")
                label = lex.token(":,)")
            elif attribute.removeprefix("no-") in _UNSUPPORTED_KEY_ATTRIBUTES:
                raise lex.error(
                    f"prgcloud's --format does not support the key attribute :{attribute} "
                    "(only :label=)"
                )
            else:
                raise lex.error(f"Unknown key attribute [{attribute}]")
        columns.append(Column(key, labels.add(key) if label is None else label))
        if lex.take(")"):
            return columns
        if not lex.take(","):
            raise lex.error("Expected ) in projection expression")


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _key(lex: _Lexer) -> Key:
    """`a.b[0].c`, `a[].b`: names, indexes and slices."""
    lex.skip_space()
    parts: list[KeyPart] = []
    while True:
        match = _NAME.match(lex.text, lex.at)
        if not match:
            raise lex.error("Key name expected")
        lex.at = match.end()
        parts.append(match.group())
        while lex.peek() == "[":
            end = lex.text.find("]", lex.at)
            index = lex.text[lex.at + 1 : end].strip() if end > 0 else "?"
            if index and not re.fullmatch(r"-?\d+", index):
                raise lex.error("Expected a list index or [] in the key")
            parts.append(int(index) if index else None)
            lex.at = end + 1
        if lex.peek() == "(":
            raise lex.error(
                f"prgcloud's --format does not support transforms such as {parts[-1]}()"
            )
        if lex.peek() != ".":
            return tuple(parts)
        lex.at += 1


class _Labels:
    """gcloud's default headings: the key in ANGRY_SNAKE_CASE, with parents added to keep
    two columns apart (`[A, B, C]` -> `C`, then `B_C`, then `A_B_C`)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def add(self, key: Key) -> str:
        label = ""
        for part in reversed(key):
            if isinstance(part, str):
                snake = _SNAKE.sub(r"_\1", part).upper()
                label = f"{snake}_{label}" if label else snake
                if label not in self.seen:
                    self.seen.add(label)
                    break
        return label


# --- reading keys out of a resource --------------------------------------------------------

# How a projection tree marks its nodes (resource_projection_spec): not asked for, on the way
# to a key, or a key asked for (everything under it is kept).
_DEFAULT, _INNER, _PROJECT = 0, 1, 2


def _matching_name(name: str, mapping: Mapping[str, Any]) -> str | None:
    """`name` as it is in `mapping`, also as camelCase or snake_case (gcloud's leniency)."""
    parts = name.split("_")
    for candidate in (name, parts[0] + "".join(p.title() for p in parts[1:])):
        if candidate in mapping:
            return candidate
    snake = _SNAKE.sub(r"_\1", name).lower()
    return snake if snake in mapping else None


def get(resource: Any, key: Key) -> Any:
    """The value at `key`, as gcloud's resource_property.Get reads it.

    A slice (`[]`) maps the rest of the key over a list; a name applied to a list of dicts
    does too when its first item has that name (else: the items' non-empty values of it).
    """
    rest = list(key)
    while rest:
        part = rest.pop(0)
        if resource is None:
            return None
        if isinstance(resource, Mapping):
            if part is None:
                return [get(resource, (k, *rest)) for k in resource] if rest else resource
            name = _matching_name(part, resource) if isinstance(part, str) else None
            if name is None:
                return None
            resource = resource[name]
            continue
        if not isinstance(resource, (list, str)):
            return None
        if part is None:
            return [get(resource, (i, *rest)) for i in range(len(resource))] if rest else resource
        if isinstance(part, str):
            if not (isinstance(resource, list) and resource and isinstance(resource[0], dict)):
                return None
            if part in resource[0]:
                return [get(resource, (i, part, *rest)) for i in range(len(resource))]
            return [v for d in resource if isinstance(d, dict) and (v := d.get(part))] or None
        if not -len(resource) <= part < len(resource):
            return None
        resource = resource[part]
    return resource


@dataclass
class _Node:
    """A node of the projection tree: what to keep below one key."""

    flag: int = _DEFAULT
    tree: dict[KeyPart, _Node] = field(default_factory=dict)


def _tree(columns: Sequence[Column]) -> _Node:
    root = _Node()
    for column in columns:
        node = root
        for part in column.key[:-1]:
            child = node.tree.setdefault(part, _Node(_INNER))
            child.flag = max(child.flag, _INNER)
            node = child
        if column.key:
            node.tree.setdefault(column.key[-1], _Node()).flag = _PROJECT
    return root


class _Projector:
    """gcloud's resource_projector for plain JSON data: the resource cut down to the keys a
    format names, in their places; without keys, a copy (less None values unless retained).
    """

    def __init__(self, columns: Sequence[Column], *, retain_none: bool) -> None:
        self.columns = bool(columns)
        self.root = _tree(columns)
        # With keys, only the keys' own None values stay (gcloud's Evaluate).
        self.retain_none = retain_none and not columns

    def __call__(self, resource: Any) -> Any:
        return self._project(resource, self.root, _DEFAULT if self.columns else _PROJECT)

    def _project(self, obj: Any, node: _Node, flag: int) -> Any:
        if isinstance(obj, dict):
            return self._dict(obj, node, flag) if flag >= _PROJECT or node.tree else obj
        if isinstance(obj, list):
            return self._list(obj, node, flag) if flag >= _PROJECT or node.tree else obj
        return obj

    def _dict(self, obj: dict[str, Any], node: _Node, flag: int) -> Any:
        if not obj:
            return obj
        out: dict[str, Any] = {}
        for name, value in obj.items():
            f = flag
            if name in node.tree:
                child = node.tree[name]
                f |= child.flag
                if f < _INNER:
                    continue
                value = self._project(value, child, f)
            else:
                value = None if f < _PROJECT else self._project(value, _Node(_PROJECT), f)
            if value is not None or self.retain_none or (f >= _PROJECT and self.columns):
                out[name] = value
        return out or None

    def _list(self, obj: list[Any], node: _Node, flag: int) -> Any:
        if not obj:
            return []
        indexes: set[int] = set()
        sliced: _Node | None = None
        if not node.tree:
            if flag < _PROJECT:
                return None
        else:
            for part, below in node.tree.items():
                if part is None:
                    if flag >= _PROJECT or below.flag:
                        sliced = below
                elif isinstance(part, int) and -len(obj) <= part < len(obj):
                    indexes.add(part)
        if flag >= _PROJECT and sliced is None:
            sliced = _Node(_PROJECT)
        if not indexes and sliced is None:
            return None
        size = len(obj) if sliced else max(i % len(obj) for i in indexes) + 1
        out: list[Any] = [None] * size
        last = -1
        for index in range(len(obj)) if sliced else sorted(indexes):
            value = obj[index]
            if value is None:
                continue
            f = flag
            if index in node.tree:
                child: _Node | None = node.tree[index]
                if sliced is not None:
                    f |= sliced.flag
            else:
                child = sliced
            if child is not None:
                f |= child.flag
                value = self._project(value, child, f) if f >= _INNER else None
            if value is None:
                continue
            index %= len(obj)
            last = max(last, index)
            out[index] = value
        if last < 0:
            return None
        return out[: last + 1] if sliced else out


def project(resource: Any, columns: Sequence[Column] = (), *, retain_none: bool = True) -> Any:
    """The resource cut down to `columns`' keys, keeping its shape (gcloud's projector)."""
    return _Projector(columns, retain_none=retain_none)(resource)


def flatten(records: Iterable[Any], key: Key) -> list[Any]:
    """`--flatten=KEY`: one copy of each record per item of the list at KEY, that item in its
    place. A record whose KEY is an empty list goes; one whose KEY is no list becomes that
    value (gcloud's Flattener does the same)."""
    out: list[Any] = []
    for record in records:
        serialized = project(record, retain_none=False)
        items = get(serialized, key)
        if not isinstance(items, list):
            out.append(items)
            continue
        for item in items:
            parent = get(serialized, key[:-1]) if len(key) > 1 else serialized
            if isinstance(parent, dict):
                parent[str(key[-1])] = item
            out.append(project(serialized, retain_none=False))
    return out


def parse_flatten(values: Sequence[str]) -> list[Key]:
    """`--flatten` values (each a comma-separated list of keys) as keys; `a[].b` is two."""
    keys: list[Key] = []
    for value in values:
        for text in filter(None, (v.strip() for v in value.split(","))):
            lex = _Lexer(text)
            key = _key(lex)
            if lex.skip_space():
                raise BadInputError.at("--flatten", f"Key expected, not [{text}].")
            head: list[KeyPart] = []
            for part in key:
                if part is None:
                    keys.append(tuple(head))
                else:
                    head.append(part)
            if key[-1] is not None:
                keys.append(tuple(head))
    return keys


# --- printing --------------------------------------------------------------------------------


def render(resource: Any, fmt: Format, *, flatten_keys: Sequence[Key] = ()) -> str:
    """`resource` printed as gcloud prints one resource in `fmt` (a list of records with
    `--flatten`)."""
    return render_list([resource], fmt, flatten_keys=flatten_keys, single=not flatten_keys)


def render_list(
    resources: Sequence[Any],
    fmt: Format,
    *,
    flatten_keys: Sequence[Key] = (),
    single: bool = False,
) -> str:
    """`resources` printed as gcloud prints a list command's output in `fmt`: a JSON list,
    YAML documents, one table with one heading (`single`: the one resource of a describe)."""
    records: list[Any] = list(resources)
    for key in flatten_keys:
        records = flatten(records, key)
    if fmt.name == "none":
        return ""
    if fmt.name in _NEEDS_KEYS:
        records = [project(record) for record in records]
        rows = [[get(record, column.key) for column in fmt.columns] for record in records]
        if fmt.name == "table":
            return _table(rows, fmt)
        return _csv(rows, fmt)
    retain_none = fmt.name in ("json", "yaml") and "no-undefined" not in fmt.attributes
    records = [project(record, fmt.columns, retain_none=retain_none) for record in records]
    if fmt.name == "json":
        return _json(records, single=single)
    if fmt.name == "yaml":
        return _yaml(records, single=single)
    return _flattened(records, fmt, single=single)


def _json(records: list[Any], *, single: bool) -> str:
    def dump(record: Any) -> str:
        return json.dumps(
            record, ensure_ascii=False, indent=2, separators=(",", ": "), sort_keys=True
        )

    if single:
        return dump(records[0]) + "\n"
    if not records:
        return "[]\n"
    items = ",\n".join("\n".join(f"  {line}" for line in dump(r).split("\n")) for r in records)
    return f"[\n{items}\n]\n"


_BOOL = "tag:yaml.org,2002:bool"
_FLOAT = "tag:yaml.org,2002:float"


def _yaml_dumper() -> Any:
    """PyYAML's safe dumper, set to write what gcloud's (ruamel, YAML 1.2) writes."""
    import yaml  # only the yaml format pays for it

    class Dumper(yaml.SafeDumper):
        pass

    def literal(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
        style = "|" if "\n" in data else None  # gcloud keeps multi-line text as it is
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, literal)
    Dumper.add_representer(
        float, lambda dumper, value: dumper.represent_scalar(_FLOAT, _text(value))
    )
    # In YAML 1.2 only true/false are booleans: `yes` and `on` need no quotes.
    Dumper.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
        for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
    }
    Dumper.add_implicit_resolver(
        _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Dumper


def _yaml(records: list[Any], *, single: bool) -> str:
    import yaml

    dumper = _yaml_dumper()
    documents: list[str] = []
    for record in records:
        text: str = yaml.dump(
            record, Dumper=dumper, default_flow_style=False, allow_unicode=True, sort_keys=True
        )
        if not isinstance(record, (dict, list)):
            # gcloud's dumper sets a lone scalar on its own indented line, with no end marker.
            text = "\n  " + text.removesuffix("...\n")
        documents.append(text if single else "---\n" + text.removeprefix("\n"))
    return "".join(documents)


def _flattened(records: list[Any], fmt: Format, *, single: bool) -> str:
    separator = str(fmt.attributes.get("separator", ": "))
    pad = "no-pad" not in fmt.attributes
    out: list[str] = []
    for record in records:
        if not single:
            out.append("---\n")
        pairs = list(_leaves(record, "")) if record is not None else []
        width = max((len(name) for name, _ in pairs), default=0)
        for name, value in pairs:
            text = "None" if value is None else _text(value)
            if "\n" in text or text[:1].isspace() or text[-1:].isspace():
                text = _quoted(text)
            out.append(f"{name}{separator}{' ' * (width - len(name)) if pad else ''}{text}\n")
    return "".join(out)


def _leaves(value: Any, name: str) -> Iterable[tuple[str, Any]]:
    """(`a.b[0]`, leaf) pairs, keys sorted; empty lists and dicts are leaves."""
    if isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from _leaves(item, f"{name}[{i}]")
    elif isinstance(value, dict) and value:
        for key in sorted(value):
            yield from _leaves(value[key], f"{name}{'.' if name else ''}{key}")
    else:
        yield name, value


def _quoted(text: str) -> str:
    escapes = {"\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"'}
    return '"' + "".join(escapes.get(c, c) for c in text) + '"'


def _text(value: Any) -> str:
    """A value as gcloud's printers say it: Python's own words for anything not a string."""
    if value is None:
        return ""
    if isinstance(value, float):  # gcloud's TransformFloat: 6 digits, no exponent below 1e9
        text = f"{value:.6}"
        exponent = text.find("e+")
        return f"{value:.1f}" if exponent >= 0 and int(text[exponent + 2 :]) < 9 else text
    return str(value)


def _table(rows: list[list[Any]], fmt: Format) -> str:
    if not rows:
        return ""
    cells = [[_text(cell) for cell in row] for row in rows]
    if "no-heading" not in fmt.attributes:
        cells.insert(0, [column.label for column in fmt.columns])
    widths = [max(len(row[i]) for row in cells) for i in range(len(fmt.columns))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in cells
    )


def _csv(rows: list[list[Any]], fmt: Format) -> str:
    value = fmt.name == "value"
    attributes = fmt.attributes
    delimiter = str(attributes.get("delimiter", ";"))
    separator = str(attributes.get("separator", "\t" if value else ","))
    terminator = str(attributes.get("terminator", "\n"))
    quoting = ("quote" in attributes) if value else ("no-quote" not in attributes)

    def quote(text: str) -> str:
        if not text or not quoting:
            return text
        if not (
            any(s in text for s in (delimiter, '"', separator, terminator))
            or text[0].isspace()
            or text[-1].isspace()
        ):
            return text
        return '"' + text.replace('"', '""') + '"'

    def cell(col: Any) -> str:
        if col is None:
            return ""
        if isinstance(col, dict):
            return delimiter.join(quote(f"{k}={_text(v)}") for k, v in sorted(col.items()))
        if isinstance(col, list):
            return delimiter.join(quote(_text(x)) if x else "" for x in col)
        return quote(_text(col))

    lines: list[str] = []
    if not value and "no-heading" not in attributes and rows:
        lines.append(separator.join(quote(c.label.lower()) for c in fmt.columns) + terminator)
    lines += [separator.join(cell(col) for col in row) + terminator for row in rows]
    return "".join(lines)


# --- verbosity -------------------------------------------------------------------------------

VERBOSITIES = ("debug", "info", "warning", "error", "critical", "none")


def verbosity(value: str | None) -> str:
    """gcloud's `--verbosity` / `core/verbosity` (default `warning`); BadInputError otherwise."""
    if value is None:
        return "warning"
    if value.lower() not in VERBOSITIES:
        raise BadInputError.at(
            "--verbosity",
            f"Invalid choice: '{value}'.\n\nValid choices are [{', '.join(sorted(VERBOSITIES))}].",
        )
    return value.lower()


def is_true(value: str | bool | None, *, default: bool) -> bool:
    """A gcloud boolean property (`1`, `true`, `yes`, `on`, ...)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return value.strip().lower() in ("1", "true", "yes", "on", "y")


@dataclass
class Log:
    """prgcloud's own messages on stderr, as gcloud's verbosity and user output decide.

    `debug` lines show with `--verbosity=debug`; `warning` lines unless the verbosity is
    `error` or quieter; `status` lines (what happened, e.g. that the pre-check ran) unless
    `--no-user-output-enabled`.
    """

    stream: TextIO
    level: str = "warning"
    user_output: bool = True
    clock: Callable[[], float] | None = None

    def _shows(self, level: str) -> bool:
        return VERBOSITIES.index(level) >= VERBOSITIES.index(self.level)

    def debug(self, message: str) -> None:
        """A step prgcloud took (`--verbosity=debug`)."""
        if self._shows("debug"):
            self.stream.write(f"DEBUG: (prgcloud) {message}\n")

    def warning(self, message: str) -> None:
        """Something the user should know; the command goes on."""
        if self._shows("warning"):
            self.stream.write(f"WARNING: (prgcloud) {message}\n")

    def status(self, message: str) -> None:
        """What was done, in one line."""
        if self.user_output:
            self.stream.write(f"{message}\n")


# --- what prgcloud says about its own steps -------------------------------------------------


def describe_identity(identity: Identity, properties: Properties) -> str:
    """Who reads the resource, in words for `--verbosity=debug` (never a token)."""
    token_file = identity.access_token_file or properties.get("auth/access_token_file")
    if token_file:
        return f"the access token in the file {token_file}"
    account = identity.account or properties.get("core/account")
    who = f"account {account}" if account else "gcloud's active account"
    impersonated = identity.impersonate_service_account or properties.get(
        "auth/impersonate_service_account"
    )
    if impersonated:
        who += f" impersonating {impersonated}"
    if identity.credential_file_override:
        who = f"the credential file {identity.credential_file_override}"
    return f"{who} (gcloud configuration {properties.configuration_name})"


def checked_line(verdict: Verdict) -> str:
    """One short line saying the pre-check ran and the job fits, pool by pool."""
    pools = [
        f"pool {pool.index} → {pool.resource_pool}, asks {pool.asked}, "
        f"{pool.free} of {pool.ceiling} free"
        for pool in verdict.pools
        if not pool.placeholder
    ]
    return f"prgcloud: checked against {verdict.resource}: fits ({'; '.join(pools)})"


def verdict_summary(verdict: Verdict, *, blocked: bool) -> str:
    """The verdict in a few words, for `--verbosity=debug`."""
    codes = ", ".join(f.code for f in (*verdict.blocks, *verdict.waits, *verdict.warnings))
    if not blocked:
        return f"fits (warnings: {codes})" if codes else "fits"
    if verdict.blocks:
        return f"does not fit ({codes})"
    return f"does not fit now ({codes})" if verdict.waits else f"blocked by --strict ({codes})"
