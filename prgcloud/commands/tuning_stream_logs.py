"""`prgcloud [alpha|beta] ai hp-tuning-jobs stream-logs JOB [gcloud's flags]`: gcloud's
stream-logs of a hyperparameter tuning job (its trials' log lines, which Cloud Logging files
under the tuning job's id), ended once the tuning job has ended and its last lines are out;
the exit code says how it ended (see `prgcloud.commands.stream_logs`)."""

from __future__ import annotations

from prgcloud import jobs
from prgcloud.commands import stream_logs
from prgcloud.environment import Environment


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Stream the tuning job's logs until it has ended; exit by how it ended."""
    return stream_logs.run_for(argv, env, track, jobs.TUNING)
