"""Fixtures for the pre-check tests: a scripted fake Vertex API and an isolated environment."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from prgcloud import parse
from prgcloud.request import Identity

from .fake_vertex import FakeVertex

PROJECT = "p"
REGION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
TOKEN = "ya29.test-token"


@pytest.fixture
def fake_vertex() -> Iterator[FakeVertex]:
    """A started FakeVertex, stopped afterwards."""
    server = FakeVertex().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


def isolated_environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    """PATH and HOME only, gcloud's configuration in an empty temp dir: no developer login."""
    config = tmp_path / "gcloud-config"
    config.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(tmp_path),
        "CLOUDSDK_CONFIG": str(config),
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        **extra,
    }


@pytest.fixture
def environ(tmp_path: Path, fake_vertex: FakeVertex, token_file: Path) -> dict[str, str]:
    """An environment in which gcloud and prgcloud talk to `fake_vertex` with TOKEN."""
    return isolated_environ(
        tmp_path,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=fake_vertex.url,
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=str(token_file),
        CLOUDSDK_CORE_PROJECT=PROJECT,
        CLOUDSDK_AI_REGION=REGION,
    )


def resolved_identity(environ: dict[str, str], **flags: str) -> Identity:
    """The identity gcloud would act as in `environ` with these flags (`account="me@x"` is
    `--account=me@x`), resolved by the parse layer as for a real command line."""
    given = {f"--{name.replace('_', '-')}": value for name, value in flags.items()}
    return parse.identity(given.get, parse.gcloud_properties(environ, given.get))


def fake_gcloud(tmp_path: Path, body: str) -> Path:
    """An executable `gcloud` stand-in (a shell script) that logs its argv to `gcloud.log`.

    Like gcloud, it first reads prgcloud's `--flags-file` pipe, which blocks it until the
    job was found to fit (a gcloud killed before that logs nothing).
    """
    log = tmp_path / "gcloud.log"
    script = tmp_path / "fake-gcloud"
    read_pipe = (
        'for a in "$@"; do case "$a" in --flags-file=/dev/fd/*) '
        'while IFS= read -r l; do :; done < "${a#--flags-file=}";; esac; done'
    )
    script.write_text(f'#!/bin/sh\n{read_pipe}\necho "$@" >> "{log}"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def fake_login(
    config: Path, account: str, token: str, *, expires_in: float = 3600.0, active: bool = True
) -> None:
    """What `gcloud auth login` leaves in CLOUDSDK_CONFIG, with a cached token; works offline.

    gcloud sends a cached access token while it is valid, so neither gcloud nor prgcloud
    needs Google to answer for it.
    """
    config.mkdir(parents=True, exist_ok=True)
    secret = {
        "client_id": "test.apps.googleusercontent.com",
        "client_secret": "s",
        "refresh_token": "r",
        "type": "authorized_user",
    }
    with contextlib.closing(sqlite3.connect(config / "credentials.db")) as db, db:
        db.execute(
            'CREATE TABLE IF NOT EXISTS "credentials" (account_id TEXT PRIMARY KEY, value BLOB)'
        )
        db.execute("REPLACE INTO credentials VALUES (?, ?)", (account, json.dumps(secret)))
    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
    with contextlib.closing(sqlite3.connect(config / "access_tokens.db")) as db, db:
        db.execute(
            'CREATE TABLE IF NOT EXISTS "access_tokens" (account_id TEXT PRIMARY KEY, '
            "access_token TEXT, token_expiry TIMESTAMP, rapt_token TEXT, id_token TEXT)"
        )
        db.execute(
            "REPLACE INTO access_tokens VALUES (?, ?, ?, NULL, NULL)",
            (account, token, expiry.replace(tzinfo=None).isoformat(" ")),
        )
    if active:
        (config / "configurations").mkdir(exist_ok=True)
        (config / "configurations" / "config_default").write_text(f"[core]\naccount = {account}\n")
        (config / "active_config").write_text("default")
