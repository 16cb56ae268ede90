"""`hp-tuning-jobs create`'s reader on its own: prgcloud's extensions build the same pools as
`custom-jobs create`, and what only prgcloud decides (no gcloud involved)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prgcloud import render
from prgcloud.errors import BadInputError
from prgcloud.parse import parse_create
from prgcloud.tuning_parse import parse_tuning_create

ENV = {"CLOUDSDK_CORE_PROJECT": "p1", "CLOUDSDK_AI_REGION": "us-central1"}
CONFIG = "studySpec: {}\n"


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    (tmp_path / "tuning.yaml").write_text(CONFIG)
    return str(tmp_path)


def tuning(cwd: str, *argv: str, track: str | None = None) -> dict:
    argv = ("--display-name=t", "--config=tuning.yaml", *argv)
    return dict(
        parse_tuning_create(argv, {**ENV, "CLOUDSDK_CONFIG": cwd}, track=track, cwd=cwd).body
    )


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param("machine-type=n1-standard-4,container-image-uri=gcr.io/p/t", id="plain"),
        pytest.param(
            "machine-type=a2-highgpu-1g,replica-count=3,accelerator-type=NVIDIA_TESLA_A100,"
            "accelerator-count=1,container-image-uri=gcr.io/p/t",
            id="gpu",
        ),
        pytest.param(
            "machine-type=n1-standard-4,container-image-uri=gcr.io/p/t,disk-type=pd-ssd,"
            "disk-size=200",
            id="disk",
        ),
        pytest.param(
            "machine-type=n1-standard-4,executor-image-uri=gcr.io/p/e,python-module=trainer.task",
            id="python-package",
        ),
    ],
)
@pytest.mark.parametrize("track", [None, "beta"])
def test_a_worker_pool_spec_builds_the_custom_jobs_pool(
    cwd: str, spec: str, track: str | None
) -> None:
    flag = f"--worker-pool-spec={spec}"
    custom = parse_create(
        ["--display-name=t", flag], {**ENV, "CLOUDSDK_CONFIG": cwd}, track=track, cwd=cwd
    )
    body = tuning(cwd, flag, track=track)
    assert body["trialJobSpec"]["workerPoolSpecs"] == custom.body["jobSpec"]["workerPoolSpecs"]


def test_a_later_empty_worker_pool_spec_is_a_placeholder_as_for_a_custom_job(cwd: str) -> None:
    flags = ["--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/t"]
    flags.append("--worker-pool-spec=")
    custom = parse_create(
        ["--display-name=t", *flags], {**ENV, "CLOUDSDK_CONFIG": cwd}, track=None, cwd=cwd
    )
    body = tuning(cwd, *flags)
    assert body["trialJobSpec"]["workerPoolSpecs"] == custom.body["jobSpec"]["workerPoolSpecs"]
    assert body["trialJobSpec"]["workerPoolSpecs"][1] == {}


def test_the_rest_snippet_posts_the_tuning_job(cwd: str) -> None:
    request = parse_tuning_create(
        ["--display-name=t", "--config=tuning.yaml", "--persistent-resource-id=pr1"],
        {**ENV, "CLOUDSDK_CONFIG": cwd},
        track=None,
        cwd=cwd,
    )
    snippet = render.dry_run_text(request, style="rest")
    assert "/v1/projects/p1/locations/us-central1/hyperparameterTuningJobs?alt=json" in snippet
    assert '"persistentResourceId": "pr1"' in snippet


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        pytest.param(
            ("--worker-pool-spec=",),
            "Empty value is not allowed for the first",
            id="a-first-empty-pool",
        ),
        pytest.param(("--python-package-uris=gs://b/p.tar.gz",), "unrecognized", id="custom-only"),
    ],
)
def test_prgcloud_refuses(cwd: str, argv: tuple[str, ...], says: str) -> None:
    with pytest.raises(BadInputError) as refused:
        tuning(cwd, *argv)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    ("config", "error"),
    [
        pytest.param(None, "argument --config: must be specified.", id="missing"),
        pytest.param("--config", "argument --config: expected one argument", id="no-value"),
        pytest.param(
            "--config=",
            "argument --config: names no file: give the YAML file of the "
            "HyperparameterTuningJob (gcloud crashes without one).",
            id="empty-path",
        ),
        pytest.param(
            "--config=empty.yaml",
            "argument --config: the file is empty (or an empty mapping); gcloud wants a "
            "HyperparameterTuningJob with at least one field (it crashes on an empty one).",
            id="empty-file",
        ),
        pytest.param(
            "--config=bad.yaml",
            "argument --config: [bad.yaml] is not valid YAML or JSON: while parsing a flow node "
            "did not find expected node content in line 2, column 1",
            id="bad-yaml",
        ),
        pytest.param(
            "--config=dir",
            "argument --config: cannot read [dir]: it is not a regular file or a pipe "
            "(a directory).",
            id="a-directory",
        ),
        pytest.param(
            "--config=list.yaml",
            "argument --config: the file must hold a HyperparameterTuningJob mapping.",
            id="a-list",
        ),
    ],
)
@pytest.mark.parametrize("verb", ["create", "check"])
def test_a_bad_config_is_one_clear_error_and_exit_2(
    cwd: str, verb: str, config: str | None, error: str
) -> None:
    import io

    from prgcloud import cli
    from prgcloud.environment import Environment

    Path(cwd, "empty.yaml").write_text("")
    Path(cwd, "bad.yaml").write_text("a: [\n")
    Path(cwd, "list.yaml").write_text("- a\n")
    Path(cwd, "dir").mkdir()
    out, err = io.StringIO(), io.StringIO()
    environ = {**ENV, "CLOUDSDK_CONFIG": cwd, "PATH": "/usr/bin:/bin"}
    env = Environment(environ=environ, stdin=io.StringIO(), stdout=out, stderr=err, cwd=cwd)
    argv = ["ai", "hp-tuning-jobs", verb, "--display-name=t", *([config] if config else [])]
    assert cli.main([*argv, "--dry-run"] if verb == "create" else argv, env) == 2
    assert (out.getvalue(), err.getvalue()) == ("", f"ERROR: (prgcloud) {error}\n")


def test_a_worker_pool_spec_that_does_not_parse_is_said_once(cwd: str) -> None:
    with pytest.raises(BadInputError) as refused:
        tuning(cwd, "--persistent-resource-id=r", "--worker-pool-spec=foo")
    assert [problem.where for problem in refused.value.problems] == ["--worker-pool-spec"]
    assert "Bad syntax for dict arg: [foo]" in str(refused.value)


@pytest.mark.parametrize(
    ("flag", "timeout", "streams"),
    [
        pytest.param("--wait", None, False, id="wait"),
        pytest.param("--wait=1h", 3600.0, False, id="wait-duration"),
        pytest.param("--stream-logs", None, True, id="stream-logs"),
    ],
)
def test_the_waits_are_prgcloud_s_and_never_reach_gcloud(
    cwd: str, flag: str, timeout: float | None, streams: bool
) -> None:
    argv = (
        "--display-name=t",
        "--config=tuning.yaml",
        "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=g/p/t",
        flag,
    )
    request = parse_tuning_create(argv, {**ENV, "CLOUDSDK_CONFIG": cwd}, track=None, cwd=cwd)
    options = request.options
    assert (options.wait, options.wait_timeout, options.stream_logs) == (True, timeout, streams)
    assert not [arg for arg in request.gcloud_args if arg.startswith(("--wait", "--stream"))]
