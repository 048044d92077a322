"""The live suite's target (a real account, or a fresh emulator seeded for it), the guard every
request of the CLI goes through, and the record of the listed policies that is put back at the
end whatever happens: a failure, Ctrl-C (pytest runs finalizers then), SIGTERM, or an exit."""

from __future__ import annotations

import atexit
import os
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from applivery_pulumi.api.errors import AppliveryError
from applivery_pulumi.api.settings import KEYS
from harness.emulator import Emulator
from harness.project import PulumiProject
from tests.live import seed
from tests.live.guard import GuardedClient, Snapshot, report
from tests.live.proxy import GuardProxy
from tests.live.target import Refusal, Target, from_environment

_SUMMARY: list[str] = []


@dataclass
class Live:
    target: Target
    proxy: GuardProxy
    client: GuardedClient
    snapshot: Snapshot
    workdir: Path
    run_id: str

    def project(self, name: str, program: str, *, runtime: str = "python") -> PulumiProject:
        """A project on its own stack whose requests all go through the guard; the token comes
        from the environment, so no state or config file holds it."""
        return PulumiProject(
            self.workdir / name,
            None,
            program=program,
            name=name,
            runtime=runtime,
            config={
                KEYS["base_url"].config: self.proxy.base_url,
                KEYS["organization_id"].config: self.target.organization,
            },
            env={KEYS["api_token"].env: self.target.token},
        )

    def stored(self, policy_id: str) -> dict[str, Any]:
        return self.client.get(policy_id)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # pytest then runs every finalizer, the restore among them


def _restore_at_exit(snapshot: Snapshot) -> None:
    """Only when the session ended without its finalizer: that one restores first."""
    problems = snapshot.restore()
    if problems:
        report(problems)


def _emulator(workdir: Path) -> tuple[Emulator, Target]:
    token = "live-" + secrets.token_urlsafe(18)
    emu = Emulator(workdir, token=token, seed=seed.seed(), create_org=False).start()
    return emu, Target(emu.base_url, token, seed.ORGANIZATION, seed.LISTED)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    try:
        target = from_environment(os.environ)
    except Refusal as exc:
        pytest.exit(f"live suite not started: {exc}", returncode=2)
    started = time.monotonic()
    workdir = tmp_path_factory.mktemp("live")
    emulator = None
    if target is None:
        emulator, target = _emulator(workdir / "emulator")
    proxy = GuardProxy(target).start()
    client = GuardedClient(target, proxy.requests)
    try:
        snapshot = Snapshot(client)
    except AppliveryError as exc:
        _stop(proxy, client, emulator)
        pytest.exit(f"live suite not started: {exc}", returncode=2)
    atexit.register(_restore_at_exit, snapshot)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield Live(target, proxy, client, snapshot, workdir, secrets.token_hex(3))
    finally:
        signal.signal(signal.SIGTERM, previous)
        problems = snapshot.restore()
        _summarise(proxy, time.monotonic() - started, emulator is None)
        _stop(proxy, client, emulator)
        refused = proxy.requests.refused
        if problems:
            pytest.fail(report(problems))
        if refused:
            pytest.fail(f"the guard refused PUTs to policies not listed: {', '.join(refused)}")


def _stop(proxy: GuardProxy, client: GuardedClient, emulator: Emulator | None) -> None:
    proxy.stop()
    client.close()
    if emulator is not None:
        emulator.stop()


def _summarise(proxy: GuardProxy, seconds: float, real: bool) -> None:
    where = "the account of APPLIVERY_LIVE_*" if real else "a fresh emulator"
    _SUMMARY.append(f"live suite against {where}: {seconds:.0f} s, requests per policy:")
    for what, counts in sorted(proxy.requests.per_policy().items()):
        _SUMMARY.append(f"  {what}: " + ", ".join(f"{m} {n}" for m, n in sorted(counts.items())))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _SUMMARY:
        terminalreporter.write_line(line)
