"""Every read of the API has a wall-clock deadline, even when the answer drips in byte by byte.

A server that sends a byte every 0.2 s never trips a socket timeout, so only a real deadline
ends such a read. These tests run the real prgcloud (a process, the real SDK) against a
dripping local server and a fake gcloud that records whether anything was submitted. Each
dripping answer would take over half an hour to arrive; the tests check that prgcloud gives
up on it with the documented exit code, long before, and sends nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_gcloud import FakeGcloud
from slow_server import OddServer

from prgcloud import exit_codes, sdk, vertex
from prgcloud.errors import ApiUnavailableError, BadInputError
from prgcloud.request import Identity

JOB = [
    "--display-name=train",
    "--persistent-resource-id=res",
    "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/i",
]
COMMANDS = {
    "create": ["ai", "custom-jobs", "create", *JOB],
    "check": ["ai", "custom-jobs", "check", *JOB],
    "capacity": ["ai", "persistent-resources", "capacity", "res"],
}
# Far below the drip's half hour, far above what a loaded machine needs to start prgcloud.
GIVES_UP_WITHIN = 60.0


@pytest.fixture(params=["body", "headers"], ids=["dripping-body", "dripping-headers"])
def dripping(request: pytest.FixtureRequest) -> Iterator[OddServer]:
    """A Vertex AI stand-in whose every answer arrives a byte every 0.2 s (half an hour)."""
    with OddServer(drip=0.2, drip_from=request.param) as server:
        yield server


@pytest.fixture
def environ(tmp_path: Path, dripping: OddServer) -> dict[str, str]:
    fake = FakeGcloud.install(tmp_path)
    token = tmp_path / "token"
    token.write_text("ya29.token\n")
    return fake.environ(
        {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"),
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": dripping.url,
            "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": str(token),
            "CLOUDSDK_CORE_PROJECT": "p",
            "CLOUDSDK_AI_REGION": "us-central1",
        }
    )


def prgcloud(environ: dict[str, str], *argv: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "prgcloud", *argv],
        env=environ,
        capture_output=True,
        text=True,
        timeout=GIVES_UP_WITHIN * 3,
        check=False,
    )
    return done, time.monotonic() - started


def test_a_read_of_a_dripping_answer_ends_at_its_deadline(
    environ: dict[str, str], dripping: OddServer
) -> None:
    sdk.import_client_class(fast=False)  # the import must not eat the read's budget here
    budget = vertex.Budget(total=3.0, attempt=1.0, retries=1, backoff=0.1)
    identity = Identity(access_token_file=environ["CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"])
    started = time.monotonic()
    with pytest.raises(ApiUnavailableError) as raised:
        vertex.read_persistent_resource(
            "p",
            "us-central1",
            "res",
            endpoint=dripping.url,
            identity=identity,
            environ=environ,
            budget=budget,
        )
    assert time.monotonic() - started < GIVES_UP_WITHIN
    assert raised.value.exit_code == exit_codes.PRECHECK_FAILED
    assert "did not answer the read of persistent resource 'res' in time" in str(raised.value)
    assert dripping.requests == 2  # the attempt that timed out was tried once more
    # Nothing lingers: the read's connection was closed, and its worker thread is gone.
    assert eventually(lambda: dripping.answering == 0)
    assert eventually(lambda: not any(t.name == "prgcloud-read" for t in threading.enumerate()))


def eventually(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    """Whether `condition` holds within `seconds` (polled), long before the drip would end."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_dripping_api_ends_the_command_with_exit_4_and_sends_nothing(
    environ: dict[str, str], tmp_path: Path, command: str
) -> None:
    done, seconds = prgcloud({**environ, "PRGCLOUD_PRECHECK_TIMEOUT": "3s"}, *COMMANDS[command])
    assert done.returncode == exit_codes.PRECHECK_FAILED, done.stderr
    assert seconds < GIVES_UP_WITHIN
    assert "did not answer" in done.stderr
    assert "Traceback" not in done.stderr
    assert FakeGcloud(tmp_path / "fake-bin", tmp_path / "fake-gcloud.log").calls == []


def test_a_wait_on_a_dripping_api_ends_near_its_deadline_with_exit_5(
    environ: dict[str, str], tmp_path: Path
) -> None:
    done, seconds = prgcloud(environ, *COMMANDS["create"], "--wait-for-capacity=6s")
    assert done.returncode == exit_codes.WAIT_TIMED_OUT, done.stderr
    assert "gave up waiting for capacity after 6s" in done.stderr
    assert "did not answer" in done.stderr
    assert seconds < 6 + GIVES_UP_WITHIN / 4
    assert FakeGcloud(tmp_path / "fake-bin", tmp_path / "fake-gcloud.log").calls == []


@pytest.mark.parametrize(
    ("value", "total"),
    [
        pytest.param(None, 28.0, id="default"),
        pytest.param("5", 5.0, id="seconds"),
        pytest.param("2m", 120.0, id="minutes"),
        pytest.param("0", 0.1, id="zero-is-the-shortest"),
    ],
)
def test_the_precheck_timeout_variable_sets_the_whole_reads_budget(
    value: str | None, total: float
) -> None:
    budget = vertex.Budget.from_environ({} if value is None else {vertex.TIMEOUT_VARIABLE: value})
    assert budget.total == total
    assert budget.attempt <= total


def test_a_precheck_timeout_that_is_not_a_duration_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="PRGCLOUD_PRECHECK_TIMEOUT") as raised:
        vertex.Budget.from_environ({vertex.TIMEOUT_VARIABLE: "soon"})
    assert raised.value.exit_code == exit_codes.BAD_INPUT
