"""The tuning rules as a table: (tuning job, resource) -> findings, through `evaluate_tuning`."""

from __future__ import annotations

from typing import Any

import pytest

from prgcloud.emulator import schema as emulator_schema
from prgcloud.emulator.clock import ManualClock
from prgcloud.emulator.errors import ApiError
from prgcloud.emulator.model import Service, Settings
from prgcloud.emulator.store import Store
from prgcloud.precheck.rules import Verdict
from prgcloud.precheck.tuning import evaluate_tuning, parallel_trials, trial_job

from .test_rules import KEY, NET, SA, pool, resource, rpool

A100 = "NVIDIA_TESLA_A100"


def tuning(
    *pools: dict[str, Any],
    parallel: int | str | None = 1,
    trials: int = 10,
    kms: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A HyperparameterTuningJob body whose trials run on the persistent resource."""
    body: dict[str, Any] = {
        "displayName": "tune",
        "studySpec": {
            "metrics": [{"metricId": "m", "goal": "MAXIMIZE"}],
            "parameters": [{"parameterId": "lr", "doubleValueSpec": {"maxValue": 1}}],
        },
        "maxTrialCount": trials,
        "trialJobSpec": {"workerPoolSpecs": list(pools), "persistentResourceId": "res", **spec},
    }
    if parallel is not None:
        body["parallelTrialCount"] = parallel
    if kms:
        body["encryptionSpec"] = {"kmsKeyName": kms}
    return body


def found(verdict: Verdict) -> set[tuple[str, str, int | None, Any]]:
    return {(f.severity, f.code, f.pool, f.offered) for f in verdict.findings}


GPU = {"accelerator": A100, "count": 1}
# a trial of two replicas: one primary and one worker (more in pool 0 would warn on its own)
TWO = (pool(), pool())

CASES = [
    # parallel trials within the free replicas: nothing to say
    pytest.param(
        tuning(pool(), parallel=2), resource(rpool(replicas=4)), set(), id="parallel-trials-fit"
    ),
    pytest.param(
        tuning(pool(), parallel=1, trials=10_000),
        resource(rpool(replicas=1)),
        set(),
        id="max-trial-count-does-not-count",
    ),
    # one trial: as a custom job
    pytest.param(
        tuning(pool(), pool(replicas=2)),
        resource(rpool(replicas=2)),
        {("block", "exceeds-ceiling", 0, 2)},
        id="one-trial-above-the-ceiling-never-fits",
    ),
    pytest.param(
        tuning(*TWO, parallel=4),
        resource(rpool(replicas=3, used=2)),
        {("wait", "replicas-busy", 0, 1)},
        id="one-trial-above-the-free-replicas-is-busy",
    ),
    pytest.param(
        tuning(pool("n1-standard-8"), parallel=3),
        resource(rpool()),
        {("block", "no-matching-pool", 0, "n1-standard-4")},
        id="a-trial-pool-that-matches-no-resource-pool-blocks",
    ),
    # parallel trials
    pytest.param(
        tuning(pool(), parallel=3),
        resource(rpool(replicas=4, used=2)),
        {("warn", "parallel-trials-busy", 0, 2)},
        id="parallel-trials-above-the-free-replicas-start-fewer",
    ),
    pytest.param(
        tuning(*TWO, parallel=3),
        resource(rpool(replicas=5)),
        {("warn", "parallel-trials-exceed-ceiling", 0, 2)},
        id="parallel-trials-above-an-unused-ceiling-say-it-once",
    ),
    pytest.param(
        tuning(*TWO, parallel=4),
        resource(rpool(replicas=7, used=3)),
        {
            ("warn", "parallel-trials-busy", 0, 2),
            ("warn", "parallel-trials-exceed-ceiling", 0, 3),
        },
        id="parallel-trials-above-the-free-replicas-and-the-ceiling",
    ),
    pytest.param(
        tuning(*TWO, parallel=3),
        resource(rpool(replicas=1, max_replicas=6)),
        set(),
        id="the-autoscaling-maximum-is-the-ceiling",
    ),
    pytest.param(
        tuning(pool(), {}, pool(replicas=2), parallel=2),
        resource(rpool(replicas=5)),
        {("warn", "parallel-trials-exceed-ceiling", 0, 1)},
        id="pools-of-one-trial-sharing-a-resource-pool-are-summed",
    ),
    pytest.param(
        tuning(pool(), pool("a2-highgpu-1g", **GPU), parallel=3),
        resource(rpool(replicas=3), rpool("gpu", "a2-highgpu-1g", replicas=2, **GPU)),
        {("warn", "parallel-trials-exceed-ceiling", 1, 2)},
        id="each-resource-pool-is-judged-on-its-own",
    ),
    pytest.param(
        tuning(pool(), parallel=None),
        resource(rpool(replicas=1)),
        set(),
        id="no-parallel-trial-count-is-one",
    ),
    pytest.param(
        tuning(pool(), parallel="3"),
        resource(rpool(replicas=2)),
        {("warn", "parallel-trials-exceed-ceiling", 0, 2)},
        id="parallel-trial-count-as-an-int64-string",
    ),
    # state
    pytest.param(
        tuning(pool(), parallel=2),
        resource(rpool(replicas=2), state="PROVISIONING"),
        {("wait", "state-not-ready", None, "PROVISIONING")},
        id="a-resource-not-ready-yet-waits",
    ),
    pytest.param(
        tuning(pool(), parallel=2),
        resource(rpool(replicas=2), state="ERROR"),
        {("block", "state-failed", None, "ERROR")},
        id="a-resource-in-error-blocks",
    ),
    # network: the trial job spec's; CMEK: the tuning job's own encryptionSpec
    pytest.param(
        tuning(pool(), network=NET),
        resource(rpool(), network=NET),
        set(),
        id="same-network-fits",
    ),
    pytest.param(
        tuning(pool(), network=NET),
        resource(rpool()),
        {("block", "network-mismatch", None, "")},
        id="trial-network-not-the-resources-blocks",
    ),
    pytest.param(
        tuning(pool(), kms=KEY),
        resource(rpool(), encryptionSpec={"kmsKeyName": KEY}),
        set(),
        id="same-cmek-key-fits",
    ),
    pytest.param(
        tuning(pool()),
        resource(rpool(), encryptionSpec={"kmsKeyName": KEY}),
        {("block", "kms-mismatch", None, KEY)},
        id="no-cmek-key-on-a-cmek-resource-blocks",
    ),
    # the undocumented rules stay warnings
    pytest.param(
        tuning(pool(), serviceAccount=SA),
        resource(rpool()),
        {("warn", "service-account-not-enforced", None, "")},
        id="undocumented-rules-still-warn",
    ),
]


@pytest.mark.parametrize(("job", "res", "expected"), CASES)
def test_a_tuning_job_is_judged_by_the_rules(
    job: dict[str, Any], res: dict[str, Any], expected: set[tuple[str, str, int | None, Any]]
) -> None:
    assert found(evaluate_tuning(job, res)) == expected


def test_the_busy_warning_says_how_many_trials_start_at_once() -> None:
    verdict = evaluate_tuning(tuning(*TWO, parallel=3), resource(rpool(replicas=6, used=3)))
    (warning,) = verdict.warnings
    assert warning.message == (
        "3 parallel trials ask for 6 replicas of resource pool 'p1' of persistent resource"
        " 'res' (2 per trial), which has 3 free now (3 of 6 in use by other jobs): the job"
        " starts with 1 trial at once, and the others wait for replicas."
    )
    assert warning.fix == ("--parallel-trial-count=1, or wait until the pool's replicas are free")
    assert (warning.field, warning.asked) == ("parallelTrialCount", 3)


def test_the_ceiling_warning_names_the_trials_that_ever_run_at_once() -> None:
    verdict = evaluate_tuning(tuning(*TWO, parallel=4), resource(rpool(replicas=5)))
    (warning,) = verdict.warnings
    assert warning.message == (
        "4 parallel trials ask for 8 replicas of resource pool 'p1' of persistent resource"
        " 'res' (2 per trial), which never holds more than 5: at most 2 trials run at once."
    )
    assert warning.fix.startswith("--parallel-trial-count=2, or raise the pool's replica count")


def test_a_finding_about_one_trial_says_so() -> None:
    verdict = evaluate_tuning(tuning(pool(), pool(replicas=2)), resource(rpool(replicas=2)))
    (block,) = verdict.blocks
    assert block.message.startswith("in one trial, worker pools 0 and 1 together ask for 3")


def test_a_network_fix_names_the_trial_job_specs_network() -> None:
    verdict = evaluate_tuning(tuning(pool(), network=NET), resource(rpool()))
    (block,) = verdict.blocks
    assert block.fix == "remove --network (and trialJobSpec.network from --config)"


def test_the_verdict_shows_one_trials_pools() -> None:
    verdict = evaluate_tuning(
        tuning(pool(), pool(replicas=2), parallel=5), resource(rpool(replicas=9))
    )
    assert [(p.index, p.resource_pool, p.asked, p.load) for p in verdict.pools] == [
        (0, "p1", 1, 3),
        (1, "p1", 2, 3),
    ]
    assert verdict.assignment == {0: "p1", 1: "p1"}


def test_a_trial_is_the_trial_job_spec_with_the_tuning_jobs_cmek_key() -> None:
    job = tuning(pool(), kms=KEY, network=NET)
    assert trial_job(job) == {
        "jobSpec": job["trialJobSpec"],
        "encryptionSpec": {"kmsKeyName": KEY},
    }
    assert trial_job({}) == {"jobSpec": {}}


@pytest.mark.parametrize(
    ("value", "parallel"),
    [(None, 1), (0, 1), ("0", 1), ("", 1), (-2, 1), ("x", 1), (3, 3), ("4", 4)],
)
def test_parallel_trials_default_to_one(value: Any, parallel: int) -> None:
    assert parallel_trials({"parallelTrialCount": value}) == parallel


def _trials_at_once(service: Service, name: str) -> int:
    trials = service.get_tuning_job(name).get("trials", [])
    return sum(1 for trial in trials if trial["state"] == "ACTIVE")


@pytest.mark.parametrize(("job", "res", "expected"), CASES)
def test_the_emulator_runs_as_many_trials_at_once_as_the_verdict_says(
    job: dict[str, Any], res: dict[str, Any], expected: object
) -> None:
    # The emulator runs trials as custom jobs, admitted from Google's documentation on its
    # own: where it and the pre-check disagree, one of them reads the documentation wrong.
    verdict = evaluate_tuning(job, res)
    parent = res["name"].split("/persistentResources/")[0]
    store = Store(None)
    clock = ManualClock()
    service = Service(store, clock, Settings(provision_seconds=10_000, pending_seconds=1))
    try:
        pools = [
            {k: v for k, v in p.items() if k != "usedReplicaCount"} for p in res["resourcePools"]
        ]
        body = {k: v for k, v in res.items() if k not in ("name", "state")}
        body = emulator_schema.parse(
            "v1", "PersistentResource", {**body, "resourcePools": pools}, ""
        )
        service.add_resource(parent, "res", body, res["state"])
        name = f"{parent}/persistentResources/res"
        for given in res["resourcePools"]:
            service.set_used_replicas(name, given["id"], int(given.get("usedReplicaCount", 0)))
        # gcloud sends 1 when nobody says; the service needs it said
        sent = {**job, "parallelTrialCount": parallel_trials(job)}
        parsed = emulator_schema.parse("v1", "HyperparameterTuningJob", sent, "")
        if verdict.blocks:
            with pytest.raises(ApiError):
                service.create_tuning_job(parent, parsed)
            return
        tuning_name = service.create_tuning_job(parent, parsed)["name"]
        clock.advance(1)
        if verdict.waits:
            assert _trials_at_once(service, tuning_name) == 0
            return
        offered = {f.code: f.offered for f in verdict.warnings}
        parallel = parallel_trials(job)
        now = offered.get("parallel-trials-busy", parallel)
        ever = offered.get("parallel-trials-exceed-ceiling", parallel)
        assert _trials_at_once(service, tuning_name) == min(now, ever)
        for pool_ in service.get_resource(name)["resourcePools"]:  # the other jobs end
            ours = int(pool_["usedReplicaCount"]) - int(
                next(p for p in res["resourcePools"] if p["id"] == pool_["id"]).get(
                    "usedReplicaCount", 0
                )
            )
            service.set_used_replicas(name, pool_["id"], ours)
        assert _trials_at_once(service, tuning_name) == ever
    finally:
        store.close()
