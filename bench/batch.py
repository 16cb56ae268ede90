"""A sweep two ways: N jobs through one `create-batch` against N separate `create` runs.

    .venv/bin/python bench/batch.py [--jobs 50] [--rounds 1]

Both run the real gcloud against one in-process emulator (a resource with room for every
job), from fresh processes, in alternating order per round; the figure is the wall time of
each way and their ratio. A figure-printing program, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import environment  # noqa: E402 - after the path is set
from prgcloud.emulator import Emulator  # noqa: E402

PROJECT, REGION, RESOURCE = "bench", "us-central1", "bench-pool"
POOL = {"id": "w", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1000"}


def line(index: int) -> list[str]:
    return [
        f"--display-name=sweep-{index}",
        "--worker-pool-spec=machine-type=n1-standard-4,replica-count=1,"
        "container-image-uri=us-docker.pkg.dev/bench/r/trainer:1",
        f"--args=--seed={index}",
        f"--persistent-resource-id={RESOURCE}",
    ]


def run_batch(jobs: int, environ: dict[str, str], home: Path) -> float:
    batch = home / "sweep.txt"
    batch.write_text("\n".join(" ".join(line(i)) for i in range(jobs)) + "\n")
    argv = [sys.executable, "-m", "prgcloud", "ai", "custom-jobs", "create-batch", str(batch)]
    started = time.perf_counter()
    subprocess.run(argv, env=environ, check=True, capture_output=True)
    return time.perf_counter() - started


def run_separate(jobs: int, environ: dict[str, str]) -> float:
    started = time.perf_counter()
    for i in range(jobs):
        argv = [sys.executable, "-m", "prgcloud", "ai", "custom-jobs", "create", *line(i)]
        subprocess.run(argv, env=environ, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    options = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    figures: dict[str, list[float]] = {"create-batch": [], "separate creates": []}
    with Emulator(port=0) as emulator, tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        environ = environment(emulator, home, login=False)
        for round_number in range(options.rounds):
            ways = list(figures)
            if round_number % 2:
                ways.reverse()
            for way in ways:
                emulator.reset()
                emulator.add_persistent_resource(
                    PROJECT, REGION, RESOURCE, {"resourcePools": [POOL]}
                )
                if way == "create-batch":
                    seconds = run_batch(options.jobs, environ, home)
                else:
                    seconds = run_separate(options.jobs, environ)
                figures[way].append(seconds)
    batch, separate = (statistics.median(figures[w]) for w in figures)
    print(f"{options.jobs} jobs, {options.rounds} round(s), medians:")
    print(f"  create-batch      {batch:7.1f} s  ({batch / options.jobs:.2f} s a job)")
    print(f"  separate creates  {separate:7.1f} s  ({separate / options.jobs:.2f} s a job)")
    print(f"  ratio             {batch / separate:7.2f}")
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
