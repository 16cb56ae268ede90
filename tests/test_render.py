"""The dry-run snippets, each one run: by bash and sh, by curl, by the venv's Python.

Runs go to the capture server (a local Vertex AI that records what it is sent), and the
request that arrives must be the request prgcloud would have gcloud send. A fake `gcloud`
early on PATH shows the finer points of the shell snippet: argv exactly, the config file's
content and mode, the exit code, and that no temporary file outlives it.
"""

from __future__ import annotations

import json
import os
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
from capture_server import TOKEN, CaptureServer

from prgcloud import render
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
IMAGE = "gcr.io/p/trainer:v1"
SHELLS = [pytest.param("bash", id="bash"), pytest.param("sh", id="sh")]


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
    )
    return replace(request, **changes)


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
    )


def run_script(
    interpreter: str, script: str, env: Mapping[str, str], cwd: Path, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    path = cwd / "snippet"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(
        [interpreter, str(path)],
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


@pytest.fixture
def run_env(gcloud_capture_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The capture environment with a TMPDIR of its own, to see what is left in it."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    return {**gcloud_capture_env, "TMPDIR": str(temp)}


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


# --- shell ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_shell_snippet_makes_gcloud_send_the_request(
    shell: str, capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = container_request(capture_server.url)

    result = run_script(shell, render.shell_snippet(request), run_env, tmp_path)

    assert result.returncode == 0, result.stderr
    post = the_post(capture_server)
    assert capture_server.url.rstrip("/") + post.path == request.url
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
    assert capture_server.url.rstrip("/") + post.path == request.url
    assert "/v1beta1/" in post.path
    assert post.body == request.body
    assert list(Path(run_env["TMPDIR"]).iterdir()) == []


@pytest.mark.parametrize("shell", SHELLS)
def test_shell_snippet_passes_every_argument_through_unread(
    shell: str, fake_gcloud: Path, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = container_request("https://us-central1-aiplatform.googleapis.com/")

    result = run_script(shell, render.shell_snippet(request), run_env, tmp_path)

    assert json.loads(fake_gcloud.read_text())["argv"] == list(request.gcloud_args)
    assert result.returncode == 7
    assert result.stdout == "fake gcloud says hello\n"
    assert not (tmp_path / "INJECTED").exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_shell_snippet_writes_the_config_privately_and_removes_it(
    shell: str, fake_gcloud: Path, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = replace(
        config_request("https://europe-west4-aiplatform.googleapis.com/"),
        # Lines a careless here-document would end at, or expand.
        config_yaml="PRGCLOUD_EOF\nPRGCLOUD_EOF_1\n$HOME `id` \\\n'q' \"q\" ✓\n\n",
    )

    result = run_script(shell, render.shell_snippet(request), run_env, tmp_path)

    record = json.loads(fake_gcloud.read_text())
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
    request = config_request("https://europe-west4-aiplatform.googleapis.com/")
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
        endpoint="https://us-central1-aiplatform.googleapis.com/",
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
        "  --worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/i\n"
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


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(None, id="not-pre-checked"),
        pytest.param("fits\ntouch INJECTED", id="multi-line-note"),
        pytest.param("fits\rtouch INJECTED\u2028x", id="other-line-breaks"),
    ],
)
def test_header_is_comment_lines_whatever_the_values(note: str | None) -> None:
    request = container_request("https://us-central1-aiplatform.googleapis.com/")

    for snippet in (
        render.shell_snippet(request, note),
        render.curl_snippet(request, note),
        render.python_snippet(request, note),
    ):
        header = snippet.split("\n")[:4]
        assert all(line.startswith("# ") for line in header[:3]), header
        assert not any(c in "".join(header) for c in "\r\u2028")


# --- curl ----------------------------------------------------------------------------------


def test_curl_snippet_sends_the_body_with_gclouds_token(
    capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = container_request(capture_server.url)

    result = run_script("bash", render.curl_snippet(request), run_env, tmp_path)

    assert result.returncode == 0, result.stderr
    post = the_post(capture_server)
    assert capture_server.url.rstrip("/") + post.path == request.url
    assert post.query == "alt=json"
    assert post.body == request.body
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert post.headers["content-type"] == "application/json"
    assert json.loads(result.stdout)["name"].endswith("/customJobs/456")
    assert not (tmp_path / "INJECTED").exists()


def test_curl_snippet_asks_for_the_token_as_the_same_identity() -> None:
    request = replace(
        container_request("https://us-central1-aiplatform.googleapis.com/"),
        identity=Identity(account="me@example.com", impersonate_service_account="sa@p.iam"),
    )

    snippet = render.curl_snippet(request)

    assert (
        "$(gcloud auth print-access-token --account=me@example.com "
        "--impersonate-service-account=sa@p.iam)" in snippet
    )


def test_curl_snippet_fails_when_the_service_says_no(
    capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    error = {"error": {"code": 400, "message": "machine type is bad", "status": "INVALID_ARGUMENT"}}
    capture_server.create_error = (400, error)
    request = container_request(capture_server.url)

    result = run_script("sh", render.curl_snippet(request), run_env, tmp_path)

    assert result.returncode == 22  # curl's "HTTP page not retrieved"
    assert json.loads(result.stdout) == error


# --- Python (Vertex AI SDK) ----------------------------------------------------------------

# The snippet uses Application Default Credentials; here there are none, so this wrapper
# runs it with anonymous ones (the capture server does not care).
ANONYMOUS = (
    "import runpy, sys, google.auth, google.auth.credentials as c\n"
    "google.auth.default = lambda *a, **k: (c.AnonymousCredentials(), None)\n"
    "runpy.run_path(sys.argv[1], run_name='__main__')\n"
)


def as_sent(body: Mapping[str, Any]) -> Any:
    """A CustomJob body in one canonical form (enum names, int64 as strings), so that the
    SDK's JSON (enums as numbers) and gcloud's compare field for field."""
    from google.cloud.aiplatform.compat.types import custom_job_v1
    from google.protobuf import json_format

    message = json_format.ParseDict(body, custom_job_v1.CustomJob.pb()())
    return json_format.MessageToDict(message)


def full_request(endpoint: str) -> JobRequest:
    """Every field the SDK takes an argument for, and some it does not."""
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


@pytest.mark.parametrize(
    "make_request",
    [
        pytest.param(container_request, id="container-job"),
        pytest.param(full_request, id="every-field"),
        pytest.param(
            lambda url: replace(
                container_request(url),
                body={
                    **container_request(url).body,
                    "jobSpec": {
                        **container_request(url).body["jobSpec"],
                        "baseOutputDirectory": {"outputUriPrefix": "gs://b/out"},
                    },
                },
            ),
            id="with-output-directory",
        ),
    ],
)
def test_python_snippet_creates_the_same_custom_job(
    make_request: Any, capture_server: CaptureServer, run_env: dict[str, str], tmp_path: Path
) -> None:
    request = make_request(capture_server.url)
    (tmp_path / "anonymous.py").write_text(ANONYMOUS, encoding="utf-8")
    (tmp_path / "snippet.py").write_text(render.python_snippet(request), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "anonymous.py", "snippet.py"],
        env=run_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    post = the_post(capture_server)
    assert capture_server.url.rstrip("/") + post.path == request.url.replace("v1beta1", "v1")
    sent, wanted = as_sent(post.body), as_sent(request.body)
    for field in ("workerPoolSpecs", "persistentResourceId", "network", "serviceAccount"):
        assert sent["jobSpec"].get(field) == wanted["jobSpec"].get(field), field
    assert sent.get("labels") == wanted.get("labels")
    assert sent == wanted  # and nothing else differs either
    assert "submitted successfully" in result.stdout
    assert not (tmp_path / "INJECTED").exists()


def test_python_snippet_talks_to_googles_endpoint_by_default() -> None:
    request = container_request("https://us-central1-aiplatform.googleapis.com/")

    snippet = render.python_snippet(request)

    assert "api_endpoint" not in snippet
    assert "location='us-central1'" in snippet
    compile(snippet, "snippet.py", "exec")


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
        ("--project=my-project", "--region=europe-west4", "--display-name=stdin", "--config=-"),
        "beta",
        CONFIG_YAML,
        id="config-from-stdin-becomes-a-file",
    ),
]
STYLES = [
    pytest.param(render.shell_snippet, id="shell"),
    pytest.param(render.curl_snippet, id="curl"),
    pytest.param(render.python_snippet, id="python"),
]


@pytest.mark.parametrize("snippet_of", STYLES)
@pytest.mark.parametrize(("argv", "track", "stdin"), PARSED)
def test_snippets_of_a_parsed_request_send_what_prgcloud_computed(
    argv: tuple[str, ...],
    track: str | None,
    stdin: str | None,
    snippet_of: Any,
    capture_server: CaptureServer,
    run_env: dict[str, str],
    tmp_path: Path,
) -> None:
    from prgcloud.parse import parse_create

    request = parse_create(
        argv, run_env, track=track, cwd=str(tmp_path), read_stdin=lambda _limit: stdin
    )
    snippet = snippet_of(request)

    if snippet_of is render.python_snippet:
        (tmp_path / "anonymous.py").write_text(ANONYMOUS, encoding="utf-8")
        (tmp_path / "snippet.py").write_text(snippet, encoding="utf-8")
        command = [sys.executable, "anonymous.py", "snippet.py"]
    else:
        (tmp_path / "snippet").write_text(snippet, encoding="utf-8")
        command = ["bash", "snippet"]
    result = subprocess.run(
        command, env=run_env, cwd=tmp_path, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    post = the_post(capture_server)
    if snippet_of is render.python_snippet:  # the SDK speaks v1 and sends enums as numbers
        assert capture_server.url.rstrip("/") + post.path == request.url.replace("v1beta1", "v1")
        assert as_sent(post.body) == as_sent(request.body)
    else:
        assert capture_server.url.rstrip("/") + post.path == request.url
        assert post.body == request.body
    assert list(Path(run_env["TMPDIR"]).iterdir()) == []


def test_disk_keys_with_a_placeholder_pool_are_refused_before_anything_runs(
    run_env: dict[str, str], tmp_path: Path
) -> None:
    # gcloud refuses an empty pool `{}` in a --config file (_ValidateWorkerPoolSpecsFromConfig),
    # and a generated config is the only way to hand it a disk: prgcloud says so up front.
    from prgcloud.errors import BadInputError
    from prgcloud.parse import parse_create

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
