"""Policy hooks: where they are found, what they read, how they allow, refuse and time out.

Every hook here is a real executable script, run through prgcloud's own runner; the commands
run in-process (`cli.main`), against the emulator or the capture server where a request is
really sent, and through the gcloud shim as a runbook runs it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from capture_server import CaptureServer
from fake_gcloud import FakeGcloud

import prgcloud
from prgcloud import cli, exit_codes, policy, schemas
from prgcloud.emulator import Emulator
from prgcloud.environment import Environment
from prgcloud.errors import BadInputError
from prgcloud.policy import run as policy_run

REPO = Path(__file__).resolve().parent.parent
SHIM = REPO / "bin" / "gcloud"
POOL = "machine-type=n1-standard-4,container-image-uri=us-docker.pkg.dev/p/r/trainer:1"
JOB = ["--project=p", "--region=us-central1", "--display-name=train", f"--worker-pool-spec={POOL}"]
CREATE = ["ai", "custom-jobs", "create"]
CHECK = ["ai", "custom-jobs", "check"]

# A hook that keeps what it read next to itself (hooks run in their own directory).
KEEP_INPUT = 'cat > "$(pwd)/input.json"\n'


def hook(directory: Path, name: str, body: str, *, mode: int = 0o755) -> Path:
    """An executable sh script `directory/name` running `body`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}")
    path.chmod(mode)
    return path


def read_input(directory: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((directory / "input.json").read_text())
    return document


class Run:
    """prgcloud run in-process: its exit status and what it wrote."""

    def __init__(self, argv: list[str], environ: dict[str, str], cwd: Path) -> None:
        out, err = io.StringIO(), io.StringIO()
        env = Environment(
            environ=environ, stdin=io.StringIO(), stdout=out, stderr=err, cwd=str(cwd)
        )
        self.status = cli.main(argv, env)
        self.stdout = out.getvalue()
        self.stderr = err.getvalue()


@pytest.fixture
def hooks_dir(tmp_path: Path) -> Path:
    return tmp_path / "policy"


@pytest.fixture
def environ(tmp_path: Path, hooks_dir: Path) -> dict[str, str]:
    """No gcloud configuration of the developer's, hooks from `hooks_dir` only."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"),
        policy.DIR_VARIABLE: str(hooks_dir),
    }


# --- where hooks are found -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({}, [], id="nothing-set-no-home"),
        pytest.param({"HOME": "/home/u"}, ["/home/u/.config/prgcloud/policy.d"], id="home"),
        pytest.param(
            {"HOME": "/home/u", "XDG_CONFIG_HOME": "/cfg"},
            ["/cfg/prgcloud/policy.d"],
            id="xdg-config-home",
        ),
        pytest.param(
            {"HOME": "/home/u", "XDG_CONFIG_HOME": "cfg"},
            ["/home/u/.config/prgcloud/policy.d"],
            id="relative-xdg-is-ignored",
        ),
        pytest.param(
            {"PRGCLOUD_POLICY_DIR": "/a:/b", "XDG_CONFIG_HOME": "/cfg"},
            ["/a", "/b", "/cfg/prgcloud/policy.d"],
            id="policy-dirs-first",
        ),
        pytest.param(
            {"PRGCLOUD_POLICY_DIR": ":.:policy.d:/a::", "HOME": "relative"},
            ["/a"],
            id="never-the-current-directory",
        ),
    ],
)
def test_hook_directories(environ: dict[str, str], expected: list[str]) -> None:
    assert policy.directories(environ)[0] == expected


def test_relative_policy_dir_entries_are_noted_for_debug() -> None:
    _, notes = policy.directories({"PRGCLOUD_POLICY_DIR": "policy.d:/a"})
    assert notes == [
        "PRGCLOUD_POLICY_DIR entry 'policy.d' is ignored: it is relative, and hooks are never "
        "taken from the current directory"
    ]


def test_hooks_run_in_name_order_across_directories(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    hook(second, "10-b", "")
    hook(first, "20-c", "")
    hook(first, "10-b", "")
    hook(second, "05-a", "")
    found, _ = policy.find_hooks({policy.DIR_VARIABLE: f"{first}:{second}"})
    assert [(h.name, Path(h.path).parent.name) for h in found] == [
        ("05-a", "second"),
        ("10-b", "first"),
        ("10-b", "second"),
        ("20-c", "first"),
    ]


def test_only_executable_files_are_hooks(tmp_path: Path) -> None:
    hook(tmp_path, "10-hook", "")
    hook(tmp_path, "README", "", mode=0o644)
    hook(tmp_path, ".hidden", "")
    (tmp_path / "subdirectory").mkdir()
    found, notes = policy.find_hooks({policy.DIR_VARIABLE: str(tmp_path)})
    assert [h.name for h in found] == ["10-hook"]
    assert f"{tmp_path}/README is not an executable file: not a policy hook" in notes


def test_a_directory_that_does_not_exist_holds_no_hooks(tmp_path: Path) -> None:
    environ = {policy.DIR_VARIABLE: str(tmp_path / "none"), "XDG_CONFIG_HOME": str(tmp_path)}
    assert policy.find_hooks(environ) == ((), ())


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param(None, 10.0, id="default"),
        pytest.param("", 10.0, id="empty-is-default"),
        pytest.param("2.5", 2.5, id="seconds"),
    ],
)
def test_the_hook_time_limit(value: str | None, seconds: float) -> None:
    environ = {} if value is None else {policy_run.TIMEOUT_VARIABLE: value}
    assert policy_run.timeout(environ) == seconds


@pytest.mark.parametrize("value", ["0", "-1", "10m", "601", "nan"])
def test_a_hook_time_limit_that_is_no_positive_number_is_bad_input(value: str) -> None:
    with pytest.raises(BadInputError, match="PRGCLOUD_POLICY_TIMEOUT must be a number"):
        policy_run.timeout({policy_run.TIMEOUT_VARIABLE: value})


# --- what a hook reads -----------------------------------------------------------------------


def test_the_document_a_hook_reads_matches_its_schema() -> None:
    request = prgcloud.build_request(
        display_name="train",
        project="p",
        region="us-central1",
        worker_pool_specs=[POOL],
        labels={"team": "ml"},
        extra_args=["--account=me@example.com"],
        track="beta",
        environ={},
        cwd="/",
    )
    document = policy_run.document(
        request,
        command="ai custom-jobs create",
        persistent_resource={"name": "projects/p/locations/us-central1/persistentResources/r"},
        account="me@example.com",
    )
    jsonschema.validate(document, schemas.load("policy-input.json"))
    assert document["request"] == {
        "method": "POST",
        "url": "https://us-central1-aiplatform.googleapis.com/v1beta1/projects/p/locations/"
        "us-central1/customJobs",
        "body": request.body,
    }
    assert document["job"] == request.service_body
    assert (document["track"], document["account"]) == ("beta", "me@example.com")


VALID = {
    "version": 1,
    "command": "ai custom-jobs check",
    "track": None,
    "dryRun": None,
    "project": "p",
    "region": "us-central1",
    "request": {
        "method": "POST",
        "url": "http://127.0.0.1:9/v1/projects/p/locations/us-central1/customJobs",
        "body": {"displayName": "t", "jobSpec": {"workerPoolSpecs": [{}]}},
    },
    "job": {"displayName": "t", "jobSpec": {"workerPoolSpecs": [{}]}},
    "persistentResource": None,
    "account": None,
    "impersonateServiceAccount": None,
}


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        pytest.param({}, True, id="minimal"),
        pytest.param({"dryRun": "rest", "track": "alpha"}, True, id="dry-run-alpha"),
        pytest.param({"persistentResource": {"name": "x"}}, True, id="with-resource"),
        pytest.param({"version": 2}, False, id="unknown-version"),
        pytest.param({"command": "ai custom-jobs list"}, False, id="unknown-command"),
        pytest.param({"dryRun": "yes"}, False, id="unknown-dry-run"),
        pytest.param({"token": "ya29.x"}, False, id="no-other-keys-no-token"),
        pytest.param({"request": {"method": "GET", "url": "x", "body": {}}}, False, id="get"),
    ],
)
def test_the_input_schema(change: dict[str, Any], valid: bool) -> None:
    validator = jsonschema.Draft202012Validator(schemas.load("policy-input.json"))
    assert validator.is_valid({**VALID, **change}) is valid


# --- allow, refuse, time out -----------------------------------------------------------------


def test_an_allowing_hook_lets_the_dry_run_through_and_its_stdout_lines_are_warnings(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    hook(hooks_dir, "10-note", f"{KEEP_INPUT}echo 'remember the budget'\necho\n")
    run = Run([*CREATE, *JOB, "--dry-run"], environ, tmp_path)
    assert run.status == 0, run.stderr
    assert run.stdout.startswith('# Submits the custom job "train" with the real gcloud.')
    assert run.stderr == "WARNING: (prgcloud) policy 10-note: remember the budget\n"
    document = read_input(hooks_dir)
    assert (document["command"], document["dryRun"]) == ("ai custom-jobs create", "shell")


def test_a_refusing_hook_stops_create_with_exit_8_its_name_and_its_stderr(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    refuse = hook(hooks_dir, "20-labels", "echo 'the job has no label team' >&2\nexit 3\n")
    run = Run([*CREATE, *JOB, "--dry-run"], environ, tmp_path)
    assert (run.status, run.stdout) == (exit_codes.POLICY_REFUSED, "")
    assert run.stderr == (
        "ERROR: (prgcloud) a policy hook refused the request; nothing was sent.\n"
        f"  20-labels ({refuse}): exit 3\n"
        "    the job has no label team\n"
    )


def test_every_refusal_is_reported_at_once(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    hook(hooks_dir, "10-a", "echo 'first reason' >&2; exit 1\n")
    hook(hooks_dir, "20-b", "echo allowed\n")
    hook(hooks_dir, "30-c", "echo 'only on stdout'; exit 1\n")
    run = Run([*CREATE, *JOB, "--dry-run"], environ, tmp_path)
    assert run.status == exit_codes.POLICY_REFUSED
    for said in ("10-a", "first reason", "30-c", "only on stdout"):
        assert said in run.stderr
    assert "20-b" not in run.stderr


def test_check_consults_the_hooks_too(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    hook(hooks_dir, "10-keep", KEEP_INPUT)
    hook(hooks_dir, "20-refuse", "echo no >&2; exit 1\n")
    run = Run([*CHECK, *JOB, "--format=json"], environ, tmp_path)
    assert (run.status, run.stdout) == (exit_codes.POLICY_REFUSED, "")
    document = read_input(hooks_dir)
    assert (document["command"], document["persistentResource"]) == ("ai custom-jobs check", None)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        pytest.param("echo no shebang\n", "Exec format error", id="no-shebang"),
        pytest.param("#!/nonexistent/interpreter\n", "No such file", id="no-interpreter"),
    ],
)
def test_a_hook_that_cannot_be_run_refuses(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path, text: str, why: str
) -> None:
    hooks_dir.mkdir()
    broken = hooks_dir / "10-broken"
    broken.write_text(text)
    broken.chmod(0o755)
    run = Run([*CREATE, *JOB, "--dry-run"], environ, tmp_path)
    assert (run.status, run.stdout) == (exit_codes.POLICY_REFUSED, "")
    assert f"10-broken ({broken}): it cannot be run:" in run.stderr
    assert why in run.stderr


def _alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_hook_that_hangs_is_killed_with_everything_it_started_and_refuses(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    # The hook starts a child that would outlive it, writes down both pids, then hangs.
    hook(
        hooks_dir,
        "10-hang",
        'sleep 1000 &\necho "$$ $!" > "$(pwd)/pids"\necho waiting >&2\nwhile :; do sleep 1; done\n',
    )
    environ[policy_run.TIMEOUT_VARIABLE] = "1"
    run = Run([*CREATE, *JOB, "--dry-run"], environ, tmp_path)
    assert (run.status, run.stdout) == (exit_codes.POLICY_REFUSED, "")
    assert "10-hang" in run.stderr
    assert "did not finish within 1 s, so it was stopped" in run.stderr
    assert "waiting" in run.stderr
    pids = [int(p) for p in (hooks_dir / "pids").read_text().split()]
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)  # SIGKILL is sent; the orphan is reaped by init in its own time
    assert not [pid for pid in pids if _alive(pid)]


def test_a_hook_that_exits_takes_its_background_processes_with_it(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    hook(hooks_dir, "10-leaves", 'sleep 1000 >/dev/null 2>&1 &\necho "$!" > "$(pwd)/pid"\n')
    run = Run([*CREATE, *JOB, "--dry-run"], environ, tmp_path)
    assert run.status == 0, run.stderr
    pid = int((hooks_dir / "pid").read_text())
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_hooks_in_the_current_directory_are_never_run(
    environ: dict[str, str], tmp_path: Path
) -> None:
    repository = tmp_path / "repository"
    for place in ("", "policy.d", ".prgcloud/policy.d", ".config/prgcloud/policy.d"):
        hook(repository / place, "10-evil", 'touch "$(pwd)/ran"\nexit 1\n')
    environ[policy.DIR_VARIABLE] = ".:policy.d::./policy.d"
    environ["XDG_CONFIG_HOME"] = ".config"
    environ["HOME"] = "."
    run = Run([*CREATE, *JOB, "--dry-run", "--verbosity=debug"], environ, repository)
    assert run.status == 0, run.stderr
    assert not list(repository.rglob("ran"))
    assert (
        "DEBUG: (prgcloud) policy: PRGCLOUD_POLICY_DIR entry 'policy.d' is ignored: it is "
        "relative, and hooks are never taken from the current directory\n"
    ) in run.stderr


def test_a_bad_hook_time_limit_is_bad_input_and_nothing_runs(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    hook(hooks_dir, "10-keep", KEEP_INPUT)
    environ[policy_run.TIMEOUT_VARIABLE] = "forever"
    run = Run([*CREATE, *JOB, "--dry-run"], environ, tmp_path)
    assert (run.status, run.stdout) == (exit_codes.BAD_INPUT, "")
    assert "PRGCLOUD_POLICY_TIMEOUT must be a number of seconds" in run.stderr
    assert not (hooks_dir / "input.json").exists()


def test_debug_output_names_the_hooks_that_allowed(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    hook(hooks_dir, "10-a", "")
    hook(hooks_dir, "20-b", "")
    run = Run([*CREATE, *JOB, "--dry-run", "--verbosity=debug"], environ, tmp_path)
    assert run.status == 0, run.stderr
    assert "DEBUG: (prgcloud) policy: allowed by 10-a, 20-b\n" in run.stderr


# --- what is sent is what the hook saw ---------------------------------------------------------


@pytest.mark.gcloud
@pytest.mark.parametrize(
    ("track", "extra"),
    [
        pytest.param(None, [], id="ga"),
        pytest.param("beta", ["--labels=team=ml,cost-center=42"], id="beta-labels"),
        pytest.param(
            None, ["--worker-pool-spec=" + POOL + ",disk-type=pd-ssd,disk-size=200"], id="disk"
        ),
    ],
)
def test_the_hook_sees_exactly_the_request_that_is_then_sent(
    gcloud_capture_env: dict[str, str],
    capture_server: CaptureServer,
    hooks_dir: Path,
    tmp_path: Path,
    track: str | None,
    extra: list[str],
) -> None:
    hook(hooks_dir, "10-keep", KEEP_INPUT)
    environ = {**gcloud_capture_env, policy.DIR_VARIABLE: str(hooks_dir)}
    argv = [*([track] if track else []), *CREATE, *JOB, *extra]
    run = Run(argv, environ, tmp_path)
    assert run.status == 0, run.stderr
    [sent] = capture_server.posts
    seen = read_input(hooks_dir)
    assert seen["request"]["body"] == sent.body
    assert seen["request"]["url"] == f"{capture_server.url.rstrip('/')}{sent.path}"
    assert seen["dryRun"] is None


@pytest.mark.gcloud
def test_a_refused_create_sends_nothing(
    gcloud_capture_env: dict[str, str],
    capture_server: CaptureServer,
    hooks_dir: Path,
    tmp_path: Path,
) -> None:
    hook(hooks_dir, "10-refuse", "exit 1\n")
    environ = {**gcloud_capture_env, policy.DIR_VARIABLE: str(hooks_dir)}
    run = Run([*CREATE, *JOB], environ, tmp_path)
    assert run.status == exit_codes.POLICY_REFUSED
    assert capture_server.requests == []


def test_the_hook_sees_the_persistent_resource_as_the_precheck_read_it(
    clean_emulator: Emulator, gcloud_env: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    clean_emulator.add_persistent_resource(
        "p",
        "us-central1",
        "cluster",
        {
            "resourcePools": [
                {
                    "id": "cpu",
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "2",
                    "usedReplicaCount": "1",
                }
            ]
        },
    )
    hook(hooks_dir, "10-keep", KEEP_INPUT)
    environ = {**gcloud_env, policy.DIR_VARIABLE: str(hooks_dir)}
    run = Run(
        [*CREATE, *JOB, "--persistent-resource-id=cluster", "--dry-run=rest"], environ, tmp_path
    )
    assert run.status == 0, run.stderr
    seen = read_input(hooks_dir)["persistentResource"]
    assert seen["name"] == "projects/p/locations/us-central1/persistentResources/cluster"
    assert seen["state"] == "RUNNING"
    assert [(p["id"], p["usedReplicaCount"]) for p in seen["resourcePools"]] == [("cpu", "1")]
    assert read_input(hooks_dir)["dryRun"] == "rest"


def test_a_job_that_does_not_fit_is_refused_by_the_precheck_before_any_hook_runs(
    clean_emulator: Emulator, gcloud_env: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    clean_emulator.add_persistent_resource(
        "p",
        "us-central1",
        "cluster",
        {
            "resourcePools": [
                {"id": "big", "machineSpec": {"machineType": "n1-highmem-16"}, "replicaCount": "1"}
            ]
        },
    )
    hook(hooks_dir, "10-keep", KEEP_INPUT)
    environ = {**gcloud_env, policy.DIR_VARIABLE: str(hooks_dir)}
    run = Run([*CREATE, *JOB, "--persistent-resource-id=cluster", "--dry-run"], environ, tmp_path)
    assert run.status == exit_codes.DOES_NOT_FIT
    assert not (hooks_dir / "input.json").exists()


def test_a_hook_that_refuses_is_asked_before_a_wait_for_capacity_not_after(
    clean_emulator: Emulator, gcloud_env: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    clean_emulator.add_persistent_resource(
        "p",
        "us-central1",
        "cluster",
        {
            "resourcePools": [
                {
                    "id": "cpu",
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "2",
                    "usedReplicaCount": "2",
                }
            ]
        },
    )
    hook(hooks_dir, "10-refuse", KEEP_INPUT + "echo 'no jobs on cluster today' >&2\nexit 1\n")
    environ = {**gcloud_env, policy.DIR_VARIABLE: str(hooks_dir)}
    run = Run(
        [*CREATE, *JOB, "--persistent-resource-id=cluster", "--wait-for-capacity=30s"],
        environ,
        tmp_path,
    )
    assert run.status == exit_codes.POLICY_REFUSED, run.stderr
    assert "no jobs on cluster today" in run.stderr
    seen = read_input(hooks_dir)["persistentResource"]
    assert [(p["id"], p["usedReplicaCount"]) for p in seen["resourcePools"]] == [("cpu", "2")]
    assert clean_emulator.custom_jobs("p", "us-central1") == []


# --- the library and the shim ------------------------------------------------------------------


def test_the_library_s_submit_consults_the_hooks(hooks_dir: Path, tmp_path: Path) -> None:
    hook(hooks_dir, "10-refuse", "echo 'not from a notebook' >&2; exit 1\n")
    environ = {"PATH": "/usr/bin:/bin", policy.DIR_VARIABLE: str(hooks_dir)}
    request = prgcloud.build_request(
        display_name="train",
        project="p",
        region="us-central1",
        worker_pool_specs=[POOL],
        environ=environ,
        cwd=str(tmp_path),
    )
    with pytest.raises(prgcloud.errors.PolicyRefusedError, match="not from a notebook") as error:
        prgcloud.submit(request, environ=environ)
    assert error.value.exit_code == exit_codes.POLICY_REFUSED


@pytest.mark.parametrize(
    ("hook_exit", "status", "gcloud_called"),
    [pytest.param(0, 0, True, id="allowed"), pytest.param(1, 8, False, id="refused")],
)
def test_the_gcloud_shim_consults_the_hooks(
    tmp_path: Path, hooks_dir: Path, hook_exit: int, status: int, gcloud_called: bool
) -> None:
    fake = FakeGcloud.install(tmp_path)
    hook(hooks_dir, "10-hook", f"{KEEP_INPUT}exit {hook_exit}\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDSDK_", "PRGCLOUD_"))}
    env = {
        **fake.environ(base),
        "PATH": os.pathsep.join([str(SHIM.parent), str(fake.bin_dir), "/usr/bin", "/bin"]),
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"),
        "PRGCLOUD_PYTHON": sys.executable,
        policy.DIR_VARIABLE: str(hooks_dir),
    }
    found = shutil.which("gcloud", path=env["PATH"])
    assert found == str(SHIM)
    result = subprocess.run(
        [found, *CREATE, *JOB], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == status, result.stderr
    assert read_input(hooks_dir)["command"] == "ai custom-jobs create"
    assert bool(fake.calls) is gcloud_called


def test_examples_are_executable_files() -> None:
    for path in (REPO / "examples" / "policy.d").iterdir():
        assert path.stat().st_mode & stat.S_IXUSR, path


def test_with_no_hook_directory_consulting_imports_only_the_finder(tmp_path: Path) -> None:
    program = """
import io, json, sys
import prgcloud.commands.create, prgcloud.commands.check
from prgcloud import build_request
from prgcloud.environment import Environment
request = build_request(display_name="t", project="p", region="us-central1",
                        worker_pool_specs=["machine-type=n1-standard-4,container-image-uri=gcr.io/p/i"],
                        environ={}, cwd="/")
before = set(sys.modules)
from prgcloud.commands import hooks
env = Environment(stdout=io.StringIO(), stderr=io.StringIO())
hooks.consult(request, env, command="ai custom-jobs create", verdict=None, log=lambda: None)
print(json.dumps(sorted(set(sys.modules) - before)))
"""
    environ = {k: v for k, v in os.environ.items() if k != policy.DIR_VARIABLE}
    environ["XDG_CONFIG_HOME"] = str(tmp_path)
    environ["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-c", program], env=environ, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == ["prgcloud.commands.hooks", "prgcloud.policy"]
