"""What the service adds to or changes in what a client sends (the perpetual-diff makers)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harness.emulator import Emulator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
APP_A = "698f42e5457fafa13d088794"
APP_B = "698f42e5457fafa13d0887b0"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def put_ok(emu: Emulator, policy_id: str, body: dict[str, Any]) -> dict[str, Any]:
    r = emu.put_policy(policy_id, body)
    assert r.status_code == 200, r.text
    payload = r.json()
    assert payload["status"] is True
    return dict(payload["data"])


def api_get(emu: Emulator, policy_id: str) -> dict[str, Any]:
    r = emu.api_get_policy(policy_id)
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


@pytest.fixture
def catalogue(emu: Emulator) -> dict[str, dict[str, Any]]:
    """Three profiles whose name order differs from their id order, one with a password."""
    return {
        "zulu": emu.create_profile(
            id="aaaaaaaaaaaaaaaaaaaaaa01",
            name="Zulu VPN",
            certificates=[
                {
                    "mdmAssetId": "698f41b2457fafa13d088793",
                    "format": {"uuid": "uuid", "base64": "base64"},
                    "location": "/Library/vpn.p12",
                    "password": "p12-secret-password",
                    "allowAllAppsAccess": True,
                    "keyIsExtractable": False,
                }
            ],
        ),
        "alpha": emu.create_profile(id="aaaaaaaaaaaaaaaaaaaaaa02", name="Alpha Wi-Fi"),
        "mike": emu.create_profile(id="aaaaaaaaaaaaaaaaaaaaaa03", name="Mike Passcode"),
    }


def test_reference_request_example_round_trips(emu: Emulator) -> None:
    body = json.loads((FIXTURES / "spec_request_example.json").read_text())
    for pid, name in zip(body.get("profiles", []), ("Profile A", "Profile B"), strict=False):
        emu.create_profile(id=pid, name=name)
    policy = emu.create_policy()
    data = put_ok(emu, policy["id"], body)
    assert data["name"] == body["name"]
    assert data["segmentId"] == "1"
    assert data["version"] == policy["version"] + 1


def test_profiles_come_back_as_objects_sorted_by_name(
    emu: Emulator, catalogue: dict[str, dict[str, Any]]
) -> None:
    policy = emu.create_policy()
    sent = [catalogue["mike"]["id"], catalogue["zulu"]["id"], catalogue["alpha"]["id"]]
    data = put_ok(emu, policy["id"], {"profiles": sent})
    for document in (data, api_get(emu, policy["id"])):
        profiles = document["profiles"]
        assert [p["name"] for p in profiles] == ["Alpha Wi-Fi", "Mike Passcode", "Zulu VPN"]
        assert [p["id"] for p in profiles] != sent  # not the request order
        assert {p["id"] for p in profiles} == set(sent)
        first = profiles[0]
        for key in (
            "id",
            "organization",
            "admEnterprise",
            "targetType",
            "name",
            "config",
            "certificates",
            "type",
            "UUID",
            "version",
            "updatedAt",
            "createdAt",
            "assignedTo",
        ):
            assert key in first, key
        assert first["type"] == "single"
        assert first["organization"] == document["organization"]
        assert document["id"] in [p["id"] for p in first["assignedTo"]["policies"]]
        zulu = profiles[2]
        assert zulu["certificates"][0]["password"] == "p12-secret-password"


def test_profile_ids_are_a_set(emu: Emulator, catalogue: dict[str, dict[str, Any]]) -> None:
    policy = emu.create_policy()
    a, b = catalogue["alpha"]["id"], catalogue["mike"]["id"]
    first = put_ok(emu, policy["id"], {"profiles": [a, b]})
    again = put_ok(emu, policy["id"], {"profiles": [b, a, b.upper()]})
    assert again["version"] == first["version"]  # same set: no change
    assert [p["id"] for p in again["profiles"]] == [a, b]


def test_assigned_to_changes_when_another_policy_changes(
    emu: Emulator, catalogue: dict[str, dict[str, Any]]
) -> None:
    mine = emu.create_policy(name="Mine")
    other = emu.create_policy(name="Other")
    alpha = catalogue["alpha"]["id"]
    put_ok(emu, mine["id"], {"profiles": [alpha]})
    before = api_get(emu, mine["id"])
    put_ok(emu, other["id"], {"profiles": [alpha]})
    after = api_get(emu, mine["id"])
    assert after["version"] == before["version"]
    names = [p["name"] for p in after["profiles"][0]["assignedTo"]["policies"]]
    assert sorted(names) == ["Mine", "Other"]


def test_segment_id_comes_back_as_a_string(emu: Emulator) -> None:
    policy = emu.create_policy()
    for sent in (3, "3", 3.0):
        data = put_ok(emu, policy["id"], {"segmentId": sent})
        assert data["segmentId"] == "3"
        assert api_get(emu, policy["id"])["segmentId"] == "3"
    listed = emu.api_list_policies().json()["data"]["items"][0]
    assert listed["segmentId"] == "3"


def test_management_flags_defaults_to_5_echoed_by_put_omitted_by_get(emu: Emulator) -> None:
    policy = emu.create_policy()
    apps = [
        {"admApplication": APP_A, "managed": True, "action": "forceInstall"},
        {"admApplication": APP_B, "managed": False, "action": "forceInstall"},
    ]
    data = put_ok(emu, policy["id"], {"applications": apps})
    assert data["applications"][0]["managementFlags"] == 5
    assert "managementFlags" not in data["applications"][1]
    for document in (
        api_get(emu, policy["id"]),
        emu.api_list_policies().json()["data"]["items"][0],
    ):
        for item in document["applications"]:
            assert "managementFlags" not in item


def test_explicit_management_flags_are_echoed_not_returned_by_get(emu: Emulator) -> None:
    policy = emu.create_policy()
    apps = [{"admApplication": APP_A, "managed": True, "managementFlags": 4.0}]
    data = put_ok(emu, policy["id"], {"applications": apps})
    assert data["applications"][0]["managementFlags"] == 4
    assert isinstance(data["applications"][0]["managementFlags"], int)
    assert "managementFlags" not in api_get(emu, policy["id"])["applications"][0]
    # changing only the flags is a change even though GET does not show it
    data2 = put_ok(emu, policy["id"], {"applications": [{**apps[0], "managementFlags": 1}]})
    assert data2["version"] == data["version"] + 1


@pytest.mark.parametrize(
    ("action", "sent_status", "expected"),
    [
        ("available", None, "available-install"),
        ("available", "available", "available-install"),
        ("forceInstall", "available-install", "forceInstall"),
        ("requiredForSetup", "forceInstall", "requiredForSetup"),
    ],
)
def test_action_status_is_derived_from_action(
    emu: Emulator, action: str, sent_status: str | None, expected: str
) -> None:
    policy = emu.create_policy()
    app: dict[str, Any] = {"admApplication": APP_A, "action": action}
    if sent_status:
        app["actionStatus"] = sent_status
    data = put_ok(emu, policy["id"], {"applications": [app]})
    assert data["applications"][0]["action"] == action
    assert data["applications"][0]["actionStatus"] == expected
    assert api_get(emu, policy["id"])["applications"][0]["actionStatus"] == expected


def test_application_defaults_are_filled(emu: Emulator) -> None:
    policy = emu.create_policy()
    data = put_ok(emu, policy["id"], {"applications": [{"admApplication": APP_A.upper()}]})
    app = data["applications"][0]
    assert app == {
        "admApplication": APP_A,
        "managed": False,
        "vpp": False,
        "iOSApp": False,
        "configuration": {},
        "scripts": {},
        "updatePolicy": {},
    }


def test_agent_configuration_defaults_are_filled(emu: Emulator) -> None:
    policy = emu.create_policy()
    data = put_ok(emu, policy["id"], {"agentConfiguration": {"allowPackageTime": True}})
    agent = data["agentConfiguration"]
    assert agent["allowPackageTime"] is True
    assert agent["allowPackageTimeIos"] is True  # "When omitted, allowPackageTime applies."
    assert agent["allowLocation"] is False
    assert agent["allowNetworkStatusIos"] is False
    assert agent["appBlacklist"] == []
    assert agent["policyFeatures"] == {}
    assert len([k for k in agent if k.startswith("allow")]) == 14
    data = put_ok(
        emu,
        policy["id"],
        {"agentConfiguration": {"allowPackageTime": True, "allowPackageTimeIos": False}},
    )
    assert data["agentConfiguration"]["allowPackageTimeIos"] is False
    assert api_get(emu, policy["id"])["agentConfiguration"] == data["agentConfiguration"]


def test_scripts_get_arguments_processed_and_integers(emu: Emulator) -> None:
    policy = emu.create_policy()
    script = {
        "id": "script-1",
        "type": "loop",
        "loopTime": 3600.0,
        "arguments": "--verbose   --check ",
        "argumentsProcessed": "client value is ignored",
        "resetDate": "2026-02-13T15:30:00+01:00",
    }
    data = put_ok(emu, policy["id"], {"scripts": [script]})
    stored = data["scripts"][0]
    assert stored["loopTime"] == 3600
    assert isinstance(stored["loopTime"], int)
    assert "3600.0" not in emu.api_get_policy(policy["id"]).text
    assert stored["arguments"] == "--verbose   --check "
    assert stored["argumentsProcessed"] == "--verbose --check"
    assert stored["resetDate"] == "2026-02-13T14:30:00.000Z"


def test_read_only_enrichments(emu: Emulator) -> None:
    policy = emu.create_policy()
    body = {
        "applications": [{"admApplication": APP_A}, {"admApplication": APP_B}],
        "books": [{"type": "store", "id": "1234"}],
        "scripts": [{"id": "s1", "name": "Check"}],
        "assets": [{"mdmAssetId": "698f41b2457fafa13d088793", "assetName": "cfg"}],
    }
    data = put_ok(emu, policy["id"], body)
    assert len(data["applicationsInfo"]) == 2
    assert {"name", "icon", "version"} <= set(data["applicationsInfo"][0])
    assert len(data["booksInfo"]) == 1
    assert len(data["scriptsInfo"]) == 1
    assert len(data["assetsInfo"]) == 1
    assert data["attachedProfile"] == {}
    for key in ("id", "organization", "admEnterprise"):
        assert re.fullmatch(r"[0-9a-f]{24}", data[key]), key
    assert data["targetType"] == "device"
    for key in ("createdAt", "updatedAt"):
        assert RFC3339.match(data[key]), data[key]
        datetime.fromisoformat(data[key].replace("Z", "+00:00"))


def test_attached_profile_is_an_object(emu: Emulator) -> None:
    attached = emu.create_profile(name="MDM (attached)", type="attached")
    policy = emu.create_policy(attachedProfile=attached["id"])
    data = api_get(emu, policy["id"])
    assert data["attachedProfile"]["id"] == attached["id"]
    assert data["attachedProfile"]["type"] == "attached"
    assert data["attachedProfile"]["admPolicy"] == policy["id"]


def test_version_bumps_only_on_change(emu: Emulator) -> None:
    policy = emu.create_policy(name="Stable")
    v0 = policy["version"]
    created = policy["updatedAt"]
    same = put_ok(emu, policy["id"], {"name": "Stable"})
    assert same["version"] == v0
    assert same["updatedAt"] == created
    changed = put_ok(emu, policy["id"], {"name": "Changed"})
    assert changed["version"] == v0 + 1
    assert changed["updatedAt"] >= created
    again = put_ok(emu, policy["id"], {"name": "Changed"})
    assert again["version"] == v0 + 1
    assert put_ok(emu, policy["id"], {})["version"] == v0 + 1
    assert api_get(emu, policy["id"])["version"] == v0 + 1


def test_put_changes_only_the_fields_it_sends(emu: Emulator) -> None:
    policy = emu.create_policy(
        name="Partial",
        segmentId=4,
        exposeToChildren=True,
        bookmarks=[{"title": "Portal", "url": "https://portal.example"}],
        agentConfiguration={"allowLocation": True},
    )
    data = put_ok(emu, policy["id"], {"name": "Renamed"})
    assert data["name"] == "Renamed"
    assert data["segmentId"] == "4"
    assert data["exposeToChildren"] is True
    assert data["bookmarks"] == [{"title": "Portal", "url": "https://portal.example"}]
    assert data["agentConfiguration"]["allowLocation"] is True
    # a field sent replaces the stored value of that field as a whole
    data = put_ok(emu, policy["id"], {"agentConfiguration": {"allowLocationMacos": True}})
    assert data["agentConfiguration"]["allowLocation"] is False
    assert data["agentConfiguration"]["allowLocationMacos"] is True
    data = put_ok(emu, policy["id"], {"bookmarks": []})
    assert data["bookmarks"] == []


def test_put_response_is_the_get_document_plus_management_flags(emu: Emulator) -> None:
    policy = emu.create_policy()
    body = json.loads((FIXTURES / "spec_request_example.json").read_text())
    for pid in body.get("profiles", []):
        emu.create_profile(id=pid, name=f"Profile {pid[-2:]}")
    data = put_ok(emu, policy["id"], body)
    got = api_get(emu, policy["id"])
    for app in data["applications"]:
        app.pop("managementFlags", None)
    assert data == got


def test_key_order_follows_the_reference(emu: Emulator) -> None:
    policy = emu.create_policy(segmentId=1)
    keys = list(api_get(emu, policy["id"]))
    assert keys[:6] == [
        "id",
        "organization",
        "admEnterprise",
        "targetType",
        "attachedProfile",
        "name",
    ]
    assert keys[-2:] == ["segmentId", "exposeToChildren"]


def test_fresh_policy_document(emu: Emulator) -> None:
    data = api_get(emu, emu.create_policy(name="Fresh")["id"])
    assert data["version"] == 0
    for key in ("profiles", "applications", "books", "scripts", "bookmarks", "assets"):
        assert data[key] == []
    assert data["exposeToChildren"] is False
    assert "segmentId" not in data
    assert data["agentConfiguration"]["appBlacklist"] == []
