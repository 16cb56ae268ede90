"""The emulator over HTTP: what malformed and unauthorised requests get, faults, concurrency."""

from __future__ import annotations

import base64
import http.client
import socket
import stat
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import PARENT, call, cpu_pool, gpu_pool, job_body

from prgcloud.emulator import Emulator
from prgcloud.emulator.clock import SystemClock

V1 = f"/v1/{PARENT}"
PR1 = f"{PARENT}/persistentResources/pr1"
GPU_POOL_ID = "a2-highgpu-1g-nvidia-tesla-a100-1"


def _add_pr1(emulator: Emulator, replicas: int = 2) -> None:
    emulator.add_persistent_resource(
        "p1", "us-central1", "pr1", {"resourcePools": [gpu_pool(replicas)]}
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        pytest.param(
            "POST", f"{V1}/customJobs", b"{not json", 400, "Invalid JSON payload", id="bad-json"
        ),
        pytest.param(
            "POST",
            f"{V1}/customJobs",
            b'{"displayName": "x", "jobSpek": {}}',
            400,
            "Unknown name \"jobSpek\" at 'custom_job': Cannot find field.",
            id="unknown-field",
        ),
        pytest.param("POST", f"{V1}/customJobs", b"", 400, "custom_job is required", id="no-body"),
        pytest.param(
            "POST", f"{V1}/customJobs", b"[" * 100_000, 400, "Invalid JSON", id="deep-json"
        ),
        pytest.param(
            "POST",
            f"{V1}/persistentResources?persistentResourceId=pr1",
            b'{"resourcePools": [{"replicaCount": "' + b"9" * 5000 + b'"}]}',
            400,
            "(TYPE_INT64)",
            id="huge-number",
        ),
        pytest.param(
            "POST", f"{V1}/customJobs", b"\xff\xfe{}", 400, "Invalid JSON", id="not-utf-8"
        ),
        pytest.param(
            "GET", f"{V1}/persistentResources/Bad_Id", None, 400, "Invalid persistent", id="bad-id"
        ),
        pytest.param("GET", f"{V1}/customJobs/abc", None, 400, "must be a number", id="bad-job-id"),
        pytest.param(
            "GET",
            f"{V1}/hyperparameterTuningJobs/abc",
            None,
            400,
            "must be a number",
            id="bad-tuning-job-id",
        ),
        pytest.param(
            "POST",
            f"{V1}/hyperparameterTuningJobs",
            b"",
            400,
            "hyperparameter_tuning_job is required",
            id="no-tuning-body",
        ),
        pytest.param(
            "POST",
            f"{V1}/hyperparameterTuningJobs",
            b'{"trialJobSpec": {"gpus": 1}}',
            400,
            "Unknown name \"gpus\" at 'hyperparameter_tuning_job.trial_job_spec'",
            id="unknown-tuning-field",
        ),
        pytest.param(
            "GET",
            f"{V1}/hyperparameterTuningJobs/123",
            None,
            404,
            "hyperparameterTuningJobs/123 is not found",
            id="missing-tuning-job",
        ),
        pytest.param("GET", f"{V1}/operations/x1", None, 400, "Invalid operation id", id="bad-op"),
        pytest.param(
            "GET",
            "/v1/projects/P_1/locations/us-central1/customJobs",
            None,
            400,
            "Invalid project",
            id="bad-project",
        ),
        pytest.param(
            "GET", f"{V1}/customJobs?color=red", None, 400, 'Unknown name "color"', id="bad-param"
        ),
        pytest.param("GET", f"{V1}/customJobs?alt=proto", None, 400, "Unsupported alt", id="alt"),
        pytest.param("GET", f"{V1}/customJobs?pageSize=-1", None, 400, "page_size", id="page-size"),
        pytest.param(
            "GET", f"{V1}/customJobs?filter=state%3E1", None, 400, "Invalid filter", id="filter"
        ),
        pytest.param(
            "POST",
            f"{V1}/customJobs/1:cancel",
            b'{"force": true}',
            400,
            'Unknown name "force"',
            id="cancel-with-a-body",
        ),
        pytest.param("GET", f"{V1}/models", None, 404, "was not found", id="unknown-collection"),
        pytest.param("GET", "/v2/projects/p1", None, 404, "was not found", id="unknown-version"),
        pytest.param("PUT", f"{V1}/customJobs/1", b"{}", 404, "was not found", id="wrong-method"),
        pytest.param("GET", f"/ui/{PARENT}/customJobs", None, 404, "not found", id="ui-not-jobs"),
        pytest.param(
            "GET",
            f"{V1}/customJobs/123",
            None,
            404,
            "customJobs/123 is not found",
            id="missing-job",
        ),
    ],
)
def test_a_bad_request_gets_a_google_rpc_status(
    clean_emulator: Emulator, method: str, path: str, body: bytes | None, status: int, words: str
) -> None:
    code, answer = call(clean_emulator.url, method, path, raw=body)
    assert code == status
    assert answer["error"]["code"] == status
    assert answer["error"]["status"] == {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}[status]
    assert words in answer["error"]["message"]


@pytest.mark.parametrize(
    "token", [pytest.param(None, id="no-header"), pytest.param("", id="empty-bearer")]
)
def test_a_request_without_a_bearer_token_is_unauthenticated(
    clean_emulator: Emulator, token: str | None
) -> None:
    code, answer = call(clean_emulator.url, "GET", f"{V1}/persistentResources", token=token)
    assert code == 401
    assert answer["error"]["status"] == "UNAUTHENTICATED"


def test_a_bad_content_length_does_not_stop_the_server(clean_emulator: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", clean_emulator.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400")
    assert call(clean_emulator.url, "GET", f"{V1}/customJobs")[0] == 200


def test_a_bug_answers_500_and_the_server_goes_on(
    clean_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(clean_emulator.service, "list_jobs", broken)
    code, answer = call(clean_emulator.url, "GET", f"{V1}/customJobs")
    assert (code, answer["error"]["status"]) == (500, "INTERNAL")
    monkeypatch.undo()
    assert call(clean_emulator.url, "GET", f"{V1}/customJobs")[0] == 200


def test_replies_give_enum_numbers_to_the_sdk(clean_emulator: Emulator) -> None:
    _add_pr1(clean_emulator)
    path = f"{V1}/persistentResources/pr1?%24alt=json%3Benum-encoding%3Dint"
    code, answer = call(clean_emulator.url, "GET", path)
    assert code == 200
    assert answer["state"] == 3
    assert answer["resourcePools"][0]["machineSpec"]["acceleratorType"] == 8


def test_persistent_resources_are_listed_in_pages(clean_emulator: Emulator) -> None:
    for name in ("a1", "a2", "a3"):
        clean_emulator.add_persistent_resource(
            "p1", "us-central1", name, {"resourcePools": [cpu_pool()]}
        )
    code, first = call(clean_emulator.url, "GET", f"{V1}/persistentResources?pageSize=2")
    assert code == 200
    assert [r["name"][-2:] for r in first["persistentResources"]] == ["a1", "a2"]
    token = first["nextPageToken"]
    _, second = call(clean_emulator.url, "GET", f"{V1}/persistentResources?pageToken={token}")
    assert [r["name"][-2:] for r in second["persistentResources"]] == ["a3"]
    assert "nextPageToken" not in second


def test_a_denied_resource_answers_permission_denied(clean_emulator: Emulator) -> None:
    _add_pr1(clean_emulator)
    clean_emulator.deny(PR1)
    code, answer = call(clean_emulator.url, "GET", f"/v1/{PR1}")
    assert code == 403
    assert answer["error"] == {
        "code": 403,
        "status": "PERMISSION_DENIED",
        "message": "Permission 'aiplatform.persistentResources.get' denied on resource"
        f" '//aiplatform.googleapis.com/{PR1}' (or it may not exist).",
    }
    assert call(clean_emulator.url, "GET", f"{V1}/persistentResources")[0] == 200


def test_a_fault_can_fail_a_few_requests_then_stop(clean_emulator: Emulator) -> None:
    clean_emulator.fail("UNAVAILABLE", method="GET", times=2)
    codes = [call(clean_emulator.url, "GET", f"{V1}/customJobs")[0] for _ in range(3)]
    assert codes == [503, 503, 200]


def test_a_fault_can_delay_requests(clean_emulator: Emulator) -> None:
    clean_emulator.fail(None, delay=0.2, times=1)
    started = time.monotonic()
    assert call(clean_emulator.url, "GET", f"{V1}/customJobs")[0] == 200
    assert time.monotonic() - started >= 0.2


def _create_job(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    return call(url, "POST", f"{V1}/customJobs", body)


def test_a_frozen_clock_moves_only_when_advanced() -> None:
    clock = SystemClock()
    clock.freeze()
    frozen = clock.now()
    assert clock.now() == frozen
    clock.advance(3600)
    assert clock.now() == frozen + 3600
    clock.reset()
    assert clock.now() < frozen + 3600  # the wall clock again


def test_parallel_submissions_never_over_allocate(clean_emulator: Emulator) -> None:
    clean_emulator.add_persistent_resource(
        "p1", "us-central1", "pr1", {"resourcePools": [gpu_pool(8, usedReplicaCount="3")]}
    )
    # a loaded machine may take longer than a job's PENDING to submit and count them all
    clean_emulator.freeze()
    body = job_body(gpu_pool(1))
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(lambda _: _create_job(clean_emulator.url, body), range(30)))
    assert {code for code, _ in answers} == {200}

    def counts() -> tuple[dict[str, int], int]:
        states: dict[str, int] = {}
        for job in clean_emulator.custom_jobs("p1", "us-central1"):
            states[job["state"]] = states.get(job["state"], 0) + 1
        used = clean_emulator.persistent_resource(PR1)["resourcePools"][0]["usedReplicaCount"]
        return states, int(used)

    assert counts() == ({"JOB_STATE_PENDING": 5, "JOB_STATE_QUEUED": 25}, 8)
    clean_emulator.advance(0.5)
    assert counts() == ({"JOB_STATE_RUNNING": 5, "JOB_STATE_QUEUED": 25}, 8)
    for finished in (5, 10, 15, 20, 25):
        clean_emulator.advance(601)  # one generation ends; the next five take their replicas
        assert counts() == (
            {"JOB_STATE_SUCCEEDED": finished, "JOB_STATE_RUNNING": 5}
            | ({"JOB_STATE_QUEUED": 25 - finished} if finished < 25 else {}),
            8,
        )


@pytest.mark.parametrize(
    "token_content",
    [
        pytest.param(b'{"after": 1e999, "query": ""}', id="infinite"),
        pytest.param(b'{"after": 99999999999999999999999, "query": ""}', id="beyond-int64"),
        pytest.param(b'{"after": -1, "query": ""}', id="negative"),
        pytest.param(b'{"after": true, "query": ""}', id="not-a-number"),
    ],
)
def test_an_overflowing_page_token_is_invalid_argument(
    clean_emulator: Emulator, token_content: bytes
) -> None:
    token = base64.urlsafe_b64encode(token_content).decode().rstrip("=")
    for collection in ("customJobs", "persistentResources", "hyperparameterTuningJobs"):
        status, body = call(clean_emulator.url, "GET", f"{V1}/{collection}?pageToken={token}")
        assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("size", ["2147483648", "-2147483649", "9" * 5000])
def test_a_page_size_beyond_int32_is_invalid_argument(clean_emulator: Emulator, size: str) -> None:
    status, body = call(clean_emulator.url, "GET", f"{V1}/customJobs?pageSize={size}")
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")


def test_a_deep_filter_is_invalid_argument(clean_emulator: Emulator) -> None:
    deep = urllib.parse.quote("(" * 3000 + 'state="JOB_STATE_RUNNING"' + ")" * 3000)
    status, body = call(clean_emulator.url, "GET", f"{V1}/customJobs?filter={deep}")
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(b"GET /emulator/health HTTP/1.1\r\nHost:", id="half-the-headers"),
        pytest.param(
            f"POST {V1}/customJobs HTTP/1.1\r\nAuthorization: Bearer t\r\n"
            "Content-Length: 100\r\n\r\n{".encode(),
            id="half-the-body",
        ),
    ],
)
def test_a_stalled_connection_is_closed_and_the_server_goes_on(sent: bytes) -> None:
    with (
        Emulator(port=0, read_timeout=0.2) as emulator,
        socket.create_connection((emulator.host, emulator.port), timeout=60) as stalled,
    ):
        stalled.sendall(sent)
        # the server hangs up on its own; the client's own timeout only bounds a failure
        assert stalled.recv(1024) == b""
        assert call(emulator.url, "GET", "/emulator/health") == (200, {"status": "SERVING"})


@pytest.mark.parametrize("left_by_an_older_emulator", [False, True], ids=["new", "readable"])
def test_the_database_is_readable_by_its_owner_only(
    data_dir: str, left_by_an_older_emulator: bool
) -> None:
    state = Path(data_dir, "state")
    if left_by_an_older_emulator:
        state.mkdir(mode=0o700)
        Path(state, "emulator.sqlite3").touch(mode=0o644)
    with Emulator(port=0, data_dir=state) as emulator:
        _add_pr1(emulator)
        files = sorted(state.iterdir())
        assert "emulator.sqlite3" in [f.name for f in files]
        assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {
            f.name: 0o600 for f in files
        }
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_answers_leave_at_once_without_waiting_for_an_ack(clean_emulator: Emulator) -> None:
    # Nagle's algorithm would hold each keep-alive answer's last segment for a delayed ACK
    seen: list[int] = []
    server = clean_emulator._httpd
    finish = server.finish_request

    def recording(request: socket.socket, address: Any) -> None:
        finish(request, address)
        seen.append(request.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server.finish_request = recording  # type: ignore[method-assign]
    try:
        assert call(clean_emulator.url, "GET", "/emulator/health")[0] == 200
        deadline = time.monotonic() + 30  # the server thread records once the client has gone
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        del server.finish_request
    assert seen
    assert all(seen)


def test_a_keep_alive_connection_open_at_stop_is_closed_not_answered_500() -> None:
    emulator = Emulator(port=0).start()
    connection = http.client.HTTPConnection(emulator.host, emulator.port, timeout=60)
    try:
        headers = {"Authorization": "Bearer t"}
        connection.request("GET", f"{V1}/customJobs", headers=headers)
        with connection.getresponse() as answer:
            assert answer.status == 200
            answer.read()
        emulator.stop()

        def ask_again() -> int:
            connection.request("GET", f"{V1}/customJobs", headers=headers)
            return connection.getresponse().status

        with pytest.raises(ConnectionError):  # the client sees the connection closed
            ask_again()
    finally:
        connection.close()
        emulator.stop()


def test_a_request_being_answered_at_stop_gets_its_answer_then_the_connection_closes() -> None:
    emulator = Emulator(port=0).start()
    arrived, release = threading.Event(), threading.Event()

    def held(seconds: float) -> None:  # the fault's delay: held until the test lets it go
        arrived.set()
        release.wait(60)

    emulator._httpd.api._sleep = held
    emulator.fail(None, delay=1, times=1)
    connection = http.client.HTTPConnection(emulator.host, emulator.port, timeout=60)
    stopping = threading.Thread(target=emulator.stop)
    try:
        connection.request("GET", f"{V1}/customJobs", headers={"Authorization": "Bearer t"})
        assert arrived.wait(60)
        stopping.start()
        while not getattr(emulator._httpd, "closing", False) and stopping.is_alive():
            time.sleep(0.01)  # until stop has begun closing connections
        release.set()
        with connection.getresponse() as answer:
            assert answer.status == 200, answer.read()
            assert answer.getheader("Connection") == "close"
    finally:
        release.set()
        connection.close()
        stopping.join(60)
        emulator.stop()
