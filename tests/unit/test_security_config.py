"""Configuration and server answers an attacker or a careless paste controls (issue 13).

A token that an HTTP header cannot carry and a base URL with credentials are refused when the
settings load, naming the setting and showing nothing of the value; ids that go into a URL path
are checked whole before any request; what a server says reaches the user with the token taken
out, escaped and bounded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.provider.experimental.provider import CheckRequest

from applivery_pulumi.api import errors
from applivery_pulumi.api.client import AppliveryClient
from applivery_pulumi.api.settings import Secret, Settings
from applivery_pulumi.cli import main as cli
from applivery_pulumi.lifecycle import AppleDevicePolicyProvider
from applivery_pulumi.plugin.codec import property_map
from applivery_pulumi.plugin.server import AppliveryProvider

from .unit_support import BASE, ORG, PID, TOKEN, error_envelope, mocked, policy_path

HEAD, TAIL = "tokHEAD7f3a", "tokTAIL9c1e"
# What README promises: at most this many characters of a server's message.
SERVER_TEXT_LIMIT = 300
BAD_CHARACTERS = ["\r", "\n", "\r\n", "\x00", "\t", "\x1b", "\x7f", "\u2028", "é"]


def one_sentence(message: str) -> None:
    assert "\n" not in message and "\r" not in message
    assert "Traceback" not in message
    assert len(message) < 600, len(message)


# -- the token --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_CHARACTERS)
@pytest.mark.parametrize("source", ["config", "environment"])
def test_a_token_a_header_cannot_carry_is_refused_naming_the_setting(bad: str, source: str) -> None:
    token = HEAD + bad + TAIL
    config = {"applivery:apiToken": token} if source == "config" else {}
    env = {"APPLIVERY_API_TOKEN": token} if source == "environment" else {}
    with pytest.raises(errors.ConfigurationError) as caught:
        Settings.load(Config(config, "proj").get, env)
    message = str(caught.value)
    named = "applivery:apiToken" if source == "config" else "APPLIVERY_API_TOKEN"
    assert message.startswith(named), message
    assert "one line" in message
    for text in (message, repr(caught.value)):
        assert HEAD not in text and TAIL not in text
    one_sentence(message)


def test_the_provider_refuses_such_a_token_when_configured() -> None:
    provider = AppleDevicePolicyProvider()
    raw = {"applivery:apiToken": f"{HEAD}\r\n{TAIL}", "applivery:baseUrl": BASE}
    with pytest.raises(errors.ConfigurationError) as caught:
        provider.configure(ConfigureRequest(Config(raw, "proj")))
    assert "applivery:apiToken" in str(caught.value)
    assert HEAD not in str(caught.value) and TAIL not in str(caught.value)


def test_surrounding_whitespace_is_trimmed_not_refused() -> None:
    # `echo token | pulumi config set --secret ...` and `$(cat file)` leave a line break at the end.
    settings = Settings.load(Config({"applivery:apiToken": f" {TOKEN}\r\n"}, "p").get, {})
    assert settings.api_token == Secret(TOKEN)


def test_settings_made_without_load_refuse_such_a_token_where_they_are_made() -> None:
    # Settings are checked in one place, however they are made: the client trusts them.
    with pytest.raises(errors.ConfigurationError) as caught:
        Settings(api_token=Secret(f"{HEAD}\n{TAIL}"), base_url=BASE)
    assert str(caught.value).startswith("the API token holds a character")
    assert HEAD not in str(caught.value) and TAIL not in str(caught.value)


# -- the base URL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://userMARK:passMARK@api.example",
        "https://userMARK@api.example/",
        "https://:passMARK@api.example/v",
        "http://userMARK:passMARK@127.0.0.1:8787",
        "https://api.example\\@evil.example",
        "HTTPS://userMARK:passMARK@api.example?x=1",
    ],
)
@pytest.mark.parametrize("source", ["config", "environment"])
def test_a_base_url_with_credentials_is_refused(url: str, source: str) -> None:
    config = {"applivery:baseUrl": url} if source == "config" else {}
    env = {"APPLIVERY_BASE_URL": url} if source == "environment" else {}
    with pytest.raises(errors.ConfigurationError) as caught:
        Settings.load(Config(config, "proj").get, env)
    message = str(caught.value)
    named = "applivery:baseUrl" if source == "config" else "APPLIVERY_BASE_URL"
    assert message.startswith(named) and "credentials" in message
    assert "MARK" not in message and "evil" not in message
    one_sentence(message)
    with pytest.raises(errors.ConfigurationError):
        Settings(api_token=Secret(TOKEN), base_url=url)


def test_an_at_sign_in_the_path_is_fine() -> None:
    url = "https://api.example/v1@x"
    assert Settings.load(Config({"applivery:baseUrl": url}, "p").get, {}).base_url == url


# -- where the token may go (issue 23) ---------------------------------------------------------

ALLOWED = "https://, or http:// to this machine only (localhost, 127.0.0.0/8 or [::1]"
# Plain http to anything but a literal loopback address or the name localhost.
PLAIN_HTTP_ELSEWHERE = [
    "http://203.0.113.7:8080",
    "http://api.applivery.io",
    "HTTP://API.APPLIVERY.IO/",
    "http://0.0.0.0:8787",
    "http://[::]:8787",
    "http://[::ffff:127.0.0.1]:8787",  # IPv4-mapped
    "http://[::ffff:7f00:1]:8787",
    "http://[::1%25lo]:8787",  # with a zone
    "http://127.1:8787",  # what inet_aton reads as 127.0.0.1, ipaddress does not
    "http://2130706433:8787",
    "http://0x7f.0.0.1:8787",
    "http://0177.0.0.1:8787",
    "http://localhost.:8787",
    "http://api.localhost:8787",
    "http://localhost.example.com:8787",
]
OTHER_SCHEMES = [
    "file:///etc/passwd",
    "ftp://api.applivery.io",
    "ws://127.0.0.1:8787",
    "api.applivery.io",
    "//api.applivery.io",
    "userMARK:passMARK@api.example",
]
NOT_AN_API_ROOT = [
    "https://",
    "https:///v1",
    "http://:8787",
    "https://api.example?x=1",
    "https://api.example/?a=b@c",
    "https://api.example#@",
    "https://api.example:99999",
    "https://api.example:x",
    "http://[::1]evil.example:8787",
    "http://evil.example[::1]:8787",
    "http://[::1",
    "https://api .example",
    "https://api\t.example",
    "https://\u00e9.example",
]
REFUSED = PLAIN_HTTP_ELSEWHERE + OTHER_SCHEMES + NOT_AN_API_ROOT
ACCEPTED = [
    "https://api.applivery.io",
    "https://api.applivery.io/",
    "HTTPS://api.applivery.io:443/",
    "https://api.example/prefix/",
    "https://203.0.113.7:8443",
    "http://127.0.0.1:8787",
    "http://127.0.0.1:8787/",
    "http://127.9.8.7:1",
    "http://localhost:8787",
    "http://LOCALHOST:8787/",
    "http://[::1]:8787",
    "http://[0:0:0:0:0:0:0:1]:8787",
]


def assert_refused(message: str, named: str) -> None:
    assert message.startswith(f"{named} "), message
    assert TOKEN not in message and "MARK" not in message and "evil" not in message
    one_sentence(message)


@pytest.mark.parametrize("url", REFUSED)
@pytest.mark.parametrize("source", ["config", "environment"])
def test_a_base_url_the_token_must_not_go_to_is_refused_before_any_request(
    url: str, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = {"applivery:apiToken": TOKEN, "applivery:organizationId": ORG}
    if source == "config":
        raw["applivery:baseUrl"] = url
    else:
        monkeypatch.setenv("APPLIVERY_BASE_URL", url)
    provider = AppleDevicePolicyProvider()
    with mocked() as router:
        router.route().respond(200, json={"status": True, "data": {"id": PID}})
        with pytest.raises(errors.ConfigurationError) as caught:
            provider.configure(ConfigureRequest(Config(raw, "proj")))
            provider.read(f"{ORG}/{PID}", {})
        assert not router.calls, "no request may be sent"
    assert_refused(
        str(caught.value), "applivery:baseUrl" if source == "config" else "APPLIVERY_BASE_URL"
    )
    with pytest.raises(errors.ConfigurationError) as caught:
        Settings(api_token=Secret(TOKEN), base_url=url)
    assert_refused(str(caught.value), "the base URL")


@pytest.mark.parametrize("url", PLAIN_HTTP_ELSEWHERE + OTHER_SCHEMES[:-1])
def test_the_refusal_says_what_is_allowed_and_why(url: str) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        Settings.load(Config({"applivery:baseUrl": url}, "p").get, {})
    assert f"must start with {ALLOWED}" in str(caught.value)
    assert "every request carries the API token" in str(caught.value)


@pytest.mark.parametrize("url", ACCEPTED)
def test_an_https_url_or_plain_http_to_this_machine_is_used(url: str) -> None:
    raw = {"applivery:apiToken": TOKEN, "applivery:baseUrl": url}
    settings = Settings.load(Config(raw, "p").get, {})
    assert settings.base_url == url.rstrip("/")
    with mocked() as router:
        route = router.route().respond(200, json={"status": True, "data": {"id": PID}})
        AppliveryClient(settings, max_attempts=1).get_policy(ORG, PID)
    sent = route.calls.last.request
    assert str(sent.url).lower().startswith(url.rstrip("/").lower().replace(":443", ""))
    assert (
        sent.url.path.endswith(policy_path()) and sent.headers["authorization"] == f"Bearer {TOKEN}"
    )


@pytest.mark.parametrize("url", ["http://203.0.113.7:8080", "file:///etc/passwd", "https://"])
def test_the_plugins_check_config_refuses_it_naming_base_url(url: str) -> None:
    news = property_map({"apiToken": TOKEN, "baseUrl": url, "organizationId": ORG})
    urn = "urn:pulumi:test::proj::pulumi:providers:applivery::acme"
    result = asyncio.run(AppliveryProvider().check_config(CheckRequest(urn, {}, news, b"")))
    [failure] = result.failures or []
    assert failure.property == "baseUrl"
    assert_refused(failure.reason, "applivery:baseUrl")


@pytest.mark.parametrize("source", ["flag", "environment"])
def test_export_refuses_it_before_any_request(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://203.0.113.7:8080"
    monkeypatch.setenv("APPLIVERY_API_TOKEN", TOKEN)
    argv = ["export", "--organization", ORG, "--out", str(tmp_path / "out")]
    if source == "flag":
        argv += ["--base-url", url]
    else:
        monkeypatch.setenv("APPLIVERY_BASE_URL", url)
    with mocked() as router:
        router.route().respond(200, json={"status": True, "data": []})
        assert cli.main(argv) == 2
        assert not router.calls, "no request may be sent"
    out = capsys.readouterr()
    assert out.out == "" and not (tmp_path / "out").exists()
    assert_refused(
        out.err.removeprefix("error: ").rstrip("\n"),
        "--base-url" if source == "flag" else "APPLIVERY_BASE_URL",
    )


def test_export_with_a_good_flag_ignores_a_refused_environment_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPLIVERY_API_TOKEN", TOKEN)
    monkeypatch.setenv("APPLIVERY_BASE_URL", "http://203.0.113.7:8080")
    argv = ["export", "--organization", ORG, "--out", str(tmp_path), "--base-url", BASE]
    body = {"items": [], "page": 1, "totalPages": 1, "hasNextPage": False}
    with mocked() as router:
        route = router.route().respond(200, json={"status": True, "data": body})
        assert cli.main(argv) == 0
    assert route.calls.last.request.url.host == httpx.URL(BASE).host


@pytest.mark.parametrize("raw", ["0", "-1", "nan", "inf", "soon"])
@pytest.mark.parametrize("source", ["config", "environment"])
def test_a_retry_budget_that_is_not_seconds_is_refused_naming_the_setting(
    raw: str, source: str
) -> None:
    config = {"applivery:maxRetrySeconds": raw} if source == "config" else {}
    env = {"APPLIVERY_MAX_RETRY_SECONDS": raw} if source == "environment" else {}
    with pytest.raises(errors.ConfigurationError) as caught:
        Settings.load(Config(config, "proj").get, env)
    named = "applivery:maxRetrySeconds" if source == "config" else "APPLIVERY_MAX_RETRY_SECONDS"
    assert str(caught.value).startswith(f"{named} must be a number of seconds above 0")


@pytest.mark.parametrize(
    ("made", "refusal"),
    [
        ({"max_retry_seconds": 0.0}, "maxRetrySeconds must be a number of seconds above 0, not 0"),
        (
            {"max_retry_seconds": float("inf")},
            "maxRetrySeconds must be a number of seconds above 0, not inf",
        ),
        (
            {"max_requests_per_second": -2.0},
            "maxRequestsPerSecond must be a number of requests per second above 0, not -2",
        ),
    ],
)
def test_settings_made_without_load_refuse_numbers_below_or_beyond_range(
    made: dict[str, float], refusal: str
) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        Settings(api_token=Secret(TOKEN), base_url=BASE, **made)
    assert str(caught.value) == refusal


# -- ids in the URL path ----------------------------------------------------------------------


def client() -> AppliveryClient:
    return AppliveryClient(Settings(api_token=Secret(TOKEN), base_url=BASE), max_attempts=1)


CALLS: dict[str, Callable[[AppliveryClient, str, str], Any]] = {
    "get": lambda c, org, pid: c.get_policy(org, pid),
    "put": lambda c, org, pid: c.put_policy(org, pid, {"name": "x"}),
    "list": lambda c, org, _pid: c.list_policies(org),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    "org",
    [
        "acme/../../_emulator",
        "acme-corp\n",
        "acme\x00corp",
        "ac",
        "acme corp",
        "acme%2F..",
        "x" * 300 + "/",
        "",
    ],
)
def test_an_organization_id_that_is_not_one_is_refused_before_any_request(
    call: str, org: str
) -> None:
    with mocked() as router:
        with pytest.raises(errors.ConfigurationError) as caught:
            CALLS[call](client(), org, PID)
        assert not router.calls, "no request may be sent"
    message = str(caught.value)
    assert "organization id" in message and repr(org)[:40] in message
    one_sentence(message)
    assert len(message) < 400


@pytest.mark.parametrize("call", ["get", "put"])
@pytest.mark.parametrize(
    "policy_id",
    [PID + "\n", "../../_emulator/counters", PID[:-1], PID + "0", PID[:-1] + "g", " " + PID[1:]],
)
def test_a_policy_id_that_is_not_one_is_refused_before_any_request(
    call: str, policy_id: str
) -> None:
    with mocked() as router:
        with pytest.raises(errors.ConfigurationError) as caught:
            CALLS[call](client(), ORG, policy_id)
        assert not router.calls, "no request may be sent"
    message = str(caught.value)
    assert "policy id" in message and repr(policy_id) in message
    one_sentence(message)


def test_an_import_id_leading_elsewhere_sends_nothing() -> None:
    provider = AppleDevicePolicyProvider()
    raw = {"applivery:apiToken": TOKEN, "applivery:baseUrl": BASE}
    provider.configure(ConfigureRequest(Config(raw, "proj")))
    with mocked() as router:
        with pytest.raises(errors.ConfigurationError) as caught:
            provider.read(f"acme/../../_emulator/organizations/acme/{PID}", {})
        assert not router.calls
    assert "organization id 'acme/../../_emulator/organizations/acme'" in str(caught.value)


# -- what the server says ---------------------------------------------------------------------


def failure(status: int, payload: Any) -> errors.AppliveryError:
    with mocked() as router:
        router.get(f"{BASE}{policy_path()}").respond(status, json=payload)
        with pytest.raises(errors.AppliveryError) as caught:
            client().get_policy(ORG, PID)
    return caught.value


@pytest.mark.parametrize(("status", "code"), [(400, 5086), (401, 4004), (403, 1), (409, 7)])
def test_a_server_message_echoing_the_token_is_shown_without_it(status: int, code: int) -> None:
    echo = f"bad request; headers: Authorization: Bearer {TOKEN}; x-debug={TOKEN}"
    err = failure(status, error_envelope(code, echo))
    for text in (str(err), repr(err)):
        assert TOKEN not in text
        assert "[redacted]" in text
    assert "bad request; headers: Authorization: Bearer [redacted]" in str(err)


def test_a_server_message_with_any_bearer_credential_is_redacted() -> None:
    err = failure(400, error_envelope(1, "seen: authorization=Bearer someone-elses.token"))
    assert "someone-elses" not in str(err) and "Bearer [redacted]" in str(err)


def test_a_long_server_message_is_bounded() -> None:
    err = failure(400, error_envelope(1, "A" * 100_000))
    assert str(err).count("A") <= SERVER_TEXT_LIMIT
    assert len(str(err)) < SERVER_TEXT_LIMIT + 200


def test_control_characters_from_the_server_are_escaped() -> None:
    err = failure(400, error_envelope(1, "red\x1b[31m\r\nFAKE: line\u202eevil"))
    message = str(err)
    assert "\x1b" not in message and "\n" not in message and "\u202e" not in message
    assert "\\x1b[31m\\r\\nFAKE" in message and "\\u202e" in message


@pytest.mark.parametrize("code", [float("inf"), float("nan"), 1e400, "4004", True, None])
def test_an_odd_error_code_is_no_traceback(code: Any) -> None:
    payload = {"status": False, "error": {"code": code, "message": "odd"}}
    with mocked() as router:
        # json.dumps writes Infinity and NaN, which the client's JSON parser reads back.
        router.get(f"{BASE}{policy_path()}").respond(
            400, content=json.dumps(payload).encode(), headers={"content-type": "application/json"}
        )
        with pytest.raises(errors.BadRequestError) as caught:
            client().get_policy(ORG, PID)
    assert "odd" in str(caught.value)


def test_a_content_type_from_the_server_is_bounded_and_escaped() -> None:
    with mocked() as router:
        router.get(f"{BASE}{policy_path()}").respond(
            200, content=b"<html>", headers={"content-type": "text/" + "x" * 500 + "\x1b"}
        )
        with pytest.raises(errors.InvalidResponseError) as caught:
            client().get_policy(ORG, PID)
    assert len(str(caught.value)) < 300 and "\x1b" not in str(caught.value)


@pytest.mark.parametrize(
    "raised",
    [
        httpx.LocalProtocolError(f"Illegal header value b'Bearer {TOKEN}'"),
        httpx.ConnectError(f"proxy refused CONNECT with Authorization: Bearer {TOKEN}"),
        httpx.ReadError(f"reset while sending {TOKEN}"),
        httpx.DecodingError(f"cannot decode body of request with {TOKEN}"),
        httpx.UnsupportedProtocol(f"no protocol for {TOKEN}"),
    ],
)
def test_no_httpx_exception_text_carries_the_token(raised: Exception, monkeypatch: Any) -> None:
    monkeypatch.setattr("time.sleep", lambda _s: None)
    with mocked() as router:
        router.get(f"{BASE}{policy_path()}").mock(side_effect=raised)
        with pytest.raises(errors.AppliveryError) as caught:
            client().get_policy(ORG, PID)
    err = caught.value
    assert err.__cause__ is None and err.__suppress_context__
    for text in (str(err), repr(err)):
        assert TOKEN not in text
    assert "applivery:baseUrl" in str(err)
    one_sentence(str(err))
