"""What bounds one attempt of the client: its wall-clock time and the size of the answer it reads.

httpx's timeouts bound each connect, read and write on its own: a server sending one byte a
second never trips them, before its headers as after.  The deadline of an attempt is kept per
thread (a synchronous request does all its I/O in the thread that sends it) and every call into
httpcore's network backend waits at most what is left of it.

httpx decodes a compressed body a network read at a time, and a 64 KiB read of gzip can inflate
to 64 MiB: the body is read raw and inflated with zlib's ``max_length``, so no more than the cap
is ever held.  httpcore is imported by httpx whenever a client is built; importing it here costs
the client nothing more.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterable
from typing import Any, Final

import httpcore
import httpx

# A policy is a few KiB, a page of 50 of them a few hundred: anything longer is not the API.
MAX_ANSWER_BYTES: Final = 4 * 1024 * 1024
_WBITS: Final = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}

_attempt = threading.local()


class AnswerTooLarge(Exception):
    """The answer holds more than the cap once decoded."""


def start(seconds: float) -> float:
    """Give the calling thread's attempt ``seconds`` from now; returns the deadline."""
    _attempt.deadline = deadline = time.monotonic() + seconds
    return deadline


def end() -> None:
    _attempt.deadline = None


def _left(timeout: float | None, late: type[Exception]) -> float | None:
    """The phase's timeout, shortened to what is left of the attempt (raising ``late`` if none)."""
    deadline: float | None = getattr(_attempt, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
        )
        return _Stream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def bound_network(client: httpx.Client) -> int:
    """Put the deadline in front of the network backend of each connection pool of ``client``
    (its own transport and those of proxies from the environment); returns how many.

    httpx offers no hook for it: the pools are reached through private attributes, and a
    transport that holds none (a mock) keeps only the deadline checked between body chunks.
    """
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    bound = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
            bound += 1
    return bound


def read_body(response: httpx.Response, deadline: float, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """The decoded body of a streamed ``response``: at most ``limit`` bytes, by ``deadline``.

    Raises :class:`AnswerTooLarge`, ``httpx.ReadTimeout`` past the deadline and
    ``httpx.DecodingError`` for a body that is not the gzip or deflate it says it is.
    """
    if response.is_stream_consumed:  # an answer built in memory (a mock transport)
        body = response.content
        if len(body) > limit:
            raise AnswerTooLarge
        return body
    inflate = _inflater(response.headers.get("content-encoding"))
    parts: list[bytes] = []
    size = 0
    for raw in response.iter_raw():
        # One byte more than the room left: enough to know the cap is passed, never more.
        chunk = inflate(raw, limit - size + 1) if inflate is not None else raw
        size += len(chunk)
        if size > limit:
            raise AnswerTooLarge
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the attempt's deadline has passed")
        parts.append(chunk)
    return b"".join(parts)


def _inflater(encoding: str | None) -> Callable[[bytes, int], bytes] | None:
    names = [n.strip().lower() for n in (encoding or "").split(",")]
    names = [n for n in names if n and n != "identity"]
    if not names:
        return None
    if len(names) > 1 or names[0] not in _WBITS:
        raise httpx.DecodingError("the content encoding is not gzip or deflate alone")
    decompressor = zlib.decompressobj(_WBITS[names[0]])

    def inflate(data: bytes, max_length: int) -> bytes:
        try:
            return decompressor.decompress(data, max_length)
        except zlib.error as exc:
            raise httpx.DecodingError(str(exc)) from None

    return inflate
