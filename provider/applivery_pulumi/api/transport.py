"""One attempt of a request: paced, bounded (see :mod:`~applivery_pulumi.api.bounds`), and its
answer turned into the API's ``data`` or one :class:`~applivery_pulumi.api.errors.AppliveryError`.

What answers at the base URL is untrusted: its text reaches a message only through
:func:`~applivery_pulumi.api.errors.server_text`, and an httpx exception's text only so too.
"""

from __future__ import annotations

import json
import ssl
import time
from typing import Any

import httpx

from applivery_pulumi.api import bounds, errors
from applivery_pulumi.api.pacing import Pacer
from applivery_pulumi.api.retries import retry_after


def http_client(
    base_url: str,
    token: str,
    *,
    timeout: float,
    user_agent: str,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """The connection pool of one client, its network held to each attempt's deadline."""
    http = httpx.Client(
        base_url=base_url,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            # Only what the bounded reader inflates: httpx would add br and zstd when their
            # packages happen to be installed.
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": user_agent,
        },
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        # Keep every connection the engine's parallelism opens (httpx keeps 20 by default): with
        # --parallel 32, a dozen requests would otherwise open a new one each time.
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
        transport=transport,
        follow_redirects=False,
        # A plain-http base URL (a local emulator) never negotiates TLS: loading the CA bundle
        # would only slow down every provider process.  Any other scheme verifies.
        verify=httpx.URL(base_url).scheme != "http",
    )
    bounds.bound_network(http)
    return http


class Transport:
    """Sends one attempt at a time through ``http``; thread-safe, as httpx.Client is."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        token: str,
        attempt_seconds: float,
        pacer: Pacer | None,
        check_token: str = errors.CHECK_THE_SETTING,
    ) -> None:
        self.http = http
        self.base_url = base_url
        self._token = token
        self._attempt_seconds = attempt_seconds
        self._pacer = pacer
        self._check_token = check_token

    def once(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """The ``data`` of the answer to one attempt; ``what`` names the request in errors."""
        if self._pacer is not None:
            # Every attempt takes a slot, retries included: a retry is a request to the limit too.
            self._pacer.acquire()
        deadline = bounds.start(self._attempt_seconds)
        try:
            response = self.http.send(self.http.build_request(method, path, **kwargs), stream=True)
            try:
                body = bounds.read_body(response, deadline)
            finally:
                response.close()
        except bounds.AnswerTooLarge:
            raise errors.ResponseTooLargeError(
                f"Applivery at {self.base_url} answered {method} {path} ({what}) with more than "
                f"{bounds.MAX_ANSWER_BYTES // 2**20} MiB once decoded, where a policy is a few "
                "KiB: the answer was not read further; check applivery:baseUrl",
                status=response.status_code,
            ) from None
        except httpx.TransportError as exc:
            if time.monotonic() >= deadline:
                reason = f"no whole answer came within {self._attempt_seconds:g} s"
            else:
                reason = errors.server_text(_transport_reason(exc), self._token)
            unreachable = errors.TransportError(
                f"could not reach Applivery at {self.base_url}: {reason}; "
                "check applivery:baseUrl and the network"
            )
            if isinstance(exc, httpx.ConnectError):
                # No connection at all (DNS, refused, TLS): no other call gets one either.  A
                # timeout or a dropped connection may be this call's alone.
                unreachable.run_wide = f"could not reach Applivery at {self.base_url}: {reason}"
            raise unreachable from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # Not an answer that could be read (an undecodable body, ...); httpx's own text may
            # quote the request, so only the kind of failure is shown.
            raise errors.InvalidResponseError(
                f"the request for {what} to Applivery at {self.base_url} failed "
                f"({type(exc).__name__}): check applivery:baseUrl",
            ) from None
        finally:
            bounds.end()
        return self._data(response, body, what)

    def _data(self, response: httpx.Response, body: bytes, what: str) -> Any:
        status = response.status_code
        if status == 429 or status >= 500:
            failed = errors.refusal(status, None, what, self._token, self._check_token)
            if isinstance(failed, errors.RateLimitedError | errors.ServerError):
                # A 503 may say when to come back, exactly like a 429.
                failed.retry_after = retry_after(response.headers.get("retry-after"))
            raise failed
        payload = self._json(response, body)
        if not isinstance(payload, dict):
            raise errors.InvalidResponseError(
                f"Applivery at {self.base_url} answered {status} with JSON that is not the API's "
                "envelope: check applivery:baseUrl",
                status=status,
            )
        if not 200 <= status < 300:
            raise errors.refusal(status, payload.get("error"), what, self._token, self._check_token)
        if payload.get("status") is False or "data" not in payload:
            raise errors.InvalidResponseError(
                f"Applivery at {self.base_url} answered {status} without `data` for {what}: "
                "check applivery:baseUrl",
                status=status,
            )
        return payload["data"]

    def _json(self, response: httpx.Response, body: bytes) -> Any:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise errors.InvalidResponseError(
                f"Applivery at {self.base_url} answered {response.status_code} with "
                f"{errors.server_text(kind, '', 60)}, not the API's JSON: check applivery:baseUrl "
                "(the API root, such as https://api.applivery.io)",
                status=response.status_code,
            ) from None


def _transport_reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:  # chains may loop back on themselves
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake failed ({text})"
        cause = cause.__cause__ or cause.__context__
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or ("temporary failure in name resolution" in lowered)
        or "getaddrinfo" in lowered
    ):
        return "the host name could not be resolved (DNS)"
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        return f"the TLS handshake failed ({text})"
    if isinstance(exc, httpx.TimeoutException):
        return f"the request timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"the connection failed ({text})"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "the connection was dropped before an answer came"
    return text
