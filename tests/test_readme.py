"""The README's promises that can be run, run."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from prgcloud.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_the_readme_starts_with_exactly_the_two_set_up_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["bash demo/first-run.sh", "bash scripts/test.sh"]


def test_ci_runs_the_readmes_test_command() -> None:
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_the_library_example_runs_as_written(tmp_path: Path) -> None:
    example = re.search(r"```python\n(.*?)```", README, re.DOTALL)
    assert example is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSDK_")}
    env["CLOUDSDK_CONFIG"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", example.group(1)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/" in result.stdout
    assert "'bootDiskType': 'pd-ssd'" in result.stdout
    assert "gcloud ai custom-jobs create" in result.stdout


# --- "The first run, against a real project", run against the emulator ---------------------

FIRST_RUN_HEADING = "### The first run, against a real project"
PROJECT = "demo-project"
REGION = "us-central1"


@dataclass(frozen=True)
class Step:
    """One command of a README block, with what its comment claims."""

    command: str
    comment: str

    @property
    def status(self) -> int:
        """The exit status the comment claims: `# exit N`, else 0."""
        claimed = re.search(r"\bexit (\d+)", self.comment)
        return int(claimed.group(1)) if claimed else 0

    @property
    def waits(self) -> bool:
        """`--wait-for-capacity`, or `persistent-resources create --wait`."""
        return "--wait" in self.command


def readme_block(heading: str) -> str:
    """The first ```sh block after `heading`."""
    start = README.index(heading)
    block = re.search(r"```sh\n(.*?)```", README[start:], re.DOTALL)
    assert block is not None, f"no sh block under {heading!r}"
    return block.group(1)


def steps(block: str) -> tuple[list[str], list[Step]]:
    """(the variable assignments, the commands) of a block, continuation lines joined."""
    assignments: list[str] = []
    commands: list[Step] = []
    for line in re.sub(r"\\\n\s*", "", block).splitlines():
        parts = re.split(r"\s+#\s", line, maxsplit=1)
        command, comment = parts[0].strip(), (parts[1] if len(parts) > 1 else "")
        if not command:
            continue
        if re.match(r"^[A-Z_]+=", command):
            assignments.append(command)
        else:
            commands.append(Step(command, comment))
    return assignments, commands


def first_line(stream: IO[str]) -> str:
    """The first line a child writes on `stream`, or '' if it ends first; never hangs."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    return lines.get(timeout=300)


def lines_until(stream: IO[str], text: str) -> str:
    """What a child writes on `stream` up to the first line holding `text` (or its end)."""
    seen = []
    while True:
        line = first_line(stream)
        seen.append(line)
        if text in line or not line:
            return "".join(seen)


@pytest.mark.gcloud
def test_the_first_run_block_does_what_its_comments_say(
    clean_emulator: Emulator, gcloud_env: dict[str, str], tmp_path: Path
) -> None:
    # Real machines take minutes: the emulator's clock is moved on by hand while prgcloud waits.
    clean_emulator.configure(provision_seconds=600.0, job_duration=1800.0)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "prgcloud").symlink_to(ROOT / "bin" / "prgcloud")
    env = {**gcloud_env, "PATH": f"{bin_dir}{os.pathsep}{gcloud_env['PATH']}"}
    for prop, value in (("project", PROJECT), ("ai/region", REGION)):  # as the text says
        subprocess.run(["gcloud", "config", "set", prop, value], env=env, check=True, timeout=120)

    assignments, commands = steps(readme_block(FIRST_RUN_HEADING))
    assert [c.status for c in commands] == [0, 0, 0, 3, 0, 0]
    for step in commands:
        script = "\n".join([*assignments, step.command])
        with subprocess.Popen(
            ["bash", "-c", script],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stderr is not None
            said = ""
            if step.waits:
                said = lines_until(child.stderr, "waiting for")  # it waits: move time on
                assert "waiting for" in said, said
                clean_emulator.advance(3600.0)
            out, err = child.communicate(timeout=300)
        err = said + err
        assert child.returncode == step.status, f"{step.command}\n{err}"
        assert "WARNING" not in err, err  # e.g. pool 0 asking for more than one replica
        if "PROVISIONING" in step.comment:
            assert "PROVISIONING" in out
        if "fits" in step.comment:
            assert "prgcloud: checked against " in err
            assert ": fits (" in err
        if "disk differs" in step.comment:
            assert "bootDiskType" in err or "disk" in err

    jobs = {job["displayName"]: job for job in clean_emulator.custom_jobs(PROJECT, REGION)}
    assert set(jobs) == {"train-llm", "finetune-llm"}  # eval-llm was never sent
    assert jobs["train-llm"]["state"] == "JOB_STATE_SUCCEEDED"
    assert jobs["finetune-llm"]["createTime"] >= jobs["train-llm"]["endTime"]


def test_the_shim_block_puts_the_shim_first_on_path(tmp_path: Path) -> None:
    block = readme_block("### Existing runbooks, unchanged: the gcloud shim")
    eval_line = block.splitlines()[0].split("#")[0].strip()
    assert eval_line == 'eval "$(prgcloud shim-path --export)"'
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "prgcloud").symlink_to(ROOT / "bin" / "prgcloud")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-c", f"{eval_line}\ncommand -v gcloud"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == str((ROOT / "bin" / "gcloud").resolve())


@pytest.mark.gcloud
def test_the_tuning_block_does_what_its_comments_say(
    clean_emulator: Emulator, gcloud_env: dict[str, str], tmp_path: Path
) -> None:
    # Real machines take minutes: the emulator's clock is moved on by hand while prgcloud waits.
    clean_emulator.configure(provision_seconds=600.0, job_duration=1800.0)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "prgcloud").symlink_to(ROOT / "bin" / "prgcloud")
    env = {
        **gcloud_env,
        "PATH": f"{bin_dir}{os.pathsep}{gcloud_env['PATH']}",
        "CLOUDSDK_CORE_PROJECT": PROJECT,
        "CLOUDSDK_AI_REGION": REGION,
    }
    assignments, commands = steps(readme_block("### Tuning on a persistent resource"))
    assert [c.status for c in commands] == [0, 0, 0, 3]
    for step in commands:
        script = "\n".join([*assignments, step.command])
        with subprocess.Popen(
            ["bash", "-c", script],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stderr is not None
            said = ""
            if step.waits:
                said = first_line(child.stderr)  # the wait has begun: move time on
                assert "waiting for capacity" in said, said
                clean_emulator.advance(3600.0)
            out, err = child.communicate(timeout=300)
        err = said + err
        assert child.returncode == step.status, f"{step.command}\n{err}"
        if "warns" in step.comment:
            assert "at most 2 trials run at once" in err
            assert "submitted successfully" in err
            clean_emulator.advance(4 * 3600.0)  # the tuning job ends: its replicas are free again
        if "fits" in step.comment:
            assert '"checked": true' in out
