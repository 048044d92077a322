"""PUT body validation: every constraint of the reference, field paths in the messages, and
junk that must never produce a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.emulator import Emulator

APP = "698f42e5457fafa13d088794"


@pytest.fixture
def policy_id(emu: Emulator) -> str:
    return str(emu.create_policy(name="Validation target")["id"])


def app(**fields: Any) -> dict[str, Any]:
    return {"admApplication": APP, **fields}


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"name": "x" * 257}, "name"),
    ({"name": 12}, "name"),
    ({"name": None}, "name"),
    ({"unknownTopLevel": 1}, "unknownTopLevel"),
    ({"profiles": "698f42e5457fafa13d088794"}, "profiles"),
    ({"profiles": [1]}, "profiles[0]"),
    ({"applications": {}}, "applications"),
    ({"applications": [{}]}, "applications[0].admApplication"),
    ({"applications": [app(admApplication="xyz")]}, "applications[0].admApplication"),
    ({"applications": [app(), app(managementFlags=3)]}, "applications[1].managementFlags"),
    ({"applications": [app(managementFlags=2.5)]}, "applications[0].managementFlags"),
    ({"applications": [app(managementFlags="5")]}, "applications[0].managementFlags"),
    ({"applications": [app(managementFlags=True)]}, "applications[0].managementFlags"),
    ({"applications": [app(managed="true")]}, "applications[0].managed"),
    ({"applications": [app(managed=1)]}, "applications[0].managed"),
    ({"applications": [app(vpp=None)]}, "applications[0].vpp"),
    ({"applications": [app(action="install")]}, "applications[0].action"),
    ({"applications": [app(actionStatus="done")]}, "applications[0].actionStatus"),
    ({"applications": [app(configuration=[])]}, "applications[0].configuration"),
    ({"applications": [app(scripts={"preInstall": 1})]}, "applications[0].scripts.preInstall"),
    ({"applications": [app(scripts={"other": "x"})]}, "applications[0].scripts.other"),
    ({"applications": [app(extra=True)]}, "applications[0].extra"),
    ({"books": [{"type": "pdf"}]}, "books[0].type"),
    ({"books": [{"id": "x" * 129}]}, "books[0].id"),
    ({"scripts": [{"type": "daily"}]}, "scripts[0].type"),
    ({"scripts": [{"loopTime": -1}]}, "scripts[0].loopTime"),
    ({"scripts": [{"loopTime": 1.5}]}, "scripts[0].loopTime"),
    ({"scripts": [{"loopTime": "60"}]}, "scripts[0].loopTime"),
    ({"scripts": [{"resetDate": "yesterday"}]}, "scripts[0].resetDate"),
    ({"scripts": [{"name": "n" * 257}]}, "scripts[0].name"),
    ({"scripts": [{"description": "d" * 501}]}, "scripts[0].description"),
    ({"scripts": [{"runner": "r" * 257}]}, "scripts[0].runner"),
    ({"scripts": [{"id": "i" * 129}]}, "scripts[0].id"),
    ({"scripts": [{"scope": "system"}]}, "scripts[0].scope"),
    ({"bookmarks": [{"title": "t" * 257}]}, "bookmarks[0].title"),
    ({"bookmarks": [{"description": "d" * 501}]}, "bookmarks[0].description"),
    ({"bookmarks": [{"url": "u" * 501}]}, "bookmarks[0].url"),
    ({"bookmarks": [{"iconUrl": "u" * 501}]}, "bookmarks[0].iconUrl"),
    ({"assets": [{"mdmAssetId": "nope"}]}, "assets[0].mdmAssetId"),
    ({"assets": [{"location": "l" * 257}]}, "assets[0].location"),
    ({"assets": [{"assetName": "a" * 257}]}, "assets[0].assetName"),
    ({"assets": [{"scope": "machine"}]}, "assets[0].scope"),
    ({"agentConfiguration": {"allowLocation": "yes"}}, "agentConfiguration.allowLocation"),
    ({"agentConfiguration": {"allowEverything": True}}, "agentConfiguration.allowEverything"),
    (
        {"agentConfiguration": {"appBlacklist": [{"action": "delete"}]}},
        "agentConfiguration.appBlacklist[0].action",
    ),
    (
        {"agentConfiguration": {"appBlacklist": [{"bundleId": "b" * 257}]}},
        "agentConfiguration.appBlacklist[0].bundleId",
    ),
    (
        {"agentConfiguration": {"policyFeatures": {"android": {}}}},
        "agentConfiguration.policyFeatures.android",
    ),
    ({"segmentId": "one"}, "segmentId"),
    ({"segmentId": -1}, "segmentId"),
    ({"segmentId": 1.5}, "segmentId"),
    ({"segmentId": True}, "segmentId"),
    ({"segmentId": None}, "segmentId"),
    ({"exposeToChildren": "true"}, "exposeToChildren"),
]


@pytest.mark.parametrize(("body", "path"), INVALID, ids=[p for _, p in INVALID])
def test_invalid_field_is_400_naming_the_field(
    emu: Emulator, policy_id: str, body: dict[str, Any], path: str
) -> None:
    before = emu.get_policy(policy_id)
    r = emu.put_policy(policy_id, body)
    assert r.status_code == 400, r.text
    payload = r.json()
    assert payload["status"] is False
    assert payload["error"]["code"] == 4000
    assert payload["error"]["message"].startswith(path + ":"), payload["error"]["message"]
    assert emu.get_policy(policy_id) == before


def test_every_failing_field_is_named(emu: Emulator, policy_id: str) -> None:
    r = emu.put_policy(
        policy_id, {"name": 1, "applications": [app(managementFlags=9)], "segmentId": "x"}
    )
    message = r.json()["error"]["message"]
    for path in ("name:", "applications[0].managementFlags:", "segmentId:"):
        assert path in message


VALID: list[dict[str, Any]] = [
    {},
    {"name": "x" * 256},
    {"segmentId": "1"},
    {"segmentId": 7},
    {"segmentId": 7.0},
    {"scripts": [{"loopTime": 3600.0, "resetDate": "2026-02-13T14:30:00Z"}]},
    {"applications": [app(managementFlags=0), app(managementFlags=4.0)]},
    {"applications": [app(actionStatus="available-install", action="available")]},
    {"books": [{"type": "store", "id": "b" * 128}]},
    {"assets": [{"scope": "all-users"}, {"scope": "user"}, {"scope": "system"}]},
    {"scripts": [{"type": "onDemand", "scope": "user"}, {"type": "once", "loopTime": 0}]},
    {"agentConfiguration": {"appBlacklist": [{"action": "remove"}], "policyFeatures": {}}},
    {"applications": [app(configuration={"any": {"thing": [1, None]}}, updatePolicy={"x": 1})]},
    {"profiles": []},
]


@pytest.mark.parametrize("body", VALID, ids=[json.dumps(b)[:40] for b in VALID])
def test_valid_bodies_are_accepted(emu: Emulator, policy_id: str, body: dict[str, Any]) -> None:
    r = emu.put_policy(policy_id, body)
    assert r.status_code == 200, r.text


JUNK: list[tuple[bytes, str | None]] = [
    (b"", "application/json"),
    (b"   ", "application/json"),
    (b"{", "application/json"),
    (b"not json at all", "application/json"),
    (b"[]", "application/json"),
    (b"[{}]", "application/json"),
    (b'"a string"', "application/json"),
    (b"42", "application/json"),
    (b"null", "application/json"),
    (b"true", "application/json"),
    (b'{"name": NaN}', "application/json"),
    (b'{"segmentId": Infinity}', "application/json"),
    (b'{"segmentId": 1e999}', "application/json"),
    (b'{"segmentId": 1' + b"0" * 5000 + b"}", "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b'{"name": "\xc3\x28"}', "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    (b'{"name": "ok"}', "text/plain"),
    (b'{"name": "ok"}', None),
    (b'{"name": "ok"}', "application/x-www-form-urlencoded"),
    (b"name=ok", "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize(("raw", "content_type"), JUNK, ids=range(len(JUNK)))
def test_junk_bodies_are_400_never_500(
    emu: Emulator, policy_id: str, raw: bytes, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = emu.http.put(emu.policy_path(policy_id), content=raw, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["status"] is False
    assert r.json()["error"]["code"] == 4000
    assert r.json()["error"]["message"].startswith("body")
    assert "Traceback" not in r.text


def test_a_bad_path_is_reported_before_a_bad_body(emu: Emulator, policy_id: str) -> None:
    # The body is parsed by the route, after FastAPI has checked the path: not by a dependency.
    r = emu.http.put(emu.policy_path(policy_id, org="bad org!"), content=b"junk", headers={})
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("organizationId: does not match pattern")


def test_huge_body_is_413(emu: Emulator, policy_id: str) -> None:
    big = json.dumps({"name": "x", "bookmarks": [{"iconBase64": "A" * (2 * 1024 * 1024)}]})
    r = emu.http.put(
        emu.policy_path(policy_id), content=big, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == 4000


def test_huge_chunked_body_without_length_is_413(emu: Emulator, policy_id: str) -> None:
    def chunks() -> Any:
        yield b'{"name": "'
        for _ in range(300):
            yield b"x" * 8192
        yield b'"}'

    r = emu.http.put(
        emu.policy_path(policy_id), content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413


def test_junk_never_leaves_a_traceback_in_the_log(emu: Emulator, policy_id: str) -> None:
    for raw, content_type in JUNK:
        emu.http.put(
            emu.policy_path(policy_id),
            content=raw,
            headers={"Content-Type": content_type or "application/json"},
        )
    assert "Traceback" not in emu.log_text()
    assert emu.counters()["statuses"].get("500") is None


def test_json_with_charset_is_accepted(emu: Emulator, policy_id: str) -> None:
    r = emu.http.put(
        emu.policy_path(policy_id),
        content=b'{"name": "charset"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200
