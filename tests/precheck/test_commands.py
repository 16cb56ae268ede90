"""`custom-jobs check`, `persistent-resources capacity` and create's pre-check, run in-process.

gcloud is a logging stand-in (`PRGCLOUD_GCLOUD`), so a test can prove it was never started.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from prgcloud import cli, exit_codes
from prgcloud.environment import Environment

from .conftest import PARENT, TOKEN, fake_gcloud
from .fake_vertex import FakeVertex

NAME = f"{PARENT}/persistentResources/res"
POOL = "machine-type=n1-standard-4,replica-count=1,container-image-uri=gcr.io/p/trainer"
JOB = ["--display-name=train", f"--worker-pool-spec={POOL}", "--persistent-resource-id=res"]


def resource(**fields: Any) -> dict[str, Any]:
    pool = {
        "id": "cpu",
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "2",
        "diskSpec": {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100},
    }
    return {"name": NAME, "state": "RUNNING", "resourcePools": [pool], **fields}


class Run:
    """One in-process prgcloud run: its exit status and what it wrote."""

    def __init__(self, argv: list[str], environ: dict[str, str], cwd: Path) -> None:
        stdout, stderr = io.StringIO(), io.StringIO()
        env = Environment(
            environ=environ, stdin=io.StringIO(), stdout=stdout, stderr=stderr, cwd=str(cwd)
        )
        self.status = cli.main(argv, env)
        self.stdout = stdout.getvalue()
        self.stderr = stderr.getvalue()

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def gcloud_log(tmp_path: Path, environ: dict[str, str]) -> Path:
    """Make `gcloud` a stand-in that logs its arguments; return the log's path."""
    environ["PRGCLOUD_GCLOUD"] = str(fake_gcloud(tmp_path, "exit 0"))
    return tmp_path / "gcloud.log"


@pytest.fixture
def prgcloud(environ: dict[str, str], tmp_path: Path, gcloud_log: Path) -> Any:
    def run(*argv: str) -> Run:
        return Run(list(argv), environ, tmp_path)

    return run


CHECK = ["ai", "custom-jobs", "check"]
CREATE = ["ai", "custom-jobs", "create"]
CAPACITY = ["ai", "persistent-resources", "capacity"]


def test_check_of_a_fitting_job_exits_0_and_shows_the_pool(
    prgcloud: Any, fake_vertex: FakeVertex, gcloud_log: Path
) -> None:
    fake_vertex.add(resource())
    run = prgcloud(*CHECK, *JOB)
    assert (run.status, run.stderr) == (0, "")
    assert "the job fits persistent resource 'res'" in run.stdout
    assert "worker pool 0 (n1-standard-4, pd-ssd 100 GB) -> resource pool 'cpu': asks 1" in (
        run.stdout
    )
    assert not gcloud_log.exists()


def test_check_of_a_job_that_does_not_fit_exits_3_with_the_fix(
    prgcloud: Any, fake_vertex: FakeVertex
) -> None:
    fake_vertex.add(resource())
    run = prgcloud(*CHECK, *JOB[:-2], f"--worker-pool-spec={POOL},disk-size=200", JOB[-1])
    assert run.status == exit_codes.DOES_NOT_FIT
    assert run.stdout == ""
    assert "the job does not fit persistent resource 'res'" in run.stderr
    assert "Fix: in worker pool 0, set disk-size=100." in run.stderr


@pytest.mark.parametrize(
    ("fields", "extra", "status", "codes"),
    [
        pytest.param({}, [], 0, [], id="fits"),
        pytest.param({"state": "PROVISIONING"}, [], 3, ["state-not-ready"], id="not-ready"),
        pytest.param({"network": "projects/1/global/networks/n"}, [], 3, ["network-mismatch"]),
        pytest.param(
            {},
            ["--service-account=sa@p.iam.gserviceaccount.com"],
            0,
            ["service-account-not-enforced"],
            id="warning",
        ),
        pytest.param(
            {},
            ["--service-account=sa@p.iam.gserviceaccount.com", "--strict"],
            3,
            ["service-account-not-enforced"],
            id="strict-warning",
        ),
    ],
)
def test_check_as_json_gives_the_findings_as_data(
    prgcloud: Any,
    fake_vertex: FakeVertex,
    fields: dict[str, Any],
    extra: list[str],
    status: int,
    codes: list[str],
) -> None:
    fake_vertex.add(resource(**fields))
    run = prgcloud(*CHECK, *JOB, *extra, "--format=json")
    assert run.status == status
    document = run.json()
    assert [f["code"] for f in document["findings"]] == codes
    assert document["fits"] is (status == 0)
    assert document["assignment"] == {"0": "cpu"}
    assert document["pools"][0]["resourcePool"] == "cpu"
    for finding in document["findings"]:
        assert set(finding) == {
            "severity",
            "code",
            "pool",
            "field",
            "asked",
            "offered",
            "message",
            "fix",
        }


@pytest.mark.parametrize(
    ("fmt", "stdout"),
    [
        pytest.param("value(fits)", "True\n", id="value"),
        pytest.param("value(fits,state,assignment)", "True\tRUNNING\t0=cpu\n", id="value-tabs"),
        pytest.param(
            "table(pools.index:label=POOL, pools.resourcePool, pools.free)",
            "POOL  RESOURCE_POOL  FREE\n[0]   ['cpu']        [2]\n",
            id="table",
        ),
        pytest.param("csv[no-heading](resource,fits)", f"{NAME},True\n", id="csv"),
        pytest.param("yaml(fits,state)", "fits: true\nstate: RUNNING\n", id="yaml"),
        pytest.param("json(fits)", '{\n  "fits": true\n}\n', id="json-projection"),
        pytest.param("none", "", id="none"),
    ],
)
def test_check_prints_its_verdict_in_gcloud_s_formats(
    prgcloud: Any, fake_vertex: FakeVertex, fmt: str, stdout: str
) -> None:
    fake_vertex.add(resource())
    run = prgcloud(*CHECK, *JOB, f"--format={fmt}")
    assert (run.status, run.stdout) == (0, stdout)
    assert run.stderr == (
        f"prgcloud: checked against {NAME}: fits (pool 0 → cpu, asks 1, 2 of 2 free)\n"
    )


def test_check_flattens_the_findings_one_record_each(
    prgcloud: Any, fake_vertex: FakeVertex
) -> None:
    fake_vertex.add(resource(network="projects/1/global/networks/n"))
    run = prgcloud(
        *CHECK,
        *JOB,
        "--service-account=sa@p.iam.gserviceaccount.com",
        "--flatten=findings",
        "--format=value(findings.severity,findings.code)",
    )
    assert run.status == exit_codes.DOES_NOT_FIT
    assert run.stdout == "block\tnetwork-mismatch\nwarn\tservice-account-not-enforced\n"


def test_check_reports_a_bad_format_with_every_other_problem(prgcloud: Any) -> None:
    run = prgcloud(*CHECK, "--display-name=x", "--format=value", "--verbosity=loud")
    assert run.status == exit_codes.BAD_INPUT
    assert "argument --region" not in run.stderr  # the environment has one
    assert "At least one of [--config | --worker-pool-spec] must be specified." in run.stderr
    assert "argument --format: Format [value] requires a non-empty projection" in run.stderr
    assert "argument --verbosity: Invalid choice: 'loud'." in run.stderr


def test_check_with_verbosity_debug_logs_its_steps_but_never_the_token(
    prgcloud: Any, fake_vertex: FakeVertex, token_file: Path
) -> None:
    fake_vertex.add(resource())
    run = prgcloud(*CHECK, *JOB, "--verbosity=debug")
    assert run.status == 0, run.stderr
    debug = [line for line in run.stderr.splitlines() if line.startswith("DEBUG: (prgcloud) ")]
    assert [line.split()[2] for line in debug] == ["endpoint:", "identity:", "read", "verdict:"]
    assert f"endpoint: {fake_vertex.url}" in debug[0]
    assert f"identity: the access token in the file {token_file}" in debug[1]
    assert debug[2].startswith(f"DEBUG: (prgcloud) read {NAME} in ")
    assert debug[2].endswith(" s: state RUNNING")
    assert debug[3] == "DEBUG: (prgcloud) verdict: fits"
    assert TOKEN not in run.stderr


def test_check_debug_comes_from_gcloud_s_verbosity_property(
    prgcloud: Any, fake_vertex: FakeVertex, environ: dict[str, str]
) -> None:
    fake_vertex.add(resource())
    environ["CLOUDSDK_CORE_VERBOSITY"] = "debug"
    assert "DEBUG: (prgcloud) verdict: fits" in prgcloud(*CHECK, *JOB).stderr


def test_check_without_user_output_prints_nothing(prgcloud: Any, fake_vertex: FakeVertex) -> None:
    fake_vertex.add(resource())
    run = prgcloud(*CHECK, *JOB, "--format=json", "--no-user-output-enabled")
    assert (run.status, run.stdout, run.stderr) == (0, "", "")


def test_check_of_a_busy_resource_exits_3_and_says_how_to_wait(
    prgcloud: Any, fake_vertex: FakeVertex
) -> None:
    busy = resource()
    busy["resourcePools"][0]["usedReplicaCount"] = "2"
    fake_vertex.add(busy)
    run = prgcloud(*CHECK, *JOB)
    assert run.status == exit_codes.DOES_NOT_FIT
    assert "or wait with --wait-for-capacity" in run.stderr


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        pytest.param([*CHECK, *JOB[:-1], "--persistent-resource-id=gone"], 4, id="not-found"),
        pytest.param([*CHECK, "--display-name=x"], 2, id="bad-input"),
        pytest.param([*CHECK, *JOB, "--format=nonsense"], 2, id="unknown-format"),
        pytest.param([*CHECK, *JOB, "--format=value"], 2, id="format-without-keys"),
        pytest.param([*CHECK, *JOB, "--verbosity=loud"], 2, id="unknown-verbosity"),
    ],
)
def test_check_exit_statuses(
    prgcloud: Any, fake_vertex: FakeVertex, gcloud_log: Path, argv: list[str], status: int
) -> None:
    fake_vertex.add(resource())
    run = prgcloud(*argv)
    assert run.status == status, run.stderr
    assert run.stderr.startswith("ERROR: (prgcloud) ")
    assert not gcloud_log.exists()


def test_check_without_a_persistent_resource_only_validates(
    prgcloud: Any, fake_vertex: FakeVertex
) -> None:
    run = prgcloud(*CHECK, *JOB[:-1])
    assert run.status == 0
    assert "nothing to pre-check" in run.stdout
    assert fake_vertex.seen == []


def test_capacity_shows_each_pool(prgcloud: Any, fake_vertex: FakeVertex) -> None:
    busy = resource()
    busy["resourcePools"][0]["usedReplicaCount"] = "1"
    fake_vertex.add(busy)
    run = prgcloud(*CAPACITY, "res")
    assert run.status == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "persistent resource 'res' (project p, region us-central1): RUNNING"
    assert lines[1].split() == [
        "POOL",
        "MACHINE_TYPE",
        "ACCELERATORS",
        "DISK",
        "CEILING",
        "USED",
        "FREE",
    ]
    assert lines[2].split() == ["cpu", "n1-standard-4", "-", "pd-ssd", "100", "GB", "2", "1", "1"]


def test_capacity_as_json(prgcloud: Any, fake_vertex: FakeVertex) -> None:
    fake_vertex.add(resource())
    run = prgcloud(*CAPACITY, "res", "--region", "us-central1", "--project=p", "--format=json")
    assert run.status == 0, run.stderr
    assert run.json() == {
        "name": NAME,
        "state": "RUNNING",
        "error": None,
        "network": None,
        "kmsKeyName": None,
        "pools": [
            {
                "id": "cpu",
                "machineType": "n1-standard-4",
                "acceleratorType": None,
                "acceleratorCount": 0,
                "tpuTopology": None,
                "bootDiskType": "pd-ssd",
                "bootDiskSizeGb": 100,
                "replicaCount": 2,
                "minReplicaCount": None,
                "maxReplicaCount": None,
                "ceiling": 2,
                "used": 0,
                "free": 2,
            }
        ],
    }


@pytest.mark.parametrize(
    ("extra", "stdout"),
    [
        pytest.param(["--format=value(state)"], "RUNNING\n", id="value"),
        pytest.param(
            ["--flatten=pools", "--format=table(pools.id,pools.free,pools.ceiling)"],
            "ID   FREE  CEILING\ncpu  2     2\n",
            id="flatten-table",
        ),
        pytest.param(["--format=value(pools[0].machineType)", "-q"], "n1-standard-4\n", id="q"),
        pytest.param(
            [
                "--format=value(state)",
                "--quiet",
                "--verbosity=warning",
                "--configuration=default",
                "--account=someone@example.com",
                "--billing-project=b",
                "--log-http",
                "--no-log-http",
                "--trace-token=t",
                "--user-output-enabled",
            ],
            "RUNNING\n",
            id="gcloud-wide-flags",
        ),
    ],
)
def test_capacity_prints_in_gcloud_s_formats_and_takes_gcloud_s_wide_flags(
    prgcloud: Any, fake_vertex: FakeVertex, extra: list[str], stdout: str
) -> None:
    fake_vertex.add(resource())
    run = prgcloud(*CAPACITY, "res", *extra)
    assert (run.status, run.stdout) == (0, stdout), run.stderr


def test_capacity_reads_a_flags_file(
    prgcloud: Any, fake_vertex: FakeVertex, tmp_path: Path
) -> None:
    fake_vertex.add(resource())
    (tmp_path / "flags.yaml").write_text("--format: value(state,name)\n--region: us-central1\n")
    run = prgcloud(*CAPACITY, "res", "--flags-file=flags.yaml")
    assert (run.status, run.stdout) == (0, f"RUNNING\t{NAME}\n"), run.stderr


def test_capacity_with_verbosity_debug_logs_its_steps(
    prgcloud: Any, fake_vertex: FakeVertex
) -> None:
    fake_vertex.add(resource())
    run = prgcloud(*CAPACITY, "res", "--verbosity=debug", "--format=none")
    assert run.status == 0
    assert [line.split()[2] for line in run.stderr.splitlines()] == [
        "endpoint:",
        "identity:",
        "read",
    ]
    assert TOKEN not in run.stderr


def test_capacity_accepts_a_full_resource_name(prgcloud: Any, fake_vertex: FakeVertex) -> None:
    fake_vertex.add(resource())
    assert prgcloud(*CAPACITY, NAME).status == 0


@pytest.mark.parametrize(
    ("argv", "status", "needle"),
    [
        pytest.param([*CAPACITY, "gone"], 4, "'gone' was not found", id="not-found"),
        pytest.param([*CAPACITY], 2, "ID", id="no-id"),
        pytest.param([*CAPACITY, "res", "--zone=x"], 2, "--zone=x", id="unknown-flag"),
        pytest.param(
            [*CAPACITY, "res", "--regoin=x"],
            2,
            "unrecognized arguments: --regoin=x (did you mean '--region'?)",
            id="mistyped-flag",
        ),
        pytest.param([*CAPACITY, "a", "b"], 2, "unrecognized arguments: b", id="two-ids"),
        pytest.param([*CAPACITY, "res", "--format=json("], 2, "--format", id="bad-format"),
        pytest.param(
            [*CAPACITY, "res", "--format=value(name.basename())"],
            2,
            "does not support transforms such as basename()",
            id="transforms-are-refused",
        ),
        pytest.param([*CAPACITY, "res", "--project"], 2, "expected one argument", id="no-value"),
    ],
)
def test_capacity_exit_statuses(
    prgcloud: Any, fake_vertex: FakeVertex, argv: list[str], status: int, needle: str
) -> None:
    fake_vertex.add(resource())
    run = prgcloud(*argv)
    assert run.status == status
    assert needle in run.stderr


def test_capacity_needs_a_region(
    fake_vertex: FakeVertex, environ: dict[str, str], tmp_path: Path
) -> None:
    del environ["CLOUDSDK_AI_REGION"]
    run = Run([*CAPACITY, "res"], environ, tmp_path)
    assert run.status == exit_codes.BAD_INPUT
    assert "argument --region" in run.stderr


# --- create: the process seam -------------------------------------------------------------


def test_create_that_does_not_fit_never_starts_gcloud(
    prgcloud: Any, fake_vertex: FakeVertex, gcloud_log: Path
) -> None:
    fake_vertex.add(resource(state="ERROR", error={"message": "stockout"}))
    run = prgcloud(*CREATE, *JOB)
    assert run.status == exit_codes.DOES_NOT_FIT
    assert '"stockout"' in run.stderr
    assert not gcloud_log.exists()


def test_create_that_cannot_be_checked_never_starts_gcloud(
    prgcloud: Any, fake_vertex: FakeVertex, gcloud_log: Path
) -> None:
    fake_vertex.fail(403)
    run = prgcloud(*CREATE, *JOB)
    assert run.status == exit_codes.PRECHECK_FAILED
    assert "aiplatform.persistentResources.get" in run.stderr
    assert not gcloud_log.exists()


def test_create_that_fits_with_a_warning_warns_and_submits(
    prgcloud: Any, fake_vertex: FakeVertex, gcloud_log: Path
) -> None:
    fake_vertex.add(resource(resourceRuntimeSpec={"raySpec": {}}))
    run = prgcloud(*CREATE, *JOB)
    assert run.status == 0, run.stderr
    assert "WARNING: (prgcloud)" in run.stderr
    assert "runs Ray" in run.stderr
    assert gcloud_log.read_text().split()[:3] == ["ai", "custom-jobs", "create"]


def test_create_that_fits_says_on_stderr_that_it_was_checked(
    prgcloud: Any, fake_vertex: FakeVertex, gcloud_log: Path
) -> None:
    fake_vertex.add(resource())
    run = prgcloud("--project=p", *CREATE, *JOB)
    assert run.status == 0, run.stderr
    assert run.stderr == (
        f"prgcloud: checked against {NAME}: fits (pool 0 → cpu, asks 1, 2 of 2 free)\n"
    )
    assert gcloud_log.read_text().split()[:4] == ["ai", "custom-jobs", "create", "--project=p"]


def test_create_with_skip_precheck_does_not_read_the_resource(
    prgcloud: Any, fake_vertex: FakeVertex, gcloud_log: Path
) -> None:
    run = prgcloud(*CREATE, *JOB, "--skip-precheck")
    assert run.status == 0, run.stderr
    assert fake_vertex.seen == []
    assert gcloud_log.exists()
