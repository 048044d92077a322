"""A real rate limit: a token bucket per API token, as rate-limited APIs keep one per credential.

Unlike the throttle fault (a random share of 429s), the limit answers 429 only when a token's
bucket is empty, and ``Retry-After`` says when its next slot is due (whole seconds, rounded up,
as the header carries no fraction).  ``--rate-limit N/s`` sets it at start-up,
``PUT /_emulator/rate-limit`` at run time; the 429s it sends are counted per token (shown by a
digest, never the token).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

LIMITED_BODY = b'{"status":false,"error":{"code":429,"message":"Too Many Requests"}}'


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimit:
    """Off when ``rate`` is None; else ``rate`` requests per second, bursts of ``burst``."""

    def __init__(self, rate: float | None = None, burst: float | None = None) -> None:
        self._lock = threading.Lock()
        self._rate = rate
        self._burst = _burst(rate, burst)
        self._buckets: dict[str, _Bucket] = {}
        self._limited: dict[str, int] = {}
        self._allowed = 0

    def take(self, token: str) -> int | None:
        """None when ``token`` may go on; else the seconds until its next slot (at least 1)."""
        with self._lock:
            rate = self._rate
            if rate is None:
                return None
            now = time.monotonic()
            bucket = self._buckets.get(token)
            if bucket is None:
                bucket = self._buckets[token] = _Bucket(self._burst, now)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                self._allowed += 1
                return None
            key = _digest(token)
            self._limited[key] = self._limited.get(key, 0) + 1
            return max(1, math.ceil((1.0 - bucket.tokens) / rate))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        return {
            "requestsPerSecond": self._rate,
            "burst": self._burst if self._rate is not None else None,
            "allowed": self._allowed,
            "limited": sum(self._limited.values()),
            "limitedByToken": dict(sorted(self._limited.items())),
        }

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """A new rate or burst starts every bucket full; the counts are kept."""
        with self._lock:
            if "requestsPerSecond" in changes:
                self._rate = changes["requestsPerSecond"]
            self._burst = _burst(self._rate, changes.get("burst", self._burst))
            self._buckets.clear()
            return self._snapshot()

    def reset_counts(self) -> dict[str, Any]:
        with self._lock:
            self._limited.clear()
            self._allowed = 0
            return self._snapshot()

    def reset(self) -> dict[str, Any]:
        """No limit at all, no counts."""
        with self._lock:
            self._rate = None
            self._burst = 1.0
            self._buckets.clear()
            self._limited.clear()
            self._allowed = 0
            return self._snapshot()


def _burst(rate: float | None, burst: float | None) -> float:
    if burst is not None:
        return max(1.0, float(burst))
    # By default a second's worth of requests may come at once.
    return max(1.0, float(rate)) if rate is not None else 1.0


def _digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12]


def parse_rate(text: str) -> float:
    """``20/s``, ``20``, ``1200/min`` → requests per second; ValueError otherwise."""
    number, _, unit = text.strip().partition("/")
    per = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0}.get(unit.strip().lower())
    value = float(number)
    if per is None or not (math.isfinite(value) and value > 0):
        raise ValueError(text)
    return value / per
