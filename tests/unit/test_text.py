"""``printable``: the one escaping of text from outside (issue 23, point 7)."""

from __future__ import annotations

import pytest

from applivery_pulumi.api.errors import server_text
from applivery_pulumi.text import printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;pwned\x07", r"\x1b]0;pwned\x07"),  # C0: OSC retitles the terminal
        ("a\nb\tc\rd\x00", r"a\nb\tc\rd\x00"),  # C0: a fake second line
        ("\x9b31m\x85", r"\x9b31m\x85"),  # C1: CSI and NEL in one byte each
        ("\x7f", r"\x7f"),  # DEL
        ("\u202aa\u202bb\u202cc\u202dd\u202ee", r"\u202aa\u202bb\u202cc\u202dd\u202ee"),
        ("\u2066a\u2067b\u2068c\u2069", r"\u2066a\u2067b\u2068c\u2069"),  # bidi isolates
        ("\u200e\u200f\u061c", r"\u200e\u200f\u061c"),  # LRM, RLM, ALM
        ("a\u200bb\ufeff", r"a\u200bb\ufeff"),  # zero-width space, BOM
        ("\u2028\u2029\xa0", r"\u2028\u2029\xa0"),  # separators, a space that is not " "
        ("\ud800x", r"\ud800x"),  # a lone surrogate, which UTF-8 cannot carry
    ],
)
def test_controls_and_invisible_characters_are_escaped(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert printable(shown) == shown  # escaping twice changes nothing
    assert printable(raw).encode("utf-8").isascii()


@pytest.mark.parametrize(
    "text", ["Política Ñ", "Kiosk iPad (2)", "東京オフィス", "مكتب", "a \\x1b b", "👍", ""]
)
def test_text_of_any_script_is_kept_as_it_is(text: str) -> None:
    assert printable(text) == text


def test_the_client_escapes_the_server_messages_the_same_way() -> None:
    said = "Bad \x1b]0;x\x07 \u202eeman\u202c Política Bearer abc"
    assert (
        server_text(said, "tok") == r"Bad \x1b]0;x\x07 \u202eeman\u202c Política Bearer [redacted]"
    )
