"""gcloud starts before the pre-check and is held until the job is known to fit.

prgcloud starts the real gcloud with `--flags-file=/dev/fd/N` on a pipe that carries its
`--display-name`; gcloud reads its flags files before it parses anything, so it can send
nothing until prgcloud writes the pipe, which it does only once the pre-check and the
policy hooks passed. Each test reaches "gcloud is held, the pre-check is in flight" through
readiness, never a sleep: a proxy in front of the emulator holds the pre-check's GET, and
the test finds the held gcloud in prgcloud's process group. Then the verdict or a signal,
and: what the emulator got, what is left in the process group and in TMPDIR.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from terminal import Terminal, default_signals

from prgcloud import parse, submission
from prgcloud.emulator import Emulator

PROJECT, REGION, RID = "p1", "us-central1", "pr1"
CREATE = ["ai", "custom-jobs", "create", f"--project={PROJECT}", f"--region={REGION}"]
POOL = "machine-type=n1-standard-4,container-image-uri=gcr.io/p1/t"
# A disk: gcloud gets the job as a generated config file, which must never be left behind.
JOB = [
    *CREATE,
    "--display-name=train",
    f"--worker-pool-spec={POOL},disk-type=pd-ssd,disk-size=100",
    f"--persistent-resource-id={RID}",
]
FLAGS_FILE = b"--flags-file=/dev/fd/"


# --- a proxy that holds the pre-check --------------------------------------------------------


class HoldingProxy:
    """Forwards everything to the emulator, but holds each GET of a persistent resource
    (the pre-check) until `release` is set."""

    def __init__(self, target: str) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if "/persistentResources/" in self.path:
                    proxy.arrived.set()
                    proxy.release.wait(120)
                self.forward()

            def do_POST(self) -> None:
                self.forward()

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                request = urllib.request.Request(
                    target.rstrip("/") + self.path, body, headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        status, data, kind = answer.status, answer.read(), answer.headers
                except urllib.error.HTTPError as error:
                    status, data, kind = error.code, error.read(), error.headers
                # The client may be gone (a signal ended it while its request was held).
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Type", kind.get("Content-Type", "application/json"))
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def proxy(clean_emulator: Emulator) -> Iterator[HoldingProxy]:
    holding = HoldingProxy(clean_emulator.url)
    yield holding
    holding.close()


@pytest.fixture
def temp(tmp_path: Path) -> Path:
    """prgcloud's TMPDIR, where its generated config file lives."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    return directory


@pytest.fixture
def env(gcloud_env: dict[str, str], proxy: HoldingProxy, temp: Path) -> dict[str, str]:
    """The real gcloud and prgcloud, both talking to the emulator through the proxy."""
    return {
        **gcloud_env,
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": proxy.url,
        "TMPDIR": str(temp),
    }


def add_resource(emulator: Emulator, *, used: int) -> None:
    """The persistent resource: one pool of 1 replica, `used` of it taken."""
    emulator.add_persistent_resource(
        PROJECT,
        REGION,
        RID,
        {
            "resourcePools": [
                {
                    "id": "cpu",
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "1",
                    "usedReplicaCount": str(used),
                    "diskSpec": {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100},
                }
            ]
        },
    )


# --- processes -------------------------------------------------------------------------------


def until(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.005)


def in_group(group: int) -> list[int]:
    """The processes of process group `group` (zombies included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            if int(stat.rpartition(")")[2].split()[2]) == group:
                found.append(int(entry.name))
    return found


def held_gcloud(group: int) -> list[int]:
    """The processes of `group` that run gcloud on a flags-file pipe."""
    found = []
    for pid in in_group(group):
        with contextlib.suppress(OSError):
            if FLAGS_FILE in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "prgcloud", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=default_signals,
    )


@contextlib.contextmanager
def held_during_the_precheck(
    argv: list[str], env: dict[str, str], proxy: HoldingProxy
) -> Iterator[subprocess.Popen[str]]:
    """prgcloud, once its pre-check is in flight and its gcloud is held; killed if left."""
    process = start(argv, env)
    try:
        until(lambda: proxy.arrived.is_set() or process.poll() is not None, "the pre-check")
        until(lambda: held_gcloud(process.pid) or process.poll() is not None, "a held gcloud")
        assert process.poll() is None, process.communicate()
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def nothing_left(group: int, temp: Path) -> None:
    until(lambda: not in_group(group), f"process group {group} empty")
    assert list(temp.iterdir()) == []


# --- the verdict decides -----------------------------------------------------------------------


def refusing_hook(tmp_path: Path, env: dict[str, str]) -> None:
    hooks = tmp_path / "policy"
    hooks.mkdir()
    hook = hooks / "10-no"
    hook.write_text("#!/bin/sh\necho 'not today' >&2\nexit 1\n")
    hook.chmod(0o755)
    env["PRGCLOUD_POLICY_DIR"] = str(hooks)


NOT_SENT = [
    pytest.param(1, None, 3, "does not fit", id="blocked-exit-3"),
    pytest.param(None, None, 4, "not found", id="precheck-failed-exit-4"),
    pytest.param(0, refusing_hook, 8, "nothing was sent", id="policy-refused-exit-8"),
]


@pytest.mark.parametrize(("used", "setup", "status", "said"), NOT_SENT)
def test_a_job_that_may_not_go_kills_the_held_gcloud_sends_nothing_and_leaves_nothing(
    used: int | None,
    setup: Callable[[Path, dict[str, str]], None] | None,
    status: int,
    said: str,
    clean_emulator: Emulator,
    proxy: HoldingProxy,
    env: dict[str, str],
    temp: Path,
    tmp_path: Path,
) -> None:
    if used is not None:
        add_resource(clean_emulator, used=used)
    if setup is not None:
        setup(tmp_path, env)
    with held_during_the_precheck(JOB, env, proxy) as process:
        proxy.release.set()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert said in stderr
    assert "/dev/fd" not in stderr
    assert "Traceback" not in stderr
    assert clean_emulator.custom_jobs(PROJECT, REGION) == []
    nothing_left(process.pid, temp)


SIGNALS = [
    pytest.param(lambda p: os.killpg(p.pid, signal.SIGINT), 130, id="Ctrl-C"),
    pytest.param(lambda p: p.send_signal(signal.SIGINT), 130, id="SIGINT-to-prgcloud"),
    pytest.param(lambda p: p.send_signal(signal.SIGTERM), 143, id="SIGTERM"),
    pytest.param(lambda p: os.killpg(p.pid, signal.SIGHUP), 129, id="SIGHUP-to-the-job"),
]


@pytest.mark.parametrize(("send", "status"), SIGNALS)
def test_a_signal_during_the_precheck_kills_the_held_gcloud_and_sends_nothing(
    send: Callable[[subprocess.Popen[str]], None],
    status: int,
    clean_emulator: Emulator,
    proxy: HoldingProxy,
    env: dict[str, str],
    temp: Path,
) -> None:
    add_resource(clean_emulator, used=0)
    with held_during_the_precheck(JOB, env, proxy) as process:
        send(process)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert "/dev/fd" not in stderr
    assert "Traceback" not in stderr
    proxy.release.set()  # the pre-check's GET, had it been waited for, answers now
    assert clean_emulator.custom_jobs(PROJECT, REGION) == []
    nothing_left(process.pid, temp)


def test_the_held_gcloud_ignores_a_ctrl_c_until_it_installs_its_own_handler(
    clean_emulator: Emulator, proxy: HoldingProxy, env: dict[str, str], tmp_path: Path
) -> None:
    # A Ctrl-C reaches the whole foreground group; a gcloud still importing its modules
    # would print Python's KeyboardInterrupt traceback. A stand-in gcloud that installs no
    # handler of its own tells what it started with, then blocks on its flags file.
    stand_in = tmp_path / "gcloud"
    stand_in.write_text(
        "#!/bin/sh\n"
        'grep SigIgn /proc/$$/status > "$0.ignored"\n'
        'for a in "$@"; do case "$a" in --flags-file=*) cat "${a#--flags-file=}" >/dev/null;; '
        "esac; done\n"
    )
    stand_in.chmod(0o755)
    add_resource(clean_emulator, used=0)
    ignored = tmp_path / "gcloud.ignored"
    with held_during_the_precheck(JOB, {**env, "PRGCLOUD_GCLOUD": str(stand_in)}, proxy) as _:
        until(lambda: ignored.exists() and ignored.read_text().endswith("\n"), "its signals")
    mask = int(ignored.read_text().split()[1], 16)
    assert mask & (1 << (signal.SIGINT - 1)), ignored.read_text()


def test_a_job_that_fits_is_sent_once_as_gcloud_sends_it_and_gcloud_has_the_last_word(
    clean_emulator: Emulator, proxy: HoldingProxy, env: dict[str, str], temp: Path
) -> None:
    add_resource(clean_emulator, used=0)
    with held_during_the_precheck(JOB, env, proxy) as process:
        assert clean_emulator.custom_jobs(PROJECT, REGION) == []  # held: nothing sent yet
        proxy.release.set()
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    (job,) = clean_emulator.custom_jobs(PROJECT, REGION)
    assert job["displayName"] == "train"
    assert job["jobSpec"]["persistentResourceId"] == RID
    assert job["jobSpec"]["workerPoolSpecs"][0]["diskSpec"] == {
        "bootDiskType": "pd-ssd",
        "bootDiskSizeGb": 100,
    }
    assert f"CustomJob [{job['name']}] is submitted successfully." in stderr
    nothing_left(process.pid, temp)


def test_gclouds_own_failure_and_exit_code_come_back_unchanged(
    clean_emulator: Emulator, proxy: HoldingProxy, env: dict[str, str], temp: Path
) -> None:
    add_resource(clean_emulator, used=0)
    clean_emulator.fail("INTERNAL", method="POST", message="the service broke")
    with held_during_the_precheck(JOB, env, proxy) as process:
        proxy.release.set()
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert "the service broke" in stderr
    assert "/dev/fd" not in stderr
    nothing_left(process.pid, temp)


# --- on a terminal ---------------------------------------------------------------------------


def test_on_a_terminal_a_job_that_fits_is_sent_and_gclouds_output_shows(
    clean_emulator: Emulator, proxy: HoldingProxy, env: dict[str, str], temp: Path
) -> None:
    add_resource(clean_emulator, used=0)
    argv = [sys.executable, "-m", "prgcloud", *JOB]
    with Terminal(argv, env) as terminal:
        until(lambda: proxy.arrived.is_set(), "the pre-check")
        until(lambda: held_gcloud(terminal.process.pid), "a held gcloud")
        proxy.release.set()
        status = terminal.wait()
        text = terminal.text
    assert status == 0, text
    (job,) = clean_emulator.custom_jobs(PROJECT, REGION)
    assert f"CustomJob [{job['name']}] is submitted successfully." in text
    assert list(temp.iterdir()) == []


def test_on_a_terminal_ctrl_c_during_the_precheck_sends_nothing_and_leaves_nothing(
    clean_emulator: Emulator, proxy: HoldingProxy, env: dict[str, str], temp: Path
) -> None:
    add_resource(clean_emulator, used=0)
    argv = [sys.executable, "-m", "prgcloud", *JOB]
    with Terminal(argv, env) as terminal:
        until(lambda: proxy.arrived.is_set(), "the pre-check")
        until(lambda: held_gcloud(terminal.process.pid), "a held gcloud")
        terminal.type("\x03")
        status = terminal.wait()
        text = terminal.text
        group = terminal.process.pid
    assert status == 130, text
    assert "interrupted" in text
    assert "/dev/fd" not in text
    assert "Traceback" not in text
    proxy.release.set()
    assert clean_emulator.custom_jobs(PROJECT, REGION) == []
    nothing_left(group, temp)


# --- the display name through the pipe, exactly --------------------------------------------

ODD_NAMES = [
    pytest.param("plain", id="plain"),
    pytest.param('say "hi" \\ back\\slash', id="quotes-and-backslashes"),
    pytest.param("été 😀 日本", id="unicode-beyond-the-bmp"),
    pytest.param("#: not a comment, - [not] {a: map}", id="yaml-syntax"),
    pytest.param("  spaces around  ", id="spaces-around"),
    pytest.param("yes", id="a-yaml-boolean"),
    pytest.param("1e3", id="a-yaml-number"),
    pytest.param("null", id="a-yaml-null"),
    pytest.param("tab\there", id="a-tab"),
    pytest.param("line\u2028separator\x85next", id="unicode-line-breaks"),
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_the_display_name_reaches_the_service_exactly_through_the_pipe(
    name: str, clean_emulator: Emulator, gcloud_env: dict[str, str], tmp_path: Path
) -> None:
    argv = [*CREATE, "--display-name", name, f"--worker-pool-spec={POOL}"]
    request = parse.parse_create(argv[3:], gcloud_env, track=None, cwd=str(tmp_path))
    assert submission.early_plan(request, request.gcloud_argv()) is not None
    done = subprocess.run(
        [sys.executable, "-m", "prgcloud", *argv],
        env=gcloud_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (job,) = clean_emulator.custom_jobs(PROJECT, REGION)
    assert job["displayName"] == name


# --- where gcloud starts early, and where it does not (no gcloud needed) -------------------


def plan(argv: list[str], tmp_path: Path, track: str | None = None) -> submission.EarlyPlan | None:
    environ = {"CLOUDSDK_CONFIG": str(tmp_path / "none")}
    request = parse.parse_create(argv, environ, track=track, cwd=str(tmp_path))
    placeholder = "PATH" if request.config_yaml is not None else None
    return submission.early_plan(request, request.gcloud_argv(placeholder))


BASE = [f"--project={PROJECT}", f"--region={REGION}", f"--worker-pool-spec={POOL}"]


@pytest.mark.parametrize(
    ("argv", "before", "flags", "after"),
    [
        pytest.param(
            ["--display-name=d", *BASE], [], {"--display-name": "d"}, BASE, id="inline-value"
        ),
        pytest.param(
            [*BASE, "--display-name", "-d x"], BASE, {"--display-name": "-d x"}, [], id="two-items"
        ),
        pytest.param(
            ["--display-name=a", "-q", "--display-name=b", *BASE],
            ["--display-name=a", "-q"],
            {"--display-name": "b"},
            BASE,
            id="the-last-one-wins-so-it-moves",
        ),
        pytest.param(
            ["--args", "--display-name=x y", "--display-name=d", *BASE],
            ["--args", "--display-name=x y"],
            {"--display-name": "d"},
            BASE,
            id="not-a-flag-value-that-looks-like-it",
        ),
        pytest.param(
            ["--display-name=d", "--no-enable-web-access", "--strict", *BASE],
            [],
            {"--display-name": "d"},
            ["--no-enable-web-access", *BASE],
            id="booleans-and-prgclouds-own",
        ),
    ],
)
def test_the_last_command_line_display_name_goes_through_the_pipe_in_its_place(
    argv: list[str], before: list[str], flags: dict[str, str], after: list[str], tmp_path: Path
) -> None:
    found = plan(argv, tmp_path)
    assert found is not None
    assert found.before == ("ai", "custom-jobs", "create", *before)
    assert yaml.safe_load(found.flags) == flags
    assert found.after == tuple(after)


def test_a_generated_config_file_stays_on_the_command_line(tmp_path: Path) -> None:
    found = plan(
        ["--display-name=d", *BASE[:2], f"--worker-pool-spec={POOL},disk-size=200"], tmp_path
    )
    assert found is not None
    assert "--config=PATH" in found.after


def test_the_release_track_comes_before_the_pipe(tmp_path: Path) -> None:
    found = plan(["--display-name=d", *BASE], tmp_path, track="beta")
    assert found is not None
    assert found.before == ("beta", "ai", "custom-jobs", "create")


def test_where_gcloud_cannot_start_early_it_starts_after_the_check(tmp_path: Path) -> None:
    flags_file = tmp_path / "flags.yaml"
    flags_file.write_text('"--display-name": from-a-file\n')
    assert plan(["--display-name=d", *BASE, "--wait-for-capacity=5m"], tmp_path) is None
    assert plan([f"--flags-file={flags_file}", *BASE], tmp_path) is None


def test_an_undecodable_byte_has_no_yaml_form() -> None:
    # parse refuses one in --display-name; were one to get through, gcloud starts late
    assert submission.yaml_quoted(os.fsdecode(b"caf\xe9")) is None


@pytest.mark.parametrize(
    "text",
    ["", "plain", 'a "b" \\ c', "é😀\u2028\x85\t\n", "yes", "~", "0x1F", "- x", "a: b"],
)
def test_a_yaml_quoted_value_reads_back_as_the_same_string(text: str) -> None:
    quoted = submission.yaml_quoted(text)
    assert quoted is not None
    assert quoted.isascii()
    assert quoted.isprintable()
    assert yaml.safe_load(f'"--display-name": {quoted}') == {"--display-name": text}


def no_gcloud_on_path(tmp_path: Path, env: dict[str, str]) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env["PATH"] = str(empty)


def a_gcloud_that_cannot_run(tmp_path: Path, env: dict[str, str]) -> None:
    broken = tmp_path / "gcloud"
    broken.write_bytes(b"\x7fELF, but not really")
    broken.chmod(0o755)
    env["PRGCLOUD_GCLOUD"] = str(broken)


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(no_gcloud_on_path, id="no-gcloud-on-path"),
        pytest.param(a_gcloud_that_cannot_run, id="a-gcloud-that-cannot-run"),
    ],
)
def test_without_a_gcloud_to_start_early_the_check_still_speaks_first(
    setup: Callable[[Path, dict[str, str]], None],
    clean_emulator: Emulator,
    env: dict[str, str],
    temp: Path,
    tmp_path: Path,
) -> None:
    setup(tmp_path, env)  # and no persistent resource: the pre-check fails (exit 4)
    process = start(JOB, {**env, "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": clean_emulator.url})
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 4, stderr
    assert "Traceback" not in stderr
    assert list(temp.iterdir()) == []
