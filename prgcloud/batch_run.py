"""`create-batch` as an action: parse every line, read each resource once, plan, then submit.

The order is what keeps a batch from being half-sent: every line is parsed and validated
(exit 2 lists every bad line), every persistent resource is read once and the replicas of all
jobs are counted together (`batch.plan`; exit 3 names the jobs that do not fit), the policy
hooks are consulted for every job, and only then is anything submitted, in file order, each
job through `submission.submit` (its generated `--config`, its signals) like a single
`create`. Submissions are paced per region (`batch.Pacer`); gcloud's 429s are waited out.
With `--wait-for-capacity`, a job that does not fit waits (re-reading its resource) until it
does, and the jobs after it wait behind it.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from prgcloud import batch, parse
from prgcloud.batch import BatchOptions, JobPlan, Placement, Tally
from prgcloud.errors import BadInputError, DoesNotFitError, PrgcloudError, Problem
from prgcloud.request import JobRequest

if TYPE_CHECKING:
    from prgcloud import vertex
    from prgcloud.manifest import Manifest, Writer
    from prgcloud.precheck import Verdict
    from prgcloud.waiting import WaitProgress


@dataclass(frozen=True)
class BatchJob:
    """One line of the batch, parsed: its number, the request, the request's digest."""

    line: int
    request: JobRequest
    digest: str

    @property
    def display_name(self) -> str:
        """The job's display name."""
        return str(self.request.body.get("displayName") or "")


@dataclass
class JobOutcome:
    """What became of one job.

    `status`: "submitted"; "planned" (a dry run); "skipped" (the manifest says it was sent);
    "uncertain" (the manifest says it was being sent when an earlier run stopped: not sent
    again); "failed" (gcloud's `exit_code`); "not-sent" (the batch stopped before it).
    """

    line: int
    display_name: str
    digest: str
    status: str
    name: str | None = None
    exit_code: int | None = None
    throttled: int = 0
    resource: str | None = None
    placements: tuple[Placement, ...] = ()
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The job's entry in `--format=json`."""
        return {
            "line": self.line,
            "displayName": self.display_name,
            "hash": self.digest,
            "outcome": self.status,
            "name": self.name,
            "exitCode": self.exit_code,
            "throttled": self.throttled,
            "persistentResource": self.resource,
            "placements": [
                {
                    "workerPool": p.pool,
                    "resourcePool": p.resource_pool,
                    "replicas": p.asked,
                    "freeBefore": p.free_before,
                    "freeAfter": p.free_after,
                }
                for p in self.placements
            ],
            "message": self.message,
        }


@dataclass
class BatchResult:
    """Every job's outcome, in file order, and the batch's exit status.

    `error` is why the batch stopped early (a wait that ran out, a resource gone to ERROR),
    with `exit_code` its code; None when it did not.
    """

    outcomes: list[JobOutcome]
    exit_code: int = 0
    error: PrgcloudError | None = None
    plans: list[JobPlan] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The `--format=json` summary."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return {
            "exitCode": self.exit_code,
            "error": str(self.error) if self.error else None,
            "counts": counts,
            "jobs": [outcome.to_json() for outcome in self.outcomes],
        }


class BatchDoesNotFitError(DoesNotFitError):
    """Some jobs of the batch do not fit, counted together (exit 3); nothing was sent."""

    def __init__(self, message: str, plans: Sequence[JobPlan]) -> None:
        super().__init__(message)
        self.plans = list(plans)


def parse_batch(
    text: str,
    common: Sequence[str],
    environ: Mapping[str, str],
    *,
    track: str | None,
    cwd: str,
) -> list[BatchJob]:
    """Parse and validate every line (with `common` added to each); BadInputError lists all bad.

    Lines never read standard input (`--config -`): it holds the batch, or is the user's.
    """
    lines, bad = batch.read_lines(text)
    jobs: list[BatchJob] = []
    for line in lines:
        try:
            request = parse.parse_create(
                [*line.words, *common], environ, track=track, cwd=cwd, read_stdin=None
            )
        except BadInputError as error:
            bad.append((line.number, list(error.problems)))
            continue
        misplaced = [
            Problem(flag, "is create-batch's own flag: give it after FILE, not on a line.")
            for flag, given in (
                ("--dry-run", request.options.dry_run),
                ("--wait-for-capacity", request.options.wait_for_capacity),
            )
            if given is not None
        ]
        if misplaced:
            bad.append((line.number, misplaced))
            continue
        jobs.append(BatchJob(line.number, request, batch.request_digest(request)))
    if bad:
        raise batch.line_error(sorted(bad, key=lambda item: item[0]))
    if not jobs:
        raise BadInputError.at("FILE", "holds no job (every line is blank or a # comment).")
    return jobs


def _location(request: JobRequest) -> vertex.Location:
    from prgcloud import vertex

    return vertex.Location(request.project, request.region, request.endpoint, request.identity)


def _does_not_fit(plans: Sequence[JobPlan], jobs: Mapping[int, BatchJob], waiting: bool) -> str:
    from prgcloud.precheck.report import format_verdict

    bad = [p for p in plans if p.can_never_fit or (not p.fits and not waiting)]
    fit = sum(1 for p in plans if p.fits)
    lines = ", ".join(str(p.number) for p in bad)
    head = (
        f"{len(bad)} of {len(plans)} jobs do not fit, their replicas counted together with "
        f"those of the jobs before them in the file (line{'s' if len(bad) > 1 else ''} "
        f"{lines}); nothing was sent."
    )
    parts = [head]
    for p in bad:
        assert p.verdict is not None
        parts.append(f"line {p.number} ({jobs[p.number].display_name!r}):")
        parts.extend("  " + row for row in format_verdict(p.verdict).splitlines())
    if not waiting and not any(p.can_never_fit for p in bad):
        parts.append(
            f"{fit} jobs fit now. Submit fewer, or give --wait-for-capacity to send them in "
            "file order as replicas free."
        )
    return "\n".join(parts)


@dataclass
class _Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def run_batch(
    jobs: Sequence[BatchJob],
    options: BatchOptions,
    environ: Mapping[str, str],
    *,
    on_progress: Callable[[str], None] = lambda line: None,
    on_wait: Callable[[WaitProgress], None] | None = None,
    consult: Callable[[JobRequest, Verdict | None], None] | None = None,
    gcloud_stdout: IO[Any] | None = None,
    gcloud_stderr: IO[Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchResult:
    """Plan the batch, then (unless `options.dry_run`) submit it; return every job's outcome.

    Raises before anything is sent: BatchDoesNotFitError (exit 3) when jobs do not fit now
    (or never can), PrecheckFailedError (exit 4) when a resource cannot be read, what
    `consult` (the policy hooks) raises, BadInputError for a bad manifest. Once submitting,
    a problem stops the batch and is returned in the result (`exit_code`, `error`), with
    what was sent. `on_progress` hears a line per event; gcloud's output of a failed job
    goes to `gcloud_stderr`, that of a submitted job to `gcloud_stdout` (None: dropped).
    """
    from prgcloud import manifest as manifests

    ticks = _Clock(clock, sleep)
    by_line = {job.line: job for job in jobs}
    earlier = manifests.load(options.manifest) if options.manifest else None
    todo, outcomes = _skip_sent(jobs, earlier, options, on_progress)
    with contextlib.ExitStack() as stack:
        readers = _read_resources(todo, environ, stack)
        resources = {name: body for name, (_reader, _rid, body) in readers.items()}
        plans = batch.plan([(job.line, job.request) for job in todo], resources)
        waiting = options.wait_for_capacity is not None
        if any(p.can_never_fit or (not p.fits and not waiting) for p in plans):
            raise BatchDoesNotFitError(_does_not_fit(plans, by_line, waiting), plans)
        if consult is not None:
            for job, job_plan in zip(todo, plans, strict=True):
                consult(job.request, job_plan.verdict)
        plan_of = {p.number: p for p in plans}
        if options.dry_run:
            for job in todo:
                p = plan_of[job.line]
                outcomes[job.line] = _outcome(job, "planned", p)
            return _result(jobs, outcomes, 0, None, plans)
        sender = _Sender(options, environ, ticks, on_progress, gcloud_stdout, gcloud_stderr)
        if options.manifest:
            sender.writer = manifests.Writer(options.manifest)
            stack.callback(sender.writer.close)
        tallies = {name: Tally(body) for name, body in resources.items()}
        deadline = ticks.now() + (options.wait_for_capacity or 0.0)
        exit_code, error = _send_all(
            todo, sender, outcomes, tallies, readers, deadline, ticks, on_wait, on_progress
        )
        for job in todo:
            if job.line not in outcomes:
                outcomes[job.line] = _outcome(job, "not-sent", plan_of.get(job.line))
        return _result(jobs, outcomes, exit_code, error, plans)


def _skip_sent(
    jobs: Sequence[BatchJob],
    earlier: Manifest | None,
    options: BatchOptions,
    on_progress: Callable[[str], None],
) -> tuple[list[BatchJob], dict[int, JobOutcome]]:
    """The jobs still to send, and the outcomes of those an earlier run's manifest claims."""
    outcomes: dict[int, JobOutcome] = {}
    todo: list[BatchJob] = []
    for job in jobs:
        claim = earlier.claim(job.digest) if earlier else None
        if claim is None:
            todo.append(job)
            continue
        status, name = claim
        outcomes[job.line] = _outcome(job, "skipped" if status == "sent" else "uncertain")
        outcomes[job.line].name = name or None
        if status == "uncertain":
            outcomes[job.line].message = (
                "an earlier run stopped while sending it: it may exist, so it is not sent "
                "again (see `gcloud ai custom-jobs list`; drop its lines from the manifest to "
                "send it)"
            )
        on_progress(f"line {job.line}: {outcomes[job.line].status} ({options.manifest})")
    return todo, outcomes


def _send_all(
    todo: Sequence[BatchJob],
    sender: _Sender,
    outcomes: dict[int, JobOutcome],
    tallies: dict[str, Tally],
    readers: Mapping[str, tuple[vertex.Reader, str, dict[str, Any]]],
    deadline: float,
    ticks: _Clock,
    on_wait: Callable[[WaitProgress], None] | None,
    on_progress: Callable[[str], None],
) -> tuple[int, PrgcloudError | None]:
    """Send the jobs in order, each once it has room; fill `outcomes`; the batch's status."""
    exit_code = 0
    for index, job in enumerate(todo, start=1):
        try:
            job_plan = _room_for(job, tallies, readers, deadline, ticks, on_wait, on_progress)
            outcome = sender.send(job, job_plan, f"{index}/{len(todo)}")
        except PrgcloudError as stop:  # a wait that ran out, no gcloud: the batch stops
            return stop.exit_code, stop
        outcomes[job.line] = outcome
        if outcome.status == "submitted":
            tally = tallies.get(job_plan.resource or "")
            if tally is not None and job_plan.verdict is not None:
                tally.take(job_plan.placements)
        elif not exit_code:
            exit_code = outcome.exit_code or 1
        if exit_code and not sender.options.keep_going:
            break
    return exit_code, None


def _outcome(job: BatchJob, status: str, job_plan: JobPlan | None = None) -> JobOutcome:
    return JobOutcome(
        line=job.line,
        display_name=job.display_name,
        digest=job.digest,
        status=status,
        resource=job.request.persistent_resource_name,
        placements=job_plan.placements if job_plan else (),
    )


def _result(
    jobs: Sequence[BatchJob],
    outcomes: Mapping[int, JobOutcome],
    exit_code: int,
    error: PrgcloudError | None,
    plans: list[JobPlan],
) -> BatchResult:
    return BatchResult([outcomes[job.line] for job in jobs], exit_code, error, plans)


def _read_resources(
    jobs: Sequence[BatchJob], environ: Mapping[str, str], stack: contextlib.ExitStack
) -> dict[str, tuple[vertex.Reader, str, dict[str, Any]]]:
    """Each persistent resource the jobs name, read once: name -> (reader, id, body)."""
    readers: dict[str, tuple[vertex.Reader, str, dict[str, Any]]] = {}
    for job in jobs:
        name = job.request.persistent_resource_name
        resource_id = job.request.persistent_resource_id
        if name is None or resource_id is None or job.request.options.skip_precheck:
            continue
        if name in readers:
            continue
        from prgcloud import vertex  # the SDK path, only when a job names a resource

        reader = stack.enter_context(vertex.Reader(_location(job.request), environ))
        readers[name] = (reader, resource_id, reader.get(resource_id))
    return readers


def _room_for(
    job: BatchJob,
    tallies: dict[str, Tally],
    readers: Mapping[str, tuple[vertex.Reader, str, dict[str, Any]]],
    deadline: float,
    ticks: _Clock,
    on_wait: Callable[[WaitProgress], None] | None,
    on_progress: Callable[[str], None],
) -> JobPlan:
    """The job's plan once it fits: at once from the tally, else after waiting for capacity.

    A wait polls the resource afresh (the service's own count, which includes what the batch
    sent and what has ended since); the tally starts again from the read the job fits.
    """
    name = job.request.persistent_resource_name
    tally = tallies.get(name) if name else None
    job_plan = batch.place(job.line, job.request, tally)
    if job_plan.fits or name is None:
        return job_plan
    from prgcloud import waiting

    reader, resource_id, _body = readers[name]
    on_progress(f"line {job.line}: waiting for capacity on {name.rsplit('/', 1)[-1]}")
    fresh: list[Tally] = []

    def poll(seconds_left: float) -> Verdict:
        until = waiting.poll_deadline(seconds_left)
        fresh[:] = [Tally(reader.get(resource_id, retry=False, until=until))]
        polled = batch.place(job.line, job.request, fresh[0])
        assert polled.verdict is not None
        return polled.verdict

    waiting.wait_until_fits(
        poll,
        timeout=max(0.0, deadline - ticks.now()),
        on_progress=on_wait or (lambda progress: None),
        clock=ticks.now,
        sleep=ticks.sleep,
    )
    tallies[name] = fresh[0]
    return batch.place(job.line, job.request, fresh[0])


class _Sender:
    """Submits one job at a time: pacing, the manifest, gcloud, 429s waited out."""

    def __init__(
        self,
        options: BatchOptions,
        environ: Mapping[str, str],
        ticks: _Clock,
        on_progress: Callable[[str], None],
        gcloud_stdout: IO[Any] | None,
        gcloud_stderr: IO[Any] | None,
    ) -> None:
        self.options = options
        self.environ = environ
        self.ticks = ticks
        self.on_progress = on_progress
        self.gcloud_stdout = gcloud_stdout
        self.gcloud_stderr = gcloud_stderr
        self.pacer = batch.Pacer(options.max_rate)
        self.writer: Writer | None = None

    def _record(self, job: BatchJob, event: str, **more: Any) -> None:
        if self.writer is not None:
            self.writer.append({"event": event, "line": job.line, "hash": job.digest, **more})

    def send(self, job: BatchJob, job_plan: JobPlan, counter: str) -> JobOutcome:
        """Submit the job; return its outcome ("submitted" or "failed")."""
        from prgcloud import submission

        outcome = _outcome(job, "failed", job_plan)
        region = job.request.region
        while True:
            pause = self.pacer.delay(region, self.ticks.now())
            if pause > 0:
                self.on_progress(
                    f"line {job.line}: pacing: {self.options.max_rate} submissions a minute "
                    f"in {region}; next in {pause:.0f}s"
                )
                self.ticks.sleep(pause)
            self._record(job, "sending")
            out, err = io.StringIO(), io.StringIO()
            code = submission.submit(job.request, self.environ, stdin=None, stdout=out, stderr=err)
            self.pacer.record(region, self.ticks.now())
            if code == 0:
                outcome.status, outcome.exit_code = "submitted", 0
                outcome.name = batch.created_job_name(out.getvalue(), err.getvalue())
                self._record(job, "sent", name=outcome.name)
                if self.gcloud_stdout is not None:
                    self.gcloud_stdout.write(out.getvalue())
                self.on_progress(
                    f"line {job.line} ({counter}): submitted {outcome.name or job.display_name}"
                )
                return outcome
            self._record(job, "failed", exitCode=code)
            if batch.is_throttled(code, err.getvalue()):
                outcome.throttled += 1
                pause = batch.throttle_pause(outcome.throttled)
                self.on_progress(
                    f"line {job.line}: Vertex AI is throttling job submissions (HTTP 429); "
                    f"retrying in {pause:.0f}s"
                )
                self.ticks.sleep(pause)
                continue
            outcome.exit_code = code
            outcome.message = _last_error_line(err.getvalue())
            if self.gcloud_stderr is not None:
                self.gcloud_stderr.write(err.getvalue())
            self.on_progress(f"line {job.line} ({counter}): gcloud failed (exit {code})")
            return outcome


def _last_error_line(text: str) -> str | None:
    errors = [line for line in text.splitlines() if line.startswith("ERROR:")]
    return errors[-1] if errors else None
