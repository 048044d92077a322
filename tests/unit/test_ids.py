"""Ids match whole strings: `re`'s `$` would let a trailing newline through."""

from __future__ import annotations

import pytest

from applivery_pulumi.policy.model import HEX24_RE, ORGANIZATION_ID_RE

from .unit_support import ORG, PID, failures, make_provider


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "/.."])
def test_the_id_patterns_match_whole_strings_only(suffix: str) -> None:
    assert HEX24_RE.match(PID) and ORGANIZATION_ID_RE.match("acme-corp")
    for pattern, good in (
        (HEX24_RE, PID),
        (ORGANIZATION_ID_RE, "acme-corp"),
        (ORGANIZATION_ID_RE, PID),
    ):
        assert pattern.match(good + suffix) is None
        assert pattern.fullmatch(good + suffix) is None
        assert pattern.search(good + suffix) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("policyId", PID + "\n"), ("organizationId", "acme-corp\n"), ("organizationId", ORG + "\n")],
)
def test_check_refuses_an_id_with_a_trailing_newline(field: str, value: str) -> None:
    props = {"policyId": PID, "organizationId": ORG, field: value}
    assert [path for path, _ in failures(make_provider(), props)] == [field]
