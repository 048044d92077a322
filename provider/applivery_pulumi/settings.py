"""The provider's configuration, in one place.

Stack config under the ``applivery:`` namespace, with environment fallbacks:

=========================  ============================  =====================================
stack config               environment                   meaning
=========================  ============================  =====================================
``applivery:apiToken``     ``APPLIVERY_API_TOKEN``       bearer token (set it as a secret)
``applivery:baseUrl``      ``APPLIVERY_BASE_URL``        default ``https://api.applivery.io``
``applivery:organizationId`` ``APPLIVERY_ORGANIZATION_ID`` used when a resource omits it
``applivery:maxRetrySeconds`` ``APPLIVERY_MAX_RETRY_SECONDS`` retry budget of one request
``applivery:maxRequestsPerSecond`` ``APPLIVERY_MAX_REQUESTS_PER_SECOND`` client-side pacing
=========================  ============================  =====================================

Stack config wins over the environment, except for the token: ``APPLIVERY_API_TOKEN`` wins over
``applivery:apiToken``.  The engine keeps the stack config it gave the provider in state (the
default provider's inputs) and ``refresh`` and ``destroy``, which run no program, configure the
provider from that stored copy: a token rotated in the environment must still reach them.

``maxRetrySeconds`` bounds how long one request is retried (429, 5xx, connection failures):
no wait runs past it and no new attempt starts once that many seconds have passed since the
first, so a request ends within it plus one attempt (30 s).  The default, 120, leaves the
attempt limit (6) in charge; a small value makes an unreachable service fail fast.

``maxRequestsPerSecond`` (default: off) paces every request of one provider process, retries
included, so a large stack stays under the account's rate limit instead of retrying through a
storm of 429s.  Several processes (stacks, CI jobs) sharing one account each need their share.

Loading refuses, naming the setting and never showing the value, a token that an HTTP header
cannot carry as it is (control characters such as CR, LF or NUL, or non-ASCII text) and a base
URL with credentials in it (``https://user:password@host``).
"""

from __future__ import annotations

import math
import os
import re
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
    "max_requests_per_second": (
        "applivery:maxRequestsPerSecond",
        "APPLIVERY_MAX_REQUESTS_PER_SECOND",
    ),
}
# Read from the environment before stack config (see the module docstring).
_ENVIRONMENT_FIRST: Final = frozenset({"api_token"})
# What an Authorization header cannot carry as it is: anything but printable ASCII.
_NOT_IN_A_HEADER: Final = re.compile(r"[^\x20-\x7e]")


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
    # None: no pacing (the default); else requests per second of the whole provider process.
    max_requests_per_second: float | None = None

    @classmethod
    def load(
        cls,
        get: Callable[[str], Any] | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        explicit: bool = False,
    ) -> Settings:
        """Stack config (``get`` is ``ConfigureRequest.config.get``), then the environment; for
        the token, the environment first.  Raises ``ConfigurationError`` for a value it refuses.

        ``explicit``: ``get`` reads the properties of a provider the program declared (the
        plugin's explicit providers, one per account): they win over the environment for every
        setting, the token included, else two accounts could not hold two tokens."""
        found = {attr: _find(attr, get, environ, explicit=explicit) for attr in _KEYS}
        return cls(
            api_token=_token(found["api_token"]),
            base_url=_base_url(found["base_url"]),
            organization_id=found["organization_id"][0] if found["organization_id"] else None,
            max_retry_seconds=_seconds(found["max_retry_seconds"]),
            max_requests_per_second=_rate(found["max_requests_per_second"]),
        )


def _find(
    attr: str,
    get: Callable[[str], Any] | None,
    environ: Mapping[str, str] | None,
    *,
    explicit: bool = False,
) -> tuple[str, str] | None:
    """``(value, where it came from)`` of one setting, or None when it is set nowhere."""
    key, var = _KEYS[attr]
    env = os.environ if environ is None else environ
    from_config = (_text(get(key)) if get is not None else None, key)
    from_env = (_text(env.get(var)), var)
    first_env = attr in _ENVIRONMENT_FIRST and not explicit
    order = (from_env, from_config) if first_env else (from_config, from_env)
    return next(((v, where) for v, where in order if v), None)


def default_organization(
    get: Callable[[str], Any] | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The organization of a resource that names none, as ``Settings.load`` finds it (the
    program asks this alone: it must not load, or refuse, a token it never uses)."""
    found = _find("organization_id", get, environ)
    return found[0] if found else None


def _text(value: Any) -> str | None:
    return (str(value).strip() or None) if value is not None else None


def token_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as a bearer token, without showing any of it; else None."""
    bad = _NOT_IN_A_HEADER.search(value)
    if bad is None:
        return None
    # The code point alone says what to look for; the value, or any part of it, is never shown.
    return (
        f"holds a character an HTTP header cannot carry (U+{ord(bad.group()):04X}; a token is "
        "printable ASCII)"
    )


def base_url_problem(value: str) -> str | None:
    """Why ``value`` cannot be the API root, without showing any of it; else None."""
    # The authority as httpx reads it (up to the first / ? or #), scheme or not: an @ in it is
    # user info, which httpx would send as Basic auth in place of the token's Bearer header.
    rest = value.split("://", 1)[1] if "://" in value else value
    if "@" in re.split(r"[/?#]", rest, maxsplit=1)[0]:
        return (
            "must not hold credentials (user:password@): give the API root alone, such as "
            f"{DEFAULT_BASE_URL}, and the token as applivery:apiToken or APPLIVERY_API_TOKEN"
        )
    return None


def _token(found: tuple[str, str] | None) -> Secret | None:
    if found is None:
        return None
    value, where = found
    problem = token_problem(value)
    if problem is not None:
        raise ConfigurationError(f"{where} {problem}: set it again, the token alone on one line")
    return Secret(value)


def _base_url(found: tuple[str, str] | None) -> str:
    if found is None:
        return DEFAULT_BASE_URL
    value, where = found
    problem = base_url_problem(value)
    if problem is not None:
        raise ConfigurationError(f"{where} {problem}")
    return value.rstrip("/")


def _seconds(found: tuple[str, str] | None) -> float:
    if found is None:
        return DEFAULT_MAX_RETRY_SECONDS
    raw, where = found
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{where} must be a number of seconds above 0, not {raw[:40]!r}")
    return value


def _rate(found: tuple[str, str] | None) -> float | None:
    if found is None:
        return None
    raw, where = found
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(
            f"{where} must be a number of requests per second above 0, not {raw[:40]!r}"
        )
    return value
