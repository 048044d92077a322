"""Values as the Pulumi engine hands them to a dynamic provider, made plain.

The engine turns every number into a float, wraps secrets in a signature dict, passes values not
yet known at preview as ``pulumi.output.Unknown`` and adds a ``__provider`` key.  Everything the
provider compares or sends goes through :func:`plain` first, so none of that reaches the API.
"""

from __future__ import annotations

from typing import Any, Final

PROVIDER_KEY: Final = "__provider"
_SECRET_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"  # noqa: S105 (SDK marker)
_SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 (SDK marker)
# How the SDK's RPC layer spells an unknown value; also our stand-in for a value to come.
UNKNOWN: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def is_unknown(value: Any) -> bool:
    """True for a value the engine does not know yet (preview of a computed input)."""
    if isinstance(value, str):
        return value == UNKNOWN
    return type(value).__name__ == "Unknown" and type(value).__module__ == "pulumi.output"


def contains_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def plain(value: Any) -> Any:
    """Unwrap secrets, turn integral floats into ints and drop ``None`` values, recursively.

    Unknown values are kept as they are: callers decide what an unknown means to them.
    """
    if isinstance(value, dict):
        if value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
            return plain(value.get("value"))
        return {k: plain(v) for k, v in value.items() if v is not None and k != PROVIDER_KEY}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
