"""What prgcloud costs over raw gcloud: paired runs against the emulator, medians.

    .venv/bin/python bench/run.py [--rounds N] [--warmup N] [--json]

Each round runs every command once, in a shuffled order, against one in-process emulator:

    gcloud          raw `gcloud ai custom-jobs create ...`
    create          `prgcloud ai custom-jobs create ...` (pre-check, then gcloud)
    check           `prgcloud ai custom-jobs check ...` (parse + pre-check, no gcloud)
    create-normal   `create` with the SDK's normal import (PRGCLOUD_SDK_IMPORT=normal)
    create-skip     `create --skip-precheck` (prgcloud without the pre-check)
    dry-run         `create --dry-run --skip-precheck` (no gcloud, no SDK)
    config-list     raw `gcloud config list`
    shim-config-list  the same through bin/gcloud (the PATH shim passes it through)
    create-no-cache `create` asking `gcloud auth print-access-token` (with --auth=login)

and prints each command's median wall time and the median of its per-round ratio to raw gcloud
(the issue's target: create <= 2.0x gcloud; the hope: close to 1.3x). Two in-process figures
follow: importing the client the fast way and the normal way, each in a fresh interpreter.

The token comes from an access token file, as the emulator accepts any; with a real login,
the pre-check runs `gcloud auth print-access-token` instead, on the same thread budget as the
SDK import it overlaps with (see PERF-NOTES.md).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prgcloud.emulator import Emulator  # noqa: E402 - after the path is set

PROJECT, REGION, RESOURCE = "bench", "us-central1", "bench-pool"
JOB_ARGS = [
    "--display-name=bench",
    "--worker-pool-spec=machine-type=n1-standard-4,replica-count=1,"
    "container-image-uri=us-docker.pkg.dev/bench/r/trainer:1",
    f"--persistent-resource-id={RESOURCE}",
]


def commands(*, login: bool) -> dict[str, tuple[list[str], dict[str, str]]]:
    """name -> (argv, extra environment)."""
    prgcloud = [sys.executable, "-m", "prgcloud"]
    create = ["ai", "custom-jobs", "create", *JOB_ARGS]
    return {
        "gcloud": (["gcloud", *create], {}),
        "create": ([*prgcloud, *create], {}),
        "check": ([*prgcloud, "ai", "custom-jobs", "check", *JOB_ARGS], {}),
        "create-normal": ([*prgcloud, *create], {"PRGCLOUD_SDK_IMPORT": "normal"}),
        "create-skip": ([*prgcloud, *create, "--skip-precheck"], {}),
        # issue 2's target: under 0.25 s, the SDK never imported
        "dry-run": ([*prgcloud, *create, "--dry-run", "--skip-precheck"], {}),
        # issue 5's target: the shim adds under 50 ms to a command it passes through
        "config-list": (["gcloud", "config", "list"], {}),
        "shim-config-list": ([str(ROOT / "bin" / "gcloud"), "config", "list"], {}),
        # the token from `gcloud auth print-access-token` instead of gcloud's cache
        **(
            {"create-no-cache": ([*prgcloud, *create], {"PRGCLOUD_TOKEN_CACHE": "off"})}
            if login
            else {}
        ),
    }


def fake_login(config: Path, account: str) -> None:
    """A gcloud login that works offline: stored credentials and a cached token valid 10 h.

    gcloud uses a cached access token as long as it is valid, so neither gcloud nor prgcloud
    reaches Google; everything else is what a user's `gcloud auth login` leaves behind.
    """
    config.mkdir(parents=True, exist_ok=True)
    secret = {"client_id": "bench.apps.googleusercontent.com", "client_secret": "s",
              "refresh_token": "r", "type": "authorized_user"}  # fmt: skip
    with contextlib.closing(sqlite3.connect(config / "credentials.db")) as db, db:
        db.execute(
            'CREATE TABLE IF NOT EXISTS "credentials" (account_id TEXT PRIMARY KEY, value BLOB)'
        )
        db.execute("REPLACE INTO credentials VALUES (?, ?)", (account, json.dumps(secret)))
    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=10)
    with contextlib.closing(sqlite3.connect(config / "access_tokens.db")) as db, db:
        db.execute(
            'CREATE TABLE IF NOT EXISTS "access_tokens" (account_id TEXT PRIMARY KEY, '
            "access_token TEXT, token_expiry TIMESTAMP, rapt_token TEXT, id_token TEXT)"
        )
        db.execute(
            "REPLACE INTO access_tokens VALUES (?, ?, ?, NULL, NULL)",
            (account, "ya29.bench", expiry.replace(tzinfo=None).isoformat(" ")),
        )
    (config / "configurations").mkdir(exist_ok=True)
    (config / "configurations" / "config_default").write_text(f"[core]\naccount = {account}\n")
    (config / "active_config").write_text("default")


def environment(emulator: Emulator, home: Path, *, login: bool) -> dict[str, str]:
    """The bench's environment: a token file, or (`login`) a fake gcloud login."""
    token = home / "token"
    token.write_text("bench-token\n")
    if login:
        fake_login(home / "gcloud", "bench@example.com")
    auth = {} if login else {"CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": str(token)}
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONPATH": str(ROOT),
        "CLOUDSDK_CONFIG": str(home / "gcloud"),
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
        "GCE_METADATA_HOST": "127.0.0.1:9",
        "NO_GCE_CHECK": "True",
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": emulator.url,
        "CLOUDSDK_CORE_PROJECT": PROJECT,
        "CLOUDSDK_AI_REGION": REGION,
        **auth,
    }


def timed(argv: Sequence[str], environ: Mapping[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=dict(environ), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
    return elapsed


IMPORT_PROBE = (
    "import time; t = time.perf_counter(); from prgcloud import sdk; "
    "sdk.import_client_class(fast={fast}); print(time.perf_counter() - t)"
)


def import_seconds(fast: bool, environ: Mapping[str, str], rounds: int) -> float:
    """Median in-process time to import the client, each in a fresh interpreter."""
    samples = []
    for _ in range(rounds):
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE.format(fast=fast)],
            env=dict(environ),
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(done.stdout))
    return statistics.median(samples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--auth",
        choices=("token-file", "login"),
        default="token-file",
        help="token-file: CLOUDSDK_AUTH_ACCESS_TOKEN_FILE; login: a (fake, offline) gcloud login",
    )
    options = parser.parse_args(argv)

    runs = commands(login=options.auth == "login")
    times: dict[str, list[float]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory(prefix="prgcloud-bench-") as home, Emulator() as emulator:
        emulator.add_persistent_resource(
            PROJECT,
            REGION,
            RESOURCE,
            {
                "resourcePools": [
                    {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "100000"}
                ]
            },
        )
        environ = environment(emulator, Path(home), login=options.auth == "login")
        order = list(runs)
        for round_number in range(options.warmup + options.rounds):
            random.shuffle(order)
            for name in order:
                command, extra = runs[name]
                elapsed = timed(command, {**environ, **extra})
                if round_number >= options.warmup:
                    times[name].append(elapsed)
        imports = {
            "fast": import_seconds(True, environ, 7),
            "normal": import_seconds(False, environ, 7),
        }

    raw = times["gcloud"]
    figures = {
        name: {
            "median_s": statistics.median(samples),
            "ratio_to_gcloud": statistics.median(s / g for s, g in zip(samples, raw, strict=True)),
        }
        for name, samples in times.items()
    }
    shim_overhead = statistics.median(
        s - r for s, r in zip(times["shim-config-list"], times["config-list"], strict=True)
    )
    if options.json:
        document = {
            "rounds": options.rounds,
            "auth": options.auth,
            "runs": figures,
            "shim_overhead_s": shim_overhead,
        }
        print(json.dumps({**document, "import_s": imports}, indent=2))
        return 0
    print(
        f"{options.rounds} paired rounds (+{options.warmup} warm-up), emulator at loopback, "
        f"auth: {options.auth}"
    )
    print(f"{'command':<15} {'median':>8} {'x gcloud':>9}")
    for name, figure in figures.items():
        print(f"{name:<15} {figure['median_s']:>7.3f}s {figure['ratio_to_gcloud']:>8.2f}x")
    print(f"client import in-process: fast {imports['fast']:.3f}s, normal {imports['normal']:.3f}s")
    print(f"shim pass-through overhead (median paired difference): {shim_overhead * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
