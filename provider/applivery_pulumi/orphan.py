"""Ending a provider process whose engine is gone.

The engine stops its plugins when it ends; a CLI that is killed (SIGKILL, a CI job's timeout, an
out-of-memory kill) cannot, and its provider process then serves nobody, forever: the SDK's
dynamic-provider host (watched from ``AppleDevicePolicyProvider.configure``) and the provider
plugin (``plugin.serve``) both watch for it.  The SDK's launcher does not ``exec`` python, so
there the engine is the grandparent: the process is orphaned when its parent changes, or when its
parent's parent does (the launcher's shell itself orphaned; read from ``/proc``, where there is
one).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Final

GRACE_SECONDS: Final = 10.0
_watched = threading.Event()
_watched_lock = threading.Lock()


class InFlight:
    """A count of the calls being served: a process whose engine is gone lets them end first."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self._count += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._count -= 1

    def __call__(self) -> int:
        return self._count


# Process-wide: every provider of a process (the SDK's host, the plugin) counts its calls here.
IN_FLIGHT: Final = InFlight()


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def serving_as_host() -> bool:
    """Whether this process is the SDK's dynamic-provider host (``python -m pulumi.dynamic``),
    not a program, a test run or a shell that merely configured a provider."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == "pulumi.dynamic.__main__"


def engine_gone(interval: float = 0.5) -> threading.Event:
    """An event set once the engine that started this process is gone."""
    parent = os.getppid()
    grandparent = _parent_of(parent)
    gone = threading.Event()

    def orphaned() -> bool:
        if os.getppid() != parent:
            return True
        return grandparent is not None and _parent_of(parent) != grandparent

    def poll() -> None:
        while not gone.wait(interval):
            if orphaned():
                gone.set()

    threading.Thread(target=poll, name="engine-watch", daemon=True).start()
    return gone


def let_end(busy: Callable[[], int], seconds: float = GRACE_SECONDS) -> None:
    """Wait for the ``busy()`` calls to end, up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while busy() and time.monotonic() < deadline:
        time.sleep(0.05)


def watch(busy: Callable[[], int]) -> None:
    """Once per process: when the engine is gone, let ``busy()`` calls end (up to a grace
    period: a write cut half-way helps nobody, and nobody will record it), then exit."""
    with _watched_lock:
        if _watched.is_set():
            return
        _watched.set()
    gone = engine_gone()

    def leave() -> None:
        gone.wait()
        let_end(busy)
        sys.stderr.flush()
        os._exit(0)

    threading.Thread(target=leave, name="engine-gone", daemon=True).start()
