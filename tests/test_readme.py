"""The README's promises that can be run, run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
