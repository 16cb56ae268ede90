"""Running dry-run snippets the way people do, many at a time: shell snippets by bash or dash
as files, Python snippets by one interpreter (the SDK is imported once for all of them).

A recording `gcloud` (`install_recording_gcloud`) shows what a snippet ran: the argv of its
last `... create` call and the `--config` file it was given, and the argv of its last
`gcloud auth print-access-token`, which it answers with a fake token. With
`FAKE_GCLOUD_REAL=/path/to/gcloud` it then runs the real gcloud with the same arguments.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORDING_GCLOUD = r"""#!/bin/sh
record=${FAKE_GCLOUD_RECORD:?}
if [ "$1" = auth ] && [ "$2" = print-access-token ]; then
  printf '%s\0' "$@" >"$record.token-argv"
  printf '%s\n' "${FAKE_GCLOUD_TOKEN:?}"
  exit 0
fi
printf '%s\0' "$@" >"$record.argv"
for arg do
  case $arg in
    --config=*)
      cat -- "${arg#--config=}" >"$record.config"
      stat -c %a -- "${arg#--config=}" >"$record.mode" ;;
  esac
done
if [ -n "$FAKE_GCLOUD_REAL" ]; then exec "$FAKE_GCLOUD_REAL" "$@"; fi
exit "${FAKE_GCLOUD_EXIT:-0}"
"""

PYTHON_BATCH = r"""
import contextlib, io, json, os, runpy, sys, traceback

with open(sys.argv[1], encoding="utf-8") as f:
    jobs = json.load(f)
results = []
for job in jobs:
    os.chdir(job["cwd"])
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(job["snippet"], run_name="__main__")
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
            if not isinstance(exit.code, int) and exit.code is not None:
                print(exit.code, file=sys.stderr)
        except Exception:  # one failing snippet is a result to report, not the batch's end
            traceback.print_exc()
            code = 1
    results.append({"rc": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(results, f)
"""


@dataclass(frozen=True)
class Job:
    """One snippet to run in `cwd` (default: `out`); its file and results go into `out`."""

    out: Path
    snippet: str
    cwd: Path | None = None

    @property
    def directory(self) -> Path:
        return self.cwd or self.out


@dataclass(frozen=True)
class Run:
    """How one snippet ended, and what the recording gcloud saw (None: not called)."""

    rc: int
    stdout: str
    stderr: str
    argv: list[str] | None = None
    config: str | None = None
    config_mode: str | None = None
    token_argv: list[str] | None = None


def install_recording_gcloud(directory: Path) -> Path:
    """A recording `gcloud` in `directory/bin`; returns that bin directory for PATH."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "gcloud"
    script.write_text(RECORDING_GCLOUD, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def recording_env(base: Mapping[str, str], bin_dir: Path, token: str) -> dict[str, str]:
    """`base` with the recording gcloud first on PATH, answering with `token`."""
    return {
        **base,
        "PATH": f"{bin_dir}{os.pathsep}{base.get('PATH', os.environ['PATH'])}",
        "FAKE_GCLOUD_TOKEN": token,
    }


def recorded(record: Path, rc: int, stdout: str, stderr: str) -> Run:
    """The Run whose recording gcloud wrote next to `record` (`record.argv`, ...)."""

    def read(suffix: str) -> bytes | None:
        path = Path(f"{record}.{suffix}")
        return path.read_bytes() if path.exists() else None

    def argv(data: bytes | None) -> list[str] | None:
        if data is None:
            return None
        return [a.decode("utf-8", "surrogateescape") for a in data.split(b"\0")[:-1]]

    config, mode = read("config"), read("mode")
    return Run(
        rc=rc,
        stdout=stdout,
        stderr=stderr,
        argv=argv(read("argv")),
        config=config.decode("utf-8", "surrogateescape") if config is not None else None,
        config_mode=mode.decode().strip() if mode is not None else None,
        token_argv=argv(read("token-argv")),
    )


def run_shell_snippets(shell: str, jobs: Sequence[Job], env: Mapping[str, str]) -> list[Run]:
    """Run each snippet as a file (`SHELL FILE` in its directory), all from one driver
    script that `shell` itself runs; standard input is empty."""
    if not jobs:
        return []
    driver = [
        "run() {  # OUT CWD",
        f'  ( cd "$2" && FAKE_GCLOUD_RECORD="$1/record" {shlex.quote(shell)} "$1/snippet" ) \\',
        '    </dev/null >"$1/stdout" 2>"$1/stderr"',
        '  echo $? >"$1/rc"',
        "}",
    ]
    for job in jobs:
        job.out.mkdir(parents=True, exist_ok=True)
        (job.out / "snippet").write_text(job.snippet, encoding="utf-8")
        driver.append(f"run {shlex.quote(str(job.out))} {shlex.quote(str(job.directory))}")
    script = jobs[0].out.parent / f"driver-{os.path.basename(shell)}.sh"
    script.write_text("\n".join(driver) + "\n", encoding="utf-8")
    subprocess.run([shell, str(script)], env=dict(env), check=True, timeout=600)
    return [
        recorded(
            job.out / "record",
            int((job.out / "rc").read_text()),
            (job.out / "stdout").read_text(encoding="utf-8", errors="surrogateescape"),
            (job.out / "stderr").read_text(encoding="utf-8", errors="surrogateescape"),
        )
        for job in jobs
    ]


def run_python_snippets(jobs: Sequence[Job], env: Mapping[str, str]) -> list[Run]:
    """Run each snippet as `python FILE` would (in its directory), all in one interpreter."""
    if not jobs:
        return []
    listed = []
    for job in jobs:
        job.out.mkdir(parents=True, exist_ok=True)
        (job.out / "snippet.py").write_text(job.snippet, encoding="utf-8")
        listed.append({"snippet": str(job.out / "snippet.py"), "cwd": str(job.directory)})
    root = jobs[0].out.parent
    (root / "jobs.json").write_text(json.dumps(listed), encoding="utf-8")
    (root / "batch.py").write_text(PYTHON_BATCH, encoding="utf-8")
    subprocess.run(
        [sys.executable, str(root / "batch.py"), str(root / "jobs.json"), str(root / "runs.json")],
        env=dict(env),
        check=True,
        timeout=600,
    )
    results = json.loads((root / "runs.json").read_text(encoding="utf-8"))
    return [
        recorded(job.out / "record", r["rc"], r["stdout"], r["stderr"])
        for job, r in zip(jobs, results, strict=True)
    ]


def as_sent(body: Any, api_version: str) -> Any:
    """A CustomJob body in the one form the service reads it in (the SDK's message of that
    API version, back to JSON: enums by name, int64 as text, defaults left out), so that
    the SDK's JSON (enums as numbers, no empty values) and gcloud's compare field by field."""
    from google.protobuf import json_format

    if api_version == "v1":
        from google.cloud.aiplatform_v1.types import custom_job
    else:
        from google.cloud.aiplatform_v1beta1.types import custom_job  # type: ignore[no-redef]
    message = json_format.ParseDict(body, custom_job.CustomJob.pb()())
    return json_format.MessageToDict(message)
