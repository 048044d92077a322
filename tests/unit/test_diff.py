"""diff: only what the user declared, compared by meaning, with the changed path named."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pulumi.output import Unknown

from applivery_pulumi.lifecycle import PolicyDiffResult

from .unit_support import ORG, PID, engine_props, make_provider

HEX_A = "698f42e5457fafa13d088794"
HEX_B = "698f42e5457fafa13d088795"
HEX_C = "698f42e5457fafa13d088796"

# A declaration (checked inputs) and the state a create of it leaves (outputs).
DECLARED: dict[str, Any] = {
    "organizationId": ORG,
    "policyId": PID,
    "name": "Corporate",
    "profiles": [HEX_A, HEX_B],
    "applications": [
        {
            "admApplication": HEX_A,
            "managed": True,
            "managementFlags": 1,
            "action": "available",
            "configuration": {"serverUrl": "https://mdm", "port": 8443, "nested": {"a": [1, 2]}},
            "scripts": {"preInstall": "echo pre"},
            "updatePolicy": {"mode": "auto"},
        },
        {"admApplication": HEX_B, "vpp": True},
    ],
    "books": [{"type": "store", "id": "b1"}, {"type": "asset", "id": "b2"}],
    "scripts": [
        {"id": "s1", "type": "loop", "loopTime": 3600},
        {"id": "s2", "type": "once", "arguments": "--x"},
    ],
    "bookmarks": [{"title": "Portal", "url": "https://portal"}, {"title": "Wiki"}],
    "assets": [
        {"mdmAssetId": HEX_A, "location": "/a", "scope": "system"},
        {"mdmAssetId": HEX_A, "location": "/b", "scope": "user"},
    ],
    "agentConfiguration": {
        "allowLocation": True,
        "appBlacklist": [
            {"bundleId": "com.a", "action": "block"},
            {"bundleId": "com.b", "action": "remove"},
        ],
        "policyFeatures": {
            "ios": {"defaultViewFeature": "applications", "enableDefaultView": True},
            "macos": {"toggledFeatures": [{"name": "applications", "active": True}]},
        },
    },
    "segmentId": 7,
    "exposeToChildren": False,
}


def state(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(DECLARED)
    out |= {"version": 4, "createdAt": "2026-02-13T10: 00:00Z", "updatedAt": "x"}
    out["preAdoption"] = {"name": "Before", "profiles": [HEX_C]}
    out.update(changes)
    return out


def diff(olds: dict[str, Any], news: dict[str, Any]) -> PolicyDiffResult:
    return make_provider().diff(PID, engine_props(olds), engine_props(news))


def declared(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(DECLARED)
    out.update(changes)
    return out


def edit(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


def test_the_state_of_a_declaration_has_no_diff() -> None:
    result = diff(state(), declared())
    assert (result.changes, result.replaces, result.paths) == (False, [], [])


def test_undeclared_keys_at_any_depth_never_show() -> None:
    olds = state()
    olds["books"][0]["extra"] = 1
    olds["applications"][1] |= {"managed": False, "configuration": {}, "iOSApp": True}
    olds["agentConfiguration"] |= {"allowLocationMacos": False, "allowNetworkStatusIos": True}
    olds["scripts"][0]["argumentsProcessed"] = ""
    olds["bookmarks"][1]["url"] = "https://wiki"
    news = declared()
    del news["name"]  # no longer declared: no longer managed
    del news["agentConfiguration"]["policyFeatures"]
    result = diff(olds, news)
    assert (result.changes, result.paths) == (False, [])


def test_profiles_are_a_set() -> None:
    assert not diff(state(profiles=[HEX_B, HEX_A]), declared()).changes
    result = diff(state(profiles=[HEX_A, HEX_C]), declared())
    assert result.changes and result.paths == ["profiles[1]"]
    result = diff(state(profiles=[HEX_A]), declared())
    assert result.changes and result.paths == ["profiles"]


@pytest.mark.parametrize(("stored", "wanted"), [(1, "1"), (1, 1.0), (12, " 12")])
def test_segment_id_spellings_are_the_same_number(stored: Any, wanted: Any) -> None:
    assert not diff(state(segmentId=stored), declared(segmentId=wanted)).changes


def test_a_different_segment_id_is_a_change() -> None:
    result = diff(state(segmentId=1), declared(segmentId="2"))
    assert result.changes and result.paths == ["segmentId"]


def test_floats_equal_ints_but_not_booleans() -> None:
    olds = state()
    olds["scripts"][0]["loopTime"] = 3600.0
    olds["applications"][0]["configuration"]["port"] = 8443.0
    assert not diff(olds, declared()).changes
    olds = state()
    olds["applications"][0]["configuration"]["port"] = True
    news = declared()
    news["applications"][0]["configuration"]["port"] = 1
    assert diff(olds, news).paths == ["applications[0].configuration"]


def test_derived_action_status_is_ignored() -> None:
    olds = state()
    olds["applications"][0]["actionStatus"] = "available-install"
    news = declared()
    news["applications"][0]["actionStatus"] = "forceInstall"
    assert not diff(olds, news).changes


def test_server_enrichments_in_state_are_ignored() -> None:
    olds = state(
        applicationsInfo=[{}],
        attachedProfile={"id": HEX_C},
        version=99,
        booksInfo=[{}],
        id=PID,
        organization=ORG,
    )
    assert not diff(olds, declared()).changes


EXACT_MAPS = [
    (("applications", 0, "configuration"), "applications[0].configuration"),
    (("applications", 0, "scripts"), "applications[0].scripts"),
    (("applications", 0, "updatePolicy"), "applications[0].updatePolicy"),
    (("agentConfiguration", "policyFeatures", "ios"), "agentConfiguration.policyFeatures.ios"),
    (("agentConfiguration", "policyFeatures", "macos"), "agentConfiguration.policyFeatures.macos"),
]


@pytest.mark.parametrize(("path", "shown"), EXACT_MAPS)
def test_free_form_maps_compare_exactly(path: tuple[Any, ...], shown: str) -> None:
    olds = state()
    target = olds
    for part in path:
        target = target[part]
    target["addedByServer"] = "x"  # a key the user did not write is a real difference here
    result = diff(olds, declared())
    assert result.changes and result.paths == [shown]


@pytest.mark.parametrize(("path", "shown"), EXACT_MAPS)
def test_free_form_maps_ignore_key_order(path: tuple[Any, ...], shown: str) -> None:
    olds = state()
    target = olds
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = dict(reversed(list(target[path[-1]].items())))
    assert not diff(olds, declared()).changes


def test_a_free_form_map_value_deep_inside_is_compared() -> None:
    olds = state()
    olds["applications"][0]["configuration"]["nested"]["a"] = [2, 1]
    assert diff(olds, declared()).paths == ["applications[0].configuration"]


@pytest.mark.parametrize("name", ["scripts", "bookmarks"])
def test_ordered_lists_compare_position_by_position(name: str) -> None:
    result = diff(state(**{name: list(reversed(DECLARED[name]))}), declared())
    assert result.changes
    assert f"{name}[0]" in {p.split(".")[0] for p in result.paths}


@pytest.mark.parametrize(
    "path",
    [("applications",), ("books",), ("assets",), ("agentConfiguration", "appBlacklist")],
)
def test_unordered_lists_ignore_order(path: tuple[str, ...]) -> None:
    olds = state()
    target = olds
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = list(reversed(target[path[-1]]))
    assert not diff(olds, declared()).changes


@pytest.mark.parametrize(
    ("path", "value", "shown"),
    [
        (("applications", 1, "vpp"), False, "applications[1].vpp"),
        (("applications", 0, "managementFlags"), 5, "applications[0].managementFlags"),
        (("books", 1, "type"), "store", "books[1]"),  # identity changed: the item is missing
        (("assets", 0, "scope"), "user", "assets[0].scope"),
        (("assets", 1, "location"), "/c", "assets[1]"),
        (
            ("agentConfiguration", "appBlacklist", 1, "action"),
            "block",
            "agentConfiguration.appBlacklist[1].action",
        ),
        (("scripts", 1, "arguments"), "--y", "scripts[1].arguments"),
        (("bookmarks", 0, "url"), "https://other", "bookmarks[0].url"),
        (("agentConfiguration", "allowLocation"), False, "agentConfiguration.allowLocation"),
        (("exposeToChildren",), True, "exposeToChildren"),
        (("name",), "Other", "name"),
    ],
)
def test_a_change_names_its_nested_path(path: tuple[Any, ...], value: Any, shown: str) -> None:
    result = diff(state(), edit(DECLARED, path, value))
    assert result.changes
    assert result.replaces == []
    assert result.paths == [shown]


def test_unordered_list_paths_use_the_declared_index() -> None:
    olds = state()
    olds["applications"].reverse()
    olds["applications"][0]["vpp"] = False  # the declared second item
    assert diff(olds, declared()).paths == ["applications[1].vpp"]


def test_a_declared_item_the_server_lacks_and_a_different_length() -> None:
    olds = state()
    olds["applications"] = olds["applications"][:1]
    assert diff(olds, declared()).paths == ["applications"]
    assert diff(state(name=None), declared()).changes


@pytest.mark.parametrize(("key", "value"), [("organizationId", "acme-corp"), ("policyId", HEX_C)])
def test_identity_changes_replace(key: str, value: str) -> None:
    result = diff(state(), declared(**{key: value}))
    assert result.changes is True
    assert result.replaces == [key]
    assert key in result.paths


@pytest.mark.parametrize(("old", "new"), [(None, True), (False, True), (True, False)])
def test_restore_on_delete_change_is_an_update(old: Any, new: bool) -> None:
    olds = state() if old is None else state(restoreOnDelete=old)
    result = diff(olds, declared(restoreOnDelete=new))
    assert (result.changes, result.replaces, result.paths) == (True, [], ["restoreOnDelete"])


def test_restore_on_delete_false_is_the_default() -> None:
    assert not diff(state(), declared(restoreOnDelete=False)).changes


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        (lambda d: d.update(name=Unknown()), "name"),
        (lambda d: d.update(applications=Unknown()), "applications"),
        (lambda d: d["applications"][1].update(vpp=Unknown()), "applications[1].vpp"),
        (lambda d: d["profiles"].append(Unknown()), "profiles"),
        (lambda d: d["scripts"][0].update(loopTime=Unknown()), "scripts[0].loopTime"),
        (lambda d: d.update(organizationId=Unknown()), "organizationId"),
    ],
)
def test_values_not_known_yet_are_changes(change: Any, shown: str) -> None:
    news = declared()
    change(news)
    result = diff(state(), news)
    assert result.changes is True
    assert shown in result.paths
    assert result.replaces == []  # an unknown identity is not (yet) a replacement


def test_a_secret_declared_value_compares_by_its_value() -> None:
    olds = state()
    news = engine_props(declared(), secrets=("name", "agentConfiguration"))
    result = make_provider().diff(PID, engine_props(olds), news)
    assert not result.changes
    news = engine_props(declared(name="Other"), secrets=("name",))
    assert make_provider().diff(PID, engine_props(olds), news).paths == ["name"]
