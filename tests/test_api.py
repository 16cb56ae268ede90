"""The library API reads keyword arguments exactly as the matching gcloud flags."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from fake_gcloud import FakeGcloud

import prgcloud
from prgcloud.errors import BadInputError

WHERE = {"project": "p1", "region": "us-central1"}
POOL = {"machine-type": "n1-standard-4", "container-image-uri": "gcr.io/p/i"}


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return {"CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"), "PATH": os.environ["PATH"]}


def test_keyword_arguments_mean_what_the_flags_mean(environ: dict[str, str]) -> None:
    from_keywords = prgcloud.build_request(
        display_name="train",
        worker_pool_specs=[{**POOL, "replica-count": 2}, {}],
        persistent_resource_id="cluster",
        network="projects/1/global/networks/n",
        service_account="sa@p1.iam.gserviceaccount.com",
        args=["--lr=0.1", "a,b"],
        labels={"team": "ml"},
        enable_web_access=True,
        environ=environ,
        **WHERE,
    )
    from_argv = prgcloud.request_from_argv(
        [
            "--display-name=train",
            "--project=p1",
            "--region=us-central1",
            "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/i,"
            "replica-count=2",
            "--worker-pool-spec=",
            "--persistent-resource-id=cluster",
            "--network=projects/1/global/networks/n",
            "--service-account=sa@p1.iam.gserviceaccount.com",
            "--args=^|^--lr=0.1|a,b",
            "--labels=team=ml",
            "--enable-web-access",
        ],
        environ=environ,
    )
    assert from_keywords.body == from_argv.body
    assert from_keywords.url == from_argv.url


def test_values_holding_commas_and_semicolons_survive_the_trip(environ: dict[str, str]) -> None:
    request = prgcloud.build_request(
        display_name="odd, name; really",
        worker_pool_specs=[{**POOL, "container-image-uri": "gcr.io/p/i,with,commas"}],
        command=["bash", "-c", "echo a,b; echo c"],
        environ=environ,
        **WHERE,
    )
    (pool,) = request.body["jobSpec"]["workerPoolSpecs"]
    assert pool["containerSpec"] == {
        "imageUri": "gcr.io/p/i,with,commas",
        "command": ["bash", "-c", "echo a,b; echo c"],
    }
    assert request.body["displayName"] == "odd, name; really"


def test_a_bad_keyword_is_the_same_bad_input_as_the_flag(environ: dict[str, str]) -> None:
    with pytest.raises(BadInputError) as raised:
        prgcloud.build_request(
            display_name="x", worker_pool_specs=[{"machine-type": "n1"}], environ=environ, **WHERE
        )
    assert raised.value.exit_code == 2
    assert "Exactly one of keys [executor-image-uri, container-image-uri]" in str(raised.value)


@pytest.mark.parametrize(
    ("style", "marker"),
    [("shell", "gcloud ai custom-jobs create"), ("rest", "curl"), ("python", "aiplatform")],
)
def test_dry_run_gives_each_documented_style(
    environ: dict[str, str], style: str, marker: str
) -> None:
    request = prgcloud.build_request(
        display_name="x", worker_pool_specs=[POOL], environ=environ, **WHERE
    )
    assert marker in prgcloud.dry_run(request, style)


def test_submit_runs_gcloud_and_returns_its_exit_code(
    environ: dict[str, str], tmp_path: Path
) -> None:
    fake = FakeGcloud.install(tmp_path)
    env = fake.environ(environ, exit="9", stdout="submitted")
    request = prgcloud.build_request(
        display_name="x", worker_pool_specs=[POOL], environ=env, **WHERE
    )
    out, err = io.StringIO(), io.StringIO()
    assert prgcloud.submit(request, environ=env, stdout=out, stderr=err) == 9
    assert out.getvalue() == "submitted\n"
    assert fake.calls == [["ai", "custom-jobs", "create", *request.gcloud_args[3:]]]
