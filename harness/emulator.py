"""Start the real Applivery emulator as a subprocess and drive it from tests.

    from harness.emulator import Emulator, start_emulator

    with start_emulator(tmp_path) as emu:          # fresh server, own SQLite file, random token
        policy = emu.create_policy(name="Kiosk")   # admin API: not counted, never faulted
        r = emu.put_policy(policy["id"], {"name": "Kiosk 2"})   # the real /v1 API
        emu.set_faults(error_rate=0.5, fault_seed=7)
        emu.restart()                               # same port, same database

The server is ``python -m applivery_emulator`` on 127.0.0.1 and a free port; the token goes
through the environment (never on the command line); stdout/stderr go to files under the work
directory (``log_text()`` reads the request log).  Helper methods that read or change data use
the ``/_emulator`` admin API so that they neither count in ``counters()`` nor hit faults.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from applivery_pulumi.api.paths import POLICIES

REPO = Path(__file__).resolve().parent.parent
EMULATOR_SRC = REPO / "emulator"
DEFAULT_ORG = "acme-corp"

_SNAKE_FAULTS = {
    "error_rate": "errorRate",
    "error_statuses": "errorStatuses",
    "throttle_rate": "throttleRate",
    "retry_after": "retryAfter",
    "latency_ms": "latencyMs",
    "jitter_ms": "jitterMs",
    "drop_rate": "dropRate",
    "drop_field": "dropField",
    "drop_field_rate": "dropFieldRate",
    "fault_seed": "seed",
}


class EmulatorError(RuntimeError):
    """An admin call failed, or the server did not start."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


def new_object_id() -> str:
    return secrets.token_hex(12)


class Emulator:
    """One emulator server process (see the module docstring)."""

    def __init__(
        self,
        workdir: str | Path,
        *,
        token: str | None = None,
        org: str = DEFAULT_ORG,
        seed: str | Path | Mapping[str, Any] | None = None,
        args: Sequence[str] = (),
        port: int = 0,
        db: str | Path | None = None,
        startup_timeout: float = 30.0,
        create_org: bool = True,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.token = token or "emu-" + secrets.token_urlsafe(24)
        self.org = org
        self.port = port
        self.db_path = Path(db) if db else self.workdir / "emulator.db"
        self.stderr_path = self.workdir / "emulator.stderr.log"
        self.stdout_path = self.workdir / "emulator.stdout.log"
        self.ready_path = self.workdir / "emulator.ready.json"
        self.extra_args = list(args)
        self.startup_timeout = startup_timeout
        self._create_org = create_org
        self.seed_path: Path | None = None
        if isinstance(seed, Mapping):
            self.seed_path = self.workdir / "seed.json"
            self.seed_path.write_text(json.dumps(seed))
        elif seed is not None:
            self.seed_path = Path(seed)
        self.process: subprocess.Popen[bytes] | None = None
        self._http: httpx.Client | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "applivery_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db",
            str(self.db_path),
            "--ready-file",
            str(self.ready_path),
        ]
        if self.seed_path is not None:
            cmd += ["--seed", str(self.seed_path)]
        return cmd + self.extra_args

    def start(self) -> Emulator:
        if self.process is not None and self.process.poll() is None:
            return self
        self.ready_path.unlink(missing_ok=True)
        env = dict(os.environ)
        env["APPLIVERY_EMULATOR_TOKEN"] = self.token
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(EMULATOR_SRC), env.get("PYTHONPATH", "")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        deadline = time.monotonic() + self.startup_timeout
        while True:
            with (
                open(self.stdout_path, "ab") as out,
                open(self.stderr_path, "ab") as err,
            ):
                self.process = subprocess.Popen(
                    self.command(), stdout=out, stderr=err, env=env, cwd=self.workdir
                )
            try:
                self._wait_ready(deadline)
                break
            except EmulatorError:
                # a port just freed by restart() can take a moment to be reusable
                if self.port and time.monotonic() < deadline and "cannot listen" in self.log_text():
                    time.sleep(0.2)
                    continue
                raise
        if self._create_org and self.org:
            self.admin("POST", "/_emulator/organizations", json={"id": self.org})
        return self

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise EmulatorError(
                    f"emulator exited with {code} during start-up:\n{self.log_text()[-3000:]}"
                )
            if self.ready_path.exists():
                try:
                    info = json.loads(self.ready_path.read_text())
                except ValueError:
                    info = None
                if info:
                    self.port = int(info["port"])
                    try:
                        r = httpx.get(f"{self.base_url}/_emulator/health", timeout=2, verify=False)
                        if r.status_code == 200:
                            return
                    except httpx.HTTPError:
                        pass
            time.sleep(0.05)
        self.stop()
        raise EmulatorError(f"emulator did not start in time:\n{self.log_text()[-3000:]}")

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self._http is not None:
            self._http.close()
            self._http = None
        proc, self.process = self.process, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL: a crash, no graceful shutdown."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
        self.stop()

    def restart(self) -> Emulator:
        """Stop and start again on the same port with the same database and token."""
        self.stop()
        return self.start()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        """Everything the server wrote to stderr (the request log) and stdout, so far."""
        text = ""
        for path in (self.stderr_path, self.stdout_path):
            if path.exists():
                text += path.read_text(encoding="utf-8", errors="replace")
        return text

    # ------------------------------------------------------------------ HTTP
    @property
    def http(self) -> httpx.Client:
        """A client with the bearer token and the server's base URL."""
        if self._http is None:
            self._http = self.client()
        return self._http

    def client(self, **kwargs: Any) -> httpx.Client:
        """A new client (caller closes it); kwargs go to httpx.Client. The server is plain
        HTTP on loopback: verify=False only spares the ~30 ms of loading CA certificates."""
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("verify", False)
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.base_url, headers=headers, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call an /_emulator endpoint; return ``data`` or raise EmulatorError."""
        r = self.http.request(method, path, **kwargs)
        try:
            payload = r.json()
        except ValueError:
            payload = None
        if r.status_code >= 400 or not isinstance(payload, dict) or not payload.get("status"):
            raise EmulatorError(f"{method} {path} -> {r.status_code}: {r.text[:500]}", r)
        return payload.get("data")

    def policies_path(self, org: str | None = None) -> str:
        return POLICIES.format(org=org or self.org)

    def policy_path(self, policy_id: str, org: str | None = None) -> str:
        return f"{self.policies_path(org)}/{policy_id}"

    def policy_url(self, policy_id: str, org: str | None = None) -> str:
        return self.base_url + self.policy_path(policy_id, org)

    # the real API (counted, subject to faults) --------------------------------------------
    def api_get_policy(self, policy_id: str, org: str | None = None) -> httpx.Response:
        return self.http.get(self.policy_path(policy_id, org))

    def put_policy(
        self, policy_id: str, body: Any, org: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        return self.http.put(self.policy_path(policy_id, org), json=body, **kwargs)

    def api_list_policies(self, org: str | None = None, **params: Any) -> httpx.Response:
        return self.http.get(self.policies_path(org), params=params)

    # admin (not counted, never faulted) ---------------------------------------------------
    def create_org(self, org: str | None = None, name: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"id": org or self.org}
        if name is not None:
            body["name"] = name
        return dict(self.admin("POST", "/_emulator/organizations", json=body))

    def create_profile(
        self,
        org: str | None = None,
        id: str | None = None,
        *,
        name: str | None = None,
        type: str = "single",
        **fields: Any,
    ) -> dict[str, Any]:
        body = {"name": name or f"Profile {secrets.token_hex(3)}", "type": type, **fields}
        if id is not None:
            body["id"] = id
        return dict(
            self.admin("POST", f"/_emulator/organizations/{org or self.org}/profiles", json=body)
        )

    def create_policy(
        self,
        org: str | None = None,
        id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Create a policy (as the dashboard would); fields are PUT body fields plus
        ``targetType``, ``attachedProfile`` and ``locks``. Returns the GET document."""
        body = dict(fields)
        body.setdefault("name", f"Policy {secrets.token_hex(3)}")
        if id is not None:
            body["id"] = id
        return dict(
            self.admin("POST", f"/_emulator/organizations/{org or self.org}/policies", json=body)
        )

    def get_policy(self, policy_id: str, org: str | None = None) -> dict[str, Any]:
        """The document a GET of the API returns (read through the admin API)."""
        return dict(
            self.admin("GET", f"/_emulator/organizations/{org or self.org}/policies/{policy_id}")
        )

    def stored_policy(self, policy_id: str, org: str | None = None) -> dict[str, Any]:
        """What the emulator stores: {"stored": doc, "locks", "meta", "version"}."""
        r = self.http.get(f"/_emulator/organizations/{org or self.org}/policies/{policy_id}")
        if r.status_code != 200:
            raise EmulatorError(f"stored_policy -> {r.status_code}: {r.text[:300]}", r)
        return dict(r.json()["emulator"])

    def list_policies(self, org: str | None = None) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"/_emulator/organizations/{org or self.org}/policies"))

    def edit_policy(
        self, policy_id: str, org: str | None = None, *, raw: bool = False, **fields: Any
    ) -> dict[str, Any]:
        """Out-of-band change (JSON merge patch, version + 1), as in the dashboard."""
        return dict(
            self.admin(
                "PATCH",
                f"/_emulator/organizations/{org or self.org}/policies/{policy_id}",
                json=fields,
                params={"raw": "true"} if raw else None,
            )
        )

    def lock_policy(
        self, policy_id: str, org: str | None = None, *, segment: bool = True
    ) -> dict[str, Any]:
        """With segment=True, PUTs changing segmentId or exposeToChildren fail with 5227."""
        return dict(
            self.admin(
                "PUT",
                f"/_emulator/organizations/{org or self.org}/policies/{policy_id}/locks",
                json={"segment": segment},
            )
        )

    def delete_policy(self, policy_id: str, org: str | None = None) -> None:
        self.admin("DELETE", f"/_emulator/organizations/{org or self.org}/policies/{policy_id}")

    def delete_profile(self, profile_id: str, org: str | None = None) -> None:
        self.admin("DELETE", f"/_emulator/organizations/{org or self.org}/profiles/{profile_id}")

    def seed(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self.admin("POST", "/_emulator/seed", json=dict(document)))

    def reset(self) -> None:
        """Delete all data and zero the counters (faults are left as they are)."""
        self.admin("POST", "/_emulator/reset")
        if self._create_org and self.org:
            self.create_org()

    def counters(self) -> dict[str, Any]:
        """{"total": N, "requests": {"METHOD template": n}, "statuses": {"200": n}}."""
        return dict(self.admin("GET", "/_emulator/counters"))

    def reset_counters(self) -> dict[str, Any]:
        return dict(self.admin("DELETE", "/_emulator/counters"))

    def faults(self) -> dict[str, Any]:
        return dict(self.admin("GET", "/_emulator/faults"))

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Partial update; camelCase (errorRate=) or snake_case (error_rate=) names."""
        body = {_SNAKE_FAULTS.get(k, k): v for k, v in settings.items()}
        return dict(self.admin("PUT", "/_emulator/faults", json=body))

    def clear_faults(self) -> dict[str, Any]:
        return dict(self.admin("DELETE", "/_emulator/faults"))

    def rate_limit(self) -> dict[str, Any]:
        """{"requestsPerSecond", "burst", "allowed", "limited", "limitedByToken"}."""
        return dict(self.admin("GET", "/_emulator/rate-limit"))

    def set_rate_limit(
        self, per_second: float | None, burst: float | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"requestsPerSecond": per_second}
        if burst is not None:
            body["burst"] = burst
        return dict(self.admin("PUT", "/_emulator/rate-limit", json=body))

    def clear_rate_limit(self) -> dict[str, Any]:
        return dict(self.admin("DELETE", "/_emulator/rate-limit"))


@contextlib.contextmanager
def start_emulator(workdir: str | Path, **kwargs: Any) -> Iterator[Emulator]:
    """A started Emulator, stopped on exit (kwargs as for Emulator)."""
    emu = Emulator(workdir, **kwargs)
    try:
        yield emu.start()
    finally:
        emu.stop()
