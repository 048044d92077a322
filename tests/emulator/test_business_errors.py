"""5086 (attached profiles), unknown profiles and 5227 (segment lock)."""

from __future__ import annotations

from harness.emulator import Emulator

UNKNOWN_PROFILE = "bbbbbbbbbbbbbbbbbbbbbbbb"


def test_attached_profile_in_profiles_is_5086(emu: Emulator) -> None:
    single = emu.create_profile(name="Single")
    attached = emu.create_profile(name="Attached", type="attached")
    policy = emu.create_policy(profiles=[single["id"]])
    r = emu.put_policy(policy["id"], {"name": "New", "profiles": [single["id"], attached["id"]]})
    assert r.status_code == 400
    assert r.json() == {
        "status": False,
        "error": {"code": 5086, "message": "Attached adm profiles can not be added"},
    }
    after = emu.get_policy(policy["id"])
    assert after["version"] == policy["version"]
    assert after["name"] == policy["name"]  # nothing of the failed PUT was stored
    assert [p["id"] for p in after["profiles"]] == [single["id"]]


def test_unknown_profile_is_404_3001(emu: Emulator) -> None:
    policy = emu.create_policy()
    r = emu.put_policy(policy["id"], {"profiles": [UNKNOWN_PROFILE]})
    assert r.status_code == 404
    assert r.json()["error"] == {"code": 3001, "message": "Entity not found"}
    # the policy itself is still there
    assert emu.api_get_policy(policy["id"]).status_code == 200


def test_profile_of_another_organization_is_unknown(emu: Emulator) -> None:
    theirs = emu.create_profile(org="globex", name="Theirs")
    policy = emu.create_policy()
    assert emu.put_policy(policy["id"], {"profiles": [theirs["id"]]}).status_code == 404


def test_segment_lock_blocks_segment_changes_with_5227(emu: Emulator) -> None:
    policy = emu.create_policy(segmentId=1, exposeToChildren=False)
    emu.lock_policy(policy["id"], segment=True)
    for body in ({"segmentId": 2}, {"exposeToChildren": True}, {"name": "x", "segmentId": "3"}):
        r = emu.put_policy(policy["id"], body)
        assert r.status_code == 400, body
        assert r.json() == {
            "status": False,
            "error": {
                "code": 5227,
                "message": "Segment inheritance update is blocked by existing references",
            },
        }
    assert emu.get_policy(policy["id"])["version"] == policy["version"]


def test_segment_lock_allows_other_changes_and_same_values(emu: Emulator) -> None:
    policy = emu.create_policy(segmentId=1, exposeToChildren=False)
    emu.lock_policy(policy["id"])
    r = emu.put_policy(
        policy["id"], {"name": "Renamed", "segmentId": "1", "exposeToChildren": False}
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["version"] == policy["version"] + 1


def test_unlock_lets_segment_changes_through(emu: Emulator) -> None:
    policy = emu.create_policy(segmentId=1)
    emu.lock_policy(policy["id"], segment=True)
    assert emu.put_policy(policy["id"], {"segmentId": 2}).status_code == 400
    emu.lock_policy(policy["id"], segment=False)
    r = emu.put_policy(policy["id"], {"segmentId": 2})
    assert r.status_code == 200
    assert r.json()["data"]["segmentId"] == "2"


def test_lock_can_be_set_at_creation_and_is_not_in_the_document(emu: Emulator) -> None:
    policy = emu.create_policy(segmentId=5, locks={"segment": True})
    assert "locks" not in policy
    assert emu.stored_policy(policy["id"])["locks"] == {"segment": True}
    assert emu.put_policy(policy["id"], {"segmentId": 6}).json()["error"]["code"] == 5227


def test_validation_comes_before_lookups(emu: Emulator) -> None:
    r = emu.put_policy("0123456789abcdef01234567", {"name": 5})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == 4000
