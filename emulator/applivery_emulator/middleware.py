"""The outermost ASGI layer: counters, faults, auth, body cap, access log, last-resort errors.

It wraps the FastAPI application directly (no Starlette middleware in between) so that a
dropped-connection fault can reach the server's transport and close the socket without any
response, which a client sees as a transport error rather than an HTTP status.

The order of its checks, and the 421 for a ``Host`` that is not loopback (a defence against DNS
rebinding), are emulator/README.md's "Order of checks"; admin requests (``/_emulator``) get auth
and the body cap only.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import re
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from . import errors
from .faults import ERROR_BODIES, THROTTLE_BODY, Decision, Faults
from .ratelimit import LIMITED_BODY, RateLimit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("applivery_emulator.access")

POLICIES_TEMPLATE = "/v1/organizations/{organizationId}/mdm/apple/enterprise/policies"
POLICY_TEMPLATE = POLICIES_TEMPLATE + "/{admPolicyId}"
_TEMPLATES = (
    (re.compile(r"^/v1/organizations/[^/]+/mdm/apple/enterprise/policies/?$"), POLICIES_TEMPLATE),
    (
        re.compile(r"^/v1/organizations/[^/]+/mdm/apple/enterprise/policies/[^/]+/?$"),
        POLICY_TEMPLATE,
    ),
)
PUBLIC_ADMIN_PATHS = ("/_emulator/health",)


def route_template(path: str) -> str:
    for pattern, template in _TEMPLATES:
        if pattern.match(path):
            return template
    return "/v1/(unknown route)"


class Counters:
    """Requests to the /v1 API, per 'METHOD template' and per status; admin calls excluded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()

    def hit(self, key: str) -> None:
        with self._lock:
            self._routes[key] += 1

    def answered(self, status: str) -> None:
        with self._lock:
            self._statuses[status] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self._routes.values()),
                "requests": dict(sorted(self._routes.items())),
                "statuses": dict(sorted(self._statuses.items())),
            }

    def reset(self) -> dict[str, Any]:
        with self._lock:
            self._routes.clear()
            self._statuses.clear()
        return self.snapshot()


def host_name(host: str | None) -> str | None:
    """The name or address of a ``Host`` header without its port, lower case; None if garbled."""
    if not host:
        return None
    host = host.strip().lower()
    if host.startswith("["):
        name, bracket, port = host[1:].partition("]")
        if not bracket or (port and not (port.startswith(":") and port[1:].isdigit())):
            return None
        return name
    name, colon, port = host.partition(":")
    if colon and not port.isdigit():
        return None
    return name.removesuffix(".")


def is_loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += extra_headers or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _respond_error(send: Send, status: int, code: int, message: str) -> None:
    body = json.dumps(errors.error_envelope(code, message)).encode()
    await _respond(send, status, body)


def _abort_connection(send: Send) -> bool:
    """Close the client's socket with no response at all (uvicorn h11 and httptools)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is None or transport is None:
        return False
    transport.abort()
    if hasattr(cycle, "disconnected"):
        # so that the server does not try to answer 500 "returned without a response"
        cycle.disconnected = True
    return True


class EmulatorMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        faults: Faults,
        counters: Counters,
        max_body_bytes: int,
        allowed_hosts: tuple[str, ...] = (),
        rate_limit: RateLimit | None = None,
    ) -> None:
        self.app = app
        self.rate_limit = rate_limit or RateLimit()
        self.token = token
        self.faults = faults
        self.counters = counters
        self.max_body_bytes = max_body_bytes
        self.any_host = "*" in allowed_hosts
        self.allowed_hosts = frozenset(
            name for h in allowed_hosts if (name := host_name(h)) is not None
        )

    def _host_allowed(self, scope: Scope) -> bool:
        if self.any_host:
            return True
        name = host_name(_header(scope, b"host"))
        return name is not None and (is_loopback(name) or name in self.allowed_hosts)

    def _auth_error(self, scope: Scope) -> tuple[int, str] | None:
        header = _header(scope, b"authorization")
        if header is None:
            return errors.NO_AUTH_TOKEN, errors.MESSAGES[errors.NO_AUTH_TOKEN]
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return errors.NO_AUTH_TOKEN, errors.MESSAGES[errors.NO_AUTH_TOKEN]
        if not hmac.compare_digest(value.encode(), self.token.encode()):
            return errors.INVALID_TOKEN, errors.MESSAGES[errors.INVALID_TOKEN]
        return None

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None when it is over the cap."""
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _emit_fault(self, decision: Decision, send: Send, raw_send: Send) -> str:
        if decision.kind == "drop":
            if _abort_connection(raw_send):
                await asyncio.sleep(0)
                return "dropped"
            # no transport to close (another server): the nearest thing is a bare 500
            await _respond(send, 500, b"", "text/plain")
            return "500"
        if decision.kind == "throttle":
            await _respond(
                send,
                429,
                THROTTLE_BODY,
                extra_headers=[(b"retry-after", str(decision.retry_after).encode())],
            )
            return "429"
        status = decision.status or 500
        content_type, body = ERROR_BODIES.get(status, ERROR_BODIES[500])
        await _respond(send, status, body, content_type)
        return str(status)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        path = scope["path"]
        if not self._host_allowed(scope):
            # Before counters, faults and auth: such a request is not for this server at all.
            await _respond_error(
                send,
                421,
                421,
                "this emulator answers only requests addressed to localhost, 127.0.0.0/8 or ::1 "
                "(Host header); start it with --allowed-host NAME to answer NAME too",
            )
            access_log.info("%s %s 421 (Host not allowed)", method, path)
            return
        is_api = path == "/v1" or path.startswith("/v1/")
        is_admin = path.startswith("/_emulator")
        state: dict[str, Any] = {"status": None, "fault": None}

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, send, tracked_send, is_api, is_admin, state)
        except Exception:
            access_log.error("internal error on %s %s\n%s", method, path, traceback.format_exc())
            if state["status"] is None:
                state["status"] = 500
                await _respond_error(tracked_send, 500, 500, "Internal Server Error")
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            status = state["status"]
            shown = "dropped" if state["fault"] == "dropped" else str(status or "-")
            if is_api:
                self.counters.answered(shown)
            fault = f" fault={state['fault_label']}" if state.get("fault_label") else ""
            access_log.info("%s %s %s %.1fms%s", method, path, shown, elapsed_ms, fault)

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        raw_send: Send,
        send: Send,
        is_api: bool,
        is_admin: bool,
        state: dict[str, Any],
    ) -> None:
        method = scope["method"]
        decision = Decision()
        if is_api:
            self.counters.hit(f"{method} {route_template(scope['path'])}")
            decision = self.faults.decide(method)
            if decision.latency_s > 0:
                await asyncio.sleep(decision.latency_s)
            if decision.kind and decision.phase == "before":
                state["fault_label"] = decision.label
                state["fault"] = await self._emit_fault(decision, send, raw_send)
                return

        if (is_api or is_admin) and scope["path"] not in PUBLIC_ADMIN_PATHS:
            problem = self._auth_error(scope)
            if problem is not None:
                await _respond_error(send, 401, *problem)
                return

        if is_api:
            # After auth: the bucket is the token's, and a stranger's requests spend none of it.
            _scheme, _, value = (_header(scope, b"authorization") or "").strip().partition(" ")
            wait = self.rate_limit.take(value.strip())
            if wait is not None:
                state["fault_label"] = "rate-limit"
                await _respond(
                    send, 429, LIMITED_BODY, extra_headers=[(b"retry-after", str(wait).encode())]
                )
                return

        if method in ("POST", "PUT", "PATCH"):
            body = await self._read_body(scope, receive)
            if body is None:
                await _respond_error(
                    send,
                    413,
                    errors.VALIDATION_ERROR,
                    f"body: request body too large (limit {self.max_body_bytes} bytes)",
                )
                return
            delivered = False

            async def replay() -> Message:
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            receive = replay

        if decision.kind and decision.phase == "after":
            # the service does the work; the client never hears about it
            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            state["fault_label"] = decision.label
            state["fault"] = await self._emit_fault(decision, send, raw_send)
            return

        await self.app(scope, receive, send)
