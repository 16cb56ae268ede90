"""YAML read the way gcloud reads each kind of file, within bounds.

gcloud 528 reads YAML with its bundled ruamel.yaml 0.15 (`googlecloudsdk/core/yaml.py`):
- a `--config` file as YAML 1.1 with ruamel's SafeLoader (`export_util.Import`): `0100` is
  64, `1:40` is 100, `yes`/`on`/`y` are true, `1e3` is a float;
- a `--flags-file` as YAML 1.2 with ruamel's round-trip loader and gcloud's own scalar
  constructors (`core/yaml_location_value.py`): `010` is 10, `yes` is the string "yes", an
  int is Python's `int()` of the text (so `0x1F` fails) and a float `float()` of it (so
  `.inf` fails); a date anywhere, a `!!set` or `!!binary`, a key given twice all fail.

prgcloud has only PyYAML, so the two resolver tables below are ruamel 0.15's, copied, on
PyYAML loaders (libyaml's C parser where it is installed). What gcloud fails on, prgcloud
refuses with `YamlError`.

Bounds (documented in docs/, limits): a document may hold at most `MAX_NODES` values once
its aliases are expanded and nest at most `MAX_DEPTH` levels, so an alias bomb ("billion
laughs") or a deeply nested list is refused at once instead of exhausting memory or the
stack of every step that walks the data afterwards. The size of the text itself is bounded
by whoever reads the file (`prgcloud.files`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_NODES = 100_000
MAX_DEPTH = 64

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"

# ruamel.yaml 0.15.93 resolver.py `implicit_resolvers`: (tag, regexp, first characters).
_TIMESTAMP_RE = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
    (?:[Tt]|[ \t]+)[0-9][0-9]?
    :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
    (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)
_COMMON = [
    (_MERGE, re.compile(r"^(?:<<)$"), "<"),
    (_NULL, re.compile(r"^(?: ~ |null|Null|NULL | )$", re.X), ["~", "n", "N", ""]),
    (_TIMESTAMP, _TIMESTAMP_RE, "0123456789"),
]
YAML_1_1 = [
    (
        _BOOL,
        re.compile(
            r"""^(?:y|Y|yes|Yes|YES|n|N|no|No|NO
            |true|True|TRUE|false|False|FALSE
            |on|On|ON|off|Off|OFF)$""",
            re.X,
        ),
        "yYnNtTfFoO",
    ),
    (
        _FLOAT,
        re.compile(
            r"""^(?:
             [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
            |\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
        "-+0123456789.",
    ),
    (
        _INT,
        re.compile(
            r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0?[0-7_]+
            |[-+]?(?:0|[1-9][0-9_]*)
            |[-+]?0x[0-9a-fA-F_]+
            |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""",
            re.X,
        ),
        "-+0123456789",
    ),
    *_COMMON,
    (_VALUE, re.compile(r"^(?:=)$"), "="),
]
YAML_1_2 = [
    (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    (
        _FLOAT,
        re.compile(
            r"""^(?:
             [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
            |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
        "-+0123456789.",
    ),
    (
        _INT,
        re.compile(
            r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0o?[0-7_]+
            |[-+]?[0-9_]+
            |[-+]?0x[0-9a-fA-F_]+)$""",
            re.X,
        ),
        "-+0123456789",
    ),
    *_COMMON,
]


class YamlError(ValueError):
    """The text is not YAML gcloud reads (or it exceeds a bound); `str()` says why and where."""


def _resolvers(table: list[tuple[str, re.Pattern[str], Any]]) -> dict[Any, Any]:
    resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    for tag, regexp, first in table:
        for char in first:
            resolvers.setdefault(char, []).append((tag, regexp))
    return resolvers


def _refuse(what: str) -> Callable[[Any, Node], Any]:
    def construct(loader: Any, node: Node) -> Any:
        raise yaml.constructor.ConstructorError(
            None, None, f"{what} cannot be read by gcloud", node.start_mark
        )

    return construct


class _Bounded(_Base):  # type: ignore[misc]
    """A loader that counts the nodes it composes (`resolve` sees each untagged one)."""

    # What a key given twice in one mapping does: "first" wins, or "refuse".
    duplicate_keys = "first"

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.composed = 0

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        self.composed += 1
        if self.composed > MAX_NODES:
            raise YamlError(f"it holds more than {MAX_NODES:,} values")
        return super().resolve(kind, value, implicit)

    def construct_number(self, node: Node, convert: Callable[[Any, Any], Any]) -> Any:
        try:
            return convert(self, node)
        except (ValueError, IndexError, OverflowError) as error:
            text = str(node.value)[:40]
            raise yaml.constructor.ConstructorError(
                None, None, f"{text!r} is not a number gcloud reads ({error})", node.start_mark
            ) from None

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        """A mapping's own keys, then what `<<` merges in under the keys it does not have."""
        if not isinstance(node, MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, but found {type(node).__name__}", node.start_mark
            )
        mapping: dict[Any, Any] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(
                    value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                )
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found a key that is a list or a mapping", key_node.start_mark,
                )  # fmt: skip
            if key in mapping and self.duplicate_keys == "refuse":
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found the key {key!r} twice", key_node.start_mark,
                )  # fmt: skip
            if key not in mapping:
                mapping[key] = self.construct_object(value_node, deep=deep)
        for source in merged:
            for key, value in self.construct_mapping(source, deep=True).items():
                mapping.setdefault(key, value)
        return mapping

    def construct_omap(self, node: Node) -> Iterator[dict[Any, Any]]:
        # ruamel reads `!!omap [a: 1]` as an ordered mapping: a plain one once it is JSON.
        data: dict[Any, Any] = {}
        yield data
        if not isinstance(node, SequenceNode):
            raise yaml.constructor.ConstructorError(
                None, None, "an !!omap must be a list of one-key mappings", node.start_mark
            )
        for item in node.value:
            data.update(self.construct_mapping(item))


class ConfigLoader(_Bounded):
    """A `--config` file: YAML 1.1 as ruamel's SafeLoader reads it (first of two keys wins)."""

    yaml_implicit_resolvers = _resolvers(YAML_1_1)

    def construct_int(self, node: Node) -> Any:
        return self.construct_number(node, yaml.constructor.SafeConstructor.construct_yaml_int)

    def construct_float(self, node: Node) -> Any:
        return self.construct_number(node, yaml.constructor.SafeConstructor.construct_yaml_float)

    def construct_bool(self, node: Node) -> Any:
        text = self.construct_scalar(node).lower()
        if text in ("y", "yes", "true", "on"):
            return True
        if text in ("n", "no", "false", "off"):
            return False
        raise yaml.constructor.ConstructorError(
            None, None, f"{text[:40]!r} is not a boolean", node.start_mark
        )


class FlagsFileLoader(_Bounded):
    """A `--flags-file`: YAML 1.2 as gcloud's location-value loader reads it."""

    yaml_implicit_resolvers = _resolvers(YAML_1_2)
    duplicate_keys = "refuse"

    def construct_int(self, node: Node) -> Any:
        return self.construct_number(node, lambda loader, n: int(loader.construct_scalar(n)))

    def construct_float(self, node: Node) -> Any:
        return self.construct_number(node, lambda loader, n: float(loader.construct_scalar(n)))

    def construct_bool(self, node: Node) -> Any:
        return self.construct_scalar(node).lower() == "true"

    def construct_undefined(self, node: Node) -> Any:
        # The round-trip loader keeps a local tag (`!name x`) with its value; gcloud uses the value.
        if isinstance(node, ScalarNode):
            return self.construct_scalar(node)
        if isinstance(node, SequenceNode):
            return self.construct_sequence(node)
        return self.construct_mapping(node)


for _loader in (ConfigLoader, FlagsFileLoader):
    _loader.yaml_constructors = dict(_Base.yaml_constructors)
    _loader.add_constructor(_INT, _loader.construct_int)
    _loader.add_constructor(_FLOAT, _loader.construct_float)
    _loader.add_constructor(_BOOL, _loader.construct_bool)
    _loader.add_constructor("tag:yaml.org,2002:omap", _Bounded.construct_omap)
    _loader.add_constructor(_TIMESTAMP, _refuse("a date or time"))
    _loader.add_constructor("tag:yaml.org,2002:binary", _refuse("binary data (!!binary)"))
    _loader.add_constructor("tag:yaml.org,2002:set", _refuse("a set (!!set)"))
    _loader.add_constructor("tag:yaml.org,2002:pairs", _refuse("a list of pairs (!!pairs)"))
FlagsFileLoader.add_constructor(None, FlagsFileLoader.construct_undefined)


def load_config(text: str) -> Any:
    """A `--config` document as gcloud reads it (YAML 1.1); raises YamlError."""
    return _load(text, ConfigLoader)


def load_flags_file(text: str) -> Any:
    """A `--flags-file` document as gcloud reads it (YAML 1.2); raises YamlError."""
    return _load(text, FlagsFileLoader)


def _load(text: str, loader_class: type[_Bounded]) -> Any:
    # An explicit tag (`!!str x`) spares the node from `resolve`, so count those up front.
    if text.count("!") > MAX_NODES:
        raise YamlError(f"it holds more than {MAX_NODES:,} tags")
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_shape(node)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise YamlError(_one_paragraph(error)) from None
    except RecursionError:
        # Only the pure-Python parser recurses while composing; libyaml does not.
        raise YamlError(f"it nests more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()


def _one_paragraph(error: yaml.YAMLError) -> str:
    text = str(error).replace('"<unicode string>", ', "").replace("<unicode string>", "")
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def check_shape(root: Node) -> None:
    """Refuse a node graph that nests too deep, expands too large, or refers to itself.

    Aliases share nodes, so the sizes are counted once per node (memoized) yet add up as
    often as they are referred to: what walking the loaded data would cost.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in size:
            continue
        kids = _children(node)
        if children_done:
            entered.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_NODES:
                raise YamlError(
                    f"it holds more than {MAX_NODES:,} values once its aliases are expanded"
                )
            if depth[key] > MAX_DEPTH:
                raise YamlError(f"it nests more than {MAX_DEPTH} levels deep")
            continue
        if key in entered:
            raise YamlError("an alias refers to the list or mapping that holds it")
        entered.add(key)
        stack.append((node, True))
        for kid in kids:
            if id(kid) in entered:
                raise YamlError("an alias refers to the list or mapping that holds it")
            if id(kid) not in size:
                stack.append((kid, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class ConfigDumper(yaml.SafeDumper):
    """Writes YAML that gcloud's YAML 1.1 reader reads back as the same values.

    PyYAML quotes a string only when its own resolver would read it as something else;
    with ruamel's table it also quotes `y`, `n` and `1e3`, which gcloud reads as a
    boolean and a float.
    """

    yaml_implicit_resolvers = _resolvers(YAML_1_1)
