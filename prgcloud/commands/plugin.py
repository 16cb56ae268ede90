"""`prgcloud plugin list`: the `prgcloud-NAME` plugins that `prgcloud NAME` would run.

One line per plugin found (name, path), in name order; a second `prgcloud-NAME` later on the
search path is listed too, marked as shadowed by the one that runs. A plugin named like one
of prgcloud's own commands, or like one of gcloud's, never runs, and says so.
"""

from __future__ import annotations

from prgcloud import exit_codes, plugins
from prgcloud.commands import arguments
from prgcloud.environment import Environment

USAGE = "usage: prgcloud plugin list"


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """List the plugins; exit 0 (also when there are none), 2 for anything but `list`."""
    if any(item in ("-h", "--help") for item in argv):
        env.stdout.write(f"{USAGE}\n{__doc__}")
        return exit_codes.OK
    parser = arguments.Parser("prgcloud plugin", USAGE)
    parser.add_argument("verb", choices=["list"])
    parser.parse(argv)
    from prgcloud.cli import OWN_COMMANDS

    found = plugins.find_all(env.environ)
    if not found:
        env.stderr.write(
            "No plugins found. A plugin is an executable file named prgcloud-NAME in a "
            "directory on PATH; `prgcloud NAME ARGS...` runs it.\n"
        )
        return exit_codes.OK
    width = max(len(plugin.name) for plugin in found)
    gcloud = _gcloud(env)
    for plugin in found:
        note = ""
        if plugin.name in OWN_COMMANDS:
            note = f"  (never runs: `prgcloud {plugin.name}` is prgcloud's own command)"
        elif gcloud and plugins.is_gcloud_command(plugin.name, gcloud):
            note = f"  (never runs: `prgcloud {plugin.name}` is gcloud's command)"
        elif plugin.shadowed_by:
            note = f"  (shadowed by {plugin.shadowed_by})"
        env.stdout.write(f"{plugin.name:<{width}}  {plugin.path}{note}\n")
    return exit_codes.OK


def _gcloud(env: Environment) -> str | None:
    from prgcloud import process
    from prgcloud.errors import GcloudNotFoundError

    try:
        return process.find_gcloud(env.environ)
    except GcloudNotFoundError:
        return None
