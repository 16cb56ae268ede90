"""prgcloud's copies of gcloud's tables agree with the installed gcloud's own source.

The flags of `ai custom-jobs create`, the `--worker-pool-spec` keys and their types, the
training regions and the gcloud-wide flags are read from gcloud's Python source with gcloud's
bundled interpreter (tests/gcloud_source/introspect.py builds calliope's real parser). When a
new gcloud adds, drops or retypes any of them, these tests fail and say which.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prgcloud import schemas
from prgcloud.constants import SUPPORTED_TRAINING_REGIONS
from prgcloud.flags import FLAGS, Kind

pytestmark = pytest.mark.gcloud

INTROSPECT = Path(__file__).parent / "gcloud_source" / "introspect.py"
# prgcloud's ArgDict value types (schemas/worker-pool-spec.json `x-arg-type`) in gcloud's terms.
ARG_TYPES = {"int": "int", "str": "str", "list": "ArgList"}
PRGCLOUD_SPEC_KEYS = {"disk-type", "disk-size"}  # prgcloud's own extension of the ArgDict
# gcloud-wide flags prgcloud answers itself rather than reading them for create.
NOT_A_CREATE_FLAG = {"--version"}


@functools.lru_cache(maxsize=1)
def gcloud_tables() -> dict[str, Any]:
    """What the installed gcloud's source says (run once per test session)."""
    gcloud = shutil.which("gcloud")
    assert gcloud, "the Google Cloud CLI must be on PATH"
    root = Path(os.path.realpath(gcloud)).parent.parent
    bundled = root / "platform" / "bundledpythonunix" / "bin" / "python3"
    python = str(bundled) if bundled.exists() else sys.executable
    out = subprocess.run(
        [python, str(INTROSPECT), str(root)], capture_output=True, text=True, check=True
    ).stdout
    return dict(json.loads(out))


def _kind(kind: Kind) -> str:
    return {Kind.VALUE: "value", Kind.BOOL: "bool", Kind.APPEND: "append"}[kind]


def test_create_reads_exactly_the_flags_gcloud_create_has() -> None:
    theirs = {
        name: kind for name, kind in gcloud_tables()["create_flags"].items() if kind != "negation"
    }
    ours = {name: _kind(flag.kind) for name, flag in FLAGS.items() if flag.scope == "command"}
    assert ours == theirs


def test_the_negatable_create_flags_are_gcloud_s() -> None:
    theirs = {
        "--" + name.removeprefix("--no-")
        for name, kind in gcloud_tables()["create_flags"].items()
        if kind == "negation"
    }
    ours = {n for n, flag in FLAGS.items() if flag.scope == "command" and flag.negatable}
    assert ours == theirs


def test_worker_pool_spec_keys_and_types_are_gcloud_s_plus_the_disk_keys() -> None:
    properties = schemas.worker_pool_spec()["properties"]
    ours = {key: ARG_TYPES[p["x-arg-type"]] for key, p in properties.items()}
    theirs = gcloud_tables()["worker_pool_spec"]
    assert set(ours) - set(theirs) == PRGCLOUD_SPEC_KEYS
    assert {k: v for k, v in ours.items() if k not in PRGCLOUD_SPEC_KEYS} == theirs


def test_training_regions_are_gcloud_s() -> None:
    assert list(SUPPORTED_TRAINING_REGIONS) == gcloud_tables()["training_regions"]


def test_every_public_gcloud_wide_flag_is_known() -> None:
    ours = {name for name, flag in FLAGS.items() if flag.scope == "global"}
    missing = set(gcloud_tables()["global_flags"]) - ours - NOT_A_CREATE_FLAG
    assert not missing
