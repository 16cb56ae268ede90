"""`--wait-for-capacity`'s loop, run on a fake clock against the real pre-check rules."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from typing import Any

import pytest

from prgcloud import exit_codes
from prgcloud.errors import DoesNotFitError, WaitTimedOutError
from prgcloud.precheck import Verdict, evaluate
from prgcloud.waiting import Backoff, ProgressPrinter, format_duration, wait_until_fits

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


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def verdicts(*resources: dict[str, Any]) -> Iterator[Verdict]:
    """One verdict per poll, the last resource repeating."""
    for item in resources:
        yield evaluate(JOB, item)
    while True:
        yield evaluate(JOB, resources[-1])


def run(
    *resources: dict[str, Any], timeout: float = 600, **kwargs: Any
) -> tuple[Verdict, FakeTime]:
    time = FakeTime()
    polls = verdicts(*resources)
    verdict = wait_until_fits(
        lambda: next(polls),
        timeout=timeout,
        clock=time.clock,
        sleep=time.sleep,
        rng=random.Random(7),
        **kwargs,
    )
    return verdict, time


def test_a_job_that_fits_now_is_not_kept_waiting() -> None:
    verdict, time = run(resource())
    assert verdict.fits
    assert time.sleeps == []


def test_a_busy_pool_is_waited_for_until_its_replicas_free_up() -> None:
    progress: list[float] = []
    verdict, time = run(
        resource(used=2),
        resource(used=1),
        resource(used=0),
        on_progress=lambda verdict, elapsed: progress.append(elapsed),
    )
    assert verdict.fits
    assert len(time.sleeps) == 2
    assert len(progress) == 2


@pytest.mark.parametrize("state", ["PROVISIONING", "UPDATING", "REBOOTING"])
def test_a_resource_that_is_not_ready_yet_is_waited_for(state: str) -> None:
    verdict, time = run(resource(state=state), resource())
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
    time = FakeTime()
    polls = verdicts(resource(used=2), resource(state="ERROR"))
    with pytest.raises(DoesNotFitError):
        wait_until_fits(lambda: next(polls), timeout=600, clock=time.clock, sleep=time.sleep)
    assert len(time.sleeps) == 1


def test_running_out_of_time_exits_5_without_oversleeping() -> None:
    time = FakeTime()
    polls = verdicts(resource(used=2))
    with pytest.raises(WaitTimedOutError) as raised:
        wait_until_fits(lambda: next(polls), timeout=95, clock=time.clock, sleep=time.sleep)
    assert raised.value.exit_code == exit_codes.WAIT_TIMED_OUT
    assert "1m35s" in str(raised.value)
    assert sum(time.sleeps) == pytest.approx(95)


def test_strict_turns_a_warning_into_a_block_instead_of_a_wait() -> None:
    names_a_service_account = {
        **JOB,
        "jobSpec": {**JOB["jobSpec"], "serviceAccount": "sa@p.iam.gserviceaccount.com"},
    }
    time = FakeTime()
    with pytest.raises(DoesNotFitError):
        wait_until_fits(
            lambda: evaluate(names_a_service_account, resource()),
            timeout=60,
            strict=True,
            clock=time.clock,
            sleep=time.sleep,
        )


def test_backoff_starts_near_two_seconds_and_never_passes_the_cap() -> None:
    delays = Backoff().delays(random.Random(1))
    first, *rest = [next(delays) for _ in range(30)]
    assert 1.6 <= first <= 2.4
    assert all(delay <= 30 * 1.2 for delay in rest)
    assert max(rest) > 24  # it does grow to the cap


def test_a_terminal_sees_one_live_line() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, live=True)
    verdict = evaluate(JOB, resource(used=2))
    printer(verdict, 3)
    printer(verdict, 9)
    printer.done()
    text = stream.getvalue()
    assert text.count("\r\x1b[K") == 2
    assert text.endswith("\n")
    assert text.count("\n") == 1
    assert "0 free / 2 asked" in text


def test_a_log_sees_a_line_only_when_something_changes() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, live=False)
    printer(evaluate(JOB, resource(used=2)), 2)
    printer(evaluate(JOB, resource(used=2)), 5)
    printer(evaluate(JOB, resource(used=1)), 9)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "\r" not in stream.getvalue()


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.9, "59s"), (754.2, "12m34s"), (3600, "1h00m00s")]
)
def test_durations_read_like_a_clock(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
