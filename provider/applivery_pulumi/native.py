"""The public path of the plugin's Python classes (``from applivery_pulumi.native import
AppleDevicePolicy, Provider``); they live in :mod:`applivery_pulumi.plugin.native`."""

from applivery_pulumi.plugin.native import (
    AppleDevicePolicy,
    Provider,
    get_apple_device_policy,
    get_apple_device_policy_output,
)

__all__ = [
    "AppleDevicePolicy",
    "Provider",
    "get_apple_device_policy",
    "get_apple_device_policy_output",
]
