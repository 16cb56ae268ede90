"""gcloud's duration syntax, for `--wait-for-capacity=DURATION`.

gcloud reads a duration flag with `calliope.arg_parsers.Duration()`, which hands the text to
`core.util.times.ParseDuration` (`core/util/iso_duration.py`): a plain integer is seconds;
anything else is an ISO 8601 duration, upper-cased, with the leading `P` optional (without it,
`M` means minutes): `90s`, `10m`, `1h30m`, `PT10M`, `P1D`, `1.5h`, `500ms`. A negative
duration is below `Duration()`'s lower bound, 0. This is the same grammar, so a duration that
works with gcloud works here, and one gcloud refuses (`1.5`, `10x`, `m`) is refused.
"""

from __future__ import annotations

# iso_duration.Duration's constants: calendar units are averages, as gcloud's are.
_MINUTE = 60.0
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_YEAR = 365.2422 * _DAY
_MONTH = _YEAR / 12
_UNITS = {"Y": _YEAR, "W": 7 * _DAY, "D": _DAY, "H": _HOUR, "S": 1.0}
_SUBSECOND = {"M": 1e-3, "U": 1e-6, "N": 1e-9}


class DurationError(ValueError):
    """Not a duration gcloud would accept; the message says why."""


def parse_duration(text: str) -> float:
    """`90s`, `10m`, `1h30m`, `PT10M`, `2h` or plain seconds -> seconds; DurationError otherwise."""
    try:
        return _non_negative(float(int(text)))  # gcloud: a plain integer is seconds
    except DurationError:
        raise
    except ValueError:
        pass
    try:
        return _non_negative(_iso_seconds(text))
    except DurationError:
        raise
    except ValueError as error:  # float() of "1.2.3"
        raise DurationError(f"{text!r} is not a number followed by a unit") from error


def _non_negative(seconds: float) -> float:
    if seconds < 0:
        raise DurationError("a duration must be 0 or more")
    return seconds


def _iso_seconds(text: str) -> float:
    """`iso_duration.Duration.Parse`, returning the total in seconds."""
    s = text.upper()
    sign = -1.0 if s.startswith("-") else 1.0
    s = s[1:] if s[:1] in ("+", "-") else s
    if s == "P0":
        return 0.0
    months_allowed = s.startswith("P")  # before a `T` (or an H/M/S), `M` is months
    s = s[1:] if months_allowed else s
    total = 0.0
    amount = ""
    seen_t = False
    for i, c in enumerate(s):
        if c.isdigit():
            amount += c
        elif c in ".,":
            amount += "."
        elif c == "T":
            if seen_t:
                raise DurationError("a duration may contain at most one 'T' separator")
            seen_t, months_allowed = True, False
        elif not amount:
            raise DurationError(f"duration unit {s[i:]!r} must be preceded by a number")
        else:
            number, amount = float(amount), ""
            if c in _SUBSECOND and s[i + 1 :] == "S":  # ms, us, ns: only as the last part
                return sign * (total + number * _SUBSECOND[c])
            if c == "M":
                total += number * (_MONTH if months_allowed else _MINUTE)
                months_allowed = False
            elif c in _UNITS:
                total += number * _UNITS[c]
                months_allowed = months_allowed and c in "YWD"
            else:
                raise DurationError(f"unknown character {c!r} in duration")
    if amount:
        raise DurationError("a duration must end with a unit (s, m, h, ...)")
    return sign * total
