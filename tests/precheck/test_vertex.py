"""prgcloud.vertex against a scripted local server, through the real SDK (REST transport)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from prgcloud import exit_codes, sdk, vertex
from prgcloud.errors import PrecheckFailedError

from .conftest import (
    PARENT,
    PROJECT,
    REGION,
    TOKEN,
    fake_gcloud,
    isolated_environ,
    resolved_identity,
)
from .fake_vertex import FakeVertex

NAME = f"{PARENT}/persistentResources/res"
RESOURCE = {
    "name": NAME,
    "state": "RUNNING",
    "resourcePools": [
        {
            "id": "cpu",
            "machineSpec": {"machineType": "n1-standard-4"},
            "replicaCount": "2",
            "usedReplicaCount": "1",
            "diskSpec": {"bootDiskType": "pd-standard", "bootDiskSizeGb": 200},
        }
    ],
}
# Quick enough for tests; the production defaults only stretch these numbers.
FAST = vertex.Budget(total=3.0, attempt=1.0, token=2.0, retries=2, backoff=0.05)


@pytest.fixture(autouse=True, scope="module")
def _sdk_imported() -> None:
    """The SDK's client imported up front: the small budgets below time the API, not an
    import that a loaded machine can stretch past them."""
    sdk.client_class({})


def read(
    fake: FakeVertex,
    environ: dict[str, str],
    resource_id: str = "res",
    *,
    flags: dict[str, str] | None = None,
    endpoint: str | None = None,
    budget: vertex.Budget = FAST,
) -> dict[str, Any]:
    """Read as the identity the parse layer resolves for `environ` and these gcloud flags."""
    return vertex.read_persistent_resource(
        PROJECT,
        REGION,
        resource_id,
        endpoint=endpoint or fake.url,
        identity=resolved_identity(environ, **(flags or {})),
        environ=environ,
        budget=budget,
    )


def failure(fake: FakeVertex, environ: dict[str, str], **kwargs: Any) -> PrecheckFailedError:
    with pytest.raises(PrecheckFailedError) as caught:
        read(fake, environ, **kwargs)
    assert caught.value.exit_code == exit_codes.PRECHECK_FAILED
    return caught.value


def test_resource_comes_back_as_camel_case_rest_json(
    fake_vertex: FakeVertex, environ: dict[str, str]
) -> None:
    fake_vertex.add(RESOURCE)
    assert read(fake_vertex, environ) == RESOURCE
    (get,) = fake_vertex.gets()
    assert get.path == f"/v1/{NAME}"
    assert get.authorization == f"Bearer {TOKEN}"


def test_access_token_file_flag_wins_over_the_variable(
    fake_vertex: FakeVertex, environ: dict[str, str], tmp_path: Path
) -> None:
    fake_vertex.add(RESOURCE)
    other = tmp_path / "other-token"
    other.write_text("flag-token")
    read(fake_vertex, environ, flags={"access_token_file": str(other)})
    assert fake_vertex.gets()[0].authorization == "Bearer flag-token"


def test_access_token_file_property_in_the_configuration_is_used(
    fake_vertex: FakeVertex, tmp_path: Path, token_file: Path
) -> None:
    fake_vertex.add(RESOURCE)
    environ = isolated_environ(tmp_path)
    configurations = Path(environ["CLOUDSDK_CONFIG"]) / "configurations"
    configurations.mkdir()
    (configurations / "config_work").write_text(f"[auth]\naccess_token_file = {token_file}\n")
    read(fake_vertex, environ, flags={"configuration": "work"})
    assert fake_vertex.gets()[0].authorization == f"Bearer {TOKEN}"


def test_without_a_token_file_the_token_is_gcloud_s_for_the_same_identity(
    fake_vertex: FakeVertex, tmp_path: Path
) -> None:
    fake_vertex.add(RESOURCE)
    gcloud = fake_gcloud(tmp_path, "echo gcloud-token")
    environ = isolated_environ(tmp_path, PRGCLOUD_GCLOUD=str(gcloud))
    flags = {
        "account": "me@example.com",
        "impersonate_service_account": "sa@p.iam.gserviceaccount.com",
        "configuration": "work",
    }
    read(fake_vertex, environ, flags=flags)
    assert fake_vertex.gets()[0].authorization == "Bearer gcloud-token"
    assert (tmp_path / "gcloud.log").read_text().split() == [
        "auth",
        "print-access-token",
        "--account=me@example.com",
        "--impersonate-service-account=sa@p.iam.gserviceaccount.com",
        "--configuration=work",
        "--quiet",
    ]


@pytest.mark.parametrize(
    ("status", "needle"),
    [
        pytest.param(404, "was not found in project p, region us-central1", id="not-found"),
        pytest.param(403, "aiplatform.persistentResources.get", id="denied"),
        pytest.param(401, "rejected the credentials", id="unauthenticated"),
        pytest.param(400, "HTTP 400", id="bad-request"),
        pytest.param(500, "HTTP 500", id="server-error"),
    ],
)
def test_api_errors_become_one_paragraph_and_exit_4(
    fake_vertex: FakeVertex, environ: dict[str, str], status: int, needle: str
) -> None:
    fake_vertex.add(RESOURCE)
    fake_vertex.fail(status)
    error = failure(fake_vertex, environ)
    assert needle in str(error)
    assert "\n" not in str(error)
    assert len(fake_vertex.gets()) == 1  # none of these is retried


def test_not_found_lists_the_resources_that_exist_there(
    fake_vertex: FakeVertex, environ: dict[str, str]
) -> None:
    fake_vertex.add(RESOURCE)
    fake_vertex.add({**RESOURCE, "name": f"{PARENT}/persistentResources/other"})
    fake_vertex.add({**RESOURCE, "name": "projects/p/locations/europe-west4/persistentResources/x"})
    message = str(failure(fake_vertex, environ, resource_id="typo"))
    assert "'typo' was not found in project p, region us-central1" in message
    assert "The persistent resources there are: res, other." in message


def test_not_found_says_when_there_are_none(
    fake_vertex: FakeVertex, environ: dict[str, str]
) -> None:
    message = str(failure(fake_vertex, environ, resource_id="typo"))
    assert "There are no persistent resources in project p, region us-central1." in message


def test_not_found_without_permission_to_list_still_says_not_found(
    fake_vertex: FakeVertex, environ: dict[str, str]
) -> None:
    fake_vertex.fail(403, only="list")
    message = str(failure(fake_vertex, environ, resource_id="typo"))
    assert "'typo' was not found" in message
    assert "there are" not in message.lower()


def test_permission_denied_names_the_permission_the_role_and_the_identity(
    fake_vertex: FakeVertex, tmp_path: Path
) -> None:
    fake_vertex.fail(403)
    gcloud = fake_gcloud(tmp_path, "echo gcloud-token")
    environ = isolated_environ(tmp_path, PRGCLOUD_GCLOUD=str(gcloud))
    message = str(failure(fake_vertex, environ, flags={"account": "me@example.com"}))
    assert (
        "account me@example.com needs the IAM permission aiplatform.persistentResources.get"
        in message
    )
    assert "roles/aiplatform.viewer" in message


def test_a_token_file_is_named_as_the_identity_that_was_denied(
    fake_vertex: FakeVertex, environ: dict[str, str], token_file: Path
) -> None:
    fake_vertex.fail(403)
    assert f"the identity of the token in {token_file} needs" in str(failure(fake_vertex, environ))


@pytest.mark.parametrize("status", [429, 503, 504])
def test_throttling_and_unavailability_are_retried(
    fake_vertex: FakeVertex, environ: dict[str, str], status: int
) -> None:
    fake_vertex.add(RESOURCE)
    fake_vertex.fail(status, times=2)
    assert read(fake_vertex, environ)["name"] == NAME
    assert len(fake_vertex.gets()) == 3


def test_retries_are_bounded(fake_vertex: FakeVertex, environ: dict[str, str]) -> None:
    fake_vertex.fail(503)
    message = str(failure(fake_vertex, environ))
    assert "did not answer" in message
    assert "3 attempts" in message
    assert "HTTP 503" in message
    assert len(fake_vertex.gets()) == FAST.retries + 1


def test_a_retry_after_longer_than_the_budget_ends_the_check(
    fake_vertex: FakeVertex, environ: dict[str, str]
) -> None:
    fake_vertex.fail(429, headers={"Retry-After": "60"})
    started = time.monotonic()
    assert "HTTP 429" in str(failure(fake_vertex, environ))
    assert time.monotonic() - started < FAST.total
    assert len(fake_vertex.gets()) == 1


def test_a_stalled_api_times_out_within_the_budget(
    fake_vertex: FakeVertex, environ: dict[str, str]
) -> None:
    fake_vertex.add(RESOURCE)
    fake_vertex.delay(1.0)
    budget = vertex.Budget(total=1.2, attempt=0.3, token=1.0, retries=5, backoff=0.05)
    started = time.monotonic()
    message = str(failure(fake_vertex, environ, budget=budget))
    assert time.monotonic() - started < budget.total + 0.5
    assert "did not answer" in message
    assert "timed out" in message


def test_one_slow_answer_is_retried(fake_vertex: FakeVertex, environ: dict[str, str]) -> None:
    fake_vertex.add(RESOURCE)
    fake_vertex.delay(0.6, times=1)
    budget = vertex.Budget(total=3.0, attempt=0.3, token=1.0, retries=2, backoff=0.05)
    assert read(fake_vertex, environ, budget=budget)["name"] == NAME


def test_a_closed_port_is_unreachable_at_once(
    fake_vertex: FakeVertex, environ: dict[str, str]
) -> None:
    closed = FakeVertex().start()
    url = closed.url
    closed.stop()
    # The default budget: a loaded machine's SDK import must not pass for a slow API.
    message = str(failure(fake_vertex, environ, endpoint=url, budget=vertex.Budget()))
    assert f"the Vertex AI API at {url} cannot be reached" in message
    assert "attempt" not in message  # refused at once: no retry, no waiting out the budget
    assert "Connection refused" in message


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        pytest.param(None, "cannot be read", id="missing"),
        pytest.param("  \n", "is empty", id="empty"),
    ],
)
def test_an_unusable_token_file_means_no_credentials(
    fake_vertex: FakeVertex, tmp_path: Path, content: str | None, needle: str
) -> None:
    path = tmp_path / "token-file"
    if content is not None:
        path.write_text(content)
    environ = isolated_environ(tmp_path, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=str(path))
    message = str(failure(fake_vertex, environ))
    assert message.startswith("no credentials for the pre-check")
    assert needle in message
    assert fake_vertex.gets() == []


def test_gcloud_without_a_login_means_no_credentials(
    fake_vertex: FakeVertex, tmp_path: Path
) -> None:
    gcloud = fake_gcloud(
        tmp_path, 'echo "ERROR: (gcloud.auth) No credentialed accounts." >&2\nexit 1'
    )
    environ = isolated_environ(tmp_path, PRGCLOUD_GCLOUD=str(gcloud))
    message = str(failure(fake_vertex, environ))
    assert message.startswith("no credentials for the pre-check")
    assert "No credentialed accounts" in message
    assert "never as another one" in message
    assert fake_vertex.gets() == []


def test_the_real_gcloud_without_a_login_means_no_credentials(
    fake_vertex: FakeVertex, tmp_path: Path
) -> None:
    message = str(failure(fake_vertex, isolated_environ(tmp_path)))
    assert message.startswith("no credentials for the pre-check: `gcloud auth print-access-token")
    assert fake_vertex.gets() == []


def test_listing_returns_every_resource_of_the_region(
    fake_vertex: FakeVertex, environ: dict[str, str]
) -> None:
    fake_vertex.add(RESOURCE)
    listed = vertex.list_persistent_resources(
        PROJECT,
        REGION,
        endpoint=fake_vertex.url,
        identity=resolved_identity(environ),
        environ=environ,
        budget=FAST,
    )
    assert [r["name"] for r in listed] == [NAME]


def test_listing_denied_names_the_list_permission(
    fake_vertex: FakeVertex, environ: dict[str, str]
) -> None:
    fake_vertex.fail(403)
    with pytest.raises(PrecheckFailedError, match=r"aiplatform\.persistentResources\.list"):
        vertex.list_persistent_resources(
            PROJECT,
            REGION,
            endpoint=fake_vertex.url,
            identity=resolved_identity(environ),
            environ=environ,
            budget=FAST,
        )
