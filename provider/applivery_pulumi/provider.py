"""Where states written by earlier releases find the dynamic provider.

The SDK pickles the provider into each resource's state by reference to its class, and
``refresh`` and ``destroy`` unpickle that stored copy; releases before the lifecycle moved to
:mod:`applivery_pulumi.lifecycle` stored ``applivery_pulumi.provider.AppleDevicePolicyProvider``.
"""

from applivery_pulumi.lifecycle import AppleDevicePolicyProvider

__all__ = ["AppleDevicePolicyProvider"]
