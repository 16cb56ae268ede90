"""The pure part of create-batch: lines, flags, the plan that counts replicas together,
pacing, what gcloud's output says, and the manifest's reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from prgcloud import batch, manifest
from prgcloud.errors import BadInputError
from prgcloud.request import JobRequest

RESOURCE = "projects/p/locations/us-central1/persistentResources/cluster"


def test_lines_are_shell_words_and_blank_and_comment_lines_are_skipped() -> None:
    lines, bad = batch.read_lines(
        "# sweep\n\n--display-name='a b' --args=1  # trailing comment\n  # indented\n--x=\"y\"\n"
    )
    assert bad == []
    assert [(line.number, line.words) for line in lines] == [
        (3, ("--display-name=a b", "--args=1")),
        (5, ("--x=y",)),
    ]


def test_a_line_that_cannot_be_split_is_a_problem_at_its_number() -> None:
    _lines, bad = batch.read_lines("ok\n--display-name='open\n")
    assert [number for number, _ in bad] == [2]


def width(item: str) -> int:
    return 2 if item in ("--region", "--project") else 1


@pytest.mark.parametrize(
    ("argv", "source", "common", "options"),
    [
        pytest.param(["f.txt"], "f.txt", [], batch.BatchOptions(), id="file-only"),
        pytest.param(["-", "--region", "us-central1"], "-", ["--region", "us-central1"],
                     batch.BatchOptions(), id="stdin-and-a-spaced-flag"),
        pytest.param(["--project", "p", "f", "--keep-going", "--max-rate=10"], "f",
                     ["--project", "p"], batch.BatchOptions(max_rate=10, keep_going=True),
                     id="global-flag-first"),
        pytest.param(["f", "--manifest", "m.jsonl", "--format=json", "--dry-run=rest"], "f", [],
                     batch.BatchOptions(manifest="m.jsonl", format="json", dry_run="rest"),
                     id="batch-flags"),
        pytest.param(["f", "--wait-for-capacity=90s", "--strict"], "f", ["--strict"],
                     batch.BatchOptions(wait_for_capacity=90.0), id="wait-and-a-line-flag"),
    ],
)  # fmt: skip
def test_the_batchs_own_flags_are_taken_out_and_the_rest_go_to_every_line(
    argv: list[str], source: str, common: list[str], options: batch.BatchOptions
) -> None:
    assert batch.split_arguments(argv, width) == (source, options, common)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        pytest.param([], "FILE", id="no-file"),
        pytest.param(["f", "--max-rate=0"], "--max-rate", id="zero-rate"),
        pytest.param(["f", "--format=yaml"], "--format", id="format"),
        pytest.param(["f", "--dry-run=sql"], "--dry-run", id="dry-run-style"),
        pytest.param(["f", "--wait-for-capacity=soon"], "--wait-for-capacity", id="duration"),
    ],
)
def test_bad_batch_flags_are_bad_input(argv: list[str], says: str) -> None:
    with pytest.raises(BadInputError, match=says):
        batch.split_arguments(argv, width)


def request(replicas: int, *, machine: str = "n1-standard-4") -> JobRequest:
    pool = {"machineSpec": {"machineType": machine}, "replicaCount": str(replicas)}
    return JobRequest(
        track=None,
        project="p",
        region="us-central1",
        endpoint="http://127.0.0.1:9/",
        body={
            "displayName": "j",
            "jobSpec": {"workerPoolSpecs": [pool], "persistentResourceId": "cluster"},
        },
        gcloud_args=(),
    )


def resource(*pools: tuple[str, int, int]) -> dict[str, object]:
    return {
        "name": RESOURCE,
        "state": "RUNNING",
        "resourcePools": [
            {
                "id": pool_id,
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": str(count),
                "usedReplicaCount": str(used),
            }
            for pool_id, count, used in pools
        ],
    }


def test_jobs_are_counted_together_in_file_order() -> None:
    plans = batch.plan(
        [(1, request(2)), (2, request(2)), (3, request(1))],
        {RESOURCE: resource(("w", 4, 1))},
    )
    assert [p.fits for p in plans] == [True, False, True]
    assert [(pl.free_before, pl.free_after) for pl in plans[0].placements] == [(3, 1)]
    assert [(pl.free_before, pl.free_after) for pl in plans[2].placements] == [(1, 0)]


def test_a_job_too_big_for_any_pool_can_never_fit_and_one_that_waits_can() -> None:
    plans = batch.plan([(1, request(5)), (2, request(4)), (3, request(1))],
                       {RESOURCE: resource(("w", 4, 0))})  # fmt: skip
    assert [p.can_never_fit for p in plans] == [True, False, False]
    assert [p.fits for p in plans] == [False, True, False]


def test_a_second_pool_with_the_same_key_takes_what_the_first_cannot() -> None:
    plans = batch.plan([(1, request(2)), (2, request(2))],
                       {RESOURCE: resource(("a", 2, 0), ("b", 2, 0))})  # fmt: skip
    assert all(p.fits for p in plans)
    assert {p.placements[0].resource_pool for p in plans} == {"a", "b"}


def test_the_pacer_lets_max_rate_through_a_minute_per_region() -> None:
    pacer = batch.Pacer(2)
    for now in (0.0, 1.0):
        assert pacer.delay("r", now) == 0.0
        pacer.record("r", now)
    assert pacer.delay("r", 2.0) == 58.0
    assert pacer.delay("other", 2.0) == 0.0
    assert pacer.delay("r", 60.0) == 0.0


@pytest.mark.parametrize(
    ("code", "stderr", "throttled"),
    [
        pytest.param(1, "ERROR: (gcloud.ai.custom-jobs.create) RESOURCE_EXHAUSTED: Quota "
                     "exceeded.\n", True, id="status"),
        pytest.param(1, "ERROR: (gcloud.beta.ai.custom-jobs.create) HTTPError 429: Too Many "
                     "Requests\n", True, id="plain-429"),
        pytest.param(1, "ERROR: (gcloud.ai.custom-jobs.create) INVALID_ARGUMENT: no\n", False,
                     id="other-error"),
        pytest.param(2, "ERROR: (gcloud.ai.custom-jobs.create) RESOURCE_EXHAUSTED: x\n", False,
                     id="other-exit-code"),
    ],
)  # fmt: skip
def test_a_429_is_told_from_gclouds_other_failures(code: int, stderr: str, throttled: bool) -> None:
    assert batch.is_throttled(code, stderr) is throttled


def test_the_created_jobs_name_comes_from_gclouds_status_line() -> None:
    stderr = "CustomJob [projects/p/locations/r/customJobs/123] is submitted successfully.\n"
    assert batch.created_job_name("", stderr) == "projects/p/locations/r/customJobs/123"
    assert batch.created_job_name('{"name": "projects/p/locations/r/customJobs/9"}', "") == (
        "projects/p/locations/r/customJobs/9"
    )


def test_the_manifest_skips_what_was_sent_and_what_was_being_sent(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    writer = manifest.Writer(str(path))
    writer.append({"event": "sending", "line": 1, "hash": "h1"})
    writer.append({"event": "sent", "line": 1, "hash": "h1", "name": "n1"})
    writer.append({"event": "sending", "line": 2, "hash": "h2"})
    writer.append({"event": "failed", "line": 2, "hash": "h2"})
    writer.append({"event": "sending", "line": 3, "hash": "h3"})
    writer.close()
    with path.open("a") as f:
        f.write('{"event": "sen')  # a last line cut short by a kill
    loaded = manifest.load(str(path))
    assert loaded.claim("h1") == ("sent", "n1")
    assert loaded.claim("h1") is None
    assert loaded.claim("h2") is None
    assert loaded.claim("h3") == ("uncertain", None)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_file_that_is_not_a_manifest_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "sweep.txt"
    path.write_text("--display-name=a\n--display-name=b\n")
    with pytest.raises(BadInputError, match="is not a JSON object"):
        manifest.load(str(path))
