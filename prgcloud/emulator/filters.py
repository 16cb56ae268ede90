"""The `filter` of `customJobs.list`: the part of AIP-160 that Vertex AI documents for it.

    state="JOB_STATE_SUCCEEDED" AND display_name:"my_job_*"
    state!="JOB_STATE_FAILED" OR display_name="my_job"
    NOT display_name="my_job"
    create_time>"2021-05-18T00:00:00Z"
    labels.keyA=valueA
    labels.keyB:*

`compile_filter` turns the text into a predicate over a canonical CustomJob document; a filter
it cannot read is 400 INVALID_ARGUMENT, as the real service answers.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from typing import Any

from prgcloud.emulator.clock import parse_rfc3339
from prgcloud.emulator.errors import invalid

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<paren>[()])
      | (?P<op>!=|<=|>=|=|<|>|:)
      | (?P<quoted>"(?:[^"\\]|\\.)*")
      | (?P<word>[^\s()=!<>:"]+)
    )""",
    re.VERBOSE,
)
_TIME_FIELDS = {
    "create_time": "createTime",
    "createTime": "createTime",
    "update_time": "updateTime",
    "updateTime": "updateTime",
    "start_time": "startTime",
    "startTime": "startTime",
    "end_time": "endTime",
    "endTime": "endTime",
}
_TEXT_FIELDS = {"display_name": "displayName", "displayName": "displayName", "name": "name"}
# How deep NOT, `-` and parentheses may nest: the parser and the predicate it builds recurse
# once per level, and a filter is a query parameter anybody can send.
MAX_DEPTH = 64
_QUOTED_AT_MOST = 200  # characters of a bad filter quoted back in the error


Compare = Callable[[str, str, str, str], Predicate]


def compile_filter(text: str, compare: Compare | None = None) -> Predicate:
    """A predicate for the filter `text` (empty: everything matches).

    `compare(text, field, op, value)` makes the predicate of one comparison; by default that
    of `customJobs.list` (the logging route brings its own, for log entries).
    """
    tokens = _tokenize(text)
    if not tokens:
        return lambda _doc: True
    parser = _Parser(tokens, text, compare or _compare)
    predicate = parser.expression()
    if parser.position != len(tokens):
        raise _error(text, f"unexpected {tokens[parser.position][1]!r}")
    return predicate


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _error(text, f"cannot read it from {text[position:].strip()!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "quoted":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
        position = match.end()
    return tokens


def filter_error(text: str, why: str) -> Exception:
    """400 INVALID_ARGUMENT for the filter `text`, saying why."""
    return _error(text, why)


def _error(text: str, why: str) -> Exception:
    shown = text if len(text) <= _QUOTED_AT_MOST else text[:_QUOTED_AT_MOST] + "..."
    return invalid(f"Invalid filter {shown!r}: {why}.", "filter")


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str, compare: Compare) -> None:
        self.compare = compare
        self.tokens = tokens
        self.text = text
        self.position = 0
        self.depth = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise _error(self.text, "it ends too soon")
        self.position += 1
        return token

    def expression(self) -> Predicate:
        terms = [self._conjunction()]
        while self._peek() == ("word", "OR"):
            self._take()
            terms.append(self._conjunction())
        if len(terms) == 1:
            return terms[0]
        return lambda doc: any(term(doc) for term in terms)

    def _conjunction(self) -> Predicate:
        terms = [self._unary()]
        while True:
            token = self._peek()
            if token is None or token == ("paren", ")") or token == ("word", "OR"):
                break
            if token == ("word", "AND"):
                self._take()
            terms.append(self._unary())
        if len(terms) == 1:
            return terms[0]
        return lambda doc: all(term(doc) for term in terms)

    def _unary(self) -> Predicate:
        token = self._peek()
        if token == ("word", "NOT"):
            self._take()
            return self._nested(lambda: _negation(self._unary()))
        if token is not None and token[0] == "word" and token[1].startswith("-"):
            self.tokens[self.position] = ("word", token[1][1:])
            return self._nested(lambda: _negation(self._unary()))
        if token == ("paren", "("):
            self._take()
            return self._nested(self._group)
        return self._comparison()

    def _nested(self, build: Callable[[], Predicate]) -> Predicate:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.text, f"it nests NOT, - and parentheses more than {MAX_DEPTH} deep")
        try:
            return build()
        finally:
            self.depth -= 1

    def _group(self) -> Predicate:
        inner = self.expression()
        if self._take() != ("paren", ")"):
            raise _error(self.text, "a parenthesis is not closed")
        return inner

    def _comparison(self) -> Predicate:
        kind, field = self._take()
        if kind != "word":
            raise _error(self.text, f"expected a field name, got {field!r}")
        op_kind, op = self._take()
        if op_kind != "op":
            raise _error(self.text, f"expected a comparison after {field!r}")
        value_kind, value = self._take()
        if value_kind not in ("word", "quoted"):
            raise _error(self.text, f"expected a value after {field}{op}")
        return self.compare(self.text, field, op, value)


def _negation(inner: Predicate) -> Predicate:
    return lambda doc: not inner(doc)


def _compare(text: str, field: str, op: str, value: str) -> Predicate:
    if field == "state":
        if op not in ("=", "!="):
            raise _error(text, "state supports = and != only")
        wanted = value
        if op == "=":
            return lambda doc: doc.get("state") == wanted
        return lambda doc: doc.get("state") != wanted
    if field in _TEXT_FIELDS:
        return _text_comparison(text, _TEXT_FIELDS[field], op, value)
    if field in _TIME_FIELDS:
        return _time_comparison(text, _TIME_FIELDS[field], op, value)
    if field.startswith("labels."):
        key = field[len("labels.") :]
        if op == ":" and value == "*":
            return lambda doc: key in doc.get("labels", {})
        return _text_comparison(text, None, op, value, label=key)
    raise _error(text, f"unsupported field {field!r}")


def _text_comparison(
    text: str, key: str | None, op: str, value: str, label: str | None = None
) -> Predicate:
    def read(doc: Mapping[str, Any]) -> str | None:
        if label is not None:
            labels: Mapping[str, str] = doc.get("labels", {})
            return labels.get(label)
        found = doc.get(key or "")
        return found if isinstance(found, str) else ""

    if op == "=":
        return lambda doc: read(doc) == value
    if op == "!=":
        return lambda doc: read(doc) != value
    if op == ":":
        return lambda doc: (found := read(doc)) is not None and fnmatch.fnmatchcase(found, value)
    raise _error(text, f"{op} does not apply to text fields")


def _time_comparison(text: str, key: str, op: str, value: str) -> Predicate:
    try:
        wanted = parse_rfc3339(value)
    except ValueError:
        raise _error(text, f"{value!r} is not an RFC 3339 time") from None
    compare: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    if op not in compare:
        raise _error(text, f"{op} does not apply to times")
    check = compare[op]

    def predicate(doc: Mapping[str, Any]) -> bool:
        found = doc.get(key)
        return isinstance(found, str) and check(parse_rfc3339(found), wanted)

    return predicate
