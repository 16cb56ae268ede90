"""Policy hooks: the user's own executables that see every request before it is sent.

A hook is any executable file in a directory of `PRGCLOUD_POLICY_DIR` (colon-separated, like
PATH) or in `$XDG_CONFIG_HOME/prgcloud/policy.d/` (default `~/.config/prgcloud/policy.d/`).
Hooks run in name order, each with one JSON document on stdin (`run.document`, described by
`schemas/policy-input.json`): exit 0 allows, anything else refuses, and a hook that has not
ended after 10 s (`PRGCLOUD_POLICY_TIMEOUT`) is killed and refuses. Hooks are never looked
for in the current directory or a repository: a relative entry in `PRGCLOUD_POLICY_DIR` is
ignored (and said so in the notes), as git keeps hooks out of what a clone brings.

This package's `__init__` only finds hooks, with `os` alone: a command whose user has no hook
directory pays a directory lookup or two and nothing else (the target is at most 1 ms;
`bench/policy.py` measures it). `prgcloud.policy.run` builds the document and runs the hooks
(through `prgcloud.process`), raising `PolicyRefusedError` (exit 8) for any refusal; it is
imported only when there are hooks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DIR_VARIABLE = "PRGCLOUD_POLICY_DIR"


class Hook:
    """One policy hook: its file name (what messages call it) and its absolute path."""

    # A plain class: a dataclass or NamedTuple costs 0.2-0.6 ms to build at import, a
    # good part of the budget of a command that has no hooks at all.
    __slots__ = ("name", "path")

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hook) and (self.name, self.path) == (other.name, other.path)

    def __hash__(self) -> int:
        return hash((self.name, self.path))

    def __repr__(self) -> str:
        return f"Hook(name={self.name!r}, path={self.path!r})"


def directories(environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(the hook directories to read, in order; notes on the entries that were ignored)."""
    found: list[str] = []
    notes: list[str] = []
    for entry in environ.get(DIR_VARIABLE, "").split(os.pathsep):
        if not entry:
            continue
        if not os.path.isabs(entry):
            notes.append(
                f"{DIR_VARIABLE} entry {entry!r} is ignored: it is relative, and hooks are never "
                "taken from the current directory"
            )
            continue
        found.append(entry)
    config = environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(config):  # the XDG spec: a relative value is to be ignored
        home = environ.get("HOME", "")
        config = os.path.join(home, ".config") if os.path.isabs(home) else ""
    if config:
        found.append(os.path.join(config, "prgcloud", "policy.d"))
    return found, notes


def find_hooks(environ: Mapping[str, str]) -> tuple[tuple[Hook, ...], tuple[str, ...]]:
    """(every executable file in the hook directories, in name order then directory order;
    notes on what was skipped, for `--verbosity=debug`).

    Hidden files (`.name`) and directories are skipped; a directory that does not exist is
    no error (that is the usual case: no policies).
    """
    dirs, notes = directories(environ)
    hooks: list[tuple[str, int, Hook]] = []
    for rank, directory in enumerate(dirs):
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        except OSError as error:
            notes.append(f"policy directory {directory} cannot be read: {error.strerror}")
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = os.path.join(os.path.abspath(directory), entry.name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                hooks.append((entry.name, rank, Hook(entry.name, path)))
            else:
                notes.append(f"{path} is not an executable file: not a policy hook")
    hooks.sort(key=lambda item: (item[0], item[1]))
    return tuple(hook for _name, _rank, hook in hooks), tuple(notes)
