"""Time for the emulator, injectable so tests can fast-forward instead of sleeping."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time in seconds since the epoch."""

    def now(self) -> float:
        """The current time."""
        ...


class SystemClock:
    """The wall clock, plus an offset that `advance` moves forward (fast-forward in tests).

    `freeze` stops it, so that a test can count states without a timer falling due while it
    counts, however slowly a loaded machine runs the test.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen_at: float | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        """The wall clock (or the moment it was frozen) plus every `advance` so far."""
        with self._lock:
            wall = time.time() if self._frozen_at is None else self._frozen_at
            return wall + self._offset

    def freeze(self) -> None:
        """Stop the clock where it is: from now on only `advance` moves it."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = time.time()

    def advance(self, seconds: float) -> None:
        """Jump forward; timers that fall due in the jump fire at their own due times."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        """Back to the plain, running wall clock."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None


class ManualClock:
    """A clock that moves only when told to; for unit tests of the model."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        """The time last set."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move forward by `seconds`."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += seconds


def rfc3339(seconds: float) -> str:
    """`2026-11-28T20:25:53.123456Z`, the form Google's JSON gives Timestamps in."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> float:
    """Seconds since the epoch from an RFC 3339 time; ValueError when it is not one."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python 3.10's fromisoformat takes at most 6 fractional digits
    if "." in value:
        head, _, tail = value.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        value = f"{head}.{tail[:digits][:6].ljust(6, '0')}{tail[digits:]}"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.timestamp()
