"""The provider host under pyinstrument: ``python -m benchmarks.profile_host -u -m <host> ARGS``.

Used through a virtualenv whose ``bin/python`` is a wrapper (see :mod:`benchmarks.profile`):
the SDK's launcher runs ``$PULUMI_RUNTIME_VIRTUALENV/bin/python -u -m pulumi.dynamic ARGS``, and
the wrapper hands those arguments to this module.  Each gRPC call (Check, Diff, Create, Read,
Update, Delete) runs under its own pyinstrument profiler, one call at a time (a lock: the report
is the CPU of each call, not the overlap of the host's threads); the combined report is rewritten
to ``$BENCH_PROFILE_OUT`` every second while calls come in, so it survives however the engine
ends the process.
"""

from __future__ import annotations

import functools
import os
import runpy
import sys
import threading
from pathlib import Path
from typing import Any

from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer
from pyinstrument.session import Session

METHODS = ("Check", "Diff", "Create", "Read", "Update", "Delete")

_lock = threading.Lock()
_sessions: list[Session] = []
_dirty = threading.Event()


def _wrap(method: Any) -> Any:
    @functools.wraps(method)
    def call(self: Any, request: Any, context: Any) -> Any:
        with _lock:
            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
            try:
                return method(self, request, context)
            finally:
                session = profiler.stop()
                _sessions.append(session)
                _dirty.set()

    return call


def _writer(out: Path) -> None:
    while True:
        _dirty.wait()
        _dirty.clear()
        with _lock:
            sessions = list(_sessions)
        combined = functools.reduce(Session.combine, sessions)
        text = ConsoleRenderer(unicode=False, color=False, show_all=False).render(combined)
        out.write_text(f"{len(sessions)} calls\n{text}")
        threading.Event().wait(1.0)


def main() -> None:
    args = sys.argv[1:]
    while args and args[0] == "-u":
        args = args[1:]
    if len(args) < 2 or args[0] != "-m":
        raise SystemExit("usage: python -m benchmarks.profile_host -u -m MODULE ARGS")
    module, rest = args[1], args[2:]
    out = Path(os.environ.get("BENCH_PROFILE_OUT", "provider-profile.txt"))
    threading.Thread(target=_writer, args=(out,), daemon=True).start()
    sys.argv = [module, *rest]
    # The SDK's host registers its servicer when its module runs: wrap it on the way in.
    from pulumi.runtime.proto import provider_pb2_grpc

    register = provider_pb2_grpc.add_ResourceProviderServicer_to_server

    def add(servicer: Any, server: Any) -> Any:
        cls = type(servicer)
        for name in METHODS:
            setattr(cls, name, _wrap(getattr(cls, name)))
        return register(servicer, server)

    provider_pb2_grpc.add_ResourceProviderServicer_to_server = add
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
