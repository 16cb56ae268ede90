"""What a hyperparameter tuning job's trials look like: the parts that need no stored state.

A trial is a custom job built from the tuning job's `trialJobSpec`; the model runs it as any
other custom job (admission, queueing, replicas held). This module says what the trial shows
of its custom job, which parameters it was given, and which trials a test asked to fail:

- a trial whose custom job waits in the queue is REQUESTED, one whose job is PENDING or
  RUNNING is ACTIVE, one whose job is being cancelled STOPPING; a job that SUCCEEDED gives a
  SUCCEEDED trial with a final measurement;
  a job that FAILED or was CANCELLED gives an INFEASIBLE trial ("done but missing the
  final_measurement", as Vertex AI's reference words INFEASIBLE), its reason the job's error;
- parameters are picked on an even grid over each parameter's range (trial 1 at the minimum,
  the last at the maximum), so that a test can predict them; the emulator does not search.

Documents are canonical REST JSON (camelCase, int64 as strings), the model's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from prgcloud.emulator.errors import invalid

FAILED_TRIALS_LABEL = "emulator-failed-trials"

REQUESTED = "REQUESTED"
ACTIVE = "ACTIVE"
SUCCEEDED = "SUCCEEDED"
INFEASIBLE = "INFEASIBLE"
STOPPING = "STOPPING"
ENDED = (SUCCEEDED, INFEASIBLE)

# custom job state -> the state of the trial it runs
_TRIAL_STATES = {
    "JOB_STATE_QUEUED": REQUESTED,
    "JOB_STATE_PENDING": ACTIVE,
    "JOB_STATE_RUNNING": ACTIVE,
    "JOB_STATE_SUCCEEDED": SUCCEEDED,
    "JOB_STATE_FAILED": INFEASIBLE,
    "JOB_STATE_CANCELLED": INFEASIBLE,
    "JOB_STATE_CANCELLING": STOPPING,
}
_TRIAL_LIST = re.compile(r"^[0-9]{1,9}(_[0-9]{1,9})*$")


def failed_trials(labels: Mapping[str, str]) -> frozenset[int]:
    """The trial ids `emulator-failed-trials` names (`"2"`, `"2_5"`: label values cannot
    hold commas); 400 when the label is not such a list."""
    text = labels.get(FAILED_TRIALS_LABEL)
    if text is None:
        return frozenset()
    if not _TRIAL_LIST.match(text):
        raise invalid(
            f'Label "{FAILED_TRIALS_LABEL}" must be trial numbers joined by "_" (e.g. "2_5"),'
            f' not "{text}".',
            f"hyperparameter_tuning_job.labels[{FAILED_TRIALS_LABEL!r}]",
        )
    return frozenset(int(part) for part in text.split("_"))


def trial_state(job_state: str) -> str:
    """The state a trial shows while its custom job is in `job_state`."""
    return _TRIAL_STATES.get(job_state, REQUESTED)


def parameters(study_spec: Mapping[str, Any], trial: int, max_trials: int) -> list[dict[str, Any]]:
    """The parameter values trial number `trial` (from 1) of `max_trials` runs with."""
    step = (trial - 1) / (max_trials - 1) if max_trials > 1 else 0.0
    chosen: list[dict[str, Any]] = []
    for spec in study_spec.get("parameters") or []:
        value = _value(spec, trial, step)
        if value is not None:
            chosen.append({"parameterId": spec.get("parameterId", ""), "value": value})
    return chosen


def _value(spec: Mapping[str, Any], trial: int, step: float) -> Any:
    if "doubleValueSpec" in spec:
        low = float(spec["doubleValueSpec"].get("minValue", 0.0))
        high = float(spec["doubleValueSpec"].get("maxValue", low))
        return low + (high - low) * step
    if "integerValueSpec" in spec:
        low = int(spec["integerValueSpec"].get("minValue", "0"))
        high = int(spec["integerValueSpec"].get("maxValue", str(low)))
        return float(round(low + (high - low) * step))  # a google.protobuf.Value is a double
    for kind in ("categoricalValueSpec", "discreteValueSpec"):
        values: Sequence[Any] = (spec.get(kind) or {}).get("values") or []
        if values:
            return values[(trial - 1) % len(values)]
    return None


def final_measurement(study_spec: Mapping[str, Any], trial: int) -> dict[str, Any]:
    """What a trial that succeeded reports: each metric of the study, a value per trial."""
    metrics = [
        {"metricId": metric.get("metricId", ""), "value": round(1.0 / (1 + trial), 6)}
        for metric in study_spec.get("metrics") or []
    ]
    return {"stepCount": "1", "metrics": metrics}


def check_study_spec(spec: Mapping[str, Any], where: str) -> None:
    """Refuse a study the service cannot run: no metric, no parameter, a parameter without an
    id or without exactly one kind of values."""
    metrics = spec.get("metrics") or []
    if not metrics:
        raise invalid(f"{where}.metrics must name at least one metric.", f"{where}.metrics")
    for index, metric in enumerate(metrics):
        if not metric.get("metricId"):
            raise invalid(
                f"{where}.metrics[{index}].metric_id is required.",
                f"{where}.metrics[{index}].metric_id",
            )
        if metric.get("goal", "GOAL_TYPE_UNSPECIFIED") == "GOAL_TYPE_UNSPECIFIED":
            raise invalid(
                f"{where}.metrics[{index}].goal must be MAXIMIZE or MINIMIZE.",
                f"{where}.metrics[{index}].goal",
            )
    parameters_ = spec.get("parameters") or []
    if not parameters_:
        raise invalid(
            f"{where}.parameters must name at least one parameter.", f"{where}.parameters"
        )
    for index, parameter in enumerate(parameters_):
        here = f"{where}.parameters[{index}]"
        if not parameter.get("parameterId"):
            raise invalid(f"{here}.parameter_id is required.", f"{here}.parameter_id")
        kinds = [
            kind
            for kind in (
                "doubleValueSpec",
                "integerValueSpec",
                "categoricalValueSpec",
                "discreteValueSpec",
            )
            if kind in parameter
        ]
        if len(kinds) != 1:
            raise invalid(
                f"{here} must set exactly one of double_value_spec, integer_value_spec,"
                " categorical_value_spec and discrete_value_spec.",
                here,
            )
