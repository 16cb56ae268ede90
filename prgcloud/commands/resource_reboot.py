"""`prgcloud [alpha|beta] ai persistent-resources reboot ID`: refused while jobs run on the
resource (exit 3, unless `--force`), then gcloud's own; `--wait` (see `resource_guard`)."""

from __future__ import annotations

from prgcloud.commands.resource_guard import run_guarded
from prgcloud.environment import Environment


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Reboot the persistent resource unless jobs run on it; return the exit status."""
    return run_guarded("reboot", argv, env, track=track)
