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


# --- the fast lane: `pytest -m "not gcloud"` leaves out every test that runs the real gcloud ---
# Tests that ask for a gcloud environment or the capture server run gcloud (or prgcloud as it
# runs gcloud), and so does the differential test's `runs`; marking them here keeps the lane
# honest without a marker on each of them.
_GCLOUD_FIXTURES = frozenset({"gcloud_env", "gcloud_capture_env", "capture_server", "runs"})


# Modules whose every test starts a gcloud process (the real one, or a fake one standing in
# for it), and modules whose tests start other heavy processes or wait on purpose (`slow`).
_GCLOUD_MODULES = frozenset({"test_first_run.py", "test_submission.py", "test_shim.py"})
_SLOW_MODULES = frozenset({"test_sdk_import.py", "test_deadlines.py"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.name
        if module in _GCLOUD_MODULES or _GCLOUD_FIXTURES.intersection(
            getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.gcloud)
        if module in _SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


# --- policy hooks: the developer's own never run in the suite ----------------------------------
import os as _os  # noqa: E402 - this block stays self-contained


@pytest.fixture(scope="session", autouse=True)
def _no_personal_policy_hooks(tmp_path_factory: pytest.TempPathFactory) -> _Iterator[None]:
    """Point $XDG_CONFIG_HOME at an empty directory and drop PRGCLOUD_POLICY_DIR, so that the
    developer's own policy hooks (~/.config/prgcloud/policy.d) are not run by tests that
    start from os.environ. Tests that want hooks set them up themselves."""
    saved = {name: _os.environ.get(name) for name in ("XDG_CONFIG_HOME", "PRGCLOUD_POLICY_DIR")}
    _os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    _os.environ.pop("PRGCLOUD_POLICY_DIR", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                _os.environ.pop(name, None)
            else:
                _os.environ[name] = value
