"""Unit tests: no network, no engine.  Every HTTP exchange goes through respx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from applivery_pulumi.api.first_failure import PROCESS_FAILURES
from applivery_pulumi.api.settings import KEYS


def clear_applivery_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take every setting's variable out of the environment, for the test's duration."""
    for key in KEYS.values():
        monkeypatch.delenv(key.env, raising=False)


@pytest.fixture(autouse=True)
def _no_applivery_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings fall back to these variables: a developer's shell must not change the results.
    clear_applivery_environment(monkeypatch)


@pytest.fixture(autouse=True)
def _no_failure_of_an_earlier_test() -> Iterator[None]:
    # The process remembers a refused token per base URL: the tests share both.
    PROCESS_FAILURES.clear()
    yield
    PROCESS_FAILURES.clear()
