"""Fixtures for the emulator's own tests."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from emulator_helpers import World

from prgcloud.emulator.store import Store


@pytest.fixture
def world() -> Iterator[World]:
    """A fresh in-memory emulator model at a fixed time."""
    store = Store(None)
    yield World(store)
    store.close()


@pytest.fixture
def data_dir() -> Iterator[str]:
    """An empty directory for SQLite state, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="prgcloud-emulator-") as directory:
        yield directory
