"""The emulator as a local service others on the machine or a browser could reach (issue 13).

Its database is private to the user and must be writable from the start; it answers only
requests addressed to a loopback name or address, unless told otherwise.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from harness.emulator import EMULATOR_SRC, Emulator, start_emulator

POLICIES = "/v1/organizations/acme-corp/mdm/apple/enterprise/policies"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_and_wal_files_are_private(tmp_path: Path) -> None:
    with start_emulator(tmp_path / "emu") as emu:
        policy = emu.create_policy(name="Private")
        assert emu.put_policy(policy["id"], {"name": "Still private"}).status_code == 200
        files = [emu.db_path, Path(f"{emu.db_path}-wal"), Path(f"{emu.db_path}-shm")]
        assert all(f.exists() for f in files), "WAL mode: all three files exist while it runs"
        assert {str(f.name): mode(f) for f in files} == {str(f.name): 0o600 for f in files}


def test_an_existing_database_readable_by_others_is_made_private(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    sqlite3.connect(db).close()
    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
    for f in files:
        f.touch()
        f.chmod(0o644)
    with start_emulator(tmp_path / "emu", db=db) as emu:
        emu.create_policy(name="Written")
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` as a file this process cannot write (root ignores modes: the immutable flag)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        yield
        path.chmod(0o600)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], check=False).returncode:
        pytest.skip("running as root without a working chattr: no way to make a file read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_a_database_it_cannot_write_stops_the_start_up(tmp_path: Path) -> None:
    db = tmp_path / "emulator.db"
    with start_emulator(tmp_path / "first", db=db) as emu:  # a real database, then locked
        emu.create_policy(name="Readable")
    env = {k: v for k, v in os.environ.items() if k != "APPLIVERY_EMULATOR_TOKEN"}
    env.update({"PYTHONPATH": str(EMULATOR_SRC), "APPLIVERY_EMULATOR_TOKEN": "t"})
    with unwritable(db):
        result = subprocess.run(
            [sys.executable, "-m", "applivery_emulator", "--port", "0", "--db", str(db)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"applivery-emulator: cannot write the database {db}")
    assert "--db" in lines[0] and "Traceback" not in result.stderr
    assert "listening" not in result.stdout


# -- Host header (DNS rebinding) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with start_emulator(tmp_path_factory.mktemp("host-check")) as emu:
        yield emu


def answer(emu: Emulator, host: str | None, path: str | None = None) -> httpx.Response:
    headers = dict(emu.headers)
    if host is not None:
        headers["Host"] = host
    with httpx.Client(base_url=emu.base_url, timeout=10) as client:
        return client.get(path or emu.policies_path(), headers=headers)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.0.0.1:{port}",
        "127.8.9.10:{port}",
        "localhost",
        "LOCALHOST:{port}",
        "localhost.:{port}",
        "[::1]:{port}",
        "[::1]",
    ],
)
def test_loopback_hosts_are_answered(served: Emulator, host: str) -> None:
    r = answer(served, host.format(port=served.port))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        "attacker.example:{port}",
        "localhost.attacker.example:{port}",
        "127.0.0.1.nip.io:{port}",
        "192.168.1.20:{port}",
        "0.0.0.0:{port}",
        "[::2]:{port}",
        "::1",
        "localhost:http",
        "",
    ],
)
@pytest.mark.parametrize("path", [POLICIES, "/_emulator/health", "/_emulator/counters", "/docs"])
def test_other_hosts_are_refused_on_every_path(served: Emulator, host: str, path: str) -> None:
    r = answer(served, host.format(port=served.port), path)
    assert r.status_code == 421, r.text
    error = r.json()["error"]
    assert error["code"] == 421 and "--allowed-host" in error["message"]


def test_a_refused_request_reaches_nothing(served: Emulator) -> None:
    policy = served.create_policy(name="Untouched")
    served.reset_counters()
    with httpx.Client(base_url=served.base_url, timeout=10) as client:
        r = client.put(
            served.policy_path(policy["id"]),
            json={"name": "Rebound"},
            headers={**served.headers, "Host": "attacker.example"},
        )
    assert r.status_code == 421
    assert served.get_policy(policy["id"])["name"] == "Untouched"
    assert served.counters()["total"] == 0


@pytest.mark.parametrize(
    ("allowed", "host"),
    [("emulator.internal", "EMULATOR.internal:8787"), ("*", "anything.example")],
)
def test_allowed_hosts_are_answered(tmp_path: Path, allowed: str, host: str) -> None:
    with start_emulator(tmp_path, args=["--allowed-host", allowed]) as emu:
        assert answer(emu, host).status_code == 200
        assert answer(emu, "127.0.0.1").status_code == 200
        if allowed != "*":
            assert answer(emu, "other.example").status_code == 421
