"""The proof that `prgcloud ai persistent-resources create` sends what gcloud sends.

For every case prgcloud reads the command line (`parse_resource_create`), then the real gcloud
runs the arguments prgcloud hands it (with the generated `--config` when there is one, as
`submission.submit` does) against the capture server: the request gcloud POSTs must be key
for key the request's `url`, `query` and `body`. Where prgcloud needs nothing of its own (the
SENT table), it hands gcloud the user's arguments unchanged, so the comparison is with gcloud
itself. Where gcloud would drop a field (KEPT), the user's own arguments also run through raw
gcloud, to show what it loses. Then come command lines both refuse, and those gcloud gets
wrong (sends unchecked, drops, or crashes on) that prgcloud refuses with exit 2.

gcloud takes a second or more to start on a loaded machine, so the cases run once, in
parallel threads; the tests only compare.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from capture_server import gcloud_env, running_capture_server, write_token_file

from prgcloud import resource, submission
from prgcloud.errors import BadInputError
from prgcloud.resource import ResourceRequest
from prgcloud.resource_parse import COMMAND, parse_resource_create

pytestmark = [
    pytest.mark.gcloud,
    pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud is not installed"),
]

BASE = ("--region=us-central1", "--persistent-resource-id=cluster-1")
POOL = "--resource-pool-spec=machine-type=n1-standard-4,replica-count=1"
GPU = (
    "--resource-pool-spec=machine-type=a2-highgpu-1g,replica-count=2,"
    "accelerator-type=NVIDIA_TESLA_A100,accelerator-count=1,disk-type=pd-ssd,disk-size=200"
)
KMS = "projects/p1/locations/us-central1/keyRings/kr/cryptoKeys/k"
NETWORK = "projects/123/global/networks/vpc"
POOLS_YAML = """\
resourcePools:
- id: cpu
  machineSpec: {machineType: n1-standard-8}
  replicaCount: 2
  diskSpec: {bootDiskType: pd-standard, bootDiskSizeGb: 0150}
- machineSpec: {machineType: a2-highgpu-1g, acceleratorType: 5, acceleratorCount: '1'}
  replicaCount: ' 3 '
  usedReplicaCount: 0
- machineSpec: {machineType: n1-standard-4}
  autoscalingSpec: {minReplicaCount: 1, maxReplicaCount: 0x4}
"""
KEPT_YAML = f"""\
displayName: Training cluster ✓
network: {NETWORK}
encryptionSpec: {{kmsKeyName: {KMS}}}
labels: {{team: ml, cost-center: '42'}}
resourceRuntimeSpec:
  serviceAccountSpec: {{enableCustomServiceAccount: true}}
state: RUNNING
name: projects/p1/locations/us-central1/persistentResources/exported
resourcePools:
  machineSpec: {{machineType: n1-standard-4}}
  replicaCount: 1
"""


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    track: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: str = ""


def case(*argv: str, base: bool = True, **world: Any) -> Case:
    return Case((*BASE, *argv) if base else argv, **world)


# gcloud handles these correctly: prgcloud hands it the user's own arguments.
SENT: dict[str, Case] = {
    "one-pool": case(POOL),
    "beta-posts-to-v1beta1": case(POOL, track="beta"),
    "alpha-posts-to-v1beta1": case(GPU, track="alpha"),
    "pools-with-gpus-and-disks": case(POOL, GPU, GPU.replace("replica-count=2", "replica-count=1")),
    "autoscaling": case(
        "--resource-pool-spec=machine-type=n1-standard-4,min-replica-count=1,max-replica-count=5"
    ),
    "autoscaling-with-a-replica-count": case(
        "--resource-pool-spec=machine-type=n1-standard-4,replica-count=2,min-replica-count=1,"
        "max-replica-count=3",
        track="beta",
    ),
    "every-field-flag": case(
        GPU,
        "--display-name=Training cluster",
        f"--network={NETWORK}",
        f"--kms-key={KMS}",
        "--labels=team=ml,env=dev",
        "--enable-custom-service-account",
    ),
    "kms-key-in-parts": case(
        POOL, "--kms-key=k", "--kms-keyring=kr", "--kms-location=us-central1", track="beta"
    ),
    "empty-labels-and-display-name-are-sent": case(POOL, "--labels=", "--display-name="),
    "empty-network-is-not-sent": case(POOL, "--network="),
    "no-custom-service-account": case(POOL, "--no-enable-custom-service-account"),
    "values-as-separate-arguments": case(
        "--region", "us-central1", "--persistent-resource-id", "cluster-2", POOL, base=False
    ),
    "region-as-a-full-name": case(
        POOL, "--region=projects/p2/locations/europe-west4", track="beta"
    ),
    "region-from-the-environment": case(
        "--persistent-resource-id=cluster-1",
        POOL,
        base=False,
        env={"CLOUDSDK_AI_REGION": "asia-east1"},
    ),
    "config-pools-read-as-apitools-reads-them": case(
        "--config=pools.yaml", files={"pools.yaml": POOLS_YAML}
    ),
    "config-pools-then-flag-pools": case(
        "--config=pools.yaml", POOL, GPU, files={"pools.yaml": POOLS_YAML}, track="beta"
    ),
    "flags-file-pools-and-labels": case(
        "--flags-file=flags.yaml",
        files={
            "flags.yaml": "--resource-pool-spec:\n  machine-type: 010\n  replica-count: 2.9\n"
            "--labels: {team: ml}\n--display-name: from flags file\n"
        },
    ),
    "last-value-wins": case(POOL, "--display-name=a", "--display-name=b", "--network=x"),
}

# gcloud drops a config field or a disk size: prgcloud hands it what keeps them.
KEPT: dict[str, Case] = {
    "config-display-name-network-cmek-labels-service-account": case(
        "--config=pr.yaml", files={"pr.yaml": KEPT_YAML}
    ),
    "config-kept-fields-on-beta": case(
        "--config=pr.yaml", files={"pr.yaml": KEPT_YAML}, track="beta"
    ),
    "flags-win-over-the-config": case(
        "--config=pr.yaml",
        "--display-name=from flag",
        "--labels=env=prod",
        "--network=",
        files={"pr.yaml": KEPT_YAML},
    ),
    "disk-size-without-disk-type-gets-pd-ssd": case(
        "--resource-pool-spec=machine-type=n1-standard-4,replica-count=1,disk-size=250"
    ),
    "a3-ultragpu-gets-hyperdisk-balanced": case(
        POOL,
        "--resource-pool-spec=machine-type=a3-ultragpu-8g,replica-count=1,"
        "accelerator-type=NVIDIA_H200_141GB,accelerator-count=8,disk-size=500",
        "--config=pr.yaml",
        files={"pr.yaml": KEPT_YAML},
        track="beta",
    ),
    "config-from-standard-input": case("--config=-", "--labels=a=b", stdin=KEPT_YAML),
}

# Both refuse.
REFUSED: dict[str, Case] = {
    "no-pools": case(),
    "no-resource-id": case(POOL, base=False, env={"CLOUDSDK_AI_REGION": "us-central1"}),
    "first-pool-empty": case("--resource-pool-spec=", POOL),
    "no-machine-type": case("--resource-pool-spec=replica-count=1"),
    "no-replica-count": case("--resource-pool-spec=machine-type=n1-standard-4"),
    "min-without-max": case("--resource-pool-spec=machine-type=m,min-replica-count=1"),
    "accelerator-type-without-count": case(
        "--resource-pool-spec=machine-type=m,replica-count=1,accelerator-type=NVIDIA_L4"
    ),
    "a-tpu-is-no-pool-accelerator": case(
        "--resource-pool-spec=machine-type=m,replica-count=1,accelerator-type=TPU_V3,"
        "accelerator-count=8"
    ),
    "unknown-pool-key": case("--resource-pool-spec=machine-type=m,replica-count=1,bogus=1"),
    "count-that-is-no-int": case("--resource-pool-spec=machine-type=m,replica-count=two"),
    "region-gcloud-does-not-train-in": case(POOL, "--region=mars-north1"),
    "label-uppercase": case(POOL, "--labels=Team=ml"),
    "kms-key-not-fully-specified": case(POOL, "--kms-key=k"),
    "config-without-pools-even-with-flag-pools": case(
        "--config=pr.yaml", POOL, files={"pr.yaml": "displayName: x\n"}
    ),
    "config-disk-size-without-type": case(
        "--config=pr.yaml",
        files={
            "pr.yaml": "resourcePools:\n- machineSpec: {machineType: m}\n  replicaCount: 1\n"
            "  diskSpec: {bootDiskSizeGb: 100}\n"
        },
    ),
    "unknown-flag": case(POOL, "--worker-pool-spec=machine-type=m"),
}

# gcloud sends these unchecked, drops part of them, or crashes: prgcloud refuses (exit 2).
GCLOUD_GETS_WRONG: dict[str, tuple[Case, str]] = {
    "min-replica-count-0-is-sent": (
        case("--resource-pool-spec=machine-type=m,min-replica-count=0,max-replica-count=2"),
        "min-replica-count",
    ),
    "replica-count-0-is-dropped": (
        case("--resource-pool-spec=machine-type=m,replica-count=0"),
        "replica-count",
    ),
    "local-ssd-count-is-dropped": (
        case("--resource-pool-spec=machine-type=m,replica-count=1,local-ssd-count=2"),
        "local-ssd-count",
    ),
    "pd-balanced-is-sent-unchecked": (
        case("--resource-pool-spec=machine-type=m,replica-count=1,disk-type=pd-balanced"),
        "disk-type",
    ),
    "a-later-empty-pool-crashes-gcloud": (case(POOL, "--resource-pool-spec="), "empty"),
    "an-unknown-accelerator-name-is-sent-unchecked": (
        case(
            "--config=pr.yaml",
            files={
                "pr.yaml": "resourcePools:\n- machineSpec: {machineType: m, acceleratorType: X}\n"
                "  replicaCount: 1\n"
            },
        ),
        "acceleratorType",
    ),
    "reserved-ip-ranges-are-dropped": (
        case(
            "--config=pr.yaml",
            files={"pr.yaml": POOLS_YAML + "reservedIpRanges: [vertex-range]\n"},
        ),
        "reservedIpRanges",
    ),
    "a-ray-runtime-is-dropped": (
        case(
            "--config=pr.yaml",
            files={"pr.yaml": POOLS_YAML + "resourceRuntimeSpec: {raySpec: {}}\n"},
        ),
        "resourceRuntimeSpec.raySpec",
    ),
    "a-custom-service-account-is-dropped": (
        case(
            "--config=pr.yaml",
            files={
                "pr.yaml": POOLS_YAML + "resourceRuntimeSpec:\n  serviceAccountSpec:\n"
                "    enableCustomServiceAccount: true\n"
                "    serviceAccount: sa@p1.iam.gserviceaccount.com\n"
            },
        ),
        "serviceAccountSpec.serviceAccount",
    ),
}


@dataclass(frozen=True)
class Post:
    returncode: int
    stderr: str
    path: str | None
    query: str | None
    body: Any


@dataclass(frozen=True)
class Outcome:
    prgcloud: ResourceRequest | BadInputError
    handed: Post | None  # gcloud running what prgcloud hands it (None: prgcloud refused)
    raw: Post | None  # gcloud running the user's own argv (KEPT, and what prgcloud refuses)


def _gcloud(server: Any, argv: tuple[str, ...], env: dict[str, str], cwd: Path, stdin: str) -> Post:
    done = subprocess.run(
        ["gcloud", *argv, "--format=none"],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    posts = server.posts
    server.reset()
    assert len(posts) <= 1
    post = posts[0] if posts else None
    return Post(
        done.returncode,
        done.stderr,
        post.path if post else None,
        post.query if post else None,
        post.body if post else None,
    )


def _run(c: Case, root: Path, *, raw: bool) -> Outcome:
    root.mkdir()
    for name, text in c.files.items():
        (root / name).write_text(text, encoding="utf-8")
    with running_capture_server() as server:
        env = gcloud_env(
            server_url=server.url,
            config_dir=str(root / "gcloud"),
            token_file=write_token_file(str(root)),
        )
        env.update(CLOUDSDK_CORE_PROJECT="p1", CLOUDSDK_CORE_DISABLE_FILE_LOGGING="1", **c.env)
        user_argv = (*((c.track,) if c.track else ()), *COMMAND, *c.argv)
        request: ResourceRequest | BadInputError
        try:
            request = parse_resource_create(
                c.argv, env, track=c.track, cwd=str(root), read_stdin=io.StringIO(c.stdin).read
            )
        except BadInputError as error:
            request = error
        handed = None
        if not isinstance(request, BadInputError):
            with submission.config_file(request) as path:
                handed = _gcloud(server, request.gcloud_argv(path), env, root, "")
        refused = isinstance(request, BadInputError)
        before = _gcloud(server, user_argv, env, root, c.stdin) if raw or refused else None
    return Outcome(request, handed, before)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    base = tmp_path_factory.mktemp("resource-differential")
    runs = {
        **{name: (c, False) for name, c in {**SENT, **REFUSED}.items()},
        **{name: (c, True) for name, c in KEPT.items()},
        **{name: (c, True) for name, (c, _) in GCLOUD_GETS_WRONG.items()},
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(_run, c, base / name, raw=raw) for name, (c, raw) in runs.items()
        }
        return {name: future.result() for name, future in futures.items()}


def accepted(outcome: Outcome) -> ResourceRequest:
    assert isinstance(outcome.prgcloud, ResourceRequest), str(outcome.prgcloud)
    return outcome.prgcloud


def assert_gcloud_sent_it(request: ResourceRequest, post: Post | None) -> None:
    assert post is not None
    assert post.returncode == 0, post.stderr
    assert post.body == request.body
    assert request.url.endswith(str(post.path))
    assert post.query == request.query


@pytest.mark.parametrize("name", list(SENT))
def test_prgcloud_hands_gcloud_the_users_arguments_and_knows_what_it_sends(
    outcomes: dict[str, Outcome], name: str
) -> None:
    outcome = outcomes[name]
    request = accepted(outcome)
    c = SENT[name]

    assert request.gcloud_args == (*((c.track,) if c.track else ()), *COMMAND, *c.argv)
    assert request.config_yaml is None
    assert_gcloud_sent_it(request, outcome.handed)


@pytest.mark.parametrize("name", list(KEPT))
def test_what_gcloud_would_drop_reaches_it(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    request = accepted(outcome)

    assert_gcloud_sent_it(request, outcome.handed)
    assert outcome.raw is not None
    assert outcome.raw.returncode == 0, outcome.raw.stderr
    assert outcome.raw.body != request.body, "raw gcloud lost nothing: the case shows nothing"


def test_the_configs_fields_are_sent_and_output_only_ones_are_not(
    outcomes: dict[str, Outcome],
) -> None:
    outcome = outcomes["config-display-name-network-cmek-labels-service-account"]
    assert outcome.handed is not None
    assert outcome.raw is not None

    assert outcome.handed.body == {
        "displayName": "Training cluster ✓",
        "network": NETWORK,
        "encryptionSpec": {"kmsKeyName": KMS},
        "labels": {"team": "ml", "cost-center": "42"},
        "resourceRuntimeSpec": {"serviceAccountSpec": {"enableCustomServiceAccount": True}},
        "resourcePools": [{"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"}],
    }
    assert outcome.raw.body == {"resourcePools": outcome.handed.body["resourcePools"]}


def test_flags_win_over_the_config(outcomes: dict[str, Outcome]) -> None:
    handed = outcomes["flags-win-over-the-config"].handed
    assert handed is not None
    body = handed.body

    assert body["displayName"] == "from flag"
    assert body["labels"] == {"env": "prod"}
    assert "network" not in body  # `--network=` says: no network
    assert body["encryptionSpec"] == {"kmsKeyName": KMS}


@pytest.mark.parametrize(
    ("name", "pool", "disk"),
    [
        pytest.param(
            "disk-size-without-disk-type-gets-pd-ssd",
            0,
            {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 250},
            id="pd-ssd",
        ),
        pytest.param(
            "a3-ultragpu-gets-hyperdisk-balanced",
            2,
            {"bootDiskType": "hyperdisk-balanced", "bootDiskSizeGb": 500},
            id="hyperdisk-balanced",
        ),
    ],
)
def test_a_disk_size_without_a_type_gets_the_apis_default_type(
    outcomes: dict[str, Outcome], name: str, pool: int, disk: dict[str, Any]
) -> None:
    outcome = outcomes[name]
    request = accepted(outcome)
    assert outcome.handed is not None
    assert outcome.raw is not None

    assert outcome.handed.body["resourcePools"][pool]["diskSpec"] == disk
    assert "diskSpec" not in outcome.raw.body["resourcePools"][pool]  # gcloud drops the size
    assert len(request.notes) == 1
    assert f"default boot disk type {disk['bootDiskType']}" in request.notes[0]


@pytest.mark.parametrize("name", list(REFUSED))
def test_both_refuse(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]

    assert isinstance(outcome.prgcloud, BadInputError)
    assert outcome.raw is not None
    assert outcome.raw.returncode != 0
    assert outcome.raw.body is None


@pytest.mark.parametrize("name", list(GCLOUD_GETS_WRONG))
def test_prgcloud_refuses_what_gcloud_gets_wrong(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    _, named = GCLOUD_GETS_WRONG[name]
    assert outcome.raw is not None

    assert isinstance(outcome.prgcloud, BadInputError)
    assert named in str(outcome.prgcloud)
    if "crash" in name:
        assert "gcloud crashed (TypeError)" in outcome.raw.stderr
    else:
        assert outcome.raw.returncode == 0, outcome.raw.stderr


# --- the schemas are still gcloud's --------------------------------------------------------------

SDK = Path("/usr/lib/google-cloud-sdk")
BUNDLED_PYTHON = SDK / "platform" / "bundledpythonunix" / "bin" / "python3"
_GCLOUD_SIDE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import gen_schemas
from googlecloudsdk.command_lib.ai.persistent_resources import flags

spec = flags._RESOURCE_POOL_SPEC.kwargs["type"].spec
print(json.dumps({
    "schemas": {
        v: gen_schemas.generate(v, p, "persistent-resource")
        for v, p in gen_schemas.VERSIONS.items()
    },
    "resource_pool_spec": {k: v.__name__ for k, v in spec.items()},
}))
"""


def test_the_schemas_are_generated_from_gclouds_own_messages_and_flags(tmp_path: Path) -> None:
    if not BUNDLED_PYTHON.exists():
        pytest.skip(f"gcloud's bundled Python is not installed ({BUNDLED_PYTHON})")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [str(BUNDLED_PYTHON), "-c", _GCLOUD_SIDE, str(root / "tools")],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
            "PYTHONPATH": f"{SDK / 'lib'}:{SDK / 'lib' / 'third_party'}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    gcloud = json.loads(done.stdout)

    for version, generated in gcloud["schemas"].items():
        assert resource.schema(version) == generated, f"run tools/gen_schemas.py ({version})"
    properties = resource.pool_flag_schema()["properties"]
    assert {k: p["x-arg-type"] for k, p in properties.items()} == gcloud["resource_pool_spec"]
