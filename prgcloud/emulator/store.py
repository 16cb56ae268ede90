"""The emulator's state in SQLite: one row per persistent resource, custom job and operation.

A row holds the resource's canonical JSON document (`doc`) and the emulator's own bookkeeping
(`sys`: replicas a job holds, its simulated duration, the operation waiting on a resource...),
plus the few columns the model queries by. `due` is when the row's next timed transition
happens (a pool finishes provisioning, a job ends), so one query finds the next event.

Every change happens inside `transaction()`, which commits before the server answers: a
restart, even after `kill -9`, finds everything the emulator acknowledged. The store is not
thread-safe by itself; the model serialises all access under one lock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    parent TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '',
    due REAL,
    resource TEXT,
    doc TEXT NOT NULL,
    sys TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_by_parent ON entities (kind, parent, seq);
CREATE INDEX IF NOT EXISTS entities_by_due ON entities (due) WHERE due IS NOT NULL;
CREATE INDEX IF NOT EXISTS entities_by_resource ON entities (resource, state, seq);
"""

DB_FILE = "emulator.sqlite3"
_BATCH = 256  # rows read per query by the readers that may stop early


@dataclass
class Entity:
    """One stored thing. `kind` is `resource`, `job` or `operation`."""

    name: str
    kind: str
    parent: str
    doc: dict[str, Any]
    state: str = ""
    due: float | None = None
    resource: str | None = None
    sys: dict[str, Any] = field(default_factory=dict)
    seq: int = 0


class Store:
    """SQLite-backed entities; in memory when `data_dir` is None."""

    def __init__(self, data_dir: Path | None) -> None:
        target = ":memory:" if data_dir is None else _private_file(data_dir, DB_FILE)
        # One connection used from many server threads, always under the model's lock.
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if data_dir is not None:
            # WAL with synchronous=NORMAL survives the process being killed at any point.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All changes inside commit together, or not at all if the block raises."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def get(self, name: str) -> Entity | None:
        """The entity called `name`, if any."""
        row = self._db.execute("SELECT * FROM entities WHERE name = ?", (name,)).fetchone()
        return _entity(row) if row else None

    def insert(self, entity: Entity) -> Entity:
        """Add a new entity; its `seq` (creation order) is filled in."""
        cursor = self._db.execute(
            "INSERT INTO entities (name, kind, parent, state, due, resource, doc, sys)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entity.name,
                entity.kind,
                entity.parent,
                entity.state,
                entity.due,
                entity.resource,
                json.dumps(entity.doc),
                json.dumps(entity.sys),
            ),
        )
        entity.seq = int(cursor.lastrowid or 0)
        return entity

    def update(self, entity: Entity) -> None:
        """Write back an entity read from this store."""
        self._db.execute(
            "UPDATE entities SET state = ?, due = ?, resource = ?, doc = ?, sys = ? WHERE name = ?",
            (
                entity.state,
                entity.due,
                entity.resource,
                json.dumps(entity.doc),
                json.dumps(entity.sys),
                entity.name,
            ),
        )

    def delete(self, name: str) -> None:
        """Remove an entity."""
        self._db.execute("DELETE FROM entities WHERE name = ?", (name,))

    def children(self, kind: str, parent: str, after: int = 0) -> Iterator[Entity]:
        """The entities of `kind` under `parent` created after `seq` `after`, in creation
        order, read a batch at a time: a caller that stops early never reads the rest."""
        while True:
            rows = self._db.execute(
                "SELECT * FROM entities WHERE kind = ? AND parent = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (kind, parent, after, _BATCH),
            ).fetchall()
            yield from (_entity(row) for row in rows)
            if len(rows) < _BATCH:
                return
            after = rows[-1]["seq"]

    def child_docs(self, kind: str, parent: str, after: int = 0) -> Iterator[tuple[int, Any]]:
        """(seq, document) of each entity `children` yields, decoding nothing else: what a list
        needs, at a quarter of the cost of whole entities."""
        while True:
            rows = self._db.execute(
                "SELECT seq, doc FROM entities WHERE kind = ? AND parent = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (kind, parent, after, _BATCH),
            ).fetchall()
            yield from ((row[0], json.loads(row[1])) for row in rows)
            if len(rows) < _BATCH:
                return
            after = rows[-1][0]

    def docs_matching(self, kind: str, pattern: str) -> list[Any]:
        """The documents of `kind` whose name matches the GLOB `pattern`, in creation order."""
        rows = self._db.execute(
            "SELECT doc FROM entities WHERE kind = ? AND name GLOB ? ORDER BY seq", (kind, pattern)
        ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def in_state(self, kind: str, state: str) -> list[Entity]:
        """The entities of `kind` in `state`, in creation order."""
        rows = self._db.execute(
            "SELECT * FROM entities WHERE kind = ? AND state = ? ORDER BY seq", (kind, state)
        ).fetchall()
        return [_entity(row) for row in rows]

    def jobs_on(self, resource: str, states: Sequence[str]) -> Iterator[Entity]:
        """The jobs on a persistent resource in any of `states`, in creation order, read a
        batch at a time (a job changed meanwhile is seen as it is when its batch is read)."""
        marks = ", ".join("?" for _ in states)
        after = 0
        while True:
            rows = self._db.execute(
                f"SELECT * FROM entities WHERE kind = 'job' AND resource = ? AND seq > ?"
                f" AND state IN ({marks}) ORDER BY seq LIMIT ?",
                (resource, after, *states, _BATCH),
            ).fetchall()
            yield from (_entity(row) for row in rows)
            if len(rows) < _BATCH:
                return
            after = rows[-1]["seq"]

    def has_jobs_on(self, resource: str, state: str) -> bool:
        """Whether any job on a persistent resource is in `state`."""
        row = self._db.execute(
            "SELECT 1 FROM entities WHERE kind = 'job' AND resource = ? AND state = ? LIMIT 1",
            (resource, state),
        ).fetchone()
        return row is not None

    def next_due(self, until: float | None = None) -> Entity | None:
        """The entity whose timed transition comes first (no later than `until`, if given)."""
        if until is None:
            row = self._db.execute(
                "SELECT * FROM entities WHERE due IS NOT NULL ORDER BY due, seq LIMIT 1"
            ).fetchone()
        else:
            row = self._db.execute(
                "SELECT * FROM entities WHERE due IS NOT NULL AND due <= ?"
                " ORDER BY due, seq LIMIT 1",
                (until,),
            ).fetchone()
        return _entity(row) if row else None

    def clear(self) -> None:
        """Forget everything."""
        self._db.execute("DELETE FROM entities")


def _private_file(directory: Path, name: str) -> str:
    """`directory/name`, created readable by its owner only (the directory too, if new).

    SQLite gives its -wal and -shm files the database file's mode, so they are private too.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / name
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, 0o600)  # a file an older emulator left readable by others
    return str(path)


def _entity(row: sqlite3.Row) -> Entity:
    return Entity(
        name=row["name"],
        kind=row["kind"],
        parent=row["parent"],
        state=row["state"],
        due=row["due"],
        resource=row["resource"],
        doc=json.loads(row["doc"]),
        sys=json.loads(row["sys"]),
        seq=row["seq"],
    )
