"""`prgcloud [alpha|beta] ai hp-tuning-jobs cancel JOB [--wait[=DURATION]] [gcloud's flags]`:
`custom-jobs cancel` for a hyperparameter tuning job (gcloud's cancel as it is without
`--wait`; with it, the wait until the job has ended and its trials' replicas are free, exit 0
when it ended CANCELLED; see `prgcloud.commands.cancel`)."""

from __future__ import annotations

from prgcloud import jobs
from prgcloud.commands import cancel
from prgcloud.environment import Environment


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Cancel a hyperparameter tuning job through gcloud; with `--wait`, wait for its end."""
    return cancel.run_for(argv, env, track, jobs.TUNING)
