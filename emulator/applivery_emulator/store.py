"""SQLite storage: organizations, their profile catalogue and their policies.

One connection guarded by a re-entrant lock (the emulator runs in one process, handlers in a
thread pool) and every operation inside ``BEGIN IMMEDIATE`` so that a read-modify-write of a
policy document cannot lose an update, even if two emulator processes share one file.

Policies are stored as the *stored document* (what the service keeps: profile ids, derived
fields, filled defaults) plus the dashboard-only metadata (``targetType``, ``attachedProfile``)
and the lock flags that make PUTs fail with 5227.  What a response shows on top of that is
computed at read time by normalize.py.

The database file, and the WAL and shared-memory files SQLite gives the same mode, are private
to the user (0600): they hold every organization's policies.  A database that cannot be written
is a :class:`StoreError` when the store opens, not a failure of every later write.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS organizations (
    slug TEXT PRIMARY KEY,
    oid TEXT NOT NULL UNIQUE,
    name TEXT,
    adm_enterprise TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS profiles (
    id TEXT PRIMARY KEY,
    org_oid TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS policies (
    id TEXT PRIMARY KEY,
    org_oid TEXT NOT NULL,
    seq INTEGER NOT NULL,
    doc TEXT NOT NULL,
    meta TEXT NOT NULL,
    locks TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS policies_by_org ON policies (org_oid, seq);
CREATE INDEX IF NOT EXISTS profiles_by_org ON profiles (org_oid);
"""


def derived_object_id(*parts: str) -> str:
    """A stable 24-hex id derived from text (organization ids, seed entries without ids)."""
    return hashlib.sha1(":".join(parts).encode(), usedforsecurity=False).hexdigest()[:24]


@dataclass(frozen=True)
class Organization:
    slug: str
    oid: str
    name: str | None
    adm_enterprise: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.slug,
            "organization": self.oid,
            "admEnterprise": self.adm_enterprise,
            "name": self.name,
            "createdAt": self.created_at,
        }


@dataclass
class PolicyRow:
    id: str
    org_oid: str
    seq: int
    doc: dict[str, Any]
    version: int
    created_at: str
    updated_at: str
    meta: dict[str, Any] = field(default_factory=dict)
    locks: dict[str, Any] = field(default_factory=dict)


def _policy(row: sqlite3.Row) -> PolicyRow:
    return PolicyRow(
        id=row["id"],
        org_oid=row["org_oid"],
        seq=row["seq"],
        doc=json.loads(row["doc"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        meta=json.loads(row["meta"]),
        locks=json.loads(row["locks"]),
    )


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


class Tx:
    """The operations available inside one transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    # organizations -----------------------------------------------------------------------
    def org(self, ref: str) -> Organization | None:
        key = ref.lower() if len(ref) == 24 else ref
        row = self._c.execute(
            "SELECT * FROM organizations WHERE slug = ? OR oid = ? ORDER BY slug = ? DESC LIMIT 1",
            (ref, key, ref),
        ).fetchone()
        return _org(row) if row else None

    def orgs(self) -> list[Organization]:
        rows = self._c.execute("SELECT * FROM organizations ORDER BY created_at, slug").fetchall()
        return [_org(r) for r in rows]

    def ensure_org(self, slug: str, name: str | None, now: str) -> tuple[Organization, bool]:
        existing = self.org(slug)
        if existing is not None:
            return existing, False
        is_hex = len(slug) == 24 and all(c in "0123456789abcdefABCDEF" for c in slug)
        oid = slug.lower() if is_hex else derived_object_id("organization", slug)
        enterprise = derived_object_id("admEnterprise", oid)
        self._c.execute(
            "INSERT INTO organizations (slug, oid, name, adm_enterprise, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (slug, oid, name, enterprise, now),
        )
        return Organization(slug, oid, name, enterprise, now), True

    # profiles ----------------------------------------------------------------------------
    def profiles(self, org_oid: str) -> dict[str, dict[str, Any]]:
        rows = self._c.execute(
            "SELECT id, doc FROM profiles WHERE org_oid = ? ORDER BY rowid", (org_oid,)
        ).fetchall()
        return {r["id"]: json.loads(r["doc"]) for r in rows}

    def profile_org(self, profile_id: str) -> str | None:
        row = self._c.execute("SELECT org_oid FROM profiles WHERE id = ?", (profile_id,)).fetchone()
        return row["org_oid"] if row else None

    def insert_profile(self, org_oid: str, profile_id: str, doc: dict[str, Any]) -> None:
        self._c.execute(
            "INSERT INTO profiles (id, org_oid, doc) VALUES (?, ?, ?)",
            (profile_id, org_oid, _dump(doc)),
        )

    def delete_profile(self, org_oid: str, profile_id: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM profiles WHERE id = ? AND org_oid = ?", (profile_id, org_oid)
        )
        return cur.rowcount > 0

    # policies ----------------------------------------------------------------------------
    def policy(self, org_oid: str, policy_id: str) -> PolicyRow | None:
        row = self._c.execute(
            "SELECT * FROM policies WHERE id = ? AND org_oid = ?", (policy_id, org_oid)
        ).fetchone()
        return _policy(row) if row else None

    def policy_exists(self, policy_id: str) -> bool:
        row = self._c.execute("SELECT 1 FROM policies WHERE id = ?", (policy_id,)).fetchone()
        return row is not None

    def policies(self, org_oid: str) -> list[PolicyRow]:
        rows = self._c.execute(
            "SELECT * FROM policies WHERE org_oid = ? ORDER BY seq", (org_oid,)
        ).fetchall()
        return [_policy(r) for r in rows]

    def insert_policy(self, row: PolicyRow) -> PolicyRow:
        seq = self._c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM policies").fetchone()[0]
        row.seq = int(seq)
        self._c.execute(
            "INSERT INTO policies (id, org_oid, seq, doc, meta, locks, version, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.id,
                row.org_oid,
                row.seq,
                _dump(row.doc),
                _dump(row.meta),
                _dump(row.locks),
                row.version,
                row.created_at,
                row.updated_at,
            ),
        )
        return row

    def save_policy(self, row: PolicyRow) -> None:
        self._c.execute(
            "UPDATE policies SET doc = ?, meta = ?, locks = ?, version = ?, updated_at = ? "
            "WHERE id = ? AND org_oid = ?",
            (
                _dump(row.doc),
                _dump(row.meta),
                _dump(row.locks),
                row.version,
                row.updated_at,
                row.id,
                row.org_oid,
            ),
        )

    def delete_policy(self, org_oid: str, policy_id: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM policies WHERE id = ? AND org_oid = ?", (policy_id, org_oid)
        )
        return cur.rowcount > 0

    def reset(self) -> None:
        for table in ("policies", "profiles", "organizations"):
            self._c.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names


def _org(row: sqlite3.Row) -> Organization:
    return Organization(
        slug=row["slug"],
        oid=row["oid"],
        name=row["name"],
        adm_enterprise=row["adm_enterprise"],
        created_at=row["created_at"],
    )


class StoreError(Exception):
    """The database cannot be opened or written; ``str()`` is one sentence for the user."""


def _make_private(path: str) -> None:
    """Create the database file 0600 if it is new; take group and others off existing files."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, f"{path}-wal", f"{path}-shm"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except OSError:
            pass  # absent, or not ours to change: the write check below still decides


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                _make_private(self.path)
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._conn.row_factory = sqlite3.Row
            with self._lock:
                self._conn.execute("PRAGMA busy_timeout = 30000")
                if self.path != ":memory:":
                    self._conn.execute("PRAGMA journal_mode = WAL")
                    self._conn.execute("PRAGMA synchronous = NORMAL")
                self._conn.executescript(SCHEMA)
                # SQLite opens a file it may not write read-only, without a word: only a write
                # tells.  One that changes nothing, rolled back.
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.execute("DELETE FROM policies WHERE 0")
                finally:
                    self._conn.execute("ROLLBACK")
        except (OSError, sqlite3.Error) as exc:
            if hasattr(self, "_conn"):
                self._conn.close()
            raise StoreError(
                f"cannot write the database {self.path} ({exc}): give this user write access to "
                "the file and its folder, or choose another file with --db"
            ) from None

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back if the block raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
