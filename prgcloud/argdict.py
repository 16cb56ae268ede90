"""gcloud's ArgList and ArgDict flag types (calliope/arg_parsers.py), as pure functions.

split_list("a,b")            -> ["a", "b"]
split_list("^:^a,b:c")       -> ["a,b", "c"]     (`gcloud topic escaping`)
split_list("a,b,")           -> ["a", "b"]       (one trailing delimiter is dropped)
parse_dict("k=v=w,x=1")      -> {"k": "v=w", "x": "1"}   (split at the first "=")
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_ALT_DELIM = "^"
_KEY_VALUE = re.compile(r"([^=]+)(=?)(.*)", re.DOTALL)
ESCAPING_HINT = (
    "Please see `gcloud topic flags-file` or `gcloud topic escaping` for information on "
    "providing list or dictionary flag values with special characters."
)


class ArgTypeError(ValueError):
    """A flag value does not parse; the message is gcloud's wording."""


def split_list(value: str, delim: str = ",") -> list[str]:
    """Split an ArgList value the way gcloud does, honouring a leading `^X^` delimiter."""
    if value.startswith(_ALT_DELIM) and _ALT_DELIM in value[1:]:
        delim, value = value[1:].split(_ALT_DELIM, 1)
        if not delim:
            raise ArgTypeError(f"Invalid delimeter. {ESCAPING_HINT}")
    if not value:
        return []
    if not value.endswith(delim):
        value += delim
    return value.split(delim)[:-1]


Converter = Callable[[str], Any]


def parse_dict(value: str, spec: Mapping[str, Converter] | None = None) -> dict[str, Any]:
    """Parse an ArgDict value; with `spec`, only its keys are allowed and their values converted.

    Later duplicates win, as in gcloud. Raises ArgTypeError with gcloud's message.
    """
    result: dict[str, Any] = {}
    for item in split_list(value):
        match = _KEY_VALUE.fullmatch(item)
        if not match:
            raise ArgTypeError(f"Invalid flag value [{item}]")
        key, op, raw = match.group(1), match.group(2), match.group(3)
        if not op:
            raise ArgTypeError(f"Bad syntax for dict arg: [{key}]. {ESCAPING_HINT}")
        if spec is None:
            result[key] = raw
            continue
        if key not in spec:
            raise ArgTypeError(f"valid keys are [{', '.join(sorted(spec))}]; received: {key}")
        try:
            result[key] = spec[key](raw)
        except ValueError as error:
            raise ArgTypeError(f"Invalid value [{raw}] for key [{key}]") from error
    return result


def semicolon_list(value: str) -> list[str]:
    """The `;`-separated list keys of `--worker-pool-spec` (requirements, extra-dirs, ...)."""
    return split_list(value, ";")


CONVERTERS: dict[str, Converter] = {"int": int, "str": str, "list": semicolon_list}
