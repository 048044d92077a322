"""The client's bounds against a real HTTP server on 127.0.0.1: the size of an answer once
decoded, the wall-clock time of an attempt and of a call, and any ``Retry-After``."""

from __future__ import annotations

import contextlib
import gzip
import socket
import socketserver
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from applivery_pulumi.api import errors
from applivery_pulumi.api.client import AppliveryClient
from applivery_pulumi.api.retries import retry_after
from applivery_pulumi.api.settings import Secret, Settings

from .unit_support import ORG, PID, TOKEN, envelope, mocked, policy_path

Respond = Callable[[socket.socket, threading.Event], None]
MiB = 2**20
# Far above the 4 MiB cap, far below what reading a whole 256 MiB answer holds.
MEMORY_BOUND = 64 * MiB
OK_BODY = b'{"status": true, "data": {"id": "%s", "name": "Corporate"}}' % PID.encode()


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


def peak_memory(call: Callable[[], object]) -> tuple[BaseException | None, int]:
    """What ``call`` raised, and the most memory Python held at once meanwhile."""
    tracemalloc.start()
    try:
        call()
    except Exception as exc:  # the caller asserts what it was
        raised: BaseException | None = exc
    else:
        raised = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return raised, peak


# -- the size of an answer ------------------------------------------------------------------------


def chunked_300_mib(sock: socket.socket, stop: threading.Event) -> None:
    sock.sendall(head(Transfer_Encoding="chunked"))
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    for _ in range(300 * 16):
        if stop.is_set():
            return
        sock.sendall(chunk)
    sock.sendall(b"0\r\n\r\n")


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """256 MiB of spaces, gzip-compressed to about 255 KiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b" " * MiB
    bomb = b"".join(packer.compress(block) for _ in range(256)) + packer.flush()
    assert len(bomb) < 300 * 1024
    return bomb


def test_a_huge_chunked_answer_stops_at_the_cap_naming_the_request() -> None:
    with serving(chunked_300_mib) as base:
        raised, peak = peak_memory(lambda: client(base).get_policy(ORG, PID))
    assert peak < MEMORY_BOUND, f"{peak / MiB:.0f} MiB held"
    assert isinstance(raised, errors.ResponseTooLargeError), raised
    assert isinstance(raised, errors.InvalidResponseError)
    text = str(raised)
    assert f"GET {policy_path()}" in text and base in text and PID in text, text
    assert "4 MiB" in text and "applivery:baseUrl" in text


def test_a_gzip_bomb_stops_at_the_cap_without_inflating_it(gzip_bomb: bytes) -> None:
    def bomb(sock: socket.socket, _stop: threading.Event) -> None:
        sock.sendall(head(Content_Encoding="gzip", Content_Length=str(len(gzip_bomb))))
        sock.sendall(gzip_bomb)

    with serving(bomb) as base:
        raised, peak = peak_memory(lambda: client(base).get_policy(ORG, PID))
    assert peak < MEMORY_BOUND, f"{peak / MiB:.0f} MiB held"
    assert isinstance(raised, errors.ResponseTooLargeError), raised
    assert f"GET {policy_path()}" in str(raised) and "4 MiB" in str(raised)


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("identity", bytes)],
)
def test_an_answer_in_any_encoding_the_client_asks_for_is_read(
    encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    body = pack(OK_BODY)

    def answer(sock: socket.socket, _stop: threading.Event) -> None:
        sock.sendall(head(Content_Encoding=encoding, Content_Length=str(len(body))) + body)

    with serving(answer) as base:
        assert client(base).get_policy(ORG, PID) == {"id": PID, "name": "Corporate"}


# -- the time of an attempt and of a call ---------------------------------------------------------


def trickle(sock: socket.socket, stop: threading.Event, what: bytes) -> None:
    """One byte of ``what`` every 0.2 s, for at most 8 s: never silent long enough to time out."""
    for byte in what[:40]:
        if stop.wait(0.2):
            return
        sock.sendall(bytes([byte]))


def trickled_headers(sock: socket.socket, stop: threading.Event) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\n")
    trickle(sock, stop, b"X-Padding: " + b"a" * 100)


def trickled_body(sock: socket.socket, stop: threading.Event) -> None:
    sock.sendall(head(Content_Length="1000"))
    trickle(sock, stop, b" " * 1000)


@pytest.mark.parametrize("respond", [trickled_headers, trickled_body], ids=["headers", "body"])
def test_a_trickling_server_holds_a_call_no_longer_than_the_budget_and_one_attempt(
    respond: Respond,
) -> None:
    # Each read gets a byte within 0.2 s, far within the 1 s timeout of a phase.
    with serving(respond) as base:
        started = time.monotonic()
        with pytest.raises(errors.TransportError) as caught:
            client(base, timeout=1.0, max_total_seconds=0.5).get_policy(ORG, PID)
        elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 1.0 + 1.0, elapsed  # the budget, one attempt, a loaded machine
    assert "no whole answer came within 1 s" in str(caught.value)
    assert base in str(caught.value)


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
    seconds = retry_after(value)
    assert seconds is None or seconds >= 0
