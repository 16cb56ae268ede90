"""Waiting for a persistent resource: the pure decision, the loop on a fake clock, and the
whole wait through the real SDK against the emulator.

The loop's polls are a script: a resource (the API answered with it), None (not found) or an
exception (the read failed). The clock moves only when the loop sleeps.
"""

from __future__ import annotations

import io
import random
from typing import Any

import pytest

from prgcloud import exit_codes
from prgcloud.errors import (
    ApiUnavailableError,
    NotFoundError,
    PrecheckFailedError,
    ResourceFailedError,
    WaitTimedOutError,
)
from prgcloud.request import Identity
from prgcloud.resource_wait import (
    Decision,
    Goal,
    ProgressPrinter,
    ResourceProgress,
    decide,
    poll_resource,
    status_line,
    wait_for_resource,
)
from prgcloud.vertex import Location

NAME = "projects/p/locations/us-central1/persistentResources/cluster"


def resource(state: str, message: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": NAME, "state": state}
    if message is not None:
        doc["error"] = {"code": 13, "message": message}
    return doc


@pytest.mark.parametrize(
    ("goal", "seen", "decision"),
    [
        pytest.param(Goal.RUNNING, resource("RUNNING"), Decision.DONE, id="running-is-done"),
        pytest.param(Goal.RUNNING, resource("PROVISIONING"), Decision.WAIT, id="provisioning"),
        pytest.param(Goal.RUNNING, resource("REBOOTING"), Decision.WAIT, id="rebooting"),
        pytest.param(Goal.RUNNING, resource("UPDATING"), Decision.WAIT, id="updating"),
        pytest.param(Goal.RUNNING, {"name": NAME}, Decision.WAIT, id="no-state-yet"),
        pytest.param(Goal.RUNNING, resource("ERROR"), Decision.FAILED, id="error-fails"),
        pytest.param(Goal.RUNNING, resource("STOPPING"), Decision.FAILED, id="stopping-fails"),
        pytest.param(Goal.GONE, None, Decision.DONE, id="gone-is-done"),
        pytest.param(Goal.GONE, resource("STOPPING"), Decision.WAIT, id="stopping-waits"),
        pytest.param(Goal.GONE, resource("RUNNING"), Decision.WAIT, id="delete-not-begun"),
        pytest.param(Goal.GONE, resource("ERROR"), Decision.FAILED, id="delete-went-wrong"),
    ],
)
def test_the_state_read_decides_the_wait(
    goal: Goal, seen: dict[str, Any] | None, decision: Decision
) -> None:
    assert decide(goal, seen) is decision


@pytest.mark.parametrize(
    ("seen", "decision"),
    [
        pytest.param(resource("RUNNING"), Decision.WAIT, id="running-before-the-reboot-begins"),
        pytest.param(resource("REBOOTING"), Decision.WAIT, id="rebooting"),
        pytest.param(resource("ERROR"), Decision.FAILED, id="error-fails"),
    ],
)
def test_running_counts_only_once_the_operation_is_done(
    seen: dict[str, Any], decision: Decision
) -> None:
    assert decide(Goal.RUNNING, seen, operation_done=False) is decision


def test_a_wait_for_running_cannot_judge_a_resource_that_is_not_there() -> None:
    with pytest.raises(ValueError, match="cannot judge"):
        decide(Goal.RUNNING, None)


# --- the loop, on a fake clock -----------------------------------------------------------------

UNAVAILABLE = ApiUnavailableError(
    "the Vertex AI API could not answer now: HTTP 503.", reason="API answered HTTP 503"
)
THROTTLED = ApiUnavailableError("HTTP 429", reason="API answered HTTP 429", retry_after=60.0)

Step = dict[str, Any] | None | BaseException


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def run(
    *steps: Step, goal: Goal = Goal.RUNNING, timeout: float = 600, **kwargs: Any
) -> tuple[Any, FakeTime, list[ResourceProgress]]:
    """Run the loop over `steps` (the last one repeats); its result, clock and progress."""
    time = FakeTime()
    script = list(steps)
    progress: list[ResourceProgress] = []

    def read(seconds_left: float) -> dict[str, Any] | None:
        step = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(step, BaseException):
            raise step
        return step

    result = poll_resource(
        read,
        resource_id="cluster",
        goal=goal,
        timeout=timeout,
        on_progress=progress.append,
        clock=time.clock,
        sleep=time.sleep,
        rng=random.Random(5),
        **kwargs,
    )
    return result, time, progress


def operation(done: bool, message: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": f"{NAME}/operations/1", "done": done}
    if message is not None:
        doc["error"] = {"code": 13, "message": message}
    return doc


def follow(*operations: dict[str, Any]) -> Any:
    """A `read_operation` that answers `operations` in turn (the last one repeats)."""
    script = list(operations)
    return lambda seconds_left: script.pop(0) if len(script) > 1 else script[0]


def test_a_reboot_still_shown_running_is_waited_for_until_its_operation_is_done() -> None:
    result, _, progress = run(
        resource("RUNNING"),
        resource("RUNNING"),
        resource("REBOOTING"),
        resource("RUNNING"),
        read_operation=follow(
            operation(False), operation(False), operation(False), operation(True)
        ),
    )
    assert result == resource("RUNNING")
    assert [p.state for p in progress] == [
        "RUNNING, reboot not begun",
        "RUNNING, reboot not begun",
        "REBOOTING",
    ]


def test_a_reboot_whose_operation_failed_exits_6_though_running() -> None:
    with pytest.raises(ResourceFailedError, match="its operation failed: no capacity") as error:
        run(resource("RUNNING"), read_operation=follow(operation(True, "no capacity")))
    assert error.value.exit_code == exit_codes.FAILED


def test_a_resource_that_is_running_already_is_not_waited_for() -> None:
    result, time, _ = run(resource("RUNNING"))
    assert result == resource("RUNNING")
    assert time.sleeps == []


def test_a_provisioning_resource_is_waited_for_until_it_runs() -> None:
    result, time, progress = run(
        resource("PROVISIONING"), resource("PROVISIONING"), resource("RUNNING")
    )
    assert result["state"] == "RUNNING"
    assert len(time.sleeps) == 2
    assert [p.state for p in progress] == ["PROVISIONING", "PROVISIONING"]


def test_polls_come_every_polling_interval_give_or_take_a_fifth() -> None:
    time = FakeTime()
    with pytest.raises(WaitTimedOutError):
        poll_resource(
            lambda seconds: resource("REBOOTING"),
            resource_id="cluster",
            goal=Goal.RUNNING,
            timeout=100,
            polling_interval=10.0,
            clock=time.clock,
            sleep=time.sleep,
            rng=random.Random(1),
        )
    assert all(8.0 <= pause <= 12.0 for pause in time.sleeps[:-1])
    assert time.now == 100  # the last pause is cut short: the wait ends at its deadline


@pytest.mark.parametrize(
    ("steps", "goal", "said"),
    [
        pytest.param(
            [resource("PROVISIONING"), resource("ERROR", "Quota exceeded for A100 GPUs.")],
            Goal.RUNNING,
            "persistent resource cluster went to ERROR: Quota exceeded for A100 GPUs.",
            id="error-while-provisioning",
        ),
        pytest.param(
            [resource("ERROR")],
            Goal.RUNNING,
            "went to ERROR (it gives no error message).",
            id="error-without-a-message",
        ),
        pytest.param(
            [resource("REBOOTING"), resource("STOPPING")],
            Goal.RUNNING,
            "is being deleted (STOPPING): it will never be RUNNING.",
            id="deleted-while-waiting-for-running",
        ),
        pytest.param(
            [resource("STOPPING"), resource("ERROR", "Deletion failed.")],
            Goal.GONE,
            "went to ERROR instead of being deleted: Deletion failed.",
            id="error-while-deleting",
        ),
    ],
)
def test_a_resource_that_fails_ends_the_wait_with_exit_6(
    steps: list[Step], goal: Goal, said: str
) -> None:
    with pytest.raises(ResourceFailedError) as raised:
        run(*steps, goal=goal)
    assert raised.value.exit_code == exit_codes.FAILED == 6
    assert said in str(raised.value)


def test_the_error_message_is_kept_for_callers() -> None:
    with pytest.raises(ResourceFailedError) as raised:
        run(resource("ERROR", "Zone exhausted."))
    assert raised.value.state == "ERROR"
    assert raised.value.error_message == "Zone exhausted."


def test_a_deleted_resource_ends_the_wait_for_it_to_be_gone() -> None:
    result, _, progress = run(resource("STOPPING"), None, goal=Goal.GONE)
    assert result is None
    assert [p.state for p in progress] == ["STOPPING"]


def test_a_wait_that_runs_out_exits_5_and_says_what_it_last_saw() -> None:
    with pytest.raises(WaitTimedOutError) as raised:
        run(resource("PROVISIONING"), timeout=30)
    assert raised.value.exit_code == exit_codes.WAIT_TIMED_OUT == 5
    message = str(raised.value)
    assert "gave up waiting for persistent resource cluster to be RUNNING after 30s" in message
    assert "last seen PROVISIONING" in message
    assert "left as it is" in message


def test_an_outage_is_a_missed_poll_and_the_wait_goes_on() -> None:
    result, _, progress = run(
        resource("PROVISIONING"), UNAVAILABLE, UNAVAILABLE, resource("RUNNING")
    )
    assert result["state"] == "RUNNING"
    assert [(p.misses, p.state) for p in progress] == [
        (0, "PROVISIONING"),
        (1, "PROVISIONING"),
        (2, "PROVISIONING"),
    ]
    assert "API answered HTTP 503, 2 polls in a row; retrying · last seen: PROVISIONING" in (
        status_line(progress[-1])
    )


def test_a_server_asking_to_be_left_alone_is_left_alone_a_while() -> None:
    _, time, _ = run(THROTTLED, resource("RUNNING"), polling_interval=1.0)
    assert time.sleeps == [5.0]  # Retry-After: 60, capped


def test_an_outage_until_the_deadline_says_so_when_giving_up() -> None:
    with pytest.raises(WaitTimedOutError) as raised:
        run(UNAVAILABLE, timeout=20)
    assert "did not answer the last" in str(raised.value)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(PrecheckFailedError("permission denied reading ..."), id="denied"),
        pytest.param(NotFoundError("persistent resource 'cluster' was not found"), id="gone"),
    ],
)
def test_an_answer_waiting_cannot_change_ends_the_wait_with_exit_4(error: Exception) -> None:
    with pytest.raises(PrecheckFailedError) as raised:
        run(resource("PROVISIONING"), error)
    assert raised.value.exit_code == exit_codes.PRECHECK_FAILED


def test_the_status_line_says_what_for_how_long_and_the_state() -> None:
    progress = ResourceProgress("cluster", Goal.GONE, 75.0, 525.0, "STOPPING")
    assert status_line(progress) == (
        "waiting for persistent resource cluster to be deleted (1m15s, 8m45s left) · STOPPING"
    )


def test_a_log_gets_a_line_per_change_and_a_terminal_one_live_line() -> None:
    log, terminal = io.StringIO(), io.StringIO()
    for stream, live in ((log, False), (terminal, True)):
        printer = ProgressPrinter(stream, live=live, columns=lambda: 40, clock=lambda: 0.0)
        for state in ("PROVISIONING", "PROVISIONING", "REBOOTING"):
            printer(ResourceProgress("cluster", Goal.RUNNING, 1.0, 59.0, state))
        printer.done()
    assert log.getvalue().count("\n") == 2
    assert terminal.getvalue().count("\r\x1b[K") == 3
    assert all(len(line.rstrip("\n")) <= 39 for line in terminal.getvalue().split("\r\x1b[K"))


# --- the whole wait: the real SDK against the emulator -------------------------------------------


@pytest.fixture
def emulator_at(clean_emulator: Any, tmp_path: Any) -> tuple[Location, dict[str, str], Any]:
    """Where the emulator serves, as a read's location (its token in a file), and the emulator."""
    token = tmp_path / "token"
    token.write_text("ya29.emulator-test-token")
    identity = Identity(access_token_file=str(token))
    return Location("p", "us-central1", clean_emulator.url, identity), {}, clean_emulator


POOLS = {
    "resourcePools": [
        {"id": "workers", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"}
    ]
}
RESOURCE = "projects/p/locations/us-central1/persistentResources/cluster"


def test_a_provisioning_resource_is_returned_once_running(emulator_at: Any) -> None:
    where, environ, emulator = emulator_at
    emulator.configure(provision_seconds=0.5)
    emulator.add_persistent_resource("p", "us-central1", "cluster", POOLS, state="PROVISIONING")
    found = wait_for_resource(where, "cluster", environ, timeout=120, polling_interval=0.2)
    assert found is not None
    assert found["state"] == "RUNNING"


def test_a_resource_in_error_ends_the_wait_with_its_message(emulator_at: Any) -> None:
    where, environ, emulator = emulator_at
    emulator.add_persistent_resource("p", "us-central1", "cluster", POOLS, state="PROVISIONING")
    emulator.set_resource_state(RESOURCE, "ERROR", error_message="Out of A100s in us-central1-a.")
    with pytest.raises(ResourceFailedError) as raised:
        wait_for_resource(where, "cluster", environ, timeout=120, polling_interval=0.2)
    assert raised.value.error_message == "Out of A100s in us-central1-a."


def test_a_resource_being_deleted_is_waited_for_until_it_is_gone(emulator_at: Any) -> None:
    where, environ, emulator = emulator_at
    emulator.add_persistent_resource("p", "us-central1", "cluster", POOLS)
    emulator.set_resource_state(RESOURCE, "STOPPING")  # gone after stop_seconds
    gone = wait_for_resource(
        where, "cluster", environ, goal=Goal.GONE, timeout=120, polling_interval=0.2
    )
    assert gone is None


def test_a_resource_that_is_not_there_cannot_be_waited_for_to_run(emulator_at: Any) -> None:
    where, environ, _ = emulator_at
    with pytest.raises(NotFoundError) as raised:
        wait_for_resource(where, "cluster", environ, timeout=120, polling_interval=0.2)
    assert raised.value.exit_code == exit_codes.PRECHECK_FAILED
    assert "while waiting for it to be RUNNING" in str(raised.value)


def test_a_resource_the_identity_may_not_read_ends_the_wait_with_exit_4(emulator_at: Any) -> None:
    where, environ, emulator = emulator_at
    emulator.add_persistent_resource("p", "us-central1", "cluster", POOLS, state="PROVISIONING")
    emulator.deny(RESOURCE)
    with pytest.raises(PrecheckFailedError) as raised:
        wait_for_resource(where, "cluster", environ, timeout=120, polling_interval=0.2)
    assert "permission denied" in str(raised.value)


def test_a_reboot_is_followed_through_its_operation(emulator_at: Any) -> None:
    where, environ, emulator = emulator_at
    emulator.configure(reboot_lag_seconds=0.5, provision_seconds=0.5)
    emulator.add_persistent_resource("p", "us-central1", "cluster", POOLS)
    rebooting = emulator.service.reboot_resource(RESOURCE)
    found = wait_for_resource(
        where,
        "cluster",
        environ,
        timeout=120,
        polling_interval=0.2,
        operation=rebooting.doc["name"],
    )
    assert found is not None
    assert found["state"] == "RUNNING"
    assert emulator.service.get_operation(
        "projects/p/locations/us-central1", rebooting.doc["name"].rsplit("/", 1)[1], None
    ).doc["done"]
