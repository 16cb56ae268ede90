"""`create-batch --manifest=FILE`: what a batch sent, one JSON line per event, kept on disk.

Before gcloud runs for a job, a `sending` line; once gcloud says the job exists, a `sent`
line with its name (`failed` when gcloud said it does not: a 429 or another refusal). Each
line is flushed and fsynced before the batch goes on, so a batch killed at any moment (even
SIGKILL) leaves a manifest that says everything it had sent. A rerun skips every request
whose digest the manifest holds as `sent`, and also any left `sending`: gcloud may have
created that job just before the kill, and avoiding a second copy is what the manifest is
for (the rerun says so; check with `gcloud ai custom-jobs list`). Requests are matched by
the digest of what they POST and where (`batch.request_digest`), so the same request on two
lines is sent twice and counted twice.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from prgcloud import files
from prgcloud.errors import BadInputError

MANIFEST_LIMIT = 64 * 1024 * 1024


@dataclass
class Manifest:
    """What an earlier run of the batch recorded: digests sent, and digests left sending."""

    path: str
    sent: Counter[str] = field(default_factory=Counter)
    names: dict[str, list[str]] = field(default_factory=dict)
    sending: Counter[str] = field(default_factory=Counter)

    def claim(self, digest: str) -> tuple[str, str | None] | None:
        """Take one earlier record of `digest`: ("sent", name) or ("uncertain", None); or None."""
        if self.sent[digest] > 0:
            self.sent[digest] -= 1
            names = self.names.get(digest) or []
            return "sent", names.pop(0) if names else None
        if self.sending[digest] > 0:
            self.sending[digest] -= 1
            return "uncertain", None
        return None


def load(path: str) -> Manifest:
    """Read the manifest at `path` (an absent file is an empty manifest); BadInputError if bad."""
    manifest = Manifest(path)
    try:
        text = files.read_text(path, limit=MANIFEST_LIMIT)
    except FileNotFoundError:
        return manifest
    except OSError as error:
        raise BadInputError.at(
            "--manifest", f"cannot read [{path}]: {error.strerror or error}."
        ) from None
    pending: Counter[str] = Counter()
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines):  # a last line cut short by a kill: it never completed
                continue
            raise BadInputError.at(
                "--manifest", f"[{path}] line {number} is not a JSON object; is it a manifest?"
            ) from None
        if not isinstance(record, dict) or not isinstance(record.get("hash"), str):
            raise BadInputError.at(
                "--manifest", f"[{path}] line {number} has no request hash; is it a manifest?"
            )
        digest = record["hash"]
        event = record.get("event")
        if event == "sending":
            pending[digest] += 1
            continue
        pending[digest] = max(0, pending[digest] - 1)
        if event == "sent":
            manifest.sent[digest] += 1
            name = record.get("name")
            manifest.names.setdefault(digest, []).append(str(name) if name else "")
    manifest.sending = +pending
    return manifest


class Writer:
    """Appends records to the manifest, each one on disk before `append` returns."""

    def __init__(self, path: str) -> None:
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise BadInputError.at(
                "--manifest", f"cannot write [{path}]: {error.strerror or error}."
            ) from None

    def append(self, record: dict[str, Any]) -> None:
        """Write one JSON line and fsync it."""
        data = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
        os.write(self._fd, data)
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)
