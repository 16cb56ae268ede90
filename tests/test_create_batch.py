"""`prgcloud ai custom-jobs create-batch FILE`: the real gcloud against the emulator.

Each test writes a batch file, runs prgcloud (in-process through `cli.main`, or as a real
process where it must be killed), and then looks at what the emulator holds.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from prgcloud import cli
from prgcloud.emulator import Emulator
from prgcloud.environment import Environment

PROJECT, REGION, RID = "p", "us-central1", "cluster"
NAME = Emulator.resource_name(PROJECT, REGION, RID)
POOL = {"id": "workers", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "4"}
IMAGE = "container-image-uri=gcr.io/p/i"


def job_line(name: str, replicas: int = 1, *extra: str) -> str:
    """One line of a batch file: a job on the cluster's pool."""
    words = [
        f"--display-name={name}",
        f"--worker-pool-spec=machine-type=n1-standard-4,replica-count={replicas},{IMAGE}",
        *extra,
    ]
    return " ".join(words)


@pytest.fixture
def cluster(clean_emulator: Emulator) -> Emulator:
    """A RUNNING resource with one pool of 4 free replicas."""
    clean_emulator.add_persistent_resource(PROJECT, REGION, RID, {"resourcePools": [POOL]})
    return clean_emulator


@pytest.fixture
def environ(gcloud_env: dict[str, str], cluster: Emulator, tmp_path: Path) -> dict[str, str]:
    temp = tmp_path / "tmp"
    temp.mkdir()
    return {
        **gcloud_env,
        "CLOUDSDK_CORE_PROJECT": PROJECT,
        "CLOUDSDK_AI_REGION": REGION,
        "TMPDIR": str(temp),
    }


def run(
    tmp_path: Path, environ: dict[str, str], lines: list[str], *args: str
) -> tuple[int, str, str]:
    """Run create-batch in-process on a file of `lines`; (exit status, stdout, stderr)."""
    batch = tmp_path / "sweep.txt"
    batch.write_text("\n".join(lines) + "\n")
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        environ=environ, stdin=io.StringIO(""), stdout=out, stderr=err, cwd=str(tmp_path)
    )
    status = cli.main(["ai", "custom-jobs", "create-batch", str(batch), *args], env)
    return status, out.getvalue(), err.getvalue()


def jobs(emulator: Emulator) -> list[dict[str, Any]]:
    return emulator.custom_jobs(PROJECT, REGION)


def names(emulator: Emulator) -> list[str]:
    return sorted(job["displayName"] for job in jobs(emulator))


def test_a_batch_sends_the_bodies_gcloud_sends_for_the_same_lines(
    tmp_path: Path, environ: dict[str, str], cluster: Emulator
) -> None:
    lines = [
        job_line("a", 1, "--labels=team=x", "--args=--lr=0.1"),
        job_line("b", 2, "--enable-web-access"),
    ]
    common = [f"--persistent-resource-id={RID}"]
    for line in lines:
        argv = ["gcloud", "ai", "custom-jobs", "create", *line.split(), *common]
        subprocess.run(argv, env=environ, check=True, capture_output=True)
    by_gcloud = sorted(jobs(cluster), key=lambda j: j["displayName"])
    cluster.reset()
    cluster.add_persistent_resource(PROJECT, REGION, RID, {"resourcePools": [POOL]})

    status, _out, err = run(tmp_path, environ, lines, *common)

    assert status == 0, err
    by_batch = sorted(jobs(cluster), key=lambda j: j["displayName"])
    keys = ("displayName", "jobSpec", "labels")
    assert [{k: j.get(k) for k in keys} for j in by_batch] == [
        {k: j.get(k) for k in keys} for j in by_gcloud
    ]


def test_bad_lines_are_all_listed_and_nothing_is_sent(
    tmp_path: Path, environ: dict[str, str], cluster: Emulator
) -> None:
    lines = [
        "# a sweep",
        job_line("ok"),
        "",
        "--display-name=no-pools",
        job_line("bad-key").replace("replica-count=1", "replica-count=one"),
        job_line("unclosed '"),
    ]
    status, _out, err = run(tmp_path, environ, lines, f"--persistent-resource-id={RID}")

    assert status == 2, err
    assert "line 4: " in err
    assert "line 5: " in err
    assert "line 6: " in err
    assert "line 2:" not in err
    assert "3 bad lines in the batch; nothing was sent." in err
    assert jobs(cluster) == []


def test_replicas_are_counted_together_and_a_batch_that_overcommits_sends_nothing(
    tmp_path: Path, environ: dict[str, str], cluster: Emulator
) -> None:
    lines = [job_line("a", 2), job_line("b", 2), job_line("c", 2)]
    status, _out, err = run(tmp_path, environ, lines, f"--persistent-resource-id={RID}")

    assert status == 3, err
    assert "1 of 3 jobs do not fit" in err
    assert "line 3 ('c')" in err
    assert "line 1 (" not in err
    assert "line 2 (" not in err
    assert jobs(cluster) == []


def test_a_throttled_submission_is_waited_out_and_retried(
    tmp_path: Path, environ: dict[str, str], cluster: Emulator
) -> None:
    cluster.throttle_job_creations(f"projects/{PROJECT}/locations/{REGION}", times=2)
    lines = [job_line("a"), job_line("b")]
    status, out, err = run(
        tmp_path, environ, lines, f"--persistent-resource-id={RID}", "--format=json"
    )

    assert status == 0, err
    assert "HTTP 429" in err
    assert names(cluster) == ["a", "b"]
    summary = json.loads(out)
    assert [job["outcome"] for job in summary["jobs"]] == ["submitted", "submitted"]
    assert summary["jobs"][0]["throttled"] == 2
    assert all(job["name"].startswith(f"projects/{PROJECT}/") for job in summary["jobs"])


def test_another_gcloud_failure_stops_the_batch_with_its_code(
    tmp_path: Path, environ: dict[str, str], cluster: Emulator
) -> None:
    cluster.fail("INVALID_ARGUMENT", method="POST", times=1, message="refused")
    lines = [job_line("a"), job_line("b")]
    status, out, err = run(tmp_path, environ, lines, "--format=json")

    assert status == 1, err
    assert "INVALID_ARGUMENT: refused" in err
    assert [job["outcome"] for job in json.loads(out)["jobs"]] == ["failed", "not-sent"]
    assert jobs(cluster) == []


def test_keep_going_goes_on_after_a_failure_and_exits_with_its_code(
    tmp_path: Path, environ: dict[str, str], cluster: Emulator
) -> None:
    cluster.fail("INVALID_ARGUMENT", method="POST", times=1, message="refused")
    lines = [job_line("a"), job_line("b")]
    status, out, err = run(tmp_path, environ, lines, "--format=json", "--keep-going")

    assert status == 1, err
    assert [job["outcome"] for job in json.loads(out)["jobs"]] == ["failed", "submitted"]
    assert names(cluster) == ["b"]


def test_a_dry_run_prints_the_plan_and_the_snippets_and_sends_nothing(
    tmp_path: Path, environ: dict[str, str], cluster: Emulator
) -> None:
    cluster.set_used_replicas(NAME, "workers", 1)
    lines = [job_line("a", 2), job_line("b", 1)]
    status, out, err = run(tmp_path, environ, lines, f"--persistent-resource-id={RID}", "--dry-run")

    assert status == 0, err
    assert "# line 1 ('a'): on persistent resource 'cluster'" in out
    assert "worker pool 0 -> resource pool 'workers': 2 replicas, 3 free before, 1 after" in out
    assert "worker pool 0 -> resource pool 'workers': 1 replica, 1 free before, 0 after" in out
    assert out.count("gcloud ai custom-jobs create") >= 2
    assert jobs(cluster) == []


def test_with_wait_for_capacity_jobs_go_in_file_order_as_replicas_free(
    tmp_path: Path, environ: dict[str, str], cluster: Emulator
) -> None:
    cluster.configure(pending_seconds=0.1)
    short = "--labels=emulator-duration-seconds=1"
    lines = [job_line("a", 4, short), job_line("b", 3), job_line("c", 1)]
    status, out, err = run(
        tmp_path,
        environ,
        lines,
        f"--persistent-resource-id={RID}",
        "--wait-for-capacity=2m",
        "--format=json",
    )

    assert status == 0, err
    assert "line 2: waiting for capacity" in err
    assert [job["outcome"] for job in json.loads(out)["jobs"]] == ["submitted"] * 3
    created = sorted(jobs(cluster), key=lambda j: j["createTime"])
    assert [job["displayName"] for job in created] == ["a", "b", "c"]


def test_a_rerun_with_the_manifest_after_a_sigkill_sends_no_job_twice(
    tmp_path: Path, environ: dict[str, str], cluster: Emulator
) -> None:
    lines = [job_line(f"job-{i}") for i in range(1, 7)]
    (tmp_path / "sweep.txt").write_text("\n".join(lines) + "\n")
    manifest = tmp_path / "sent.jsonl"
    argv = [
        sys.executable,
        "-m",
        "prgcloud",
        "ai",
        "custom-jobs",
        "create-batch",
        "sweep.txt",
        f"--manifest={manifest}",
        "--skip-precheck",
    ]
    first = subprocess.Popen(
        argv,
        env=environ,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while sent_lines(manifest) < 2:
            assert first.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline, "the batch never sent two jobs"
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the batch and the gcloud it runs, at once
        first.wait()
    sent_before = len(jobs(cluster))
    assert 2 <= sent_before < 6

    rerun = subprocess.run(
        [*argv, "--format=json"], env=environ, cwd=tmp_path, capture_output=True, text=True
    )

    assert rerun.returncode == 0, rerun.stderr
    outcomes = {job["displayName"]: job["outcome"] for job in json.loads(rerun.stdout)["jobs"]}
    created = names(cluster)
    assert len(created) == len(set(created)), f"a job was sent twice: {created}"
    assert sum(1 for o in outcomes.values() if o == "skipped") >= 2
    assert set(created) | {n for n, o in outcomes.items() if o == "uncertain"} == set(outcomes)


def sent_lines(manifest: Path) -> int:
    if not manifest.exists():
        return 0
    return sum('"event": "sent"' in line for line in manifest.read_text().splitlines())


def test_the_library_mirrors_the_command(
    tmp_path: Path, environ: dict[str, str], cluster: Emulator
) -> None:
    from prgcloud import api
    from prgcloud.errors import DoesNotFitError

    text = "\n".join([job_line("a", 3), job_line("b", 1)]) + "\n"
    args = [f"--persistent-resource-id={RID}"]
    planned = api.create_batch(text, args, dry_run="shell", environ=environ, cwd=str(tmp_path))
    assert [o.status for o in planned.outcomes] == ["planned", "planned"]
    assert [o.placements[0].free_after for o in planned.outcomes] == [1, 0]
    with pytest.raises(DoesNotFitError, match=r"\(line 3\)"):
        api.create_batch(text + job_line("c", 1), args, environ=environ, cwd=str(tmp_path))
    sent = api.create_batch(text, args, environ=environ, cwd=str(tmp_path))
    assert sent.to_json()["counts"] == {"submitted": 2}
    assert names(cluster) == ["a", "b"]
