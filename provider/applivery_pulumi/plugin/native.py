"""Python programs on the provider plugin (``pulumi-resource-applivery``), not the dynamic provider.

    from applivery_pulumi import AppleDevicePolicyArgs
    from applivery_pulumi.native import AppleDevicePolicy, Provider

    acme = Provider("acme", api_token=cfg.require_secret("acmeToken"), organization_id="acme")
    AppleDevicePolicy("ios", AppleDevicePolicyArgs(policy_id=...), ResourceOptions(provider=acme))

The classes are thin: the arguments are the dynamic resource's ``*Args`` (the same wire shape),
the outputs its typed properties, and every rule runs in the plugin, which serves the dynamic
resource's lifecycle.  Unlike the dynamic resource, a program may declare several ``Provider``
instances (one per Applivery account), and inputs are validated by the plugin's Check only
(the engine reports the first invalid resource), not also in the program.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from applivery_pulumi.api.settings import KEYS
from applivery_pulumi.dynamic.program import ProgramRun
from applivery_pulumi.dynamic.resource import AppleDevicePolicyArgs, PolicyOutputs, policy_props
from applivery_pulumi.plugin.tokens import LOOKUP_FUNCTION, PACKAGE, RESOURCE


class Provider(pulumi.ProviderResource):
    """One Applivery account: pass it as ``provider=`` to the resources it manages.

    Each argument is a setting of ``settings.KEYS``; one left out falls back to the plugin's
    environment (the ``APPLIVERY_*`` variables of README's Configuration).  The token
    is made a secret, so state keeps it encrypted.
    """

    def __init__(
        self,
        resource_name: str,
        *,
        api_token: pulumi.Input[str] | None = None,
        base_url: pulumi.Input[str] | None = None,
        organization_id: pulumi.Input[str] | None = None,
        max_retry_seconds: pulumi.Input[float] | None = None,
        max_requests_per_second: pulumi.Input[float] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        given: dict[str, Any] = {
            "api_token": None if api_token is None else pulumi.Output.secret(api_token),
            "base_url": base_url,
            "organization_id": organization_id,
            "max_retry_seconds": max_retry_seconds,
            "max_requests_per_second": max_requests_per_second,
        }
        props = {KEYS[attr].name: value for attr, value in given.items()}
        super().__init__(PACKAGE, resource_name, props, opts)


class AppleDevicePolicy(PolicyOutputs, pulumi.CustomResource):
    """An Applivery Apple device policy, adopted and managed through the provider plugin.

    The same arguments, lifecycle and outputs as :class:`applivery_pulumi.AppleDevicePolicy`;
    its type is ``applivery:index:AppleDevicePolicy``.
    """

    def __init__(
        self,
        resource_name: str,
        args: AppleDevicePolicyArgs | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = policy_props(args, kwargs)
        # Two resources of one program on the same policy would overwrite each other.  (Inputs
        # are the plugin's to check: the organization may come from an explicit provider.)
        props["policyId"] = ProgramRun.current().sole_owner(
            resource_name, props["organizationId"], props["policyId"]
        )
        super().__init__(RESOURCE, resource_name, props, opts)


def get_apple_device_policy(
    policy_id: str,
    organization_id: str | None = None,
    opts: pulumi.InvokeOptions | None = None,
) -> dict[str, Any]:
    """Read a policy without managing it: one GET, no write, nothing kept in state.

    The result has the policy's outputs (``organizationId``, ``policyId``, every field as the
    service stores it, ``version``, ``createdAt``, ``updatedAt``), under their API names.
    """
    args = {"policyId": policy_id, "organizationId": organization_id}
    return dict(pulumi.runtime.invoke(LOOKUP_FUNCTION, args, opts).value or {})


def get_apple_device_policy_output(
    policy_id: pulumi.Input[str],
    organization_id: pulumi.Input[str] | None = None,
    opts: pulumi.InvokeOutputOptions | pulumi.InvokeOptions | None = None,
) -> pulumi.Output[dict[str, Any]]:
    """:func:`get_apple_device_policy` for values that are Outputs."""
    args = {"policyId": policy_id, "organizationId": organization_id}
    return pulumi.runtime.invoke_output(LOOKUP_FUNCTION, args, opts)
