"""The `gcloud` shim in bin/: the gcloud commands prgcloud wraps go through prgcloud,
everything else is exec'd as is.

The shim is a real process here, found on PATH as a runbook finds it. The "real" gcloud is a
fake (tests/fake_gcloud.py, or a probe that records argv, stdin, environment and pid) or the
real gcloud 528 with a fresh configuration, against the emulator.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fake_gcloud import FakeGcloud

from prgcloud import cli
from prgcloud.commands import shim_path
from prgcloud.emulator import Emulator
from prgcloud.emulator.errors import ApiError
from prgcloud.environment import Environment
from prgcloud.errors import PrgcloudError

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "bin"
SHIM = BIN / "gcloud"
REAL_GCLOUD = shutil.which("gcloud", path=os.defpath + os.pathsep + "/usr/lib/google-cloud-sdk/bin")
JOB = [
    "--region=us-central1",
    "--display-name=train",
    "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/i",
]

# A stand-in for gcloud that writes down exactly what it was started with.
PROBE = """#!{python}
import json, os, sys
def expanded(a):  # as gcloud does, read prgcloud's --flags-file pipe first: it holds flags
    if not a.startswith("--flags-file=/dev/fd/"):
        return [a]
    import yaml
    with open(a[len("--flags-file="):]) as flags:
        return [f"{{k}}={{v}}" for k, v in yaml.safe_load(flags).items()]
argv = [item for a in sys.argv[1:] for item in expanded(a)]
with open(os.environ["PROBE_LOG"], "w") as f:
    json.dump({{"argv": argv, "env": dict(os.environ), "pid": os.getpid(),
               "stdin": sys.stdin.buffer.read().decode("latin-1")}}, f)
sys.exit(int(os.environ.get("PROBE_EXIT", "0")))
"""


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def fake(tmp_path: Path) -> FakeGcloud:
    return FakeGcloud.install(tmp_path)


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    """A directory whose `gcloud` is the probe."""
    executable(tmp_path / "probe-bin" / "gcloud", PROBE.format(python=sys.executable))
    return tmp_path / "probe-bin"


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDSDK_", "PRGCLOUD_"))}
    env["CLOUDSDK_CONFIG"] = str(tmp_path / "gcloud-config")
    env["CLOUDSDK_CORE_DISABLE_PROMPTS"] = "1"
    env["PWD"] = str(tmp_path)  # as a login shell has it; /bin/sh would set it otherwise
    return env


def on_path(env: dict[str, str], *directories: Path | str) -> dict[str, str]:
    """`env` with `directories` first on PATH (then the system's, without the venv's gcloud)."""
    return {**env, "PATH": os.pathsep.join([*map(str, directories), "/usr/bin", "/bin"])}


def gcloud(
    argv: list[str], env: dict[str, str], cwd: Path, shell: str | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run `gcloud ARGV` as a shell would: the first gcloud on env's PATH (by `shell`, if
    given, as a script rather than by its `#!` line)."""
    path = os.pathsep.join(os.path.join(cwd, d) for d in env["PATH"].split(os.pathsep))
    found = shutil.which("gcloud", path=path)
    assert found is not None
    return subprocess.run(
        [*([shell] if shell else []), found, *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,
    )


def probe_log(tmp_path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((tmp_path / "probe.json").read_text())
    return result


# --- pass-through ------------------------------------------------------------------------------

AWKWARD_ARGV = [
    pytest.param(["config", "list"], id="plain"),
    pytest.param(["compute", "ssh", "vm 1", "--command=echo 'a b' \"c\""], id="spaces-quotes"),
    pytest.param(["config", "set", "core/project", ""], id="empty-arg"),
    pytest.param(["", "", "x"], id="leading-empty-args"),
    pytest.param(["storage", "cp", "*.txt", "gs://b/$HOME/`id`/"], id="glob-and-expansions"),
    pytest.param(["x", "line one\nline two", "tab\there", "back\\slash"], id="control-chars"),
    pytest.param(["--", "-q", "-", "--project"], id="dashes"),
    pytest.param(["projects", "describe", "pröject-ü", "🚀"], id="unicode"),
    pytest.param(["ai", "custom-jobs", "list", "--region=us-central1"], id="ai-not-create"),
    pytest.param(["ai", "custom-jobs", "creat"], id="ai-almost-create"),
    pytest.param(["ai", "endpoints", "create"], id="another-groups-create"),
    pytest.param(["alpha", "beta", "ai", "custom-jobs", "create"], id="two-tracks"),
    pytest.param(["ai", "alpha", "custom-jobs", "create"], id="track-too-late"),
    pytest.param(["ai-platform", "jobs", "submit", "training"], id="ai-platform"),
    pytest.param(["--version"], id="version"),
    pytest.param(["--unknown", "ai", "custom-jobs", "create"], id="unknown-flag-first"),
    pytest.param(["ai", "custom-jobs", "--", "create"], id="double-dash-before-create"),
    pytest.param(["--project"], id="value-flag-without-value"),
    pytest.param([], id="no-args"),
]


@pytest.mark.parametrize("argv", AWKWARD_ARGV)
def test_other_commands_reach_gcloud_with_the_same_arguments(
    probe: Path, base_env: dict[str, str], tmp_path: Path, argv: list[str]
) -> None:
    env = {**on_path(base_env, BIN, probe), "PROBE_LOG": str(tmp_path / "probe.json")}
    result = gcloud(argv, env, tmp_path, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert probe_log(tmp_path)["argv"] == argv


@pytest.mark.parametrize("code", [0, 1, 2, 3, 42, 127, 255])
def test_gclouds_exit_code_comes_back_unchanged(
    fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path, code: int
) -> None:
    env = on_path(fake.environ(base_env, exit=str(code)), BIN, fake.bin_dir)
    assert gcloud(["config", "list"], env, tmp_path).returncode == code


def test_gcloud_is_execd_with_the_same_stdin_environment_and_process(
    probe: Path, base_env: dict[str, str], tmp_path: Path
) -> None:
    env = on_path(base_env, BIN, probe)
    env.update(
        PROBE_LOG=str(tmp_path / "probe.json"),
        ODD_VALUE="line one\nline two 'q' \"dq\" $HOME",
        EMPTY_VALUE="",
        PRGCLOUD_STRICT_LOOKING="1",
        PATH_LIKE=f"{BIN}:{probe}",
    )
    stdin = "".join(map(chr, range(1, 256))) + "\nno newline at the end"
    seen = {}
    for way, program in [("raw", probe / "gcloud"), ("shim", SHIM)]:
        process = subprocess.Popen(
            [str(program), "config", "list"],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            text=True,
            encoding="latin-1",
        )
        process.communicate(stdin, timeout=60)
        assert process.returncode == 0
        seen[way] = probe_log(tmp_path)
        assert seen[way]["pid"] == process.pid, f"{way}: gcloud ran as a child, not exec'd"
        assert seen[way]["stdin"] == stdin
    assert seen["shim"]["argv"] == ["config", "list"]
    assert seen["shim"]["env"] == seen["raw"]["env"]
    assert {k: v for k, v in seen["shim"]["env"].items() if k in env} == env


def test_a_signal_to_the_shims_process_reaches_gcloud(
    fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path
) -> None:
    env = on_path(fake.environ(base_env, sleep="30"), BIN, fake.bin_dir)
    process = subprocess.Popen([str(SHIM), "config", "list"], env=env, cwd=tmp_path)
    deadline = time.monotonic() + 20
    while not fake.calls:
        assert time.monotonic() < deadline, "gcloud never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 143
    assert fake.signals == ["terminated"]


# --- never itself ------------------------------------------------------------------------------


def test_the_shim_on_path_twice_still_finds_the_real_gcloud(
    fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path
) -> None:
    alias = tmp_path / "alias-of-bin"
    alias.symlink_to(BIN)
    env = on_path(fake.environ(base_env), BIN, alias, BIN, fake.bin_dir)
    assert gcloud(["config", "list"], env, tmp_path, stdin=subprocess.DEVNULL).returncode == 0
    assert fake.calls == [["config", "list"]]


def test_other_copies_of_the_shim_on_path_are_skipped(
    fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy2(SHIM, copy / "gcloud")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "gcloud").symlink_to(SHIM)
    # Each copy, run first, must skip the others: no ping-pong between two shims.
    for first, second in [(copy, BIN), (BIN, copy), (linked, copy), (copy, linked)]:
        env = on_path(fake.environ(base_env), first, second, first, fake.bin_dir)
        assert gcloud(["info"], env, tmp_path).returncode == 0
    assert fake.calls == [["info"]] * 4


def test_prgcloud_gcloud_names_the_real_gcloud(
    fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path
) -> None:
    decoy = executable(tmp_path / "decoy" / "gcloud", "#!/bin/sh\nexit 99\n")
    env = on_path(fake.environ(base_env), BIN, decoy.parent)
    env["PRGCLOUD_GCLOUD"] = fake.path
    assert gcloud(["config", "list"], env, tmp_path).returncode == 0
    assert fake.calls == [["config", "list"]]


@pytest.mark.parametrize(
    "argv", [["config", "list"], ["ai", "custom-jobs", "create", *JOB]], ids=["other", "create"]
)
def test_prgcloud_gcloud_pointing_at_the_shim_is_refused(
    fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path, argv: list[str]
) -> None:
    env = on_path(fake.environ(base_env), BIN, fake.bin_dir)
    env["PRGCLOUD_GCLOUD"] = str(SHIM)
    result = gcloud(argv, env, tmp_path)
    assert result.returncode == 127
    assert "PRGCLOUD_GCLOUD" in result.stderr
    assert "shim" in result.stderr
    assert fake.calls == []


@pytest.mark.parametrize(
    "argv", [["config", "list"], ["ai", "custom-jobs", "create", *JOB]], ids=["other", "create"]
)
def test_without_a_real_gcloud_the_shim_says_so_and_exits_127(
    base_env: dict[str, str], tmp_path: Path, argv: list[str]
) -> None:
    env = {**base_env, "PATH": os.pathsep.join([str(BIN), str(BIN), str(tmp_path)])}
    result = gcloud(argv, env, tmp_path)
    assert result.returncode == 127
    assert "no real gcloud on PATH" in result.stderr
    assert "PRGCLOUD_GCLOUD" in result.stderr


def test_prgcloud_gcloud_that_is_not_executable_exits_127(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    env = on_path(base_env, BIN)
    env["PRGCLOUD_GCLOUD"] = str(tmp_path / "missing")
    result = gcloud(["config", "list"], env, tmp_path)
    assert result.returncode == 127
    assert "not an executable file" in result.stderr


# --- create goes through prgcloud --------------------------------------------------------------

CREATE_FORMS = [
    pytest.param(
        ["ai", "custom-jobs", "create", "--project=p1", *JOB],
        ["ai", "custom-jobs", "create", "--project=p1", *JOB],
        id="plain",
    ),
    pytest.param(
        ["--project=p1", "--verbosity=error", "beta", "ai", "custom-jobs", "create", *JOB],
        ["beta", "ai", "custom-jobs", "create", "--project=p1", "--verbosity=error", *JOB],
        id="global-flags-first",
    ),
    pytest.param(
        ["--project", "p1", "--format", "json", "alpha", "ai", "custom-jobs", "create", *JOB],
        ["alpha", "ai", "custom-jobs", "create", "--project", "p1", "--format", "json", *JOB],
        id="two-item-global-flags",
    ),
    pytest.param(
        ["-q", "ai", "--project", "p1", "custom-jobs", "--no-user-output-enabled", "create", *JOB],
        [
            "ai",
            "custom-jobs",
            "create",
            "-q",
            "--project",
            "p1",
            "--no-user-output-enabled",
            *JOB,
        ],
        id="flags-between-words",
    ),
    pytest.param(
        ["--project=ignored", "ai", "custom-jobs", "create", "--project=p1", *JOB],
        ["ai", "custom-jobs", "create", "--project=ignored", "--project=p1", *JOB],
        id="order-kept-last-wins",
    ),
    pytest.param(
        ["--project", "ai", "ai", "custom-jobs", "create", *JOB, "--display-name=a 'b' \"c\""],
        ["ai", "custom-jobs", "create", "--project", "ai", *JOB, "--display-name=a 'b' \"c\""],
        id="a-value-that-looks-like-a-word",
    ),
]


@pytest.mark.parametrize(("argv", "gcloud_ran"), CREATE_FORMS)
def test_create_goes_through_prgcloud_which_runs_the_real_gcloud(
    fake: FakeGcloud,
    base_env: dict[str, str],
    tmp_path: Path,
    argv: list[str],
    gcloud_ran: list[str],
) -> None:
    env = on_path(fake.environ(base_env), BIN, fake.bin_dir)
    result = gcloud(argv, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert fake.calls == [gcloud_ran]


def test_create_is_checked_by_prgcloud_before_gcloud_runs(
    fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path
) -> None:
    env = on_path(fake.environ(base_env), BIN, fake.bin_dir)
    result = gcloud(
        ["--project=p1", "ai", "custom-jobs", "create", "--region=us-central1"], env, tmp_path
    )
    assert result.returncode == 2
    assert "ERROR: (prgcloud)" in result.stderr
    assert "--display-name" in result.stderr
    assert fake.calls == []


def test_create_runs_prgcloud_with_the_shim_dir_to_skip(
    probe: Path, base_env: dict[str, str], tmp_path: Path
) -> None:
    env = on_path(base_env, BIN, probe)
    env["PROBE_LOG"] = str(tmp_path / "probe.json")
    env["PRGCLOUD_SHIM_DIR"] = "/some/other/shim"
    result = gcloud(["ai", "custom-jobs", "create", "--project=p1", *JOB], env, tmp_path)
    assert result.returncode == 0, result.stderr
    seen = probe_log(tmp_path)
    assert seen["argv"] == ["ai", "custom-jobs", "create", "--project=p1", *JOB]
    # its own directory, the shims it passed on PATH (itself), then what was there before
    assert seen["env"]["PRGCLOUD_SHIM_DIR"].split(os.pathsep) == [
        str(BIN),
        str(BIN),
        "/some/other/shim",
    ]


def test_create_passes_every_shim_before_gcloud_on_path_to_prgcloud_to_skip(
    probe: Path, base_env: dict[str, str], tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy2(SHIM, copy / "gcloud")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "gcloud").symlink_to(SHIM)
    env = on_path(base_env, "linked", copy, BIN, probe)
    env["PROBE_LOG"] = str(tmp_path / "probe.json")
    result = gcloud(["ai", "custom-jobs", "create", "--project=p1", *JOB], env, tmp_path)
    assert result.returncode == 0, result.stderr
    # One hop: prgcloud ran the real gcloud, not another shim that would run prgcloud again.
    skipped = probe_log(tmp_path)["env"]["PRGCLOUD_SHIM_DIR"].split(os.pathsep)
    assert skipped == [str(BIN), str(linked), str(copy), str(BIN)]


def test_create_through_a_symlink_to_the_shim_finds_its_prgcloud(
    fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path
) -> None:
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "gcloud").symlink_to(os.path.relpath(SHIM, linked))
    env = on_path(fake.environ(base_env), linked, fake.bin_dir)
    result = gcloud(["ai", "custom-jobs", "create", "--project=p1", *JOB], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert fake.calls == [["ai", "custom-jobs", "create", "--project=p1", *JOB]]


needs_gcloud = pytest.mark.skipif(
    REAL_GCLOUD is None, reason="the Google Cloud CLI is not installed"
)


# --- which commands go through prgcloud ---------------------------------------------------------

# A stand-in, in sh, for gcloud or for prgcloud next to the shim: writes down its name and its
# arguments, each ended by a NUL (no Python to start: the table below runs the shim ~100 times).
NAMED_PROBE = """#!/bin/sh
printf '%s\\0' "${0##*/}" "$@" > "$PROBE_LOG"
"""
SHELLS = [
    pytest.param(
        shell,
        id=shell,
        marks=pytest.mark.skipif(shutil.which(shell) is None, reason=f"{shell} is not installed"),
    )
    for shell in ("dash", "bash")
]


@pytest.fixture
def router(tmp_path: Path) -> dict[str, str]:
    """A copy of the shim whose `prgcloud` is a probe, and a probe for the real gcloud: the
    environment to run it in (its PATH: the copy, then the probe gcloud)."""
    executable(tmp_path / "shim" / "prgcloud", NAMED_PROBE)
    shutil.copy2(SHIM, tmp_path / "shim" / "gcloud")
    executable(tmp_path / "real" / "gcloud", NAMED_PROBE)
    return {
        "PATH": os.pathsep.join([str(tmp_path / "shim"), str(tmp_path / "real"), "/usr/bin"]),
        "PROBE_LOG": str(tmp_path / "probe.log"),
        "SHIM": str(tmp_path / "shim" / "gcloud"),
    }


def routed(router: dict[str, str], argv: list[str], shell: str = "sh") -> list[str]:
    """[the program the shim ran (`prgcloud` or `gcloud`), then its arguments]."""
    subprocess.run([shell, router["SHIM"], *argv], env=router, timeout=60, check=True)
    with open(router["PROBE_LOG"], "rb") as log:
        return log.read().decode().split("\0")[:-1]


ROUTED = [
    pytest.param(["ai", "custom-jobs", "create", *JOB], None, id="custom-jobs-create"),
    pytest.param(["ai", "hp-tuning-jobs", "create", "--config=t.yaml"], None, id="tuning-create"),
    pytest.param(
        ["ai", "persistent-resources", "create", "--persistent-resource-id=pr"],
        None,
        id="persistent-resources-create",
    ),
    pytest.param(["ai", "persistent-resources", "delete", "pr"], None, id="delete"),
    pytest.param(["ai", "persistent-resources", "reboot", "pr", "--force"], None, id="reboot"),
    pytest.param(
        ["--project=p", "beta", "ai", "-q", "persistent-resources", "--format", "json", "delete"],
        ["beta", "ai", "persistent-resources", "delete", "--project=p", "-q", "--format", "json"],
        id="flags-before-and-between-words-with-a-track",
    ),
    pytest.param(
        ["alpha", "ai", "hp-tuning-jobs", "--verbosity", "debug", "create", "--config=t.yaml"],
        ["alpha", "ai", "hp-tuning-jobs", "create", "--verbosity", "debug", "--config=t.yaml"],
        id="alpha-tuning-create-with-a-flag-between",
    ),
    pytest.param(
        ["--billing-project", "reboot", "ai", "persistent-resources", "reboot", "pr"],
        ["ai", "persistent-resources", "reboot", "--billing-project", "reboot", "pr"],
        id="a-flag-value-that-is-the-verb",
    ),
    pytest.param(["ai", "custom-jobs", "cancel", "1", "--wait"], None, id="cancel-wait"),
    pytest.param(
        ["--project", "p", "ai", "custom-jobs", "-q", "cancel", "1", "--wait=5m"],
        ["ai", "custom-jobs", "cancel", "--project", "p", "-q", "1", "--wait=5m"],
        id="cancel-wait-duration-with-flags-before-and-between",
    ),
    pytest.param(["ai", "custom-jobs", "stream-logs", "1"], None, id="stream-logs"),
    pytest.param(
        ["beta", "ai", "custom-jobs", "--format=json", "stream-logs", "1"],
        ["beta", "ai", "custom-jobs", "stream-logs", "--format=json", "1"],
        id="beta-stream-logs-with-a-flag-between",
    ),
    pytest.param(["ai", "hp-tuning-jobs", "cancel", "1", "--wait"], None, id="tuning-cancel-wait"),
    pytest.param(["ai", "hp-tuning-jobs", "stream-logs", "1"], None, id="tuning-stream-logs"),
]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("argv", "prgcloud_argv"), ROUTED)
def test_the_commands_prgcloud_wraps_go_to_prgcloud_global_flags_after_the_verb(
    router: dict[str, str], shell: str, argv: list[str], prgcloud_argv: list[str] | None
) -> None:
    assert routed(router, argv, shell) == ["prgcloud", *(prgcloud_argv or argv)]


PASSED = [
    pytest.param(["ai", "custom-jobs", "check", *JOB], id="prgclouds-own-check"),
    pytest.param(["ai", "custom-jobs", "create-batch", "jobs.txt"], id="prgclouds-own-batch"),
    pytest.param(["ai", "custom-jobs", "wait", "123"], id="prgclouds-own-wait"),
    pytest.param(["ai", "hp-tuning-jobs", "check", "--config=t"], id="prgclouds-own-tuning-check"),
    pytest.param(["ai", "persistent-resources", "capacity", "pr"], id="prgclouds-own-capacity"),
    pytest.param(["emulator", "start"], id="prgclouds-own-emulator"),
    pytest.param(["shim-path"], id="prgclouds-own-shim-path"),
    pytest.param(["plugin", "list"], id="prgclouds-own-plugin"),
    pytest.param(["ai", "persistent-resources", "list"], id="persistent-resources-list"),
    pytest.param(["ai", "persistent-resources", "describe", "pr"], id="resources-describe"),
    pytest.param(["ai", "hp-tuning-jobs", "list"], id="hp-tuning-jobs-list"),
    pytest.param(["ai", "hp-tuning-jobs", "cancel", "1"], id="tuning-cancel-without-wait"),
    pytest.param(["ai", "custom-jobs", "cancel", "1"], id="cancel-without-wait"),
    pytest.param(["ai", "custom-jobs", "cancel", "1", "--waiting"], id="cancel-waiting"),
    pytest.param(["ai", "custom-jobs", "cancel", "--project", "p"], id="cancel-with-flags-only"),
    pytest.param(["ai", "custom-jobs", "describe", "1"], id="custom-jobs-describe"),
    pytest.param(["ai", "persistent-resources", "deletes", "pr"], id="almost-delete"),
    pytest.param(["ai", "persistent-resources"], id="a-group-alone"),
    pytest.param(["ai", "hp-tuning-jobs", "--project=p"], id="a-group-and-a-flag"),
    pytest.param(["ai", "beta", "persistent-resources", "delete"], id="track-too-late"),
    pytest.param(["ai", "custom-jobs", "hp-tuning-jobs", "create"], id="two-groups"),
    pytest.param(["ai", "persistent-resources", "--region=r", "delete"], id="own-flag-between"),
    pytest.param(["ai", "models", "delete", "m"], id="another-groups-delete"),
    pytest.param(["persistent-resources", "delete", "pr"], id="without-ai"),
]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("argv", PASSED)
def test_near_misses_go_to_gcloud_unchanged(
    router: dict[str, str], shell: str, argv: list[str]
) -> None:
    assert routed(router, argv, shell) == ["gcloud", *argv]


@needs_gcloud
def test_every_gcloud_command_prgcloud_wraps_goes_to_prgcloud_and_no_other(
    router: dict[str, str],
) -> None:
    """The shim's list against gcloud's own commands (its `ai` surface) and prgcloud's verbs."""
    assert REAL_GCLOUD is not None
    surface = Path(REAL_GCLOUD).resolve().parent.parent / "lib" / "surface" / "ai"
    commands = [
        path.relative_to(surface).with_suffix("").parts
        for pattern in ("*.py", "*.yaml")
        for path in surface.rglob(pattern)
        if not path.name.startswith("_")
    ]
    assert ("custom_jobs", "create") in commands
    wrapped = []
    for command in sorted(commands):
        # `--wait`: `cancel` is prgcloud's only with it, and no other command cares.
        argv = ["ai", *(word.replace("_", "-") for word in command), "ID", "--wait"]
        went_to = routed(router, argv)[0]
        assert went_to == ("prgcloud" if cli.find_verb(argv) else "gcloud"), argv
        wrapped += [" ".join(argv[:-2])] if went_to == "prgcloud" else []
    assert {"ai custom-jobs create", "ai persistent-resources delete"} <= set(wrapped)


# --- the real gcloud through the shim -----------------------------------------------------------


def real_env(gcloud_env: dict[str, str]) -> dict[str, str]:
    """The emulator's gcloud environment with the shim, then the real gcloud, on PATH."""
    assert REAL_GCLOUD is not None
    return on_path(gcloud_env, BIN, Path(REAL_GCLOUD).parent)


def raw_env(gcloud_env: dict[str, str]) -> dict[str, str]:
    assert REAL_GCLOUD is not None
    return on_path(gcloud_env, Path(REAL_GCLOUD).parent)


@needs_gcloud
@pytest.mark.parametrize(
    "argv", [["--version"], ["config", "list"], ["info", "--format=value(basic.version)"]]
)
def test_real_gcloud_through_the_shim_says_what_it_says_without(
    gcloud_env: dict[str, str], tmp_path: Path, argv: list[str]
) -> None:
    shimmed = gcloud(argv, real_env(gcloud_env), tmp_path)
    raw = gcloud(argv, raw_env(gcloud_env), tmp_path)
    assert shimmed.returncode == raw.returncode == 0, shimmed.stderr
    assert shimmed.stdout == raw.stdout
    assert shimmed.stderr == raw.stderr


@needs_gcloud
def test_real_gcloud_configuration_set_through_the_shim_is_the_real_configuration(
    gcloud_env: dict[str, str], tmp_path: Path
) -> None:
    result = gcloud(["config", "set", "project", "p1"], real_env(gcloud_env), tmp_path)
    assert result.returncode == 0, result.stderr
    raw = gcloud(["config", "get", "project"], raw_env(gcloud_env), tmp_path)
    assert raw.stdout == "p1\n"


RESOURCE = {
    "resourcePools": [
        {
            "id": "cpu",
            "machineSpec": {"machineType": "n1-standard-4"},
            "replicaCount": "1",
            "diskSpec": {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100},
        }
    ]
}


RESOURCE_NAME = Emulator.resource_name("p1", "us-central1", "pr1")


@pytest.fixture
def resource(clean_emulator: Emulator) -> Emulator:
    clean_emulator.add_persistent_resource("p1", "us-central1", "pr1", RESOURCE)
    return clean_emulator


@needs_gcloud
def test_real_gcloud_lists_persistent_resources_through_the_shim(
    resource: Emulator, gcloud_env: dict[str, str], tmp_path: Path
) -> None:
    argv = ["--project=p1", "ai", "persistent-resources", "list", "--region=us-central1"]
    argv.append("--format=value(name)")
    shimmed = gcloud(argv, real_env(gcloud_env), tmp_path)
    assert shimmed.returncode == 0, shimmed.stderr
    assert shimmed.stdout.strip().endswith("/locations/us-central1/persistentResources/pr1")
    assert shimmed.stdout == gcloud(argv, raw_env(gcloud_env), tmp_path).stdout


@needs_gcloud
def test_real_gcloud_create_through_the_shim_is_pre_checked_then_submitted(
    resource: Emulator, gcloud_env: dict[str, str], tmp_path: Path
) -> None:
    env = real_env(gcloud_env)
    fits = [
        "--project",
        "p1",
        "--verbosity=error",
        "ai",
        "custom-jobs",
        "create",
        "--region=us-central1",
        "--display-name=fits",
        "--persistent-resource-id=pr1",
        "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p1/t",
    ]
    result = gcloud(fits, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert [job["displayName"] for job in resource.custom_jobs("p1", "us-central1")] == ["fits"]

    too_big = [*fits[:-3], "--display-name=too-big", *fits[-2:-1], fits[-1] + ",replica-count=3"]
    result = gcloud(too_big, env, tmp_path)
    assert result.returncode == 3, result.stderr
    assert "ERROR: (prgcloud)" in result.stderr
    assert "replica" in result.stderr
    assert [job["displayName"] for job in resource.custom_jobs("p1", "us-central1")] == ["fits"]


def hold_a_replica(emulator: Emulator, **labels: str) -> str:
    """A custom job on pr1, holding its one replica (PENDING, then RUNNING); its name."""
    pool = {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"}
    pool["containerSpec"] = {"imageUri": "gcr.io/p1/t"}
    spec = {"persistentResourceId": "pr1", "workerPoolSpecs": [pool]}
    body = {"displayName": "holds", "jobSpec": spec, "labels": labels}
    return str(emulator.service.create_job("projects/p1/locations/us-central1", body)["name"])


TUNING_CONFIG = """\
maxTrialCount: 2
parallelTrialCount: 1
studySpec:
  metrics: [{metricId: accuracy, goal: MAXIMIZE}]
  parameters: [{parameterId: lr, doubleValueSpec: {minValue: 0.001, maxValue: 0.1}}]
trialJobSpec:
  workerPoolSpecs:
  - machineSpec: {machineType: n1-standard-4}
    replicaCount: 2
    containerSpec: {imageUri: gcr.io/p1/trainer}
"""

# Each is refused by prgcloud before gcloud runs: gcloud alone would have sent it.
REFUSED_BY_PRGCLOUD = [
    pytest.param(
        ["--project=p1", "beta", "ai", "--verbosity=error", "persistent-resources", "delete"],
        ["pr1", "--region=us-central1"],
        3,
        ["(holds): ", "--force", "Nothing was sent"],
        id="delete-with-a-running-job",
    ),
    pytest.param(
        ["ai", "-q", "persistent-resources", "--project", "p1", "reboot"],
        ["pr1", "--region=us-central1"],
        3,
        ["(holds): ", "--force", "Nothing was sent"],
        id="reboot-with-a-running-job",
    ),
    pytest.param(
        ["alpha", "--project=p1", "ai", "persistent-resources", "create"],
        [
            "--persistent-resource-id=pr2",
            "--region=us-central1",
            "--resource-pool-spec=machine-type=n1-standard-4,replica-count=1,local-ssd-count=1",
        ],
        2,
        ["ERROR: (prgcloud) argument --resource-pool-spec: key [local-ssd-count]"],
        id="create-with-local-ssd-count",
    ),
    pytest.param(
        ["ai", "--project", "p1", "hp-tuning-jobs", "create"],
        [
            "--region=us-central1",
            "--display-name=tune",
            "--config=tuning.yaml",
            "--persistent-resource-id=pr1",
        ],
        3,
        ["in one trial", "replica"],
        id="tuning-create-whose-trial-never-fits",
    ),
]


@needs_gcloud
@pytest.mark.parametrize(("command", "args", "code", "said"), REFUSED_BY_PRGCLOUD)
def test_real_gcloud_commands_prgcloud_wraps_are_refused_by_prgcloud_under_dash(
    resource: Emulator,
    gcloud_env: dict[str, str],
    tmp_path: Path,
    command: list[str],
    args: list[str],
    code: int,
    said: list[str],
) -> None:
    hold_a_replica(resource)
    (tmp_path / "tuning.yaml").write_text(TUNING_CONFIG)
    result = gcloud([*command, *args], real_env(gcloud_env), tmp_path, shell="dash")
    assert result.returncode == code, result.stderr
    for words in said:
        assert words in result.stderr
    assert "submitted" not in result.stderr
    assert resource.persistent_resource(RESOURCE_NAME)["state"] == "RUNNING"
    with pytest.raises(ApiError, match="not found"):
        resource.persistent_resource(Emulator.resource_name("p1", "us-central1", "pr2"))


@needs_gcloud
@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["ai", "custom-jobs", "check", *JOB], id="prgclouds-own-check"),
        pytest.param(["ai", "persistent-resources", "capacity", "pr1"], id="prgclouds-capacity"),
        pytest.param(
            ["--project=p1", "ai", "persistent-resources", "list", "--region=us-central1"],
            id="persistent-resources-list",
        ),
        pytest.param(
            ["ai", "--project", "p1", "hp-tuning-jobs", "list", "--region=us-central1"],
            id="hp-tuning-jobs-list",
        ),
    ],
)
def test_real_gcloud_near_misses_through_the_shim_under_dash_are_gclouds_own(
    resource: Emulator, gcloud_env: dict[str, str], tmp_path: Path, argv: list[str]
) -> None:
    shimmed = gcloud(argv, real_env(gcloud_env), tmp_path, shell="dash")
    raw = gcloud(argv, raw_env(gcloud_env), tmp_path)
    assert (shimmed.returncode, shimmed.stdout) == (raw.returncode, raw.stdout)
    assert shimmed.stderr == raw.stderr
    assert "prgcloud" not in shimmed.stderr


@needs_gcloud
def test_real_gcloud_cancel_wait_through_the_shim_under_dash_waits_for_the_end(
    resource: Emulator, gcloud_env: dict[str, str], tmp_path: Path
) -> None:
    name = hold_a_replica(resource)
    argv = ["--project=p1", "ai", "custom-jobs", "-q", "cancel", name.rsplit("/", 1)[-1]]
    argv += ["--region=us-central1", "--wait=5m"]  # gcloud alone: unrecognized, exit 2
    result = gcloud(argv, real_env(gcloud_env), tmp_path, shell="dash")
    assert result.returncode == 0, result.stderr
    assert f"Custom job [{name}] ended CANCELLED." in result.stderr
    assert resource.custom_job(name)["state"] == "JOB_STATE_CANCELLED"


@needs_gcloud
def test_real_gcloud_stream_logs_through_the_shim_under_dash_ends_with_the_job(
    resource: Emulator, gcloud_env: dict[str, str], tmp_path: Path
) -> None:
    labels = {"emulator-duration-seconds": "2", "emulator-outcome": "failed"}
    name = hold_a_replica(resource, **labels, **{"emulator-error-message": "oom-killed"})
    env = {**real_env(gcloud_env), "CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING": resource.url}
    argv = ["beta", "ai", "--project", "p1", "custom-jobs", "stream-logs", name]
    result = gcloud([*argv, "--polling-interval=1"], env, tmp_path, shell="dash")
    assert result.returncode == 6, result.stderr  # gcloud's own would stream on, or end 0
    assert result.stdout.splitlines()[-1].endswith("oom-killed")
    assert f"custom job {name} ended FAILED: oom-killed" in result.stderr


# --- prgcloud shim-path -------------------------------------------------------------------------


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(argv, Environment(environ={}, stdout=out, stderr=err))
    return status, out.getvalue(), err.getvalue()


def test_shim_path_prints_the_directory_of_the_shim() -> None:
    assert run_cli(["shim-path"]) == (0, f"{BIN}\n", "")


def test_shim_path_export_is_a_line_a_shell_can_eval(tmp_path: Path) -> None:
    status, out, _ = run_cli(["shim-path", "--export"])
    assert status == 0
    assert out.startswith("export PATH=")
    found = subprocess.run(
        ["sh", "-c", 'eval "$1" && command -v gcloud', "sh", out],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout == f"{SHIM}\n"


def test_shim_path_export_quotes_an_awkward_directory() -> None:
    line = shim_path.export_line("/opt/it's here")
    found = subprocess.run(
        ["sh", "-c", 'eval "$1" && printf %s "$PATH"', "sh", line],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout == "/opt/it's here:/usr/bin:/bin"


def test_shim_path_refuses_other_arguments() -> None:
    status, out, err = run_cli(["shim-path", "--exprot"])
    assert (status, out) == (2, "")
    assert "unrecognized arguments: --exprot" in err


def test_shim_path_of_an_installed_wheel_is_the_packages_bin(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "prgcloud"
    executable(package / "bin" / "gcloud", SHIM.read_text())
    assert shim_path.shim_dir(str(package)) == str(package / "bin")


def test_shim_path_without_a_shim_says_so(tmp_path: Path) -> None:
    with pytest.raises(PrgcloudError, match="shim is not installed"):
        shim_path.shim_dir(str(tmp_path / "prgcloud"))


# --- bin/prgcloud picks the interpreter ---------------------------------------------------------

# A stand-in package: says which interpreter ran it, with which arguments, from where.
STUB_MAIN = """import json, os, sys
print(json.dumps({"python": os.environ.get("STUB_PYTHON_USED"), "argv": sys.argv[1:],
                  "package": os.path.dirname(os.path.abspath(__file__)), "path0": sys.path[0]}))
"""


def stub_python(path: Path, name: str) -> Path:
    """An interpreter wrapper that says it was used; -S keeps the venv's real prgcloud out."""
    return executable(path, f'#!/bin/sh\nSTUB_PYTHON_USED={name} exec "{sys.executable}" -S "$@"\n')


def stub_package(directory: Path) -> Path:
    (directory / "prgcloud").mkdir(parents=True)
    (directory / "prgcloud" / "__init__.py").write_text("")
    (directory / "prgcloud" / "__main__.py").write_text(STUB_MAIN)
    executable(directory / "prgcloud" / "bin" / "prgcloud", (BIN / "prgcloud").read_text())
    return directory / "prgcloud"


def checkout(tmp_path: Path) -> Path:
    """A checkout: bin/prgcloud next to the prgcloud package."""
    root = tmp_path / "checkout"
    stub_package(root)
    (root / "prgcloud" / "bin" / "prgcloud").rename(root / "bin-prgcloud")
    (root / "prgcloud" / "bin").rmdir()
    (root / "bin").mkdir()
    (root / "bin-prgcloud").rename(root / "bin" / "prgcloud")
    return root


def launch(launcher: Path, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    result = subprocess.run(
        [str(launcher), "a b", "", "--x='y'"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    launched: dict[str, Any] = json.loads(result.stdout)
    assert launched["argv"] == ["a b", "", "--x='y'"]
    return launched


@pytest.fixture
def decoy_cwd(tmp_path: Path) -> Path:
    """A working directory with its own `prgcloud` package, which must not be the one run."""
    cwd = tmp_path / "elsewhere"
    (cwd / "prgcloud").mkdir(parents=True)
    (cwd / "prgcloud" / "__init__.py").write_text("raise SystemExit('the decoy was imported')\n")
    return cwd


def test_launcher_in_a_checkout_uses_its_venv(tmp_path: Path, decoy_cwd: Path) -> None:
    root = checkout(tmp_path)
    stub_python(root / ".venv" / "bin" / "python", "venv")
    launched = launch(root / "bin" / "prgcloud", {"PATH": "/usr/bin:/bin"}, decoy_cwd)
    assert launched["python"] == "venv"
    assert launched["package"] == str(root / "prgcloud")


def test_launcher_prgcloud_python_wins(tmp_path: Path, decoy_cwd: Path) -> None:
    root = checkout(tmp_path)
    stub_python(root / ".venv" / "bin" / "python", "venv")
    chosen = stub_python(tmp_path / "chosen" / "python", "chosen")
    env = {"PATH": "/usr/bin:/bin", "PRGCLOUD_PYTHON": str(chosen)}
    assert launch(root / "bin" / "prgcloud", env, decoy_cwd)["python"] == "chosen"


def test_launcher_in_a_checkout_without_a_venv_uses_python3(
    tmp_path: Path, decoy_cwd: Path
) -> None:
    root = checkout(tmp_path)
    stub_python(tmp_path / "path-bin" / "python3", "python3")
    env = {"PATH": f"{tmp_path / 'path-bin'}:/usr/bin:/bin"}
    launched = launch(root / "bin" / "prgcloud", env, decoy_cwd)
    assert launched["python"] == "python3"
    assert launched["package"] == str(root / "prgcloud")


def test_launcher_through_a_symlink_finds_its_checkout(tmp_path: Path, decoy_cwd: Path) -> None:
    root = checkout(tmp_path)
    stub_python(root / ".venv" / "bin" / "python", "venv")
    (tmp_path / "link").symlink_to(root / "bin" / "prgcloud")
    launched = launch(tmp_path / "link", {"PATH": "/usr/bin:/bin"}, decoy_cwd)
    assert launched["package"] == str(root / "prgcloud")


@pytest.mark.parametrize(
    ("lib", "python"),
    [("lib/python3.12", "python3.12"), ("lib/python3", "python3")],
    ids=["venv-or-prefix", "debian-dist-packages"],
)
def test_launcher_in_an_installed_wheel_uses_that_environments_python(
    tmp_path: Path, decoy_cwd: Path, lib: str, python: str
) -> None:
    prefix = tmp_path / "env"
    package = stub_package(prefix / lib / "site-packages")
    stub_python(prefix / "bin" / python, python)
    launched = launch(package / "bin" / "prgcloud", {"PATH": "/usr/bin:/bin"}, decoy_cwd)
    assert launched["python"] == python
    assert launched["package"] == str(package)


def test_the_real_launcher_runs_prgcloud() -> None:
    result = subprocess.run(
        [str(BIN / "prgcloud"), "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("prgcloud ")


@pytest.fixture
def wheel_install(tmp_path: Path) -> Path:
    """prgcloud/bin as the wheel lays it out: the shim and the launcher inside the package."""
    package = tmp_path / "site" / "prgcloud"
    shutil.copytree(REPO / "prgcloud", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(BIN, package / "bin")
    return package


def test_the_wheels_shim_runs_the_wheels_prgcloud(
    wheel_install: Path, fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path
) -> None:
    env = on_path(fake.environ(base_env), wheel_install / "bin", fake.bin_dir)
    env["PRGCLOUD_PYTHON"] = sys.executable
    result = gcloud(["ai", "custom-jobs", "create", "--project=p1", *JOB], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert fake.calls == [["ai", "custom-jobs", "create", "--project=p1", *JOB]]
