"""The list endpoint: pagination fields, limits, sorting, filters."""

from __future__ import annotations

from typing import Any

import pytest

from harness.emulator import Emulator


def page(emu: Emulator, **params: Any) -> dict[str, Any]:
    r = emu.api_list_policies(**params)
    assert r.status_code == 200, r.text
    assert r.json()["status"] is True
    return dict(r.json()["data"])


@pytest.fixture
def twelve(emu: Emulator) -> list[dict[str, Any]]:
    names = [f"Policy {chr(ord('A') + i)}" for i in range(12)]
    names[3] = "kiosk lobby"
    names[7] = "Front desk KIOSK"
    created = []
    for i, name in enumerate(names):
        created.append(
            emu.create_policy(
                name=name,
                segmentId=1 if i % 3 == 0 else 2,
                targetType="deviceUser" if i % 4 == 0 else "device",
            )
        )
    return created


def test_default_page(emu: Emulator, twelve: list[dict[str, Any]]) -> None:
    data = page(emu)
    assert data["totalDocs"] == 12
    assert data["limit"] == 10
    assert data["page"] == 1
    assert data["totalPages"] == 2
    assert data["hasPrevPage"] is False
    assert data["hasNextPage"] is True
    assert data["prevPage"] is None
    assert data["nextPage"] == 2
    assert [p["id"] for p in data["items"]] == [p["id"] for p in twelve[:10]]  # createdAt order


def test_last_and_beyond_last_page(emu: Emulator, twelve: list[dict[str, Any]]) -> None:
    data = page(emu, page=2)
    assert len(data["items"]) == 2
    assert data["hasPrevPage"] is True
    assert data["prevPage"] == 1
    assert data["hasNextPage"] is False
    assert data["nextPage"] is None
    data = page(emu, page=5, limit=5)
    assert data["items"] == []
    assert data["totalPages"] == 3
    assert data["hasNextPage"] is False


def test_pages_cover_everything_once(emu: Emulator, twelve: list[dict[str, Any]]) -> None:
    seen = []
    for n in range(1, 5):
        seen += [p["id"] for p in page(emu, page=n, limit=4)["items"]]
    assert sorted(seen) == sorted(p["id"] for p in twelve)


def test_empty_organization(emu: Emulator) -> None:
    data = page(emu)
    assert data["items"] == []
    assert data["totalDocs"] == 0
    assert data["totalPages"] == 1
    assert data["hasNextPage"] is False and data["nextPage"] is None


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "x"}, "page"),
        ({"sort": "colour"}, "sort"),
        ({"sort": "-"}, "sort"),
        ({"targetType": "phone"}, "targetType"),
        ({"segmentId": "abc"}, "segmentId"),
    ],
)
def test_bad_query_parameters_are_400(emu: Emulator, params: dict[str, Any], name: str) -> None:
    r = emu.api_list_policies(**params)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == 4000
    assert r.json()["error"]["message"].startswith(name + ":")


def test_limit_100_is_allowed(emu: Emulator, twelve: list[dict[str, Any]]) -> None:
    data = page(emu, limit=100)
    assert len(data["items"]) == 12
    assert data["totalPages"] == 1


def test_sort_by_name(emu: Emulator, twelve: list[dict[str, Any]]) -> None:
    names = [p["name"] for p in page(emu, sort="name", limit=100)["items"]]
    assert names == sorted(names)
    names = [p["name"] for p in page(emu, sort="-name", limit=100)["items"]]
    assert names == sorted(names, reverse=True)


def test_sort_by_dates(emu: Emulator, twelve: list[dict[str, Any]]) -> None:
    ids = [p["id"] for p in twelve]
    assert [p["id"] for p in page(emu, sort="createdAt", limit=100)["items"]] == ids
    assert [p["id"] for p in page(emu, sort="-createdAt", limit=100)["items"]] == ids[::-1]
    touched = twelve[4]["id"]
    emu.put_policy(touched, {"name": "Touched last"})
    assert page(emu, sort="-updatedAt", limit=1)["items"][0]["id"] == touched
    assert page(emu, sort="updatedAt", limit=100)["items"][-1]["id"] == touched


def test_name_filter_is_a_case_insensitive_substring(
    emu: Emulator, twelve: list[dict[str, Any]]
) -> None:
    data = page(emu, name="KiOsK")
    assert sorted(p["name"] for p in data["items"]) == ["Front desk KIOSK", "kiosk lobby"]
    assert data["totalDocs"] == 2


def test_target_type_and_segment_filters(emu: Emulator, twelve: list[dict[str, Any]]) -> None:
    users = page(emu, targetType="deviceUser", limit=100)
    assert users["totalDocs"] == 3
    assert all(p["targetType"] == "deviceUser" for p in users["items"])
    seg1 = page(emu, segmentId=1, limit=100)
    assert seg1["totalDocs"] == 4
    assert all(p["segmentId"] == "1" for p in seg1["items"])
    both = page(emu, segmentId="1", targetType="deviceUser", limit=100)
    assert both["totalDocs"] == 1  # only i == 0 is both i % 3 == 0 and i % 4 == 0
    assert both["items"][0]["id"] == twelve[0]["id"]


def test_items_are_full_policy_documents(emu: Emulator, twelve: list[dict[str, Any]]) -> None:
    item = page(emu, limit=1)["items"][0]
    assert item == emu.api_get_policy(item["id"]).json()["data"]


def test_expand_to_is_accepted(emu: Emulator, twelve: list[dict[str, Any]]) -> None:
    assert page(emu, expandTo="profiles")["totalDocs"] == 12
