"""The capacity pre-check: does a custom job fit its persistent resource (docs/fit-rules.md)?

`rules` is pure (job body, resource body) -> `Verdict` and imports nothing heavy, so the
emulator can use it for its own admission control; `report` formats verdicts; `check` reads
the resource through `prgcloud.vertex` (which imports the SDK only when it reads).
"""

from __future__ import annotations

from prgcloud.precheck.check import (
    JobDoesNotFitError,
    check_request,
    evaluate_request,
    precheck_request,
    read_capacity,
    wait_for_fit,
)
from prgcloud.precheck.rules import Finding, PoolReport, Verdict, capacity_of, evaluate

__all__ = [
    "Finding",
    "JobDoesNotFitError",
    "PoolReport",
    "Verdict",
    "capacity_of",
    "check_request",
    "evaluate",
    "evaluate_request",
    "precheck_request",
    "read_capacity",
    "wait_for_fit",
]
