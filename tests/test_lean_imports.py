"""A dry run imports only what its input needs: PyYAML for YAML files, jsonschema to word the
errors of invalid input, never the SDK, `sh` or the modules that send a job.

Each case runs the real CLI in a fresh interpreter, since what is at stake is the import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a dry run has no use for: the libraries that read YAML, word schema errors, start
# processes or talk to Vertex AI, and prgcloud's own modules that send a job. (`google`
# itself is always there: the SDK's namespace-package .pth file creates it.)
HEAVY = (
    "jsonschema",
    "yaml",
    "sh",
    "google.auth",
    "google.api_core",
    "google.cloud.aiplatform",
    "proto",
    "requests",
    "prgcloud.precheck",
    "prgcloud.submission",
    "prgcloud.waiting",
)
PROBE = f"""
import json, sys
from prgcloud import cli
status = cli.main(sys.argv[1:])
heavy = sorted({{h for h in {HEAVY!r} for m in sys.modules if m == h or m.startswith(h + ".")}})
sys.stderr.write("\\n" + json.dumps({{"status": status, "imported": heavy}}) + "\\n")
"""
CREATE = [
    "ai",
    "custom-jobs",
    "create",
    "--project=p",
    "--region=us-central1",
    "--display-name=d",
    "--persistent-resource-id=pr",
    "--dry-run",
    "--skip-precheck",
]
POOL = "--worker-pool-spec=machine-type=n1,replica-count=2,container-image-uri=gcr.io/p/i"
CONFIG = """\
workerPoolSpecs:
- machineSpec: {machineType: n1-standard-4}
  replicaCount: 1
  containerSpec: {imageUri: gcr.io/p/i}
"""


def imported(argv: list[str], cwd: Path) -> tuple[int, list[str]]:
    """(exit status, the heavy packages imported) of `prgcloud ARGV`, run in-process."""
    (cwd / "job.yaml").write_text(CONFIG)
    (cwd / "flags.yaml").write_text(f"--worker-pool-spec: {POOL.partition('=')[2]}\n")
    environ = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(cwd),
        "CLOUDSDK_CONFIG": str(cwd / "gcloud"),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stderr.splitlines()[-1])
    return report["status"], report["imported"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param([*CREATE, POOL], (0, []), id="valid-flags-import-nothing-heavy"),
        pytest.param(
            [*CREATE, POOL, f"{POOL},disk-type=pd-ssd"], (0, ["yaml"]), id="generated-config"
        ),
        pytest.param([*CREATE, "--config=job.yaml"], (0, ["yaml"]), id="config-file"),
        pytest.param([*CREATE, "--flags-file=flags.yaml"], (0, ["yaml"]), id="flags-file"),
        pytest.param(
            [*CREATE, POOL.replace("replica-count=2", "replica-count=0")],
            (2, ["jsonschema"]),
            id="invalid-pool-words-its-errors-with-jsonschema",
        ),
    ],
)
def test_a_dry_run_imports_only_what_its_input_needs(
    tmp_path: Path, argv: list[str], expected: tuple[int, list[str]]
) -> None:
    assert imported(argv, tmp_path) == expected
