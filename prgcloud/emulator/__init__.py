"""A local Vertex AI emulator for persistent resources and custom jobs (`prgcloud emulator`).

Layers: `server` (HTTP, threads, the test controls) -> `api` (routes, JSON in and out) ->
`model` (the simulated world, under one lock) -> `store` (SQLite). `schema` reads and writes
the REST JSON shapes; `clock` is injectable time. Standard library only: starting it must not
pay for the Vertex AI SDK.
"""

from prgcloud.emulator.model import Settings
from prgcloud.emulator.server import Emulator

__all__ = ["Emulator", "Settings"]
