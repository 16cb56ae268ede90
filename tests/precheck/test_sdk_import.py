"""Both ways of importing the SDK's client work: the fast path, and every fallback.

Each case runs in a fresh interpreter, since what is at stake is the import itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import PARENT, isolated_environ
from .fake_vertex import FakeVertex

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from prgcloud import sdk
{setup}
cls, path = sdk.import_client_class(fast={fast})
services = sorted(
    m for m in sys.modules
    if m.startswith("google.cloud.aiplatform_v1.services.") and m.count(".") == 4
)
# After the fast path, the bypassed packages must still answer like the real ones.
from google.cloud.aiplatform_v1 import CustomJob, PersistentResourceServiceClient
import google.cloud.aiplatform_v1.types as types
import google.cloud.aiplatform_v1.services.persistent_resource_service.client
chain = google.cloud.aiplatform_v1.services.persistent_resource_service.client
print(json.dumps({{
    "chain": chain.PersistentResourceServiceClient is cls,
    "path": path,
    "services": services,
    "same_class": PersistentResourceServiceClient is cls,
    "custom_job": CustomJob.__name__,
    "types": types.PersistentResource.__name__,
}}))
"""

# A module the client imports fails once, while the bypass is in place.
FAIL_ONCE_INSIDE_THE_CLIENT = """
import importlib.abc
class FailOnce(importlib.abc.MetaPathFinder):
    failed = False
    def find_spec(self, name, path, target=None):
        if name.endswith("persistent_resource_service.pagers") and not FailOnce.failed:
            FailOnce.failed = True
            raise ImportError("simulated")
        return None
sys.meta_path.insert(0, FailOnce())
"""

ONLY_OURS = ["google.cloud.aiplatform_v1.services.persistent_resource_service"]


def python(code: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    env = {**(environ or {"PATH": os.environ.get("PATH", "")}), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("setup", "fast", "path"),
    [
        pytest.param("", True, "fast", id="fast-path"),
        pytest.param("", False, "normal", id="fast-path-off"),
        pytest.param(
            "sdk.BYPASSED_PACKAGES += ('google.cloud.aiplatform_v1.no_such_package',)",
            True,
            "fallback",
            id="fallback-after-a-failure-midway",
        ),
        pytest.param(FAIL_ONCE_INSIDE_THE_CLIENT, True, "fallback", id="fallback-mid-client"),
        pytest.param(
            "sdk.BYPASSED_PACKAGES = ('google.cloud.no_such_package',)",
            True,
            "fallback",
            id="fallback-when-the-layout-changed",
        ),
        pytest.param(
            "import google.cloud.aiplatform_v1", True, "normal", id="already-imported-is-reused"
        ),
    ],
)
def test_the_client_imports_by_every_path(setup: str, fast: bool, path: str) -> None:
    result = python(PROBE.format(setup=setup, fast=fast))
    assert result["path"] == path
    assert result["same_class"]
    assert result["chain"]
    assert (result["custom_job"], result["types"]) == ("CustomJob", "PersistentResource")
    if path == "fast":
        assert result["services"] == ONLY_OURS
    else:
        assert len(result["services"]) > 10  # the package __init__ ran: every service


PACKAGE_STATE = """
import google.cloud.aiplatform_v1 as package
names = {}
exec("from google.cloud.aiplatform_v1 import *", names)
state = {
    "all": hasattr(package, "__all__"),
    "version": getattr(package, "__version__", None),
    "star": len([n for n in names if n != "__builtins__"]),
}
"""

# The library: a capacity read, then the SDK as the caller's own code would find it.
LIBRARY_READ = (
    """
import json
import prgcloud
from prgcloud import sdk
capacity = prgcloud.capacity("res", project="p", region="us-central1")
"""
    + PACKAGE_STATE
    + """
print(json.dumps({"state": capacity["state"], "path": sdk.client_import_path(), **state}))
"""
)

# The CLI's own process: the console script, as `prgcloud ... capacity` runs it.
CLI_READ = """
import json, sys
from prgcloud import cli
from prgcloud import sdk
def stop(status):  # console_main ends with os._exit; here the process must live to report
    raise SystemExit(status)
cli._exit = stop
sys.argv = ["prgcloud", "ai", "persistent-resources", "capacity", "res", "--project=p",
            "--region=us-central1", "--format=json"]
try:
    cli.console_main()
except SystemExit as done:
    print(json.dumps({"exit": done.code, "path": sdk.client_import_path()}))
"""

NORMAL_IMPORT = PACKAGE_STATE + "import json; print(json.dumps(state))"


@pytest.fixture
def read_environ(fake_vertex: FakeVertex, tmp_path: Path, token_file: Path) -> dict[str, str]:
    """An environment in which prgcloud reads persistent resource `res` from `fake_vertex`."""
    fake_vertex.add({"name": f"{PARENT}/persistentResources/res", "state": "RUNNING"})
    return isolated_environ(
        tmp_path,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=fake_vertex.url,
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=str(token_file),
    )


def test_a_library_call_leaves_the_sdk_as_a_normal_import_does(
    read_environ: dict[str, str],
) -> None:
    after_library = python(LIBRARY_READ, read_environ)
    normal = python(NORMAL_IMPORT)
    assert after_library["state"] == "RUNNING"
    assert after_library["path"] == "normal"
    assert after_library["all"]
    assert normal["all"]
    assert after_library["version"] == normal["version"] is not None
    assert after_library["star"] == normal["star"] > 1000


@pytest.mark.parametrize(("variable", "path"), [("", "fast"), ("normal", "normal")])
def test_the_cli_process_reads_by_the_fast_path_unless_told_not_to(
    read_environ: dict[str, str], variable: str, path: str
) -> None:
    result = python(CLI_READ, {**read_environ, "PRGCLOUD_SDK_IMPORT": variable})
    assert result == {"exit": 0, "path": path}
