"""Text from outside (the service, a policy file, a file name) made fit for a message.

:func:`printable` is the one escaping function of every message that quotes such text.  A
terminal acts on control characters (``ESC ] 0 ; … BEL`` retitles it, C1 controls start
sequences of their own), and bidirectional controls (U+202A to U+202E, U+2066 to U+2069)
reorder what is shown after them, so a policy name could read as another one.  :func:`shown` is
the one bounded ``repr`` of a value quoted in a message; :func:`version` the package's version.
"""

from __future__ import annotations

import functools
from typing import Any


def printable(text: str) -> str:
    """``text`` with each character Python does not count as printable written as its escape.

    Escaped: C0 and C1 controls, DEL, format characters (bidirectional controls, LRM, RLM, ALM,
    zero-width ones), line and paragraph separators, spaces other than U+0020, lone surrogates
    (which UTF-8 cannot carry) and unassigned code points: ``"\\x1b"``, ``"\\u202e"``.  Letters of
    any script are kept as they are (``Política Ñ``).
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def shown(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters with ``...``: escaped (repr escapes what is not
    printable) and bounded, so a message never carries a raw control character or a page."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@functools.cache
def version() -> str:
    """The installed package's version, read once from its metadata (the one place it is set).

    Read when first asked (``importlib.metadata`` is slow to import): the client's User-Agent,
    the plugin's GetPluginInfo, schema and ``--version``.
    """
    import importlib.metadata

    try:
        return importlib.metadata.version("applivery-pulumi")
    except importlib.metadata.PackageNotFoundError:  # a source tree on PYTHONPATH
        return "0.0.0"
