"""What prgcloud costs over raw gcloud: every figure from one run, paired rounds, medians.

    .venv/bin/python bench/run.py [--rounds N] [--warmup N] [--auth token-file|login]
                                  [--emulator-jobs N] [--json]

Each round runs every command once, in a shuffled order, against one in-process emulator:

    python          `python -c pass`: the interpreter alone, the floor of any command
    gcloud          raw `gcloud ai custom-jobs create ...`, the yardstick
    create          `prgcloud ai custom-jobs create ...` (gcloud starts at once, held
                    on its flags-file pipe while the pre-check runs)
    create-serial   `create --wait-for-capacity=10m`: the same job, the pre-check first
                    and gcloud after it (a wait is never overlapped); the job fits at once
    create-skip     `create --skip-precheck` (prgcloud without the pre-check)
    dry-run         `create --dry-run --skip-precheck` (no gcloud, no SDK)
    check           `prgcloud ai custom-jobs check ...` (parse + pre-check, no gcloud)
    create-normal   `create` with the SDK's normal import (PRGCLOUD_SDK_IMPORT=normal)
    sdk-submit      the reference row: the same job sent the seed's way, with
                    `aiplatform.CustomJob(...).submit()` (google-cloud-aiplatform); the code
                    is the one `--dry-run=python` prints
    config-list     raw `gcloud config list`
    shim-config-list  the same through bin/gcloud (the PATH shim passes it through)
    create-no-cache `create` asking `gcloud auth print-access-token` (with --auth=login)

For each it prints the median wall time, the median of its per-round ratio to raw gcloud,
and the median CPU time (user + system, of the process and every process it waited for):
on a loaded machine, the CPU time is roughly what the wall time would be on an idle core.
Then figures measured inside fresh interpreters: importing the SDK's client the fast way
and the normal way, and validating a valid `--worker-pool-spec` (schemas not yet loaded).
Last, the emulator with `--emulator-jobs` running jobs stored (bench/emulator.py). The
machine's load average is printed at the start and at the end: figures taken under load
are only comparable with figures taken under the same load.

The commands run prgcloud from this checkout, compiled first (these machines may set
PYTHONDONTWRITEBYTECODE, and recompiling on every run is no cost a user pays). A figure-
printing program, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import datetime
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.emulator import describe, measure  # noqa: E402 - after the path is set
from prgcloud import api  # noqa: E402
from prgcloud.emulator import Emulator  # noqa: E402

PROJECT, REGION, RESOURCE = "bench", "us-central1", "bench-pool"
JOB_ARGS = [
    "--display-name=bench",
    "--worker-pool-spec=machine-type=n1-standard-4,replica-count=1,"
    "container-image-uri=us-docker.pkg.dev/bench/r/trainer:1",
    f"--persistent-resource-id={RESOURCE}",
]
# What each row is, and its target where the issue set one.
ROWS = {
    "python": "python -c pass (the interpreter alone)",
    "gcloud": "raw gcloud ai custom-jobs create",
    "create": "prgcloud create (pre-check + submit); target <= 1.3x",
    "create-serial": "create, pre-check then gcloud (--wait-for-capacity)",
    "create-skip": "create --skip-precheck",
    "dry-run": "create --dry-run --skip-precheck; target <= 0.08 s",
    "check": "prgcloud ai custom-jobs check",
    "create-normal": "create with the SDK's normal import",
    "sdk-submit": "reference: aiplatform.CustomJob(...).submit()",
    "config-list": "raw gcloud config list",
    "shim-config-list": "gcloud config list through the shim",
    "create-no-cache": "create, token from gcloud auth print-access-token",
}
# The SDK finds credentials with google.auth.default(); here they are the bench's token, as
# a user's cached credentials would be (nothing to refresh, nothing to ask a server).
SDK_CREDENTIALS = """\
import runpy, sys, google.auth, google.oauth2.credentials
token = open(sys.argv[2], encoding="utf-8").read().strip()
credentials = google.oauth2.credentials.Credentials(token)
google.auth.default = lambda *args, **kwargs: (credentials, None)
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def commands(home: Path, *, login: bool) -> dict[str, tuple[list[str], dict[str, str]]]:
    """name -> (argv, extra environment)."""
    prgcloud = [sys.executable, "-m", "prgcloud"]
    create = ["ai", "custom-jobs", "create", *JOB_ARGS]
    runs = {
        "python": ([sys.executable, "-c", "pass"], {}),
        "gcloud": (["gcloud", *create], {}),
        "create": ([*prgcloud, *create], {}),
        "create-serial": ([*prgcloud, *create, "--wait-for-capacity=10m"], {}),
        "create-skip": ([*prgcloud, *create, "--skip-precheck"], {}),
        "dry-run": ([*prgcloud, *create, "--dry-run", "--skip-precheck"], {}),
        "check": ([*prgcloud, "ai", "custom-jobs", "check", *JOB_ARGS], {}),
        "create-normal": ([*prgcloud, *create], {"PRGCLOUD_SDK_IMPORT": "normal"}),
        "sdk-submit": (
            [
                sys.executable,
                str(home / "credentials.py"),
                str(home / "submit.py"),
                str(home / "token"),
            ],
            {},
        ),
        "config-list": (["gcloud", "config", "list"], {}),
        "shim-config-list": ([str(ROOT / "bin" / "gcloud"), "config", "list"], {}),
    }
    if login:
        runs["create-no-cache"] = ([*prgcloud, *create], {"PRGCLOUD_TOKEN_CACHE": "off"})
    return runs


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


def write_sdk_submit(home: Path, environ: Mapping[str, str]) -> None:
    """The reference row's program: `--dry-run=python`'s code for the bench job, and the
    credentials it runs with."""
    request = api.request_from_argv([*JOB_ARGS, "--skip-precheck"], environ=environ, cwd=str(home))
    (home / "submit.py").write_text(api.dry_run(request, "python"), encoding="utf-8")
    (home / "credentials.py").write_text(SDK_CREDENTIALS, encoding="utf-8")


def timed(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `argv`, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=dict(environ), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


IMPORT_PROBE = (
    "import time; t = time.perf_counter(); from prgcloud import sdk; "
    "sdk.import_client_class(fast={fast}); print(time.perf_counter() - t)"
)
# Validation as parsing runs it: the schemas are loaded (not yet cached) and the pool checked.
VALIDATE_PROBE = (
    "import time; from prgcloud import job; t = time.perf_counter(); "
    "pool = job.parse_flag_pool('machine-type=n1-standard-4,replica-count=2,"
    "container-image-uri=us-docker.pkg.dev/bench/r/trainer:1'); "
    "problems = job.check_flag_pools([pool], 'v1', lambda path: False); "
    "spent = time.perf_counter() - t; assert not problems, problems; print(spent)"
)


def probe_seconds(program: str, environ: Mapping[str, str], rounds: int) -> float:
    """Median of the seconds `program` prints, each run in a fresh interpreter."""
    samples = []
    for _ in range(rounds):
        done = subprocess.run(
            [sys.executable, "-c", program],
            env=dict(environ),
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(done.stdout))
    return statistics.median(samples)


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run every command in paired rounds, then the in-process and emulator figures."""
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
    parser.add_argument(
        "--emulator-jobs",
        type=int,
        default=3000,
        help="running jobs stored for the emulator's figures (issue target: 3,000)",
    )
    options = parser.parse_args(argv)
    login = options.auth == "login"
    probes = max(1, min(7, options.rounds))

    compileall.compile_dir(ROOT / "prgcloud", quiet=1)
    load_at_start = load_average()
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
        environ = environment(emulator, Path(home), login=login)
        write_sdk_submit(Path(home), environ)
        runs = commands(Path(home), login=login)
        wall: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        order = list(runs)
        for round_number in range(options.warmup + options.rounds):
            random.shuffle(order)
            for name in order:
                command, extra = runs[name]
                elapsed, used = timed(command, {**environ, **extra})
                if round_number >= options.warmup:
                    wall[name].append(elapsed)
                    cpu[name].append(used)
        in_process = {
            "client_import_fast_s": probe_seconds(IMPORT_PROBE.format(fast=True), environ, probes),
            "client_import_normal_s": probe_seconds(
                IMPORT_PROBE.format(fast=False), environ, probes
            ),
            "validate_valid_pool_s": probe_seconds(VALIDATE_PROBE, environ, probes),
        }
    emulator_jobs = options.emulator_jobs
    emulator_figures = measure(
        emulator_jobs,
        clients=8,
        creates=min(800, max(emulator_jobs, 80)),
        rounds=400,
        data_dir=None,
    )
    load_at_end = load_average()

    raw = wall["gcloud"]
    figures = {
        name: {
            "median_s": statistics.median(samples),
            "ratio_to_gcloud": statistics.median(s / g for s, g in zip(samples, raw, strict=True)),
            "cpu_s": statistics.median(cpu[name]),
        }
        for name, samples in wall.items()
    }
    shim_overhead = statistics.median(
        s - r for s, r in zip(wall["shim-config-list"], wall["config-list"], strict=True)
    )
    document: dict[str, Any] = {
        "rounds": options.rounds,
        "warmup": options.warmup,
        "auth": options.auth,
        "load_average": {"start": load_at_start, "end": load_at_end},
        "runs": figures,
        "shim_overhead_s": shim_overhead,
        "in_process": in_process,
        "emulator": emulator_figures,
    }
    print(json.dumps(document, indent=2) if options.json else "\n".join(report(document)))
    return 0


def report(document: Mapping[str, Any]) -> list[str]:
    """The figures as a table for people."""
    load = document["load_average"]
    lines = [
        f"{document['rounds']} paired rounds (+{document['warmup']} warm-up), emulator at "
        f"loopback, auth: {document['auth']}",
        f"load average (1, 5, 15 min) at start: {load['start']}, at end: {load['end']}",
        f"{'command':<17} {'median':>8} {'x gcloud':>9} {'CPU':>8}  what",
    ]
    for name, figure in document["runs"].items():
        lines.append(
            f"{name:<17} {figure['median_s']:>7.3f}s {figure['ratio_to_gcloud']:>8.2f}x "
            f"{figure['cpu_s']:>7.3f}s  {ROWS[name]}"
        )
    in_process = document["in_process"]
    lines += [
        f"shim pass-through overhead (median paired difference): "
        f"{document['shim_overhead_s'] * 1000:.0f} ms (target < 50 ms)",
        f"client import in-process: fast {in_process['client_import_fast_s']:.3f}s, "
        f"normal {in_process['client_import_normal_s']:.3f}s",
        f"validating a valid --worker-pool-spec in-process (schemas loaded cold): "
        f"{in_process['validate_valid_pool_s'] * 1000:.2f} ms (target <= 5 ms)",
        *describe(document["emulator"]),
        "  (targets with 3,000 jobs: GET median <= 5 ms, >= 300 creates/s from 8 clients)",
    ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
