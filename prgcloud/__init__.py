"""prgcloud: `gcloud ai custom-jobs create`, checked against its persistent resource first.

The library API lives in `prgcloud.api` and is re-exported here lazily, so `import prgcloud`
stays cheap (the CLI's fast paths import only what they use).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = (
    "build_request",
    "request_from_argv",
    "tuning_request_from_argv",
    "dry_run",
    "check",
    "capacity",
    "submit",
    "wait_for_capacity",
    "wait_for_job",
)
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from prgcloud import api

        return getattr(api, name)
    if name in ("JobRequest", "TuningRequest", "Options", "Identity"):
        from prgcloud import request

        return getattr(request, name)
    raise AttributeError(f"module 'prgcloud' has no attribute {name!r}")
