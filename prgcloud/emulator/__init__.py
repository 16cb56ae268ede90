"""A local Vertex AI emulator for persistent resources, custom jobs and hyperparameter tuning
jobs (`prgcloud emulator`).

Layers: `server` (HTTP, threads, the test controls) -> `api` (routes, JSON in and out) ->
`model` (the simulated world, under one lock) -> `store` (SQLite). `admission` decides whether a
job runs, waits or is refused on a persistent resource (a tuning job's trials are custom jobs;
`tuning` says what a trial shows), and `machines` knows the machine types,
boot disks and defaults, both from Google's documentation and never from prgcloud's pre-check
(the emulator is what the pre-check is tested against). `schema` reads and writes the REST JSON
shapes; `clock` is injectable time. Standard library only: starting it must not pay for the
Vertex AI SDK.
"""

from prgcloud.emulator.model import Settings
from prgcloud.emulator.server import Emulator

__all__ = ["Emulator", "Settings"]
