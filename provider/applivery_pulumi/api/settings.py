"""The provider's settings: read from stack config and the environment, and checked once.

Each setting has a stack config key and an environment variable (``KEYS``; the README's
Configuration table is the users' view).  Stack config wins, except for the token: the engine
keeps the stack config it gave the provider in state, and ``refresh`` and ``destroy``, which run
no program, configure the provider from that stored copy, so a token rotated in the environment
must win to reach them.

A :class:`Settings` is checked where it is made, naming the setting and never showing its value.
Every request carries the token, so the base URL is ``https://``, or plain ``http://`` to this
machine only (``localhost``, ``127.0.0.0/8``, ``[::1]``: the emulator), where no network lies
between the two ends: otherwise a one-line change to ``Pulumi.<stack>.yaml`` would send the
token in clear to any host.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

from applivery_pulumi.api.errors import ConfigurationError

DEFAULT_BASE_URL: Final = "https://api.applivery.io"
# What a base URL may be, said in every refusal of one.
_ALLOWED_URLS: Final = (
    "https://, or http:// to this machine only (localhost, 127.0.0.0/8 or [::1]: the emulator)"
)
_IPV6_LOOPBACK: Final = ipaddress.IPv6Address("::1")
DEFAULT_MAX_RETRY_SECONDS: Final = 120.0


class Key(NamedTuple):
    """Where one setting is read: its stack config key and its environment variable."""

    config: str
    env: str

    @property
    def name(self) -> str:
        """The key without its namespace: the plugin's provider property (``apiToken``)."""
        return self.config.split(":", 1)[1]


# Every setting, by its ``Settings`` attribute: the one list of config keys and variables.
KEYS: Final = {
    "api_token": Key("applivery:apiToken", "APPLIVERY_API_TOKEN"),
    "base_url": Key("applivery:baseUrl", "APPLIVERY_BASE_URL"),
    "organization_id": Key("applivery:organizationId", "APPLIVERY_ORGANIZATION_ID"),
    "max_retry_seconds": Key("applivery:maxRetrySeconds", "APPLIVERY_MAX_RETRY_SECONDS"),
    "max_requests_per_second": Key(
        "applivery:maxRequestsPerSecond", "APPLIVERY_MAX_REQUESTS_PER_SECOND"
    ),
}
# How a refusal names a setting made without ``load`` (``load`` names the key or variable).
_ROLES: Final = {
    "api_token": "the API token",
    "base_url": "the base URL",
    "max_retry_seconds": KEYS["max_retry_seconds"].name,
    "max_requests_per_second": KEYS["max_requests_per_second"].name,
}
# What each number setting must be, said in every refusal of one.
_NUMBERS: Final = {
    "max_retry_seconds": "a number of seconds above 0",
    "max_requests_per_second": "a number of requests per second above 0",
}
# Read from the environment before stack config (see the module docstring).
_ENVIRONMENT_FIRST: Final = frozenset({"api_token"})
# What an Authorization header cannot carry as it is: anything but printable ASCII.
_NOT_IN_A_HEADER: Final = re.compile(r"[^\x20-\x7e]")


class Secret:
    """A string that shows as ``**********`` in repr, str and f-strings, and refuses pickling.

    In place of ``pydantic.SecretStr`` (same ``get_secret_value``): importing pydantic would slow
    down every refresh and destroy, which never validate anything.
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
    """The provider's settings.  Every instance is valid: ``__post_init__`` is where each value
    is checked, however the instance is made, so a client can trust what it is given."""

    api_token: Secret | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    organization_id: str | None = None
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS
    # None: no pacing (the default); else requests per second of the whole provider process.
    max_requests_per_second: float | None = None
    # Where each setting was read (its config key or variable), named when it is refused.
    origin: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = {**_ROLES, **self.origin}
        if self.api_token is not None:
            problem = token_problem(self.api_token.get_secret_value())
            if problem is not None:
                raise ConfigurationError(
                    f"{where['api_token']} {problem}: set it again, the token alone on one line"
                )
        problem = base_url_problem(self.base_url)
        if problem is not None:
            raise ConfigurationError(f"{where['base_url']} {problem}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        for attr, rule in _NUMBERS.items():
            value = getattr(self, attr)
            if value is not None and not _positive(value):
                raise ConfigurationError(f"{where[attr]} must be {rule}, not {_number_text(value)}")

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
        found = {attr: _find(attr, get, environ, explicit=explicit) for attr in KEYS}
        present = {attr: pair for attr, pair in found.items() if pair is not None}
        values: dict[str, Any] = {attr: value for attr, (value, _) in present.items()}
        if "api_token" in values:
            values["api_token"] = Secret(values["api_token"])
        for attr in _NUMBERS.keys() & values.keys():
            values[attr] = _number(values[attr], present[attr][1], _NUMBERS[attr])
        return cls(**values, origin={attr: where for attr, (_, where) in present.items()})


def _find(
    attr: str,
    get: Callable[[str], Any] | None,
    environ: Mapping[str, str] | None,
    *,
    explicit: bool = False,
) -> tuple[str, str] | None:
    """``(value, where it came from)`` of one setting, or None when it is set nowhere."""
    key, var = KEYS[attr]
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
    if _NOT_IN_A_HEADER.search(value) or " " in value:
        return "must be printable ASCII without spaces (a host name in its xn-- form)"
    try:
        parts = urlsplit(value)
        _ = parts.port  # ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        return f"is not a URL such as {DEFAULT_BASE_URL}: its host or port cannot be read"
    if parts.scheme not in ("https", "http"):
        return f"must start with {_ALLOWED_URLS}: every request carries the API token"
    # httpx would send user info as Basic auth in place of the token's Bearer header.
    if "@" in parts.netloc:
        return (
            "must not hold credentials (user:password@): give the API root alone, such as "
            f"{DEFAULT_BASE_URL}, and the token as {KEYS['api_token'].config} or "
            f"{KEYS['api_token'].env}"
        )
    # Request paths are appended to the base URL: a query would swallow every one of them.
    if "?" in value or "#" in value:
        return (
            f"must not have a query (?) or fragment (#): give the API root, such as "
            f"{DEFAULT_BASE_URL}"
        )
    host = parts.hostname
    if not host or not _authority_is(parts.netloc, host):
        return f"must name a host, and a port if any, as in {DEFAULT_BASE_URL}"
    if parts.scheme == "http" and not _is_loopback(host):
        return (
            f"must start with {_ALLOWED_URLS}: every request carries the API token, which "
            "plain http shows to anyone on the way"
        )
    return None


def _authority_is(netloc: str, host: str) -> bool:
    """Whether ``netloc`` is ``host`` and a port, and nothing else urlsplit passed over: it
    reads ``[::1]junk:80`` and ``junk[::1]`` as host ::1, where httpx sees another URL."""
    spelled = f"[{host}]" if netloc.startswith("[") else host
    rest = netloc.lower().removeprefix(spelled)
    return rest != netloc.lower() and (not rest or rest.startswith(":"))


def _is_loopback(host: str) -> bool:
    """The name ``localhost`` (no DNS: any other name may resolve anywhere), a literal IPv4
    address in 127.0.0.0/8, or ``::1`` itself (no zone, no IPv4-mapped form)."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return address == _IPV6_LOOPBACK  # unequal with a zone id, as the mapped form is
    return address.is_loopback


def _number(raw: str, where: str, rule: str) -> float:
    """``raw`` read as a number (the range is ``Settings.__post_init__``'s to check)."""
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{where} must be {rule}, not {raw[:40]!r}") from None


def _positive(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _number_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else repr(value)[:40]
