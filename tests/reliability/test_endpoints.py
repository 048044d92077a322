"""A wrong base URL fails `pulumi up` with one clear sentence, never a traceback.

Issue 7, item 8: nothing listening, a host that does not resolve (``.invalid``), TLS spoken to a
plain-HTTP port, and a server that answers HTML.  Connection failures are retried: the runs set
``APPLIVERY_MAX_RETRY_SECONDS`` so they stay short (the default budget is 120 s, with 6 tries).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from harness.emulator import Emulator
from harness.project import PulumiProject
from tests.reliability.support import (
    assert_no_traceback,
    declaration,
    error_lines,
    record,
)

pytestmark = pytest.mark.reliability

RETRY_BUDGET = "2"


class _Html(BaseHTTPRequestHandler):
    hits = 0

    def _answer(self) -> None:
        type(self).hits += 1
        body = b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>"
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def html_server() -> Iterator[str]:
    _Html.hits = 0  # counted per server
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_wrong_base_urls_fail_with_one_clear_sentence(
    emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    policy = emu.create_policy(name="Draft")
    project = make_project(emu, env={"APPLIVERY_MAX_RETRY_SECONDS": RETRY_BUDGET})
    project.declare([{"name": "corp", "args": declaration(0, policy["id"])}])
    figures: dict[str, Any] = {"retry_budget_s": float(RETRY_BUDGET)}

    with html_server() as html_url:
        scenarios = {
            "nothing listening": (
                f"http://127.0.0.1:{_free_port()}",
                "the connection failed",
            ),
            "dns failure": ("https://applivery-api.invalid", "could not be resolved (DNS)"),
            "tls to plain http": (f"https://127.0.0.1:{emu.port}", "the TLS handshake failed"),
            "html answer": (html_url, "with text/html, not the API's JSON"),
        }
        emu.reset_counters()
        for label, (url, phrase) in scenarios.items():
            project.config_set("applivery:baseUrl", url)
            started = time.monotonic()
            result = project.run("up", "--yes", check=False, timeout=120)
            seconds = time.monotonic() - started
            assert result.returncode != 0, label
            assert_no_traceback(result)
            about = [ln for ln in error_lines(result) if "Applivery" in ln]
            assert len(about) == 1, (label, error_lines(result))
            line = about[0]
            assert phrase in line and url.split("://")[1] in line, (label, line)
            assert "applivery:baseUrl" in line, line  # says what to check
            sentence = line.removeprefix("error: ")
            assert "\n" not in sentence and sentence.count(". ") == 0, sentence
            figures[label] = {"seconds": round(seconds, 1), "message": sentence}
        figures["html_server_requests"] = _Html.hits

    # The plain-HTTP emulator saw the TLS attempts only as garbage, never as API calls.
    assert emu.counters()["total"] == 0
    assert _Html.hits == 1, "an HTML answer is not the API: no retry"
    assert emu.get_policy(policy["id"])["name"] == "Draft"
    record("wrong_base_urls", figures)
