"""The emulator judges jobs on its own, from Google's documentation, never through prgcloud."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prgcloud.emulator import machines
from prgcloud.emulator.errors import ApiError
from prgcloud.errors import PrgcloudError
from prgcloud.precheck import rules

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "machine_type",
    ["n1-standard-4", "a2-highgpu-1g", "a3-ultragpu-8g", "a3-highgpu-8g", "ct5lp-hightpu-4t"],
)
def test_the_emulator_and_the_pre_check_give_a_pool_the_same_disk_defaults(
    machine_type: str,
) -> None:
    key = rules.match_key({"machineType": machine_type}, {})
    assert key["diskSpec.bootDiskType"] == machines.default_boot_disk_type(machine_type)
    assert key["diskSpec.bootDiskSizeGb"] == machines.DEFAULT_BOOT_DISK_SIZE_GB


@pytest.mark.parametrize(
    ("machine_type", "offered"),
    [
        pytest.param("n1-standard-4", True, id="n1"),
        pytest.param("e2-highmem-16", True, id="e2"),
        pytest.param("a2-megagpu-16g", True, id="a2-gpus"),
        pytest.param("a4x-highgpu-4g", True, id="a4x"),
        pytest.param("m1-ultramem-40", True, id="m1"),
        pytest.param("ct6e-standard-4t", True, id="tpu-v6e"),
        pytest.param("cloud-tpu", True, id="tpu-vm"),
        pytest.param("totally-bogus-99", False, id="unknown-family"),
        pytest.param("n1-standard", False, id="no-size"),
        pytest.param("n1-standard-04", False, id="leading-zero"),
        pytest.param("N1-standard-4", False, id="upper-case"),
        pytest.param("", False, id="empty"),
    ],
)
def test_a_machine_type_is_a_known_family_in_the_documented_shape(
    machine_type: str, offered: bool
) -> None:
    assert machines.is_machine_type(machine_type) is offered


def test_the_emulator_answers_with_its_own_error_not_prgcloud_s() -> None:
    assert not issubclass(ApiError, PrgcloudError)


def test_the_emulator_never_loads_the_pre_check_or_prgcloud_s_errors() -> None:
    probe = (
        "import sys\n"
        "from prgcloud.emulator import Emulator\n"
        "from tests.emulator.emulator_helpers import World, gpu_pool\n"
        "from prgcloud.emulator.store import Store\n"
        "world = World(Store(None))\n"
        "world.resource('pr1', gpu_pool(1))\n"
        "world.job(gpu_pool(1)); world.job(gpu_pool(1))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('prgcloud.precheck',"
        " 'prgcloud.errors'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests' / 'emulator'}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"
