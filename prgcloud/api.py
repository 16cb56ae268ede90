"""prgcloud as a library, mirroring the CLI: build a request, look at it, check it, submit it.

    import prgcloud

    request = prgcloud.build_request(
        display_name="train",
        region="us-central1",
        project="my-project",
        worker_pool_specs=[{"machine-type": "a2-highgpu-1g", "replica-count": 1,
                            "accelerator-type": "NVIDIA_TESLA_A100",
                            "container-image-uri": "us-docker.pkg.dev/p/r/trainer:1"}],
        persistent_resource_id="my-cluster",
    )
    request.body                      # exactly what gcloud will POST
    prgcloud.dry_run(request)         # the shell snippet `--dry-run` prints
    prgcloud.check(request)           # Verdict; raises DoesNotFitError / PrecheckFailedError
    prgcloud.submit(request)          # pre-check, then gcloud; returns gcloud's exit code
    prgcloud.wait_for_job("projects/p/locations/us-central1/customJobs/1")  # the job, ended
    prgcloud.api.create_batch(text)   # a sweep: one line per job (`create-batch FILE`)

Every function takes the same arguments the CLI reads, with the same meaning; errors are the
`prgcloud.errors` classes, whose `exit_code` is what the CLI would exit with. Nothing here
prints (except gcloud itself and the warnings of policy hooks, on the streams `submit` is
given) or exits.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from prgcloud import parse
from prgcloud.request import JobRequest, TuningRequest

if TYPE_CHECKING:
    from prgcloud.batch_run import BatchResult
    from prgcloud.jobs import JobProgress
    from prgcloud.precheck import Verdict
    from prgcloud.waiting import WaitProgress


def request_from_argv(
    argv: Sequence[str],
    *,
    track: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> JobRequest:
    """The request `gcloud [track] ai custom-jobs create ARGV` means (BadInputError if bad)."""
    return parse.parse_create(
        list(argv),
        dict(os.environ) if environ is None else environ,
        track=track,
        cwd=cwd or os.getcwd(),
    )


def tuning_request_from_argv(
    argv: Sequence[str],
    *,
    track: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> TuningRequest:
    """The request `gcloud [track] ai hp-tuning-jobs create ARGV` means, with prgcloud's
    `--persistent-resource-id` and `--worker-pool-spec` (BadInputError if bad).

    `dry_run`, `check`, `wait_for_capacity` and `submit` take it as they take a custom job's;
    the pre-check judges one trial and the parallel trials.
    """
    from prgcloud import tuning_parse

    return tuning_parse.parse_tuning_create(
        list(argv),
        dict(os.environ) if environ is None else environ,
        track=track,
        cwd=cwd or os.getcwd(),
    )


def build_request(
    *,
    display_name: str,
    worker_pool_specs: Iterable[Mapping[str, Any] | str] = (),
    config: str | None = None,
    region: str | None = None,
    project: str | None = None,
    persistent_resource_id: str | None = None,
    network: str | None = None,
    service_account: str | None = None,
    args: Sequence[str] = (),
    command: Sequence[str] = (),
    python_package_uris: Sequence[str] = (),
    enable_web_access: bool = False,
    enable_dashboard_access: bool = False,
    labels: Mapping[str, str] | None = None,
    kms_key: str | None = None,
    extra_args: Sequence[str] = (),
    track: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> JobRequest:
    """The request for these keyword arguments, read exactly as the matching flags would be.

    `worker_pool_specs` items are `--worker-pool-spec` values: a mapping of its keys
    (`machine-type`, `replica-count`, `disk-type`, ...; an empty mapping is a placeholder
    pool) or the flag's own string form. `extra_args` are appended as they are (e.g.
    `["--account=me@example.com", "--dry-run=rest"]`).
    """
    argv = _argv(
        display_name=display_name,
        worker_pool_specs=list(worker_pool_specs),
        optional={
            "--config": config,
            "--region": region,
            "--project": project,
            "--persistent-resource-id": persistent_resource_id,
            "--network": network,
            "--service-account": service_account,
            "--kms-key": kms_key,
        },
        lists={"--args": args, "--command": command, "--python-package-uris": python_package_uris},
        labels=labels or {},
        switches={
            "--enable-web-access": enable_web_access,
            "--enable-dashboard-access": enable_dashboard_access,
        },
    )
    return request_from_argv([*argv, *extra_args], track=track, environ=environ, cwd=cwd)


def _argv(
    *,
    display_name: str,
    worker_pool_specs: Sequence[Mapping[str, Any] | str],
    optional: Mapping[str, str | None],
    lists: Mapping[str, Sequence[str]],
    labels: Mapping[str, str],
    switches: Mapping[str, bool],
) -> list[str]:
    """gcloud arguments for `build_request`'s keyword arguments, escaped as gcloud needs."""
    argv = [f"--display-name={display_name}"]
    for spec in worker_pool_specs:
        argv.append(f"--worker-pool-spec={spec if isinstance(spec, str) else _dict_arg(spec)}")
    argv.extend(f"{flag}={value}" for flag, value in optional.items() if value is not None)
    argv.extend(
        f"{flag}={parse.join_list([str(v) for v in values])}"
        for flag, values in lists.items()
        if values
    )
    if labels:
        argv.append(f"--labels={_dict_arg(labels)}")
    argv.extend(flag for flag, on in switches.items() if on)
    return argv


def _dict_arg(values: Mapping[str, Any]) -> str:
    items = [
        f"{key}={';'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
        for key, v in values.items()
    ]
    return parse.join_list(items)


def dry_run(request: JobRequest, style: str = "shell", *, precheck_note: str | None = None) -> str:
    """The `--dry-run=STYLE` text for the request: "shell", "rest" (curl) or "python"."""
    from prgcloud import render

    return render.dry_run_text(request, precheck_note, style=style)


def check(request: JobRequest, *, environ: Mapping[str, str] | None = None) -> Verdict:
    """Pre-check the request against its persistent resource (the fit rules).

    Returns the verdict when the job fits (look at `verdict.warnings`); raises
    DoesNotFitError (exit 3) or PrecheckFailedError (exit 4) otherwise.
    """
    from prgcloud.precheck import check_request

    return check_request(request, dict(os.environ) if environ is None else environ)


def wait_for_capacity(
    request: JobRequest,
    *,
    timeout: float,
    environ: Mapping[str, str] | None = None,
    on_progress: Callable[[WaitProgress], None] | None = None,
) -> Verdict:
    """Poll the pre-check until the job fits now; return that verdict.

    Raises DoesNotFitError (exit 3) at once if it can never fit, PrecheckFailedError (exit 4)
    if the resource cannot be read and waiting cannot change that (not found, permission
    denied, bad credentials), WaitTimedOutError (exit 5) after `timeout` seconds. The API
    being unreachable, slow or failing for a while does not end the wait.
    `on_progress(progress)` hears about every poll that did not end it (`waiting.WaitProgress`:
    elapsed and remaining seconds, the last verdict, why the poll missed if it did).
    """
    from prgcloud.precheck import wait_for_fit

    environ = dict(os.environ) if environ is None else environ
    return wait_for_fit(request, environ, timeout=timeout, on_progress=on_progress)


def capacity(
    resource_id: str,
    *,
    project: str,
    region: str,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A persistent resource's state and, per pool, its ceiling, used and free replicas.

    Read at the endpoint and as the identity gcloud would use in this environment.
    """
    from prgcloud import gcloud_config, vertex
    from prgcloud.precheck import read_capacity

    environ = dict(os.environ) if environ is None else environ
    no_flags: dict[str, str] = {}
    properties = parse.gcloud_properties(environ, no_flags.get)
    location = vertex.Location(
        project,
        region,
        gcloud_config.aiplatform_endpoint(properties, region),
        parse.identity(no_flags.get, properties),
    )
    return read_capacity(location, resource_id, environ)


def submit(
    request: JobRequest,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: IO[Any] | None = None,
    stderr: IO[Any] | None = None,
) -> int:
    """Pre-check (unless the request skips it), consult the policy hooks, then run gcloud;
    return gcloud's exit code.

    gcloud's output goes to `stdout`/`stderr` (default: this process's), and so do the
    warnings of policy hooks (on `stderr`); gcloud reads this process's stdin (a terminal
    stays one, for gcloud's prompts). Raises like `check`, and PolicyRefusedError (exit 8)
    when a policy hook refuses the request.
    """
    from prgcloud import submission
    from prgcloud.policy import run as policy
    from prgcloud.precheck import precheck_request

    environ = dict(os.environ) if environ is None else environ
    stderr = stderr or sys.stderr
    verdict = precheck_request(request, environ)
    outcome = policy.gate(
        request,
        environ,
        command=(
            "ai hp-tuning-jobs create"
            if isinstance(request, TuningRequest)
            else "ai custom-jobs create"
        ),
        persistent_resource=verdict.resource_body if verdict is not None else None,
    )
    for name, line in outcome.warnings:
        stderr.write(f"WARNING: (prgcloud) policy {name}: {line}\n")
    return submission.submit(
        request, environ, stdin=sys.stdin, stdout=stdout or sys.stdout, stderr=stderr
    )


def create_batch(
    text: str,
    args: Sequence[str] = (),
    *,
    max_rate: int | None = None,
    keep_going: bool = False,
    manifest: str | None = None,
    dry_run: str | None = None,
    wait_for_capacity: float | None = None,
    track: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> BatchResult:
    """`create-batch`: every line of `text` (with `args` added) is one job; submit them all.

    As the command does: every line is validated first (BadInputError lists every bad line),
    the replicas of all jobs are counted together against each persistent resource read
    once (DoesNotFitError names the jobs that do not fit, unless `wait_for_capacity`
    seconds are given), the policy hooks see every job (PolicyRefusedError), and nothing is
    sent until all of that passed. Then the jobs go in file order, at most `max_rate` a
    minute per region, 429s waited out; a gcloud failure stops the batch unless
    `keep_going`. `dry_run` ("shell", "rest", "python") plans and sends nothing. Returns
    every job's outcome (`BatchResult.to_json()` is `--format=json`); `on_progress` hears
    the progress lines the command prints on stderr.
    """
    from prgcloud import batch, batch_run
    from prgcloud.policy import run as policy

    environ = dict(os.environ) if environ is None else environ
    options = batch.BatchOptions(
        max_rate=max_rate or batch.DEFAULT_MAX_RATE,
        keep_going=keep_going,
        manifest=manifest,
        dry_run=dry_run,
        wait_for_capacity=wait_for_capacity,
    )
    jobs = batch_run.parse_batch(text, list(args), environ, track=track, cwd=cwd or os.getcwd())

    def consult(request: JobRequest, verdict: Verdict | None) -> None:
        policy.gate(
            request,
            environ,
            command="ai custom-jobs create",
            persistent_resource=verdict.resource_body if verdict is not None else None,
        )

    return batch_run.run_batch(
        jobs, options, environ, on_progress=on_progress or (lambda line: None), consult=consult
    )


def wait_for_job(
    job: str,
    *,
    project: str | None = None,
    region: str | None = None,
    timeout: float | None = None,
    polling_interval: float | None = None,
    environ: Mapping[str, str] | None = None,
    on_progress: Callable[[JobProgress], None] | None = None,
) -> Mapping[str, Any]:
    """Wait until a custom job has ended; return it (REST JSON) as it ended.

    `job` is its id (in `project` and `region`) or its full name. Read at the endpoint and as
    the identity gcloud would use in this environment, every `polling_interval` seconds
    (default 5). How it ended is the caller's to judge: `prgcloud.jobs.outcome(job)` gives the
    state and its exit code (0 succeeded, 6 failed or expired, 7 cancelled). Raises
    PrecheckFailedError (exit 4) when the job cannot be read and waiting cannot change that,
    WaitTimedOutError (exit 5) after `timeout` seconds (the job keeps running). The API being
    unreachable, slow or failing for a while does not end the wait.
    """
    from prgcloud import gcloud_config, jobs, vertex
    from prgcloud.errors import BadInputError

    environ = dict(os.environ) if environ is None else environ
    no_flags: dict[str, str] = {}
    properties = parse.gcloud_properties(environ, no_flags.get)
    named = jobs.split_name(job)
    project, region = named[:2] if named else (project, region)
    if not project or not region:
        raise BadInputError.at("JOB", "give the job's full name, or its project and region.")
    name = jobs.job_name(job, project, region)
    location = vertex.Location(
        project,
        region,
        gcloud_config.aiplatform_endpoint(properties, region),
        parse.identity(no_flags.get, properties),
    )
    with jobs.JobReader(location, environ) as reader:
        return jobs.read_until_ended(
            reader,
            name,
            timeout=timeout,
            polling_interval=polling_interval or jobs.DEFAULT_POLLING_SECONDS,
            on_progress=on_progress or (lambda progress: None),
        )
