"""`create-batch`, the pure part: a batch file's lines, the plan that counts replicas together,
pacing, and what gcloud's output says about one submission.

Nothing here reads a file, talks to the API or starts a process (`prgcloud.batch_run` does),
so every decision a batch makes is a function of plain data, tested on its own.

The plan is the pre-check's own rules (`precheck.rules.evaluate`) applied in file order to a
persistent resource whose `usedReplicaCount`s already include what the earlier jobs of the
batch took: each job's worker pools land on resource pools with the same match key and the
same assignment search as a single `create`, and what they take is subtracted for the next.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shlex
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prgcloud.durations import parse_duration
from prgcloud.errors import BadInputError, Problem
from prgcloud.precheck.rules import Verdict, evaluate
from prgcloud.request import JobRequest

DEFAULT_MAX_RATE = 60  # Vertex AI's custom-job submissions per minute per region
DEFAULT_WAIT_SECONDS = 30 * 60.0
DRY_RUN_STYLES = ("shell", "rest", "python")
FORMATS = ("text", "json")
# prgcloud flags that belong to the batch, not to a line (a line that gives one is refused).
BATCH_ONLY_FLAGS = ("--dry-run", "--wait-for-capacity")


@dataclass(frozen=True)
class Line:
    """One job of the batch file: its 1-based line number and its shell words."""

    number: int
    words: tuple[str, ...]


@dataclass(frozen=True)
class BatchOptions:
    """create-batch's own flags; the lines and gcloud never see them."""

    max_rate: int = DEFAULT_MAX_RATE
    keep_going: bool = False
    manifest: str | None = None
    format: str = "text"
    dry_run: str | None = None  # None, "shell", "rest" or "python"
    wait_for_capacity: float | None = None  # seconds for the whole batch; None: no waiting


def read_lines(text: str) -> tuple[list[Line], list[tuple[int, list[Problem]]]]:
    """The jobs of a batch file: each non-blank line not starting with `#`, split as shell words.

    Returns the lines, and (line number, problems) for lines that cannot be split (an
    unclosed quote).
    """
    lines: list[Line] = []
    problems: list[tuple[int, list[Problem]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            words = shlex.split(stripped, comments=True)
        except ValueError as error:
            problems.append((number, [Problem("", f"cannot be split into shell words: {error}.")]))
            continue
        if words:
            lines.append(Line(number, tuple(words)))
    return lines, problems


_VALUE_FLAGS = ("--max-rate", "--manifest", "--format")
_SWITCHES = ("--keep-going",)


def split_arguments(
    argv: Sequence[str], value_width: Callable[[str], int]
) -> tuple[str | None, BatchOptions, list[str]]:
    """`FILE [ARGS...]` (with gcloud-wide flags possibly first) -> (FILE, options, common ARGS).

    The batch's own flags (`--max-rate`, `--keep-going`, `--manifest`, `--format`,
    `--dry-run`, `--wait-for-capacity`) are taken out; every other argument is added to each
    line. FILE is the first argument that is `-` or not a flag (`value_width(flag)` is 2 for a
    gcloud flag that takes the next item as its value). Raises BadInputError.
    """
    problems: list[Problem] = []
    values: dict[str, str] = {}
    switches: set[str] = set()
    common: list[str] = []
    source: str | None = None
    i = 0
    while i < len(argv):
        item = argv[i]
        name, has_value, value = item.partition("=")
        if name in _VALUE_FLAGS:
            if not has_value:
                if i + 1 >= len(argv):
                    problems.append(Problem(name, "expected one argument."))
                    break
                value, i = argv[i + 1], i + 1
            values[name] = value
        elif name in _SWITCHES and not has_value:
            switches.add(name)
        elif name in BATCH_ONLY_FLAGS:
            values[name] = value if has_value else ""
        elif source is None and (item == "-" or not item.startswith("-")):
            source = item
        else:
            common.append(item)
            if not has_value and value_width(item) == 2 and i + 1 < len(argv):
                common.append(argv[i + 1])
                i += 1
        i += 1
    if source is None:
        problems.append(Problem("FILE", "must be specified: the batch file, or - for stdin."))
    options = _options(values, switches, problems)
    if problems:
        raise BadInputError(problems)
    return source, options, common


def _options(
    values: Mapping[str, str], switches: set[str], problems: list[Problem]
) -> BatchOptions:
    max_rate = DEFAULT_MAX_RATE
    if "--max-rate" in values:
        try:
            max_rate = int(values["--max-rate"])
        except ValueError:
            max_rate = 0
        if max_rate < 1:
            problems.append(
                Problem(
                    "--max-rate",
                    f"expected a whole number of submissions per minute (1 or more), "
                    f"not {values['--max-rate']!r}.",
                )
            )
    fmt = values.get("--format", "text")
    if fmt not in FORMATS:
        problems.append(Problem("--format", f"must be one of [text, json], not {fmt!r}."))
    dry_run = None
    if "--dry-run" in values:
        dry_run = values["--dry-run"] or "shell"
        if dry_run not in DRY_RUN_STYLES:
            problems.append(
                Problem("--dry-run", f"must be one of [shell, rest, python], not {dry_run!r}.")
            )
    wait = None
    if "--wait-for-capacity" in values:
        raw = values["--wait-for-capacity"]
        try:
            wait = parse_duration(raw) if raw else DEFAULT_WAIT_SECONDS
        except ValueError:
            problems.append(
                Problem(
                    "--wait-for-capacity", f"expected a duration like 90s, 10m or 2h, not {raw!r}."
                )
            )
    if "--manifest" in values and not values["--manifest"]:
        problems.append(Problem("--manifest", "expected the path of the manifest file."))
    return BatchOptions(
        max_rate=max_rate,
        keep_going="--keep-going" in switches,
        manifest=values.get("--manifest") or None,
        format=fmt,
        dry_run=dry_run,
        wait_for_capacity=wait,
    )


def line_error(bad: Sequence[tuple[int, Sequence[Problem]]]) -> BadInputError:
    """One BadInputError that lists every bad line by number, each with all its problems."""
    problems = [
        Problem("", f"line {number}: {problem}") for number, found in bad for problem in found
    ]
    count = len({number for number, _ in bad})
    lines = "line" if count == 1 else "lines"
    problems.append(Problem("", f"{count} bad {lines} in the batch; nothing was sent."))
    return BadInputError(problems)


def request_digest(request: JobRequest) -> str:
    """A hash of the resolved request: where it goes and exactly what it POSTs.

    Two lines that would send the same job to the same place have the same digest, so a
    manifest can tell what was already sent whatever the line's number or spelling.
    """
    document = json.dumps(
        {"url": request.url, "body": request.body}, sort_keys=True, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(document.encode("utf-8")).hexdigest()


# --- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where one worker pool of a job lands, and the resource pool's free replicas around it.

    `free_before` / `free_after` count the replicas the earlier jobs of the batch took; when
    several worker pools of the job share a resource pool, `free_after` is after all of them.
    """

    pool: int
    resource_pool: str
    asked: int
    free_before: int
    free_after: int


@dataclass(frozen=True)
class JobPlan:
    """How one job of the batch stands: its verdict against what is left, where it lands."""

    number: int
    resource: str | None  # the persistent resource's name; None: nothing to check
    verdict: Verdict | None  # None: not checked (no persistent resource, --skip-precheck)
    placements: tuple[Placement, ...] = ()

    @property
    def fits(self) -> bool:
        """Whether the job may be submitted now."""
        return self.verdict is None or not self.verdict.stops

    @property
    def can_never_fit(self) -> bool:
        """Whether the job cannot fit however long one waits (blocks, or warns under strict)."""
        return self.verdict is not None and bool(self.verdict.blocking)


@dataclass
class Tally:
    """What one persistent resource looked like when read, and what the batch took since.

    `taken` is {resource pool id: replicas}; `as_now()` is the resource with them counted.
    """

    resource: Mapping[str, Any]
    taken: dict[str, int] = field(default_factory=dict)

    def as_now(self) -> dict[str, Any]:
        """The resource body with the batch's replicas added to each pool's usedReplicaCount."""
        body: dict[str, Any] = copy.deepcopy(dict(self.resource))
        pools = body.get("resourcePools")
        if not isinstance(pools, list):
            return body
        for index, pool in enumerate(pools):
            if not isinstance(pool, dict):
                continue
            taken = self.taken.get(str(pool.get("id") or f"#{index}"), 0)
            if taken:
                pool["usedReplicaCount"] = str(_int(pool.get("usedReplicaCount")) + taken)
        return body

    def take(self, placements: Sequence[Placement]) -> None:
        """Count a submitted job's replicas as used."""
        for placement in placements:
            self.taken[placement.resource_pool] = (
                self.taken.get(placement.resource_pool, 0) + placement.asked
            )


def _int(value: Any) -> int:
    try:
        return int(str(value or 0).strip())
    except ValueError:
        return 0


def place(number: int, request: JobRequest, tally: Tally | None) -> JobPlan:
    """Judge one job against its resource as the batch has left it (`tally`); take nothing.

    A job that names no persistent resource, or skips the pre-check, gets no verdict.
    """
    name = request.persistent_resource_name
    if name is None or request.options.skip_precheck or tally is None:
        return JobPlan(number, name, None)
    verdict = evaluate(request.service_body, tally.as_now(), strict=request.options.strict)
    loads: dict[str, int] = {}
    for pool in verdict.pools:
        if pool.resource_pool is not None:
            loads[pool.resource_pool] = loads.get(pool.resource_pool, 0) + pool.asked
    placements = tuple(
        Placement(
            pool=pool.index,
            resource_pool=pool.resource_pool,
            asked=pool.asked,
            free_before=pool.free or 0,
            free_after=(pool.free or 0) - loads[pool.resource_pool],
        )
        for pool in verdict.pools
        if pool.resource_pool is not None and not pool.placeholder
    )
    return JobPlan(number, name, verdict, placements)


def plan(
    jobs: Sequence[tuple[int, JobRequest]], resources: Mapping[str, Mapping[str, Any]]
) -> list[JobPlan]:
    """Every job's plan, in file order, each judged after the earlier jobs that fit took theirs.

    `resources` maps a persistent resource's name to its body as read once. A job that does
    not fit takes nothing, so a later, smaller job may still fit.
    """
    tallies = {name: Tally(body) for name, body in resources.items()}
    plans: list[JobPlan] = []
    for number, request in jobs:
        name = request.persistent_resource_name
        tally = tallies.get(name) if name else None
        job_plan = place(number, request, tally)
        if job_plan.fits and tally is not None:
            tally.take(job_plan.placements)
        plans.append(job_plan)
    return plans


# --- pacing -----------------------------------------------------------------------------


class Pacer:
    """At most `per_minute` submissions in any 60 s, per region (a sliding window)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._sent: dict[str, deque[float]] = {}

    def delay(self, region: str, now: float) -> float:
        """Seconds to wait before the next submission to `region` may go."""
        window = self._sent.get(region)
        if not window:
            return 0.0
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) < self.per_minute:
            return 0.0
        return window[0] + 60.0 - now

    def record(self, region: str, now: float) -> None:
        """A submission to `region` went at `now`."""
        self._sent.setdefault(region, deque()).append(now)


# How long to leave the API alone after the n-th 429 in a row (1, 2, 4, ... then 60 s).
THROTTLE_FIRST_SECONDS = 1.0
THROTTLE_CAP_SECONDS = 60.0


def throttle_pause(attempt: int) -> float:
    """The pause after the `attempt`-th throttled submission in a row (1-based)."""
    return float(min(THROTTLE_CAP_SECONDS, THROTTLE_FIRST_SECONDS * 2 ** (attempt - 1)))


# gcloud 528 exits 1 and says so for an HTTP 429: with a google.rpc.Status body it names the
# status ("RESOURCE_EXHAUSTED: Quota exceeded ..."), without one "HTTPError 429: ...".
_THROTTLED = re.compile(
    r"^ERROR: \(gcloud\.[\w.-]+\) (?:RESOURCE_EXHAUSTED: |HTTPError 429: )", re.MULTILINE
)
_CREATED = re.compile(r"CustomJob \[(projects/[^\]\s]+/customJobs/[^\]\s]+)\] is submitted")
_NAME_IN_OUTPUT = re.compile(r"""["']?name["']?\s*:\s*["']?(projects/[^"'\s,]+/customJobs/\d+)""")


def is_throttled(exit_code: int, stderr: str) -> bool:
    """Whether gcloud failed because the API answered 429 (too many requests)."""
    return exit_code == 1 and bool(_THROTTLED.search(stderr))


def created_job_name(stdout: str, stderr: str) -> str | None:
    """The name of the job gcloud created, from its status line (or its printed job)."""
    found = _CREATED.search(stderr) or _NAME_IN_OUTPUT.search(stdout)
    return found.group(1) if found else None
