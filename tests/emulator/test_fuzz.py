"""Property: whatever JSON a client PUTs, the emulator answers 200 or a 4xx envelope, never 5xx,
and a 200 keeps the documented invariants."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.emulator import Emulator

FIELDS = [
    "name",
    "profiles",
    "applications",
    "books",
    "scripts",
    "bookmarks",
    "assets",
    "agentConfiguration",
    "segmentId",
    "exposeToChildren",
]
NESTED = [
    "admApplication",
    "managed",
    "managementFlags",
    "action",
    "actionStatus",
    "type",
    "id",
    "loopTime",
    "arguments",
    "scope",
    "title",
    "url",
    "mdmAssetId",
    "allowLocation",
    "allowPackageTime",
    "appBlacklist",
    "policyFeatures",
]
HEX = "698f42e5457fafa13d088794"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from([HEX, "available", "forceInstall", "loop", "user", "1", "", 5, 4.0]),
)
keys = st.one_of(st.sampled_from(FIELDS + NESTED), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=20,
)
bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_any_json_body_gets_a_well_formed_answer(emu: Emulator, body: dict[str, Any]) -> None:
    policy_id = "ffffffffffffffffffffff01"
    if emu.api_get_policy(policy_id).status_code == 404:
        emu.create_policy(id=policy_id, name="fuzz")
    r = emu.put_policy(policy_id, body)
    assert r.status_code in (200, 400, 404), (r.status_code, r.text, body)
    payload = r.json()
    if r.status_code != 200:
        assert payload["status"] is False
        assert isinstance(payload["error"]["code"], int)
        assert isinstance(payload["error"]["message"], str)
        return
    data = payload["data"]
    assert payload["status"] is True
    if "segmentId" in data:
        assert isinstance(data["segmentId"], str)
    for app in data["applications"]:
        if "action" in app:
            expected = "available-install" if app["action"] == "available" else app["action"]
            assert app["actionStatus"] == expected
    got = emu.get_policy(policy_id)
    assert all("managementFlags" not in app for app in got["applications"])
