"""The plugin's package name and type tokens: what the schema declares and the Python classes
name.  Without pydantic, so a program that imports :mod:`applivery_pulumi.native` does not load
the models."""

from __future__ import annotations

from typing import Final

PACKAGE: Final = "applivery"


def token(name: str) -> str:
    """The type token of ``name`` in the package's one module: ``applivery:index:<name>``."""
    return f"{PACKAGE}:index:{name}"


RESOURCE: Final = token("AppleDevicePolicy")
LOOKUP_FUNCTION: Final = token("getAppleDevicePolicy")
