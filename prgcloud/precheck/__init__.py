"""The capacity pre-check: does a custom job fit its persistent resource (RULES.md §2)?

`rules` is pure (job body, resource body) -> `Verdict`; it imports nothing heavy, so the
emulator can use it for its own admission control.
"""

from __future__ import annotations

from prgcloud.precheck.rules import Finding, PoolReport, Verdict, evaluate

__all__ = ["Finding", "PoolReport", "Verdict", "evaluate"]
