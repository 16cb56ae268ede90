"""Hostile input is refused (exit 2) with a one-paragraph error, never a crash or a hang.

Each case runs the whole CLI in-process (`prgcloud.cli.main`, streams in StringIOs) as a dry
run, so nothing could be sent even if a case were wrongly accepted.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from prgcloud import exit_codes, files, yamlread
from prgcloud.cli import main
from prgcloud.environment import Environment

BASE = ("--project=p", "--region=us-central1", "--display-name=job", "--dry-run")
POOL = "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/t:v1"
CONFIG_POOL = "workerPoolSpecs:\n  machineSpec: {machineType: n1}\n  containerSpec: {imageUri: i}\n"


@dataclass(frozen=True)
class Outcome:
    status: int
    stdout: str
    stderr: str


def run(
    tmp_path: Path,
    *argv: str,
    written: Mapping[str, str | bytes] | None = None,
    stdin: str = "",
    env: Mapping[str, str] | None = None,
) -> Outcome:
    """`prgcloud ai custom-jobs create ARGV` in `tmp_path`, with `written` files there."""
    for name, content in (written or {}).items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    environ = {"CLOUDSDK_CONFIG": str(tmp_path / "gcloud"), "PATH": os.defpath, **(env or {})}
    streams = {"stdin": io.StringIO(stdin), "stdout": out, "stderr": err}
    status = main(
        ["ai", "custom-jobs", "create", *argv],
        Environment(environ=environ, cwd=str(tmp_path), **streams),
    )
    return Outcome(status, out.getvalue(), err.getvalue())


def assert_refused(outcome: Outcome, *fragments: str) -> None:
    assert outcome.status == exit_codes.BAD_INPUT, outcome.stderr
    assert outcome.stdout == ""
    assert outcome.stderr.startswith("ERROR: (prgcloud) ")
    assert "Traceback" not in outcome.stderr
    for fragment in fragments:
        assert fragment in outcome.stderr


BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
DEEP_BLOCK = "".join(f"{'  ' * level}k:\n" for level in range(200)) + "  " * 200 + "v\n"
DEEP_FLOW = "[" * 1000 + "]" * 1000 + "\n"
HUGE_DECIMAL = "9" * 5000
HUGE_HEX = "0x" + "f" * 20000


@pytest.mark.parametrize(
    ("argv", "written", "fragments"),
    [
        pytest.param(
            ["--config=/dev/zero"],
            {},
            ["not a regular file or a pipe (a device)"],
            id="config-dev-zero",
        ),
        pytest.param([POOL, "--flags-file=/dev/zero"], {}, ["a device"], id="flags-file-dev-zero"),
        pytest.param(["--config=."], {}, ["a directory"], id="config-directory"),
        pytest.param(
            ["--config=big.yaml"],
            {"big.yaml": CONFIG_POOL + "#" * files.SPEC_FILE_LIMIT},
            ["larger than 4 MiB"],
            id="config-over-the-size-cap",
        ),
        pytest.param(
            ["--config=bin.yaml"],
            {"bin.yaml": b"network: \xff\xfe\n"},
            ["not UTF-8"],
            id="config-binary",
        ),
        pytest.param(
            ["--config=bomb.yaml"],
            {"bomb.yaml": BOMB},
            ["more than 100,000 values"],
            id="config-alias-bomb",
        ),
        pytest.param(
            [POOL, "--flags-file=bomb.yaml"],
            {"bomb.yaml": BOMB},
            ["more than 100,000 values"],
            id="flags-file-alias-bomb",
        ),
        pytest.param(
            ["--config=loop.yaml"],
            {"loop.yaml": "a: &a [*a]\n"},
            ["refers to the list"],
            id="config-alias-loop",
        ),
        pytest.param(
            ["--config=deep.yaml"],
            {"deep.yaml": DEEP_BLOCK},
            ["nests more than 64 levels"],
            id="config-nested-200-levels",
        ),
        pytest.param(
            [POOL, "--flags-file=deep.yaml"],
            {"deep.yaml": "--labels: " + DEEP_FLOW},
            ["--flags-file"],
            id="flags-file-nested-1000-levels",
        ),
        pytest.param(
            ["--config=wide.yaml"],
            {"wide.yaml": "[" + "1," * 150_000 + "1]\n"},
            ["more than 100,000 values"],
            id="config-a-long-list",
        ),
        pytest.param(
            ["--config=date.yaml"],
            {"date.yaml": CONFIG_POOL + "scheduling: {timeout: 2001-12-14}\n"},
            ["a date or time"],
            id="config-date",
        ),
        pytest.param(
            ["--config=set.yaml"],
            {"set.yaml": "!!set {a, b}\n"},
            ["a set (!!set)"],
            id="config-set",
        ),
        pytest.param(
            ["--config=keys.yaml"],
            {"keys.yaml": CONFIG_POOL + "1: 2\n"},
            ["unknown key [1]"],
            id="config-integer-key",
        ),
        pytest.param(
            ["--config=keys.yaml"],
            {"keys.yaml": "workerPoolSpecs: {1: 2, ~: 4, 2.5: 1}\n"},
            ["unknown keys [1, null, 2.5]"],
            id="config-odd-keys-in-a-pool",
        ),
        pytest.param(
            ["--config=int.yaml"],
            {"int.yaml": f"workerPoolSpecs: {{replicaCount: {HUGE_DECIMAL}}}\n"},
            ["is not a number gcloud reads"],
            id="config-integer-over-4300-digits",
        ),
        pytest.param(
            ["--config=int.yaml"],
            {"int.yaml": f"workerPoolSpecs: {{replicaCount: {HUGE_HEX}}}\n"},
            ["--config"],
            id="config-hex-integer-of-80000-bits",
        ),
        pytest.param(
            ["--config=int.yaml"],
            {"int.yaml": CONFIG_POOL + "  replicaCount: 99999999999999999999\n"},
            ["out of range"],
            id="config-int64-out-of-range",
        ),
        pytest.param(
            [POOL, "--flags-file=f.yaml"],
            {"f.yaml": f"--network: {HUGE_DECIMAL}\n"},
            ["is not a number gcloud reads"],
            id="flags-file-integer-over-4300-digits",
        ),
        pytest.param(
            [POOL, "--flags-file=f.yaml"],
            {"f.yaml": "--labels: {since: 2001-12-14}\n"},
            ["a date or time"],
            id="flags-file-date",
        ),
        pytest.param(
            [POOL, "--flags-file=f.yaml"],
            {"f.yaml": "--network: !!binary aGk=\n"},
            ["binary data"],
            id="flags-file-binary",
        ),
        pytest.param(
            [POOL, "--flags-file=f.yaml"],
            {"f.yaml": '--display-name: "\\udcff"\n'},
            ["invalid Unicode character escape"],
            id="flags-file-lone-surrogate-escape",
        ),
        pytest.param(
            ["--config=c.yaml"],
            {"c.yaml": CONFIG_POOL + 'network: "\\ud800"\n'},
            ["invalid Unicode character escape"],
            id="config-lone-surrogate-escape",
        ),
        pytest.param(
            [POOL, "--flags-file=f.yaml"],
            {"f.yaml": "--worker-pool-spec: {replica-count: 1e400}\n"},
            ["Invalid value [inf]"],
            id="flags-file-pool-count-infinite",
        ),
        pytest.param(
            [POOL, "--labels=a=\udcff"],
            {},
            ["argument --labels: the value is not UTF-8"],
            id="argv-binary-bytes",
        ),
        pytest.param([f"{POOL}\udcfe"], {}, ["is not UTF-8"], id="argv-binary-bytes-in-a-pool"),
        pytest.param(
            [POOL, "--bogus\udcff"],
            {},
            ["argument #6 after `create` is not UTF-8"],
            id="argv-binary-bytes-in-a-flag-name",
        ),
        pytest.param(
            ["--labels", "a=\udcff", POOL],
            {},
            ["argument --labels: the value is not UTF-8"],
            id="argv-binary-bytes-in-a-separate-value",
        ),
    ],
)
def test_hostile_input_is_refused_with_a_clear_error(
    tmp_path: Path, argv: list[str], written: Mapping[str, str | bytes], fragments: list[str]
) -> None:
    assert_refused(run(tmp_path, *BASE, *argv, written=written), *fragments)


def test_standard_input_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    outcome = run(tmp_path, *BASE, "--config=-", stdin="#" * (files.SPEC_FILE_LIMIT + 1))

    assert_refused(outcome, "cannot read [-]: it is larger than 4 MiB")


def test_a_flags_file_on_standard_input_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    outcome = run(tmp_path, *BASE, POOL, "--flags-file=-", stdin=" " * (files.SPEC_FILE_LIMIT + 1))

    assert_refused(outcome, "[-] cannot be read: it is larger than 4 MiB")


def test_an_unclosed_ipv6_endpoint_override_is_refused(tmp_path: Path) -> None:
    env = {"CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": "http://[::1/"}

    assert_refused(run(tmp_path, *BASE, POOL, env=env), "api_endpoint_overrides/aiplatform")


def test_a_document_just_within_the_bounds_is_read(tmp_path: Path) -> None:
    nested = "[" * (yamlread.MAX_DEPTH - 3) + "x" + "]" * (yamlread.MAX_DEPTH - 3)
    config = CONFIG_POOL + f"models: {nested}\n"

    outcome = run(tmp_path, *BASE, "--config=job.yaml", written={"job.yaml": config})

    # Deep but within the bound: read, then refused for what it says, not for its shape.
    assert_refused(outcome, "expected a string")
