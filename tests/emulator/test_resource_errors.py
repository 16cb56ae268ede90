"""A persistent resource that ends in ERROR on demand, as the real gcloud and the real SDK see
it through the emulator's REST routes (v1 and v1beta1)."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from emulator_helpers import PARENT

from prgcloud.emulator import Emulator

exceptions = pytest.importorskip("google.api_core.exceptions")
aiplatform_v1beta1 = pytest.importorskip("google.cloud.aiplatform_v1beta1")
credentials = pytest.importorskip("google.oauth2.credentials")

PR1 = f"{PARENT}/persistentResources/pr1"
ERROR_LABELS = {"emulator-outcome": "error", "emulator-error-message": "stockout-a100"}


def gcloud(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gcloud", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud is not installed")
@pytest.mark.parametrize("track", [pytest.param([], id="ga"), pytest.param(["beta"], id="beta")])
def test_gcloud_creates_a_resource_that_ends_in_error_and_describes_why(
    gcloud_env: dict[str, str], clean_emulator: Emulator, track: list[str]
) -> None:
    env = {**gcloud_env, "CLOUDSDK_CORE_PROJECT": "p1"}
    clean_emulator.configure(provision_seconds=600)
    created = gcloud(
        env,
        *track,
        "ai",
        "persistent-resources",
        "create",
        "--region=us-central1",
        "--persistent-resource-id=pr1",
        "--resource-pool-spec=replica-count=1,machine-type=n1-standard-4",
        "--labels=emulator-outcome=error,emulator-error-message=stockout-a100",
    )
    assert created.returncode == 0, created.stderr
    clean_emulator.advance(600)
    described = gcloud(
        env,
        *track,
        "ai",
        "persistent-resources",
        "describe",
        "pr1",
        "--region=us-central1",
        "--format=json",
    )
    assert described.returncode == 0, described.stderr
    resource = json.loads(described.stdout)
    assert resource["state"] == "ERROR"
    assert resource["error"]["message"] == "stockout-a100"


def test_the_sdk_sees_the_create_operation_fail_with_the_message(clean_emulator: Emulator) -> None:
    clean_emulator.configure(provision_seconds=60)
    client = aiplatform_v1beta1.PersistentResourceServiceClient(
        transport="rest",
        client_options={"api_endpoint": clean_emulator.url.rstrip("/")},
        credentials=credentials.Credentials(token="ya29.sdk-test"),
    )
    types = aiplatform_v1beta1.types
    try:
        operation = client.create_persistent_resource(
            parent=PARENT,
            persistent_resource=types.PersistentResource(
                resource_pools=[
                    types.ResourcePool(
                        machine_spec=types.MachineSpec(machine_type="n1-standard-4"),
                        replica_count=1,
                    )
                ],
                labels=ERROR_LABELS,
            ),
            persistent_resource_id="pr1",
        )
        clean_emulator.advance(60)
        with pytest.raises(exceptions.GoogleAPICallError, match="stockout-a100"):
            operation.result(timeout=10)
        got: Any = client.get_persistent_resource(name=PR1)
        assert got.state == types.PersistentResource.State.ERROR
        assert got.error.message == "stockout-a100"
    finally:
        client.transport.close()
