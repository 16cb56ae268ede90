"""Which token the pre-check sends: always the one gcloud would send for the same command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from prgcloud import credentials, process

from .conftest import fake_gcloud, fake_login, isolated_environ, resolved_identity

ACCOUNT = "me@example.com"


@pytest.fixture
def logged_in(tmp_path: Path) -> dict[str, str]:
    """An environment with an offline gcloud login of ACCOUNT and a token cached for an hour."""
    environ = isolated_environ(tmp_path)
    fake_login(Path(environ["CLOUDSDK_CONFIG"]), ACCOUNT, "ya29.cached")
    return environ


def with_logging_gcloud(environ: dict[str, str], tmp_path: Path) -> Path:
    environ[process.GCLOUD_OVERRIDE_VARIABLE] = str(fake_gcloud(tmp_path, "echo from-gcloud"))
    return tmp_path / "gcloud.log"


def test_the_cached_token_is_the_one_gcloud_prints(logged_in: dict[str, str]) -> None:
    printed = subprocess.run(
        ["gcloud", "auth", "print-access-token"],
        env=logged_in,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert credentials.cached_token(resolved_identity(logged_in)) == printed == "ya29.cached"


def test_a_cached_token_spares_starting_gcloud(logged_in: dict[str, str], tmp_path: Path) -> None:
    log = with_logging_gcloud(logged_in, tmp_path)
    assert credentials.access_token(resolved_identity(logged_in), logged_in) == "ya29.cached"
    assert not log.exists()


@pytest.mark.parametrize(
    ("flags", "environ_extra"),
    [
        pytest.param(
            {"impersonate_service_account": "sa@p.iam.gserviceaccount.com"},
            {},
            id="impersonation-flag",
        ),
        pytest.param(
            {},
            {"CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT": "sa@p.iam"},
            id="impersonation-property",
        ),
        pytest.param({"account": "other@example.com"}, {}, id="account-not-logged-in"),
        pytest.param({}, {"CLOUDSDK_CORE_ACCOUNT": ""}, id="no-account"),
        pytest.param(
            {}, {"CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE": "/k.json"}, id="credential-file-override"
        ),
        pytest.param({}, {"CLOUDSDK_CORE_UNIVERSE_DOMAIN": "example.goog"}, id="another-universe"),
        pytest.param({}, {"CLOUDSDK_AUTH_DISABLE_CREDENTIALS": "true"}, id="credentials-disabled"),
        pytest.param({}, {"PRGCLOUD_TOKEN_CACHE": "off"}, id="switched-off"),
        pytest.param({"credential_file_override": "/keys/sa.json"}, {}, id="credential-file-flag"),
        pytest.param({"authorization_token_file": "/keys/t"}, {}, id="token-file-flag"),
        pytest.param({"configuration": "other"}, {}, id="configuration-without-account"),
    ],
)
def test_gcloud_is_asked_whenever_the_cache_might_not_be_its_answer(
    logged_in: dict[str, str],
    tmp_path: Path,
    flags: dict[str, str],
    environ_extra: dict[str, str],
) -> None:
    logged_in.update(environ_extra)
    log = with_logging_gcloud(logged_in, tmp_path)
    identity = resolved_identity(logged_in, **flags)
    assert credentials.access_token(identity, logged_in) == "from-gcloud"
    assert log.read_text().split()[:2] == ["auth", "print-access-token"]


def test_a_token_about_to_expire_is_left_to_gcloud_to_refresh(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path)
    fake_login(Path(environ["CLOUDSDK_CONFIG"]), ACCOUNT, "ya29.old", expires_in=120)
    assert credentials.cached_token(resolved_identity(environ)) is None


def test_an_unreadable_cache_is_left_to_gcloud(logged_in: dict[str, str]) -> None:
    (Path(logged_in["CLOUDSDK_CONFIG"]) / "access_tokens.db").write_text("not a database")
    assert credentials.cached_token(resolved_identity(logged_in)) is None


def test_an_account_named_by_flag_uses_its_own_cached_token(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path)
    config = Path(environ["CLOUDSDK_CONFIG"])
    fake_login(config, ACCOUNT, "ya29.mine")
    fake_login(config, "other@example.com", "ya29.other", active=False)
    assert (
        credentials.cached_token(resolved_identity(environ, account="other@example.com"))
        == "ya29.other"
    )
    assert credentials.cached_token(resolved_identity(environ)) == "ya29.mine"
