"""The /_emulator admin surface: organizations, profiles, policies, out-of-band edits, seed,
counters."""

from __future__ import annotations

import httpx
import pytest

from harness.emulator import Emulator, EmulatorError, new_object_id

ONE = "/v1/organizations/{organizationId}/mdm/apple/enterprise/policies/{admPolicyId}"
MANY = "/v1/organizations/{organizationId}/mdm/apple/enterprise/policies"


def test_organizations_are_created_explicitly_or_on_first_use(emu: Emulator) -> None:
    assert [o["id"] for o in emu.admin("GET", "/_emulator/organizations")] == ["acme-corp"]
    created = emu.create_org("initech", name="Initech")
    assert created["name"] == "Initech"
    emu.create_policy(org="globex")
    ids = [o["id"] for o in emu.admin("GET", "/_emulator/organizations")]
    assert ids == ["acme-corp", "initech", "globex"]
    again = emu.create_org("initech")  # idempotent
    assert again["organization"] == created["organization"]


def test_create_list_delete_policies(emu: Emulator) -> None:
    given = new_object_id()
    a = emu.create_policy(id=given, name="A")
    b = emu.create_policy(name="B")
    assert a["id"] == given
    assert [p["name"] for p in emu.list_policies()] == ["A", "B"]
    with pytest.raises(EmulatorError) as info:
        emu.create_policy(id=given, name="dup")
    assert info.value.response is not None and info.value.response.status_code == 409
    emu.delete_policy(a["id"])
    assert [p["id"] for p in emu.list_policies()] == [b["id"]]
    assert emu.api_get_policy(a["id"]).status_code == 404
    with pytest.raises(EmulatorError):
        emu.delete_policy(a["id"])


def test_create_policy_validates_like_a_put(emu: Emulator) -> None:
    with pytest.raises(EmulatorError) as info:
        emu.create_policy(applications=[{"admApplication": "nope"}])
    response = info.value.response
    assert response is not None and response.status_code == 400
    assert "applications[0].admApplication" in response.json()["error"]["message"]


def test_create_list_delete_profiles(emu: Emulator) -> None:
    p = emu.create_profile(name="Wi-Fi", config={"SSID": "corp"})
    assert p["type"] == "single"
    assert p["config"] == {"SSID": "corp"}
    listed = emu.admin("GET", "/_emulator/organizations/acme-corp/profiles")
    assert [x["id"] for x in listed] == [p["id"]]
    policy = emu.create_policy(profiles=[p["id"]])
    emu.delete_profile(p["id"])
    after = emu.get_policy(policy["id"])
    assert after["profiles"] == []
    assert after["version"] == policy["version"] + 1  # removed from the policy out of band


def test_edit_policy_is_a_merge_that_bumps_version(emu: Emulator) -> None:
    policy = emu.create_policy(
        name="Dashboard", agentConfiguration={"allowLocation": True}, segmentId=1
    )
    edited = emu.edit_policy(policy["id"], agentConfiguration={"allowLocationMacos": True})
    assert edited["version"] == policy["version"] + 1
    agent = edited["agentConfiguration"]
    assert agent["allowLocation"] is True and agent["allowLocationMacos"] is True
    assert emu.edit_policy(policy["id"], name="Dashboard")["version"] == edited["version"]
    removed = emu.edit_policy(policy["id"], segmentId=None)
    assert "segmentId" not in removed
    assert removed["version"] == edited["version"] + 1


def test_edit_policy_normalises_and_validates(emu: Emulator) -> None:
    policy = emu.create_policy()
    edited = emu.edit_policy(
        policy["id"],
        applications=[{"admApplication": "698f42e5457fafa13d088794", "action": "available"}],
    )
    assert edited["applications"][0]["actionStatus"] == "available-install"
    with pytest.raises(EmulatorError):
        emu.edit_policy(policy["id"], name=123)
    with pytest.raises(EmulatorError):
        emu.edit_policy(policy["id"], brandNewField=1)


def test_raw_edit_can_add_fields_the_api_does_not_know(emu: Emulator) -> None:
    policy = emu.create_policy()
    edited = emu.edit_policy(policy["id"], raw=True, complianceLevel="strict")
    assert edited["complianceLevel"] == "strict"
    r = emu.api_get_policy(policy["id"])
    assert r.status_code == 200
    assert r.json()["data"]["complianceLevel"] == "strict"


def test_edit_locks_and_meta(emu: Emulator) -> None:
    policy = emu.create_policy(segmentId=1)
    edited = emu.edit_policy(policy["id"], targetType="deviceUser", locks={"segment": True})
    assert edited["targetType"] == "deviceUser"
    assert emu.stored_policy(policy["id"])["locks"] == {"segment": True}
    assert emu.put_policy(policy["id"], {"segmentId": 9}).json()["error"]["code"] == 5227


def test_admin_get_shows_the_stored_document(emu: Emulator) -> None:
    policy = emu.create_policy(
        applications=[{"admApplication": "698f42e5457fafa13d088794", "managed": True}]
    )
    stored = emu.stored_policy(policy["id"])
    assert stored["stored"]["applications"][0]["managementFlags"] == 5
    assert "applicationsInfo" not in stored["stored"]
    assert stored["version"] == 0


def test_seed_is_idempotent(emu: Emulator) -> None:
    doc = {
        "organizations": [
            {
                "id": "acme-corp",
                "profiles": [{"id": "cccccccccccccccccccccc01", "name": "P", "type": "single"}],
                "policies": [
                    {"id": "cccccccccccccccccccccc11", "name": "Seeded", "segmentId": 1},
                    {"name": "Seeded without id"},
                ],
            }
        ]
    }
    first = emu.seed(doc)
    assert len(first["policies"]["created"]) == 2
    emu.put_policy("cccccccccccccccccccccc11", {"name": "Changed by a client"})
    second = emu.seed(doc)
    assert second["policies"]["created"] == []
    assert sorted(second["policies"]["existing"]) == sorted(first["policies"]["created"])
    assert second["profiles"]["existing"] == ["cccccccccccccccccccccc01"]
    assert len(emu.list_policies()) == 2
    assert emu.get_policy("cccccccccccccccccccccc11")["name"] == "Changed by a client"


def test_seed_rejects_bad_documents(emu: Emulator) -> None:
    with pytest.raises(EmulatorError) as info:
        emu.seed({"organizations": [{"id": "acme-corp", "policies": [{"segmentId": "x"}]}]})
    response = info.value.response
    assert response is not None
    assert "organizations[0].policies[0].segmentId" in response.json()["error"]["message"]


def test_counters_count_api_requests_by_template(emu: Emulator) -> None:
    policy = emu.create_policy()
    emu.api_get_policy(policy["id"])
    emu.api_get_policy(policy["id"])
    emu.put_policy(policy["id"], {"name": "x"})
    emu.put_policy(policy["id"], {"name": 1})
    emu.api_list_policies()
    httpx.get(emu.base_url + emu.policies_path())  # 401 counts too
    emu.get_policy(policy["id"])  # admin calls do not count
    counters = emu.counters()
    assert counters["requests"] == {
        f"GET {ONE}": 2,
        f"PUT {ONE}": 2,
        f"GET {MANY}": 2,
    }
    assert counters["total"] == 6
    assert counters["statuses"] == {"200": 4, "400": 1, "401": 1}
    reset = emu.reset_counters()
    assert reset["total"] == 0
    assert emu.counters() == {"total": 0, "requests": {}, "statuses": {}}


def test_counters_reset_also_by_post(emu: Emulator) -> None:
    emu.api_list_policies()
    assert emu.admin("POST", "/_emulator/counters/reset")["total"] == 0


def test_reset_deletes_everything(emu: Emulator) -> None:
    emu.create_policy(org="globex")
    emu.admin("POST", "/_emulator/reset")
    assert emu.admin("GET", "/_emulator/organizations") == []
