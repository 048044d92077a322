"""Properties over generated policies, against a fake service with every quirk of the reference.

* For any valid declaration: check passes, create sends exactly the declared body, and neither
  the state create leaves nor a refresh (GET without ``managementFlags``), nor a second refresh,
  shows a diff.
* Any single change of one declared leaf is reported by diff, at its path; update then sends
  only that top-level field, and its result has no diff left.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from applivery_pulumi.api import errors
from applivery_pulumi.policy import fields
from applivery_pulumi.policy.model import BODY_FIELDS, field_path

from . import unit_strategies as gen
from .unit_support import (
    PASSWORD,
    PID,
    FakeApplivery,
    checked,
    engine_props,
    make_provider,
    mocked,
    walk,
)

# Moderate by default (the unit suite stays fast); raise it for a deeper search.
EXAMPLES: Final = int(os.environ.get("APPLIVERY_UNIT_EXAMPLES", "60"))
PROPERTY_SETTINGS: Final = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TOP_LEVEL: Final = (*BODY_FIELDS, "organizationId", "restoreOnDelete")


def expected_body(declared: dict[str, Any]) -> dict[str, Any]:
    """The PUT body a declaration must produce: its body fields, minus read-only ones."""
    body = {k: copy.deepcopy(declared[k]) for k in BODY_FIELDS if k in declared}
    for app in body.get("applications", []):
        app.pop("actionStatus", None)
    if "segmentId" in body:
        body["segmentId"] = int(body["segmentId"])
    return body


def create(
    declared: dict[str, Any], before: dict[str, Any], seed: int, floats: bool, secrets: Any
) -> tuple[FakeApplivery, dict[str, Any], dict[str, Any]]:
    provider = make_provider()
    inputs = checked(provider, engine_props(declared, secrets=tuple(secrets)))
    server = FakeApplivery(before, seed=seed, org=inputs["organizationId"], float_numbers=floats)
    with mocked() as router:
        server.install(router)
        result = provider.create(inputs)
    assert result.id == PID
    return server, inputs, result.outs


def no_diff(olds: dict[str, Any], news: dict[str, Any]) -> None:
    result = make_provider().diff(PID, engine_props(olds), engine_props(news))
    assert (result.changes, result.replaces, result.paths) == (False, [], [])


@PROPERTY_SETTINGS
@given(
    declared=gen.declared_policy(PID),
    before=gen.body,
    seed=st.integers(0, 2**32),
    floats=st.booleans(),
    secrets=st.sets(st.sampled_from(TOP_LEVEL), max_size=3),
)
def test_create_then_refresh_shows_no_diff(
    declared: dict[str, Any], before: dict[str, Any], seed: int, floats: bool, secrets: Any
) -> None:
    server, inputs, outs = create(declared, before, seed, floats, secrets)

    assert server.puts == [expected_body(declared)]
    assert PASSWORD not in set(walk(outs))
    if declared.get("restoreOnDelete") is True:
        assert outs["preAdoption"].keys() <= set(BODY_FIELDS)
    else:
        assert "preAdoption" not in outs  # recorded only when it will be restored
    no_diff(outs, inputs)

    provider = make_provider()
    with mocked() as router:
        server.install(router)
        first = provider.read(PID, engine_props(outs))
        second = provider.read(PID, engine_props(first.outs))
    assert first.id == second.id == PID
    assert len(server.puts) == 1  # refresh never writes
    for read in (first, second):
        assert PASSWORD not in set(walk(read.outs))
        no_diff(read.outs, inputs)
    assert second.outs == first.outs


# -- single changes -------------------------------------------------------------------------------

EXACT_MAPS: Final = fields.EXACT_MAPS
# Fields that make the identity of an item of an unordered list.
IDENTITY_FIELDS: Final = {
    (*path, name) for path, names in fields.UNORDERED_LISTS.items() for name in names
}
ENUMS: Final[dict[tuple[str, ...], list[Any]]] = {
    ("applications", "managementFlags"): [0, 1, 4, 5],
    ("applications", "action"): ["forceInstall", "available", "requiredForSetup"],
    ("books", "type"): ["asset", "store"],
    ("scripts", "type"): ["once", "loop", "onDemand"],
    ("scripts", "scope"): ["user", "machine"],
    ("assets", "scope"): ["user", "system", "all-users"],
    ("agentConfiguration", "appBlacklist", "action"): ["block", "remove"],
}
HEX_IDS: Final = {("policyId",), ("profiles",), ("applications", "admApplication")} | {
    ("assets", "mdmAssetId")
}
LIMITS: Final = {
    ("name",): 256,
    ("books", "id"): 128,
    ("scripts", "id"): 128,
    ("scripts", "name"): 256,
    ("scripts", "description"): 500,
    ("scripts", "runner"): 256,
    ("bookmarks", "title"): 256,
    ("bookmarks", "description"): 500,
    ("bookmarks", "url"): 500,
    ("bookmarks", "iconUrl"): 500,
    ("assets", "location"): 256,
    ("assets", "assetName"): 256,
    ("agentConfiguration", "appBlacklist", "bundleId"): 256,
}

Loc = tuple[str | int, ...]


def names(loc: Loc) -> tuple[str, ...]:
    return tuple(p for p in loc if isinstance(p, str))


def exact_map_of(loc: Loc) -> Loc | None:
    for n in range(1, len(loc) + 1):
        if isinstance(loc[n - 1], str) and names(loc[:n]) in EXACT_MAPS:
            return loc[:n]
    return None


def leaves(value: Any, loc: Loc = ()) -> list[tuple[Loc, Any]]:
    """Every scalar the user declared, and every empty free-form map."""
    if isinstance(value, dict):
        if not value and exact_map_of(loc) == loc and loc:
            return [(loc, value)]
        return [leaf for k, v in value.items() for leaf in leaves(v, (*loc, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in leaves(v, (*loc, i))]
    return [(loc, value)]


def expected_path(loc: Loc) -> str:
    """Where diff must report a change of ``loc``."""
    exact = exact_map_of(loc)
    if exact is not None:
        return field_path(exact)  # free-form maps are compared, and reported, as a whole
    if names(loc) in IDENTITY_FIELDS:
        return field_path(loc[:-1])  # a new identity: the declared item is not stored
    return field_path(loc)


def changed(data: st.DataObject, loc: Loc, old: Any) -> Any:
    """A valid value for ``loc`` other than ``old``."""
    pattern = names(loc)
    if exact_map_of(loc) is not None:
        if old == {}:
            # App scripts have named keys; the other maps are the user's entirely.
            return {"preInstall": "x"} if pattern[-1] == "scripts" else {"added": 1}
        if isinstance(old, bool):
            return not old
        if isinstance(old, int | float):
            return old + 1.5 if isinstance(old, float) else old + 1
        return f"{old}x"
    if pattern in ENUMS:
        return data.draw(st.sampled_from([v for v in ENUMS[pattern] if v != old]))
    if pattern in HEX_IDS:
        return data.draw(gen.hex24.filter(lambda h: h != old))
    if pattern == ("organizationId",):
        return data.draw(gen.organization_id.filter(lambda o: o != old))
    if pattern == ("scripts", "resetDate"):
        return data.draw(gen.date_time.filter(lambda d: d != old))
    if pattern == ("segmentId",):
        return str(int(old) + 1) if isinstance(old, str) else old + 1
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        return old + 1
    assert isinstance(old, str), (loc, old)
    limit = LIMITS.get(pattern)
    if limit is None or len(old) < limit:
        return old + "x"
    return old[:-1] + ("y" if old.endswith("x") else "x")


def put_at(value: dict[str, Any], loc: Loc, new: Any) -> dict[str, Any]:
    out = copy.deepcopy(value)
    target: Any = out
    for part in loc[:-1]:
        target = target[part]
    target[loc[-1]] = new
    return out


@PROPERTY_SETTINGS
@given(
    declared=gen.declared_policy(PID),
    seed=st.integers(0, 2**32),
    floats=st.booleans(),
    data=st.data(),
)
def test_any_single_change_is_reported_at_its_path(
    declared: dict[str, Any], seed: int, floats: bool, data: st.DataObject
) -> None:
    server, inputs, outs = create(declared, {}, seed, floats, ())
    candidates = leaves(inputs)
    # A field first, then a leaf of it: small fields are not drowned by big ones, and leaves
    # of free-form maps get their share.
    groups = sorted({exact_map_of(c[0]) or c[0][:1] for c in candidates}, key=repr)
    group = data.draw(st.sampled_from(groups), label="field")
    inside = [c for c in candidates if c[0][: len(group)] == group]
    loc, old = data.draw(st.sampled_from(inside), label="leaf")
    new = changed(data, loc, old)
    provider = make_provider()
    result = provider.check({}, engine_props(put_at(inputs, loc, new)))
    # A new identity may collide with another item's (a duplicate): not a single change then.
    if any("duplicate of" in f.reason for f in result.failures):
        return
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    news = result.inputs

    top = names(loc)[0]
    if top == "restoreOnDelete" and new is True and "preAdoption" not in outs:
        # adopted without it: there is no pre-adoption record to restore, said at preview
        with pytest.raises(errors.NothingToRestoreError, match="restore_on_delete"):
            provider.diff(PID, engine_props(outs), engine_props(news))
        return
    diff = provider.diff(PID, engine_props(outs), engine_props(news))
    assert diff.changes is True
    if top in ("organizationId", "policyId"):
        assert diff.replaces == [top]
        return
    assert diff.replaces == []
    assert diff.paths == [expected_path(loc)]

    puts_before = len(server.puts)
    with mocked() as router:
        server.install(router)
        updated = provider.update(PID, engine_props(outs), engine_props(news))
    sent = server.puts[puts_before:]
    if top == "restoreOnDelete":
        assert sent == []  # nothing of the body changed: no request
    else:
        assert len(sent) == 1
        assert sent[0] == {top: expected_body(news)[top]}
    no_diff(updated.outs, news)
    assert updated.outs.get("preAdoption") == outs.get("preAdoption")
