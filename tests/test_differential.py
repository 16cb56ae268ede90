"""The proof that prgcloud reads a command line exactly as gcloud does.

For every case the real gcloud (`gcloud [track] ai custom-jobs create ARGV`, fresh
configuration directory) submits to the capture server, and the request it POSTs must be
key for key the `url` and `body` of `parse_create(ARGV, ...)` given the same environment,
working directory and files. A second table holds command lines both must refuse.

Every `--dry-run` style of every submitted case is run as well, pasted into another
configuration (another project, region and endpoint), and must send what gcloud sent, to
where gcloud sent it: the shell snippet with the real gcloud under bash and with a recording
gcloud under dash, the curl snippet under both, the Python snippet with the real SDK.

gcloud takes ~0.7 s to start, so all cases run once, in parallel threads, each against a
capture server and a directory of its own, the shell snippet that runs gcloud right after;
the other styles run as one batch each (tests/snippet_runs.py). The tests then only compare.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from capture_server import (
    TOKEN,
    CaptureServer,
    gcloud_env,
    running_capture_server,
    write_token_file,
)
from snippet_runs import (
    Job,
    Run,
    as_sent,
    install_recording_gcloud,
    recording_env,
    run_python_snippets,
    run_shell_snippets,
)

from prgcloud import render
from prgcloud.errors import BadInputError
from prgcloud.parse import parse_create
from prgcloud.request import JobRequest

P = ("--project=my-project", "--region=us-central1")
IMAGE = "gcr.io/my-project/trainer:v1"
EXECUTOR = "us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest"
POOL = f"--worker-pool-spec=machine-type=n1-standard-4,container-image-uri={IMAGE}"
KMS = "projects/my-project/locations/us-central1/keyRings/kr/cryptoKeys/k"


@dataclass(frozen=True)
class Case:
    """One command line and the world it runs in."""

    argv: tuple[str, ...]
    track: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)  # in the working directory
    gcloud_files: Mapping[str, str] = field(default_factory=dict)  # in $CLOUDSDK_CONFIG
    stdin: str | None = None


def param(*argv: str, id: str, marks: Any = (), **world: Any) -> Any:
    return pytest.param(Case(tuple(argv), **world), id=id, marks=marks)


CONFIG_LIST = """\
workerPoolSpecs:
- machineSpec:
    machineType: n1-highmem-8
    acceleratorType: NVIDIA_TESLA_V100
    acceleratorCount: 2
  replicaCount: 1
  diskSpec:
    bootDiskType: pd-ssd
    bootDiskSizeGb: 200
  containerSpec:
    imageUri: gcr.io/my-project/trainer:v1
    command: [python, -m, trainer.task]
    args: [--epochs=10]
    env:
    - name: MODE
      value: "fast $HOME ✓"
- machineSpec:
    machineType: n1-standard-8
  replicaCount: '4'
  pythonPackageSpec:
    executorImageUri: us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest
    packageUris: [gs://my-bucket/trainer-0.1.tar.gz]
    pythonModule: trainer.task
    args: [--role=worker]
scheduling:
  timeout: 7200s
  restartJobOnWorkerRestart: true
baseOutputDirectory:
  outputUriPrefix: gs://my-bucket/out
serviceAccount: trainer@my-project.iam.gserviceaccount.com
network: projects/123/global/networks/from-file
persistentResourceId: from-file
enableWebAccess: false
"""

CONFIG_MAPPING = """\
workerPoolSpecs:
  machineSpec:
    machineType: n1-highmem-2
  replicaCount: 1
  containerSpec:
    imageUri: gcr.io/ucaip-test/ucaip-training-test
    args:
    - port=8500
    command:
    - start
"""

FLAGS_FILE = f"""\
--display-name: from flags file
--worker-pool-spec:
  machine-type: n1-standard-4
  replica-count: 2
  container-image-uri: {IMAGE}
--labels:
  team: ml
"""

CONFIG_WITH_EMPTY_POOL = f"""\
workerPoolSpecs:
- machineSpec: {{machineType: n1-standard-4}}
  containerSpec: {{imageUri: {IMAGE}}}
- {{}}
"""

DEFAULT_CONFIGURATION = """\
[core]
project = config-project

[ai]
region = europe-west4
"""

OTHER_CONFIGURATION = """\
[core]
project = other-config-project

[ai]
region = asia-east1
"""

SUBMITTED = [
    # --- worker pools on the command line ---
    param(*P, "--display-name=minimal", POOL, id="one-container-pool"),
    param(
        *P,
        "--display-name=gpus",
        "--worker-pool-spec=machine-type=n1-standard-8,replica-count=3,"
        f"accelerator-type=NVIDIA_TESLA_T4,accelerator-count=2,container-image-uri={IMAGE}",
        id="replicas-and-gpus",
    ),
    param(
        *P,
        "--display-name=one gpu",
        f"--worker-pool-spec=machine-type=g2-standard-8,accelerator-type=NVIDIA_L4,"
        f"container-image-uri={IMAGE}",
        id="accelerator-type-without-count",
    ),
    param(
        *P,
        "--display-name=tpu",
        "--worker-pool-spec=machine-type=ct5lp-hightpu-4t,accelerator-type=TPU_V5_LITEPOD,"
        f"accelerator-count=4,container-image-uri={IMAGE}",
        id="tpu-v5e",
    ),
    param(
        *P,
        "--display-name=tpu v4",
        f"--worker-pool-spec=machine-type=cloud-tpu,accelerator-type=TPU_V4_POD,"
        f"accelerator-count=8,replica-count=1,container-image-uri={IMAGE}",
        id="tpu-v4",
    ),
    param(
        *P,
        "--display-name=three pools",
        f"--worker-pool-spec=machine-type=n1-highmem-8,container-image-uri={IMAGE}",
        f"--worker-pool-spec=machine-type=n1-standard-8,replica-count=4,"
        f"accelerator-type=NVIDIA_TESLA_V100,container-image-uri={IMAGE}",
        f"--worker-pool-spec=machine-type=n1-standard-4,replica-count=2,"
        f"container-image-uri={IMAGE}",
        id="several-pools",
    ),
    param(
        *P,
        "--display-name=placeholder",
        POOL,
        "--worker-pool-spec=",
        f"--worker-pool-spec=machine-type=n1-standard-4,replica-count=2,"
        f"container-image-uri={IMAGE}",
        id="second-pool-is-a-placeholder",
    ),
    param(
        *P,
        "--display-name=caret",
        f"--worker-pool-spec=^:^machine-type=n1-standard-4:replica-count=2:"
        f"container-image-uri={IMAGE.replace(':v1', '')}",
        id="caret-delimiter",
    ),
    param(
        *P,
        "--display-name=caret long",
        f"--worker-pool-spec=^;;^machine-type=n1-standard-4;;container-image-uri={IMAGE}",
        id="caret-multi-character-delimiter",
    ),
    param(*P, "--display-name=trailing", POOL + ",", id="one-trailing-delimiter"),
    param(
        *P,
        "--display-name=last wins",
        f"--worker-pool-spec=replica-count=1,machine-type=n1-standard-4,"
        f"container-image-uri={IMAGE},replica-count=5",
        id="duplicate-key-last-wins",
    ),
    param(
        *P,
        "--display-name=python",
        f"--worker-pool-spec=machine-type=n1-standard-4,replica-count=1,"
        f"executor-image-uri={EXECUTOR},python-module=trainer.task",
        "--python-package-uris=gs://my-bucket/a-0.1.tar.gz,gs://my-bucket/b-0.2.tar.gz",
        "--args=--epochs=3,--lr=0.01",
        id="executor-image-python-module-package-uris",
    ),
    param(
        *P,
        "--display-name=python no packages",
        f"--worker-pool-spec=machine-type=n1-standard-4,executor-image-uri={EXECUTOR},"
        "python-module=trainer.task",
        id="executor-image-without-package-uris",
    ),
    param(
        *P,
        "--display-name=mixed",
        POOL,
        f"--worker-pool-spec=machine-type=n1-standard-4,executor-image-uri={EXECUTOR},"
        "python-module=trainer.task",
        "--python-package-uris=gs://my-bucket/a-0.1.tar.gz",
        "--command=python,-m,trainer.task",
        "--args=--x=1",
        id="package-uris-and-command-only-where-they-apply",
    ),
    param(
        *P,
        "--display-name=metacharacters",
        POOL,
        '--args=^|^two words|it\'s|say "hi"|$HOME $(id)|`id`|back\\slash|*|a;b && c|ünï ✓',
        id="shell-metacharacters-in-args",
    ),
    param(
        *P,
        "--display-name=j ob 'ünï' $HOME\nline two",
        POOL,
        "--command=/bin/sh,-c,echo $HOME && sleep 1",
        id="spaces-quotes-newline-in-display-name",
    ),
    param(
        *P,
        "--display-name=python ints",
        "--worker-pool-spec=machine-type=n1-standard-4,replica-count=+3,"
        f"accelerator-type=NVIDIA_TESLA_T4,accelerator-count=1_0,container-image-uri={IMAGE}",
        id="int-keys-parse-like-python",
    ),
    param(
        *P,
        "--display-name=equals",
        "--worker-pool-spec=machine-type=n1-standard-4,"
        f"executor-image-uri={EXECUTOR},python-module=trainer.task=x",
        id="value-split-at-first-equals-sign",
    ),
    param(
        *P,
        "--display-name=label twice",
        POOL,
        "--labels=env=dev,env=prod",
        id="same-label-twice-in-one-flag",
    ),
    param(*P, "--display-name=args twice", POOL, "--args=a,b", "--args=c", id="args-twice"),
    param(
        *P,
        "--display-name=on a resource",
        POOL,
        "--persistent-resource-id=my-resource",
        "--network=projects/123/global/networks/my-vpc",
        "--service-account=trainer@my-project.iam.gserviceaccount.com",
        "--enable-web-access",
        "--enable-dashboard-access",
        id="resource-network-account-access",
    ),
    param(*P, "--display-name=no web", POOL, "--no-enable-web-access", id="no-enable-web-access"),
    param(
        *P,
        "--display-name=labels",
        POOL,
        "--labels=team=ml,env=dev",
        "--labels=owner=me",
        id="labels-repeated",
    ),
    # --- CMEK ---
    param(*P, "--display-name=kms", POOL, f"--kms-key={KMS}", id="kms-full-name"),
    param(
        *P,
        "--display-name=kms parts",
        POOL,
        "--kms-key=k",
        "--kms-keyring=kr",
        "--kms-location=us-central1",
        id="kms-parts-project-defaults",
    ),
    param(
        *P,
        "--display-name=kms project",
        POOL,
        "--kms-key=k",
        "--kms-keyring=kr",
        "--kms-location=us-central1",
        "--kms-project=key-project",
        id="kms-parts-with-project",
    ),
    # --- where it goes ---
    param(
        "--display-name=full region",
        POOL,
        "--project=my-project",
        "--region=projects/region-project/locations/europe-west4",
        id="region-as-full-name",
    ),
    param(
        "--display-name=from env",
        POOL,
        env={"CLOUDSDK_CORE_PROJECT": "env-project", "CLOUDSDK_AI_REGION": "us-east1"},
        id="project-and-region-from-environment",
    ),
    param(
        "--display-name=from config",
        POOL,
        gcloud_files={
            "active_config": "default",
            "configurations/config_default": DEFAULT_CONFIGURATION,
        },
        id="project-and-region-from-active-configuration",
    ),
    param(
        "--display-name=env beats config",
        POOL,
        env={"CLOUDSDK_CORE_PROJECT": "env-project"},
        gcloud_files={
            "active_config": "default",
            "configurations/config_default": DEFAULT_CONFIGURATION,
        },
        id="environment-beats-configuration",
    ),
    param(
        "--display-name=flags beat env",
        POOL,
        *P,
        env={"CLOUDSDK_CORE_PROJECT": "env-project", "CLOUDSDK_AI_REGION": "us-east1"},
        id="flags-beat-environment",
    ),
    param(
        "--display-name=named configuration",
        POOL,
        gcloud_files={
            "active_config": "other",
            "configurations/config_default": DEFAULT_CONFIGURATION,
            "configurations/config_other": OTHER_CONFIGURATION,
        },
        id="active-config-file-names-the-configuration",
    ),
    param(
        "--display-name=configuration flag",
        POOL,
        "--configuration=other",
        gcloud_files={
            "configurations/config_default": DEFAULT_CONFIGURATION,
            "configurations/config_other": OTHER_CONFIGURATION,
        },
        id="configuration-flag",
    ),
    param(*P, "--display-name=beta", POOL, track="beta", id="beta-track"),
    param(*P, "--display-name=alpha", POOL, "--enable-web-access", track="alpha", id="alpha-track"),
    # --- how it is written ---
    param(
        "--display-name",
        "separate values",
        "--worker-pool-spec",
        f"machine-type=n1-standard-4,container-image-uri={IMAGE}",
        "--region",
        "us-central1",
        "--project",
        "my-project",
        "--labels",
        "a=b",
        "--network",
        "projects/123/global/networks/vpc",
        "--args",
        "x,y",
        id="flag-space-value",
    ),
    param(
        *P,
        "--display-name=globals",
        POOL,
        "--format=json",
        "--verbosity=error",
        "--quiet",
        id="global-flags",
    ),
    param(
        "--format",
        "json",
        *P,
        "--display-name=globals first",
        POOL,
        "--verbosity",
        "error",
        "-q",
        id="global-flags-first-and-separate",
    ),
    param(
        *P,
        "--flags-file=flags.yaml",
        files={"flags.yaml": FLAGS_FILE},
        id="flags-file",
    ),
    # --- --config ---
    param(
        *P,
        "--display-name=config list",
        "--config=job.yaml",
        files={"job.yaml": CONFIG_LIST},
        id="config-pool-list",
    ),
    param(
        *P,
        "--display-name=config mapping",
        "--config",
        "conf/job.yaml",
        files={"conf/job.yaml": CONFIG_MAPPING},
        id="config-single-pool-mapping",
    ),
    param(
        *P,
        "--display-name=config beta",
        "--config=job.yaml",
        files={"job.yaml": CONFIG_LIST},
        track="beta",
        id="config-beta",
    ),
    param(
        *P,
        "--display-name=config overridden",
        "--config=job.yaml",
        "--network=projects/123/global/networks/from-flag",
        "--service-account=flag@my-project.iam.gserviceaccount.com",
        "--persistent-resource-id=from-flag",
        "--enable-web-access",
        "--enable-dashboard-access",
        "--args=--from-flag",
        "--command=bash,-c",
        "--python-package-uris=gs://my-bucket/ignored.tar.gz",
        files={"job.yaml": CONFIG_LIST},
        id="config-with-overriding-flags",
    ),
    param(
        *P,
        "--display-name=config pools replaced",
        "--config=job.yaml",
        POOL,
        files={"job.yaml": CONFIG_LIST},
        id="config-pools-replaced-by-worker-pool-spec",
    ),
    param(
        *P,
        "--display-name=empty resource id",
        "--config=job.yaml",
        "--persistent-resource-id=",
        files={"job.yaml": CONFIG_LIST},
        id="config-with-empty-persistent-resource-id",
    ),
    param(
        *P,
        "--display-name=empty network",
        "--config=job.yaml",
        "--network=",
        files={"job.yaml": CONFIG_LIST},
        id="config-with-empty-network",
    ),
    # --- each resource's project where gcloud takes it ---
    param(
        "--project=p1",
        "--region=projects/p2/locations/us-central1",
        "--display-name=kms and region path",
        POOL,
        "--kms-key=k1",
        "--kms-keyring=kr",
        "--kms-location=us-central1",
        id="kms-key-project-is-core-project-not-the-regions",
    ),
    param(
        "--region=projects/p2/locations/europe-west4",
        "--display-name=kms env project",
        POOL,
        "--kms-key=k1",
        "--kms-keyring=kr",
        "--kms-location=europe-west4",
        env={"CLOUDSDK_CORE_PROJECT": "env-project"},
        id="kms-key-project-from-the-environment-with-a-region-path",
    ),
    param(
        "--project=p1",
        "--region=projects/p2/locations/us-central1",
        "--display-name=kms project flag",
        POOL,
        "--kms-key=k1",
        "--kms-keyring=kr",
        "--kms-location=us-central1",
        "--kms-project=key-project",
        id="kms-project-flag-with-a-region-path",
    ),
    param(
        "--project=p1",
        "--region=projects/p2/locations/us-central1",
        "--display-name=kms full",
        POOL,
        f"--kms-key={KMS}",
        id="kms-full-name-with-a-region-path",
    ),
    param(
        "--project=p1",
        "--display-name=region path from env",
        POOL,
        "--kms-key=k1",
        "--kms-keyring=kr",
        "--kms-location=us-central1",
        env={"CLOUDSDK_AI_REGION": "projects/p2/locations/us-central1"},
        id="region-property-may-be-a-full-name",
    ),
    param(
        "--display-name=region path from config",
        POOL,
        gcloud_files={
            "active_config": "default",
            "configurations/config_default": "[core]\nproject = p1\n\n[ai]\n"
            "region = projects/p2/locations/asia-east1\n",
        },
        id="region-in-the-configuration-may-be-a-full-name",
    ),
    # --- a --flags-file is YAML 1.2, read with gcloud's own scalars ---
    param(
        *P,
        "--flags-file=flags.yaml",
        POOL,
        files={
            "flags.yaml": "--display-name: 1:40\n--persistent-resource-id: 010\n"
            "--network: 0100\n--service-account: 0123\n"
        },
        id="flags-file-octal-looking-numbers-and-sexagesimal-are-decimal-or-text",
    ),
    param(
        *P,
        "--flags-file=flags.yaml",
        POOL,
        files={
            "flags.yaml": "--display-name: yes\n--args: [yes, no, on, off, y, n, 'True']\n"
            "--labels: {a: yes, b: off, c: n}\n"
        },
        id="flags-file-yes-no-on-off-are-text",
    ),
    param(
        *P,
        "--flags-file=flags.yaml",
        POOL,
        files={"flags.yaml": "--display-name: 1e3\n--persistent-resource-id: 1_000\n"},
        id="flags-file-numbers-become-pythons-text-of-them",
    ),
    param(
        *P,
        "--display-name=pool in flags file",
        "--flags-file=flags.yaml",
        files={
            "flags.yaml": "--worker-pool-spec:\n  machine-type: n1-standard-4\n"
            "  replica-count: 2.9\n  container-image-uri: yes\n"
            "  accelerator-type: NVIDIA_TESLA_T4\n  accelerator-count: 1.9\n"
        },
        id="flags-file-pool-numbers-are-pythons-int-of-the-value",
    ),
    param(
        *P,
        "--display-name=pool in flags file",
        "--flags-file=flags.yaml",
        files={
            "flags.yaml": "- --worker-pool-spec: {machine-type: 010, replica-count: 010, "
            f"container-image-uri: '{IMAGE}'}}\n"
            f"- --worker-pool-spec: {{machine-type: m, replica-count: true, "
            f"container-image-uri: '{IMAGE}'}}\n"
        },
        id="flags-file-pool-010-is-ten-and-true-is-one",
    ),
    param(
        *P,
        "--display-name=null bool",
        POOL,
        "--flags-file=flags.yaml",
        files={"flags.yaml": "--enable-web-access: ~\n--no-enable-dashboard-access: false\n"},
        id="flags-file-null-or-false-boolean-is-the-bare-flag",
    ),
    param(
        *P,
        "--flags-file=-",
        POOL,
        stdin="--display-name: 0100\n--labels: {n: no}\n",
        id="flags-file-from-standard-input-is-yaml-1-2-too",
    ),
    # --- a --config is YAML 1.1, read the way apitools reads it ---
    param(
        *P,
        "--display-name=config 1.1",
        "--config=job.yaml",
        files={
            "job.yaml": f"""\
workerPoolSpecs:
- machineSpec: {{machineType: n1-standard-8, acceleratorType: NVIDIA_TESLA_T4,
                acceleratorCount: 0x2}}
  replicaCount: 0100
  diskSpec: {{bootDiskSizeGb: 1:40}}
  containerSpec: {{imageUri: '{IMAGE}', args: ['010', 0o10, +.5]}}
- machineSpec: {{machineType: n1-standard-4}}
  replicaCount: 1_000
  containerSpec: {{imageUri: '{IMAGE}'}}
enableWebAccess: yes
enableDashboardAccess: off
scheduling: {{restartJobOnWorkerRestart: on, disableRetries: n}}
network: ~
"""
        },
        id="config-octal-hex-sexagesimal-and-yes-on-off",
    ),
    param(
        *P,
        "--display-name=config int text",
        "--config=job.yaml",
        files={
            "job.yaml": f"""\
workerPoolSpecs:
  machineSpec: {{machineType: n1-standard-8, acceleratorType: NVIDIA_TESLA_T4,
                acceleratorCount: '2'}}
  replicaCount: ' 3 '
  diskSpec: {{bootDiskSizeGb: '+200'}}
  containerSpec: {{imageUri: '{IMAGE}'}}
"""
        },
        id="config-integers-written-as-text",
    ),
    param(
        *P,
        "--display-name=config enum number",
        "--config=job.yaml",
        files={
            "job.yaml": "workerPoolSpecs:\n  machineSpec: {machineType: n1-standard-8, "
            f"acceleratorType: 5}}\n  containerSpec: {{imageUri: '{IMAGE}'}}\n"
        },
        id="config-enum-by-its-number",
    ),
    param(
        *P,
        "--display-name=config twice",
        "--config=job.yaml",
        files={"job.yaml": CONFIG_MAPPING + "network: first\nnetwork: second\n"},
        id="config-key-given-twice-first-wins",
    ),
    param(
        *P,
        "--display-name=config snake",
        "--config=job.yaml",
        files={
            "job.yaml": f"""\
worker_pool_specs:
- machine_spec: {{machine_type: n1-standard-4}}
  replica_count: 2
  container_spec: {{image_uri: '{IMAGE}'}}
enable_web_access: true
persistent_resource_id: my-resource
"""
        },
        id="config-snake-case-keys-are-sent-as-they-are",
    ),
    param(
        *P,
        "--display-name=config snake inside",
        "--config=job.yaml",
        "--args=--from-flag",
        files={
            "job.yaml": f"""\
workerPoolSpecs:
- machineSpec: {{machineType: n1-standard-4, accelerator_count: 0}}
  replica_count: '2'
  containerSpec: {{imageUri: '{IMAGE}'}}
  disk_spec: {{boot_disk_size_gb: 200}}
"""
        },
        id="config-snake-case-keys-inside-a-pool",
    ),
    param(
        *P,
        "--display-name=empty mapping on stdin",
        "--config=-",
        POOL,
        stdin="{}\n",
        id="config-from-stdin-an-empty-mapping-with-pools-from-flags",
    ),
    param(
        *P,
        "--display-name=from stdin",
        "--config=-",
        "--persistent-resource-id=from-flag",
        stdin=CONFIG_LIST,
        id="config-from-stdin",
    ),
]

REFUSED = [
    # --- where gcloud refuses what prgcloud used to take ---
    param(
        "--display-name=region path only",
        POOL,
        "--region=projects/p2/locations/us-central1",
        id="region-path-without-a-project-property",
    ),
    param(
        "--display-name=region property path only",
        POOL,
        env={"CLOUDSDK_AI_REGION": "projects/p2/locations/us-central1"},
        id="region-property-path-without-a-project-property",
    ),
    param(
        *P, "--display-name=empty", "--config=job.yaml", files={"job.yaml": ""}, id="empty-config"
    ),
    param(
        *P,
        "--display-name=null config",
        "--config=job.yaml",
        POOL,
        files={"job.yaml": "~\n"},
        id="null-config-even-with-pools-from-flags",
    ),
    param(
        *P,
        "--display-name=empty stdin",
        "--config=-",
        POOL,
        stdin="",
        id="config-from-empty-standard-input",
    ),
    param(
        *P,
        "--display-name=date",
        "--config=job.yaml",
        files={"job.yaml": CONFIG_MAPPING + "scheduling: {timeout: 2001-12-14}\n"},
        id="date-in-a-config",
    ),
    param(
        *P,
        "--display-name=float",
        "--config=job.yaml",
        files={"job.yaml": CONFIG_MAPPING.replace("replicaCount: 1", "replicaCount: 2.9")},
        id="float-replica-count-in-a-config",
    ),
    param(
        *P,
        "--display-name=quoted yes",
        "--config=job.yaml",
        files={"job.yaml": CONFIG_MAPPING + "enableWebAccess: 'yes'\n"},
        id="quoted-yes-is-no-boolean-in-a-config",
    ),
    param(
        *P,
        "--display-name=hex text",
        "--config=job.yaml",
        files={"job.yaml": CONFIG_MAPPING.replace("replicaCount: 1", "replicaCount: '0x2'")},
        id="hex-text-is-no-integer-in-a-config",
    ),
    param(
        *P,
        POOL,
        "--flags-file=flags.yaml",
        files={"flags.yaml": "--display-name: x\n--enable-web-access: yes\n"},
        id="flags-file-yes-is-no-boolean",
    ),
    param(
        *P,
        POOL,
        "--flags-file=flags.yaml",
        files={"flags.yaml": "--display-name: 2001-12-14\n"},
        id="flags-file-date",
    ),
    param(
        *P,
        POOL,
        "--flags-file=flags.yaml",
        files={"flags.yaml": "--display-name: x\n--labels: {since: 2001-12-14}\n"},
        id="flags-file-date-inside-a-mapping",
    ),
    param(
        *P,
        POOL,
        "--flags-file=flags.yaml",
        files={"flags.yaml": "--display-name: a\n--display-name: b\n"},
        id="flags-file-key-given-twice",
    ),
    param(
        *P,
        POOL,
        "--flags-file=flags.yaml",
        files={"flags.yaml": "--display-name: 0x1F\n"},
        id="flags-file-hex-number",
    ),
    param(
        *P,
        POOL,
        "--flags-file=flags.yaml",
        files={"flags.yaml": "--display-name: .inf\n"},
        id="flags-file-infinity",
    ),
    param(
        *P,
        "--flags-file=flags.yaml",
        files={
            "flags.yaml": "--display-name: x\n--worker-pool-spec: {machine-type: m, "
            f"replica-count: '2.9', container-image-uri: '{IMAGE}'}}\n"
        },
        id="flags-file-pool-count-as-text-is-pythons-int-of-text",
    ),
    param(
        *P,
        POOL,
        "--flags-file=flags.yaml",
        files={"flags.yaml": "--display-name: x\n--args: [a, 1]\n"},
        id="flags-file-list-item-that-is-no-text",
    ),
    param(
        *P,
        "--display-name=empty config pool",
        "--config=job.yaml",
        files={"job.yaml": CONFIG_WITH_EMPTY_POOL},
        id="config-with-an-empty-pool",
    ),
    param(
        *P,
        "--display-name=no software",
        "--config=job.yaml",
        files={"job.yaml": "workerPoolSpecs:\n- machineSpec: {machineType: n1-standard-4}\n"},
        id="config-pool-without-software",
    ),
    param(*P, "--display-name=empty", "--worker-pool-spec=", POOL, id="first-pool-empty"),
    param(
        *P,
        "--display-name=bad gpu",
        f"--worker-pool-spec=machine-type=n1-standard-4,accelerator-type=NVIDIA_TESLA_K81,"
        f"container-image-uri={IMAGE}",
        id="unknown-accelerator",
    ),
    param(
        *P,
        "--display-name=no machine",
        f"--worker-pool-spec=replica-count=1,container-image-uri={IMAGE}",
        id="no-machine-type",
    ),
    param(
        *P,
        "--display-name=two images",
        f"--worker-pool-spec=machine-type=n1-standard-4,container-image-uri={IMAGE},"
        f"executor-image-uri={EXECUTOR},python-module=m",
        id="two-images",
    ),
    param(
        *P,
        "--display-name=count only",
        f"--worker-pool-spec=machine-type=n1-standard-4,accelerator-count=2,"
        f"container-image-uri={IMAGE}",
        id="accelerator-count-without-type",
    ),
    param(*P, POOL, id="no-display-name"),
    param("--display-name=no project", POOL, "--region=us-central1", id="no-project"),
    param(
        *P,
        "--display-name=labels",
        POOL,
        "--labels=team=ml,env=dev",
        "--labels=env=prod",
        id="same-label-in-two-labels-flags",
    ),
    param(*P, "--display-name=label case", POOL, "--labels=Team=ml", id="label-key-uppercase"),
    param(*P, "--display-name=label value", POOL, "--labels=team=ML", id="label-value-uppercase"),
    param(
        *P,
        "--display-name=key case",
        f"--worker-pool-spec=Machine-Type=n1-standard-4,container-image-uri={IMAGE}",
        id="spec-keys-are-case-sensitive",
    ),
    param(*P, "--display-name=no account", POOL, "--service-account=", id="empty-service-account"),
    param(*P, "--display-name=kms half", POOL, "--kms-key=k", id="kms-key-not-fully-specified"),
    param(
        "--project=my-project",
        "--region=mars-north1",
        "--display-name=bad region",
        POOL,
        id="unsupported-region",
    ),
    param(
        *P,
        "--display-name=middle empty",
        f"--worker-pool-spec=machine-type=n1-standard-4,,container-image-uri={IMAGE}",
        id="empty-item-in-the-middle",
    ),
]


@dataclass(frozen=True)
class GcloudRun:
    """What gcloud did with one case, and the world it did it in."""

    exit_code: int
    stderr: str
    url: str | None  # the POST's full URL, without the query
    query: str | None
    body: Any
    environ: Mapping[str, str]
    cwd: str


@dataclass(frozen=True)
class Post:
    """The one POST a run made (None when it made none or several: `count` says)."""

    count: int
    url: str | None = None
    query: str | None = None
    body: Any = None
    authorization: str | None = None


@dataclass
class World:
    """One case's files, environment and capture server (up for the whole module)."""

    case: Case
    directory: Path
    server: CaptureServer
    environ: dict[str, str]

    @property
    def cwd(self) -> Path:
        return self.directory / "cwd"

    def take_post(self) -> Post:
        """The POST the server received since the last call (and forget it)."""
        posts, base_url = self.server.posts, self.server.url.rstrip("/")
        self.server.reset()
        if len(posts) != 1:
            return Post(count=len(posts))
        post = posts[0]
        return Post(
            1, base_url + post.path, post.query, post.body, post.headers.get("authorization")
        )


@dataclass(frozen=True)
class StyleRun:
    """A dry-run snippet of one style run for one case: how it ended and what it sent."""

    snippet: str
    run: Run
    post: Post


def make_world(case: Case, directory: Path, server: CaptureServer) -> World:
    cwd, config_dir = directory / "cwd", directory / "gcloud-config"
    for root, files in ((cwd, case.files), (config_dir, case.gcloud_files)):
        root.mkdir(parents=True)
        for name, content in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(content, encoding="utf-8")
    environ = gcloud_env(
        server_url=server.url,
        config_dir=str(config_dir),
        token_file=write_token_file(str(directory)),
    )
    environ["CLOUDSDK_CORE_DISABLE_FILE_LOGGING"] = "1"  # a little less for each gcloud to do
    environ.update(case.env)
    return World(case, directory, server, environ)


def run_gcloud(world: World) -> GcloudRun:
    case = world.case
    track = (case.track,) if case.track else ()
    result = subprocess.run(
        ["gcloud", *track, "ai", "custom-jobs", "create", *case.argv],
        env=world.environ,
        cwd=world.cwd,
        input=case.stdin or "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    post = world.take_post()
    assert post.count <= 1, post
    return GcloudRun(
        exit_code=result.returncode,
        stderr=result.stderr,
        url=post.url,
        query=post.query,
        body=post.body,
        environ=world.environ,
        cwd=str(world.cwd),
    )


def stdin_of(case: Case) -> Callable[[int], str]:
    return io.StringIO(case.stdin or "").read


def parsed(world: World) -> JobRequest:
    case = world.case
    return parse_create(
        case.argv, world.environ, track=case.track, cwd=str(world.cwd), read_stdin=stdin_of(case)
    )


# Pasted elsewhere: another project, region and endpoint than the ones the job was checked
# with. A snippet must still send the job where gcloud sent it.
ANOTHER_CONFIGURATION = {
    "CLOUDSDK_CORE_PROJECT": "another-project",
    "CLOUDSDK_AI_REGION": "asia-east1",
}


@dataclass
class Module:
    """Everything this module's tests compare, run once: gcloud itself for every selected
    case, then, for every submitted one, each dry-run style in each shell."""

    root: Path
    worlds: dict[str, World]
    requests: dict[str, JobRequest]  # prgcloud's, for each submitted case it accepts
    gcloud: dict[str, GcloudRun]
    styles: dict[tuple[str, str], StyleRun]  # (case id, "shell-bash", ...)
    decoy: CaptureServer


def selected_cases(request: pytest.FixtureRequest) -> tuple[dict[str, Case], set[str]]:
    """The cases the selected tests need, and those whose dry-run snippets they need."""
    cases = {p.id: p.values[0] for p in [*SUBMITTED, *REFUSED]}
    assert len(cases) == len(SUBMITTED) + len(REFUSED), "case ids must be unique"
    items = [
        item.callspec
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    ]
    snippets = {c.params["case_id"] for c in items if "case_id" in c.params}
    selected = {c.id for c in items if "case_id" not in c.params} | snippets
    return {name: case for name, case in cases.items() if name in selected}, snippets


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Module]:
    cases, with_snippets = selected_cases(request)
    root = tmp_path_factory.mktemp("differential")
    bin_dir = install_recording_gcloud(root)
    real_gcloud = shutil.which("gcloud")
    assert real_gcloud is not None
    with contextlib.ExitStack() as stack:
        decoy = stack.enter_context(running_capture_server())
        worlds = {
            name: make_world(case, root / name, stack.enter_context(running_capture_server()))
            for name, case in cases.items()
        }
        requests = {}  # what the dry runs print: each submitted case prgcloud accepts
        for name in with_snippets:
            with contextlib.suppress(BadInputError):
                requests[name] = parsed(worlds[name])

        def elsewhere(world: World, style: str) -> dict[str, str]:
            temp = world.directory / f"tmp-{style}"
            temp.mkdir()
            return {
                **recording_env(world.environ, bin_dir, TOKEN),
                **ANOTHER_CONFIGURATION,
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": decoy.url,
                "TMPDIR": str(temp),
            }

        def gcloud_then_shell_snippet(name: str) -> tuple[GcloudRun, StyleRun | None]:
            # gcloud takes ~0.7 s to start: the snippet that runs it runs in the same thread.
            world = worlds[name]
            gcloud = run_gcloud(world)
            if name not in requests:
                return gcloud, None
            snippet = render.shell_snippet(requests[name])
            job = Job(world.directory / "shell-bash", snippet, cwd=world.cwd)
            env = {**elsewhere(world, "shell-bash"), "FAKE_GCLOUD_REAL": real_gcloud}
            (run,) = run_shell_snippets("bash", [job], env)
            return gcloud, StyleRun(snippet, run, world.take_post())

        workers = min(8, 2 * (os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {name: pool.submit(gcloud_then_shell_snippet, name) for name in worlds}
            results = {name: future.result() for name, future in futures.items()}
        gcloud = {name: result[0] for name, result in results.items()}
        styles = {(name, "shell-bash"): r[1] for name, r in results.items() if r[1] is not None}

        # The other styles need no real gcloud: each runs as one batch, in one process.
        batches = [
            ("shell-dash", "dash", render.shell_snippet),
            ("rest-bash", "bash", render.curl_snippet),
            ("rest-dash", "dash", render.curl_snippet),
            ("python", sys.executable, render.python_snippet),
        ]
        for style, interpreter, snippet_of in batches:
            snippets = {name: snippet_of(r) for name, r in requests.items()}
            jobs = [
                Job(worlds[name].directory / style, text, cwd=worlds[name].cwd)
                for name, text in snippets.items()
            ]
            env = elsewhere_for_batch(root, style, bin_dir, decoy)
            if interpreter == sys.executable:
                done = run_python_snippets(jobs, env)
            else:
                done = run_shell_snippets(interpreter, jobs, env)
            for (name, text), run in zip(snippets.items(), done, strict=True):
                styles[(name, style)] = StyleRun(text, run, worlds[name].take_post())
        yield Module(root, worlds, requests, gcloud, styles, decoy)


def elsewhere_for_batch(
    root: Path, style: str, bin_dir: Path, decoy: CaptureServer
) -> dict[str, str]:
    """One environment for a whole batch: no gcloud configuration of any case, another
    project, region and endpoint; the recording gcloud first on PATH."""
    directory = root / f"batch-{style}"
    (directory / "tmp").mkdir(parents=True)
    env = gcloud_env(
        server_url=decoy.url,
        config_dir=str(directory / "gcloud-config"),
        token_file=str(directory / "no-token-here"),
    )
    return {
        **recording_env(env, bin_dir, TOKEN),
        **ANOTHER_CONFIGURATION,
        "TMPDIR": str(directory / "tmp"),
    }


@pytest.mark.parametrize("case", SUBMITTED)
def test_prgcloud_computes_the_request_gcloud_sends(
    case: Case, runs: Module, request: pytest.FixtureRequest
) -> None:
    gcloud = runs.gcloud[request.node.callspec.id]
    assert gcloud.exit_code == 0, f"gcloud refused the case itself:\n{gcloud.stderr}"
    assert gcloud.query == "alt=json"

    ours = parse_create(
        case.argv, gcloud.environ, track=case.track, cwd=gcloud.cwd, read_stdin=stdin_of(case)
    )

    assert ours.url == gcloud.url
    assert dict(ours.body) == gcloud.body


@pytest.mark.parametrize("case", REFUSED)
def test_prgcloud_refuses_what_gcloud_refuses(
    case: Case, runs: Module, request: pytest.FixtureRequest
) -> None:
    gcloud = runs.gcloud[request.node.callspec.id]
    assert gcloud.exit_code != 0, "gcloud accepted the case"
    assert gcloud.body is None

    with pytest.raises(BadInputError):
        parse_create(
            case.argv, gcloud.environ, track=case.track, cwd=gcloud.cwd, read_stdin=stdin_of(case)
        )


# --- every dry-run style, for every submitted case -----------------------------------------
# Each snippet runs under another configuration (ANOTHER_CONFIGURATION, and the decoy server
# as the endpoint override): it must send the job where gcloud sent it, or nowhere.

STYLES = ["shell-bash", "shell-dash", "rest-bash", "rest-dash", "python"]
CASE_IDS = [pytest.param(p.id, id=p.id) for p in SUBMITTED]


def style_run(runs: Module, case_id: str, style: str) -> tuple[GcloudRun, StyleRun]:
    """gcloud's run of the case and the snippet's, both having ended well."""
    gcloud = runs.gcloud[case_id]
    assert gcloud.exit_code == 0, f"gcloud refused the case itself:\n{gcloud.stderr}"
    assert (case_id, style) in runs.styles, "prgcloud refused the case: no dry run"
    ran = runs.styles[(case_id, style)]
    assert ran.run.rc == 0, ran.run.stderr
    assert runs.decoy.requests == [], "a snippet went where it was pasted, not where it was checked"
    assert list(runs.worlds[case_id].directory.glob("tmp-*/*")) == [], "a file left behind"
    assert list(runs.root.glob("batch-*/tmp/*")) == [], "a file left behind"
    return gcloud, ran


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_no_dry_run_snippet_holds_a_raw_control_character(
    case_id: str, style: str, runs: Module
) -> None:
    _, ran = style_run(runs, case_id, style)

    assert sorted({c for c in ran.snippet if not c.isprintable() and c != "\n"}) == []


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_shell_snippet_makes_gcloud_send_what_it_sends(case_id: str, runs: Module) -> None:
    gcloud, ran = style_run(runs, case_id, "shell-bash")  # the real gcloud, through the recorder

    assert ran.post.count == 1, f"{ran.post.count} POSTs"
    assert (ran.post.url, ran.post.query) == (gcloud.url, "alt=json")
    assert ran.post.body == gcloud.body


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_shell_snippet_hands_gcloud_the_same_arguments_in_dash(case_id: str, runs: Module) -> None:
    _, bash = style_run(runs, case_id, "shell-bash")
    _, dash = style_run(runs, case_id, "shell-dash")  # the recorder alone

    assert bash.run.argv is not None, "gcloud was not run by the bash snippet"
    assert without_config_path(dash.run.argv) == without_config_path(bash.run.argv)
    assert dash.run.config == bash.run.config


@pytest.mark.parametrize("shell", ["bash", "dash"])
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_curl_snippet_posts_what_gcloud_posts(case_id: str, shell: str, runs: Module) -> None:
    gcloud, ran = style_run(runs, case_id, f"rest-{shell}")

    assert ran.post.count == 1, f"{ran.post.count} POSTs"
    assert (ran.post.url, ran.post.query) == (gcloud.url, "alt=json")
    assert ran.post.body == gcloud.body
    assert ran.post.authorization == f"Bearer {TOKEN}"
    identity = runs.requests[case_id].identity
    assert ran.run.token_argv == ["auth", "print-access-token", *identity.gcloud_flags()]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_python_snippet_sends_what_gcloud_sends(case_id: str, runs: Module) -> None:
    gcloud, ran = style_run(runs, case_id, "python")
    ours = runs.requests[case_id]

    assert ran.post.count == 1, f"{ran.post.count} POSTs"
    assert ran.post.url == gcloud.url
    assert ran.post.authorization == f"Bearer {TOKEN}"
    if render.sdk_cannot_hold(ours.service_body) is None:  # the SDK: enums as numbers, no defaults
        version = ours.api_version
        assert as_sent(ran.post.body, version) == as_sent(gcloud.body, version)
    else:  # posted as JSON, as gcloud posts it
        assert (ran.post.query, ran.post.body) == ("alt=json", gcloud.body)


def without_config_path(argv: list[str] | None) -> list[str] | None:
    """argv with the generated config file's (random) path left out."""
    if argv is None:
        return None
    return ["--config=FILE" if a.startswith("--config=/") else a for a in argv]
