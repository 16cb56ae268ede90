"""Whether a hyperparameter tuning job's trials fit a persistent resource, as one pure function.

A trial is a custom job built from the tuning job's `trialJobSpec`, with the tuning job's CMEK
key (`encryptionSpec`), and up to `parallelTrialCount` trials run at once; `maxTrialCount` says
how many run in all, one after another, so it does not matter for capacity. So
`evaluate_tuning(job, resource)`:

1. judges one trial as `rules.evaluate` judges a custom job: the state, the pool match (the
   same match key and assignment), one trial's replicas against each resource pool's ceiling
   (never fits: block) and free replicas (busy: wait), the network (`trialJobSpec.network`),
   the CMEK key, and the undocumented rules (warnings);
2. then, per resource pool P that one trial fits, with `one` = the replicas one trial's worker
   pools ask of P (summed, as assigned) and `parallel` = `parallelTrialCount`:
   - `parallel x one` > free(P): the job starts with fewer trials at once, floor(free / one);
   - `parallel x one` > ceiling(P): at most floor(ceiling / one) trials ever run at once.
   Google does not document what happens to the trials that do not fit at once (the emulator
   queues them), so both are warnings. When nothing else uses P (free = ceiling) the first
   says what the second says, and only the second is given.

Readings where the REST shape leaves a choice: `parallelTrialCount` absent or 0 is 1 (gcloud
sends 1 then, and the service needs at least 1). Where several resource pools share a match
key, the trials are counted on the pool the assignment chose for one trial; trials beyond it
might run on a twin pool, so the warnings may say fewer trials than can run (never more).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from prgcloud.precheck.rules import Finding, PoolReport, Verdict, evaluate

# findings about one trial's worker pools: said as "in one trial, ..." for a tuning job
_TRIAL_POOL_CODES = frozenset({"no-matching-pool", "exceeds-ceiling", "replicas-busy"})


def trial_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """The CustomJob body one trial of the tuning job `job` runs (REST JSON, camelCase)."""
    spec = job.get("trialJobSpec")
    body: dict[str, Any] = {"jobSpec": dict(spec) if isinstance(spec, Mapping) else {}}
    encryption = job.get("encryptionSpec")
    if isinstance(encryption, Mapping):
        body["encryptionSpec"] = dict(encryption)
    return body


def parallel_trials(job: Mapping[str, Any]) -> int:
    """How many trials run at once, as asked: `parallelTrialCount`, 1 when absent or 0."""
    value = job.get("parallelTrialCount")
    try:
        count = int(str(value).strip()) if value not in (None, "") else 0
    except ValueError:
        count = 0
    return count if count > 0 else 1


def evaluate_tuning(job: Mapping[str, Any], resource: Mapping[str, Any]) -> Verdict:
    """Apply the tuning rules (docs/fit-rules.md) to a HyperparameterTuningJob and a resource.

    Both are REST JSON (camelCase), the resource as the API returns it. The verdict's pools
    and assignment are one trial's.
    """
    one_trial = evaluate(trial_job(job), resource)
    findings = [_as_tuning_finding(finding) for finding in one_trial.findings]
    findings += _parallel_findings(one_trial, parallel_trials(job), _label(resource))
    return replace(one_trial, findings=tuple(findings))


def _as_tuning_finding(finding: Finding) -> Finding:
    """A finding about the trial job, worded for the tuning job it belongs to."""
    if finding.code in _TRIAL_POOL_CODES:
        return replace(finding, message=f"in one trial, {finding.message}")
    if finding.fix and "network: from --config" in finding.fix:
        # in a tuning job's --config the network is under trialJobSpec
        fix = finding.fix.replace("network: from --config", "trialJobSpec.network from --config")
        return replace(finding, fix=fix)
    return finding


def _label(resource: Mapping[str, Any]) -> str:
    name = str(resource.get("name") or "")
    short = name.rsplit("/", 1)[-1] if name else ""
    return f"persistent resource {short!r}" if short else "the persistent resource"


def _trials(n: int) -> str:
    return f"{n} trial" if n == 1 else f"{n} trials"


def _parallel_findings(one_trial: Verdict, parallel: int, label: str) -> Iterable[Finding]:
    """The two warnings of the tuning rules, per resource pool that one trial fits."""
    if parallel == 1:
        return
    by_resource_pool: dict[str, list[PoolReport]] = {}
    for pool in one_trial.pools:
        if pool.resource_pool is not None:
            by_resource_pool.setdefault(pool.resource_pool, []).append(pool)
    for pool_id, members in by_resource_pool.items():
        first = members[0]
        one, free, ceiling = first.load, first.free or 0, first.ceiling or 0
        if one == 0 or one > free:  # one trial does not fit now: rules.evaluate said so
            continue
        asked = parallel * one
        head = (
            f"{parallel} parallel trials ask for {asked} replicas of resource pool {pool_id!r}"
            f" of {label} ({one} per trial)"
        )
        if asked > free and free < ceiling:
            now = free // one
            yield Finding(
                severity="warn",
                code="parallel-trials-busy",
                pool=first.index,
                field="parallelTrialCount",
                asked=parallel,
                offered=now,
                message=f"{head}, which has {free} free now ({first.used} of {ceiling} in use"
                f" by other jobs): the job starts with {_trials(now)} at once, and the others"
                " wait for replicas.",
                fix=f"--parallel-trial-count={now}, or wait until the pool's replicas are free",
            )
        if asked > ceiling:
            ever = ceiling // one
            yield Finding(
                severity="warn",
                code="parallel-trials-exceed-ceiling",
                pool=first.index,
                field="parallelTrialCount",
                asked=parallel,
                offered=ever,
                message=f"{head}, which never holds more than {ceiling}: at most"
                f" {_trials(ever)} run at once.",
                fix=f"--parallel-trial-count={ever}, or raise the pool's replica count or"
                " autoscaling maximum",
            )
