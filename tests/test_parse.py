"""`parse_create`: the request prgcloud builds — the body gcloud would POST, where it goes, as whom,
prgcloud's options, and the gcloud arguments that submit it.

The bodies were checked against what gcloud 528 POSTs for the same command lines (--log-http).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from prgcloud import argdict, yamlread
from prgcloud.flags import FLAGS, Occurrence
from prgcloud.parse import DEFAULT_WAIT_SECONDS, inline_flag, parse_create
from prgcloud.request import Identity, JobRequest, Options

P = ("--project=p", "--region=us-central1", "--display-name=job")
IMAGE = "gcr.io/p/trainer:v1"
EXECUTOR = "us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17:latest"
WPS = "--worker-pool-spec"
POOL = f"{WPS}=machine-type=n1-standard-4,container-image-uri={IMAGE}"
PY_POOL = f"{WPS}=machine-type=n1-standard-8,executor-image-uri={EXECUTOR},python-module=t.task"
URL = "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/customJobs"


def container(machine: str = "n1-standard-4", replicas: str = "1", **extra: Any) -> dict[str, Any]:
    """A container pool as gcloud POSTs it."""
    spec = {"imageUri": IMAGE, **extra}
    return {
        "machineSpec": {"machineType": machine},
        "replicaCount": replicas,
        "containerSpec": spec,
    }


def python(**extra: Any) -> dict[str, Any]:
    """The PY_POOL pool as gcloud POSTs it."""
    package = {"executorImageUri": EXECUTOR, "pythonModule": "t.task", **extra}
    return {
        "machineSpec": {"machineType": "n1-standard-8"},
        "replicaCount": "1",
        "pythonPackageSpec": package,
    }


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The working directory (with a `pkg/` package); gcloud's configuration dir is empty."""
    (tmp_path / "work" / "pkg").mkdir(parents=True)
    (tmp_path / "gcloud" / "configurations").mkdir(parents=True)
    return tmp_path / "work"


Parse = Callable[..., JobRequest]


@pytest.fixture
def parse(workdir: Path) -> Parse:
    """parse_create in `workdir` with an empty gcloud config; `files` are written first."""

    def run(
        *argv: str,
        env: Mapping[str, str] | None = None,
        track: str | None = None,
        files: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> JobRequest:
        for name, text in (files or {}).items():
            path = workdir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        environ = {"CLOUDSDK_CONFIG": str(workdir.parent / "gcloud"), **(env or {})}
        return parse_create(
            argv,
            environ,
            track=track,
            cwd=str(workdir),
            read_stdin=None if stdin is None else io.StringIO(stdin).read,
        )

    return run


# --- the body from flags ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "job_spec"),
    [
        pytest.param([POOL], {"workerPoolSpecs": [container()]}, id="one-container-pool"),
        pytest.param(
            [f"{POOL},replica-count=3,accelerator-type=NVIDIA_TESLA_T4,accelerator-count=2"],
            {
                "workerPoolSpecs": [
                    {
                        "machineSpec": {
                            "machineType": "n1-standard-4",
                            "acceleratorType": "NVIDIA_TESLA_T4",
                            "acceleratorCount": 2,
                        },
                        "replicaCount": "3",
                        "containerSpec": {"imageUri": IMAGE},
                    }
                ]
            },
            id="replicas-travel-as-strings-accelerators-as-ints",
        ),
        pytest.param(
            [f"{POOL},accelerator-type=NVIDIA_L4"],
            {
                "workerPoolSpecs": [
                    {
                        "machineSpec": {
                            "machineType": "n1-standard-4",
                            "acceleratorType": "NVIDIA_L4",
                            "acceleratorCount": 1,
                        },
                        "replicaCount": "1",
                        "containerSpec": {"imageUri": IMAGE},
                    }
                ]
            },
            id="an-accelerator-without-a-count-means-one",
        ),
        pytest.param(
            [f"{POOL},replica-count= +1_2 "],
            {"workerPoolSpecs": [container(replicas="12")]},
            id="counts-parse-like-python-int",
        ),
        pytest.param(
            [f"{POOL},machine-type=n2-standard-8,machine-type=a2-highgpu-1g"],
            {"workerPoolSpecs": [container("a2-highgpu-1g")]},
            id="the-last-duplicate-key-wins",
        ),
        pytest.param(
            [f"{WPS}=^@^machine-type=n1-standard-4@container-image-uri={IMAGE}@"],
            {"workerPoolSpecs": [container()]},
            id="alternate-delimiter",
        ),
        pytest.param(
            [PY_POOL, "--python-package-uris=gs://b/a.tgz,gs://b/b.tgz"],
            {"workerPoolSpecs": [python(packageUris=["gs://b/a.tgz", "gs://b/b.tgz"])]},
            id="python-package",
        ),
        pytest.param(
            [POOL, PY_POOL, "--python-package-uris=gs://b/a.tgz"],
            {"workerPoolSpecs": [container(), python(packageUris=["gs://b/a.tgz"])]},
            id="package-uris-only-for-python-pools",
        ),
        pytest.param(
            [PY_POOL, "--python-package-uris=gs://b/a.tgz", "--python-package-uris=gs://b/b.tgz"],
            {"workerPoolSpecs": [python(packageUris=["gs://b/b.tgz"])]},
            id="the-last-package-uris-flag-wins",
        ),
        pytest.param(
            [POOL, PY_POOL, "--args=--epochs=3,--lr=0.1"],
            {
                "workerPoolSpecs": [
                    container(args=["--epochs=3", "--lr=0.1"]),
                    python(args=["--epochs=3", "--lr=0.1"]),
                ]
            },
            id="args-go-to-every-pool",
        ),
        pytest.param(
            [POOL, "--args=a", "--args", "b,c", "--args="],
            {"workerPoolSpecs": [container(args=["a", "b", "c"])]},
            id="repeated-args-add-up",
        ),
        pytest.param(
            [POOL, "--args=^:^--x=1,2:y"],
            {"workerPoolSpecs": [container(args=["--x=1,2", "y"])]},
            id="args-with-commas",
        ),
        pytest.param(
            [POOL, PY_POOL, "--command=python,-m,t.task"],
            {
                "workerPoolSpecs": [
                    container(command=["python", "-m", "t.task"]),
                    python(),
                ]
            },
            id="command-only-for-container-pools",
        ),
        pytest.param(
            [POOL, f"{WPS}=", POOL, "--args=a"],
            {"workerPoolSpecs": [container(args=["a"]), {}, container(args=["a"])]},
            id="a-placeholder-pool-stays-empty",
        ),
        pytest.param(
            [
                POOL,
                "--network=projects/1/global/networks/vpc",
                "--service-account=sa@p.iam.gserviceaccount.com",
                "--persistent-resource-id=pr",
                "--enable-web-access",
                "--enable-dashboard-access",
            ],
            {
                "workerPoolSpecs": [container()],
                "network": "projects/1/global/networks/vpc",
                "serviceAccount": "sa@p.iam.gserviceaccount.com",
                "persistentResourceId": "pr",
                "enableWebAccess": True,
                "enableDashboardAccess": True,
            },
            id="job-wide-flags",
        ),
        pytest.param(
            [POOL, "--enable-web-access", "--no-enable-web-access", "--persistent-resource-id="],
            {"workerPoolSpecs": [container()]},
            id="switched-off-and-empty-flags-leave-no-field",
        ),
        pytest.param(
            [f"{POOL},disk-type=pd-standard,disk-size=250"],
            {
                "workerPoolSpecs": [
                    {
                        **container(),
                        "diskSpec": {"bootDiskType": "pd-standard", "bootDiskSizeGb": 250},
                    }
                ]
            },
            id="disk-keys-become-the-disk-spec",
        ),
        pytest.param(
            [f"{POOL},disk-size=500"],
            {"workerPoolSpecs": [{**container(), "diskSpec": {"bootDiskSizeGb": 500}}]},
            id="disk-size-alone",
        ),
    ],
)
def test_the_body_from_flags(parse: Parse, argv: list[str], job_spec: dict[str, Any]) -> None:
    body = parse(*P, *argv).body

    assert body == {"displayName": "job", "jobSpec": job_spec}


def test_labels_and_a_kms_key_complete_the_body(parse: Parse) -> None:
    body = parse(
        *P,
        POOL,
        "--labels=team=ml,env=dev",
        "--labels=cost=",
        "--kms-key=k",
        "--kms-keyring=kr",
        "--kms-location=us-central1",
    ).body

    assert body == {
        "displayName": "job",
        "jobSpec": {"workerPoolSpecs": [container()]},
        "labels": {"team": "ml", "env": "dev", "cost": ""},
        "encryptionSpec": {
            "kmsKeyName": "projects/p/locations/us-central1/keyRings/kr/cryptoKeys/k"
        },
    }


KMS_PARTS = ("--kms-key=k", "--kms-keyring=kr", "--kms-location=us-central1")


@pytest.mark.parametrize(
    ("argv", "env", "key_project"),
    [
        pytest.param(
            ["--project=p1", "--region=projects/p2/locations/us-central1"],
            {},
            "p1",
            id="the-project-flag-not-the-regions",
        ),
        pytest.param(
            ["--region=projects/p2/locations/us-central1"],
            {"CLOUDSDK_CORE_PROJECT": "env-p"},
            "env-p",
            id="the-project-property-not-the-regions",
        ),
        pytest.param(
            ["--project=p1"],
            {"CLOUDSDK_AI_REGION": "projects/p2/locations/us-central1"},
            "p1",
            id="not-the-region-propertys-either",
        ),
        pytest.param(
            ["--project=p1", "--region=projects/p2/locations/us-central1", "--kms-project=kp"],
            {},
            "kp",
            id="the-kms-project-flag-first",
        ),
    ],
)
def test_the_kms_key_is_in_the_project_gcloud_gives_it(
    parse: Parse, argv: list[str], env: dict[str, str], key_project: str
) -> None:
    request = parse(*argv, "--display-name=job", POOL, *KMS_PARTS, env=env)

    assert request.project == "p2"
    assert request.body["encryptionSpec"]["kmsKeyName"] == (
        f"projects/{key_project}/locations/us-central1/keyRings/kr/cryptoKeys/k"
    )


def test_a_local_package_pool_runs_the_image_gcloud_builds(parse: Parse) -> None:
    spec = f"{WPS}=machine-type=n1,executor-image-uri={EXECUTOR},script=run.sh"
    request = parse(
        *P, f"{spec},local-package-path=pkg,output-image-uri=gcr.io/p/built", "--args=a"
    )

    assert request.body["jobSpec"]["workerPoolSpecs"] == [
        {
            "machineSpec": {"machineType": "n1"},
            "replicaCount": "1",
            "containerSpec": {"imageUri": "gcr.io/p/built", "args": ["a"]},
        }
    ]


def test_later_pools_run_the_image_built_from_the_local_package(parse: Parse) -> None:
    first = f"{WPS}=machine-type=n1,executor-image-uri={EXECUTOR},python-module=t.task"
    request = parse(
        *P,
        f"{first},local-package-path=pkg,output-image-uri=gcr.io/p/built",
        f"{WPS}=machine-type=n2,replica-count=2",
        f"{WPS}=",
    )

    assert request.body["jobSpec"]["workerPoolSpecs"] == [
        {
            "machineSpec": {"machineType": "n1"},
            "replicaCount": "1",
            "containerSpec": {"imageUri": "gcr.io/p/built"},
        },
        {
            "machineSpec": {"machineType": "n2"},
            "replicaCount": "2",
            "containerSpec": {"imageUri": "gcr.io/p/built"},
        },
        {},
    ]


# --- the body from --config, and flags laid over it ----------------------------------------------

CONFIG = """\
workerPoolSpecs:
- machineSpec: {machineType: n1-highmem-8, acceleratorType: NVIDIA_TESLA_V100, acceleratorCount: 2}
  replicaCount: 1
  diskSpec: {bootDiskType: pd-ssd, bootDiskSizeGb: 200}
  containerSpec: {imageUri: gcr.io/p/c, command: [start], args: [--mode=a]}
- machineSpec: {machineType: n1-standard-8}
  replicaCount: '4'
  pythonPackageSpec:
    executorImageUri: e
    pythonModule: m
    packageUris: [gs://b/p.tgz]
network: projects/1/global/networks/config
serviceAccount: config@p.iam.gserviceaccount.com
persistentResourceId: config-pr
enableWebAccess: true
scheduling: {timeout: 7200s}
"""
CONFIG_POOLS = [
    {
        "machineSpec": {
            "machineType": "n1-highmem-8",
            "acceleratorType": "NVIDIA_TESLA_V100",
            "acceleratorCount": 2,
        },
        "replicaCount": "1",
        "diskSpec": {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 200},
        "containerSpec": {"imageUri": "gcr.io/p/c", "command": ["start"], "args": ["--mode=a"]},
    },
    {
        "machineSpec": {"machineType": "n1-standard-8"},
        "replicaCount": "4",
        "pythonPackageSpec": {
            "executorImageUri": "e",
            "pythonModule": "m",
            "packageUris": ["gs://b/p.tgz"],
        },
    },
]
CONFIG_SPEC = {
    "workerPoolSpecs": CONFIG_POOLS,
    "network": "projects/1/global/networks/config",
    "serviceAccount": "config@p.iam.gserviceaccount.com",
    "persistentResourceId": "config-pr",
    "enableWebAccess": True,
    "scheduling": {"timeout": "7200s"},
}


def with_pools(**changes: Any) -> list[dict[str, Any]]:
    """CONFIG_POOLS with `containerSpec`/`pythonPackageSpec` fields changed."""
    pools: list[dict[str, Any]] = yaml.safe_load(yaml.safe_dump(CONFIG_POOLS))
    for key in ("containerSpec", "pythonPackageSpec"):
        for pool in pools:
            if key in pool:
                pool[key].update(changes.get(key, {}))
    return pools


@pytest.mark.parametrize(
    ("flags", "changes"),
    [
        pytest.param([], {}, id="the-file-as-it-is"),
        pytest.param(
            [POOL],
            {"workerPoolSpecs": [container()]},
            id="worker-pool-specs-replace-all-the-files-pools",
        ),
        pytest.param(
            ["--args=x,y"],
            {
                "workerPoolSpecs": with_pools(
                    containerSpec={"args": ["x", "y"]}, pythonPackageSpec={"args": ["x", "y"]}
                )
            },
            id="args-replace-args-in-every-pool",
        ),
        pytest.param(
            ["--command=run"],
            {"workerPoolSpecs": with_pools(containerSpec={"command": ["run"]})},
            id="command-replaces-the-container-command",
        ),
        pytest.param(
            ["--python-package-uris=gs://b/new.tgz"],
            {},
            id="package-uris-never-touch-the-files-pools",
        ),
        pytest.param(
            [
                "--network=projects/1/global/networks/flag",
                "--service-account=flag@p.iam.gserviceaccount.com",
                "--persistent-resource-id=flag-pr",
                "--enable-dashboard-access",
            ],
            {
                "network": "projects/1/global/networks/flag",
                "serviceAccount": "flag@p.iam.gserviceaccount.com",
                "persistentResourceId": "flag-pr",
                "enableDashboardAccess": True,
            },
            id="job-wide-flags-override",
        ),
        pytest.param(["--network="], {"network": ""}, id="an-empty-network-clears-the-files"),
        pytest.param(
            ["--persistent-resource-id="], {}, id="an-empty-persistent-resource-id-keeps-the-files"
        ),
        pytest.param(
            ["--no-enable-web-access"], {}, id="no-enable-web-access-does-not-clear-the-files"
        ),
    ],
)
def test_flags_win_over_the_config_file(
    parse: Parse, flags: list[str], changes: dict[str, Any]
) -> None:
    request = parse(*P, "--config=job.yaml", *flags, files={"job.yaml": CONFIG})

    assert request.body["jobSpec"] == {**CONFIG_SPEC, **changes}


@pytest.mark.parametrize(
    ("config", "job_spec"),
    [
        pytest.param(
            "workerPoolSpecs:\n  machineSpec: {machineType: n1}\n  replicaCount: 2\n"
            "  containerSpec: {imageUri: i}\n",
            {
                "workerPoolSpecs": [
                    {
                        "machineSpec": {"machineType": "n1"},
                        "replicaCount": "2",
                        "containerSpec": {"imageUri": "i"},
                    }
                ]
            },
            id="a-single-pool-mapping-is-a-list-of-one",
        ),
        pytest.param(
            "workerPoolSpecs:\n- machineSpec: {machineType: n1}\n"
            "  containerSpec: {imageUri: i, args: [], command: null, env: {name: A, value: b}}\n"
            "  nfsMounts: []\nserviceAccount: null\nenableWebAccess: false\n",
            {
                "workerPoolSpecs": [
                    {
                        "machineSpec": {"machineType": "n1"},
                        "containerSpec": {"imageUri": "i", "env": [{"name": "A", "value": "b"}]},
                    }
                ],
                "enableWebAccess": False,
            },
            id="nulls-and-empty-lists-are-dropped-false-stays",
        ),
        pytest.param(
            '{"workerPoolSpecs": [{"machineSpec": {"machineType": "n1"}, "replicaCount": "7",'
            ' "pythonPackageSpec": {"executorImageUri": "e", "pythonModule": "m"}}]}',
            {
                "workerPoolSpecs": [
                    {
                        "machineSpec": {"machineType": "n1"},
                        "replicaCount": "7",
                        "pythonPackageSpec": {"executorImageUri": "e", "pythonModule": "m"},
                    }
                ]
            },
            id="json-is-yaml",
        ),
        pytest.param(
            "workerPoolSpecs:\n  machineSpec: {machineType: n1, acceleratorType: 5,"
            " acceleratorCount: ' 2 '}\n  replicaCount: '+3'\n  diskSpec: {bootDiskSizeGb: '200'}\n"
            "  containerSpec: {imageUri: i}\n",
            {
                "workerPoolSpecs": [
                    {
                        "machineSpec": {
                            "machineType": "n1",
                            "acceleratorType": "NVIDIA_TESLA_T4",
                            "acceleratorCount": 2,
                        },
                        "replicaCount": "3",
                        "diskSpec": {"bootDiskSizeGb": 200},
                        "containerSpec": {"imageUri": "i"},
                    }
                ]
            },
            id="integers-as-text-and-an-enum-by-its-number",
        ),
        pytest.param(
            "workerPoolSpecs:\n  machineSpec: {machineType: n1}\n  replicaCount: 0100\n"
            "  containerSpec: {imageUri: i, args: ['y', '1e3']}\nenableWebAccess: on\n",
            {
                "workerPoolSpecs": [
                    {
                        "machineSpec": {"machineType": "n1"},
                        "replicaCount": "64",
                        "containerSpec": {"imageUri": "i", "args": ["y", "1e3"]},
                    }
                ],
                "enableWebAccess": True,
            },
            id="yaml-1-1-octal-and-on",
        ),
        pytest.param(
            "worker_pool_specs:\n- machine_spec: {machine_type: n1}\n  replica_count: 2\n"
            "  container_spec: {image_uri: i}\nnetwork: first\nnetwork: second\n",
            {
                "worker_pool_specs": [
                    {
                        "machine_spec": {"machine_type": "n1"},
                        "replica_count": 2,
                        "container_spec": {"image_uri": "i"},
                    }
                ],
                "network": "first",
            },
            id="snake-case-keys-go-as-they-are-and-the-first-of-two-keys-wins",
        ),
    ],
)
def test_the_config_file_reads_as_apitools_reads_it(
    parse: Parse, config: str, job_spec: dict[str, Any]
) -> None:
    request = parse(*P, "--config=job.yaml", files={"job.yaml": config})

    assert request.body["jobSpec"] == job_spec


def test_a_config_may_come_from_standard_input(parse: Parse) -> None:
    request = parse(*P, "--config", "-", "--args=x", stdin=CONFIG)

    assert request.body["jobSpec"]["workerPoolSpecs"] == with_pools(
        containerSpec={"args": ["x"]}, pythonPackageSpec={"args": ["x"]}
    )


def test_the_service_reads_snake_case_keys_under_their_json_names(parse: Parse) -> None:
    config = (
        "worker_pool_specs:\n- machine_spec: {machine_type: n1, accelerator_count: 1}\n"
        "  container_spec: {image_uri: i}\n  disk_spec: {boot_disk_size_gb: 200}\n"
        "persistent_resource_id: pr\n"
    )

    request = parse(*P, "--config=job.yaml", files={"job.yaml": config})

    assert request.service_body["jobSpec"] == {
        "workerPoolSpecs": [
            {
                "machineSpec": {"machineType": "n1", "acceleratorCount": 1},
                "containerSpec": {"imageUri": "i"},
                "diskSpec": {"bootDiskSizeGb": 200},
            }
        ],
        "persistentResourceId": "pr",
    }
    assert (
        request.persistent_resource_name
        == "projects/p/locations/us-central1/persistentResources/pr"
    )


def test_a_generated_config_reads_back_in_gclouds_yaml_1_1(parse: Parse) -> None:
    request = parse(*P, f"{POOL},disk-size=200", "--args=y,n,1e3,010,2001-12-14")

    assert request.config_yaml is not None
    assert yamlread.load_config(request.config_yaml) == request.body["jobSpec"]


# --- where it goes -------------------------------------------------------------------------------

DEFAULT_CONFIG = "[core]\nproject = file-p\n[ai]\nregion = europe-west4\n"
OTHER_CONFIG = "[core]\nproject = other-p\n[ai]\nregion = asia-east1\n"


@pytest.mark.parametrize(
    ("argv", "env", "gcloud_files", "expected"),
    [
        pytest.param(
            ["--project=p", "--region=us-central1"], {}, {}, ("p", "us-central1"), id="flags"
        ),
        pytest.param(
            [],
            {"CLOUDSDK_CORE_PROJECT": "env-p", "CLOUDSDK_AI_REGION": "us-east1"},
            {},
            ("env-p", "us-east1"),
            id="environment",
        ),
        pytest.param(
            [],
            {},
            {"active_config": "default", "configurations/config_default": DEFAULT_CONFIG},
            ("file-p", "europe-west4"),
            id="default-configuration",
        ),
        pytest.param(
            [],
            {"CLOUDSDK_CORE_PROJECT": "env-p"},
            {"active_config": "default", "configurations/config_default": DEFAULT_CONFIG},
            ("env-p", "europe-west4"),
            id="environment-beats-configuration",
        ),
        pytest.param(
            ["--project=flag-p", "--region=us-west1"],
            {"CLOUDSDK_CORE_PROJECT": "env-p", "CLOUDSDK_AI_REGION": "us-east1"},
            {"active_config": "default", "configurations/config_default": DEFAULT_CONFIG},
            ("flag-p", "us-west1"),
            id="flags-beat-environment",
        ),
        pytest.param(
            [],
            {},
            {
                "configurations/config_default": DEFAULT_CONFIG,
                "configurations/config_other": OTHER_CONFIG,
                "active_config": "other",
            },
            ("other-p", "asia-east1"),
            id="active-config-file",
        ),
        pytest.param(
            [],
            {"CLOUDSDK_ACTIVE_CONFIG_NAME": "other"},
            {
                "configurations/config_default": DEFAULT_CONFIG,
                "configurations/config_other": OTHER_CONFIG,
            },
            ("other-p", "asia-east1"),
            id="active-config-variable",
        ),
        pytest.param(
            ["--configuration=other"],
            {"CLOUDSDK_ACTIVE_CONFIG_NAME": "default"},
            {
                "configurations/config_default": DEFAULT_CONFIG,
                "configurations/config_other": OTHER_CONFIG,
            },
            ("other-p", "asia-east1"),
            id="configuration-flag",
        ),
        pytest.param(
            ["--project=flag-p", "--region=projects/full-p/locations/us-west1"],
            {},
            {},
            ("full-p", "us-west1"),
            id="a-full-region-name-sets-the-project",
        ),
        pytest.param(
            ["--region=projects/full-p/locations/us-west1"],
            {},
            {"active_config": "default", "configurations/config_default": DEFAULT_CONFIG},
            ("full-p", "us-west1"),
            id="a-full-region-name-beats-the-configuration",
        ),
        pytest.param(
            ["--project=flag-p"],
            {"CLOUDSDK_AI_REGION": "projects/env-p/locations/us-east1"},
            {},
            ("env-p", "us-east1"),
            id="the-region-property-may-be-a-full-name",
        ),
        pytest.param(
            ["--region=us-west1"],
            {"CLOUDSDK_AI_REGION": "projects/env-p/locations/us-east1"},
            {"active_config": "default", "configurations/config_default": DEFAULT_CONFIG},
            ("file-p", "us-west1"),
            id="the-region-flag-beats-a-full-name-property-whole",
        ),
    ],
)
def test_project_and_region_resolve_as_gcloud_resolves_them(
    parse: Parse,
    workdir: Path,
    argv: list[str],
    env: dict[str, str],
    gcloud_files: dict[str, str],
    expected: tuple[str, str],
) -> None:
    for name, text in gcloud_files.items():
        (workdir.parent / "gcloud" / name).write_text(text, encoding="utf-8")

    request = parse(*argv, "--display-name=job", POOL, env=env)

    project, region = expected
    assert (request.project, request.region) == expected
    assert request.parent == f"projects/{project}/locations/{region}"
    assert request.url == (
        f"https://{region}-aiplatform.googleapis.com/v1/projects/{project}/locations/{region}"
        "/customJobs"
    )


@pytest.mark.parametrize(
    ("track", "api_version", "prefix"),
    [(None, "v1", ()), ("beta", "v1beta1", ("beta",)), ("alpha", "v1beta1", ("alpha",))],
)
def test_the_track_picks_the_api_version(
    parse: Parse, track: str | None, api_version: str, prefix: tuple[str, ...]
) -> None:
    request = parse(*P, POOL, track=track)

    assert request.api_version == api_version
    assert request.url == URL.replace("/v1/", f"/{api_version}/")
    assert request.gcloud_args[: len(prefix) + 3] == (*prefix, "ai", "custom-jobs", "create")


@pytest.mark.parametrize(
    ("env", "gcloud_file", "endpoint"),
    [
        pytest.param({}, None, "https://us-central1-aiplatform.googleapis.com/", id="regional"),
        pytest.param(
            {"CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": "http://127.0.0.1:8080/"},
            None,
            "http://127.0.0.1:8080/",
            id="override-from-the-environment",
        ),
        pytest.param(
            {},
            "[api_endpoint_overrides]\naiplatform = http://emulator:9000/base/\n",
            "http://emulator:9000/base/",
            id="override-from-the-configuration",
        ),
    ],
)
def test_the_endpoint_is_gclouds(
    parse: Parse, workdir: Path, env: dict[str, str], gcloud_file: str | None, endpoint: str
) -> None:
    if gcloud_file:
        gcloud_dir = workdir.parent / "gcloud"
        (gcloud_dir / "configurations" / "config_default").write_text(gcloud_file, encoding="utf-8")
        (gcloud_dir / "active_config").write_text("default", encoding="utf-8")

    request = parse(*P, POOL, env=env)

    assert request.endpoint == endpoint
    assert request.url == f"{endpoint}v1/projects/p/locations/us-central1/customJobs"


def test_the_persistent_resource_is_named_in_the_jobs_location(parse: Parse) -> None:
    request = parse(*P, POOL, "--persistent-resource-id=pr")

    assert request.persistent_resource_id == "pr"
    assert request.persistent_resource_name == (
        "projects/p/locations/us-central1/persistentResources/pr"
    )
    assert parse(*P, POOL).persistent_resource_name is None


# --- as whom, and prgcloud's own options ---------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "env", "identity"),
    [
        pytest.param([], {}, Identity(), id="nobody-in-particular"),
        pytest.param(
            [
                "--account=me@example.com",
                "--impersonate-service-account=sa@p.iam.gserviceaccount.com",
                "--access-token-file=/t/token",
                "--configuration=default",
            ],
            {},
            Identity(
                account="me@example.com",
                impersonate_service_account="sa@p.iam.gserviceaccount.com",
                access_token_file="/t/token",
                configuration="default",
            ),
            id="flags",
        ),
        pytest.param(
            [],
            {"CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": "/env/token"},
            Identity(access_token_file="/env/token"),
            id="token-file-from-the-environment",
        ),
        pytest.param(
            ["--access-token-file=/flag/token"],
            {"CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": "/env/token"},
            Identity(access_token_file="/flag/token"),
            id="token-file-flag-wins",
        ),
        pytest.param(
            ["--credential-file-override=/c/sa.json", "--authorization-token-file=/c/auth"],
            {},
            Identity(credential_file_override="/c/sa.json", authorization_token_file="/c/auth"),
            id="credential-overrides",
        ),
    ],
)
def test_the_identity_is_the_one_gcloud_will_use(
    parse: Parse, argv: list[str], env: dict[str, str], identity: Identity
) -> None:
    # config_dir (where gcloud keeps its credentials) is a temporary directory here.
    assert replace(parse(*P, POOL, *argv, env=env).identity, config_dir=None) == identity


@pytest.mark.parametrize(
    ("argv", "options"),
    [
        pytest.param([], Options(), id="none"),
        pytest.param(["--dry-run"], Options(dry_run="shell"), id="dry-run-is-shell"),
        pytest.param(["--dry-run=rest"], Options(dry_run="rest"), id="dry-run-rest"),
        pytest.param(["--dry-run=python"], Options(dry_run="python"), id="dry-run-python"),
        pytest.param(["--dry-run=rest", "--dry-run"], Options(dry_run="shell"), id="last-wins"),
        pytest.param(
            ["--wait-for-capacity"],
            Options(wait_for_capacity=DEFAULT_WAIT_SECONDS),
            id="wait-default",
        ),
        pytest.param(["--wait-for-capacity=90s"], Options(wait_for_capacity=90.0), id="seconds"),
        pytest.param(["--wait-for-capacity=10m"], Options(wait_for_capacity=600.0), id="minutes"),
        pytest.param(["--wait-for-capacity=2h"], Options(wait_for_capacity=7200.0), id="hours"),
        pytest.param(["--wait-for-capacity=45"], Options(wait_for_capacity=45.0), id="bare"),
        pytest.param(["--wait-for-capacity=1.5m"], Options(wait_for_capacity=90.0), id="frac"),
        pytest.param(
            ["--skip-precheck", "--strict"],
            Options(skip_precheck=True, strict=True),
            id="switches",
        ),
        pytest.param(["--strict", "--no-strict"], Options(), id="no-strict"),
    ],
)
def test_prgclouds_options(parse: Parse, argv: list[str], options: Options) -> None:
    assert parse(*P, POOL, *argv).options == options


def test_the_default_wait_is_thirty_minutes() -> None:
    assert DEFAULT_WAIT_SECONDS == 1800.0


# --- the gcloud arguments ----------------------------------------------------------------------


def test_gcloud_gets_the_users_arguments_less_prgclouds_own(parse: Parse) -> None:
    argv = [
        "-q",
        "--project",
        "p",
        "--dry-run=rest",
        "--region=us-central1",
        "--display-name",
        "my job",
        "--skip-precheck",
        POOL,
        "--strict",
        "--wait-for-capacity",
        "--format=json",
        "--verbosity",
        "debug",
        "--no-strict",
        "--wait-for-capacity=5m",
    ]

    request = parse(*argv)

    assert request.gcloud_args == (
        "ai",
        "custom-jobs",
        "create",
        "-q",
        "--project",
        "p",
        "--region=us-central1",
        "--display-name",
        "my job",
        POOL,
        "--format=json",
        "--verbosity",
        "debug",
    )
    assert request.config_yaml is None
    assert request.gcloud_argv() == request.gcloud_args
    assert request.gcloud_argv("/ignored.yaml") == request.gcloud_args


def test_gcloud_reads_a_flags_file_itself_when_nothing_is_rewritten(parse: Parse) -> None:
    request = parse(
        *P,
        "--flags-file=f.yaml",
        files={"f.yaml": f"{WPS}: {{machine-type: n1, container-image-uri: i}}\n"},
    )

    assert request.gcloud_args[3:] == (*P, "--flags-file=f.yaml")
    assert request.config_yaml is None


def spec_of(request: JobRequest) -> Any:
    assert request.config_yaml is not None
    return yaml.safe_load(request.config_yaml)


def test_disk_keys_hand_gcloud_a_generated_config(parse: Parse) -> None:
    request = parse(
        *P,
        f"{POOL},disk-type=pd-standard,disk-size=250",
        PY_POOL,
        "--args=a",
        "--command=c",
        "--python-package-uris=gs://b/p.tgz",
        "--labels=team=ml",
        "--network=n",
        "-q",
        "--dry-run",
    )

    assert request.gcloud_argv("job.yaml") == (
        "ai",
        "custom-jobs",
        "create",
        *P,
        "--labels=team=ml",
        "--network=n",
        "-q",
        "--config=job.yaml",
    )
    assert spec_of(request) == request.body["jobSpec"]
    assert spec_of(request)["workerPoolSpecs"][0]["diskSpec"] == {
        "bootDiskType": "pd-standard",
        "bootDiskSizeGb": 250,
    }
    assert request.gcloud_argv("/tmp/job.yaml")[-1] == "--config=/tmp/job.yaml"
    with pytest.raises(ValueError, match="needs the path"):
        request.gcloud_argv()


def test_a_config_read_from_standard_input_is_handed_over_as_a_file(parse: Parse) -> None:
    request = parse(
        *P, "--config", "-", "--command=go", "--persistent-resource-id=pr", stdin=CONFIG
    )

    assert request.gcloud_argv("job.yaml") == (
        "ai",
        "custom-jobs",
        "create",
        *P,
        "--persistent-resource-id=pr",
        "--config=job.yaml",
    )
    assert spec_of(request) == request.body["jobSpec"]
    assert spec_of(request)["persistentResourceId"] == "pr"
    assert spec_of(request)["workerPoolSpecs"][0]["containerSpec"]["command"] == ["go"]


def test_flags_file_entries_are_spelled_out_when_gcloud_gets_a_generated_config(
    parse: Parse,
) -> None:
    flags_file = """\
--labels: {team: ml}
--enable-web-access: true
--worker-pool-spec: {machine-type: n1, container-image-uri: i, disk-size: 200}
--args: [x, 'y,z']
--dry-run: rest
--format: json
"""
    request = parse(*P, "--flags-file", "f.yaml", "--verbosity=info", files={"f.yaml": flags_file})

    assert request.gcloud_argv("job.yaml") == (
        "ai",
        "custom-jobs",
        "create",
        *P,
        "--verbosity=info",
        "--labels=team=ml",
        "--enable-web-access",
        "--format=json",
        "--config=job.yaml",
    )
    assert spec_of(request) == request.body["jobSpec"]
    assert spec_of(request)["workerPoolSpecs"][0]["containerSpec"]["args"] == ["x", "y,z"]
    assert request.options.dry_run == "rest"


@pytest.mark.parametrize(
    "items",
    [
        pytest.param(["a", "b"], id="plain"),
        pytest.param(["x", "y,z"], id="a-comma"),
        pytest.param(["a,|", "b@~"], id="several-delimiters"),
        pytest.param(["^a^", "b"], id="a-leading-caret"),
        pytest.param(["a", ""], id="a-last-empty-item"),
        pytest.param(["", "a"], id="a-first-empty-item"),
        pytest.param([",|@~#%+!:;"], id="every-single-delimiter"),
    ],
)
def test_a_flags_file_list_spelled_out_splits_back_into_the_same_items(items: list[str]) -> None:
    [arg] = inline_flag(Occurrence(FLAGS["--args"], items, from_flags_file=0))

    name, _, value = arg.partition("=")
    assert name == "--args"
    assert argdict.split_list(value) == items


def test_a_flags_file_mapping_spelled_out_parses_back_into_the_same_dict() -> None:
    labels = {"a": "1,2", "b": ""}
    [arg] = inline_flag(Occurrence(FLAGS["--labels"], labels, from_flags_file=0))

    assert argdict.parse_dict(arg.partition("=")[2]) == labels


def test_flags_file_pools_read_like_command_line_pools(parse: Parse) -> None:
    flags_file = (
        f"- {WPS}: {{machine-type: n1-standard-4, replica-count: 2,"
        f" container-image-uri: '{IMAGE}'}}\n"
        f"- {WPS}: {{}}\n"
        f"- {WPS}: 'machine-type=n1-standard-4,container-image-uri={IMAGE}'\n"
    )

    request = parse(*P, "--flags-file=f.yaml", files={"f.yaml": flags_file})

    assert request.body["jobSpec"]["workerPoolSpecs"] == [container(replicas="2"), {}, container()]


def test_an_empty_config_flag_means_no_config_file(parse: Parse) -> None:
    assert parse(*P, "--config=", POOL).body["jobSpec"] == {"workerPoolSpecs": [container()]}


def test_an_empty_labels_flag_sends_empty_labels(parse: Parse) -> None:
    assert parse(*P, POOL, "--labels=").body["labels"] == {}


def test_the_installations_properties_are_the_last_layer(tmp_path: Path) -> None:
    sdk = tmp_path / "google-cloud-sdk"
    (sdk / "bin").mkdir(parents=True)
    gcloud = sdk / "bin" / "gcloud"
    gcloud.write_text("#!/bin/sh\n")
    gcloud.chmod(0o755)
    (sdk / "properties").write_text(
        "[core]\nproject = from-installation\n[ai]\nregion = us-east1\n"
    )
    environ = {"CLOUDSDK_CONFIG": str(tmp_path / "config"), "PATH": str(sdk / "bin")}
    request = parse_create(["--display-name=d", POOL], environ, track=None, cwd=str(tmp_path))
    assert (request.project, request.region) == ("from-installation", "us-east1")
    environ["CLOUDSDK_CORE_PROJECT"] = "from-environment"
    request = parse_create(["--display-name=d", POOL], environ, track=None, cwd=str(tmp_path))
    assert request.project == "from-environment"
