"""The only package that talks to the Vertex AI API: read (and list) persistent resources.

- `sdk`: importing the SDK's client (the guarded fast path, which only the CLI turns on);
- `credentials`: the access token, always the one gcloud would send for the same command;
- `client`: `Reader`, which reads through the SDK within wall-clock deadlines and turns every
  failure into one `PrecheckFailedError` (exit 4) paragraph.

Importing this package costs nothing heavy: the SDK is imported when the first read starts.
"""

from __future__ import annotations

from prgcloud.vertex.client import (
    Budget,
    Location,
    Reader,
    list_persistent_resources,
    read_persistent_resource,
)

__all__ = ["Budget", "Location", "Reader", "list_persistent_resources", "read_persistent_resource"]
