"""Unit tests: no network, no engine.  Every HTTP exchange goes through respx."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_applivery_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings fall back to these variables: a developer's shell must not change the results.
    for name in ("APPLIVERY_API_TOKEN", "APPLIVERY_BASE_URL", "APPLIVERY_ORGANIZATION_ID"):
        monkeypatch.delenv(name, raising=False)
