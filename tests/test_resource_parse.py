"""`persistent-resources create` read without running gcloud: every refusal says which field
and why, every problem comes at once, the config's kept fields become gcloud flags, prgcloud's
own flags never reach gcloud, and the dry-run snippets hold nothing a shell or Python would run.

What gcloud itself sends for the same command lines is proven in test_resource_differential.py.
"""

from __future__ import annotations

import ast
import io
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from prgcloud import exit_codes, render, schemas
from prgcloud.errors import BadInputError
from prgcloud.precheck import rules
from prgcloud.resource import (
    DEFAULT_DISK_TYPE,
    HYPERDISK_DEFAULT,
    HYPERDISK_MACHINE_PREFIXES,
    ResourceRequest,
    default_disk_type,
    pool_flag_schema,
)
from prgcloud.resource_parse import parse_resource_create

BASE = ["--region=us-central1", "--persistent-resource-id=cluster-1"]
POOL = "--resource-pool-spec=machine-type=n1-standard-4,replica-count=1"
KMS = "projects/p1/locations/us-central1/keyRings/kr/cryptoKeys/k"
POOLS = "resourcePools:\n- machineSpec: {machineType: n1-standard-4}\n  replicaCount: 1\n"


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
        "CLOUDSDK_CORE_PROJECT": "p1",
    }


def parse(
    argv: list[str],
    environ: dict[str, str],
    tmp_path: Path,
    *,
    config: str | None = None,
    track: str | None = None,
    stdin: str = "",
) -> ResourceRequest:
    if config is not None:
        (tmp_path / "pr.yaml").write_text(config, encoding="utf-8")
    return parse_resource_create(
        argv, environ, track=track, cwd=str(tmp_path), read_stdin=io.StringIO(stdin).read
    )


def refusal(argv: list[str], environ: dict[str, str], tmp_path: Path, **kwargs: Any) -> str:
    with pytest.raises(BadInputError) as raised:
        parse(argv, environ, tmp_path, **kwargs)
    assert raised.value.exit_code == exit_codes.BAD_INPUT
    return str(raised.value)


# --- refusals: the field, and why ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "config", "expected"),
    [
        pytest.param(
            [f"{POOL},local-ssd-count=2"],
            None,
            ["key [local-ssd-count]: the API has no such field", "drops it"],
            id="local-ssd-count",
        ),
        pytest.param(
            ["--resource-pool-spec=machine-type=m,min-replica-count=0,max-replica-count=2"],
            None,
            ["key [min-replica-count]: must be at least 1, found 0"],
            id="min-replica-count-0",
        ),
        pytest.param(
            ["--resource-pool-spec=machine-type=m,min-replica-count=-3,max-replica-count=2"],
            None,
            ["key [min-replica-count]: must be at least 1, found -3"],
            id="negative-min-replica-count",
        ),
        pytest.param(
            ["--resource-pool-spec=machine-type=m,min-replica-count=4,max-replica-count=2"],
            None,
            ["min-replica-count (4) is more than max-replica-count (2)"],
            id="min-above-max",
        ),
        pytest.param(
            ["--resource-pool-spec=machine-type=m,replica-count=0"],
            None,
            ["key [replica-count]: must be at least 1, found 0"],
            id="replica-count-0",
        ),
        pytest.param(
            [POOL, "--resource-pool-spec="],
            None,
            ["--resource-pool-spec #2: an empty `--resource-pool-spec` is no resource pool"],
            id="a-later-empty-pool",
        ),
        pytest.param(
            ["--resource-pool-spec=", POOL],
            None,
            ["Empty value is not allowed for the first `--resource-pool-spec` flag."],
            id="the-first-pool-empty",
        ),
        pytest.param(
            [f"{POOL},disk-type=pd-balanced"],
            None,
            ["key [disk-type]: disk-type 'pd-balanced' is not a boot disk type a job can ask for"],
            id="pd-balanced-flag",
        ),
        pytest.param(
            ["--config=pr.yaml"],
            POOLS + "  diskSpec: {bootDiskType: pd-balanced, bootDiskSizeGb: 100}\n",
            ["resourcePools[0]: diskSpec.bootDiskType 'pd-balanced' is not a boot disk type"],
            id="pd-balanced-config",
        ),
        pytest.param(
            ["--config=pr.yaml"],
            POOLS + "reservedIpRanges: [vertex-range]\n",
            ["argument --config: reservedIpRanges: gcloud 528 cannot send it"],
            id="reserved-ip-ranges",
        ),
        pytest.param(
            ["--config=pr.yaml"],
            POOLS + "resourceRuntimeSpec: {raySpec: {imageUri: x}}\n",
            ["resourceRuntimeSpec.raySpec: gcloud 528 cannot send it"],
            id="ray-runtime",
        ),
        pytest.param(
            ["--config=pr.yaml"],
            POOLS + "resourceRuntimeSpec:\n  serviceAccountSpec:\n"
            "    enableCustomServiceAccount: true\n"
            "    serviceAccount: sa@p1.iam.gserviceaccount.com\n",
            ["resourceRuntimeSpec.serviceAccountSpec.serviceAccount: gcloud 528 cannot send it"],
            id="a-named-service-account",
        ),
        pytest.param(
            ["--config=pr.yaml"],
            POOLS + "encryptionSpec: {kmsKeyName: k}\n",
            ["encryptionSpec.kmsKeyName: [k] is not a full key name"],
            id="a-short-kms-key",
        ),
        pytest.param(
            ["--config=pr.yaml"],
            POOLS + "labels: {Team: ML}\n",
            ["labels: [Team: ML] is not a valid label"],
            id="a-bad-label",
        ),
        pytest.param(
            ["--config=pr.yaml"],
            "resource_pools:\n- machineSpec: {machineType: m}\n  replicaCount: 1\n",
            ["unknown key [resource_pools]"],
            id="snake-case-keys-are-invalid",
        ),
        pytest.param(
            ["--config=pr.yaml"],
            "resourcePools:\n- machineSpec: {machineType: m}\n  autoscalingSpec:\n"
            "    minReplicaCount: 3\n    maxReplicaCount: 2\n",
            ["autoscalingSpec.minReplicaCount (3) is more than its max (2)"],
            id="config-min-above-max",
        ),
        pytest.param(
            ["--config=pr.yaml"],
            "resourcePools:\n- machineSpec: {machineType: m}\n  autoscalingSpec:\n"
            "    minReplicaCount: -1\n    maxReplicaCount: 2\n",
            ["autoscalingSpec.minReplicaCount must be at least 1, found -1"],
            id="config-negative-min",
        ),
        pytest.param(
            ["--config=pr.yaml"],
            "",
            ["[pr.yaml] is empty; gcloud wants a PersistentResource mapping."],
            id="an-empty-config",
        ),
        pytest.param(
            [POOL, "--polling-interval=10s"],
            None,
            ["argument --polling-interval: is for --wait, which is not given."],
            id="polling-interval-without-wait",
        ),
        pytest.param(
            [POOL, "--wait=soon"],
            None,
            ["argument --wait: expected a duration like 90s, 10m or 2h, not 'soon'."],
            id="a-wait-that-is-no-duration",
        ),
        pytest.param(
            [POOL, "--wait", "--polling-interval=0"],
            None,
            ["argument --polling-interval: must be more than 0 seconds."],
            id="polling-interval-0",
        ),
    ],
)
def test_refused_with_the_field_and_the_reason(
    argv: list[str], config: str | None, expected: list[str], environ: Any, tmp_path: Path
) -> None:
    message = refusal([*BASE, *argv], environ, tmp_path, config=config)

    for text in expected:
        assert text in message


def test_a_resource_id_vertex_would_refuse_is_refused(environ: Any, tmp_path: Path) -> None:
    message = refusal(
        ["--region=us-central1", "--persistent-resource-id=My_Cluster", POOL], environ, tmp_path
    )

    assert message.startswith("argument --persistent-resource-id: [My_Cluster] is not an id")


def test_the_pscinterfaceconfig_of_v1beta1_is_refused(environ: Any, tmp_path: Path) -> None:
    config = POOLS + "pscInterfaceConfig: {networkAttachment: a}\n"

    message = refusal([*BASE, "--config=pr.yaml"], environ, tmp_path, config=config, track="beta")

    assert "pscInterfaceConfig: gcloud 528 cannot send it" in message


def test_every_problem_is_reported_at_once(environ: Any, tmp_path: Path) -> None:
    config = POOLS + "reservedIpRanges: [r]\nnetwork: vpc\n"
    argv = [
        "--region=us-central1",
        "--persistent-resource-id=Bad",
        "--config=pr.yaml",
        f"{POOL},local-ssd-count=1",
        "--resource-pool-spec=replica-count=1,disk-type=pd-balanced",
        "--resource-pool-spec=",
        "--labels=A=b",
        "--wait=later",
    ]

    with pytest.raises(BadInputError) as raised:
        parse(argv, environ, tmp_path, config=config)

    wheres = [problem.where for problem in raised.value.problems]
    assert wheres == [
        "--wait",
        "--persistent-resource-id",
        "--config",
        "--resource-pool-spec #1",
        "--resource-pool-spec #2",
        "--resource-pool-spec #2",
        "--resource-pool-spec #3",
        "--labels",
    ]


# --- what reaches gcloud ---------------------------------------------------------------------


def test_the_configs_kept_fields_become_gcloud_flags(environ: Any, tmp_path: Path) -> None:
    config = (
        POOLS + f"displayName: a, b\nnetwork: projects/1/global/networks/v\n"
        f"encryptionSpec: {{kmsKeyName: {KMS}}}\nlabels: {{team: ml, env: dev}}\n"
        "resourceRuntimeSpec: {serviceAccountSpec: {enableCustomServiceAccount: true}}\n"
        "state: ERROR\ncreateTime: '2025-01-01T00:00:00Z'\n"
    )

    request = parse([*BASE, "--config=pr.yaml"], environ, tmp_path, config=config)

    assert request.gcloud_args == (
        "ai",
        "persistent-resources",
        "create",
        *BASE,
        "--config=pr.yaml",
        "--display-name=a, b",
        "--network=projects/1/global/networks/v",
        f"--kms-key={KMS}",
        "--labels=team=ml,env=dev",
        "--enable-custom-service-account",
    )
    assert request.config_yaml is None
    assert "state" not in request.body
    assert "createTime" not in request.body


@pytest.mark.parametrize(
    ("flag", "kept"),
    [
        pytest.param("--display-name=flag", "--display-name=", id="display-name"),
        pytest.param("--network=", "--network=", id="network-cleared"),
        pytest.param("--labels=x=y", "--labels=", id="labels"),
        pytest.param(f"--kms-key={KMS}", "--kms-key=", id="kms-key"),
        pytest.param(
            "--no-enable-custom-service-account",
            "--enable-custom-service-account",
            id="custom-service-account",
        ),
    ],
)
def test_a_flag_wins_over_the_config(flag: str, kept: str, environ: Any, tmp_path: Path) -> None:
    config = (
        POOLS + f"displayName: file\nnetwork: vpc\nencryptionSpec: {{kmsKeyName: {KMS}}}\n"
        "labels: {a: b}\n"
        "resourceRuntimeSpec: {serviceAccountSpec: {enableCustomServiceAccount: true}}\n"
    )

    request = parse([*BASE, "--config=pr.yaml", flag], environ, tmp_path, config=config)

    added = request.gcloud_args[len(BASE) + 5 :]
    assert not any(arg.startswith(kept) for arg in added), added


def test_prgclouds_own_flags_never_reach_gcloud(environ: Any, tmp_path: Path) -> None:
    argv = [*BASE, POOL, "--wait", "--polling-interval", "10s", "--dry-run=rest"]

    request = parse(argv, environ, tmp_path)

    assert request.gcloud_args == ("ai", "persistent-resources", "create", *BASE, POOL)
    assert (request.wait, request.polling_interval, request.options.dry_run) == (1800, 10, "rest")


@pytest.mark.parametrize(
    ("argv", "wait"),
    [
        pytest.param([], None, id="no-wait"),
        pytest.param(["--wait"], 1800, id="bare-wait-is-30-minutes"),
        pytest.param(["--wait=1h30m"], 5400, id="gcloud-duration"),
        pytest.param(["--wait=PT90S"], 90, id="iso-duration"),
    ],
)
def test_wait_takes_gclouds_durations(
    argv: list[str], wait: float | None, environ: Any, tmp_path: Path
) -> None:
    assert parse([*BASE, POOL, *argv], environ, tmp_path).wait == wait


def test_a_filled_in_disk_type_hands_gcloud_every_pool_in_a_generated_config(
    environ: Any, tmp_path: Path
) -> None:
    argv = [*BASE, "--config=pr.yaml", f"{POOL},disk-size=300", "--display-name=d"]

    request = parse(argv, environ, tmp_path, config=POOLS + "labels: {a: b}\n")

    assert request.gcloud_argv("GEN") == (
        "ai",
        "persistent-resources",
        "create",
        *BASE,
        "--display-name=d",
        "--config=GEN",
        "--labels=a=b",
    )
    assert request.config_yaml is not None
    assert "bootDiskType: pd-ssd" in request.config_yaml
    assert request.notes == (
        "--resource-pool-spec: disk-size=300 without disk-type: using the API's default boot "
        "disk type pd-ssd (gcloud would drop the disk size).",
    )


@pytest.mark.parametrize(
    ("machine", "disk"),
    [
        pytest.param("n1-standard-4", "pd-ssd", id="most-machines"),
        pytest.param("a3-ultragpu-8g", "hyperdisk-balanced", id="a3-ultragpu"),
        pytest.param("a3-highgpu-8g", "pd-ssd", id="other-a3"),
    ],
)
def test_the_default_disk_type_is_the_one_the_precheck_assumes(machine: str, disk: str) -> None:
    assert default_disk_type(machine) == disk
    assert DEFAULT_DISK_TYPE == rules.DEFAULT_DISK_TYPE
    assert (HYPERDISK_MACHINE_PREFIXES, HYPERDISK_DEFAULT) == (
        rules._HYPERDISK_MACHINE_PREFIXES,
        rules._HYPERDISK_DEFAULT,
    )


# --- the --resource-pool-spec schema ----------------------------------------------------------


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        pytest.param({"machine-type": "m", "replica-count": 1}, [], id="minimal"),
        pytest.param(
            {"min-replica-count": 1, "max-replica-count": 1000, "disk-type": "pd-standard"},
            [],
            id="autoscaling-bounds",
        ),
        pytest.param(
            {"max-replica-count": 1001},
            [("max-replica-count", "must be at most 1000, found 1001")],
            id="max-above-1000",
        ),
        pytest.param(
            {"disk-size": 9}, [("disk-size", "must be at least 10, found 9")], id="tiny-disk"
        ),
        pytest.param({"machine-type": ""}, [("machine-type", "must not be empty")], id="empty"),
    ],
)
def test_resource_pool_spec_schema(pool: dict[str, Any], expected: list[Any]) -> None:
    assert list(schemas.errors(pool, pool_flag_schema())) == expected


def test_resource_pool_spec_keys_are_gclouds() -> None:
    # command_lib/ai/persistent_resources/flags.py, _RESOURCE_POOL_SPEC's ArgDict spec
    gcloud = {
        "replica-count": "int",
        "min-replica-count": "int",
        "max-replica-count": "int",
        "machine-type": "str",
        "accelerator-type": "str",
        "accelerator-count": "int",
        "disk-type": "str",
        "disk-size": "int",
        "local-ssd-count": "int",
    }

    properties = pool_flag_schema()["properties"]
    assert {key: p["x-arg-type"] for key, p in properties.items()} == gcloud


# --- dry-run snippets --------------------------------------------------------------------------

HOSTILE = "it's $(touch INJECTED) `id` \x15\ntouch INJECTED\n\u2028\u202e ✓"


def hostile_request(environ: Any, tmp_path: Path, track: str | None = None) -> ResourceRequest:
    argv = [*BASE, f"{POOL},disk-size=200", f"--display-name={HOSTILE}", f"--network={HOSTILE}"]
    return parse(argv, environ, tmp_path, track=track)


@pytest.mark.parametrize("style", render.STYLES)
def test_no_resource_snippet_holds_a_raw_control_character(
    style: str, environ: Any, tmp_path: Path
) -> None:
    snippet = render.resource_dry_run_text(hostile_request(environ, tmp_path), style=style)

    assert sorted({c for c in snippet if not c.isprintable() and c != "\n"}) == []


@pytest.mark.parametrize("style", render.STYLES)
def test_a_resource_snippets_header_is_comment_lines(
    style: str, environ: Any, tmp_path: Path
) -> None:
    snippet = render.resource_dry_run_text(hostile_request(environ, tmp_path), style=style)

    header = snippet.split("\n")[:3]
    assert all(line.startswith("# ") for line in header), header
    assert "default boot disk type pd-ssd" in header[2]


@pytest.mark.parametrize("track", [None, "beta"])
def test_the_python_snippet_calls_the_sdks_create_with_the_values_as_data(
    track: str | None, environ: Any, tmp_path: Path
) -> None:
    request = hostile_request(environ, tmp_path, track)

    tree = ast.parse(render.resource_dry_run_text(request, style="python"))

    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    create = next(c for c in calls if ast.unparse(c.func).endswith("PersistentResource.create"))
    arguments = {k.arg: k.value for k in create.keywords}
    assert ast.literal_eval(arguments["display_name"]) == HOSTILE
    assert ast.literal_eval(arguments["network"]) == HOSTILE
    assert ast.literal_eval(arguments["persistent_resource_id"]) == "cluster-1"
    pools = next(
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "resource_pools"
    )
    assert ast.literal_eval(pools) == request.body["resourcePools"]
    preview = "google.cloud.aiplatform.preview.persistent_resource"
    assert (preview in ast.unparse(tree)) == (track == "beta")


def test_the_rest_snippet_posts_to_gclouds_url_and_query(environ: Any, tmp_path: Path) -> None:
    request = hostile_request(environ, tmp_path, "beta")

    snippet = render.resource_dry_run_text(request, style="rest")

    assert (
        "'https://us-central1-aiplatform.googleapis.com/v1beta1/projects/p1/locations/"
        "us-central1/persistentResources?alt=json&persistentResourceId=cluster-1'"
    ) in snippet
    body = snippet.split("<<PRGCLOUD_HEADER\n", 1)[1].split("\nPRGCLOUD_EOF\n", 1)[0]
    assert json.loads(body) == request.body


def test_the_dry_run_style_defaults_to_shell(environ: Any, tmp_path: Path) -> None:
    request = replace(hostile_request(environ, tmp_path))

    assert render.resource_dry_run_text(request) == render.resource_dry_run_text(
        request, style="shell"
    )
    with pytest.raises(ValueError, match="dry-run style"):
        render.resource_dry_run_text(request, style="powershell")
