"""Fault injection: 5xx, 429 + Retry-After, latency, dropped connections, accepted-but-not-
stored, replay by seed, scoping to the /v1 API."""

from __future__ import annotations

import time

import httpx
import pytest

from harness.emulator import Emulator, EmulatorError


def statuses(emu: Emulator, policy_id: str, n: int) -> list[int]:
    return [emu.api_get_policy(policy_id).status_code for _ in range(n)]


def test_error_rate_one_gives_5xx(emu: Emulator) -> None:
    policy = emu.create_policy()
    emu.set_faults(error_rate=1.0)
    seen = set(statuses(emu, policy["id"], 40))
    assert seen <= {500, 502, 503}
    assert len(seen) >= 2


def test_500_is_the_json_envelope_502_503_are_html(emu: Emulator) -> None:
    policy = emu.create_policy()
    emu.set_faults(error_rate=1.0, error_statuses=[500])
    r = emu.api_get_policy(policy["id"])
    assert r.status_code == 500
    assert r.json() == {"status": False, "error": {"code": 500, "message": "Internal Server Error"}}
    for status in (502, 503):
        emu.set_faults(error_statuses=[status])
        r = emu.api_get_policy(policy["id"])
        assert r.status_code == status
        assert r.headers["content-type"].startswith("text/html")
        assert str(status) in r.text


def test_error_before_the_service_does_not_store(emu: Emulator) -> None:
    policy = emu.create_policy(name="Before")
    emu.set_faults(error_rate=1.0, error_statuses=[503])
    assert emu.put_policy(policy["id"], {"name": "Lost"}).status_code == 503
    assert emu.get_policy(policy["id"])["name"] == "Before"


def test_error_after_the_service_has_stored(emu: Emulator) -> None:
    policy = emu.create_policy(name="Before")
    emu.set_faults(error_rate=1.0, error_statuses=[502], phase="after")
    assert emu.put_policy(policy["id"], {"name": "Stored anyway"}).status_code == 502
    stored = emu.get_policy(policy["id"])
    assert stored["name"] == "Stored anyway"
    assert stored["version"] == policy["version"] + 1


def test_partial_error_rate_is_roughly_right_and_replayable(emu: Emulator) -> None:
    policy = emu.create_policy()
    emu.set_faults(error_rate=0.3, fault_seed=1234)
    first = statuses(emu, policy["id"], 60)
    emu.set_faults(fault_seed=1234)
    second = statuses(emu, policy["id"], 60)
    assert first == second
    errors = sum(1 for s in first if s >= 500)
    assert 5 <= errors <= 35
    emu.set_faults(fault_seed=99)
    assert statuses(emu, policy["id"], 60) != first


def test_throttle_gives_429_with_retry_after(emu: Emulator) -> None:
    policy = emu.create_policy()
    emu.set_faults(throttle_rate=1.0, retry_after=3)
    r = emu.put_policy(policy["id"], {"name": "x"})
    assert r.status_code == 429
    assert r.headers["retry-after"] == "3"
    assert r.json()["status"] is False
    assert r.json()["error"]["code"] == 429
    emu.set_faults(retry_after=1)
    assert emu.api_get_policy(policy["id"]).headers["retry-after"] == "1"


def test_default_retry_after_is_small(emu: Emulator) -> None:
    assert emu.faults()["retryAfter"] == 1


def test_latency_is_added(emu: Emulator) -> None:
    policy = emu.create_policy()
    emu.set_faults(latency_ms=300)
    started = time.perf_counter()
    assert emu.api_get_policy(policy["id"]).status_code == 200
    assert time.perf_counter() - started >= 0.29
    started = time.perf_counter()
    emu.get_policy(policy["id"])  # admin calls are never slowed down
    assert time.perf_counter() - started < 0.25


def test_jitter_varies_the_latency(emu: Emulator) -> None:
    policy = emu.create_policy()
    emu.set_faults(latency_ms=20, jitter_ms=200, fault_seed=5)
    durations = []
    for _ in range(8):
        started = time.perf_counter()
        emu.api_get_policy(policy["id"])
        durations.append(time.perf_counter() - started)
    assert min(durations) >= 0.019
    assert max(durations) - min(durations) > 0.03
    assert max(durations) < 0.5


def test_dropped_connection_is_a_transport_error(emu: Emulator) -> None:
    policy = emu.create_policy(name="Before")
    emu.set_faults(drop_rate=1.0)
    with emu.client() as client:
        with pytest.raises(httpx.TransportError):
            client.get(emu.policy_path(policy["id"]))
        with pytest.raises(httpx.TransportError):
            client.put(emu.policy_path(policy["id"]), json={"name": "Lost"})
    assert emu.get_policy(policy["id"])["name"] == "Before"
    counters = emu.counters()
    assert counters["total"] == 2
    assert counters["statuses"] == {"dropped": 2}
    lines = [line for line in emu.log_text().splitlines() if policy["id"] in line]
    v1 = [line for line in lines if " /v1/" in line]
    assert len(v1) == 2
    assert all(" dropped " in line and "fault=drop(before)" in line for line in v1)


def test_dropped_connection_after_storing(emu: Emulator) -> None:
    policy = emu.create_policy(name="Before")
    emu.set_faults(drop_rate=1.0, phase="after")
    with emu.client() as client, pytest.raises(httpx.TransportError):
        client.put(emu.policy_path(policy["id"]), json={"name": "Stored, answer lost"})
    assert emu.get_policy(policy["id"])["name"] == "Stored, answer lost"


def test_connection_is_usable_again_after_a_drop(emu: Emulator) -> None:
    policy = emu.create_policy()
    emu.set_faults(drop_rate=1.0)
    with emu.client() as client:
        with pytest.raises(httpx.TransportError):
            client.get(emu.policy_path(policy["id"]))
        emu.clear_faults()
        assert client.get(emu.policy_path(policy["id"])).status_code == 200


def test_accepted_but_not_stored(emu: Emulator) -> None:
    policy = emu.create_policy(name="Original", segmentId=1)
    emu.set_faults(drop_field="name")
    r = emu.put_policy(policy["id"], {"name": "Accepted", "segmentId": 2})
    assert r.status_code == 200
    answer = r.json()["data"]
    assert answer["name"] == "Original"  # the response is the stored document: name not stored
    assert answer["segmentId"] == "2"
    stored = emu.get_policy(policy["id"])
    assert stored["name"] == "Original"
    assert stored["segmentId"] == "2"
    assert stored["version"] == policy["version"] + 1


def test_accepted_but_not_stored_only_field(emu: Emulator) -> None:
    policy = emu.create_policy(name="Original")
    emu.set_faults(drop_field="name")
    r = emu.put_policy(policy["id"], {"name": "Accepted"})
    assert r.status_code == 200
    assert r.json()["data"]["version"] == policy["version"]  # nothing was stored
    assert r.json()["data"]["name"] == "Original"
    stored = emu.get_policy(policy["id"])
    assert stored["name"] == "Original"
    assert stored["version"] == policy["version"]


def test_accepted_but_not_stored_rate(emu: Emulator) -> None:
    policy = emu.create_policy(name="n0")
    emu.set_faults(drop_field="name", drop_field_rate=0.0)
    emu.put_policy(policy["id"], {"name": "n1"})
    assert emu.get_policy(policy["id"])["name"] == "n1"
    emu.set_faults(drop_field_rate=0.5, fault_seed=3)
    kept = 0
    for i in range(2, 40):
        emu.put_policy(policy["id"], {"name": f"n{i}"})
        kept += emu.get_policy(policy["id"])["name"] == f"n{i}"
    assert 5 <= kept <= 33
    emu.set_faults(drop_field=None)
    emu.put_policy(policy["id"], {"name": "final"})
    assert emu.get_policy(policy["id"])["name"] == "final"


def test_methods_limit_faults(emu: Emulator) -> None:
    policy = emu.create_policy()
    emu.set_faults(error_rate=1.0, methods=["PUT"])
    assert emu.api_get_policy(policy["id"]).status_code == 200
    assert emu.put_policy(policy["id"], {"name": "x"}).status_code >= 500


def test_faults_never_touch_the_admin_api(emu: Emulator) -> None:
    emu.set_faults(error_rate=1.0, drop_rate=1.0, throttle_rate=1.0, latency_ms=500)
    started = time.perf_counter()
    policy = emu.create_policy()
    assert emu.get_policy(policy["id"])["id"] == policy["id"]
    assert emu.counters()["total"] == 0
    assert time.perf_counter() - started < 0.5


def test_faulted_requests_are_counted(emu: Emulator) -> None:
    policy = emu.create_policy()
    emu.set_faults(throttle_rate=1.0)
    for _ in range(3):
        emu.api_get_policy(policy["id"])
    counters = emu.counters()
    assert counters["total"] == 3
    assert counters["statuses"] == {"429": 3}


def test_faults_come_before_auth(emu: Emulator) -> None:
    emu.set_faults(error_rate=1.0, error_statuses=[503])
    r = httpx.get(emu.base_url + emu.policies_path())
    assert r.status_code == 503


def test_fault_settings_are_validated(emu: Emulator) -> None:
    for bad in ({"errorRate": 2}, {"unknown": 1}, {"dropField": "colour"}, {"phase": "during"}):
        with pytest.raises(EmulatorError) as info:
            emu.set_faults(**bad)
        assert info.value.response is not None
        assert info.value.response.status_code == 400


def test_fault_settings_round_trip_and_reset(emu: Emulator) -> None:
    settings = emu.set_faults(error_rate=0.25, latency_ms=5, fault_seed=42)
    assert settings["errorRate"] == 0.25
    assert settings["latencyMs"] == 5
    assert settings["seed"] == 42
    assert emu.faults() == settings
    cleared = emu.clear_faults()
    assert cleared["errorRate"] == 0 and cleared["latencyMs"] == 0
    assert cleared["seed"] == 42
