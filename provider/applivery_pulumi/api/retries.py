"""Which failures are retried, how long to wait between attempts, and the budget of one call.

429, the failing 5xx (see :data:`~applivery_pulumi.api.errors.ADVICE`) and failures to reach
the service are retried with exponential backoff and jitter, or after the ``Retry-After`` the
service gives.  A call stops after ``max_attempts`` or once ``budget`` seconds have passed since
its first attempt, and no wait runs past the budget: a call lasts at most the budget plus one
attempt.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable
from typing import Final, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from applivery_pulumi.api import errors

RETRYABLE: Final = (errors.RateLimitedError, errors.ServerError, errors.TransportError)
# ASCII digits only: str.isdigit also takes '²' and other digits float() refuses.
_SECONDS: Final = re.compile(r"[0-9]+")

T = TypeVar("T")


def retry_after(value: str | None) -> float | None:
    """The seconds a ``Retry-After`` value asks for; None for anything else (never an error)."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, OSError, IndexError):
        return None


class _Backoff:
    """``Retry-After`` when the service gives one (capped, plus up to a quarter more, at most a
    second), else exponential backoff with jitter."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._exp = wait_exponential_jitter(multiplier=initial, max=maximum)
        self._max_retry_after = max(maximum, 30.0)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        if isinstance(hinted, float):
            wait = min(hinted, self._max_retry_after)
            # Never earlier than asked, but not all at the same instant either: the requests a
            # rate limit refused together would otherwise all come back in the same second.
            return wait + random.uniform(0.0, min(1.0, 0.25 * wait))  # noqa: S311
        return float(self._exp(state))


class RetryPolicy:
    """Runs a call's attempts; ``retries`` counts the waits between them, over every call."""

    def __init__(
        self, *, max_attempts: int, budget: float, backoff_initial: float, backoff_max: float
    ) -> None:
        self.max_attempts = max_attempts
        self.budget = budget
        self.retries = 0
        self._wait = _Backoff(backoff_initial, backoff_max)

    def run(self, attempt: Callable[[], T]) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts) | stop_after_delay(self.budget),
            wait=self._wait_within_budget,
            retry=retry_if_exception_type(RETRYABLE),
            before_sleep=self._count,
            reraise=True,
        )
        return retrying(attempt)

    def _wait_within_budget(self, state: RetryCallState) -> float:
        # However long a Retry-After (or the backoff) would make it.
        left = self.budget - (state.seconds_since_start or 0.0)
        return max(0.0, min(self._wait(state), left))

    def _count(self, _state: RetryCallState) -> None:
        self.retries += 1
