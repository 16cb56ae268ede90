"""demo/first-run.sh, run as a newcomer runs it: in a terminal, exit 0, under two minutes, the
story it tells.

It runs on a pseudo-terminal (tests/terminal.py), so prgcloud and gcloud write to a terminal
as they do for a newcomer; the tests read the transcript. It starts a real emulator process
and runs the real gcloud, so it runs only where both exist (and the checkout's .venv, so that
it never installs from the network in a test).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from terminal import Terminal

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "demo" / "first-run.sh"


def _real_gcloud() -> str | None:
    path = os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if Path(d or ".") != REPO / "bin"
    )
    return shutil.which("gcloud", path=path)


pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("prgcloud.emulator") is None, reason="the emulator is not here"
    ),
    pytest.mark.skipif(_real_gcloud() is None, reason="the Google Cloud CLI is not installed"),
    pytest.mark.skipif(
        not (REPO / ".venv" / "bin" / "prgcloud").exists(),
        reason="the checkout's .venv is not installed (the demo would install it)",
    ),
]


@dataclass(frozen=True)
class FirstRun:
    """One run of the demo in a terminal: its exit status, its transcript, how long it took,
    and the TMPDIR it ran with."""

    status: int
    text: str
    seconds: float
    tmpdir: Path


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    tmpdir = tmp_path_factory.mktemp("first-run")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDSDK_", "PRGCLOUD_"))}
    env["TMPDIR"] = str(tmpdir)
    env["TERM"] = "xterm-256color"
    # The developer's own gcloud settings must not matter: the demo brings its own.
    env["CLOUDSDK_CORE_PROJECT"] = "not-the-demos"
    started = time.monotonic()
    with Terminal(["bash", str(SCRIPT)], env, cwd=tmpdir) as terminal:
        status = terminal.wait(timeout=180)
        text = terminal.text
    return FirstRun(status, text, time.monotonic() - started, tmpdir)


def test_the_first_run_succeeds(first_run: FirstRun) -> None:
    assert first_run.status == 0, first_run.text
    assert "Traceback" not in first_run.text


def test_the_first_run_tells_the_story_step_by_step(first_run: FirstRun) -> None:
    out = first_run.text
    steps = re.findall(r"^==> Step (\d+): ", out, re.MULTILINE)
    assert steps == [str(n) for n in range(1, len(steps) + 1)]
    assert len(steps) >= 8
    # every command it runs is shown first
    for command in (
        "$ prgcloud ai persistent-resources create",
        "--wait=2m",
        "$ prgcloud ai persistent-resources capacity demo-cluster",
        "$ prgcloud ai custom-jobs create",
        "--wait-for-capacity=2m",
    ):
        assert command in out
    # two pools, created through the real gcloud
    assert out.count("--resource-pool-spec=") == 2
    assert "RUNNING" in out


def test_the_job_that_does_not_fit_is_refused_with_the_reason(first_run: FirstRun) -> None:
    text = first_run.text
    assert text.count("exit status 3") == 2  # prgcloud, then gcloud through the shim
    reason = "differs in: diskSpec.bootDiskType asked 'pd-standard', offered 'pd-ssd'"
    assert text.count(reason) == 2
    assert "Fix: in worker pool 0, set disk-type=pd-ssd." in text


def test_capacity_shows_the_gpu_pool_free_then_busy(first_run: FirstRun) -> None:
    gpu_rows = re.findall(
        r"^\s+\S+\s+a2-highgpu-1g\s+1 x NVIDIA_TESLA_A100\s+pd-ssd 200 GB\s+(\d+)\s+(\d+)\s+(\d+)$",
        first_run.text,
        re.MULTILINE,
    )
    assert gpu_rows == [("2", "0", "2"), ("2", "2", "0")]


def test_the_waiting_job_starts_when_the_first_one_finishes_and_is_waited_to_its_end(
    first_run: FirstRun,
) -> None:
    text = first_run.text
    assert "waiting for capacity" in text
    submitted = re.findall(r"^CustomJob \[\S+\] is submitted successfully", text, re.M)
    assert len(submitted) == 2  # train-llm, finetune-llm
    waited = re.search(r"prgcloud waited, then submitted it, then waited .*: (\d+) s in all", text)
    assert waited is not None
    assert 10 <= int(waited.group(1)) <= 90
    assert re.search(r"^Custom job \[\S+\] ended SUCCEEDED\.", text, re.MULTILINE)
    jobs = dict(re.findall(r"^(\S+-llm)\s+(JOB_STATE_\w+)$", text, re.MULTILINE))
    assert jobs["train-llm"] == "JOB_STATE_SUCCEEDED"
    assert jobs["finetune-llm"] == "JOB_STATE_SUCCEEDED"  # --wait waited for its end
    assert set(jobs) == {"train-llm", "finetune-llm"}


def test_the_first_run_leaves_nothing_behind(first_run: FirstRun) -> None:
    assert "First run complete." in first_run.text
    assert "(emulator stopped)" in first_run.text
    assert list(first_run.tmpdir.iterdir()) == []
    url = re.search(r"emulator listening on (http://\S+/) ", first_run.text)
    assert url is not None
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url.group(1)}emulator/health", timeout=2)


def test_closing_the_terminal_mid_demo_stops_everything_and_removes_everything(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDSDK_", "PRGCLOUD_"))}
    env["TMPDIR"] = str(tmp_path)
    with Terminal(["bash", str(SCRIPT)], env, cwd=tmp_path) as terminal:
        # the first submission: prgcloud starting, pre-checking, or gcloud sending
        terminal.wait_for_text("$ prgcloud ai custom-jobs create")
        url = re.search(r"emulator listening on (http://\S+/) ", terminal.text)
        # What a terminal's shell does when the window closes: SIGHUP to its foreground job.
        os.killpg(terminal.process.pid, signal.SIGHUP)
        terminal.hang_up()
        status = terminal.wait()
        assert terminal.session() == []
    assert status == 129
    assert list(tmp_path.iterdir()) == []
    assert url is not None
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url.group(1)}emulator/health", timeout=2)
