"""Text from outside (the service, a policy file, a file name) made fit for a message.

:func:`printable` is the one escaping function of every message that quotes such text.  A
terminal acts on control characters (``ESC ] 0 ; … BEL`` retitles it, C1 controls start
sequences of their own), and bidirectional controls (U+202A to U+202E, U+2066 to U+2069)
reorder what is shown after them, so a policy name could read as another one.
"""

from __future__ import annotations


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
