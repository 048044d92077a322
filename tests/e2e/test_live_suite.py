"""The live suite (``tests/live``, marker ``live``) run as a user runs it against their own
organization, here a second emulator holding the listed policies and a decoy in the same
organization: it passes, leaves every listed policy as it was and never writes to the decoy.
And it refuses to start, with one sentence and no request, on a target it must not touch.

Only this file looks at the emulator from the side (its admin reads and its request log): the
live scenarios themselves use the public API alone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.emulator import REPO, Emulator, start_emulator
from tests.live import seed
from tests.live.guard import GuardedClient, NotListed
from tests.live.proxy import GuardProxy
from tests.live.target import API_TOKEN, BASE_URL, ORGANIZATION, POLICIES, Target, comparable

pytestmark = pytest.mark.e2e

ORG = "compatible-org"
LISTED = ("c0ffee0000000000000000a1", "c0ffee0000000000000000a2")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(
        tmp_path / "server", seed=seed.seed(ORG, LISTED), org=ORG, create_org=False
    ) as emu:
        yield emu


def live_argv(tmp_path: Path) -> list[str]:
    argv = [sys.executable, "-m", "pytest", "-m", "live", "tests/live", "-p", "no:cacheprovider"]
    return [*argv, "--basetemp", str(tmp_path / "live-run")]


def run_live(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        live_argv(tmp_path),
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=1200,
    )


def pointed_at(server: Emulator) -> dict[str, str]:
    return {
        BASE_URL: server.base_url,
        API_TOKEN: server.token,
        ORGANIZATION: ORG,
        POLICIES: ",".join(LISTED),
    }


def puts_to(emu: Emulator, policy_id: str) -> int:
    return len(re.findall(rf"PUT /v1/\S+/policies/{policy_id} ", emu.log_text()))


def test_the_suite_restores_what_it_lists_and_never_writes_the_decoy(
    tmp_path: Path, server: Emulator
) -> None:
    before = {pid: server.get_policy(pid) for pid in (*LISTED, seed.DECOY)}
    started = time.monotonic()
    done = run_live(tmp_path, pointed_at(server))
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "the account of APPLIVERY_LIVE_*" in done.stdout
    for pid in LISTED:
        assert comparable(server.get_policy(pid)) == comparable(before[pid])
        assert puts_to(server, pid) > 0, "the suite did write to the listed policies"
    assert server.get_policy(seed.DECOY) == before[seed.DECOY], "the decoy is untouched"
    assert puts_to(server, seed.DECOY) == 0
    summary = done.stdout[done.stdout.index("live suite against") :]
    print(f"{summary}\nwhole run {seconds:.0f} s")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_puts_the_policies_back(
    tmp_path: Path, server: Emulator, signum: signal.Signals
) -> None:
    before = {pid: server.get_policy(pid) for pid in LISTED}
    out = tmp_path / "live.out"
    with out.open("w") as sink:
        run = subprocess.Popen(
            live_argv(tmp_path),
            cwd=REPO,
            env={**os.environ, **pointed_at(server)},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 300
            while server.get_policy(LISTED[0])["name"] == before[LISTED[0]]["name"]:
                assert run.poll() is None and time.monotonic() < deadline, out.read_text()
                time.sleep(0.2)
            run.send_signal(signum)  # a scenario has written: the policy is not as it was
            run.wait(120)
        finally:
            run.kill()
            run.wait()
    assert run.returncode != 0
    for pid in LISTED:
        assert comparable(server.get_policy(pid)) == comparable(before[pid]), out.read_text()


def test_the_guard_refuses_a_put_to_a_policy_not_listed(server: Emulator) -> None:
    target = Target(server.base_url, server.token, ORG, LISTED)
    proxy = GuardProxy(target).start()
    client = GuardedClient(target, proxy.requests)
    try:
        with pytest.raises(NotListed, match=seed.DECOY):
            client.put(seed.DECOY, {"name": "written"})
        path = server.policy_path(seed.DECOY)
        answer = httpx.put(proxy.base_url + path, json={"name": "written"}, headers=server.headers)
        assert answer.status_code == 403 and proxy.requests.refused == [seed.DECOY]
    finally:
        proxy.stop()
        client.close()
    assert server.get_policy(seed.DECOY)["name"] == "Decoy: never written"
    assert puts_to(server, seed.DECOY) == 0


@pytest.mark.parametrize(
    ("policies", "base_url", "sentence"),
    [
        (" , ", None, f"{POLICIES} is empty: list the ids of the policies set aside"),
        (f"{LISTED[0]},not-an-id", None, f"{POLICIES} holds 'not-an-id', which is not a 24-"),
        (LISTED[0], "http://192.0.2.10", f"{BASE_URL} must start with https://"),
    ],
)
def test_the_suite_refuses_to_start_without_a_request(
    tmp_path: Path, server: Emulator, policies: str, base_url: str | None, sentence: str
) -> None:
    env = {BASE_URL: base_url or server.base_url, API_TOKEN: server.token}
    env |= {ORGANIZATION: ORG, POLICIES: policies}
    done = run_live(tmp_path, env)
    assert done.returncode == 2
    said = [line for line in done.stdout.splitlines() if "live suite not started" in line]
    assert len(said) == 1 and sentence in said[0], done.stdout[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    assert server.counters()["total"] == 0
