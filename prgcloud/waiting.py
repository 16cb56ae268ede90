"""`--wait-for-capacity`: poll the pre-check until the job fits, then let it be submitted.

Only waits that can end are waited for: a resource that is PROVISIONING / UPDATING /
REBOOTING, or pools whose replicas are busy now. Anything that can never fit (no pool
matches, more than a ceiling, network or CMEK differ, STOPPING / ERROR) ends the wait at once
with exit 3. The polling loop and its backoff are pure of time: the clock, the sleep and the
random source are parameters, so tests run it instantly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from prgcloud.errors import WaitTimedOutError

if TYPE_CHECKING:
    from prgcloud.precheck import Verdict


@dataclass(frozen=True)
class Backoff:
    """Delays between polls: `start`, growing by `factor` up to `cap`, each ±`jitter`."""

    start: float = 2.0
    cap: float = 30.0
    factor: float = 1.5
    jitter: float = 0.2

    def delays(self, rng: random.Random) -> Iterator[float]:
        """An endless series of delays in seconds."""
        delay = self.start
        while True:
            yield delay * (1 + rng.uniform(-self.jitter, self.jitter))
            delay = min(self.cap, delay * self.factor)


def wait_until_fits(
    evaluate: Callable[[], Verdict],
    *,
    timeout: float,
    strict: bool = False,
    on_progress: Callable[[Verdict, float], None] = lambda verdict, elapsed: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
) -> Verdict:
    """Call `evaluate` until its verdict fits; return that verdict.

    Raises JobDoesNotFitError (exit 3) as soon as a verdict blocks (or warns, with
    `strict`), and WaitTimedOutError (exit 5) when `timeout` seconds pass first.
    `on_progress(verdict, elapsed)` is told about every verdict that says "not yet".
    """
    from prgcloud.precheck import JobDoesNotFitError

    started = clock()
    delays = (backoff or Backoff()).delays(rng or random.Random())
    while True:
        verdict = evaluate()
        if verdict.blocks or (strict and verdict.warnings):
            raise JobDoesNotFitError(verdict, strict=strict)
        if not verdict.waits:
            return verdict
        elapsed = clock() - started
        on_progress(verdict, elapsed)
        remaining = timeout - elapsed
        if remaining <= 0:
            from prgcloud.precheck.report import format_verdict

            raise WaitTimedOutError(
                f"gave up waiting for capacity after {format_duration(timeout)}; the job was "
                f"not submitted. Last pre-check:\n{format_verdict(verdict)}"
            )
        sleep(min(next(delays), remaining))


def status_line(verdict: Verdict) -> str:
    """What the wait is for, in one line: state, then free/asked per worker pool."""
    parts = [verdict.state or "state unknown"]
    for pool in verdict.pools:
        if pool.placeholder:
            continue
        where = pool.resource_pool or "?"
        free = "?" if pool.free is None else str(pool.free)
        parts.append(f"pool {pool.index} on {where}: {free} free / {pool.load} asked")
    return " · ".join(parts)


def format_duration(seconds: float) -> str:
    """`754.2` -> `12m34s`; `3600` -> `1h00m00s`."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class ProgressPrinter:
    """Shows the wait on stderr: one live line on a terminal, else a line per change."""

    def __init__(self, stream: TextIO, *, live: bool) -> None:
        self.stream = stream
        self.live = live
        self._last = ""

    def __call__(self, verdict: Verdict, elapsed: float) -> None:
        status = status_line(verdict)
        if self.live:
            self.stream.write(f"\r\x1b[Kwaiting for capacity {format_duration(elapsed)}: {status}")
            self.stream.flush()
        elif status != self._last:
            self.stream.write(f"waiting for capacity ({format_duration(elapsed)}): {status}\n")
            self.stream.flush()
        self._last = status

    def done(self) -> None:
        """End the live line so what follows starts on a fresh one."""
        if self.live and self._last:
            self.stream.write("\n")
            self.stream.flush()
