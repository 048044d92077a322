"""Imported first by a benchmark program when ``BENCH_PROFILE_PROGRAM`` names a file: the whole
program run (its main thread: declarations, then the SDK's registrations on the event loop) under
pyinstrument, written at exit as a call tree (the file), a flat list of the functions with the
most time of their own (``.flat.txt``) and the session (``.pyisession``, for ``pyinstrument
--load``)."""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer

_profiler = Profiler(interval=0.0005, async_mode="disabled")
_profiler.start()


@atexit.register
def _write() -> None:
    session = _profiler.stop()
    out = Path(os.environ["BENCH_PROFILE_PROGRAM"])
    out.write_text(_profiler.output_text(unicode=False, color=False, show_all=False))
    flat = ConsoleRenderer(unicode=False, color=False, flat=True, show_all=True)
    out.with_suffix(".flat.txt").write_text(flat.render(session))
    session.save(str(out.with_suffix(".pyisession")))
