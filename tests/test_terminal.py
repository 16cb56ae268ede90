"""prgcloud in a terminal, as people run it: gcloud gets the user's terminal, as raw gcloud does.

Each command runs on a pseudo-terminal (tests/terminal.py) against the emulator. The "gcloud"
is a probe that writes down what it sees of its terminal and asks a question on it, or the
real gcloud, whose colours are compared with raw gcloud's on the same terminal.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from terminal import Terminal

from prgcloud.emulator import Emulator

REPO = Path(__file__).resolve().parent.parent
SHIM = REPO / "bin" / "gcloud"
REAL_GCLOUD = shutil.which("gcloud", path=os.defpath + os.pathsep + "/usr/lib/google-cloud-sdk/bin")
PROJECT, REGION, RID = "p1", "us-central1", "pr1"
CREATE = [
    "ai",
    "custom-jobs",
    "create",
    f"--project={PROJECT}",
    f"--region={REGION}",
    "--display-name=train",
    f"--persistent-resource-id={RID}",
    "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p1/t",
]

# A stand-in for gcloud: what it sees of its terminal, then a question asked on it, as
# gcloud's prompts do (on stderr, the answer read from stdin).
PROBE = """#!{python}
import json, os, sys
seen = {{
    "isatty": [os.isatty(fd) for fd in (0, 1, 2)],
    "foreground": os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp(),
    "columns": os.get_terminal_size(2).columns if os.isatty(2) else None,
    "TERM": os.environ.get("TERM"),
}}
sys.stderr.write("Do you want to continue (Y/n)?  ")
sys.stderr.flush()
seen["answer"] = sys.stdin.readline().strip()
with open(os.environ["PROBE_LOG"], "w") as f:
    json.dump(seen, f)
print("probe done")
"""


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    path = tmp_path / "probe-bin" / "gcloud"
    path.parent.mkdir()
    path.write_text(PROBE.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def pool(used: int) -> dict[str, Any]:
    return {
        "resourcePools": [
            {
                "id": "cpu",
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": "1",
                "usedReplicaCount": str(used),
            }
        ]
    }


@pytest.fixture
def env(clean_emulator: Emulator, gcloud_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """gcloud's environment against the emulator, as a terminal has it (TERM set)."""
    return {**gcloud_env, "TERM": "xterm-256color", "PROBE_LOG": str(tmp_path / "probe.json")}


def prgcloud_argv(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "prgcloud", *argv]


def shim_argv(argv: list[str]) -> list[str]:
    return [str(SHIM), *argv]


def library_argv(argv: list[str]) -> list[str]:
    program = (
        "import sys, prgcloud; sys.exit(prgcloud.submit(prgcloud.request_from_argv(sys.argv[4:])))"
    )
    return [sys.executable, "-c", program, *argv]


WAYS = [
    pytest.param(prgcloud_argv, id="prgcloud"),
    pytest.param(shim_argv, id="gcloud-shim"),
    pytest.param(library_argv, id="prgcloud.submit"),
]


def seen_by_gcloud(
    argv: list[str], env: dict[str, str], tmp_path: Path, *, answer: str = "n"
) -> tuple[dict[str, Any], int, str]:
    """Run argv on a terminal, answer the probe's question; what the probe saw, exit, text."""
    with Terminal(argv, env, cwd=tmp_path) as terminal:
        terminal.wait_for_text("Do you want to continue (Y/n)?")
        terminal.type(answer + "\r")  # Enter
        status = terminal.wait()
        text = terminal.text
    seen: dict[str, Any] = json.loads(Path(env["PROBE_LOG"]).read_text())
    return seen, status, text


@pytest.mark.parametrize("way", WAYS)
def test_gcloud_sees_the_users_terminal_after_a_passing_pre_check(
    way: Callable[[list[str]], list[str]],
    clean_emulator: Emulator,
    env: dict[str, str],
    probe: Path,
    tmp_path: Path,
) -> None:
    clean_emulator.add_persistent_resource(PROJECT, REGION, RID, pool(used=0))
    raw, raw_status, _ = seen_by_gcloud([str(probe), *CREATE], env, tmp_path)
    assert raw_status == 0
    assert raw["isatty"] == [True, True, True]
    assert raw["foreground"] is True

    env = {**env, "PRGCLOUD_GCLOUD": str(probe)}
    seen, status, text = seen_by_gcloud(way(CREATE), env, tmp_path, answer="yes")
    assert status == 0, text
    assert "Traceback" not in text
    assert "probe done" in text
    # the same terminal, size and all; it is gcloud's foreground, and the answer typed reaches it
    assert seen == {**raw, "answer": "yes"}


def test_a_submission_after_a_whole_wait_for_capacity_still_gets_the_terminal(
    clean_emulator: Emulator, env: dict[str, str], probe: Path, tmp_path: Path
) -> None:
    clean_emulator.add_persistent_resource(PROJECT, REGION, RID, pool(used=1))
    env = {**env, "PRGCLOUD_GCLOUD": str(probe)}
    argv = prgcloud_argv([*CREATE, "--wait-for-capacity=2m"])
    with Terminal(argv, env, cwd=tmp_path) as terminal:
        terminal.wait_for_text("waiting for capacity")
        clean_emulator.set_used_replicas(Emulator.resource_name(PROJECT, REGION, RID), "cpu", 0)
        terminal.wait_for_text("Do you want to continue (Y/n)?")
        terminal.type("y\r")
        status = terminal.wait()
        text = terminal.text
    assert status == 0, text
    assert "Traceback" not in text
    seen = json.loads(Path(env["PROBE_LOG"]).read_text())
    assert seen["isatty"] == [True, True, True]
    assert seen["answer"] == "y"


@pytest.mark.parametrize("way", WAYS)
def test_gcloud_reads_the_users_stdin_when_it_is_not_a_terminal(
    way: Callable[[list[str]], list[str]],
    clean_emulator: Emulator,
    env: dict[str, str],
    probe: Path,
    tmp_path: Path,
) -> None:
    clean_emulator.add_persistent_resource(PROJECT, REGION, RID, pool(used=0))
    result = subprocess.run(
        way(CREATE),
        env={**env, "PRGCLOUD_GCLOUD": str(probe)},
        cwd=tmp_path,
        input="from a pipe\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(Path(env["PROBE_LOG"]).read_text())
    assert seen["isatty"] == [False, False, False]
    assert seen["answer"] == "from a pipe"


needs_gcloud = pytest.mark.skipif(
    REAL_GCLOUD is None, reason="the Google Cloud CLI is not installed"
)


def real_gcloud_env(env: dict[str, str]) -> dict[str, str]:
    assert REAL_GCLOUD is not None
    return {**env, "PATH": os.pathsep.join([str(Path(REAL_GCLOUD).parent), "/usr/bin", "/bin"])}


@needs_gcloud
def test_the_real_gcloud_on_a_terminal_submits_after_the_pre_check(
    clean_emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    clean_emulator.add_persistent_resource(PROJECT, REGION, RID, pool(used=0))
    with Terminal(prgcloud_argv(CREATE), real_gcloud_env(env), cwd=tmp_path) as terminal:
        status = terminal.wait()
        text = terminal.text
    assert status == 0, text
    assert "Traceback" not in text
    assert "is submitted successfully" in text
    assert [job["displayName"] for job in clean_emulator.custom_jobs(PROJECT, REGION)] == ["train"]


@needs_gcloud
def test_the_real_gcloud_on_a_terminal_colours_its_errors_as_without_prgcloud(
    clean_emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    # No such resource, and no pre-check: gcloud itself says so, in red on a terminal.
    env = real_gcloud_env(env)
    with Terminal([str(REAL_GCLOUD), *CREATE], env, cwd=tmp_path) as terminal:
        raw_status = terminal.wait()
        raw = terminal.raw
    with Terminal(prgcloud_argv([*CREATE, "--skip-precheck"]), env, cwd=tmp_path) as terminal:
        status = terminal.wait()
        shown = terminal.raw
    assert b"\x1b[1;31mERROR:\x1b[0m (gcloud.ai.custom-jobs.create) NOT_FOUND" in raw
    assert (status, shown) == (raw_status, raw)
