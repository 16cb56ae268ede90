"""Plugins: `prgcloud NAME ARGS...` runs an executable `prgcloud-NAME`, after prgcloud's own
verbs and before gcloud; `prgcloud plugin list` shows what would run.

Plugins here are real scripts on PATH; the exec path is proven with prgcloud started as a
real process (bin/prgcloud), the in-process path with `cli.main`.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fake_gcloud import FakeGcloud

from prgcloud import cli, exit_codes, plugins
from prgcloud.environment import Environment

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "bin"

# A plugin that writes down how it was started, then exits as PLUGIN_EXIT says.
RECORDER = """#!{python}
import json, os, sys
with open(os.environ["PLUGIN_LOG"], "w") as f:
    json.dump({{"argv": sys.argv[1:], "pid": os.getpid(), "stdin": sys.stdin.read(),
               "cwd": os.getcwd()}}, f)
print("plugin says hi")
print("plugin complains", file=sys.stderr)
sys.exit(int(os.environ.get("PLUGIN_EXIT", "0")))
"""


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def plugin_bin(tmp_path: Path) -> Path:
    """A directory holding the plugin `prgcloud-hello`."""
    executable(tmp_path / "plugins" / "prgcloud-hello", RECORDER.format(python=sys.executable))
    return tmp_path / "plugins"


@pytest.fixture
def environ(tmp_path: Path, plugin_bin: Path) -> dict[str, str]:
    return {
        "PATH": os.pathsep.join([str(plugin_bin), "/usr/bin", "/bin"]),
        "PLUGIN_LOG": str(tmp_path / "plugin.json"),
        "HOME": str(tmp_path),
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"),
    }


def run_cli(argv: list[str], environ: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(environ=environ, stdin=io.StringIO(), stdout=out, stderr=err, cwd=str(cwd))
    return cli.main(argv, env), out.getvalue(), err.getvalue()


def log(tmp_path: Path) -> dict[str, object]:
    recorded: dict[str, object] = json.loads((tmp_path / "plugin.json").read_text())
    return recorded


# --- finding plugins -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "is_name"),
    [
        pytest.param("idle", True, id="word"),
        pytest.param("my-tool_2.0", True, id="dashes-dots-digits"),
        pytest.param("", False, id="empty"),
        pytest.param("-x", False, id="a-flag"),
        pytest.param("../x", False, id="a-path"),
        pytest.param(".hidden", False, id="dot"),
        pytest.param("a b", False, id="space"),
        pytest.param("a/b", False, id="slash"),
    ],
)
def test_what_can_name_a_plugin(word: str, is_name: bool) -> None:
    assert plugins.is_name(word) is is_name


def test_the_first_plugin_on_path_wins_and_later_ones_are_shadowed(tmp_path: Path) -> None:
    first = executable(tmp_path / "a" / "prgcloud-tool", "#!/bin/sh\n")
    second = executable(tmp_path / "b" / "prgcloud-tool", "#!/bin/sh\n")
    executable(tmp_path / "b" / "prgcloud-other", "#!/bin/sh\n")
    (tmp_path / "b" / "prgcloud-notes").write_text("not executable")
    environ = {"PATH": f"{tmp_path / 'a'}:{tmp_path / 'b'}"}
    assert plugins.find("tool", environ) == str(first)
    listed = [p for p in plugins.find_all(environ) if p.name != "idle"]
    assert listed == [
        plugins.Plugin("other", str(tmp_path / "b" / "prgcloud-other")),
        plugins.Plugin("tool", str(first)),
        plugins.Plugin("tool", str(second), shadowed_by=str(first)),
    ]


def test_plugins_are_never_taken_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executable(tmp_path / "prgcloud-evil", "#!/bin/sh\n")
    executable(tmp_path / "bin" / "prgcloud-evil", "#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    environ = {"PATH": ":.:bin:/usr/bin"}
    assert plugins.find("evil", environ) is None
    assert plugins.search_path(environ)[1][0] == (
        "PATH entry '(empty)' is skipped: it is relative, and plugins are never taken from "
        "the current directory"
    )


def test_prgcloud_s_own_plugins_are_found_without_path() -> None:
    assert plugins.find("idle", {"PATH": "/nonexistent"}) == str(BIN / "prgcloud-idle")


# --- running them ----------------------------------------------------------------------------


def test_a_plugin_gets_the_arguments_and_its_exit_code_is_prgcloud_s(
    environ: dict[str, str], tmp_path: Path
) -> None:
    environ["PLUGIN_EXIT"] = "7"
    argv = ["a b", "", "--flag='x'", "--project=p", "ünï"]
    status, out, err = run_cli(["hello", *argv], environ, tmp_path)
    assert (status, out, err) == (7, "plugin says hi\n", "plugin complains\n")
    assert log(tmp_path)["argv"] == argv


def test_a_plugin_is_exec_d_with_prgcloud_s_stdin_and_pid(
    environ: dict[str, str], tmp_path: Path
) -> None:
    environ["PLUGIN_EXIT"] = "42"
    environ["PRGCLOUD_PYTHON"] = sys.executable
    started = subprocess.Popen(
        [str(BIN / "prgcloud"), "hello", "one", "two words"],
        env=environ,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = started.communicate("from stdin\n", timeout=120)
    assert (started.returncode, out, err) == (42, "plugin says hi\n", "plugin complains\n")
    recorded = log(tmp_path)
    assert recorded["argv"] == ["one", "two words"]
    assert recorded["stdin"] == "from stdin\n"
    assert recorded["pid"] == started.pid  # exec: no prgcloud process stays around
    assert recorded["cwd"] == str(tmp_path)


def test_prgcloud_s_own_verbs_come_before_plugins(
    environ: dict[str, str], plugin_bin: Path, tmp_path: Path
) -> None:
    for name in ("emulator", "shim-path", "plugin"):
        executable(plugin_bin / f"prgcloud-{name}", RECORDER.format(python=sys.executable))
    status, out, _ = run_cli(["shim-path"], environ, tmp_path)
    assert (status, out) == (0, f"{BIN}\n")
    assert not (tmp_path / "plugin.json").exists()


def test_gclouds_own_commands_come_before_plugins_and_plugins_before_the_rest(
    environ: dict[str, str], plugin_bin: Path, tmp_path: Path
) -> None:
    fake = FakeGcloud.install(tmp_path)
    (tmp_path / "lib" / "surface" / "config").mkdir(parents=True)  # the fake's SDK knows `config`
    environ = fake.environ(environ)
    executable(plugin_bin / "prgcloud-config", RECORDER.format(python=sys.executable))

    assert run_cli(["config", "list"], environ, tmp_path)[0] == 0
    assert fake.calls == [["config", "list"]]
    assert not (tmp_path / "plugin.json").exists()

    assert run_cli(["hello", "there"], environ, tmp_path)[0] == 0
    assert log(tmp_path)["argv"] == ["there"]
    assert run_cli(["projects", "list"], environ, tmp_path)[0] == 0
    assert fake.calls == [["config", "list"], ["projects", "list"]]


@pytest.mark.parametrize(
    ("word", "known"),
    [
        pytest.param("config", True, id="a-group"),
        pytest.param("ai", True, id="the-ai-group"),
        pytest.param("access-approval", True, id="a-dashed-group"),
        pytest.param("beta", True, id="a-release-track"),
        pytest.param("idle", False, id="prgclouds-own-plugin"),
        pytest.param("hello", False, id="an-unknown-word"),
    ],
)
def test_the_installed_gclouds_commands_are_known(word: str, known: bool) -> None:
    gcloud = shutil.which("gcloud")
    assert gcloud is not None
    assert plugins.is_gcloud_command(word, gcloud) is known


def test_the_plugin_list_says_a_plugin_named_like_a_gcloud_command_never_runs(
    environ: dict[str, str], plugin_bin: Path, tmp_path: Path
) -> None:
    fake = FakeGcloud.install(tmp_path)
    (tmp_path / "lib" / "surface" / "config").mkdir(parents=True)
    executable(plugin_bin / "prgcloud-config", RECORDER.format(python=sys.executable))

    status, out, _ = run_cli(["plugin", "list"], fake.environ(environ), tmp_path)

    assert status == 0
    line = next(line for line in out.splitlines() if line.startswith("config "))
    assert "never runs: `prgcloud config` is gcloud's command" in line


def test_a_plugin_that_cannot_be_run_is_exit_126(environ: dict[str, str], tmp_path: Path) -> None:
    executable(Path(environ["PATH"].split(os.pathsep)[0]) / "prgcloud-broken", "no shebang\n")
    status, out, err = run_cli(["broken"], environ, tmp_path)
    assert (status, out) == (exit_codes.PLUGIN_NOT_RUNNABLE, "")
    assert "prgcloud-broken cannot be run: " in err


def test_a_plugin_exec_that_fails_is_exit_126(environ: dict[str, str], tmp_path: Path) -> None:
    executable(Path(environ["PATH"].split(os.pathsep)[0]) / "prgcloud-broken", "no shebang\n")
    environ["PRGCLOUD_PYTHON"] = sys.executable
    result = subprocess.run(
        [str(BIN / "prgcloud"), "broken"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == exit_codes.PLUGIN_NOT_RUNNABLE
    assert "prgcloud-broken cannot be run: Exec format error." in result.stderr


# --- plugin list -----------------------------------------------------------------------------


def test_plugin_list_shows_each_plugin_its_path_and_what_is_shadowed(
    environ: dict[str, str], plugin_bin: Path, tmp_path: Path
) -> None:
    later = executable(tmp_path / "later" / "prgcloud-hello", "#!/bin/sh\n")
    mine = executable(tmp_path / "later" / "prgcloud-emulator", "#!/bin/sh\n")
    environ["PATH"] = f"{plugin_bin}:{tmp_path / 'later'}"
    status, out, err = run_cli(["plugin", "list"], environ, tmp_path)
    assert (status, err) == (0, "")
    hello = plugin_bin / "prgcloud-hello"
    assert out.splitlines() == [
        f"emulator  {mine}  (never runs: `prgcloud emulator` is prgcloud's own command)",
        f"hello     {hello}",
        f"hello     {later}  (shadowed by {hello})",
        f"idle      {BIN / 'prgcloud-idle'}",
    ]


def test_plugin_list_takes_no_other_verb(environ: dict[str, str], tmp_path: Path) -> None:
    status, out, err = run_cli(["plugin", "install", "x"], environ, tmp_path)
    assert (status, out) == (exit_codes.BAD_INPUT, "")
    assert "invalid choice: 'install'" in err
