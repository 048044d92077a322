"""Manage Applivery Apple device policies as code with Pulumi.

The public names load on first use (PEP 562): the dynamic-provider process imports this package
on every Pulumi operation and needs only the provider, not the resource classes.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "AgentConfigurationArgs",
    "AppleDevicePolicy",
    "AppleDevicePolicyArgs",
    "AppleDevicePolicyProvider",
    "ApplicationArgs",
    "ApplicationScriptsArgs",
    "AssetArgs",
    "BlacklistedAppArgs",
    "BookArgs",
    "BookmarkArgs",
    "PolicyFeaturesArgs",
    "ScriptArgs",
]

_HOME = {name: "dynamic.args" for name in __all__} | {
    "AppleDevicePolicy": "dynamic.resource",
    "AppleDevicePolicyProvider": "lifecycle",
}

if TYPE_CHECKING:
    from applivery_pulumi.dynamic.args import (
        AgentConfigurationArgs,
        AppleDevicePolicyArgs,
        ApplicationArgs,
        ApplicationScriptsArgs,
        AssetArgs,
        BlacklistedAppArgs,
        BookArgs,
        BookmarkArgs,
        PolicyFeaturesArgs,
        ScriptArgs,
    )
    from applivery_pulumi.dynamic.resource import AppleDevicePolicy
    from applivery_pulumi.lifecycle import AppleDevicePolicyProvider


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
