"""A fake `gcloud` executable for the process seam.

`sh` starts processes with fork/exec, so pytest-subprocess cannot see them; instead the
tests put this script first on PATH (or in PRGCLOUD_GCLOUD). It records each call's argv
(NUL-separated, one call per line) and a copy of any `--config=` file with its mode, then
prints, sleeps and exits as the FAKE_GCLOUD_* variables say.
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
for a in "$@"; do printf '%s\037' "$a"; done >> "$log"
printf '\n' >> "$log"
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
        lines = self.log.read_text().split("\n")
        return [line.split("\x1f")[:-1] for line in lines if line]

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
