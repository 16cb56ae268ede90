"""`--wait-for-capacity`'s loop, run on a fake clock against the real pre-check rules.

Each poll is a step of a script: a resource (the API answered with it) or an exception (the
read failed). The clock moves only when the loop sleeps, so a 30-minute wait runs at once.
"""

from __future__ import annotations

import io
import itertools
import random
from typing import Any

import pytest

from prgcloud import exit_codes
from prgcloud.errors import (
    ApiUnavailableError,
    DoesNotFitError,
    PrecheckFailedError,
    WaitTimedOutError,
)
from prgcloud.precheck import Verdict, evaluate
from prgcloud.waiting import (
    Cadence,
    ProgressPrinter,
    WaitProgress,
    fit_width,
    format_duration,
    status_line,
    wait_until_fits,
)

JOB = {
    "displayName": "train",
    "jobSpec": {
        "persistentResourceId": "cluster",
        "workerPoolSpecs": [
            {
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": "2",
                "containerSpec": {"imageUri": "gcr.io/p/i"},
            }
        ],
    },
}


def resource(
    state: str = "RUNNING", used: int = 0, replicas: int = 2, **pool: Any
) -> dict[str, Any]:
    """The persistent resource the job runs on: one pool of `replicas`, `used` of them busy."""
    return {
        "name": "projects/p/locations/us-central1/persistentResources/cluster",
        "state": state,
        "resourcePools": [
            {
                "id": "workers",
                "machineSpec": {"machineType": pool.get("machine", "n1-standard-4")},
                "replicaCount": str(replicas),
                "usedReplicaCount": str(used),
            }
        ],
    }


UNREACHABLE = ApiUnavailableError(
    "the Vertex AI API at http://127.0.0.1:9/ cannot be reached ([Errno 111] Connection refused).",
    reason="API unreachable ([Errno 111] Connection refused)",
)
THROTTLED = ApiUnavailableError(
    "the Vertex AI API could not answer now: HTTP 429 Quota exceeded.",
    reason="API answered HTTP 429",
    retry_after=20.0,
)
NOT_FOUND = PrecheckFailedError("persistent resource 'cluster' was not found.")

Step = dict[str, Any] | BaseException


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """`evaluate` for the loop: one step per poll, the last repeating; records each poll."""

    def __init__(self, time: FakeTime, *steps: Step, strict: bool = False) -> None:
        self.time = time
        self.steps = list(steps)
        self.strict = strict
        self.polls: list[tuple[float, float]] = []  # (when, seconds it was given)

    def __call__(self, seconds_left: float) -> Verdict:
        self.polls.append((self.time.now, seconds_left))
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, BaseException):
            raise step
        return evaluate(JOB, step, strict=self.strict)


def run(
    *steps: Step, timeout: float = 600, strict: bool = False, **kwargs: Any
) -> tuple[Verdict, FakeTime, Script]:
    time = FakeTime()
    script = Script(time, *steps, strict=strict)
    verdict = wait_until_fits(
        script,
        timeout=timeout,
        clock=time.clock,
        sleep=time.sleep,
        rng=random.Random(7),
        **kwargs,
    )
    return verdict, time, script


def run_out(*steps: Step, timeout: float, **kwargs: Any) -> tuple[str, FakeTime, Script]:
    """Run a wait that must run out of time; its message, clock and script."""
    time = FakeTime()
    script = Script(time, *steps)
    with pytest.raises(WaitTimedOutError) as raised:
        wait_until_fits(
            script,
            timeout=timeout,
            clock=time.clock,
            sleep=time.sleep,
            rng=random.Random(3),
            **kwargs,
        )
    assert raised.value.exit_code == exit_codes.WAIT_TIMED_OUT
    return str(raised.value), time, script


def test_a_job_that_fits_now_is_not_kept_waiting() -> None:
    verdict, time, _ = run(resource())
    assert verdict.fits
    assert time.sleeps == []


def test_a_busy_pool_is_waited_for_until_its_replicas_free_up() -> None:
    progress: list[WaitProgress] = []
    verdict, time, _ = run(
        resource(used=2), resource(used=1), resource(used=0), on_progress=progress.append
    )
    assert verdict.fits
    assert len(time.sleeps) == 2
    assert [p.verdict is not None and p.verdict.waits != () for p in progress] == [True, True]


@pytest.mark.parametrize("state", ["PROVISIONING", "UPDATING", "REBOOTING"])
def test_a_resource_that_is_not_ready_yet_is_waited_for(state: str) -> None:
    verdict, time, _ = run(resource(state=state), resource())
    assert verdict.fits
    assert len(time.sleeps) == 1


@pytest.mark.parametrize(
    "never",
    [
        pytest.param(resource(replicas=1), id="more-than-the-ceiling"),
        pytest.param(resource(machine="a2-highgpu-1g"), id="no-matching-pool"),
        pytest.param(resource(state="ERROR"), id="resource-in-error"),
        pytest.param(resource(state="STOPPING"), id="resource-stopping"),
    ],
)
def test_a_job_that_can_never_fit_is_not_waited_for(never: dict[str, Any]) -> None:
    with pytest.raises(DoesNotFitError) as raised:
        run(never)
    assert raised.value.exit_code == exit_codes.DOES_NOT_FIT


def test_a_wait_that_turns_hopeless_stops_at_once() -> None:
    with pytest.raises(DoesNotFitError):
        run(resource(used=2), resource(state="ERROR"))


def test_strict_turns_a_warning_into_a_block_instead_of_a_wait() -> None:
    names_a_service_account = {
        **JOB,
        "jobSpec": {**JOB["jobSpec"], "serviceAccount": "sa@p.iam.gserviceaccount.com"},
    }
    time = FakeTime()
    with pytest.raises(DoesNotFitError):
        wait_until_fits(
            lambda seconds: evaluate(names_a_service_account, resource(), strict=True),
            timeout=60,
            clock=time.clock,
            sleep=time.sleep,
        )


def test_running_out_of_time_exits_5_without_oversleeping() -> None:
    message, time, script = run_out(resource(used=2), timeout=95)
    assert "gave up waiting for capacity after 1m35s" in message
    assert "asks 2, free 0" in message
    assert time.now == pytest.approx(95)
    assert script.polls[-1] == (pytest.approx(95), 0)  # a last look at the deadline


def test_polls_come_every_two_to_three_seconds_however_long_the_wait() -> None:
    _, time, _ = run_out(resource(used=2), timeout=1800)
    assert all(2.0 <= pause <= 3.0 for pause in time.sleeps[:-1])
    assert len(time.sleeps) > 600  # about 25 a minute, far below the 600-a-minute read quota


def test_freed_capacity_is_taken_within_a_poll() -> None:
    freed_at = 1000.0
    time = FakeTime()

    def busy_until_freed(seconds_left: float) -> Verdict:
        return evaluate(JOB, resource(used=2 if time.now < freed_at else 0))

    wait_until_fits(busy_until_freed, timeout=1800, clock=time.clock, sleep=time.sleep)
    assert freed_at <= time.now <= freed_at + 3.0


@pytest.mark.parametrize("miss", [UNREACHABLE, THROTTLED], ids=["unreachable", "throttled"])
def test_the_api_going_away_for_a_while_does_not_end_the_wait(miss: ApiUnavailableError) -> None:
    progress: list[WaitProgress] = []
    verdict, _, script = run(
        resource(used=2), miss, miss, miss, resource(used=0), on_progress=progress.append
    )
    assert verdict.fits
    assert len(script.polls) == 5
    assert [p.misses for p in progress] == [0, 1, 2, 3]
    assert progress[3].miss is miss
    assert "0 free / 2 asked" in status_line(progress[3])  # the last thing seen, still shown


def test_a_wait_can_start_while_the_api_is_away() -> None:
    verdict, _, _ = run(UNREACHABLE, UNREACHABLE, resource())
    assert verdict.fits


def test_a_throttled_poll_waits_longer_when_the_server_asks_but_not_for_long() -> None:
    _, time, _ = run(resource(used=2), THROTTLED, resource())  # it asked for 20 s
    assert time.sleeps[1] == pytest.approx(5.0)


def test_a_wait_that_runs_out_while_the_api_is_away_says_why() -> None:
    message, _, _ = run_out(resource(used=2), UNREACHABLE, timeout=60)
    assert "gave up waiting for capacity after 1m00s" in message
    assert "did not answer the last" in message
    assert "Connection refused" in message
    assert "asks 2, free 0" in message  # the last pre-check that got an answer


def test_an_answer_that_waiting_cannot_change_ends_the_wait_with_exit_4() -> None:
    with pytest.raises(PrecheckFailedError) as raised:
        run(resource(used=2), UNREACHABLE, NOT_FOUND)
    assert raised.value is NOT_FOUND
    assert raised.value.exit_code == exit_codes.PRECHECK_FAILED


def test_each_poll_is_given_the_time_left() -> None:
    _, _, script = run_out(resource(used=2), timeout=10)
    assert [round(when + left, 6) for when, left in script.polls] == [10.0] * len(script.polls)


def test_cadence_is_flat_and_jittered() -> None:
    delays = Cadence().delays(random.Random(1))
    pauses = [next(delays) for _ in range(200)]
    assert all(2.0 <= pause <= 3.0 for pause in pauses)
    assert len({round(pause, 3) for pause in pauses}) > 100


# --- what the user sees ---------------------------------------------------------------------


def busy(elapsed: float = 3, remaining: float = 297, **kwargs: Any) -> WaitProgress:
    return WaitProgress(elapsed, remaining, evaluate(JOB, resource(used=2)), **kwargs)


def test_the_status_line_shows_time_spent_and_left_and_what_it_waits_for() -> None:
    assert status_line(busy(65, 235)) == (
        "waiting for capacity (1m05s, 3m55s left): RUNNING · pool 0 on workers: 0 free / 2 asked"
    )


def test_the_status_line_says_when_the_api_is_away_and_that_the_wait_goes_on() -> None:
    line = status_line(busy(miss=UNREACHABLE, misses=3))
    assert line.startswith(
        "waiting for capacity (3s, 4m57s left): API unreachable ([Errno 111] Connection "
        "refused), 3 polls in a row; retrying · last seen: RUNNING"
    )


def test_a_terminal_sees_one_live_line() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, live=True, columns=lambda: 200)
    printer(busy(3))
    printer(busy(9))
    printer.done()
    text = stream.getvalue()
    assert text.count("\r\x1b[K") == 2
    assert text.endswith("\n")
    assert text.count("\n") == 1
    assert "0 free / 2 asked" in text


@pytest.mark.parametrize("columns", [20, 60, 80, 160])
def test_the_live_line_is_never_wider_than_the_terminal(columns: int) -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, live=True, columns=lambda: columns)
    printer(busy(miss=UNREACHABLE, misses=12))  # 170 columns and more
    drawn = stream.getvalue().split("\r\x1b[K")[-1]
    assert len(drawn) < columns
    assert drawn.endswith("…")


def test_the_live_line_follows_a_resized_terminal() -> None:
    widths = iter([200, 40])
    stream = io.StringIO()
    printer = ProgressPrinter(stream, live=True, columns=lambda: next(widths))
    printer(busy())
    printer(busy())
    first, second = stream.getvalue().split("\r\x1b[K")[1:]
    assert not first.endswith("…")
    assert len(second) < 40


@pytest.mark.parametrize(
    ("text", "columns", "fitted"),
    [
        pytest.param("short", 10, "short", id="fits"),
        pytest.param("exactly10!", 10, "exactly10!", id="exactly"),
        pytest.param("a bit too long", 10, "a bit too…", id="cut"),
        pytest.param("資源資源資源", 7, "資源資…", id="wide-characters-take-two-cells"),
        pytest.param("anything", 0, "", id="no-room"),
    ],
)
def test_fit_width_counts_terminal_cells(text: str, columns: int, fitted: str) -> None:
    assert fit_width(text, columns) == fitted


def test_a_log_sees_a_line_only_when_something_changes() -> None:
    time = FakeTime()
    stream = io.StringIO()
    printer = ProgressPrinter(stream, live=False, clock=time.clock)
    printer(busy(2))
    time.sleep(3)
    printer(busy(5))
    printer(WaitProgress(9, 291, evaluate(JOB, resource(used=1))))
    printer(busy(12, miss=UNREACHABLE, misses=1))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert "\r" not in stream.getvalue()


class TimedStream(io.StringIO):
    """A log that notes the (fake) time of every line written to it."""

    def __init__(self, time: FakeTime) -> None:
        super().__init__()
        self.time = time
        self.times: list[float] = []

    def write(self, text: str) -> int:
        self.times.append(self.time.now)
        return super().write(text)


@pytest.mark.parametrize(
    "poll",
    [
        pytest.param(lambda: resource(used=2), id="busy-all-along"),
        pytest.param(lambda: THROTTLED, id="throttled-all-along"),
    ],
)
def test_a_log_hears_from_a_wait_at_least_every_30_seconds(poll: Any) -> None:
    time = FakeTime()
    log = TimedStream(time)
    printer = ProgressPrinter(log, live=False, clock=time.clock)

    def slow_poll(seconds_left: float) -> Verdict:
        time.sleep(min(8.0, seconds_left))  # each poll takes as long as a poll may
        step = poll()
        if isinstance(step, BaseException):
            raise step
        return evaluate(JOB, step)

    with pytest.raises(WaitTimedOutError):
        wait_until_fits(
            slow_poll, timeout=600, on_progress=printer, clock=time.clock, sleep=time.sleep
        )
    gaps = [later - earlier for earlier, later in itertools.pairwise(log.times)]
    assert log.times[0] <= 30
    assert max(gaps) <= 30
    assert len(log.times) < 600 / 10  # a heartbeat, not a line per poll


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.9, "59s"), (754.2, "12m34s"), (3600, "1h00m00s")]
)
def test_durations_read_like_a_clock(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
