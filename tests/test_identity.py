"""The pre-check acts as the identity gcloud would use for the same command line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_gcloud import SCRIPT as FAKE_GCLOUD_SCRIPT
from fake_gcloud import FakeGcloud
from precheck.conftest import fake_login, isolated_environ
from precheck.fake_vertex import FakeVertex

import prgcloud
from prgcloud import cli, credentials, exit_codes
from prgcloud.environment import Environment
from prgcloud.parse import parse_create

BASE = [
    "--project=p",
    "--region=us-central1",
    "--display-name=d",
    "--worker-pool-spec=machine-type=n1,container-image-uri=i",
]
IDENTITY_FLAGS = [
    "--account=me@example.com",
    "--impersonate-service-account=sa@p.iam.gserviceaccount.com",
    "--configuration=work",
    "--credential-file-override=/keys/sa.json",
    "--authorization-token-file=/keys/token",
]


@pytest.fixture
def fake(tmp_path: Path) -> FakeGcloud:
    return FakeGcloud.install(tmp_path)


def test_every_identity_flag_reaches_the_request(tmp_path: Path) -> None:
    request = parse_create(
        [*BASE, *IDENTITY_FLAGS],
        {"CLOUDSDK_CONFIG": str(tmp_path)},
        track=None,
        cwd=str(tmp_path),
    )
    assert list(request.identity.gcloud_flags()) == IDENTITY_FLAGS


def test_the_token_is_asked_of_gcloud_with_the_same_identity_flags(
    fake: FakeGcloud, tmp_path: Path
) -> None:
    environ = fake.environ({"CLOUDSDK_CONFIG": str(tmp_path / "config")}, stdout="ya29.token")
    request = parse_create([*BASE, *IDENTITY_FLAGS], environ, track=None, cwd=str(tmp_path))
    assert credentials.access_token(request.identity, environ) == "ya29.token"
    (call,) = fake.calls
    assert call[:2] == ["auth", "print-access-token"]
    assert all(flag in call for flag in IDENTITY_FLAGS)


# --- one reading of gcloud's settings, the installation's `properties` file included ----------

USER = "me@example.com"
SERVICE_ACCOUNT = "runner@p.iam.gserviceaccount.com"
IMPERSONATED_TOKEN = "ya29.impersonated"
RESOURCE = {
    "name": "projects/p/locations/us-central1/persistentResources/res",
    "state": "RUNNING",
    "resourcePools": [
        {"id": "cpu", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "2"}
    ],
}


@pytest.fixture
def fake_vertex() -> Iterator[FakeVertex]:
    server = FakeVertex().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sdk_root(tmp_path: Path, fake_vertex: FakeVertex) -> Path:
    """A throw-away Cloud SDK: ROOT/bin/gcloud (a fake that prints a token) and ROOT/properties,
    which says to impersonate a service account, and where and in which project to work."""
    root = tmp_path / "google-cloud-sdk"
    (root / "bin").mkdir(parents=True)
    gcloud = root / "bin" / "gcloud"
    gcloud.write_text(FAKE_GCLOUD_SCRIPT)
    gcloud.chmod(0o755)
    (root / "properties").write_text(
        f"[auth]\nimpersonate_service_account = {SERVICE_ACCOUNT}\n"
        f"[core]\nproject = p\n[ai]\nregion = us-central1\n"
        f"[api_endpoint_overrides]\naiplatform = {fake_vertex.url}\n"
    )
    return root


@pytest.fixture
def logged_in(tmp_path: Path, sdk_root: Path) -> dict[str, str]:
    """The user is logged in (a cached token of their own) and uses the SDK at `sdk_root`."""
    environ = isolated_environ(
        tmp_path,
        PRGCLOUD_GCLOUD=str(sdk_root / "bin" / "gcloud"),
        FAKE_GCLOUD_LOG=str(tmp_path / "gcloud.log"),
        FAKE_GCLOUD_STDOUT=IMPERSONATED_TOKEN,
    )
    fake_login(Path(environ["CLOUDSDK_CONFIG"]), USER, "ya29.the-users-own")
    return environ


def gcloud_calls(environ: dict[str, str]) -> list[list[str]]:
    log = Path(environ["FAKE_GCLOUD_LOG"])
    return FakeGcloud(log.parent, log).calls


def run_cli(environ: dict[str, str], tmp_path: Path, *argv: str) -> tuple[int, str]:
    err = io.StringIO()
    env = Environment(environ=environ, stdout=io.StringIO(), stderr=err, cwd=str(tmp_path))
    return cli.main(list(argv), env), err.getvalue()


CHECK = [
    "ai",
    "custom-jobs",
    "check",
    "--display-name=d",
    "--persistent-resource-id=res",
    "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/i",
]
CAPACITY = ["ai", "persistent-resources", "capacity", "res"]


@pytest.mark.parametrize("argv", [CHECK, CAPACITY], ids=["check", "capacity"])
def test_impersonation_set_for_the_whole_installation_is_the_identity_of_the_read(
    logged_in: dict[str, str], fake_vertex: FakeVertex, tmp_path: Path, argv: list[str]
) -> None:
    fake_vertex.add(RESOURCE)
    status, stderr = run_cli(logged_in, tmp_path, *argv)
    assert status == 0, stderr
    (get,) = fake_vertex.gets()  # project, region and endpoint from ROOT/properties too
    assert get.authorization == f"Bearer {IMPERSONATED_TOKEN}"
    (call,) = gcloud_calls(logged_in)
    assert call[:2] == ["auth", "print-access-token"]
    assert f"--impersonate-service-account={SERVICE_ACCOUNT}" in call


def test_a_denied_read_names_the_impersonated_service_account(
    logged_in: dict[str, str], fake_vertex: FakeVertex, tmp_path: Path
) -> None:
    fake_vertex.fail(403)
    status, stderr = run_cli(logged_in, tmp_path, *CAPACITY)
    assert status == exit_codes.PRECHECK_FAILED
    assert f"service account {SERVICE_ACCOUNT} (impersonated) needs the IAM permission" in stderr


def test_the_library_reads_the_installation_file_too(
    logged_in: dict[str, str], fake_vertex: FakeVertex
) -> None:
    fake_vertex.add(RESOURCE)
    prgcloud.capacity("res", project="p", region="us-central1", environ=logged_in)
    assert fake_vertex.gets()[0].authorization == f"Bearer {IMPERSONATED_TOKEN}"


def test_without_the_installation_setting_the_users_cached_token_is_gclouds_answer(
    logged_in: dict[str, str], fake_vertex: FakeVertex, sdk_root: Path, tmp_path: Path
) -> None:
    (sdk_root / "properties").write_text(
        f"[core]\nproject = p\n[ai]\nregion = us-central1\n"
        f"[api_endpoint_overrides]\naiplatform = {fake_vertex.url}\n"
    )
    fake_vertex.add(RESOURCE)
    status, stderr = run_cli(logged_in, tmp_path, *CAPACITY)
    assert status == 0, stderr
    assert fake_vertex.gets()[0].authorization == "Bearer ya29.the-users-own"
    assert gcloud_calls(logged_in) == []
