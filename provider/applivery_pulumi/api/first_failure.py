"""The first failure of a run that every later call would meet too, said once.

A token the service refuses (401) or a base URL that cannot be reached (after every retry)
fails every policy of a stack alike.  The first such failure is remembered per process, by base
URL and a digest of the token (never the token itself); the calls that follow with the same
pair fail at once, before any request or retry, and say so in a few words, and so do the calls
already in flight that meet the same failure: the whole sentence, with its advice, is shown for
the first one alone.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Final

from applivery_pulumi.api import errors

Key = tuple[str, str]


def key(base_url: str, token: str) -> Key:
    """What failures are remembered by: the base URL and the SHA-256 of the token."""
    return base_url, hashlib.sha256(token.encode()).hexdigest()


def _reference(what: str, first: errors.AppliveryError) -> errors.AlreadyFailedError:
    return errors.AlreadyFailedError(
        f"{what}: the first call in this run already failed: {first.run_wide}",
        status=first.status,
        code=first.code,
    )


class FirstFailures:
    """The first ``run_wide`` failure of each (base URL, token digest); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[Key, errors.AppliveryError] = {}

    def check(self, at: Key, what: str) -> None:
        """Raise the reference to the first failure at ``at``, if there is one, for ``what``."""
        with self._lock:
            first = self._by_key.get(at)
        if first is not None:
            raise _reference(what, first)

    def settle(self, at: Key, failed: errors.AppliveryError, what: str) -> errors.AppliveryError:
        """The error a call about ``what`` that ``failed`` ends with: ``failed`` itself, unless
        it is ``run_wide`` and another call met such a failure first."""
        if failed.run_wide is None:
            return failed
        with self._lock:
            first = self._by_key.setdefault(at, failed)
        return failed if first is failed else _reference(what, first)

    def clear(self) -> None:
        with self._lock:
            self._by_key.clear()


# The process's: the SDK's host serves every resource of a run in one process, the plugin every
# resource of its provider.
PROCESS_FAILURES: Final = FirstFailures()
