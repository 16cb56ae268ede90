"""Property: whatever the arguments, `--config` or `--flags-file`, prgcloud ends with a
documented exit code and an error message, never a traceback.

Hypothesis generates the inputs from a fixed seed (`derandomize`), so a run is repeatable;
each example runs the whole CLI in-process as a dry run with the pre-check skipped, so
nothing can be sent and no server is needed.
"""

from __future__ import annotations

import io
import os
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prgcloud import exit_codes
from prgcloud.cli import main
from prgcloud.environment import Environment
from prgcloud.flags import FLAGS

DOCUMENTED = {
    exit_codes.OK,
    exit_codes.BAD_INPUT,
    exit_codes.DOES_NOT_FIT,
    exit_codes.PRECHECK_FAILED,
    exit_codes.WAIT_TIMED_OUT,
}
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# Help is gcloud's own (it runs gcloud); everything else may appear anywhere.
NAMES = sorted(name for name in FLAGS if name != "--help")
VALID = [
    "--project=p",
    "--region=us-central1",
    "--display-name=d",
    "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/t:v1",
]
PIECES = [
    "",
    "=",
    ",",
    ";",
    "^:^",
    "-",
    "machine-type=n1",
    "container-image-uri=i",
    "executor-image-uri=e",
    "python-module=m",
    "replica-count=",
    "replica-count=2",
    "replica-count=99999999999999999999",
    "accelerator-type=NVIDIA_TESLA_T4",
    "accelerator-count=1_0",
    "disk-type=pd-ssd",
    "disk-size=1e3",
    "local-package-path=.",
    "projects/p/locations/us-central1",
    "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k",
    "job.yaml",
    "flags.yaml",
    "K=V",
    "é",
    "\n",
    "\x00",
    "\udcff",
    "$(x)",
]
# Text YAML parsers find interesting: indicators, numbers in every base, dates, tags.
YAML_ATOMS = [
    "~",
    "null",
    "yes",
    "no",
    "on",
    "y",
    "010",
    "0o10",
    "0x1F",
    "0b11",
    "1:40",
    "1e3",
    ".inf",
    ".nan",
    "-_",
    "2001-12-14",
    "!!set {a}",
    "!!binary aGk=",
    "!!omap [a: 1]",
    "!foo x",
    "&a [1]",
    "*a",
    "<<",
    "=",
    '"\\udcff"',
    "9" * 5000,
    "[[[[[[[[",
    "{",
    "? [a]",
    "- ",
    ": ",
    "\t",
    "'",
]
KEYS = [
    "workerPoolSpecs",
    "worker_pool_specs",
    "machineSpec",
    "machine_spec",
    "machineType",
    "replicaCount",
    "replica_count",
    "acceleratorType",
    "acceleratorCount",
    "containerSpec",
    "imageUri",
    "pythonPackageSpec",
    "executorImageUri",
    "pythonModule",
    "diskSpec",
    "bootDiskSizeGb",
    "args",
    "env",
    "name",
    "value",
    "network",
    "enableWebAccess",
    "scheduling",
    "timeout",
    "persistentResourceId",
    "models",
    "1",
    "bogus",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["n1-standard-4", "NVIDIA_TESLA_T4", "gcr.io/p/t:v1", "2", " 7 ", "0x10"]),
)


def documents(keys: list[str]) -> st.SearchStrategy[Any]:
    """Nested JSON-like values whose mapping keys come mostly from `keys`."""
    key = st.one_of(st.sampled_from(keys), st.text(max_size=6), st.integers(-3, 3))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(key, inner, max_size=5)
        ),
        max_leaves=20,
    )


def yaml_text(keys: list[str]) -> st.SearchStrategy[str]:
    """A YAML document: a dumped structure, raw YAML-looking text, or the two spliced."""
    dumped = documents(keys).map(lambda doc: yaml.safe_dump(doc, allow_unicode=True))
    raw = st.lists(
        st.one_of(
            st.sampled_from(YAML_ATOMS),
            st.sampled_from(keys).map(lambda k: f"{k}: "),
            st.sampled_from(["\n", "\n  ", "\n- ", ", ", "]", "}"]),
            st.text(alphabet=string.printable, max_size=5),
        ),
        max_size=25,
    ).map("".join)
    spliced = st.tuples(dumped, raw).map(lambda pair: pair[0] + pair[1])
    return st.one_of(dumped, raw, spliced)


values = st.lists(st.sampled_from(PIECES), max_size=4).map("".join)
flag_items = st.tuples(st.sampled_from([*NAMES, "--no-enable-web-access", "-q", "pos"]), values)
argvs = st.tuples(st.booleans(), st.lists(st.tuples(flag_items, st.booleans()), max_size=8)).map(
    lambda t: (
        [*(VALID if t[0] else [])]
        + [
            item
            for (flag, value), joined in t[1]
            for item in ([f"{flag}={value}"] if joined else [flag, value])
        ]
    )
)
FLAG_KEYS = [*NAMES, "--no-enable-web-access", "--flags-file"]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def run(
    scratch: Path,
    argv: list[str],
    written: dict[str, str],
    stdin: str = "",
    track: tuple[str, ...] = (),
) -> tuple[int, str]:
    """The CLI's status and stderr for a dry run of `argv`, with `written` files in its cwd."""
    with tempfile.TemporaryDirectory(dir=scratch) as cwd:
        for name, text in written.items():
            Path(cwd, name).write_text(text, encoding="utf-8", errors="surrogateescape")
        out, err = io.StringIO(), io.StringIO()
        environ = {"CLOUDSDK_CONFIG": str(Path(cwd, "gcloud")), "PATH": os.defpath}
        streams = {"stdin": io.StringIO(stdin), "stdout": out, "stderr": err}
        status = main(
            [*track, "ai", "custom-jobs", "create", *argv, "--skip-precheck", "--dry-run"],
            Environment(environ=environ, cwd=cwd, **streams),
        )
    return status, err.getvalue()


def assert_documented(status: int, stderr: str) -> None:
    assert status in DOCUMENTED, stderr
    assert "Traceback" not in stderr
    if status != exit_codes.OK:
        assert stderr.startswith("ERROR: (prgcloud) "), stderr


@FUZZ
@given(argv=argvs, stdin=st.one_of(st.just(""), yaml_text(FLAG_KEYS)))
def test_any_argument_list_ends_in_a_documented_exit(
    scratch: Path, argv: list[str], stdin: str
) -> None:
    written = {"job.yaml": "workerPoolSpecs: {machineSpec: {machineType: n1}}\n"}
    assert_documented(*run(scratch, argv, written, stdin))


@FUZZ
@given(config=yaml_text(KEYS), with_pool=st.booleans(), track=st.sampled_from([(), ("beta",)]))
def test_any_config_file_ends_in_a_documented_exit(
    scratch: Path, config: str, with_pool: bool, track: tuple[str, ...]
) -> None:
    argv = [*VALID[:3], "--config=job.yaml", *(VALID[3:] if with_pool else [])]
    assert_documented(*run(scratch, argv, {"job.yaml": config}, track=track))


@FUZZ
@given(flags_file=yaml_text(FLAG_KEYS), config=st.one_of(st.just(""), yaml_text(KEYS)))
def test_any_flags_file_ends_in_a_documented_exit(
    scratch: Path, flags_file: str, config: str
) -> None:
    argv = [*VALID, "--flags-file=flags.yaml"]
    written = {"flags.yaml": flags_file, "job.yaml": config}
    assert_documented(*run(scratch, argv, written))
