"""The provider's configuration, in one place.

Stack config under the ``applivery:`` namespace, with environment fallbacks:

=========================  ============================  =====================================
stack config               environment                   meaning
=========================  ============================  =====================================
``applivery:apiToken``     ``APPLIVERY_API_TOKEN``       bearer token (set it as a secret)
``applivery:baseUrl``      ``APPLIVERY_BASE_URL``        default ``https://api.applivery.io``
``applivery:organizationId`` ``APPLIVERY_ORGANIZATION_ID`` used when a resource omits it
``applivery:maxRetrySeconds`` ``APPLIVERY_MAX_RETRY_SECONDS`` retry budget of one request
=========================  ============================  =====================================

``maxRetrySeconds`` bounds how long one request is retried (429, 5xx, connection failures):
no new attempt starts once that many seconds have passed since the first.  The default, 120,
leaves the attempt limit (6) in charge; a small value makes an unreachable service fail fast.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import ConfigurationError

DEFAULT_BASE_URL: Final = "https://api.applivery.io"
DEFAULT_MAX_RETRY_SECONDS: Final = 120.0

_KEYS: Final = {
    "api_token": ("applivery:apiToken", "APPLIVERY_API_TOKEN"),
    "base_url": ("applivery:baseUrl", "APPLIVERY_BASE_URL"),
    "organization_id": ("applivery:organizationId", "APPLIVERY_ORGANIZATION_ID"),
    "max_retry_seconds": ("applivery:maxRetrySeconds", "APPLIVERY_MAX_RETRY_SECONDS"),
}


class Secret:
    """A string that shows as ``**********`` in repr, str and f-strings, and refuses pickling.

    In place of ``pydantic.SecretStr`` (same ``get_secret_value``): importing pydantic costs the
    provider process ~80 ms on every refresh and destroy, which never validate anything.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a secret is not picklable")


@dataclass(frozen=True)
class Settings:
    api_token: Secret | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    organization_id: str | None = None
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS

    @classmethod
    def load(
        cls,
        get: Callable[[str], Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Stack config first (``get`` is ``ConfigureRequest.config.get``), then the environment."""
        env = os.environ if environ is None else environ
        found: dict[str, str | None] = {}
        for attr, (key, var) in _KEYS.items():
            value = get(key) if get is not None else None
            if value in (None, ""):
                value = env.get(var) or None
            found[attr] = str(value).strip() if value is not None else None
        token = found["api_token"]
        return cls(
            api_token=Secret(token) if token else None,
            base_url=(found["base_url"] or DEFAULT_BASE_URL).rstrip("/"),
            organization_id=found["organization_id"],
            max_retry_seconds=_seconds(found["max_retry_seconds"]),
        )


def _seconds(raw: str | None) -> float:
    if raw is None:
        return DEFAULT_MAX_RETRY_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(
            "applivery:maxRetrySeconds (APPLIVERY_MAX_RETRY_SECONDS) must be a number of seconds "
            f"above 0, not {raw[:40]!r}"
        )
    return value
