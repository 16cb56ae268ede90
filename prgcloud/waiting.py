"""`--wait-for-capacity`: poll the pre-check until the job fits, then let it be submitted.

Only waits that can end are waited for: a resource that is PROVISIONING / UPDATING /
REBOOTING, or pools whose replicas are busy now. Anything that can never fit (no pool
matches, more than a ceiling, network or CMEK differ, STOPPING / ERROR) ends the wait at once
with exit 3, and so does an answer that waiting cannot change (not found, permission denied,
bad credentials: exit 4). The API being unreachable, too slow, throttling or failing
(`ApiUnavailableError`) is a missed poll: the wait says so and goes on until its deadline.

Polls come every 2-3 s, jittered so that many waiting jobs do not poll in step: a job is
submitted within a poll of its capacity freeing, for about 25 reads a minute against Vertex
AI's read quota of 600 a minute. `google.api_core.retry` is not used: it retries a call that
fails, with full-jitter exponential back-off and no injectable clock, while this loop ends
on an answer that says "not yet", keeps a flat cadence, honours Retry-After, and reports
every poll. The clock, the sleep and the random source are parameters, so tests run it
instantly.
"""

from __future__ import annotations

import random
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from prgcloud.errors import ApiUnavailableError, WaitTimedOutError

if TYPE_CHECKING:
    from prgcloud.precheck import Verdict

# A log (no terminal) gets a line at least this often even when nothing changes. The next
# poll comes at most a pause (<= _RETRY_AFTER_CAP) and a poll (<= 8 s) later, so a line
# comes at least every 30 s.
HEARTBEAT_SECONDS = 15.0
# The longest a server's Retry-After may stretch one pause.
_RETRY_AFTER_CAP = 5.0
# No poll of a wait takes longer than this: one that gets no answer by then is a missed poll,
# and the next comes a few seconds later (it also keeps the log's heartbeat regular).
_POLL_SECONDS = 8.0
# The poll at a wait's deadline still gets this long to answer: a wait ends within a few
# seconds of its deadline, and the last poll is not doomed from the start.
_LAST_POLL_SECONDS = 3.0


def pause_after(pause: float, miss: ApiUnavailableError | None) -> float:
    """The pause before the next poll: `pause`, or longer if the missed poll's server asked
    (Retry-After, at most a few seconds)."""
    return pause if miss is None else max(pause, min(miss.retry_after, _RETRY_AFTER_CAP))


def poll_deadline(seconds_left: float) -> float:
    """The `time.monotonic()` by which one poll of a wait with `seconds_left` must answer."""
    return time.monotonic() + min(_POLL_SECONDS, max(seconds_left, _LAST_POLL_SECONDS))


@dataclass(frozen=True)
class Cadence:
    """Pauses between polls: `interval` seconds, each ±`jitter` of it."""

    interval: float = 2.5
    jitter: float = 0.2

    def delays(self, rng: random.Random) -> Iterator[float]:
        """An endless series of pauses in seconds."""
        while True:
            yield self.interval * (1 + rng.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True)
class WaitProgress:
    """Where a wait stands after a poll that did not end it.

    `verdict` is the last verdict read (None until one is); `miss` is why this poll got no
    answer (None when it got one); `misses` counts the polls missed in a row.
    """

    elapsed: float
    remaining: float
    verdict: Verdict | None
    miss: ApiUnavailableError | None = None
    misses: int = 0


def wait_until_fits(
    evaluate: Callable[[float], Verdict],
    *,
    timeout: float,
    on_progress: Callable[[WaitProgress], None] = lambda progress: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    cadence: Cadence | None = None,
    rng: random.Random | None = None,
    before_waiting: Callable[[Verdict], None] | None = None,
) -> Verdict:
    """Call `evaluate(seconds_left)` until its verdict fits; return that verdict.

    `evaluate` must end within about the seconds it is given (each read has a deadline).
    Raises JobDoesNotFitError (exit 3) as soon as a verdict blocks (under `--strict`, warns);
    PrecheckFailedError (exit 4) when the resource cannot be read and waiting cannot change
    that; WaitTimedOutError (exit 5) when `timeout` seconds pass first. `on_progress` hears
    about every poll that did not end the wait. `before_waiting` hears the first verdict that
    says to wait, before the wait begins, and may end it by raising (policy hooks do).
    """
    from prgcloud.precheck import JobDoesNotFitError

    started = clock()
    deadline = started + timeout
    delays = (cadence or Cadence()).delays(rng or random.Random())
    verdict: Verdict | None = None
    misses = 0
    while True:
        miss = None
        try:
            polled = evaluate(max(0.0, deadline - clock()))
        except ApiUnavailableError as error:
            miss, misses = error, misses + 1
        else:
            if polled.blocking:
                raise JobDoesNotFitError(polled)
            if not polled.waits:
                return polled
            if verdict is None and before_waiting is not None:
                before_waiting(polled)
            verdict, misses = polled, 0
        now = clock()
        progress = WaitProgress(now - started, max(0.0, deadline - now), verdict, miss, misses)
        on_progress(progress)
        if now >= deadline:
            raise WaitTimedOutError(_gave_up(timeout, progress))
        pause = next(delays)
        if miss is not None:
            pause = max(pause, min(miss.retry_after, _RETRY_AFTER_CAP))
        sleep(min(pause, deadline - now))


def _gave_up(timeout: float, progress: WaitProgress) -> str:
    waited = format_duration(timeout)
    text = f"gave up waiting for capacity after {waited}; the job was not submitted."
    if progress.miss is not None:
        polls = f"the last {progress.misses} reads" if progress.misses > 1 else "the last read"
        text += f" The Vertex AI API did not answer {polls}: {progress.miss}"
    if progress.verdict is not None:
        from prgcloud.precheck.report import format_verdict

        text += f"\nLast pre-check:\n{format_verdict(progress.verdict)}"
    return text


def status_line(progress: WaitProgress) -> str:
    """The wait in one line: time spent and left, then what it waits for, or why it missed."""
    parts = [
        f"waiting for capacity ({format_duration(progress.elapsed)}, "
        f"{format_duration(progress.remaining)} left)"
    ]
    if progress.miss is not None:
        times = f", {progress.misses} polls in a row" if progress.misses > 1 else ""
        parts.append(f"{progress.miss.reason}{times}; retrying")
    if progress.verdict is not None:
        seen = verdict_status(progress.verdict)
        parts.append(f"last seen: {seen}" if progress.miss is not None else seen)
    return ": ".join(parts[:2]) + "".join(f" · {part}" for part in parts[2:])


def verdict_status(verdict: Verdict) -> str:
    """What the wait is for: state, then free/asked per worker pool."""
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


def fit_width(text: str, columns: int) -> str:
    """`text` cut to at most `columns` terminal cells (wide characters take two), ending `…`."""
    cells = [_cells(char) for char in text]
    if sum(cells) <= columns:
        return text
    room, used, end = max(columns - 1, 0), 0, 0
    while end < len(text) and used + cells[end] <= room:
        used += cells[end]
        end += 1
    return text[:end] + "…" if columns > 0 else ""


def _cells(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


class ProgressPrinter:
    """Shows the wait on stderr: one live line on a terminal, else a line per change.

    The live line is redrawn in place and never wider than the terminal (`columns()` asks
    for its current width): a line that wrapped could not be redrawn, and the stale rows
    would pile up. Without a terminal, a line is written when what the wait sees changes,
    and at least every `HEARTBEAT_SECONDS`.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool,
        columns: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.live = live
        self.columns = columns or (lambda: 80)
        self.clock = clock
        self._drawn = False
        self._last_seen: tuple[str, str] | None = None
        self._last_time = 0.0

    def __call__(self, progress: WaitProgress) -> None:
        seen = (
            progress.miss.reason if progress.miss else "",
            verdict_status(progress.verdict) if progress.verdict else "",
        )
        self.show(status_line(progress), seen)

    def show(self, line: str, seen: tuple[str, str]) -> None:
        """Show `line`: redrawn in place on a terminal; else written when `seen` (what the
        wait sees: why a poll missed, what it read) changed, or a heartbeat is due."""
        if self.live:
            # The last column is left free: writing into it makes some terminals wrap.
            self.stream.write(f"\r\x1b[K{fit_width(line, self.columns() - 1)}")
            self.stream.flush()
            self._drawn = True
            return
        now = self.clock()
        if seen != self._last_seen or now - self._last_time >= HEARTBEAT_SECONDS:
            self.stream.write(line + "\n")
            self.stream.flush()
            self._last_seen, self._last_time = seen, now

    def done(self) -> None:
        """End the live line so what follows starts on a fresh one."""
        if self.live and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
