"""`prgcloud [alpha|beta] ai hp-tuning-jobs wait JOB`: `custom-jobs wait` for a hyperparameter
tuning job (the same flags, exit codes and progress; see `prgcloud.commands.wait`)."""

from __future__ import annotations

from prgcloud import jobs
from prgcloud.commands import wait
from prgcloud.environment import Environment


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Wait for a hyperparameter tuning job to end; exit by how it ended."""
    del track  # every release track reads the same job
    return wait.run_for(argv, env, jobs.TUNING)
