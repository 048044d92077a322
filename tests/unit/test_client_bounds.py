"""The client's bounds against a real HTTP server on 127.0.0.1: the time of a call, and any
``Retry-After``."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from applivery_pulumi import errors
from applivery_pulumi.client import AppliveryClient, _retry_after
from applivery_pulumi.settings import Secret, Settings

from .unit_support import ORG, PID, TOKEN, envelope, mocked, policy_path

Respond = Callable[[socket.socket, threading.Event], None]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def serving(respond: Respond) -> Iterator[str]:
    """A server answering every request with ``respond(socket, stop)``; yields its base URL."""
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            head = b""
            while b"\r\n\r\n" not in head:
                data = self.request.recv(65536)
                if not data:
                    return
                head += data
            with contextlib.suppress(OSError):  # the client hung up: what is being tested
                respond(self.request, stop)

    server = _Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def client(base: str, **kwargs: Any) -> AppliveryClient:
    settings = Settings(api_token=Secret(TOKEN), base_url=base, organization_id=ORG)
    return AppliveryClient(settings, **kwargs)


def head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# -- the time of a call ---------------------------------------------------------


def test_a_huge_retry_after_waits_no_longer_than_the_budget() -> None:
    def limited(sock: socket.socket, _stop: threading.Event) -> None:
        sock.sendall(head("429 Too Many Requests", Retry_After="999999", Content_Length="0"))

    with serving(limited) as base:
        settings = Settings(api_token=Secret(TOKEN), base_url=base, max_retry_seconds=1.0)
        started = time.monotonic()
        with pytest.raises(errors.RateLimitedError):
            AppliveryClient(settings).get_policy(ORG, PID)
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2.5, elapsed  # about the 1 s budget, not the 30 s cap of a wait


# -- Retry-After values ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "¹²", "\u0663", "\uff13", "1.5", "-3", "0x10"])
def test_a_retry_after_that_is_not_ascii_seconds_or_a_date_is_ignored(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    limited = httpx.Response(429, headers=[(b"Retry-After", value.encode())])
    with mocked() as router:
        url = f"https://api.applivery.test{policy_path()}"
        router.get(url).mock(side_effect=[limited, httpx.Response(200, json=envelope({}))])
        settings = Settings(api_token=Secret(TOKEN), base_url="https://api.applivery.test")
        AppliveryClient(settings, backoff_initial=0.01, backoff_max=0.5).get_policy(ORG, PID)
    (wait,) = waits
    assert 0 <= wait <= 0.5  # the backoff's, as with no Retry-After


@given(st.text(max_size=40))
def test_any_retry_after_value_is_understood_or_ignored(value: str) -> None:
    seconds = _retry_after(value)
    assert seconds is None or seconds >= 0
