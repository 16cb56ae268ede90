"""Fixtures shared by the whole suite."""

# --- capture server (tests/capture_server.py): a local Vertex AI that records requests ---
from collections.abc import Iterator as _Iterator
from pathlib import Path as _Path

import pytest
from capture_server import CaptureServer
from capture_server import gcloud_env as _capture_gcloud_env
from capture_server import running_capture_server as _running_capture_server
from capture_server import write_token_file as _write_token_file


@pytest.fixture(scope="session")
def _capture_server_session() -> _Iterator[CaptureServer]:
    with _running_capture_server() as server:
        yield server


@pytest.fixture
def capture_server(_capture_server_session: CaptureServer) -> CaptureServer:
    """The session's capture server, with nothing recorded and nothing canned."""
    _capture_server_session.reset()
    return _capture_server_session


@pytest.fixture
def gcloud_capture_env(tmp_path: _Path, capture_server: CaptureServer) -> dict[str, str]:
    """An environment in which gcloud talks to `capture_server` with a fake token and a
    fresh, empty configuration directory."""
    secrets = tmp_path / "gcloud-env"
    secrets.mkdir()
    return _capture_gcloud_env(
        server_url=capture_server.url,
        config_dir=str(secrets / "config"),
        token_file=_write_token_file(str(secrets)),
    )


# --- emulator (tests/emulator_fixture.py): the local Vertex AI emulator, and gcloud against it ---
import emulator_fixture as _emulator_fixture  # noqa: E402 - this block stays self-contained

emulator = _emulator_fixture.emulator_fixture
clean_emulator = _emulator_fixture.clean_emulator_fixture
gcloud_env_for_emulator = _emulator_fixture.gcloud_env_fixture  # the fixture `gcloud_env`
