"""How the emulator holds up as jobs pile up: read and create rates with thousands of jobs stored.

    .venv/bin/python bench/emulator.py [--jobs 3000] [--clients 8] [--creates 800] [--data-dir]

Starts `prgcloud emulator start` in its own process (as a rehearsal runs it), stores `--jobs`
running jobs on one persistent resource, then prints, over keep-alive connections:

    GET resource     median and 90th percentile of reading the persistent resource (its
                     `usedReplicaCount` counts every running job)
    GET job          the same for one custom job
    LIST jobs        the same for the first page of custom jobs (100)
    creates/s        custom jobs created per second by `--clients` threads at once

The issue's targets, with 3,000 running jobs: GET median <= 5 ms, >= 300 creates/s from 8
clients. A figure-printing function, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PARENT = "/v1/projects/bench/locations/us-central1"
RESOURCE = f"{PARENT}/persistentResources/bench-pool"
HEADERS = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
JOB = {
    "displayName": "bench",
    "jobSpec": {
        "persistentResourceId": "bench-pool",
        "workerPoolSpecs": [
            {
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": "1",
                "containerSpec": {"imageUri": "us-docker.pkg.dev/bench/r/trainer:1"},
            }
        ],
    },
}


@contextmanager
def emulator(data_dir: str | None) -> Iterator[tuple[str, int]]:
    """`prgcloud emulator start` on a free port, jobs that never end; (host, port)."""
    command = [
        sys.executable,
        "-m",
        "prgcloud",
        "emulator",
        "start",
        "--port=0",
        "--provision-seconds=0",
        "--job-duration=100000",
    ]
    if data_dir:
        command.append(f"--data-dir={data_dir}")
    with tempfile.TemporaryDirectory(prefix="prgcloud-bench-home-") as home:
        environ = {**os.environ, "HOME": home, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert process.stdout is not None
            found = re.search(r"http://([\d.]+):(\d+)/", process.stdout.readline())
            if found is None:
                raise SystemExit("the emulator did not start")
            yield found[1], int(found[2])
        finally:
            process.terminate()
            process.wait(timeout=30)


def request(
    connection: http.client.HTTPConnection, method: str, path: str, body: Any = None
) -> Any:
    """One request on a keep-alive connection; the decoded answer (raises on an error status)."""
    connection.request(
        method, path, body=None if body is None else json.dumps(body), headers=HEADERS
    )
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {payload[:300]!r}")
    return json.loads(payload)


def create_jobs(host: str, port: int, count: int, clients: int) -> float:
    """Create `count` jobs from `clients` threads at once; the wall time it took."""
    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    start = threading.Barrier(clients + 1)

    def work(share: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        start.wait()
        for _ in range(share):
            request(connection, "POST", f"{PARENT}/customJobs", JOB)
        connection.close()

    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def timings(connection: http.client.HTTPConnection, path: str, rounds: int) -> list[float]:
    """Seconds each of `rounds` GETs of `path` took."""
    spent = []
    for _ in range(rounds):
        began = time.perf_counter()
        request(connection, "GET", path)
        spent.append(time.perf_counter() - began)
    return spent


def measure(
    jobs: int, clients: int, creates: int, rounds: int, data_dir: str | None
) -> dict[str, Any]:
    """The emulator's figures with `jobs` running jobs stored: per GET row, the median and
    90th percentile in seconds; creates per second from `clients` threads."""
    with emulator(data_dir) as (host, port):
        connection = http.client.HTTPConnection(host, port, timeout=60)
        pool = {
            "id": "cpu",
            "machineSpec": {"machineType": "n1-standard-4"},
            "replicaCount": str(jobs + creates + 1000),
        }
        request(
            connection,
            "POST",
            f"{PARENT}/persistentResources?persistentResourceId=bench-pool",
            {"resourcePools": [pool]},
        )
        create_jobs(host, port, jobs, clients)
        # jobs turn from PENDING to RUNNING after a second; wait until the last one has
        while request(
            connection,
            "GET",
            f"{PARENT}/customJobs?pageSize=1&filter=state%3D%22JOB_STATE_PENDING%22",
        ).get("customJobs"):
            time.sleep(0.2)
        used = request(connection, "GET", RESOURCE)["resourcePools"][0]["usedReplicaCount"]
        one_job = request(connection, "GET", f"{PARENT}/customJobs?pageSize=1")["customJobs"][0]
        rows = {
            "GET resource": timings(connection, RESOURCE, rounds),
            "GET job": timings(connection, f"/v1/{one_job['name']}", rounds),
            "LIST jobs (100)": timings(connection, f"{PARENT}/customJobs", max(rounds // 4, 1)),
        }
        connection.close()
        spent = create_jobs(host, port, creates, clients)
    requests = {}
    for name, spent_each in rows.items():
        ordered = sorted(spent_each)
        requests[name] = {
            "median_s": statistics.median(ordered),
            "p90_s": ordered[int(len(ordered) * 0.9)],
            "count": len(ordered),
        }
    return {
        "jobs": jobs,
        "used_replicas": int(used),
        "state": f"SQLite in {data_dir}" if data_dir else "in memory",
        "requests": requests,
        "creates_per_s": creates / spent,
        "creates": creates,
        "clients": clients,
    }


def describe(figures: dict[str, Any]) -> list[str]:
    """The figures of `measure` as lines of text."""
    lines = [
        f"emulator with {figures['jobs']} running jobs stored ({figures['used_replicas']} "
        f"replicas in use), state {figures['state']}:"
    ]
    for name, row in figures["requests"].items():
        lines.append(
            f"  {name:<16} median {row['median_s'] * 1000:6.2f} ms"
            f"   p90 {row['p90_s'] * 1000:6.2f} ms   ({row['count']} requests)"
        )
    lines.append(
        f"  {'creates/s':<16} {figures['creates_per_s']:6.0f}  "
        f"({figures['creates']} jobs, {figures['clients']} clients)"
    )
    return lines


def main() -> None:
    """Parse the options and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000, help="running jobs stored first")
    parser.add_argument("--clients", type=int, default=8, help="threads creating jobs at once")
    parser.add_argument("--creates", type=int, default=800, help="jobs created for the rate")
    parser.add_argument("--rounds", type=int, default=400, help="GETs timed per row")
    parser.add_argument("--data-dir", action="store_true", help="keep state in SQLite on disk")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prgcloud-bench-state-") as state:
        figures = measure(
            options.jobs,
            options.clients,
            options.creates,
            options.rounds,
            state if options.data_dir else None,
        )
    print("\n".join(describe(figures)))
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
