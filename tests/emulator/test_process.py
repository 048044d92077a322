"""The server as a process: persistence, seeding, CLI flags, the request log, concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from harness.emulator import EMULATOR_SRC, REPO, Emulator, start_emulator


def test_data_survives_a_restart(emulator: Emulator) -> None:
    profile = emulator.create_profile(name="Wi-Fi")
    policy = emulator.create_policy(name="Persistent", segmentId=3)
    r = emulator.put_policy(policy["id"], {"profiles": [profile["id"]], "name": "Renamed"})
    assert r.status_code == 200
    emulator.lock_policy(policy["id"])
    before = emulator.api_get_policy(policy["id"]).json()["data"]
    port = emulator.port
    emulator.restart()
    assert emulator.port == port
    after = emulator.api_get_policy(policy["id"]).json()["data"]
    assert after == before
    assert emulator.put_policy(policy["id"], {"segmentId": 4}).json()["error"]["code"] == 5227


def test_data_survives_a_crash(emulator: Emulator) -> None:
    policy = emulator.create_policy(name="Before crash")
    assert emulator.put_policy(policy["id"], {"name": "Committed"}).status_code == 200
    emulator.kill()
    emulator.start()
    assert emulator.get_policy(policy["id"])["name"] == "Committed"


def test_graceful_stop(emulator: Emulator) -> None:
    assert emulator.stop() == 0


def test_the_installed_example_seed_at_start_up_is_idempotent(tmp_path: Path) -> None:
    """`--seed-example` applies the seed shipped with the package: no file of a checkout."""
    with start_emulator(tmp_path, args=["--seed-example"], create_org=False) as emu:
        policies = emu.list_policies("acme-corp")
        assert len(policies) == 5
        profiles = emu.admin("GET", "/_emulator/organizations/acme-corp/profiles")
        assert sorted(p["type"] for p in profiles) == ["attached", "single", "single"]
        assert any(c.get("password") for p in profiles for c in p["certificates"]), (
            "one profile carries a certificate with a password"
        )
        corporate = next(p for p in policies if p["name"] == "Corporate iOS")
        assert corporate["attachedProfile"]["type"] == "attached"
        assert corporate["segmentId"] == "1"
        assert [p["name"] for p in corporate["profiles"]] == ["Passcode Policy", "Wi-Fi Corporate"]
        kiosk = next(p for p in policies if p["name"] == "Kiosk iPad")
        assert emu.put_policy(kiosk["id"], {"segmentId": 3}).json()["error"]["code"] == 5227

        r = emu.put_policy(corporate["id"], {"name": "Changed by pulumi"})
        assert r.status_code == 200
        emu.restart()  # seeds again
        policies_again = emu.list_policies("acme-corp")
        assert len(policies_again) == 5
        again = next(p for p in policies_again if p["id"] == corporate["id"])
        assert again["name"] == "Changed by pulumi"
        assert again["version"] == corporate["version"] + 1


def test_seed_file_in_json(tmp_path: Path) -> None:
    seed = {
        "organizations": [
            {
                "id": "json-org",
                "profiles": [{"id": "dddddddddddddddddddddd01", "name": "P", "type": "single"}],
                "policies": [{"id": "dddddddddddddddddddddd11", "name": "From JSON"}],
            }
        ]
    }
    with start_emulator(tmp_path, seed=seed, org="json-org", create_org=False) as emu:
        assert emu.get_policy("dddddddddddddddddddddd11")["name"] == "From JSON"


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "APPLIVERY_EMULATOR_TOKEN"}
    full_env.update({"PYTHONPATH": str(EMULATOR_SRC), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "applivery_emulator", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def test_a_token_is_required(tmp_path: Path) -> None:
    result = run_cli("--port", "0", "--db", str(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "token is required" in result.stderr


def test_a_bad_seed_file_stops_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("organizations:\n  - id: acme-corp\n    policies:\n      - segmentId: nope\n")
    result = run_cli(
        "--token", "t", "--port", "0", "--db", str(tmp_path / "x.db"), "--seed", str(bad)
    )
    assert result.returncode == 2
    assert "organizations[0].policies[0].segmentId" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_seed_file_and_the_example_seed_exclude_each_other(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("organizations: []\n")
    db = str(tmp_path / "x.db")
    result = run_cli("--token", "t", "--db", db, "--seed", str(seed), "--seed-example")
    assert result.returncode == 2
    assert "--seed-example: not allowed with argument --seed" in result.stderr


def test_help_lists_the_flags() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for flag in (
        "--host",
        "--port",
        "--token",
        "--db",
        "--seed",
        "--seed-example",
        "--log-file",
        "--error-rate",
        "--throttle-rate",
        "--retry-after",
        "--latency-ms",
        "--jitter-ms",
        "--drop-rate",
        "--drop-field",
        "--fault-seed",
    ):
        assert flag in result.stdout


def test_token_on_the_command_line(tmp_path: Path) -> None:
    emu = Emulator(tmp_path, token="cli-token-123", args=["--token", "cli-token-123"])
    with emu:
        r = httpx.get(
            emu.base_url + emu.policies_path(), headers={"Authorization": "Bearer cli-token-123"}
        )
        assert r.status_code == 200


def test_fault_flags_at_start_up(tmp_path: Path) -> None:
    args = [
        "--error-rate",
        "1",
        "--error-statuses",
        "503",
        "--retry-after",
        "4",
        "--fault-seed",
        "77",
        "--drop-field",
        "name",
        "--latency-ms",
        "1",
        "--fault-methods",
        "PUT",
    ]
    with start_emulator(tmp_path, args=args) as emu:
        faults = emu.faults()
        assert faults["errorRate"] == 1
        assert faults["errorStatuses"] == [503]
        assert faults["retryAfter"] == 4
        assert faults["seed"] == 77
        assert faults["dropField"] == "name"
        assert faults["methods"] == ["PUT"]
        policy = emu.create_policy()
        assert emu.api_get_policy(policy["id"]).status_code == 200
        assert emu.put_policy(policy["id"], {"name": "x"}).status_code == 503


def test_body_cap_flag(tmp_path: Path) -> None:
    with start_emulator(tmp_path, args=["--max-body-bytes", "100"]) as emu:
        policy = emu.create_policy()
        assert emu.put_policy(policy["id"], {"name": "short"}).status_code == 200
        assert emu.put_policy(policy["id"], {"name": "x" * 200}).status_code == 413


def test_request_log_has_lines_and_never_the_token(tmp_path: Path) -> None:
    log_file = tmp_path / "requests.log"
    with start_emulator(tmp_path / "emu", args=["--log-file", str(log_file)]) as emu:
        policy = emu.create_policy()
        emu.put_policy(policy["id"], {"name": "x", "bookmarks": [{"title": "body-marker-42"}]})
        emu.api_get_policy(policy["id"])
        emu.api_list_policies(name="query-marker")
        wrong = "wrong-token-value-987"
        httpx.get(emu.policy_url(policy["id"]), headers={"Authorization": f"Bearer {wrong}"})
        emu.set_faults(drop_rate=1.0)
        with pytest.raises(httpx.TransportError):
            httpx.get(emu.policy_url(policy["id"]), headers=emu.headers)
        emu.clear_faults()
        emu.restart()
        stderr = emu.log_text()
    logged = log_file.read_text()
    for text in (stderr, logged):
        assert emu.token not in text
        assert wrong not in text
        assert "Bearer" not in text
        assert "authorization" not in text.lower()
        assert "body-marker-42" not in text
        assert "query-marker" not in text
    path = emu.policy_path(policy["id"])
    assert f"PUT {path} 200 " in stderr
    assert f"GET {path} 200 " in stderr
    assert f"GET {path} 401 " in stderr
    assert f"GET {path} dropped " in stderr
    line = next(li for li in logged.splitlines() if f"PUT {path} 200 " in li)
    assert line.rstrip().endswith("ms")


def test_default_database_is_under_the_repo_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(EMULATOR_SRC))
    from applivery_emulator.__main__ import default_db_path, find_repo_root

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "applivery-pulumi"\n')
    nested = tmp_path / "stacks" / "deep"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_repo_root(nested.resolve()) == tmp_path.resolve()
    assert default_db_path() == tmp_path.resolve() / ".state" / "emulator.db"
    assert find_repo_root(REPO) == REPO


# --------------------------------------------------------------------------- concurrency


def test_32_concurrent_puts_lose_nothing(emulator: Emulator) -> None:
    policy = emulator.create_policy(name="start")
    v0 = policy["version"]
    names = [f"name-{i:02d}" for i in range(32)]
    barrier = threading.Barrier(32)

    def put(name: str) -> int:
        with emulator.client() as client:
            barrier.wait()
            r = client.put(emulator.policy_path(policy["id"]), json={"name": name})
            return r.status_code

    with ThreadPoolExecutor(32) as pool:
        codes = list(pool.map(put, names))
    assert codes == [200] * 32
    final = emulator.get_policy(policy["id"])
    assert final["version"] == v0 + 32  # every PUT changed the name, each bumped once
    assert final["name"] in names
    assert emulator.counters()["requests"] == {
        "PUT /v1/organizations/{organizationId}/mdm/apple/enterprise/policies/{admPolicyId}": 32
    }


def test_32_concurrent_out_of_band_merges_lose_nothing(emulator: Emulator) -> None:
    policy = emulator.create_policy(name="merge target")
    v0 = policy["version"]
    barrier = threading.Barrier(32)

    def merge(i: int) -> int:
        with emulator.client() as client:
            barrier.wait()
            r = client.patch(
                f"/_emulator/organizations/{emulator.org}/policies/{policy['id']}",
                json={"agentConfiguration": {"policyFeatures": {"ios": {f"feature{i:02d}": i}}}},
            )
            return r.status_code

    with ThreadPoolExecutor(32) as pool:
        codes = list(pool.map(merge, range(32)))
    assert codes == [200] * 32
    final = emulator.get_policy(policy["id"])
    ios = final["agentConfiguration"]["policyFeatures"]["ios"]
    assert ios == {f"feature{i:02d}": i for i in range(32)}
    assert final["version"] == v0 + 32


def test_concurrent_puts_and_merges_interleave_without_loss(emulator: Emulator) -> None:
    policy = emulator.create_policy(name="mixed")
    v0 = policy["version"]
    barrier = threading.Barrier(32)

    def work(i: int) -> int:
        with emulator.client() as client:
            barrier.wait()
            if i % 2:
                r = client.put(emulator.policy_path(policy["id"]), json={"name": f"mixed-{i}"})
            else:
                r = client.patch(
                    f"/_emulator/organizations/{emulator.org}/policies/{policy['id']}",
                    json={"agentConfiguration": {"policyFeatures": {"macos": {f"k{i}": True}}}},
                )
            return r.status_code

    with ThreadPoolExecutor(32) as pool:
        codes = list(pool.map(work, range(32)))
    assert codes == [200] * 32
    final = emulator.get_policy(policy["id"])
    assert final["version"] == v0 + 32
    assert set(final["agentConfiguration"]["policyFeatures"]["macos"]) == {
        f"k{i}" for i in range(0, 32, 2)
    }


def test_ready_file_reports_the_port(emulator: Emulator) -> None:
    info = json.loads(emulator.ready_path.read_text())
    assert info["port"] == emulator.port
    assert info["pid"] == emulator.pid
    assert info["url"] == emulator.base_url


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "applivery-emulator"
    if not script.exists():
        pytest.skip("project not installed into this interpreter's environment")
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0
    assert "--fault-seed" in result.stdout
