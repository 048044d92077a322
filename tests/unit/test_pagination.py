"""Listing policies follows pages 1, 2, 3, … to an end, whatever the server says.

A server (or a proxy, or a wrong base URL) that repeats ``nextPage``, skips pages, answers a
page number that is not one, or an infinite ``totalPages`` ends the listing with one
``PaginationError`` sentence: never a loop, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from applivery_pulumi.api import client as client_module
from applivery_pulumi.api import errors
from applivery_pulumi.api.client import AppliveryClient
from applivery_pulumi.api.settings import Secret, Settings

from .unit_support import BASE, ORG, TOKEN, mocked

LIST_URL = f"{BASE}/v1/organizations/{ORG}/mdm/apple/enterprise/policies"
# A runaway listing is stopped here by the test, not by the code under test.
GUARD = 200


def page(number: int, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "items": [{"id": f"{number:024x}", "name": f"Policy {number}"}],
        "page": number,
        "limit": 1,
        "totalDocs": 3,
        "totalPages": 3,
        "hasPrevPage": number > 1,
        "hasNextPage": number < 3,
        "prevPage": number - 1 if number > 1 else None,
        "nextPage": number + 1 if number < 3 else None,
    }
    return data | overrides


def server(answer: Callable[[int], dict[str, Any] | bytes]) -> Callable[[httpx.Request], Any]:
    """A respx side effect: ``answer(page)`` is the list's ``data`` (or a raw body)."""
    calls = []

    def respond(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) > GUARD:
            raise AssertionError(f"still listing after {GUARD} requests: the listing loops")
        number = int(request.url.params["page"])
        data = answer(number)
        if isinstance(data, bytes):
            return httpx.Response(200, content=data, headers={"content-type": "application/json"})
        return httpx.Response(200, json={"status": True, "data": data})

    return respond


def listing(answer: Callable[[int], dict[str, Any] | bytes]) -> tuple[list[str], list[Any]]:
    settings = Settings(api_token=Secret(TOKEN), base_url=BASE, organization_id=ORG)
    seen: list[Any] = []
    with mocked() as router:
        router.get(LIST_URL).mock(side_effect=server(answer))
        c = AppliveryClient(settings, max_attempts=1)
        try:
            ids = [
                doc["id"]
                for doc in c.iter_policies(ORG, limit=1, on_page=lambda p, t: seen.append((p, t)))
            ]
        finally:
            c.close()
    return ids, seen


def test_all_pages_are_read_in_order() -> None:
    ids, seen = listing(page)
    assert ids == [f"{n:024x}" for n in (1, 2, 3)]
    assert seen == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("spelling", [lambda n: float(n + 1), lambda n: str(n + 1), None])
def test_next_page_as_a_float_a_digit_string_or_left_out_is_followed(spelling: Any) -> None:
    ids, _ = listing(lambda n: page(n, nextPage=spelling(n) if spelling else None))
    assert len(ids) == 3


def failure(answer: Callable[[int], dict[str, Any] | bytes]) -> str:
    with pytest.raises(errors.PaginationError) as caught:
        listing(answer)
    message = str(caught.value)
    assert "\n" not in message and TOKEN not in message
    assert f"organization {ORG}" in message and "applivery:baseUrl" in message
    return message


def test_a_repeated_next_page_is_an_error_not_a_loop() -> None:
    message = failure(lambda n: page(n, nextPage=n, hasNextPage=True, totalPages=None))
    assert "answered page 1 with nextPage 1, where 2 comes next" in message


def test_a_next_page_going_back_is_an_error() -> None:
    message = failure(lambda n: page(n, nextPage=1 if n > 1 else 2, hasNextPage=True))
    assert "answered page 2 with nextPage 1, where 3 comes next" in message


def test_a_skipped_page_is_an_error_rather_than_lost_policies() -> None:
    message = failure(lambda n: page(n, nextPage=n + 2))
    assert "nextPage 3, where 2 comes next" in message


@pytest.mark.parametrize("value", ["two", "2\n", [2], {"page": 2}, True, 2.5, -1, "9" * 400])
def test_a_next_page_that_is_not_a_page_number_is_an_error(value: Any) -> None:
    message = failure(lambda n: page(n, nextPage=value))
    assert "answered page 1 with nextPage" in message
    assert len(message) < 400, "the server's value is shown bounded"


def test_an_infinite_total_pages_is_an_error() -> None:
    body = json.dumps({"status": True, "data": page(1, totalPages=0)}).replace(
        '"totalPages": 0', '"totalPages": Infinity'
    )
    message = failure(lambda n: body.encode())
    assert "answered page 1 with totalPages inf, not a page count" in message


@pytest.mark.parametrize("value", [float("nan"), 10**30, 10_001, "many", -3])
def test_an_absurd_total_pages_is_an_error(value: Any) -> None:
    body = json.dumps({"status": True, "data": page(1, totalPages=value)})
    assert "totalPages" in failure(lambda n: body.encode())


def test_more_pages_than_total_pages_is_an_error() -> None:
    message = failure(lambda n: page(n, totalPages=2, hasNextPage=True, nextPage=n + 1))
    assert "answered page 2 with a next page beyond its totalPages 2" in message


def test_an_endless_list_stops_at_the_page_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "MAX_PAGES", 25)
    message = failure(lambda n: page(n, totalPages=None, hasNextPage=True, nextPage=n + 1))
    assert "answered page 25 with a next page beyond 25 pages" in message
