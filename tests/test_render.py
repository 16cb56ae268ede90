"""The dry-run snippets, each one run: by bash and dash, by curl, by the venv's Python.

Runs go to the capture server (a local Vertex AI that records what it is sent), and the
request that arrives must be the request prgcloud would have gcloud send. A fake `gcloud`
early on PATH shows the finer points of the shell snippet: argv exactly, the config file's
content and mode, the exit code, and that no temporary file outlives it. Every argument list
of tests/test_differential.py is run in every style there as well.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from capture_server import TOKEN, CaptureServer, running_capture_server
from snippet_runs import (
    Job,
    as_sent,
    install_recording_gcloud,
    recording_env,
    run_shell_snippets,
)

from prgcloud import api, render
from prgcloud.parse import join_list, parse_create
from prgcloud.request import Identity, JobRequest

# Each one is a way a careless snippet would let the shell (or Python) read a value.
TRICKY = [
    "two words",
    "it's",
    'say "hi"',
    "$HOME ${HOME} $(id)",
    "`id`",
    "back\\slash \\n",
    "new\nline",
    "*",
    "; touch INJECTED",
    "&& touch INJECTED",
    "ünïcødé ✓ 日本",
    "PRGCLOUD_EOF",
]
# A display name that would run a command if a comment line could be ended early.
DISPLAY_NAME = "job 'one' $HOME `id`\ntouch INJECTED\n* ; && ✓"
# Every character a snippet must not hold raw: C0 but NUL (no argument can hold one), DEL,
# C1, line and paragraph separators, bidi overrides and isolates, zero-width characters, a
# tag character; each in a value of its own, then together.
CONTROLS = [
    *map(chr, range(0x01, 0x20)),
    "\x7f",
    *map(chr, range(0x80, 0xA0)),
    *"\u2028\u2029\u202a\u202e\u2066\u2069\u200b\u200e\ufeff\U000e0001",
]
CONTROL_ARGS = [
    *(f"a{c}b" for c in CONTROLS),
    "".join(CONTROLS),
    "\x15; touch INJECTED",
    "trailing newlines\n\n",
    "\n",
]
# Ctrl-U (kill the line typed so far), then a command: pasted raw, it would run.
CONTROL_NAME = "job\x15 touch INJECTED; \x1b]0;title\x07\u202eevil\x85 ✓\n"
IMAGE = "gcr.io/p/trainer:v1"
SHELLS = [pytest.param("bash", id="bash"), pytest.param("dash", id="dash")]
GOOGLE = "https://us-central1-aiplatform.googleapis.com/"


def container_request(endpoint: str, **changes: Any) -> JobRequest:
    """A container job written both ways: gcloud's arguments and the body they make."""
    args = "^|^" + "|".join(TRICKY)
    body = {
        "displayName": DISPLAY_NAME,
        "jobSpec": {
            "workerPoolSpecs": [
                {
                    "containerSpec": {"args": TRICKY, "imageUri": IMAGE},
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "2",
                }
            ],
        },
        "labels": {"team": "ml"},
    }
    request = JobRequest(
        track=None,
        project="my-project",
        region="us-central1",
        endpoint=endpoint,
        body=body,
        gcloud_args=(
            "ai",
            "custom-jobs",
            "create",
            "--project",
            "my-project",
            "--region=us-central1",
            f"--display-name={DISPLAY_NAME}",
            f"--worker-pool-spec=machine-type=n1-standard-4,replica-count=2,"
            f"container-image-uri={IMAGE}",
            f"--args={args}",
            "--labels=team=ml",
        ),
        core_project="my-project",
    )
    return replace(request, **changes)


def control_request(endpoint: str, **changes: Any) -> JobRequest:
    """A container job whose display name and arguments hold every control character."""
    request = container_request(endpoint)
    body = {
        "displayName": CONTROL_NAME,
        "jobSpec": {
            "workerPoolSpecs": [
                {
                    "containerSpec": {"args": CONTROL_ARGS, "imageUri": IMAGE},
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "2",
                }
            ],
        },
        "labels": {"team": "ml"},
    }
    gcloud_args = [
        *request.gcloud_args[:6],
        f"--display-name={CONTROL_NAME}",
        request.gcloud_args[7],
        f"--args={join_list(CONTROL_ARGS)}",
        "--labels=team=ml",
    ]
    return replace(request, body=body, gcloud_args=tuple(gcloud_args), **changes)


# gcloud cannot say a disk spec on its command line; prgcloud writes it into a config file.
CONFIG_YAML = """\
workerPoolSpecs:
- machineSpec:
    machineType: a2-highgpu-1g
    acceleratorType: NVIDIA_TESLA_A100
    acceleratorCount: 1
  replicaCount: 1
  diskSpec:
    bootDiskType: pd-ssd
    bootDiskSizeGb: 250
  containerSpec:
    imageUri: gcr.io/p/trainer:v1
    args:
    - 'PRGCLOUD_EOF'
    - '$HOME `id` \\ "q" ''s'
persistentResourceId: my-resource
"""


def config_request(endpoint: str) -> JobRequest:
    """A job whose spec travels in a generated --config file."""
    return JobRequest(
        track="beta",
        project="my-project",
        region="europe-west4",
        endpoint=endpoint,
        body={
            "displayName": "disk job",
            "jobSpec": {
                "workerPoolSpecs": [
                    {
                        "containerSpec": {
                            "args": ["PRGCLOUD_EOF", '$HOME `id` \\ "q" \'s'],
                            "imageUri": IMAGE,
                        },
                        "diskSpec": {"bootDiskSizeGb": 250, "bootDiskType": "pd-ssd"},
                        "machineSpec": {
                            "acceleratorCount": 1,
                            "acceleratorType": "NVIDIA_TESLA_A100",
                            "machineType": "a2-highgpu-1g",
                        },
                        "replicaCount": "1",
                    }
                ],
                "persistentResourceId": "my-resource",
            },
        },
        gcloud_args=(
            "beta",
            "ai",
            "custom-jobs",
            "create",
            "--project=my-project",
            "--region",
            "europe-west4",
            "--display-name=disk job",
        ),
        config_yaml=CONFIG_YAML,
        core_project="my-project",
    )


def run_script(
    interpreter: str, script: str, env: Mapping[str, str], cwd: Path, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    path = cwd / ("snippet.py" if interpreter == sys.executable else "snippet")
    path.write_text(script, encoding="utf-8")
    return subprocess.run(
        [interpreter, path.name],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,
    )


def the_post(server: CaptureServer) -> Any:
    posts = server.posts
    assert len(posts) == 1, [(r.method, r.path) for r in server.requests]
    return posts[0]


def sent_url(server: CaptureServer, post: Any) -> str:
    return server.url.rstrip("/") + post.path


@pytest.fixture
def run_env(gcloud_capture_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The capture environment with a TMPDIR of its own, to see what is left in it."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    return {**gcloud_capture_env, "TMPDIR": str(temp)}


def with_token_file(request: JobRequest, env: Mapping[str, str]) -> JobRequest:
    """The request as prgcloud reads it in `env`: gcloud's token comes from a file."""
    token_file = env["CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"]
    return replace(request, identity=Identity(access_token_file=token_file))


@pytest.fixture
def fake_gcloud(tmp_path: Path, run_env: dict[str, str]) -> Path:
    """A `gcloud` first on PATH that records its argv and --config file, then exits 7."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    record = tmp_path / "record.json"
    script = bin_dir / "gcloud"
    script.write_text(
        f"#!{sys.executable}\n"
        + """\
import json, os, stat, sys, time
record = {"argv": sys.argv[1:]}
for arg in sys.argv[1:]:
    if arg.startswith("--config="):
        path = arg[len("--config="):]
        record.update(path=path, mode=stat.S_IMODE(os.stat(path).st_mode))
        with open(path, encoding="utf-8") as f:
            record["config"] = f.read()
with open(os.environ["FAKE_GCLOUD_RECORD"], "w", encoding="utf-8") as f:
    json.dump(record, f)
print("fake gcloud says hello")
if os.environ.get("FAKE_GCLOUD_SLEEP"):
    time.sleep(float(os.environ["FAKE_GCLOUD_SLEEP"]))
sys.exit(7)
""",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    run_env["PATH"] = f"{bin_dir}{os.pathsep}{run_env['PATH']}"
    run_env["FAKE_GCLOUD_RECORD"] = str(record)
    return record


def recorded_call(record: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    return data


# --- every style ---------------------------------------------------------------------------

STYLES = [pytest.param(style, id=style) for style in render.STYLES]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(
    "make_request",
    [
        pytest.param(control_request, id="control-characters"),
        pytest.param(
            lambda url: replace(config_request(url), config_yaml=f"x: '{''.join(CONTROLS)}'\n"),
            id="control-characters-in-the-config",
        ),
    ],
)
def test_no_snippet_holds_a_raw_control_character(style: str, make_request: Any) -> None:
    snippet = render.dry_run_text(make_request(GOOGLE), "fits\x15 now\u2028", style=style)

    raw = sorted({c for c in snippet if not c.isprintable() and c != "\n"})
    assert raw == []


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(None, id="not-pre-checked"),
        pytest.param("fits\ntouch INJECTED", id="multi-line-note"),
        pytest.param("fits\rtouch INJECTED\u2028x", id="other-line-breaks"),
    ],
)
def test_header_is_comment_lines_whatever_the_values(note: str | None) -> None:
    request = container_request(GOOGLE)

    for snippet in (
        render.shell_snippet(request, note),
        render.curl_snippet(request, note),
        render.python_snippet(request, note),
    ):
        header = snippet.split("\n")[:4]
        assert all(line.startswith("# ") for line in header[:3]), header
        assert not any(c in "".join(header) for c in "\r\u2028")


def test_the_library_and_the_command_print_the_same_snippet() -> None:
    request = container_request(GOOGLE)

    for style in render.STYLES:
        chosen = replace(request, options=replace(request.options, dry_run=style))
        assert api.dry_run(request, style) == render.dry_run_text(chosen)
    assert render.dry_run_text(request) == render.shell_snippet(request)
    with pytest.raises(ValueError, match="dry-run style"):
        api.dry_run(request, "powershell")


# --- shell ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_shell_snippet_makes_gcloud_send_the_request(
    shell: str, capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = container_request(capture_server.url)

    result = run_script(shell, render.shell_snippet(request), run_env, tmp_path)

    assert result.returncode == 0, result.stderr
    post = the_post(capture_server)
    assert sent_url(capture_server, post) == request.url
    assert post.body == request.body
    assert "is submitted successfully" in result.stderr
    assert not (tmp_path / "INJECTED").exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_shell_snippet_hands_gcloud_a_generated_config(
    shell: str, capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = config_request(capture_server.url)

    result = run_script(shell, render.shell_snippet(request), run_env, tmp_path)

    assert result.returncode == 0, result.stderr
    post = the_post(capture_server)
    assert sent_url(capture_server, post) == request.url
    assert "/v1beta1/" in post.path
    assert post.body == request.body
    assert list(Path(run_env["TMPDIR"]).iterdir()) == []


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    "make_request",
    [
        pytest.param(container_request, id="shell-metacharacters"),
        pytest.param(control_request, id="control-characters"),
    ],
)
def test_shell_snippet_passes_every_argument_through_unread(
    shell: str, make_request: Any, fake_gcloud: Path, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = make_request(GOOGLE)

    result = run_script(shell, render.shell_snippet(request), run_env, tmp_path)

    assert recorded_call(fake_gcloud)["argv"] == list(request.gcloud_args)
    assert result.returncode == 7
    assert result.stdout == "fake gcloud says hello\n"
    assert not (tmp_path / "INJECTED").exists()


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    "config_yaml",
    [
        # Lines a careless here-document would end at, or expand.
        pytest.param("PRGCLOUD_EOF\nPRGCLOUD_EOF_1\n$HOME `id` \\\n'q' \"q\" ✓\n\n", id="heredoc"),
        # YAML leaves these raw (it reads them as printable); the snippet may not.
        pytest.param(
            "a: 'x\x85  y\u2028  z \u202e'\nb: \"$HOME\"\n\n'PRGCLOUD_EOF'\n", id="printf-lines"
        ),
    ],
)
def test_shell_snippet_writes_the_config_privately_and_removes_it(
    shell: str, config_yaml: str, fake_gcloud: Path, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = replace(config_request(GOOGLE), config_yaml=config_yaml)

    result = run_script(shell, render.shell_snippet(request), run_env, tmp_path)

    record = recorded_call(fake_gcloud)
    assert result.returncode == 7, result.stderr
    assert record["config"] == request.config_yaml
    assert record["mode"] == 0o600
    assert record["argv"] == list(request.gcloud_argv(record["path"]))
    assert Path(record["path"]).parent == Path(run_env["TMPDIR"])
    assert list(Path(run_env["TMPDIR"]).iterdir()) == []


@pytest.mark.parametrize("shell", SHELLS)
def test_interrupted_shell_snippet_leaves_no_config_file(
    shell: str, fake_gcloud: Path, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = config_request(GOOGLE)
    script = tmp_path / "snippet"
    script.write_text(render.shell_snippet(request), encoding="utf-8")
    process = subprocess.Popen(
        [shell, str(script)],
        env={**run_env, "FAKE_GCLOUD_SLEEP": "60"},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not fake_gcloud.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake_gcloud.exists(), "the fake gcloud never started"
        assert len(list(Path(run_env["TMPDIR"]).iterdir())) == 1

        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    assert process.returncode != 0
    assert list(Path(run_env["TMPDIR"]).iterdir()) == []


def test_shell_snippet_reads_as_one_flag_per_line() -> None:
    request = JobRequest(
        track=None,
        project="p",
        region="us-central1",
        endpoint=GOOGLE,
        body={"displayName": "j", "jobSpec": {"persistentResourceId": "res"}},
        gcloud_args=(
            "ai",
            "custom-jobs",
            "create",
            "--region",
            "us-central1",
            "--display-name=j",
            "--enable-web-access",
            "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/i",
        ),
        core_project="p",
    )

    snippet = render.shell_snippet(request, precheck_note="fits pool 0 of res (2 of 4 free).")

    assert snippet == (
        '# Submits the custom job "j" with the real gcloud.\n'
        '# Project "p", region "us-central1", persistent resource "res".\n'
        "# Pre-check: fits pool 0 of res (2 of 4 free).\n"
        "gcloud ai custom-jobs create \\\n"
        "  --region us-central1 \\\n"
        "  --display-name=j \\\n"
        "  --enable-web-access \\\n"
        "  --worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/i \\\n"
        "  --project=p\n"
    )


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        pytest.param("a: 1\n", "PRGCLOUD_EOF", id="plain"),
        pytest.param("PRGCLOUD_EOF\n", "PRGCLOUD_EOF_1", id="a-line-is-the-delimiter"),
        pytest.param("x: PRGCLOUD_EOF_1 PRGCLOUD_EOF", "PRGCLOUD_EOF_2", id="inside-lines"),
        pytest.param("PRGCLOUD_EOF_2\nPRGCLOUD_EOF\n", "PRGCLOUD_EOF_1", id="gaps-are-fine"),
    ],
)
def test_heredoc_delimiter_never_occurs_in_the_content(content: str, delimiter: str) -> None:
    assert render.heredoc_delimiter(content) == delimiter


@pytest.mark.parametrize("shell", SHELLS)
def test_every_character_survives_a_shell_word(shell: str, tmp_path: Path) -> None:
    # One word per character (and some bytes that are not UTF-8, as an argument may hold),
    # each printed back by the shell between markers.
    values = [*CONTROLS, *CONTROL_ARGS, "\udcff\udc80", "ok ✓ 'q' \"q\" $HOME \\"]
    script = [render._NEWLINE_DEFINITION]  # what a snippet holding a newline defines first
    script += [f"printf '[%s]' {render.shell_word(v)}" for v in values]
    (tmp_path / "words").write_text("\n".join(script) + "\n", encoding="utf-8")

    result = subprocess.run([shell, "words"], cwd=tmp_path, capture_output=True, check=True)

    expected = "".join(f"[{v}]" for v in values).encode("utf-8", "surrogateescape")
    assert result.stdout == expected


# Where the job goes, for arguments and gcloud settings: each world is pasted into another
# configuration (another project, region, endpoint) and must still go where it went.
DEFAULT_CONFIGURATION = "[core]\nproject = config-project\n[ai]\nregion = europe-west4\n"
POOL = f"--worker-pool-spec=machine-type=n1-standard-4,container-image-uri={IMAGE}"
CONFIGURED = {"active_config": "default", "configurations/config_default": DEFAULT_CONFIGURATION}
WORLDS = [
    pytest.param(["--display-name=flags", "--project=p1", "--region=us-central1"], {}, id="flags"),
    pytest.param(
        ["--display-name=configured"],
        CONFIGURED,
        id="project-and-region-from-the-configuration",
    ),
    pytest.param(
        ["--display-name=path", "--region=projects/p2/locations/us-east1"],
        CONFIGURED,
        id="region-path-names-another-project-than-the-configuration",
    ),
    pytest.param(
        [
            "--display-name=kms",
            "--region=projects/p2/locations/us-east1",
            "--kms-key=k",
            "--kms-keyring=kr",
            "--kms-location=us-east1",
        ],
        CONFIGURED,
        id="kms-key-in-the-configurations-project",
    ),
]


@pytest.mark.parametrize(("argv", "gcloud_files"), WORLDS)
def test_shell_snippet_sends_the_job_where_it_was_checked(
    argv: list[str], gcloud_files: dict[str, str], run_env: dict[str, str], tmp_path: Path
) -> None:
    config_dir = Path(run_env["CLOUDSDK_CONFIG"])
    for name, content in gcloud_files.items():
        (config_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (config_dir / name).write_text(content, encoding="utf-8")
    with running_capture_server() as here, running_capture_server() as elsewhere:
        env = {**run_env, "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": here.url}
        gcloud = subprocess.run(
            ["gcloud", "ai", "custom-jobs", "create", *argv, POOL],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert gcloud.returncode == 0, gcloud.stderr
        request = parse_create([*argv, POOL], env, track=None, cwd=str(tmp_path))
        another_configuration = {
            **run_env,
            "CLOUDSDK_CORE_PROJECT": "another-project",
            "CLOUDSDK_AI_REGION": "asia-east1",
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": elsewhere.url,
        }

        snippet = run_script("bash", render.shell_snippet(request), another_configuration, tmp_path)

        assert snippet.returncode == 0, snippet.stderr
        assert elsewhere.requests == []
        first, second = here.posts
        assert (second.path, second.body) == (first.path, first.body)


@pytest.mark.parametrize(
    ("args", "core_project", "project", "pins"),
    [
        pytest.param(["--project=p", "--region=r1"], "p", "p", [], id="both-given"),
        pytest.param(["--project", "p", "--region", "r1"], "p", "p", [], id="separate-values"),
        pytest.param([], "p", "p", ["--project=p", "--region=r1"], id="both-configured"),
        pytest.param(["--project=x", "--project=p"], "p", "p", ["--region=r1"], id="last-wins"),
        pytest.param(
            ["--project=p", "--region=r1", "--flags-file=f.yaml"],
            "p",
            "p",
            ["--project=p", "--region=r1"],
            id="a-flags-file-may-say-otherwise",
        ),
        pytest.param(
            ["--region=projects/p2/locations/r1"], "p1", "p2", ["--project=p1"], id="region-path"
        ),
        pytest.param(
            ["--region=projects/p/locations/r1"], "p", "p", ["--project=p"], id="same-project-path"
        ),
        pytest.param(
            [],
            "p1",
            "p2",
            ["--project=p1", "--region=projects/p2/locations/r1"],
            id="configured-region-path",
        ),
        pytest.param(
            ["--region=r1"], None, "p2", ["--region=projects/p2/locations/r1"], id="no-core-project"
        ),
    ],
)
def test_pinned_flags_say_only_what_the_arguments_do_not(
    args: list[str], core_project: str | None, project: str, pins: list[str]
) -> None:
    request = replace(
        container_request(GOOGLE),
        gcloud_args=("ai", "custom-jobs", "create", *args),
        project=project,
        region="r1",
        core_project=core_project,
    )

    assert render.pinned_flags(request) == pins


def test_shell_snippet_pins_an_endpoint_override() -> None:
    request = container_request("http://127.0.0.1:8080/")

    snippet = render.shell_snippet(request)

    assert "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=http://127.0.0.1:8080/ gcloud" in snippet
    assert "CLOUDSDK_API" not in render.shell_snippet(container_request(GOOGLE))


# Pasted into a terminal that has no bracketed paste, every character is typed: Ctrl-U
# erases the line typed so far (readline in bash, the terminal itself under dash), so a raw
# one inside a quoted value would drop the opening quote and run the rest of the value.
@pytest.mark.parametrize("shell", SHELLS)
def test_pasting_a_snippet_into_a_terminal_runs_only_gcloud(
    shell: str, tmp_path: Path, run_env: dict[str, str]
) -> None:
    name = "job\x15\ntouch INJECTED\n"
    request = replace(
        container_request(GOOGLE),
        body={"displayName": name},
        gcloud_args=("ai", "custom-jobs", "create", f"--display-name={name}", "--region=r"),
    )
    bin_dir = install_recording_gcloud(tmp_path)
    env = {**recording_env(run_env, bin_dir, TOKEN), "FAKE_GCLOUD_RECORD": str(tmp_path / "rec")}
    env.update(PS1="$ ", PS2="> ", TERM="dumb", HISTFILE="/dev/null")
    argv = [shell, "--norc", "--noprofile", "-i"] if shell == "bash" else [shell, "-i"]

    output = type_into_terminal(argv, render.shell_snippet(request) + "exit\n", env, tmp_path)

    assert (tmp_path / "rec.argv").exists(), output
    pinned = [*request.gcloud_args, *render.pinned_flags(request)]
    assert recorded_argv(tmp_path / "rec.argv") == pinned
    assert not (tmp_path / "INJECTED").exists(), output


def type_into_terminal(argv: list[str], text: str, env: Mapping[str, str], cwd: Path) -> str:
    """Run `argv` on a new pseudo-terminal, type `text` into it, and return what it showed.

    `text` ends by telling the program to exit; one that is still running a minute later
    (a snippet that left a quote open, say) is killed, and says so in what is returned.
    """
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        argv,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    os.close(secondary)
    shown = bytearray()
    deadline = time.monotonic() + 60
    try:
        os.write(main, text.encode("utf-8"))
        while process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.1)
            if ready:
                try:
                    shown += os.read(main, 65536)
                except OSError:  # EIO: the terminal's last reader has gone
                    break
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        shown += b"\n[still running: killed]"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # an interactive shell ignores SIGTERM
            process.wait()
        os.close(main)
    return shown.decode("utf-8", "replace")


def recorded_argv(path: Path) -> list[str]:
    return [a.decode("utf-8", "surrogateescape") for a in path.read_bytes().split(b"\0")[:-1]]


# --- curl ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    "make_request",
    [
        pytest.param(container_request, id="shell-metacharacters"),
        pytest.param(control_request, id="control-characters"),
    ],
)
def test_curl_snippet_sends_the_body_with_gclouds_token(
    shell: str,
    make_request: Any,
    capture_server: CaptureServer,
    run_env: dict[str, str],
    tmp_path: Path,
) -> None:
    request = make_request(capture_server.url)

    result = run_script(shell, render.curl_snippet(request), run_env, tmp_path)

    assert result.returncode == 0, result.stderr
    post = the_post(capture_server)
    assert sent_url(capture_server, post) == request.url
    assert post.query == "alt=json"
    assert post.body == request.body
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert post.headers["content-type"] == "application/json"
    assert json.loads(result.stdout)["name"].endswith("/customJobs/456")
    assert not (tmp_path / "INJECTED").exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_curl_snippet_runs_when_pasted(
    shell: str, capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    # The shell reads the snippet from its standard input, as from a terminal; curl reads
    # the header from the here-document, not from the rest of the snippet.
    request = container_request(capture_server.url)

    result = subprocess.run(
        [shell],
        input=render.curl_snippet(request) + "echo after the snippet\n",
        env=run_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert the_post(capture_server).body == request.body
    assert result.stdout.endswith("after the snippet\n")


@pytest.mark.parametrize("shell", SHELLS)
def test_curl_snippet_keeps_the_token_out_of_every_command_line(
    shell: str, capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    # Every program the snippet starts is wrapped by one that writes down its arguments.
    bin_dir = tmp_path / "wrappers"
    bin_dir.mkdir()
    for program in ("curl", "gcloud", "cat", "printf", "sed"):
        real = subprocess.run(["which", program], capture_output=True, text=True, check=False)
        if real.returncode != 0:
            continue
        wrapper = bin_dir / program
        wrapper.write_text(
            f'#!/bin/sh\nprintf "%s\\n" "{program} $*" >>"$ARGV_LOG"\n'
            f'exec {real.stdout.strip()} "$@"\n',
            encoding="utf-8",
        )
        wrapper.chmod(0o755)
    log = tmp_path / "argv.log"
    env = {**run_env, "PATH": f"{bin_dir}{os.pathsep}{run_env['PATH']}", "ARGV_LOG": str(log)}
    request = container_request(capture_server.url)
    snippet = render.curl_snippet(request)

    result = run_script(shell, snippet, env, tmp_path)

    assert result.returncode == 0, result.stderr
    assert the_post(capture_server).headers["authorization"] == f"Bearer {TOKEN}"
    started = log.read_text(encoding="utf-8")
    assert "curl " in started
    assert "gcloud auth print-access-token" in started
    assert TOKEN not in started
    assert TOKEN not in snippet + result.stdout + result.stderr


def test_curl_snippet_asks_for_the_token_as_the_same_identity() -> None:
    request = replace(
        container_request(GOOGLE),
        identity=Identity(account="me@example.com", impersonate_service_account="sa@p.iam"),
    )

    snippet = render.curl_snippet(request)

    assert (
        "prgcloud_token=$(gcloud auth print-access-token --account=me@example.com "
        "--impersonate-service-account=sa@p.iam) || exit" in snippet
    )


@pytest.mark.parametrize("shell", SHELLS)
def test_curl_snippet_stops_when_gcloud_has_no_token(
    shell: str, capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = container_request(capture_server.url)
    env = {**run_env, "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": str(tmp_path / "missing")}

    result = run_script(shell, render.curl_snippet(request), env, tmp_path)

    assert result.returncode != 0
    assert capture_server.requests == []


def test_curl_snippet_fails_when_the_service_says_no(
    capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    error = {"error": {"code": 400, "message": "machine type is bad", "status": "INVALID_ARGUMENT"}}
    capture_server.create_error = (400, error)
    request = container_request(capture_server.url)

    result = run_script("dash", render.curl_snippet(request), run_env, tmp_path)

    assert result.returncode == 22  # curl's "HTTP page not retrieved"
    assert json.loads(result.stdout) == error


# --- Python (Vertex AI SDK) ----------------------------------------------------------------


def full_request(endpoint: str) -> JobRequest:
    """Every kind of field: the SDK's arguments once, and what it had none for."""
    request = container_request(endpoint)
    body = {
        "displayName": DISPLAY_NAME,
        "encryptionSpec": {
            "kmsKeyName": "projects/my-project/locations/us-central1/keyRings/kr/cryptoKeys/k"
        },
        "jobSpec": {
            "enableDashboardAccess": True,
            "enableWebAccess": True,
            "network": "projects/123/global/networks/my-vpc",
            "persistentResourceId": "my-resource",
            "serviceAccount": "trainer@my-project.iam.gserviceaccount.com",
            "scheduling": {"timeout": "7200s", "restartJobOnWorkerRestart": True},
            "tensorboard": "projects/123/locations/us-central1/tensorboards/7",
            "experiment": "projects/123/locations/us-central1/metadataStores/default/contexts/e",
            "experimentRun": "projects/123/locations/us-central1/metadataStores/default/contexts/r",
            "baseOutputDirectory": {"outputUriPrefix": "gs://b/out"},
            "workerPoolSpecs": [
                {
                    "containerSpec": {
                        "args": TRICKY,
                        "command": ["python", "-m", "trainer"],
                        "env": [{"name": "MODE", "value": "$HOME ✓"}],
                        "imageUri": IMAGE,
                    },
                    "diskSpec": {"bootDiskSizeGb": 200, "bootDiskType": "pd-balanced"},
                    "machineSpec": {
                        "acceleratorCount": 4,
                        "acceleratorType": "TPU_V5_LITEPOD",
                        "machineType": "ct5lp-hightpu-4t",
                        "tpuTopology": "2x2",
                    },
                    "replicaCount": "1",
                },
                {},
                {
                    "machineSpec": {"machineType": "n1-standard-8"},
                    "pythonPackageSpec": {
                        "args": ["--epochs=3"],
                        "executorImageUri": "us-docker.pkg.dev/vertex-ai/training/tf:latest",
                        "packageUris": ["gs://b/trainer-0.1.tar.gz"],
                        "pythonModule": "trainer.task",
                    },
                    "replicaCount": "3",
                },
            ],
        },
        "labels": {"team": "ml", "owner": "ünïcødé"},
    }
    return replace(request, body=body)


def beta_request(endpoint: str) -> JobRequest:
    """A beta job with fields only v1beta1 has."""
    request = full_request(endpoint)
    spec = dict(request.body["jobSpec"])
    spec["pscInterfaceConfig"] = {"networkAttachment": "projects/p/regions/r/networkAttachments/a"}
    pools = [dict(pool) for pool in spec["workerPoolSpecs"]]
    pools[0]["machineSpec"] = {**pools[0]["machineSpec"], "multihostGpuNodeCount": 2}
    spec["workerPoolSpecs"] = pools
    return replace(request, track="beta", body={**request.body, "jobSpec": spec})


@pytest.mark.parametrize(
    "make_request",
    [
        pytest.param(container_request, id="container-job"),
        pytest.param(full_request, id="every-field-tensorboard-and-experiment"),
        pytest.param(beta_request, id="beta-only-fields"),
        pytest.param(lambda url: replace(full_request(url), track="alpha"), id="alpha"),
        pytest.param(control_request, id="control-characters"),
    ],
)
def test_python_snippet_run_as_pasted_creates_the_same_custom_job(
    make_request: Any, capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = with_token_file(make_request(capture_server.url), run_env)

    result = run_script(sys.executable, render.python_snippet(request), run_env, tmp_path)

    assert result.returncode == 0, result.stderr
    post = the_post(capture_server)
    assert sent_url(capture_server, post) == request.url
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert as_sent(post.body, request.api_version) == as_sent(request.body, request.api_version)
    assert "submitted successfully" in result.stdout
    assert not (tmp_path / "INJECTED").exists()


UNFIT = [
    pytest.param("replicaCount", "99999999999999999999999", id="replica-count-beyond-int64"),
    pytest.param("replicaCount", "9223372036854775808", id="replica-count-just-beyond-int64"),
    pytest.param("acceleratorCount", 2**31, id="accelerator-count-beyond-int32"),
]


@pytest.mark.parametrize(("field", "value"), UNFIT)
def test_python_snippet_sends_values_the_sdk_cannot_hold_as_gcloud_does(
    field: str,
    value: Any,
    capture_server: CaptureServer,
    run_env: dict[str, str],
    tmp_path: Path,
) -> None:
    request = with_token_file(container_request(capture_server.url), run_env)
    pool = dict(request.body["jobSpec"]["workerPoolSpecs"][0])
    if field == "replicaCount":
        pool[field] = value
    else:
        pool["machineSpec"] = {**pool["machineSpec"], field: value}
    request = replace(request, body={**request.body, "jobSpec": {"workerPoolSpecs": [pool]}})

    result = run_script(sys.executable, render.python_snippet(request), run_env, tmp_path)

    assert result.returncode == 0, result.stderr
    post = the_post(capture_server)
    assert sent_url(capture_server, post) == request.url
    assert post.query == "alt=json"
    assert post.body == request.body  # exactly, as gcloud sends it
    assert post.headers["authorization"] == f"Bearer {TOKEN}"


def test_python_snippet_asks_gcloud_for_the_token_of_an_account(
    capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = replace(
        container_request(capture_server.url), identity=Identity(account="me@example.com")
    )
    env = recording_env(run_env, install_recording_gcloud(tmp_path), "ya29.from-gcloud")
    env["FAKE_GCLOUD_RECORD"] = str(tmp_path / "rec")

    result = run_script(sys.executable, render.python_snippet(request), env, tmp_path)

    assert result.returncode == 0, result.stderr
    assert the_post(capture_server).headers["authorization"] == "Bearer ya29.from-gcloud"
    assert recorded_argv(tmp_path / "rec.token-argv") == [
        "auth",
        "print-access-token",
        "--account=me@example.com",
    ]


def test_python_snippet_uses_application_default_credentials_otherwise(
    capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    # A service account's key as the ADC file: the SDK signs its own token with it (a JWT
    # that names the account), so nothing needs a token server.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    request = container_request(capture_server.url)  # no token file, account or the like
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    adc = tmp_path / "adc.json"
    adc.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "my-project",
                "private_key_id": "1",
                "private_key": pem.decode(),
                "client_email": "adc@my-project.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "http://127.0.0.1:9/token",  # never reached
            }
        ),
        encoding="utf-8",
    )
    env = {**run_env, "GOOGLE_APPLICATION_CREDENTIALS": str(adc)}

    result = run_script(sys.executable, render.python_snippet(request), env, tmp_path)

    assert result.returncode == 0, result.stderr
    scheme, token = the_post(capture_server).headers["authorization"].split(" ")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert (scheme, claims["iss"]) == ("Bearer", "adc@my-project.iam.gserviceaccount.com")


def test_python_snippet_talks_to_googles_regional_endpoint_by_default() -> None:
    request = container_request(GOOGLE)

    snippet = render.python_snippet(request)

    assert "'api_endpoint': 'https://us-central1-aiplatform.googleapis.com'" in snippet
    assert "parent='projects/my-project/locations/us-central1'" in snippet
    compile(snippet, "snippet.py", "exec")


def sdk_fields(api_version: str) -> tuple[dict[str, int], set[str]]:
    """The SDK's integer fields (JSON name -> bits) and duration fields in a CustomJob."""
    from google.protobuf.descriptor import FieldDescriptor

    if api_version == "v1":
        from google.cloud.aiplatform_v1.types import custom_job
    else:
        from google.cloud.aiplatform_v1beta1.types import custom_job  # type: ignore[no-redef]
    bits = {FieldDescriptor.TYPE_INT32: 32, FieldDescriptor.TYPE_INT64: 64}
    integers: dict[str, int] = {}
    durations: set[str] = set()
    seen: set[str] = set()

    def walk(message: Any) -> None:
        if message.full_name in seen:
            return
        seen.add(message.full_name)
        for field in message.fields:
            if field.type in bits:
                integers[field.json_name] = bits[field.type]
            elif field.type != FieldDescriptor.TYPE_MESSAGE:
                assert field.type in (
                    FieldDescriptor.TYPE_STRING,
                    FieldDescriptor.TYPE_BOOL,
                    FieldDescriptor.TYPE_ENUM,
                ), f"{message.full_name}.{field.name}: a kind sdk_cannot_hold does not check"
            elif field.message_type.full_name == "google.protobuf.Duration":
                durations.add(field.json_name)
            elif not field.message_type.full_name.startswith("google.protobuf."):
                walk(field.message_type)

    walk(custom_job.CustomJobSpec.pb().DESCRIPTOR)
    return integers, durations


@pytest.mark.parametrize("api_version", ["v1", "v1beta1"])
def test_sdk_cannot_hold_knows_every_number_and_duration_the_sdk_parses(api_version: str) -> None:
    integers, durations = sdk_fields(api_version)

    assert integers.items() <= render.INTEGER_BITS.items()
    assert durations <= render.DURATION_FIELDS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *UNFIT,
        pytest.param("replicaCount", "9223372036854775807", id="int64-max"),
        pytest.param("replicaCount", "-9223372036854775808", id="int64-min"),
        pytest.param("replicaCount", 2, id="int64-as-a-number"),
        pytest.param("acceleratorCount", 2**31 - 1, id="int32-max"),
        pytest.param("acceleratorCount", "7", id="int32-as-text"),
        pytest.param("bootDiskSizeGb", -(2**31) - 1, id="int32-below-min"),
        pytest.param("timeout", "7200s", id="duration"),
        pytest.param("timeout", "1.000000001s", id="duration-nanoseconds"),
        pytest.param("timeout", "-5s", id="negative-duration"),
        pytest.param("timeout", "315576000001s", id="duration-beyond-range"),
        pytest.param("timeout", "2h", id="duration-in-hours"),
        pytest.param("timeout", "abc", id="no-duration"),
        pytest.param("maxWaitDuration", "60s", id="max-wait-duration"),
    ],
)
def test_sdk_cannot_hold_says_so_exactly_when_the_sdk_refuses(field: str, value: Any) -> None:
    from google.cloud.aiplatform_v1beta1.types import custom_job
    from google.protobuf import json_format

    if field in ("timeout", "maxWaitDuration"):
        spec = {"scheduling": {field: value}}
    elif field == "replicaCount":
        spec = {"workerPoolSpecs": [{field: value}]}
    elif field == "bootDiskSizeGb":
        spec = {"workerPoolSpecs": [{"diskSpec": {field: value}}]}
    else:
        spec = {"workerPoolSpecs": [{"machineSpec": {field: value}}]}
    body = {"displayName": "j", "jobSpec": spec}
    try:
        json_format.ParseDict(body, custom_job.CustomJob.pb()())
        sdk_refuses = False
    except json_format.ParseError:
        sdk_refuses = True

    assert (render.sdk_cannot_hold(body) is not None) == sdk_refuses


# --- requests as prgcloud parses them ------------------------------------------------------

PARSED = [
    pytest.param(
        (
            "--project=my-project",
            "--region=us-central1",
            "--display-name=plain $HOME",
            f"--worker-pool-spec=machine-type=n1-standard-4,replica-count=2,"
            f"container-image-uri={IMAGE}",
            "--persistent-resource-id=my-resource",
            "--labels=team=ml",
        ),
        None,
        None,
        id="flags-passed-through",
    ),
    pytest.param(
        (
            "--project=my-project",
            "--region=us-central1",
            "--display-name=disk job",
            "--worker-pool-spec=machine-type=a2-highgpu-1g,accelerator-type=NVIDIA_TESLA_A100,"
            f"disk-type=pd-ssd,disk-size=250,container-image-uri={IMAGE}",
            f"--worker-pool-spec=machine-type=n1-standard-4,disk-size=120,container-image-uri={IMAGE}",
            "--args=^|^$HOME|it's|a b",
        ),
        None,
        None,
        id="disk-keys-become-a-config-file",
    ),
    pytest.param(
        (
            "--display-name=disk job \x15 ✓",
            f"--worker-pool-spec=machine-type=n1-standard-4,disk-size=120,container-image-uri={IMAGE}",
            "--args=^|^\x1b[31m|\u202e|a\u2028b|\t",
        ),
        "beta",
        None,
        id="disk-keys-and-control-characters-configured-project",
    ),
    pytest.param(
        ("--project=my-project", "--region=europe-west4", "--display-name=stdin", "--config=-"),
        "beta",
        CONFIG_YAML,
        id="config-from-stdin-becomes-a-file",
    ),
]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(("argv", "track", "stdin"), PARSED)
def test_snippets_of_a_parsed_request_send_what_prgcloud_computed(
    argv: tuple[str, ...],
    track: str | None,
    stdin: str | None,
    style: str,
    capture_server: CaptureServer,
    run_env: dict[str, str],
    tmp_path: Path,
) -> None:
    # Project and region come from the environment when the arguments leave them out; the
    # snippet then runs where they say something else.
    env = {**run_env, "CLOUDSDK_CORE_PROJECT": "env-project", "CLOUDSDK_AI_REGION": "us-east1"}
    request = parse_create(
        argv, env, track=track, cwd=str(tmp_path), read_stdin=lambda _limit: stdin
    )
    snippet = render.dry_run_text(request, style=style)
    elsewhere = {**run_env, "CLOUDSDK_CORE_PROJECT": "other", "CLOUDSDK_AI_REGION": "asia-east1"}

    interpreter = {"shell": "bash", "rest": "dash", "python": sys.executable}[style]
    result = run_script(interpreter, snippet, elsewhere, tmp_path)

    assert result.returncode == 0, result.stderr
    post = the_post(capture_server)
    assert sent_url(capture_server, post) == request.url
    if style == "python":  # the SDK sends enums as numbers and leaves defaults out
        assert as_sent(post.body, request.api_version) == as_sent(request.body, request.api_version)
    else:
        assert post.body == request.body
    assert list(Path(run_env["TMPDIR"]).iterdir()) == []


def test_disk_keys_with_a_placeholder_pool_are_refused_before_anything_runs(
    run_env: dict[str, str], tmp_path: Path
) -> None:
    # gcloud refuses an empty pool `{}` in a --config file (_ValidateWorkerPoolSpecsFromConfig),
    # and a generated config is the only way to hand it a disk: prgcloud says so up front.
    from prgcloud.errors import BadInputError

    argv = (
        "--project=my-project",
        "--region=us-central1",
        "--display-name=disk job",
        f"--worker-pool-spec=machine-type=n1-standard-4,disk-size=250,container-image-uri={IMAGE}",
        "--worker-pool-spec=",
        f"--worker-pool-spec=machine-type=n1-standard-4,container-image-uri={IMAGE}",
    )
    with pytest.raises(BadInputError, match="placeholder"):
        parse_create(argv, run_env, track=None, cwd=str(tmp_path))


def test_run_shell_snippets_batches_runs_each_in_its_own_directory(
    tmp_path: Path, run_env: dict[str, str]
) -> None:
    # The batch runner tests/test_differential.py uses: each snippet runs in its directory.
    jobs = [Job(tmp_path / f"job{n}", f"pwd; exit {n}\n") for n in range(3)]

    runs = run_shell_snippets("dash", jobs, run_env)

    assert [r.rc for r in runs] == [0, 1, 2]
    assert [r.stdout.strip() for r in runs] == [str(job.out) for job in jobs]
