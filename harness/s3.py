"""A real S3-compatible object store on loopback, for Pulumi's S3 backend (issue 16).

moto's standalone server (``moto[server]``, PyPI): pure Python, installed with the dev extra, no
binary to download; it serves the S3 API Pulumi's backend needs (put, get, list by prefix,
delete: the stack's lock files are objects under ``.pulumi/locks/``), in memory, which is what
throwaway tests want.

    with start_s3(tmp_path) as s3:
        env = s3.engine_env()      # PULUMI_BACKEND_URL=s3://...?endpoint=..., AWS_* test keys

``python -m harness.s3`` (``scripts/s3-backend``) starts one in the foreground and prints
the variables to export.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

REGION = "us-east-1"
# moto's access log (werkzeug's): `"METHOD /path?query HTTP/1.1" status`, coloured when not 200.
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REQUEST_LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/[\d.]+" \d{3}')
# moto accepts any key; real ones must never reach a test server.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Server:
    """One moto server process on 127.0.0.1 and one bucket in it."""

    def __init__(self, workdir: Path, bucket: str = "pulumi-state") -> None:
        self.workdir = workdir
        self.bucket = bucket
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def backend_url(self) -> str:
        # gocloud.dev's s3blob opener: endpoint and region from the query, path-style addressing
        # (no <bucket>.127.0.0.1 host name to resolve).
        return f"s3://{self.bucket}?endpoint={self.endpoint}&region={REGION}&use_path_style=true"

    def engine_env(self) -> dict[str, str]:
        """What the Pulumi CLI needs to keep its state in this server's bucket."""
        return {
            "PULUMI_BACKEND_URL": self.backend_url,
            "AWS_REGION": REGION,
            **CREDENTIALS,
        }

    def start(self, timeout: float = 60.0) -> S3Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        # A port picked then released may be taken by another process before moto binds it:
        # try a few.
        for _ in range(5):
            self.port = _free_port()
            log = self.log.open("ab")
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **CREDENTIALS},
            )
            log.close()
            if self._wait_ready(deadline):
                self._create_bucket()
                return self
            self.stop()
        raise RuntimeError(f"moto's S3 server did not start; see {self.log}")

    def _wait_ready(self, deadline: float) -> bool:
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.endpoint}/moto-api/", timeout=2).status_code < 500:
                    return True
            time.sleep(0.2)
        return False

    def _create_bucket(self) -> None:
        # An unsigned PUT: moto does not check signatures unless told to.
        r = httpx.put(f"{self.endpoint}/{self.bucket}", timeout=10)
        if r.status_code not in (200, 409):
            raise RuntimeError(f"creating bucket {self.bucket} answered {r.status_code}")

    def objects(self, prefix: str = "") -> list[str]:
        """The keys under ``prefix`` (ListObjectsV2, first 1,000)."""
        import re

        r = httpx.get(
            f"{self.endpoint}/{self.bucket}",
            params={"list-type": "2", "prefix": prefix},
            timeout=10,
        )
        r.raise_for_status()
        return re.findall(r"<Key>([^<]*)</Key>", r.text)

    @property
    def log(self) -> Path:
        return self.workdir / "moto.log"

    def log_size(self) -> int:
        """Where the requests of what runs next start in the log (``requests_since``)."""
        return self.log.stat().st_size

    def requests_since(self, offset: int) -> list[str]:
        """The requests served since ``offset`` of the log, ``"METHOD /path?query"``, in order.

        werkzeug logs a request as it starts its answer, so every request answered so far is in
        the log; a marker request, sent now and waited for, makes that hold for the file too.
        """
        marker = f"/moto-api/?requests-since={offset}-{time.monotonic_ns()}"
        httpx.get(self.endpoint + marker, timeout=10)
        deadline = time.monotonic() + 10
        while True:
            with self.log.open("rb") as log:
                log.seek(offset)
                text = ANSI.sub("", log.read().decode(errors="replace"))
            requests = [f"{m[1]} {m[2]}" for m in REQUEST_LINE.finditer(text)]
            if f"GET {marker}" in requests:
                return [request for request in requests if request != f"GET {marker}"]
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto did not log the marker request; see {self.log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def __enter__(self) -> S3Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextlib.contextmanager
def start_s3(workdir: Path, bucket: str = "pulumi-state") -> Iterator[S3Server]:
    server = S3Server(workdir, bucket)
    try:
        yield server.start()
    finally:
        server.stop()


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="scripts/s3-backend",
        description="An in-memory S3 server (moto) on 127.0.0.1 with one bucket for Pulumi state.",
    )
    parser.add_argument("--bucket", default="pulumi-state")
    parser.add_argument("--dir", default=".state/s3", help="where moto's log goes")
    args = parser.parse_args()
    server = S3Server(Path(args.dir), args.bucket).start()
    for key, value in server.engine_env().items():
        print(f"export {key}='{value}'")
    print(f"# moto S3 on {server.endpoint} (in memory: state is gone when it stops); Ctrl-C stops")
    sys.stdout.flush()
    stop = False

    def on_signal(_sig: int, _frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop and server.process is not None and server.process.poll() is None:
        time.sleep(0.5)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
