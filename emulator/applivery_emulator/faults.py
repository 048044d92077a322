"""Fault injection: errors, throttling, latency, dropped connections, accepted-but-not-stored.

All random draws come from one ``random.Random`` seeded with ``seed`` (``--fault-seed``; a
random seed is picked and reported by ``GET /_emulator/faults`` when none is given), and every
decision draws the same numbers in the same order whatever the rates are, so a sequential test
that fails can be replayed with the same seed.  Faults apply to the ``/v1`` API only.
"""

from __future__ import annotations

import random
import secrets
import threading
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

ERROR_BODIES: dict[int, tuple[str, bytes]] = {
    # A 500 comes from the application itself: the JSON envelope.
    500: (
        "application/json",
        b'{"status":false,"error":{"code":500,"message":"Internal Server Error"}}',
    ),
    # 502/503/504 come from the load balancer in front of it: HTML, not JSON.
    502: (
        "text/html",
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
    ),
    503: (
        "text/html",
        b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
        b"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
        b"</body>\r\n</html>\r\n",
    ),
    504: (
        "text/html",
        b"<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
        b"<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n",
    ),
}
THROTTLE_BODY = b'{"status":false,"error":{"code":429,"message":"Too Many Requests"}}'


@dataclass
class FaultConfig:
    errorRate: float = 0.0
    errorStatuses: list[int] = field(default_factory=lambda: [500, 502, 503])
    throttleRate: float = 0.0
    retryAfter: int = 1
    latencyMs: float = 0.0
    jitterMs: float = 0.0
    dropRate: float = 0.0
    dropField: str | None = None
    dropFieldRate: float = 1.0
    methods: list[str] | None = None
    phase: str = "before"
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


FAULT_KEYS = tuple(f.name for f in fields(FaultConfig))


@dataclass(frozen=True)
class Decision:
    latency_s: float = 0.0
    kind: str | None = None  # "drop" | "error" | "throttle"
    status: int | None = None
    phase: str = "before"
    retry_after: int = 1

    @property
    def label(self) -> str:
        if self.kind == "drop":
            return f"drop({self.phase})"
        if self.kind == "error":
            return f"{self.status}({self.phase})"
        if self.kind == "throttle":
            return "429"
        return ""


class Faults:
    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._config = replace(config) if config else FaultConfig()
        if self._config.seed is None:
            self._config.seed = secrets.randbelow(2**31)
        self._rng = random.Random(self._config.seed)  # noqa: S311 - not for security

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._config.to_json()

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply a partial update; keys absent keep their value. A new seed restarts the RNG."""
        with self._lock:
            for key, value in changes.items():
                if key not in FAULT_KEYS:
                    raise KeyError(key)
                if key == "seed" and value is None:
                    continue
                setattr(self._config, key, value)
            if changes.get("seed") is not None:
                self._rng = random.Random(self._config.seed)  # noqa: S311
            return self._config.to_json()

    def reset(self) -> dict[str, Any]:
        """No faults at all; the RNG restarts from the current seed."""
        with self._lock:
            self._config = FaultConfig(seed=self._config.seed)
            self._rng = random.Random(self._config.seed)  # noqa: S311
            return self._config.to_json()

    def decide(self, method: str) -> Decision:
        with self._lock:
            c = self._config
            if c.methods is not None and method.upper() not in c.methods:
                return Decision()
            r_latency, r_drop, r_error, r_status, r_throttle = (
                self._rng.random() for _ in range(5)
            )
            latency = (c.latencyMs + r_latency * c.jitterMs) / 1000.0
            if r_drop < c.dropRate:
                return Decision(latency, "drop", None, c.phase)
            if r_error < c.errorRate and c.errorStatuses:
                status = c.errorStatuses[int(r_status * len(c.errorStatuses))]
                return Decision(latency, "error", status, c.phase)
            if r_throttle < c.throttleRate:
                return Decision(latency, "throttle", 429, "before", c.retryAfter)
            return Decision(latency)

    def field_to_drop(self) -> str | None:
        """The field a PUT should silently not store this time, if any."""
        with self._lock:
            c = self._config
            if not c.dropField:
                return None
            if self._rng.random() < c.dropFieldRate:
                return c.dropField
            return None
