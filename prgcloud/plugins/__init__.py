"""Plugins: an executable `prgcloud-NAME` makes `prgcloud NAME ARGS...`, as git and kubectl do.

`prgcloud NAME` runs the plugin when NAME is neither one of prgcloud's own commands nor one of
gcloud's (a command group or command of the installed gcloud, e.g. `config`): prgcloud is a
drop-in for gcloud, so a file on PATH must not change what a gcloud command does. Plugins
are looked for in the absolute directories of PATH, in order, then in prgcloud's own `bin/`
(where the ones shipped with prgcloud live, e.g. `prgcloud-idle`). A relative PATH entry
(`.`, an empty entry) is skipped: as for policy hooks, the current directory never supplies
code.

The modules of this package are the plugins prgcloud ships (`idle`); `bin/prgcloud-NAME`
runs `prgcloud.plugins.NAME` through the same launcher as `bin/prgcloud`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "prgcloud-"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


@dataclass(frozen=True)
class Plugin:
    """A `prgcloud-NAME` executable; `shadowed_by` is the path that runs instead, if any."""

    name: str
    path: str
    shadowed_by: str | None = None


def is_name(word: str) -> bool:
    """Whether `word` can name a plugin: letters, digits, `_`, `.`, `-`, not starting with
    `-` or `.` (so never a flag, a path, or `..`)."""
    return bool(word) and word[0] not in "-." and set(word) <= _NAME_CHARACTERS


def own_bin_dirs(package_dir: str = _PACKAGE_DIR) -> list[str]:
    """prgcloud's own `bin/`: the wheel's `prgcloud/bin`, and a checkout's `bin/`."""
    return [os.path.join(package_dir, "bin"), os.path.join(os.path.dirname(package_dir), "bin")]


def search_path(environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(the directories plugins are looked for in, in order; notes on skipped PATH entries)."""
    dirs: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    for entry in [*environ.get("PATH", os.defpath).split(os.pathsep), *own_bin_dirs()]:
        if not os.path.isabs(entry):
            notes.append(
                f"PATH entry {entry or '(empty)'!r} is skipped: it is relative, and plugins are "
                "never taken from the current directory"
            )
            continue
        real = os.path.realpath(entry)
        if real not in seen:
            seen.add(real)
            dirs.append(entry)
    return dirs, notes


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find(name: str, environ: Mapping[str, str]) -> str | None:
    """The path of the `prgcloud-NAME` plugin that `prgcloud NAME` runs, or None."""
    if not is_name(name):
        return None
    for directory in search_path(environ)[0]:
        path = os.path.join(directory, PREFIX + name)
        if _executable(path):
            return path
    return None


def is_gcloud_command(word: str, gcloud: str) -> bool:
    """Whether `gcloud WORD` is one of the installed gcloud's own top-level commands or groups.

    `gcloud` is the path of the gcloud executable; its SDK root's `lib/surface` holds one
    directory or module per top-level group or command (`-` in a name is `_` there). A gcloud
    that is not laid out as the Cloud SDK is (a wrapper script) has none to compare against.
    """
    surface = os.path.join(
        os.path.dirname(os.path.dirname(os.path.realpath(gcloud))), "lib", "surface"
    )
    module = word.replace("-", "_")
    return os.path.isdir(os.path.join(surface, module)) or os.path.isfile(
        os.path.join(surface, module + ".py")
    )


def find_all(environ: Mapping[str, str]) -> list[Plugin]:
    """Every plugin on the search path, by name; a name found again later is shadowed."""
    first: dict[str, str] = {}
    found: list[Plugin] = []
    for directory in search_path(environ)[0]:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue  # PATH often names directories that do not exist
        for file_name in names:
            name = file_name[len(PREFIX) :]
            if not file_name.startswith(PREFIX) or not is_name(name):
                continue
            path = os.path.join(directory, file_name)
            if not _executable(path):
                continue
            found.append(Plugin(name, path, first.get(name)))
            first.setdefault(name, path)
    return sorted(found, key=lambda plugin: plugin.name)
