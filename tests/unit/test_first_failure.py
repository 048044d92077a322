"""A refused token or an unreachable base URL is said once per run (issue 24, point 3): the calls
that follow with the same base URL and token fail at once, with no request and no retry."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from applivery_pulumi.api import errors
from applivery_pulumi.api.client import AppliveryClient
from applivery_pulumi.api.first_failure import FirstFailures, key
from applivery_pulumi.api.settings import Secret, Settings

from .unit_support import BASE, ORG, PID, TOKEN, envelope, error_envelope, mocked, policy_path

OTHER = "698f41b2457fafa13d0887a3"
ATTEMPTS = 4


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)


def client(token: str = TOKEN, **kwargs: Any) -> AppliveryClient:
    settings = Settings(api_token=Secret(token), base_url=BASE, organization_id=ORG)
    return AppliveryClient(settings, max_attempts=ATTEMPTS, backoff_initial=0.01, **kwargs)


def url(policy_id: str) -> str:
    return f"{BASE}{policy_path(policy_id=policy_id)}"


def test_after_a_refused_token_the_next_call_sends_nothing_and_says_it_in_a_few_words() -> None:
    refused = httpx.Response(401, json=error_envelope(4004, "Invalid Token"))
    with mocked() as router:
        first = router.get(url(PID)).mock(return_value=refused)
        second = router.get(url(OTHER)).mock(return_value=refused)
        with pytest.raises(errors.AuthenticationError) as whole:
            client().get_policy(ORG, PID)
        # Another client of the process (a provider configured again) with the same token.
        with pytest.raises(errors.AlreadyFailedError) as short:
            client().get_policy(ORG, OTHER)
    assert (first.call_count, second.call_count) == (1, 0)
    assert "check applivery:apiToken" in str(whole.value)
    assert str(short.value) == (
        f"policy {OTHER} of organization {ORG}: the first call in this run already failed: "
        "the service rejected the API token (401, 4004 Invalid Token)"
    )
    assert short.value.status == 401 and short.value.code == 4004


def test_another_token_is_asked_again() -> None:
    with mocked() as router:
        route = router.get(url(PID)).mock(
            side_effect=[
                httpx.Response(401, json=error_envelope(4004, "Invalid Token")),
                httpx.Response(200, json=envelope({"id": PID})),
            ]
        )
        with pytest.raises(errors.AuthenticationError):
            client().get_policy(ORG, PID)
        assert client("the-rotated-token").get_policy(ORG, PID) == {"id": PID}
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("status", "code"), [(404, 3001), (403, 1), (400, 5086)], ids=["404", "403", "400"]
)
def test_a_refusal_of_one_policy_decides_nothing_for_the_others(status: int, code: int) -> None:
    # A 403 may be one organization's or one permission's; a 404 is one policy's.
    with mocked() as router:
        router.get(url(PID)).respond(status, json=error_envelope(code, "no"))
        other = router.get(url(OTHER)).respond(200, json=envelope({"id": OTHER}))
        with pytest.raises(errors.AppliveryError):
            client().get_policy(ORG, PID)
        assert client().get_policy(ORG, OTHER) == {"id": OTHER}
    assert other.call_count == 1


def test_an_unreachable_base_url_spends_its_retries_once() -> None:
    with mocked() as router:
        route = router.get(url(PID)).mock(side_effect=httpx.ConnectError("[Errno 111] refused"))
        other = router.get(url(OTHER)).mock(side_effect=httpx.ConnectError("[Errno 111] refused"))
        with pytest.raises(errors.TransportError) as whole:
            client().get_policy(ORG, PID)
        with pytest.raises(errors.AlreadyFailedError) as short:
            client().get_policy(ORG, OTHER)
    assert (route.call_count, other.call_count) == (ATTEMPTS, 0)
    assert str(whole.value).endswith("check applivery:baseUrl and the network")
    assert str(short.value) == (
        f"policy {OTHER} of organization {ORG}: the first call in this run already failed: "
        f"could not reach Applivery at {BASE}: the connection failed ([Errno 111] refused)"
    )


def test_a_timeout_decides_nothing_for_the_next_call() -> None:
    with mocked() as router:
        router.get(url(PID)).mock(side_effect=httpx.ReadTimeout("timed out"))
        other = router.get(url(OTHER)).respond(200, json=envelope({"id": OTHER}))
        with pytest.raises(errors.TransportError):
            client().get_policy(ORG, PID)
        assert client().get_policy(ORG, OTHER) == {"id": OTHER}
    assert other.call_count == 1


def test_a_call_retrying_stops_at_its_next_attempt_once_the_token_is_refused() -> None:
    started, refused = threading.Event(), threading.Event()

    def busy(_request: httpx.Request) -> httpx.Response:
        started.set()
        refused.wait(5)
        return httpx.Response(503)

    with mocked() as router:
        retrying = router.get(url(OTHER)).mock(side_effect=busy)
        router.get(url(PID)).respond(401, json=error_envelope(4004, "Invalid Token"))
        c = client()
        outcome: list[BaseException] = []

        def in_flight() -> None:
            try:
                c.get_policy(ORG, OTHER)
            except errors.AppliveryError as exc:
                outcome.append(exc)

        worker = threading.Thread(target=in_flight)
        worker.start()
        assert started.wait(5)
        with pytest.raises(errors.AuthenticationError):
            c.get_policy(ORG, PID)
        refused.set()
        worker.join(10)
    assert retrying.call_count == 1, "no retry after the token was refused"
    assert isinstance(outcome[0], errors.AlreadyFailedError)


def test_the_same_refusal_met_in_flight_is_told_in_a_few_words() -> None:
    failures = FirstFailures()
    at = key(BASE, TOKEN)
    meet = [
        errors.refusal(401, {"code": 4004, "message": "Invalid Token"}, what, TOKEN)
        for what in ("policy a", "policy b")
    ]
    assert failures.settle(at, meet[0], "policy a") is meet[0]
    told = failures.settle(at, meet[1], "policy b")
    assert isinstance(told, errors.AlreadyFailedError)
    assert str(told).startswith("policy b: the first call in this run already failed: ")


def test_nothing_of_the_token_is_kept_or_shown() -> None:
    at = key(BASE, TOKEN)
    assert TOKEN not in repr(at)
    with mocked() as router:
        router.get(url(PID)).respond(401, json=error_envelope(4004, f"Invalid Token {TOKEN}"))
        router.get(url(OTHER)).respond(401)
        with pytest.raises(errors.AuthenticationError):
            client().get_policy(ORG, PID)
        with pytest.raises(errors.AlreadyFailedError) as short:
            client().get_policy(ORG, OTHER)
    assert TOKEN not in str(short.value)
