"""Client-side pacing: at most ``applivery:maxRequestsPerSecond`` request starts per second.

The engine builds more than one client in a provider process (a dynamic provider per resource,
explicit providers), and the rate is the process's: clients at one rate share one
:class:`Pacer`, found in a :class:`Pacers` registry.  The process's registry is
:data:`PROCESS_PACERS`; a client given its own registry shares nothing with the others.
"""

from __future__ import annotations

import threading
import time
from typing import Final


class Pacer:
    """At most ``rate`` request starts per second, shared by every thread that holds it.

    A token bucket of ``burst`` slots: each start takes one, waiting its turn when none is left.
    The slot is reserved under the lock and the wait happens outside it, so waiters queue in
    order and each sleeps only its own share.
    """

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = time.monotonic()

    def acquire(self) -> float:
        """Take a slot, sleeping until it is due; returns the seconds slept."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            # Negative: slots owed to earlier callers; this one is due once they are repaid.
            delay = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if delay > 0:
            time.sleep(delay)
        return delay


class Pacers:
    """One :class:`Pacer` per rate, made on first use under a lock (so two clients built at
    once still get the same one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_rate: dict[float, Pacer] = {}

    def at(self, rate: float) -> Pacer:
        with self._lock:
            found = self._by_rate.get(rate)
            if found is None:
                found = self._by_rate[rate] = Pacer(rate)
            return found


PROCESS_PACERS: Final = Pacers()
