"""The HTTP client: bounded retries, Retry-After, and one actionable error per failure."""

from __future__ import annotations

import email.utils
import http.server
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from applivery_pulumi.api import errors
from applivery_pulumi.api.client import AppliveryClient
from applivery_pulumi.api.settings import Secret, Settings

from .unit_support import BASE, ORG, PID, TOKEN, envelope, error_envelope, mocked, policy_path

URL = f"{BASE}{policy_path()}"
DOC = {"id": PID, "name": "Corporate"}
ATTEMPTS = 4


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between attempts, recorded instead of slept (tenacity sleeps via time.sleep)."""
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


def client(**kwargs: Any) -> AppliveryClient:
    settings = Settings(api_token=Secret(TOKEN), base_url=BASE, organization_id=ORG)
    options: dict[str, Any] = {"max_attempts": ATTEMPTS, "backoff_initial": 0.01} | kwargs
    return AppliveryClient(settings, **options)


def answers(*items: httpx.Response | Exception) -> list[Any]:
    """A respx side effect giving ``items`` in turn (exceptions are raised)."""
    # A list, not a raising callable: respx chains an exception raised by a callable to itself.
    return list(items)


def ok() -> httpx.Response:
    return httpx.Response(200, json=envelope(DOC))


# -- retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(status: int, waits: list[float]) -> None:
    with mocked() as router:
        route = router.get(URL).mock(side_effect=answers(httpx.Response(status), ok()))
        c = client()
        assert c.get_policy(ORG, PID) == DOC
    assert route.call_count == 2
    assert c.retries == 1 and len(waits) == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, errors.RateLimitedError), (503, errors.ServerError), (500, errors.ServerError)],
)
def test_retries_are_bounded(status: int, kind: type[Exception], waits: list[float]) -> None:
    with mocked() as router:
        route = router.put(URL).respond(status)
        with pytest.raises(kind) as caught:
            client().put_policy(ORG, PID, {"name": "x"})
    assert route.call_count == ATTEMPTS
    assert len(waits) == ATTEMPTS - 1
    assert str(status) in str(caught.value) and PID in str(caught.value)


def test_the_default_bound_is_a_handful_of_attempts(waits: list[float]) -> None:
    with mocked() as router:
        route = router.get(URL).respond(502)
        with pytest.raises(errors.ServerError):
            AppliveryClient(Settings(api_token=Secret(TOKEN), base_url=BASE)).get_policy(ORG, PID)
    assert 2 <= route.call_count <= 10
    assert sum(waits) <= 120  # and never longer than the total budget


def test_backoff_grows_and_stays_capped(waits: list[float]) -> None:
    with mocked() as router:
        router.get(URL).respond(500)
        with pytest.raises(errors.ServerError):
            client(max_attempts=8, backoff_initial=0.5, backoff_max=4.0).get_policy(ORG, PID)
    assert len(waits) == 7
    assert all(0 <= w <= 4.0 + 1e-9 for w in waits)
    assert max(waits) > waits[0]


def test_the_total_time_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    with mocked() as router:
        route = router.get(URL).respond(429, headers={"Retry-After": "25"})
        with pytest.raises(errors.RateLimitedError):
            client(max_attempts=100, max_total_seconds=60.0).get_policy(ORG, PID)
    assert route.call_count <= 4  # 25 s apart, 60 s in all


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=["refused", "timeout", "dropped"],
)
def test_connection_failures_are_retried(failure: Exception, waits: list[float]) -> None:
    with mocked() as router:
        route = router.get(URL).mock(side_effect=answers(failure, failure, ok()))
        assert client().get_policy(ORG, PID) == DOC
    assert route.call_count == 3


def test_connection_failures_are_bounded_too(waits: list[float]) -> None:
    with mocked() as router:
        route = router.get(URL).mock(side_effect=httpx.ConnectError("[Errno 111] refused"))
        with pytest.raises(errors.TransportError):
            client().get_policy(ORG, PID)
    assert route.call_count == ATTEMPTS


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 5086, errors.AttachedProfileError),
        (400, 9999, errors.BadRequestError),
        (401, 4004, errors.AuthenticationError),
        (403, None, errors.AuthenticationError),
        (404, 3001, errors.NotFoundError),
    ],
)
def test_client_errors_are_not_retried(
    status: int, code: int | None, kind: type[Exception], waits: list[float]
) -> None:
    with mocked() as router:
        route = router.put(URL).respond(status, json=error_envelope(code or 0, "no"))
        with pytest.raises(kind):
            client().put_policy(ORG, PID, {"name": "x"})
    assert route.call_count == 1
    assert waits == []


# -- Retry-After ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_honoured(status: int, waits: list[float]) -> None:
    with mocked() as router:
        limited = httpx.Response(status, headers={"Retry-After": "7"})
        router.get(URL).mock(side_effect=answers(limited, limited, ok()))
        assert client().get_policy(ORG, PID) == DOC
    assert len(waits) == 2
    assert all(7.0 <= wait <= 8.0 for wait in waits), waits  # never earlier, a little jitter


def test_retry_after_http_date_is_honoured(waits: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 12, usegmt=True)
    with mocked() as router:
        limited = httpx.Response(429, headers={"Retry-After": when})
        router.get(URL).mock(side_effect=answers(limited, ok()))
        client().get_policy(ORG, PID)
    (wait,) = waits
    assert 9.0 <= wait <= 13.5


def test_an_absurd_retry_after_is_capped(waits: list[float]) -> None:
    with mocked() as router:
        limited = httpx.Response(429, headers={"Retry-After": "86400"})
        router.get(URL).mock(side_effect=answers(limited, ok()))
        client().get_policy(ORG, PID)
    (wait,) = waits
    assert 0 < wait <= 60


def test_a_garbled_retry_after_falls_back_to_backoff(waits: list[float]) -> None:
    with mocked() as router:
        limited = httpx.Response(429, headers={"Retry-After": "soon"})
        router.get(URL).mock(side_effect=answers(limited, ok()))
        client(backoff_initial=0.01, backoff_max=0.5).get_policy(ORG, PID)
    (wait,) = waits
    assert 0 <= wait <= 0.5


# -- errors ---------------------------------------------------------------------------------------


def failure_of(respond: Callable[[Any], Any], waits: list[float] | None = None) -> Exception:
    with mocked() as router:
        respond(router.route(method="PUT", url=URL))
        router.get(URL).respond(200, json=envelope(DOC))
        with pytest.raises(errors.AppliveryError) as caught:
            client(max_attempts=2).put_policy(ORG, PID, {"name": "x"})
    return caught.value


def one_sentence(message: str) -> None:
    assert "\n" not in message
    assert "Traceback" not in message and "<html" not in message.lower()
    assert len(message) < 400


@pytest.mark.parametrize(("code", "said"), [(4002, "No auth token"), (4004, "Invalid Token")])
def test_authentication_errors_point_at_the_token_setting(code: int, said: str) -> None:
    err = failure_of(lambda r: r.respond(401, json=error_envelope(code, said)))
    assert isinstance(err, errors.AuthenticationError)
    assert "applivery:apiToken" in str(err) and "APPLIVERY_API_TOKEN" in str(err)
    assert said in str(err) and err.code == code and err.status == 401
    one_sentence(str(err))


def test_not_found_names_policy_and_organization() -> None:
    err = failure_of(lambda r: r.respond(404, json=error_envelope(3001, "Entity not found")))
    assert isinstance(err, errors.NotFoundError)
    assert PID in str(err) and ORG in str(err) and "3001" in str(err)
    one_sentence(str(err))


def test_attached_profile_error_carries_the_message_and_advice() -> None:
    message = "Attached adm profiles can not be added"
    err = failure_of(lambda r: r.respond(400, json=error_envelope(5086, message)))
    assert isinstance(err, errors.AttachedProfileError)
    assert message in str(err) and "5086" in str(err)
    assert "profiles" in str(err) and "remove" in str(err)
    one_sentence(str(err))


def test_segment_inheritance_error_carries_the_message_and_advice() -> None:
    message = "Segment inheritance update is blocked by existing references"
    err = failure_of(lambda r: r.respond(400, json=error_envelope(5227, message)))
    assert isinstance(err, errors.SegmentInheritanceError)
    assert message in str(err) and "5227" in str(err)
    assert "segmentId" in str(err) and "exposeToChildren" in str(err)
    one_sentence(str(err))


@pytest.mark.parametrize("status", [200, 404, 401])
def test_an_html_answer_points_at_the_base_url(status: int) -> None:
    page = "<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>"
    err = failure_of(lambda r: r.respond(status, text=page, headers={"content-type": "text/html"}))
    assert isinstance(err, errors.InvalidResponseError)
    assert "applivery:baseUrl" in str(err) and "text/html" in str(err)
    one_sentence(str(err))


@pytest.mark.parametrize(
    "payload",
    [{"status": False}, {"status": True}, ["not", "an", "envelope"], {"data": "text"}],
)
def test_json_that_is_not_the_envelope_points_at_the_base_url(payload: Any) -> None:
    err = failure_of(lambda r: r.respond(200, json=payload))
    assert isinstance(err, errors.InvalidResponseError)
    assert "applivery:baseUrl" in str(err)


def test_connection_refused_is_one_sentence(waits: list[float]) -> None:
    err = failure_of(
        lambda r: r.mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    )
    assert isinstance(err, errors.TransportError)
    assert "Connection refused" in str(err) and BASE in str(err)
    assert "applivery:baseUrl" in str(err)
    one_sentence(str(err))


def test_dns_failure_is_one_sentence(waits: list[float]) -> None:
    failure = httpx.ConnectError("[Errno -2] Name or service not known")
    err = failure_of(lambda r: r.mock(side_effect=failure))
    assert isinstance(err, errors.TransportError)
    assert "DNS" in str(err) and "applivery:baseUrl" in str(err)
    one_sentence(str(err))


@pytest.mark.parametrize("scheme", ["https", "HTTPS"])
def test_an_https_service_with_an_untrusted_certificate_is_refused(
    scheme: str, tmp_path: Path, waits: list[float]
) -> None:
    # A real TLS server with a self-signed certificate: https always verifies (only a plain-http
    # base URL goes without a CA bundle).
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        settings = Settings(api_token=Secret(TOKEN), base_url=base)
        with pytest.raises(errors.TransportError) as caught:
            AppliveryClient(settings, max_attempts=1).get_policy(ORG, PID)
    finally:
        server.shutdown()
        server.server_close()
    assert "TLS handshake failed" in str(caught.value)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


def test_no_token_is_a_configuration_error() -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        AppliveryClient(Settings(api_token=None, base_url=BASE))
    assert "applivery:apiToken" in str(caught.value)


# -- the token stays secret -----------------------------------------------------------------------


def test_the_token_is_sent_as_a_bearer_header() -> None:
    with mocked() as router:
        route = router.get(URL).respond(200, json=envelope(DOC))
        client().get_policy(ORG, PID)
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


def test_the_token_appears_in_no_error_and_no_repr(waits: list[float]) -> None:
    echo = f"Invalid Token for Authorization: Bearer {TOKEN[:6]}"
    scenarios: list[Callable[[Any], Any]] = [
        lambda r: r.respond(401, json=error_envelope(4004, echo)),
        lambda r: r.respond(401, json=error_envelope(4002, "No auth token")),
        lambda r: r.respond(404, json=error_envelope(3001, "Entity not found")),
        lambda r: r.respond(400, json=error_envelope(5086, "Attached adm profiles")),
        lambda r: r.respond(400, json=error_envelope(5227, "Segment inheritance")),
        lambda r: r.respond(500),
        lambda r: r.respond(429),
        lambda r: r.respond(200, text="<html></html>"),
        lambda r: r.mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused")),
        lambda r: r.mock(side_effect=httpx.ConnectError("Name or service not known")),
        lambda r: r.mock(side_effect=httpx.ReadTimeout("timed out")),
    ]
    for scenario in scenarios:
        err = failure_of(scenario)
        for text in (str(err), repr(err), str(err.args)):
            assert TOKEN not in text
        assert err.__cause__ is None or TOKEN not in repr(err.__cause__)
    c = client()
    assert TOKEN not in repr(c) and TOKEN not in str(c)
    with pytest.raises(TypeError):
        c.__getstate__()
