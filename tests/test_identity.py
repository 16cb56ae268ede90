"""The pre-check acts as the identity gcloud would use for the same command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_gcloud import FakeGcloud

from prgcloud import vertex
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
    assert vertex.access_token(request.identity, environ) == "ya29.token"
    (call,) = fake.calls
    assert call[:2] == ["auth", "print-access-token"]
    assert all(flag in call for flag in IDENTITY_FLAGS)
