"""gcloud's checks of `ai custom-jobs create` (custom_jobs/validation.py, labels, KMS, region) plus
docs/reading-flags.md, one case per rule: each names where the problem is and what gcloud says.

gcloud stops at its first complaint; prgcloud reports them all, in order, in one BadInputError.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from prgcloud import job
from prgcloud.errors import BadInputError
from prgcloud.parse import parse_create
from prgcloud.request import JobRequest

BASE = ("--project=p", "--region=us-central1", "--display-name=job")
IMAGE = "gcr.io/p/trainer:v1"
EXECUTOR = "executor-image-uri=us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17:latest"
WPS = "--worker-pool-spec"
POOL = f"{WPS}=machine-type=n1-standard-4,container-image-uri={IMAGE}"
LOCAL = (
    f"{WPS}=machine-type=n1-standard-4,{EXECUTOR},python-module=trainer.task,local-package-path=pkg"
)
KMS = "projects/p/locations/us-central1/keyRings/kr/cryptoKeys/k"

Expected = Sequence[tuple[str, str]]  # (where, a distinctive part of the message)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The working directory: holds a `pkg/` training package; gcloud's config is empty."""
    (tmp_path / "work" / "pkg").mkdir(parents=True)
    (tmp_path / "gcloud").mkdir()
    return tmp_path / "work"


def parse(
    argv: Sequence[str],
    workdir: Path,
    *,
    env: dict[str, str] | None = None,
    track: str | None = None,
    config: str | None = None,
) -> JobRequest:
    environ = {"CLOUDSDK_CONFIG": str(workdir.parent / "gcloud"), **(env or {})}
    if config is not None:
        (workdir / "job.yaml").write_text(config, encoding="utf-8")
    return parse_create(argv, environ, track=track, cwd=str(workdir))


def problems(argv: Sequence[str], workdir: Path, **world: Any) -> list[tuple[str, str]]:
    with pytest.raises(BadInputError) as caught:
        parse(argv, workdir, **world)
    return [(p.where, p.message) for p in caught.value.problems]


def assert_reported(found: list[tuple[str, str]], expected: Expected) -> None:
    """Exactly the expected problems, in order, each at its place with its distinctive words."""
    assert [w for w, _ in found] == [w for w, _ in expected], found
    for (_, message), (_, fragment) in zip(found, expected, strict=True):
        assert fragment in message, (fragment, message)


# --- --worker-pool-spec ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pools", "expected"),
    [
        pytest.param(
            [f"{WPS}=", POOL],
            [(WPS, "Empty value is not allowed for the first `--worker-pool-spec` flag.")],
            id="first-pool-empty",
        ),
        pytest.param(
            [f"{WPS}=container-image-uri={IMAGE}"],
            [(WPS, "Key [machine-type] required in dict arg but not provided.")],
            id="machine-type-required",
        ),
        pytest.param(
            [POOL, f"{WPS}=replica-count=2,container-image-uri={IMAGE}"],
            [(f"{WPS} #2", "Key [machine-type] required")],
            id="problems-name-the-pool-number",
        ),
        pytest.param(
            [f"{POOL},accelerator-count=2"],
            [(WPS, "Key [accelerator-type] required as [accelerator-count] is specified.")],
            id="accelerator-count-needs-a-type",
        ),
        pytest.param(
            [f"{POOL},accelerator-type=NVIDIA_TESLA_X"],
            [(WPS, "Found invalid value of [accelerator-type]: NVIDIA_TESLA_X. Available values")],
            id="unknown-accelerator",
        ),
        pytest.param(
            [f"{POOL},accelerator-type=nvidia_tesla_t4"],
            [(WPS, "Found invalid value of [accelerator-type]: nvidia_tesla_t4.")],
            id="accelerator-names-are-case-sensitive",
        ),
        pytest.param(
            [f"{POOL},accelerator-type=ACCELERATOR_TYPE_UNSPECIFIED"],
            [(WPS, "Found invalid value of [accelerator-type]: ACCELERATOR_TYPE_UNSPECIFIED.")],
            id="only-nvidia-and-tpu-names",
        ),
        pytest.param(
            [f"{WPS}=machine-type=n1"],
            [(WPS, "Exactly one of keys [executor-image-uri, container-image-uri] is required.")],
            id="no-image",
        ),
        pytest.param(
            [f"{POOL},{EXECUTOR}"],
            [
                (WPS, "Exactly one of keys [executor-image-uri, container-image-uri] is required."),
                (WPS, "Key [python-module] is required."),
            ],
            id="two-images",
        ),
        pytest.param(
            [f"{WPS}=machine-type=n1,{EXECUTOR}"],
            [(WPS, "Key [python-module] is required.")],
            id="executor-needs-python-module",
        ),
        pytest.param(
            [f"{POOL},python-module=trainer.task"],
            [(WPS, "Key [python-module] is not allowed together with key [container-image-uri].")],
            id="container-forbids-python-module",
        ),
        pytest.param(
            [f"{POOL},script=run.sh"],
            [(WPS, "Keys [script] are not allowed: Only allow to specify together with")],
            id="script-needs-local-package",
        ),
        pytest.param(
            [f"{POOL},requirements=a;b,extra-packages=x.whl,extra-dirs=d"],
            [(WPS, "Keys [extra-dirs, extra-packages, requirements] are not allowed: Only allow")],
            id="build-keys-need-local-package",
        ),
        pytest.param(
            [POOL, f"{WPS}=machine-type=n1,{EXECUTOR},python-module=m,local-package-path=pkg"],
            [(f"{WPS} #2", "Key [local-package-path] is only allowed in the first")],
            id="local-package-only-in-the-first-pool",
        ),
        pytest.param(
            [LOCAL.replace("local-package-path=pkg", "local-package-path=nope")],
            [(WPS, "Directory 'nope' is not found.")],
            id="local-package-directory-must-exist",
        ),
        pytest.param(
            [LOCAL.replace("local-package-path=pkg", "local-package-path=job.yaml")],
            [(WPS, "Directory 'job.yaml' is not found.")],
            id="local-package-must-be-a-directory",
        ),
        pytest.param(
            [f"{WPS}=machine-type=n1,python-module=m,local-package-path=pkg"],
            [(WPS, "Key [executor-image-uri] is required when `local-package-path` is specified.")],
            id="local-package-needs-an-executor",
        ),
        pytest.param(
            [f"{LOCAL},script=run.sh"],
            [(WPS, "Exactly one of keys [python-module, script] is required when")],
            id="local-package-module-and-script",
        ),
        pytest.param(
            [f"{WPS}=machine-type=n1,{EXECUTOR},local-package-path=pkg"],
            [(WPS, "Exactly one of keys [python-module, script] is required when")],
            id="local-package-neither-module-nor-script",
        ),
        pytest.param(
            [f"{LOCAL},output-image-uri=docker.io/p/trainer"],
            [(WPS, "`output-image-uri` has to be a valid gcr.io or Artifact Registry image")],
            id="output-image-on-another-registry",
        ),
        pytest.param(
            [LOCAL, f"{WPS}=machine-type=n1,container-image-uri={IMAGE},python-module=m"],
            [
                (
                    f"{WPS} #2",
                    "Keys [container-image-uri, python-module] are not allowed: A local package "
                    "has been specified in the first",
                )
            ],
            id="no-software-after-a-local-package",
        ),
        pytest.param(
            [f"{POOL},disk-type=pd-balanced"],
            [(WPS, "key [disk-type]: 'pd-balanced' is not one of [pd-ssd, pd-standard, hyperdisk")],
            id="disk-type-enum",
        ),
        pytest.param(
            [f"{POOL},disk-size=9"],
            [(WPS, "key [disk-size]: must be at least 10, found 9")],
            id="disk-size-too-small",
        ),
        pytest.param(
            [f"{POOL},disk-size=65537"],
            [(WPS, "key [disk-size]: must be at most 65536, found 65537")],
            id="disk-size-too-large",
        ),
        pytest.param(
            [f"{POOL},replica-count=0"],
            [(WPS, "key [replica-count]: must be at least 1, found 0")],
            id="no-replicas",
        ),
        pytest.param(
            [f"{POOL},accelerator-type=NVIDIA_TESLA_T4,accelerator-count=-1"],
            [(WPS, "key [accelerator-count]: must be at least 1, found -1")],
            id="negative-accelerator-count",
        ),
        pytest.param(
            [f"{POOL},replica-count=two"],
            [(WPS, "Invalid value [two] for key [replica-count]")],
            id="count-not-an-int",
        ),
        pytest.param(
            [f"{POOL},bogus=1"],
            [(WPS, "valid keys are [accelerator-count, accelerator-type,")],
            id="unknown-key",
        ),
        pytest.param(
            [f"{POOL},Machine-Type=n2"],
            [(WPS, "; received: Machine-Type")],
            id="keys-are-case-sensitive",
        ),
        pytest.param(
            [f"{POOL},,replica-count=2"],
            [(WPS, "Invalid flag value []")],
            id="empty-item",
        ),
        pytest.param(
            [f"{WPS}=machine-type"],
            [(WPS, "Bad syntax for dict arg: [machine-type].")],
            id="key-without-value",
        ),
        pytest.param(
            [POOL, f"{WPS}=^^machine-type=n1"],
            [(f"{WPS} #2", "Invalid delimeter.")],
            id="empty-alternate-delimiter",
        ),
        pytest.param(
            [f"{WPS}=bogus=1", f"{WPS}=machine-type=n1"],
            [
                (f"{WPS} #1", "valid keys are"),
                (f"{WPS} #2", "Exactly one of keys [executor-image-uri, container-image-uri]"),
            ],
            id="a-pool-that-does-not-parse-is-reported-once",
        ),
    ],
)
def test_a_bad_worker_pool_is_reported(workdir: Path, pools: list[str], expected: Expected) -> None:
    assert_reported(problems([*BASE, *pools], workdir), expected)


@pytest.mark.parametrize(
    "pools",
    [
        pytest.param([POOL, f"{WPS}="], id="second-pool-may-be-a-placeholder"),
        pytest.param([POOL, f"{WPS}=", f"{WPS}=", POOL], id="several-placeholders"),
        pytest.param([f"{POOL},accelerator-type=NVIDIA_TESLA_T4"], id="accelerator-without-count"),
        pytest.param([f"{POOL},accelerator-type=TPU_V5_LITEPOD"], id="tpu-accelerator"),
        pytest.param([f"{WPS}=machine-type=n1,{EXECUTOR},python-module=m"], id="python-package"),
        pytest.param([LOCAL], id="local-package-with-module"),
        pytest.param([LOCAL.replace("python-module=trainer.task", "script=run.sh")], id="script"),
        pytest.param(
            [f"{LOCAL},requirements=a;b,extra-packages=x.whl,extra-dirs=d"], id="build-keys"
        ),
        pytest.param([f"{LOCAL},output-image-uri=gcr.io/p/i"], id="output-gcr"),
        pytest.param([f"{LOCAL},output-image-uri=eu.gcr.io/p/i"], id="output-eu-gcr"),
        pytest.param([f"{LOCAL},output-image-uri=asia.gcr.io/p/i"], id="output-asia-gcr"),
        pytest.param([f"{LOCAL},output-image-uri=us.gcr.io/p/i"], id="output-us-gcr"),
        pytest.param(
            [f"{LOCAL},output-image-uri=europe-west4-docker.pkg.dev/p/r/i:v1"],
            id="output-artifact-registry",
        ),
        pytest.param([LOCAL, f"{WPS}=machine-type=n1,replica-count=3"], id="local-then-hardware"),
        pytest.param([f"{POOL},disk-type=hyperdisk-balanced,disk-size=10"], id="smallest-disk"),
        pytest.param([f"{POOL},disk-type=pd-standard,disk-size=65536"], id="largest-disk"),
    ],
)
def test_a_good_worker_pool_passes(workdir: Path, pools: list[str]) -> None:
    assert parse([*BASE, *pools], workdir).body["jobSpec"]["workerPoolSpecs"]


def test_the_output_image_must_be_a_valid_docker_reference(workdir: Path) -> None:
    found = problems([*BASE, f"{LOCAL},output-image-uri=gcr.io/p/Upper"], workdir)

    assert_reported(
        found,
        [
            (
                WPS,
                "'gcr.io/p/Upper' is not a valid container image uri: "
                'Invalid path component "Upper" in repository name.',
            )
        ],
    )


# What gcloud 528's docker_utils.ValidateRepositoryAndTag says about each reference.
@pytest.mark.parametrize(
    ("image", "reason"),
    [
        pytest.param("gcr.io/p/i", None, id="plain"),
        pytest.param("gcr.io/p/i:v1", None, id="tag"),
        pytest.param("eu.gcr.io/p/i:v1.2-rc_3", None, id="tag-punctuation"),
        pytest.param("gcr.io:5000/p/i:t", None, id="host-port"),
        pytest.param("gcr.io/p/a__b", None, id="double-underscore"),
        pytest.param("gcr.io/p/a--b", None, id="dashes"),
        pytest.param("gcr.io/my_project/i", None, id="underscore"),
        pytest.param("europe-west4-docker.pkg.dev/p/r/i", None, id="artifact-registry"),
        pytest.param(f"gcr.io/p/i:{'t' * 128}", None, id="128-character-tag"),
        pytest.param(
            "gcr.io/p/Upper", 'Invalid path component "Upper" in repository name.', id="upper"
        ),
        pytest.param(
            "gcr.io/p/a___b", 'Invalid path component "a___b" in repository name.', id="three-_"
        ),
        pytest.param(
            "gcr.io/p/a.-b", 'Invalid path component "a.-b" in repository name.', id="dot-dash"
        ),
        pytest.param("gcr.io/p/-i", 'Invalid path component "-i" in repository name.', id="-i"),
        pytest.param("gcr.io/p/i.", 'Invalid path component "i." in repository name.', id="i."),
        pytest.param(
            "gcr.io/p/i:v1:v2", 'Invalid path component "i:v1" in repository name.', id="two-tags"
        ),
        pytest.param(
            "gcr.io/p/i@sha256:abc",
            'Invalid path component "i@sha256" in repository name.',
            id="digest",
        ),
        pytest.param("gcr.io//i", "Empty path component in repository name.", id="empty-part"),
        pytest.param("gcr.io/p/i/", "Empty path component in repository name.", id="trailing-/"),
        pytest.param(
            "gcr.io:x/p/i", 'Invalid hostname/port "gcr.io:x" in repository name.', id="bad-port"
        ),
        pytest.param("gcr.io/p/i:bad tag", "Invalid tag.", id="space-in-tag"),
        pytest.param("gcr.io/p/i:-x", "Invalid tag.", id="tag-starts-with-dash"),
        pytest.param(
            f"gcr.io/p/{'a' * 250}",
            "Repository name must not be more than 255 characters.",
            id="long-repository",
        ),
        pytest.param(
            f"gcr.io/p/i:{'t' * 129}",
            "Tag name must not be more than 128 characters.",
            id="129-character-tag",
        ),
    ],
)
def test_a_docker_reference_is_judged_as_gcloud_judges_it(image: str, reason: str | None) -> None:
    assert job.docker_reference_problem(image) == reason


def test_a_placeholder_pool_cannot_go_into_a_generated_config(workdir: Path) -> None:
    found = problems([*BASE, f"{POOL},disk-size=200", f"{WPS}="], workdir)

    assert_reported(
        found, [(WPS, "a placeholder pool (an empty --worker-pool-spec) cannot be combined")]
    )


def test_a_bad_endpoint_override_joins_the_other_problems(workdir: Path) -> None:
    override = {"CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": "http://127.0.0.1:8080"}

    found = problems([*BASE, "--labels=A=b", POOL], workdir, env=override)

    assert_reported(
        found,
        [
            ("--labels", "Invalid key format: A"),
            ("api_endpoint_overrides/aiplatform", "[http://127.0.0.1:8080]"),
        ],
    )


OVERRIDE = "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM"


@pytest.mark.parametrize(
    "override",
    [
        pytest.param("http://[::1/", id="an-unclosed-ipv6-address-gcloud-crashes-on"),
        pytest.param("http://127.0.0.1:8080/\r\nX-Evil: 1/", id="cr-lf-inside"),
        pytest.param("http://127.0.0.1:8080/\r", id="a-trailing-cr"),
        pytest.param("http://127.0.0.1:8080/?a=b/", id="a-query-gcloud-cannot-build-a-url-from"),
        pytest.param("http://localhost:99999/", id="a-port-out-of-range"),
        pytest.param("http://a_b:8080/", id="an-underscore-in-the-host"),
    ],
)
def test_an_endpoint_override_gcloud_refuses_or_cannot_use_is_bad_input(
    workdir: Path, override: str
) -> None:
    found = problems([*BASE, POOL], workdir, env={OVERRIDE: override})

    assert_reported(found, [("api_endpoint_overrides/aiplatform", "Invalid value [")])
    assert "\n" not in found[0][1]
    assert "\r" not in found[0][1]


def test_a_trailing_newline_on_the_endpoint_override_is_dropped_as_gcloud_drops_it(
    workdir: Path,
) -> None:
    # gcloud's validator matches with `$`, which allows a final newline; urlparse drops it.
    request = parse([*BASE, POOL], workdir, env={OVERRIDE: "http://127.0.0.1:8080/\n"})

    assert request.url.startswith("http://127.0.0.1:8080/v1/projects/p/")


@pytest.mark.parametrize(
    ("track", "accelerator"),
    [(None, "NVIDIA_H100_80GB"), ("beta", "NVIDIA_H100_80GB"), ("alpha", "TPU_V4_POD")],
)
def test_accelerator_names_come_from_the_tracks_api_version(
    workdir: Path, track: str | None, accelerator: str
) -> None:
    request = parse([*BASE, f"{POOL},accelerator-type={accelerator}"], workdir, track=track)

    assert request.body["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]["acceleratorType"] == (
        accelerator
    )


def test_the_accelerator_message_lists_the_available_names(workdir: Path) -> None:
    [(_, message)] = problems([*BASE, f"{POOL},accelerator-type=GPU"], workdir)

    available = message.split("Available values are [")[1].rstrip("].").split(", ")
    assert available == sorted(available)
    assert {"NVIDIA_TESLA_T4", "NVIDIA_L4", "TPU_V5_LITEPOD"} <= set(available)
    assert all(name.startswith(("NVIDIA", "TPU")) for name in available)


# --- labels, KMS, service account, display name -------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param(["--labels=Env=prod"], [("--labels", "Invalid key format: Env")], id="upper"),
        pytest.param(["--labels=1a=b"], [("--labels", "Invalid key format: 1a")], id="digit"),
        pytest.param(["--labels=_a=b"], [("--labels", "Invalid key format: _a")], id="underscore"),
        pytest.param(
            [f"--labels={'k' * 64}=v"], [("--labels", "Invalid key format: kkk")], id="long-key"
        ),
        pytest.param(
            ["--labels=env=Prod"], [("--labels", "Invalid value format: Prod")], id="upper-value"
        ),
        pytest.param(
            ["--labels=env=a.b"], [("--labels", "Invalid value format: a.b")], id="dot-in-value"
        ),
        pytest.param(
            [f"--labels=k={'v' * 64}"], [("--labels", "Invalid value format: vvv")], id="long"
        ),
        pytest.param(["--labels=env"], [("--labels", "Bad syntax for dict arg: [env]")], id="no-="),
        pytest.param(
            ["--labels=a=1", "--labels=a=2"],
            [("--labels", '"a" cannot be specified multiple times')],
            id="same-key-in-two-flags",
        ),
    ],
)
def test_a_bad_label_is_reported(workdir: Path, labels: list[str], expected: Expected) -> None:
    assert_reported(problems([*BASE, POOL, *labels], workdir), expected)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param(["--labels=env=prod,team="], {"env": "prod", "team": ""}, id="empty-value"),
        pytest.param(["--labels=a-b_c=1-2_3"], {"a-b_c": "1-2_3"}, id="hyphen-underscore-digits"),
        pytest.param([f"--labels={'k' * 63}=v"], {"k" * 63: "v"}, id="63-characters"),
        pytest.param(["--labels=clé=été"], {"clé": "été"}, id="lowercase-letters"),
        pytest.param(["--labels=ключ=значение"], {"ключ": "значение"}, id="cyrillic"),
        pytest.param(["--labels=名前=値"], {"名前": "値"}, id="caseless-ideographs"),
        pytest.param(["--labels=a=1,a=2"], {"a": "2"}, id="same-key-in-one-flag-last-wins"),
        pytest.param(["--labels=a=1", "--labels=b=2"], {"a": "1", "b": "2"}, id="two-flags"),
    ],
)
def test_a_good_label_passes(workdir: Path, labels: list[str], expected: dict[str, str]) -> None:
    assert parse([*BASE, POOL, *labels], workdir).body["labels"] == expected


@pytest.mark.parametrize(
    ("kms", "expected"),
    [
        pytest.param(
            ["--kms-keyring=kr"], [("--kms-key", "Encryption key not fully specified.")], id="ring"
        ),
        pytest.param(
            ["--kms-location=us-central1", "--kms-project=p"],
            [("--kms-key", "Encryption key not fully specified.")],
            id="location-and-project",
        ),
        pytest.param(
            ["--kms-key=k", "--kms-keyring=kr"],
            [("--kms-key", "not fully specified (missing --kms-location)")],
            id="key-without-location",
        ),
        pytest.param(
            ["--kms-key=k"],
            [("--kms-key", "not fully specified (missing --kms-keyring, --kms-location)")],
            id="key-alone",
        ),
    ],
)
def test_a_partial_kms_key_is_reported(workdir: Path, kms: list[str], expected: Expected) -> None:
    assert_reported(problems([*BASE, POOL, *kms], workdir), expected)


@pytest.mark.parametrize(
    ("kms", "expected"),
    [
        pytest.param([f"--kms-key={KMS}"], KMS, id="full-name"),
        pytest.param(
            ["--kms-key=k", "--kms-keyring=kr", "--kms-location=us-central1"],
            KMS,
            id="kms-project-defaults-to-the-project",
        ),
        pytest.param(
            ["--kms-key=k", "--kms-keyring=kr", "--kms-location=eu", "--kms-project=keys"],
            "projects/keys/locations/eu/keyRings/kr/cryptoKeys/k",
            id="kms-project",
        ),
    ],
)
def test_a_complete_kms_key_names_the_key(workdir: Path, kms: list[str], expected: str) -> None:
    body = parse([*BASE, POOL, *kms], workdir).body

    assert body["encryptionSpec"] == {"kmsKeyName": expected}


@pytest.mark.parametrize(
    ("account", "valid"),
    [
        pytest.param("trainer@p.iam.gserviceaccount.com", True, id="email"),
        pytest.param("123456789012345678901", True, id="unique-id"),
        pytest.param("trainer", False, id="a-bare-name"),
        pytest.param("trainer@localhost", False, id="no-dot-after-at"),
        pytest.param("", False, id="empty"),
        pytest.param("a b@c@d.e", True, id="anything-around-an-at-and-a-dot"),
    ],
)
def test_the_service_account_is_an_email_or_a_unique_id(
    workdir: Path, account: str, valid: bool
) -> None:
    argv = [*BASE, POOL, f"--service-account={account}"]
    if valid:
        assert parse(argv, workdir).body["jobSpec"]["serviceAccount"] == account
    else:
        assert_reported(
            problems(argv, workdir),
            [("--service-account", f"Bad value [{account}]: Not a valid service account")],
        )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["--project=p", "--region=us-central1", POOL],
            [("--display-name", "must be specified.")],
            id="display-name-missing",
        ),
        pytest.param(
            [*BASE, "--display-name=", POOL],
            [("--display-name", "Display name can not be empty.")],
            id="display-name-empty",
        ),
        pytest.param(
            [*BASE],
            [("", "At least one of [--config | --worker-pool-spec] must be specified.")],
            id="no-worker-pools",
        ),
        pytest.param(
            [*BASE, POOL, "--bogus"],
            [("", "unrecognized arguments: --bogus (did you mean '--args'?)")],
            id="unknown-flag",
        ),
        pytest.param(
            [*BASE, POOL, "--dry-run=json"],
            [("--dry-run", "must be one of [shell, rest, python], not 'json'.")],
            id="dry-run-style",
        ),
        pytest.param(
            [*BASE, POOL, "--wait-for-capacity=soon"],
            [("--wait-for-capacity", "expected a duration like 90s, 10m or 2h, not 'soon'.")],
            id="wait-duration",
        ),
        pytest.param(
            [*BASE, POOL, "--wait-for-capacity=10x"],
            [("--wait-for-capacity", "expected a duration")],
            id="wait-unit",
        ),
    ],
)
def test_a_bad_flag_is_reported(workdir: Path, argv: list[str], expected: Expected) -> None:
    assert_reported(problems(argv, workdir), expected)


@pytest.mark.parametrize("flags", [["--args=a,a"], ["--args=a", "--args=a"], ["--command=x,x"]])
def test_a_repeated_list_item_is_refused_as_gcloud_does(workdir: Path, flags: list[str]) -> None:
    found = problems([*BASE, POOL, *flags], workdir)

    assert_reported(found, [(flags[0].split("=")[0], "cannot be specified multiple times")])


# --- project and region ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        pytest.param(
            ["--project=p", "--region=mars"],
            {},
            [("--region", "Available values are [africa-south1, ")],
            id="region-not-supported",
        ),
        pytest.param(
            ["--project=p", "--region=us-central1"],
            {},
            [],
            id="a-supported-region",
        ),
        pytest.param(
            ["--project=p"],
            {},
            [("--region", "The [region] resource is not properly specified")],
            id="region-missing",
        ),
        pytest.param(
            ["--project=p"],
            {"CLOUDSDK_AI_REGION": "asia-east9"},
            [("--region", "but found [asia-east9].")],
            id="region-from-the-environment-is-checked-too",
        ),
        pytest.param(
            ["--project=p", "--region=projects/pp/locations/mars"],
            {},
            [("--region", "but found [mars].")],
            id="full-region-name-is-checked",
        ),
        pytest.param(
            ["--region=us-central1"],
            {},
            [("--project", "The required property [project] is not currently set")],
            id="project-missing",
        ),
        pytest.param(
            ["--region=projects/pp/locations/us-central1"],
            {},
            [("--project", "The required property [project] is not currently set")],
            id="a-region-path-does-not-set-the-project-property",
        ),
        pytest.param(
            [],
            {"CLOUDSDK_AI_REGION": "projects/pp/locations/us-central1"},
            [("--project", "The required property [project] is not currently set")],
            id="nor-does-a-region-property-path",
        ),
        pytest.param(
            ["--region=us-central1"],
            {"CLOUDSDK_CORE_PROJECT": ""},
            [("--project", "The required property [project] is not currently set")],
            id="project-empty-in-the-environment",
        ),
        pytest.param(
            [],
            {},
            [("--region", "not properly specified"), ("--project", "[project] is not")],
            id="both-missing",
        ),
    ],
)
def test_project_and_region_are_required_and_checked(
    workdir: Path, argv: list[str], env: dict[str, str], expected: Expected
) -> None:
    full = [*argv, "--display-name=job", POOL]
    if expected:
        assert_reported(problems(full, workdir, env=env), expected)
    else:
        assert parse(full, workdir, env=env).region == "us-central1"


def test_the_region_message_lists_every_training_region(workdir: Path) -> None:
    [(_, message)] = problems(["--project=p", "--region=mars", "--display-name=j", POOL], workdir)

    listed = message.split("[")[1].split("]")[0].split(", ")
    assert {"us-central1", "europe-west4", "asia-southeast1", "me-central2"} <= set(listed)
    assert len(listed) == 38


# --- --config ----------------------------------------------------------------------------------

CONFIG_POOL = "workerPoolSpecs:\n- machineSpec: {machineType: n1}\n  containerSpec: {imageUri: i}\n"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(
            "- machineSpec: {}\n",
            [
                ("--config", "the file must hold a mapping (a CustomJobSpec)."),
                ("--config", "the job has no worker pools"),
            ],
            id="a-list",
        ),
        pytest.param(
            "just text\n",
            [
                ("--config", "the file must hold a mapping"),
                ("--config", "the job has no worker pools"),
            ],
            id="a-scalar",
        ),
        pytest.param(
            "network: net\n",
            [("--config", "the job has no worker pools: add workerPoolSpecs to the file")],
            id="no-pools",
        ),
        pytest.param(
            CONFIG_POOL + "bogus: 1\n",
            [("--config", "the file: unknown key [bogus]; valid keys are [baseOutputDirectory,")],
            id="unknown-top-level-key",
        ),
        pytest.param(
            "workerPoolSpecs:\n- machineSpec: {machineType: n1, gpu: 1}\n"
            "  containerSpec: {imageUri: i}\n",
            [
                (
                    "--config",
                    "workerPoolSpecs[0].machineSpec: unknown key [gpu]; valid keys are "
                    "[acceleratorCount, acceleratorType, machineType, reservationAffinity, "
                    "tpuTopology]",
                )
            ],
            id="unknown-nested-key",
        ),
        pytest.param(
            "workerPoolSpecs:\n- machineSpec: {machineType: n1}\n  containerSpec: {imageUri: i}\n"
            "  machine_spec: {machineType: n2}\n",
            [
                (
                    "--config",
                    "workerPoolSpecs[0].machine_spec: the field is given twice, as [machineSpec] "
                    "and as [machine_spec]",
                ),
            ],
            id="a-field-under-both-of-its-names",
        ),
        pytest.param(
            CONFIG_POOL + "  replicaCount: two\n",
            [("--config", 'workerPoolSpecs[0].replicaCount: expected an integer, found "two"')],
            id="int64-not-a-number",
        ),
        pytest.param(
            "workerPoolSpecs:\n- machineSpec: {machineType: n1}\n  containerSpec: {imageUri: 5}\n",
            [("--config", "workerPoolSpecs[0].containerSpec.imageUri: expected a string, found 5")],
            id="wrong-type",
        ),
        pytest.param(
            CONFIG_POOL + "enableWebAccess: 'yes'\n",
            [("--config", 'enableWebAccess: expected a boolean (true or false), found "yes"')],
            id="string-for-a-boolean",
        ),
        pytest.param(
            CONFIG_POOL + "  diskSpec: {bootDiskSizeGb: 2.5}\n",
            [("--config", "workerPoolSpecs[0].diskSpec.bootDiskSizeGb: expected an integer")],
            id="an-integer-is-not-a-float",
        ),
        pytest.param(
            CONFIG_POOL + "  diskSpec: {bootDiskSizeGb: 4294967296}\n",
            [
                (
                    "--config",
                    "workerPoolSpecs[0].diskSpec.bootDiskSizeGb: 4294967296 is out of range "
                    "[-2147483648, 2147483647]",
                )
            ],
            id="an-int32-out-of-range",
        ),
        pytest.param(
            "workerPoolSpecs:\n- machineSpec: {machineType: n1, acceleratorType: T4}\n"
            "  containerSpec: {imageUri: i}\n",
            [
                (
                    "--config",
                    'workerPoolSpecs[0].machineSpec.acceleratorType: "T4" is not one of '
                    "[ACCELERATOR_TYPE_UNSPECIFIED, NVIDIA_A100_80GB,",
                )
            ],
            id="enum",
        ),
        pytest.param(
            "workerPoolSpecs:\n- machineSpec: {machineType: n1}\n",
            [
                (
                    "--config",
                    "workerPoolSpecs[0]: Exactly one of fields [pythonPackageSpec, containerSpec] "
                    "is required for a [workerPoolSpecs] in the YAML config file.",
                )
            ],
            id="pool-without-software",
        ),
        pytest.param(
            CONFIG_POOL + "  pythonPackageSpec: {executorImageUri: e, pythonModule: m}\n",
            [("--config", "workerPoolSpecs[0]: Exactly one of fields [pythonPackageSpec,")],
            id="pool-with-both-kinds-of-software",
        ),
        pytest.param(
            CONFIG_POOL + "- {}\n",
            [("--config", "workerPoolSpecs[1]: Exactly one of fields")],
            id="no-placeholder-pools-in-a-config",
        ),
        pytest.param(
            CONFIG_POOL + "pscInterfaceConfig: {}\n",
            [("--config", "the file: unknown key [pscInterfaceConfig]")],
            id="v1-has-no-psc-interface-config",
        ),
    ],
)
def test_a_bad_config_file_is_reported(workdir: Path, config: str, expected: Expected) -> None:
    found = problems([*BASE, "--config=job.yaml"], workdir, config=config)

    assert_reported(found, expected)


def test_a_v1beta1_config_may_use_v1beta1_fields(workdir: Path) -> None:
    config = CONFIG_POOL + "pscInterfaceConfig: {}\n"

    request = parse([*BASE, "--config=job.yaml"], workdir, config=config, track="beta")

    assert request.body["jobSpec"]["pscInterfaceConfig"] == {}


def test_package_uris_alone_do_not_make_a_config_pool_a_python_pool(workdir: Path) -> None:
    # gcloud's rule looks only at executorImageUri and pythonModule.
    config = CONFIG_POOL + "  pythonPackageSpec: {packageUris: [gs://b/p.tgz]}\n"

    request = parse([*BASE, "--config=job.yaml"], workdir, config=config)

    assert request.body["jobSpec"]["workerPoolSpecs"][0]["containerSpec"] == {"imageUri": "i"}


def test_the_config_pool_rule_is_skipped_when_flags_replace_the_pools(workdir: Path) -> None:
    config = "workerPoolSpecs:\n- machineSpec: {machineType: n1}\n"

    request = parse([*BASE, "--config=job.yaml", POOL], workdir, config=config)

    assert request.body["jobSpec"]["workerPoolSpecs"][0]["containerSpec"] == {"imageUri": IMAGE}


def test_the_config_schema_is_checked_even_when_flags_replace_the_pools(workdir: Path) -> None:
    config = "workerPoolSpecs:\n- machineSpec: {machineType: n1, gpu: 1}\n"

    found = problems([*BASE, "--config=job.yaml", POOL], workdir, config=config)

    assert_reported(found, [("--config", "workerPoolSpecs[0].machineSpec: unknown key [gpu]")])


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        pytest.param("nope.yaml", "cannot read [nope.yaml]:", id="missing"),
        pytest.param("pkg", "cannot read [pkg]:", id="a-directory"),
        pytest.param("job.yaml", "[job.yaml] is not valid YAML or JSON:", id="invalid-yaml"),
    ],
)
def test_an_unreadable_config_file_is_reported(workdir: Path, path: str, fragment: str) -> None:
    found = problems([*BASE, f"--config={path}"], workdir, config="a: [\n")

    assert found[0][0] == "--config"
    assert fragment in found[0][1]


@pytest.mark.parametrize(
    ("path", "fragment"), [("nope.yaml", "cannot read [nope.yaml]"), ("job.yaml", "not valid YAML")]
)
def test_an_unreadable_config_file_is_the_only_problem(
    workdir: Path, path: str, fragment: str
) -> None:
    found = problems([*BASE, f"--config={path}"], workdir, config="a: [\n")

    assert_reported(found, [("--config", fragment)])


@pytest.mark.parametrize(
    "config",
    [
        pytest.param("", id="empty"),
        pytest.param("~\n", id="null"),
        pytest.param("# c\n", id="comment"),
    ],
)
def test_a_config_file_without_a_document_is_refused_even_with_pools_from_flags(
    workdir: Path, config: str
) -> None:
    found = problems([*BASE, "--config=job.yaml", POOL], workdir, config=config)

    assert_reported(found, [("--config", "the file is empty")])


def test_a_config_from_empty_standard_input_is_refused(workdir: Path) -> None:
    environ = {"CLOUDSDK_CONFIG": str(workdir.parent / "gcloud")}
    with pytest.raises(BadInputError) as caught:
        parse_create(
            [*BASE, "--config=-", POOL],
            environ,
            track=None,
            cwd=str(workdir),
            read_stdin=io.StringIO("").read,
        )

    assert [(p.where, p.message) for p in caught.value.problems] == [
        ("--config", "the file is empty; gcloud wants a CustomJobSpec mapping.")
    ]


@pytest.mark.parametrize(
    ("pool", "replicas"),
    [
        pytest.param("replica-count: 2.9", "2", id="a-float-is-pythons-int-of-it"),
        pytest.param("replica-count: true", "1", id="true-is-one"),
        pytest.param("replica-count: 010", "10", id="010-is-ten"),
    ],
)
def test_flags_file_pool_counts_are_pythons_int_of_the_yaml_value(
    workdir: Path, pool: str, replicas: str
) -> None:
    (workdir / "f.yaml").write_text(
        f"--worker-pool-spec: {{machine-type: n1, container-image-uri: i, {pool}}}\n"
    )

    request = parse([*BASE, "--flags-file=f.yaml"], workdir)

    assert request.body["jobSpec"]["workerPoolSpecs"][0]["replicaCount"] == replicas


def test_a_flags_file_pool_count_as_text_is_pythons_int_of_the_text(workdir: Path) -> None:
    (workdir / "f.yaml").write_text(
        "--worker-pool-spec: {machine-type: n1, container-image-uri: i, replica-count: '2.9'}\n"
    )

    found = problems([*BASE, "--flags-file=f.yaml"], workdir)

    assert_reported(found, [(WPS, "Invalid value [2.9] for key [replica-count]")])


def test_a_config_from_standard_input_that_is_not_there_is_reported(workdir: Path) -> None:
    environ = {"CLOUDSDK_CONFIG": str(workdir.parent / "gcloud")}
    with pytest.raises(BadInputError) as caught:
        parse_create([*BASE, "--config=-"], environ, track=None, cwd=str(workdir))

    assert caught.value.problems[0].where == "--config"
    assert "cannot read [-]: standard input is not available" in caught.value.problems[0].message


# --- all at once -------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once_in_order(workdir: Path) -> None:
    argv = [
        "--region=mars",
        "--bogus",
        "--display-name=",
        "--dry-run=json",
        f"{WPS}=",
        f"{WPS}=machine-type=n1,accelerator-count=2",
        f"{WPS}=container-image-uri=i,python-module=m",
        "--labels=Env=prod",
        "--kms-keyring=kr",
        "--service-account=me",
        "--config=job.yaml",
    ]

    with pytest.raises(BadInputError) as caught:
        parse(argv, workdir, config="workerPoolSpecs: [{machineSpec: {gpu: 1}}]\n")

    assert [p.where for p in caught.value.problems] == [
        "",  # --bogus
        "--dry-run",
        "--region",
        "--project",
        "--display-name",
        "--config",  # machineSpec: unknown key [gpu]
        WPS,  # the first pool is empty (the message says "first")
        f"{WPS} #2",  # accelerator-count needs a type
        f"{WPS} #2",  # no image
        f"{WPS} #3",  # machine-type missing
        f"{WPS} #3",  # python-module with a container
        "--labels",
        "--kms-key",
        "--service-account",
    ]
    message = str(caught.value)
    assert message.splitlines()[0] == "unrecognized arguments: --bogus (did you mean '--args'?)"
    assert "\nargument --worker-pool-spec #3: Key [machine-type] required" in message
    assert caught.value.exit_code == 2


# --- flags-file values of the wrong shape --------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "where", "fragment"),
    [
        pytest.param(
            "--labels: [a, b]",
            "--labels",
            "Invalid type [list] for flag value",
            id="list-for-labels",
        ),
        pytest.param(
            "--args: {a: b}", "--args", "Invalid type [dict] for flag value", id="mapping-for-args"
        ),
        pytest.param(
            "--command: {a: b}",
            "--command",
            "Invalid type [dict] for flag value",
            id="mapping-for-command",
        ),
        pytest.param(
            "--python-package-uris: {a: b}",
            "--python-package-uris",
            "Invalid type [dict] for flag value",
            id="mapping-for-package-uris",
        ),
        pytest.param("--region: [us-central1]", "--region", "", id="list-for-region"),
        pytest.param("--kms-key: [k]", "--kms-key", "", id="list-for-kms-key"),
        pytest.param("--config: [job.yaml]", "--config", "", id="list-for-config"),
        pytest.param("--display-name: [a]", "--display-name", "", id="list-for-display-name"),
        pytest.param("--network: {a: b}", "--network", "", id="mapping-for-network"),
        pytest.param("--project: [q]", "--project", "", id="list-for-project"),
        pytest.param("--args: [1, 2]", "--args", "", id="numbers-in-an-args-list"),
        pytest.param("--labels: {k: 1}", "--labels", "", id="number-for-a-label-value"),
        pytest.param(
            "--labels: {k: }",
            "--labels",
            "Bad syntax for dict arg: [k]",
            id="null-for-a-label-value",
        ),
        pytest.param("--labels: {k: true}", "--labels", "True", id="boolean-for-a-label-value"),
        pytest.param(
            "--worker-pool-spec: [{machine-type: n1}]",
            f"{WPS} #2",
            "Invalid type [list] for flag value",
            id="list-for-a-worker-pool-spec",
        ),
    ],
)
def test_a_flags_file_value_of_the_wrong_shape_is_bad_input(
    workdir: Path, entry: str, where: str, fragment: str
) -> None:
    (workdir / "flags.yaml").write_text(entry + "\n", encoding="utf-8")

    found = problems([*BASE, POOL, "--flags-file=flags.yaml"], workdir)

    assert any(w == where and fragment in m for w, m in found), found
