"""A fake `gcloud` executable for the process seam.

`sh` starts processes with fork/exec, so pytest-subprocess cannot see them; instead the
tests put this script first on PATH (or in PRGCLOUD_GCLOUD). It reads its `--flags-file`s
first, as gcloud does (a pipe blocks it until closed), records each call's argv (one call
per line, with each flags file's flags in its place) and a copy of any `--config=` file with
its mode, then prints, sleeps and exits as the FAKE_GCLOUD_* variables say.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

SCRIPT = r"""#!/bin/sh
log="$FAKE_GCLOUD_LOG"
# Traps first: a test signals as soon as the call is logged.
pid=
trap 'echo interrupted >> "$log.signals"; [ -n "$pid" ] && kill $pid; exit 130' INT
trap 'echo terminated >> "$log.signals"; [ -n "$pid" ] && kill $pid; exit 143' TERM
# Like gcloud, read a --flags-file before anything else: prgcloud's is a pipe (/dev/fd/N)
# that blocks it until closed; its content is logged in its place, after \036 (lines joined
# by \035). A shell builtin reads it: a killed fake leaves no reader behind. (A user's own
# flags file is logged as it was given.)
line=
for a in "$@"; do
  case "$a" in
    --flags-file=/dev/fd/*)
      f="${a#--flags-file=}"; c=
      while IFS= read -r l || [ -n "$l" ]; do c="$c$l$(printf '\035')"; done < "$f"
      if [ -z "$c" ]; then
        printf 'ERROR: (gcloud) --flags-file [%s] is empty.\n' "$f" >&2; exit 1
      fi
      line="$line$(printf '\036%s\037' "$c")" ;;
    *) line="$line$(printf '%s\037' "$a")" ;;
  esac
done
printf '%s\n' "$line" >> "$log"
for a in "$@"; do
  case "$a" in
    --config=*) f="${a#--config=}"; cp "$f" "$log.config"; stat -c '%a' "$f" > "$log.mode" ;;
  esac
done
[ -n "$FAKE_GCLOUD_STDOUT" ] && printf '%s\n' "$FAKE_GCLOUD_STDOUT"
[ -n "$FAKE_GCLOUD_STDERR" ] && printf '%s\n' "$FAKE_GCLOUD_STDERR" >&2
if [ -n "$FAKE_GCLOUD_WAIT_FOR" ]; then
  while [ ! -e "$FAKE_GCLOUD_WAIT_FOR" ]; do sleep 0.05; done
  echo "after wait"
fi
if [ -n "$FAKE_GCLOUD_SLEEP" ]; then sleep "$FAKE_GCLOUD_SLEEP" & pid=$!; wait $pid; fi
exit "${FAKE_GCLOUD_EXIT:-0}"
"""


@dataclass
class FakeGcloud:
    """A fake gcloud installed in `bin_dir`; `calls` reads back what it was run with."""

    bin_dir: Path
    log: Path

    @classmethod
    def install(cls, directory: Path) -> FakeGcloud:
        bin_dir = directory / "fake-bin"
        bin_dir.mkdir()
        path = bin_dir / "gcloud"
        path.write_text(SCRIPT)
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return cls(bin_dir, directory / "fake-gcloud.log")

    @property
    def path(self) -> str:
        return str(self.bin_dir / "gcloud")

    def environ(self, base: dict[str, str] | None = None, **fake: str) -> dict[str, str]:
        """An environment whose PATH finds this gcloud first; `fake` sets FAKE_GCLOUD_*."""
        env = dict(base if base is not None else os.environ)
        env.pop("PRGCLOUD_GCLOUD", None)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["FAKE_GCLOUD_LOG"] = str(self.log)
        env.update({f"FAKE_GCLOUD_{k.upper()}": v for k, v in fake.items()})
        return env

    @property
    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        calls = []
        for line in self.log.read_text().split("\n"):
            if line:
                calls.append([a for item in line.split("\x1f")[:-1] for a in _expanded(item)])
        return calls

    @property
    def config_copy(self) -> str | None:
        path = Path(f"{self.log}.config")
        return path.read_text() if path.exists() else None

    @property
    def config_mode(self) -> str | None:
        path = Path(f"{self.log}.mode")
        return path.read_text().strip() if path.exists() else None

    @property
    def signals(self) -> list[str]:
        path = Path(f"{self.log}.signals")
        return path.read_text().split() if path.exists() else []


def _expanded(item: str) -> list[str]:
    """A logged argv item; a flags file's content (after \\036) becomes its flags, as gcloud
    makes them (`--flag=value`)."""
    if not item.startswith("\x1e"):
        return [item]
    import yaml

    flags = yaml.safe_load(item[1:].replace("\x1d", "\n"))
    return [f"{name}={value}" for name, value in flags.items()]
