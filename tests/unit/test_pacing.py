"""Client-side pacing (issue 16): applivery:maxRequestsPerSecond paces each attempt of a process."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pulumi.dynamic import Config

from applivery_pulumi.api import errors
from applivery_pulumi.api.client import AppliveryClient
from applivery_pulumi.api.pacing import Pacer, Pacers
from applivery_pulumi.api.settings import Secret, Settings
from applivery_pulumi.plugin.config import failing_setting
from applivery_pulumi.plugin.schema import package_schema

from .unit_support import BASE, ORG, PID, TOKEN, envelope, mocked, policy_path

URL = f"{BASE}{policy_path()}"


def paced_client(rate: float | None, **kwargs: float) -> AppliveryClient:
    settings = Settings(
        api_token=Secret(TOKEN), base_url=BASE, organization_id=ORG, max_requests_per_second=rate
    )
    return AppliveryClient(settings, backoff_initial=0.01, backoff_max=0.02, **kwargs)  # type: ignore[arg-type]


def ok() -> httpx.Response:
    return httpx.Response(200, json=envelope({"id": PID, "name": "Corporate"}))


def test_the_setting_is_off_by_default() -> None:
    assert Settings.load(Config({}, "p").get, {}).max_requests_per_second is None
    with mocked() as router:
        router.get(URL).mock(return_value=ok())
        started = time.monotonic()
        c = paced_client(None)
        for _ in range(20):
            c.get_policy(ORG, PID)
        assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("config", "env", "expected"),
    [
        ({"applivery:maxRequestsPerSecond": "20"}, {}, 20.0),
        ({}, {"APPLIVERY_MAX_REQUESTS_PER_SECOND": "2.5"}, 2.5),
        ({"applivery:maxRequestsPerSecond": "4"}, {"APPLIVERY_MAX_REQUESTS_PER_SECOND": "9"}, 4.0),
    ],
)
def test_the_rate_comes_from_stack_config_then_the_environment(
    config: dict[str, str], env: dict[str, str], expected: float
) -> None:
    assert Settings.load(Config(config, "p").get, env).max_requests_per_second == expected


@pytest.mark.parametrize("raw", ["0", "-3", "nan", "inf", "fast"])
@pytest.mark.parametrize("source", ["config", "environment"])
def test_a_rate_that_is_not_a_positive_number_is_refused_naming_the_setting(
    raw: str, source: str
) -> None:
    config = {"applivery:maxRequestsPerSecond": raw} if source == "config" else {}
    env = {"APPLIVERY_MAX_REQUESTS_PER_SECOND": raw} if source == "environment" else {}
    with pytest.raises(errors.ConfigurationError) as caught:
        Settings.load(Config(config, "p").get, env)
    named = (
        "applivery:maxRequestsPerSecond"
        if source == "config"
        else "APPLIVERY_MAX_REQUESTS_PER_SECOND"
    )
    assert str(caught.value).startswith(f"{named} must be a number of requests per second above 0")
    assert failing_setting(str(caught.value)) == "maxRequestsPerSecond"


def test_the_plugin_schema_offers_the_setting() -> None:
    schema = package_schema("0.1.0")
    variable = schema["config"]["variables"]["maxRequestsPerSecond"]
    assert variable["type"] == "number"
    assert "APPLIVERY_MAX_REQUESTS_PER_SECOND" in variable["description"]
    assert "maxRequestsPerSecond" in schema["provider"]["inputProperties"]


def test_n_requests_at_r_per_second_take_at_least_n_minus_burst_over_r() -> None:
    rate, count = 20.0, 21
    with mocked() as router:
        router.get(URL).mock(return_value=ok())
        c = paced_client(rate)
        started = time.monotonic()
        for _ in range(count):
            c.get_policy(ORG, PID)
        elapsed = time.monotonic() - started
    assert elapsed >= (count - 1) / rate * 0.95
    assert elapsed < (count - 1) / rate + 2.0


def test_threads_of_one_process_share_the_pace() -> None:
    rate, count = 25.0, 26
    with mocked() as router:
        router.get(URL).mock(return_value=ok())
        clients = [paced_client(rate), paced_client(rate)]  # two clients, one process
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: clients[i % 2].get_policy(ORG, PID), range(count)))
        elapsed = time.monotonic() - started
    assert elapsed >= (count - 1) / rate * 0.95


def test_retries_take_a_slot_too_and_still_honour_retry_after() -> None:
    rate = 10.0
    with mocked() as router:
        route = router.get(URL).mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "0"}),
                httpx.Response(503),
                ok(),
            ]
        )
        pacer = Pacer(rate)
        slept: list[float] = []
        original = pacer.acquire

        def counted() -> float:
            slept.append(original())
            return slept[-1]

        pacer.acquire = counted  # type: ignore[method-assign]
        settings = Settings(api_token=Secret(TOKEN), base_url=BASE, organization_id=ORG)
        c = AppliveryClient(settings, backoff_initial=0.01, backoff_max=0.02, pacer=pacer)
        started = time.monotonic()
        assert c.get_policy(ORG, PID)["id"] == PID
        elapsed = time.monotonic() - started
    assert route.call_count == 3
    assert len(slept) == 3  # every attempt went through the pacer
    assert elapsed >= 2 / rate * 0.9


def test_a_registry_shares_one_pacer_per_rate_and_nothing_with_another() -> None:
    # The process's registry is one such object; a test wanting a pace of its own makes its own
    # registry (or pacer) instead of resetting anything.
    process, other = Pacers(), Pacers()
    assert process.at(5.0) is process.at(5.0)
    assert process.at(5.0) is not process.at(6.0)
    assert other.at(5.0) is not process.at(5.0)


def test_the_pacer_is_a_bucket_of_burst_slots() -> None:
    pacer = Pacer(rate=50.0, burst=5)
    started = time.monotonic()
    for _ in range(5):
        pacer.acquire()
    assert time.monotonic() - started < 0.05  # the burst goes at once
    for _ in range(10):
        pacer.acquire()
    assert time.monotonic() - started >= 10 / 50.0 * 0.95


def test_waiters_queue_without_holding_the_lock() -> None:
    pacer = Pacer(rate=40.0)
    done: list[float] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: (pacer.acquire(), done.append(time.monotonic())))
        for _ in range(9)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(done) == 9
    assert max(done) - started >= 8 / 40.0 * 0.95
