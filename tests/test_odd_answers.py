"""An API answer that is not what Vertex AI sends is exit 4 with a paragraph, never a traceback.

The answers come from a small local server (the real SDK reads them), and the token from a
file that may itself be odd: whatever is in it never appears in an error.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from slow_server import OddServer

from prgcloud import cli, exit_codes
from prgcloud.environment import Environment

CHECK = [
    "ai",
    "custom-jobs",
    "check",
    "--display-name=train",
    "--persistent-resource-id=res",
    "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/i",
]
TOKEN = "ya29.a0AfH6SMBx-secret-part"


def run_check(environ: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    err = io.StringIO()
    env = Environment(environ=environ, stdout=io.StringIO(), stderr=err, cwd=str(tmp_path))
    return cli.main(CHECK, env), err.getvalue()


def environ_for(tmp_path: Path, url: str, token_file: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"),
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": url,
        "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": str(token_file),
        "CLOUDSDK_CORE_PROJECT": "p",
        "CLOUDSDK_AI_REGION": "us-central1",
    }


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b'{"name": "projects/p/locations/us-central1/pers', None, id="truncated-json"),
        pytest.param(b"<html><body>Sign in to the Wi-Fi</body></html>", "text/html", id="html"),
        pytest.param(b"null", None, id="null"),
        pytest.param(b"[]", None, id="a-list"),
        pytest.param(b'"a string"', None, id="a-string"),
        pytest.param(b"{}", None, id="an-empty-object"),
        pytest.param(b'{"resourcePools": 5}', None, id="wrong-types"),
        pytest.param(b"\xff\xfe\x00{", None, id="not-utf-8"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_an_answer_that_is_not_a_persistent_resource_is_exit_4(
    tmp_path: Path, token_file: Path, body: bytes, content_type: str | None
) -> None:
    odd = OddServer(body=body, content_type=content_type or "application/json; charset=UTF-8")
    with odd:
        status, stderr = run_check(environ_for(tmp_path, odd.url, token_file), tmp_path)
    assert status == exit_codes.PRECHECK_FAILED, stderr
    assert "answered the read of persistent resource 'res' with" in stderr
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1  # one paragraph


def test_a_server_error_page_in_html_is_a_transient_failure_not_a_traceback(
    tmp_path: Path, token_file: Path
) -> None:
    with OddServer(
        body=b"<html>502 Bad Gateway</html>", status=502, content_type="text/html"
    ) as odd:
        status, stderr = run_check(environ_for(tmp_path, odd.url, token_file), tmp_path)
    assert status == exit_codes.PRECHECK_FAILED, stderr
    assert "HTTP 502" in stderr


@pytest.fixture
def answering() -> Iterator[OddServer]:
    with OddServer() as server:
        yield server


@pytest.mark.parametrize(
    ("content", "said"),
    [
        pytest.param(
            f"{TOKEN[:12]}\n{TOKEN[12:]}\n", "it has a line break after line 1", id="line-break"
        ),
        pytest.param(
            f"{TOKEN[:12]}\r\n{TOKEN[12:]}", "it has a line break after line 1", id="crlf"
        ),
        pytest.param(f"{TOKEN[:12]} {TOKEN[12:]}", "a space at position 13", id="space"),
        pytest.param(
            f"{TOKEN[:12]}\x1b[2J{TOKEN[12:]}", "the character U+001B at position 13", id="escape"
        ),
    ],
)
def test_a_token_file_that_is_not_one_token_is_refused_without_showing_it(
    tmp_path: Path, answering: OddServer, content: str, said: str
) -> None:
    path = tmp_path / "token"
    path.write_text(content)
    status, stderr = run_check(environ_for(tmp_path, answering.url, path), tmp_path)
    assert status == exit_codes.PRECHECK_FAILED, stderr
    assert f"the access token file {path} does not hold one access token ({said})" in stderr
    assert TOKEN[:12] not in stderr
    assert TOKEN[12:] not in stderr
    assert answering.requests == 0  # nothing was sent with it


@pytest.mark.parametrize(
    ("make", "said"),
    [
        pytest.param(lambda p: p.mkdir(), "not a regular file or a pipe (a directory)", id="dir"),
        pytest.param(lambda p: p.write_bytes(b"y" * 70_000), "larger than 64 KiB", id="huge"),
        pytest.param(lambda p: p.write_bytes(b"ya29.\xff\xfe"), "not UTF-8", id="binary"),
        pytest.param(lambda p: None, "No such file or directory", id="missing"),
    ],
)
def test_a_token_file_that_cannot_be_read_within_bounds_is_refused(
    tmp_path: Path, answering: OddServer, make: object, said: str
) -> None:
    path = tmp_path / "token"
    make(path)  # type: ignore[operator]
    status, stderr = run_check(environ_for(tmp_path, answering.url, path), tmp_path)
    assert status == exit_codes.PRECHECK_FAILED, stderr
    assert stderr.startswith("ERROR: (prgcloud) no credentials for the pre-check")
    assert said in stderr
    assert answering.requests == 0


def test_a_token_can_come_through_a_pipe(tmp_path: Path, answering: OddServer) -> None:
    path = tmp_path / "token-pipe"  # as in --access-token-file=<(gcloud auth print-access-token)
    os.mkfifo(path)

    def write() -> None:
        with open(path, "w") as pipe:
            pipe.write(TOKEN + "\n")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    status, stderr = run_check(environ_for(tmp_path, answering.url, path), tmp_path)
    writer.join()
    assert status == exit_codes.DOES_NOT_FIT, stderr  # read, and judged: it has no pools
    assert answering.requests == 1


def test_a_device_as_the_token_file_is_refused_at_once(
    tmp_path: Path, answering: OddServer
) -> None:
    status, stderr = run_check(environ_for(tmp_path, answering.url, Path("/dev/zero")), tmp_path)
    assert status == exit_codes.PRECHECK_FAILED, stderr
    assert "not a regular file or a pipe (a device)" in stderr
