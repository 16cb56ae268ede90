"""gcloud properties without gcloud: precedence, which configuration, and the Vertex AI endpoint.

Each test builds its own `$CLOUDSDK_CONFIG` under tmp_path, so the developer's own gcloud
configuration never leaks in.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from capture_server import gcloud_env

from prgcloud.errors import BadInputError
from prgcloud.gcloud_config import (
    Properties,
    active_configuration_name,
    aiplatform_endpoint,
    config_dir,
    env_variable,
    load_properties,
    read_properties_file,
)


@pytest.fixture
def gcloud_dir(tmp_path: Path) -> Path:
    """An empty gcloud configuration directory."""
    directory = tmp_path / "gcloud"
    (directory / "configurations").mkdir(parents=True)
    return directory


def write_configuration(gcloud_dir: Path, name: str, text: str) -> None:
    (gcloud_dir / "configurations" / f"config_{name}").write_text(text, encoding="utf-8")


def activate(gcloud_dir: Path, name: str) -> None:
    """Write `active_config` as `gcloud config configurations activate` does."""
    (gcloud_dir / "active_config").write_text(name, encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("core/project", "CLOUDSDK_CORE_PROJECT"),
        ("ai/region", "CLOUDSDK_AI_REGION"),
        ("auth/access_token_file", "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"),
        ("auth/impersonate_service_account", "CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT"),
        ("api_endpoint_overrides/aiplatform", "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM"),
        ("billing/quota_project", "CLOUDSDK_BILLING_QUOTA_PROJECT"),
    ],
)
def test_a_property_has_a_cloudsdk_variable(name: str, variable: str) -> None:
    assert env_variable(name) == variable


LAYERS = ("flag", "env", "configuration", "installation")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(LAYERS, "flag", id="flag-beats-everything"),
        pytest.param(LAYERS[1:], "env", id="env-beats-the-files"),
        pytest.param(LAYERS[2:], "configuration", id="configuration-beats-installation"),
        pytest.param(("installation",), "installation", id="installation-last"),
        pytest.param(("flag", "installation"), "flag", id="flag-beats-installation"),
        pytest.param(("env", "installation"), "env", id="env-beats-installation"),
        pytest.param((), None, id="unset"),
    ],
)
def test_properties_resolve_in_gclouds_order(given: tuple[str, ...], expected: str | None) -> None:
    name = "core/project"
    properties = Properties(
        overrides={name: "flag"} if "flag" in given else {},
        environ={"CLOUDSDK_CORE_PROJECT": "env"} if "env" in given else {},
        configuration={name: "configuration"} if "configuration" in given else {},
        installation={name: "installation"} if "installation" in given else {},
    )

    assert properties.get(name) == expected


def test_an_empty_variable_still_hides_the_configuration() -> None:
    # gcloud reads a set-but-empty variable as the value "" (and then says the project is unset).
    properties = Properties(
        environ={"CLOUDSDK_CORE_PROJECT": ""}, configuration={"core/project": "from-file"}
    )

    assert properties.get("core/project") == ""


def test_properties_are_read_through_every_layer(gcloud_dir: Path, tmp_path: Path) -> None:
    write_configuration(
        gcloud_dir,
        "default",
        "[core]\nproject = file-project\naccount = me@example.com\n[ai]\nregion = europe-west4\n",
    )
    activate(gcloud_dir, "default")
    sdk_root = tmp_path / "sdk"
    sdk_root.mkdir()
    (sdk_root / "properties").write_text(
        "[core]\nproject = sdk-project\n[auth]\naccess_token_file = /sdk/token\n", encoding="utf-8"
    )
    environ = {"CLOUDSDK_CONFIG": str(gcloud_dir), "CLOUDSDK_AI_REGION": "us-east1"}

    properties = load_properties(
        environ, overrides={"core/account": "flag@example.com"}, sdk_root=str(sdk_root)
    )

    assert properties.get("core/project") == "file-project"
    assert properties.get("ai/region") == "us-east1"
    assert properties.get("core/account") == "flag@example.com"
    assert properties.get("auth/access_token_file") == "/sdk/token"
    assert properties.get("core/disable_prompts") is None
    assert properties.configuration_name == "default"
    assert properties.config_dir == str(gcloud_dir)


@pytest.mark.parametrize(
    ("flag", "environ_name", "active_file", "expected"),
    [
        pytest.param("flagged", "from-env", "from-file", "flagged", id="flag-first"),
        pytest.param(None, "from-env", "from-file", "from-env", id="then-the-variable"),
        pytest.param(None, None, "from-file", "from-file", id="then-the-active-config-file"),
        pytest.param(None, None, None, "default", id="else-default"),
        pytest.param(None, None, "", "default", id="an-empty-active-config-file-means-default"),
        pytest.param(None, "", "from-file", "from-file", id="an-empty-variable-is-not-a-name"),
    ],
)
def test_the_configuration_is_chosen_as_gcloud_chooses_it(
    gcloud_dir: Path,
    flag: str | None,
    environ_name: str | None,
    active_file: str | None,
    expected: str,
) -> None:
    environ = {"CLOUDSDK_CONFIG": str(gcloud_dir)}
    if environ_name is not None:
        environ["CLOUDSDK_ACTIVE_CONFIG_NAME"] = environ_name
    if active_file is not None:
        (gcloud_dir / "active_config").write_text(active_file, encoding="utf-8")

    assert active_configuration_name(environ, flag) == expected


def test_the_chosen_configuration_supplies_the_values(gcloud_dir: Path) -> None:
    write_configuration(gcloud_dir, "default", "[core]\nproject = p-default\n")
    write_configuration(gcloud_dir, "other", "[core]\nproject = p-other\n")
    (gcloud_dir / "active_config").write_text("other", encoding="utf-8")
    environ = {"CLOUDSDK_CONFIG": str(gcloud_dir)}

    assert load_properties(environ).get("core/project") == "p-other"
    assert load_properties(environ, configuration="default").get("core/project") == "p-default"
    named = load_properties({**environ, "CLOUDSDK_ACTIVE_CONFIG_NAME": "default"})
    assert named.get("core/project") == "p-default"
    assert named.configuration_name == "default"


def test_a_configuration_that_does_not_exist_has_no_values(gcloud_dir: Path) -> None:
    properties = load_properties({"CLOUDSDK_CONFIG": str(gcloud_dir)}, configuration="nope")

    assert properties.configuration == {}
    assert properties.configuration_name == "nope"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({"CLOUDSDK_CONFIG": "/x/gcloud"}, "/x/gcloud", id="variable"),
        pytest.param({"CLOUDSDK_CONFIG": "~/g"}, "/home/u/g", id="variable-with-tilde"),
        pytest.param({"HOME": "/home/u"}, "/home/u/.config/gcloud", id="home"),
        pytest.param({"CLOUDSDK_CONFIG": "", "HOME": "/h"}, "/h/.config/gcloud", id="empty-var"),
    ],
)
def test_the_configuration_directory(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], expected: str
) -> None:
    monkeypatch.setenv("HOME", "/home/u")  # what `~` expands to

    assert config_dir(environ) == expected


def test_a_missing_properties_file_is_empty(tmp_path: Path) -> None:
    assert read_properties_file(str(tmp_path / "nope")) == {}


def test_a_properties_file_reads_as_section_slash_name(tmp_path: Path) -> None:
    path = tmp_path / "config_default"
    path.write_text(
        "[core]\nproject = p\ndisable_prompts = True\n\n[api_endpoint_overrides]\n"
        "aiplatform = http://localhost:8080/\n",
        encoding="utf-8",
    )

    assert read_properties_file(str(path)) == {
        "core/project": "p",
        "core/disable_prompts": "True",
        "api_endpoint_overrides/aiplatform": "http://localhost:8080/",
    }


def test_a_broken_properties_file_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "config_default"
    path.write_text("project = p\n", encoding="utf-8")  # no [section]

    with pytest.raises(BadInputError, match=r"(?s)cannot be read.*Fix it with `gcloud config`"):
        read_properties_file(str(path))


def endpoint(environ: dict[str, str]) -> str:
    return aiplatform_endpoint(Properties(environ=environ), "europe-west4")


OVERRIDE = "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({}, "https://europe-west4-aiplatform.googleapis.com/", id="regional-default"),
        pytest.param(
            {OVERRIDE: "http://127.0.0.1:8080/"}, "http://127.0.0.1:8080/", id="override-as-is"
        ),
        pytest.param(
            {OVERRIDE: "http://127.0.0.1:8080/base/"},
            "http://127.0.0.1:8080/base/",
            id="override-with-a-path",
        ),
        pytest.param(
            {OVERRIDE: "https://aiplatform.googleapis.com/"},
            "https://europe-west4-aiplatform.googleapis.com/",
            id="an-aiplatform-host-gets-the-region-in-front",
        ),
        pytest.param(
            {OVERRIDE: "http://aiplatform:8080/"},
            "http://europe-west4-aiplatform:8080/",
            id="any-host-starting-aiplatform",
        ),
        pytest.param(
            {OVERRIDE: "https://europe-west4-aiplatform.googleapis.com/"},
            "https://europe-west4-aiplatform.googleapis.com/",
            id="a-regional-host-stays",
        ),
        pytest.param({OVERRIDE: "http://[::1]:8080/"}, "http://[::1]:8080/", id="an-ipv6-address"),
    ],
)
def test_the_vertex_endpoint(environ: dict[str, str], expected: str) -> None:
    assert endpoint(environ) == expected


def test_the_endpoint_override_may_come_from_the_configuration() -> None:
    properties = Properties(
        configuration={"api_endpoint_overrides/aiplatform": "http://emulator:9000/"}
    )

    assert aiplatform_endpoint(properties, "us-central1") == "http://emulator:9000/"


@pytest.mark.parametrize(
    "override",
    [
        pytest.param("http://127.0.0.1:8080", id="no-trailing-slash"),
        pytest.param("http://127.0.0.1:8080/base", id="a-path-without-trailing-slash"),
        pytest.param("", id="empty"),
        pytest.param("localhost:8080/", id="no-scheme"),
        pytest.param("ftp://x.example/", id="not-http"),
        pytest.param("http://[::1/", id="an-unclosed-ipv6-address"),
        pytest.param("http://a b.example/", id="a-space"),
        pytest.param("http://127.0.0.1:9/\r\nX-Injected: 1/", id="cr-lf"),
    ],
)
def test_an_override_gcloud_would_refuse_is_bad_input(override: str) -> None:
    with pytest.raises(BadInputError) as caught:
        endpoint({OVERRIDE: override})

    [problem] = caught.value.problems
    assert problem.where == "api_endpoint_overrides/aiplatform"
    assert f"[{override.encode('unicode_escape').decode()}]" in problem.message
    assert "\n" not in problem.message
    assert "absolute URI beginning with http:// or https://" in problem.message


@pytest.mark.parametrize(
    ("make", "said"),
    [
        pytest.param(lambda p: p.mkdir(), "not a regular file or a pipe", id="a-directory"),
        pytest.param(
            lambda p: p.write_bytes(b"[core]\n" + b"#" * 1_100_000), "larger than 1 MiB", id="huge"
        ),
        pytest.param(
            lambda p: p.write_bytes(b"[core]\nproject = \xff\n"), "not UTF-8", id="binary"
        ),
    ],
)
def test_a_configuration_file_is_read_within_bounds(
    gcloud_dir: Path, make: Callable[[Path], object], said: str
) -> None:
    make(gcloud_dir / "configurations" / "config_default")
    activate(gcloud_dir, "default")
    with pytest.raises(BadInputError, match=said) as caught:
        load_properties({"CLOUDSDK_CONFIG": str(gcloud_dir)})
    assert caught.value.exit_code == 2


def test_an_active_config_that_is_not_a_file_is_bad_input(gcloud_dir: Path) -> None:
    (gcloud_dir / "active_config").mkdir()
    with pytest.raises(BadInputError, match="active_config cannot be read"):
        load_properties({"CLOUDSDK_CONFIG": str(gcloud_dir)})


def test_without_an_active_config_file_config_default_is_not_what_gcloud_reads(
    gcloud_dir: Path,
) -> None:
    # gcloud rewrites config_default from the legacy properties file before reading it.
    write_configuration(gcloud_dir, "default", "[core]\nproject = stale-default\n")

    assert load_properties({"CLOUDSDK_CONFIG": str(gcloud_dir)}).get("core/project") is None


def test_without_an_active_config_file_the_legacy_properties_are_the_configuration(
    gcloud_dir: Path,
) -> None:
    write_configuration(gcloud_dir, "default", "[core]\nproject = stale-default\n")
    (gcloud_dir / "properties").write_text("[core]\nproject = legacy\n", encoding="utf-8")

    assert load_properties({"CLOUDSDK_CONFIG": str(gcloud_dir)}).get("core/project") == "legacy"


@pytest.mark.parametrize(
    "named",
    [
        pytest.param({"configuration": "default"}, id="by-the-configuration-flag"),
        pytest.param({"environ": {"CLOUDSDK_ACTIVE_CONFIG_NAME": "default"}}, id="by-the-variable"),
    ],
)
def test_config_default_named_outright_is_read_without_an_active_config_file(
    gcloud_dir: Path, named: dict[str, object]
) -> None:
    write_configuration(gcloud_dir, "default", "[core]\nproject = p-default\n")
    environ = {"CLOUDSDK_CONFIG": str(gcloud_dir), **named.get("environ", {})}  # type: ignore[dict-item]

    properties = load_properties(environ, configuration=named.get("configuration"))  # type: ignore[arg-type]

    assert properties.get("core/project") == "p-default"


@pytest.mark.gcloud
@pytest.mark.parametrize(
    ("active_config", "legacy", "default"),
    [
        pytest.param(None, None, "p-default", id="no-active-config"),
        pytest.param(None, "p-legacy", "p-default", id="no-active-config-but-legacy-properties"),
        pytest.param("", None, "p-default", id="an-empty-active-config"),
        pytest.param("default", "p-legacy", "p-default", id="active-config-default"),
    ],
)
def test_the_project_is_the_one_the_real_gcloud_reads(
    gcloud_dir: Path,
    tmp_path: Path,
    active_config: str | None,
    legacy: str | None,
    default: str,
) -> None:
    write_configuration(gcloud_dir, "default", f"[core]\nproject = {default}\n")
    if legacy is not None:
        (gcloud_dir / "properties").write_text(f"[core]\nproject = {legacy}\n", encoding="utf-8")
    if active_config is not None:
        (gcloud_dir / "active_config").write_text(active_config, encoding="utf-8")
    token = tmp_path / "token"
    token.write_text("t", encoding="utf-8")
    environ = gcloud_env(
        server_url="http://127.0.0.1:9/", config_dir=str(gcloud_dir), token_file=str(token)
    )
    ours = load_properties(environ).get("core/project")

    result = subprocess.run(
        ["gcloud", "config", "get-value", "core/project"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )

    assert (ours or "") == result.stdout.strip()
