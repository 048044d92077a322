"""A recording guard between the Pulumi CLI and the target: every request of the provider, the
plugin and ``applivery-pulumi export`` goes through it, so the scenarios can count requests per
policy on a real account too, and a PUT to a policy that is not listed never leaves this machine.

It listens on 127.0.0.1 (plain http to this machine is what the provider accepts) and forwards
GET and PUT of the policy API alone to the target, Authorization header included.
"""

from __future__ import annotations

import collections
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import httpx

from applivery_pulumi.api.paths import POLICIES
from tests.live.target import Target

_FORWARDED: Final = ("authorization", "content-type", "accept", "user-agent")
_RETURNED: Final = ("content-type", "retry-after")


class Requests:
    """What was sent, in order: ``(by, method, policy id or "list")``, ``by`` the CLI (through
    the proxy) or the suite (its own reads, changes and restore); and the PUTs refused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, str, str]] = []
        self.refused: list[str] = []

    def add(self, method: str, what: str, *, by: str = "cli") -> None:
        with self.lock:
            self.seen.append((by, method, what))

    def since(self, mark: int) -> collections.Counter[tuple[str, str]]:
        """The CLI's requests after the first ``mark`` ones."""
        with self.lock:
            return collections.Counter((m, w) for by, m, w in self.seen[mark:] if by == "cli")

    def per_policy(self) -> dict[str, collections.Counter[str]]:
        """``{policy: {"cli GET": n, "suite PUT": n, ...}}``."""
        out: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        with self.lock:
            for by, method, what in self.seen:
                out[what][f"{by} {method}"] += 1
        return dict(out)


class Window:
    """The requests of one step: ``window.count("PUT", policy_id)``."""

    def __init__(self, requests: Requests) -> None:
        self._requests = requests
        self._mark = len(requests.seen)

    def count(self, method: str, what: str) -> int:
        return self._requests.since(self._mark)[(method, what)]

    def writes(self) -> int:
        return sum(n for (m, _), n in self._requests.since(self._mark).items() if m == "PUT")


class GuardProxy:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.requests = Requests()
        prefix = re.escape(POLICIES.format(org=target.organization))
        self._policy = re.compile(prefix + r"(?:/(?P<id>[^/?]+))?/?(?:\?.*)?\Z")
        self._http = httpx.Client(base_url=target.base_url, timeout=60)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> GuardProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def window(self) -> Window:
        """Counts from now on."""
        return Window(self.requests)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy._serve(self, "GET")

            def do_PUT(self) -> None:
                proxy._serve(self, "PUT")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        found = self._policy.match(handler.path)
        if found is None:
            return self._answer(handler, 404, _envelope(3001, "not a policy path of the target"))
        what = found.group("id") or "list"
        if method == "PUT" and what not in self.target.policies:
            with self.requests.lock:
                self.requests.refused.append(what)
            message = f"live suite guard: policy {what} is not listed; no PUT was sent"
            return self._answer(handler, 403, _envelope(4003, message))
        self.requests.add(method, what)
        headers = {k: v for k, v in handler.headers.items() if k.lower() in _FORWARDED}
        try:
            answer = self._http.request(method, handler.path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return self._answer(handler, 502, _envelope(5000, type(exc).__name__))
        returned = {k: v for k, v in answer.headers.items() if k.lower() in _RETURNED}
        self._answer(handler, answer.status_code, answer.content, returned)

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler,
        status: int,
        content: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        for key, value in (headers or {"Content-Type": "application/json"}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)


def _envelope(code: int, message: str) -> bytes:
    return json.dumps({"status": False, "error": {"code": code, "message": message}}).encode()
