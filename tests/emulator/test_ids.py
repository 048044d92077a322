"""Ids match whole strings: a trailing newline makes an id invalid, at every door."""

from __future__ import annotations

import pytest

from applivery_emulator.models import is_object_id, is_organization_id
from harness.emulator import Emulator

PID = "698f41b2457fafa13d088793"


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "/x"])
def test_the_id_checks_take_whole_strings_only(suffix: str) -> None:
    assert is_object_id(PID) and is_organization_id("acme-corp") and is_organization_id(PID)
    assert not is_object_id(PID + suffix)
    assert not is_organization_id("acme-corp" + suffix)


def test_the_api_refuses_ids_with_a_trailing_newline(emu: Emulator) -> None:
    policy_id = emu.create_policy(name="Target")["id"]
    with emu.client() as api:
        wrong_org = api.get(f"/v1/organizations/{emu.org}%0A/mdm/apple/enterprise/policies")
        wrong_policy = api.get(emu.policy_path(policy_id) + "%0A")
        right = api.get(emu.policy_path(policy_id))
    assert wrong_org.status_code == 400 and "organizationId" in wrong_org.text
    assert wrong_policy.status_code == 400 and "admPolicyId" in wrong_policy.text
    assert right.status_code == 200


def test_the_admin_api_refuses_ids_with_a_trailing_newline(emu: Emulator) -> None:
    org = emu.http.post("/_emulator/organizations", json={"id": "new-org\n"})
    policy = emu.http.post(
        f"/_emulator/organizations/{emu.org}/policies", json={"id": PID + "\n", "name": "x"}
    )
    assert org.status_code == 400 and policy.status_code == 400
