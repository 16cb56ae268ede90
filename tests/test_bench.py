"""bench/run.py runs end to end and reports every figure; what the figures are is not tested.

One short run (one round, a small emulator) against the real gcloud and the real SDK.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROWS = [
    "python",
    "gcloud",
    "create",
    "create-serial",
    "create-skip",
    "dry-run",
    "check",
    "create-normal",
    "sdk-submit",
    "config-list",
    "shim-config-list",
]


def bench_module() -> ModuleType:
    """bench/run.py as a module (it puts the checkout on sys.path; that is undone)."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    path = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = path
    return module


@pytest.fixture(scope="module")
def one_run() -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--rounds=1",
            "--warmup=0",
            "--emulator-jobs=20",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


@pytest.mark.gcloud
def test_one_run_reports_every_row_with_its_ratio_to_gcloud(one_run: dict[str, Any]) -> None:
    runs = one_run["runs"]

    assert list(runs) == ROWS
    assert all(
        set(figure) == {"median_s", "ratio_to_gcloud", "cpu_s"} and figure["median_s"] > 0
        for figure in runs.values()
    )
    assert runs["gcloud"]["ratio_to_gcloud"] == 1.0


@pytest.mark.gcloud
def test_one_run_reports_the_load_the_in_process_and_the_emulator_figures(
    one_run: dict[str, Any],
) -> None:
    assert [len(one_run["load_average"][when]) for when in ("start", "end")] == [3, 3]
    assert set(one_run["in_process"]) == {
        "client_import_fast_s",
        "client_import_normal_s",
        "validate_valid_pool_s",
    }
    emulator = one_run["emulator"]
    assert (emulator["jobs"], emulator["used_replicas"]) == (20, 20)
    assert set(emulator["requests"]) == {"GET resource", "GET job", "LIST jobs (100)"}
    assert emulator["creates_per_s"] > 0


@pytest.mark.gcloud
def test_the_text_report_names_every_row(one_run: dict[str, Any]) -> None:
    lines = bench_module().report(one_run)

    assert [line.split()[0] for line in lines[3 : 3 + len(ROWS)]] == ROWS
    assert "load average" in lines[1]
