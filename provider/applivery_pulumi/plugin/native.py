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
from applivery_pulumi.dynamic.program import FROM_CONFIG, ProgramRun
from applivery_pulumi.dynamic.resource import AppleDevicePolicyArgs, PolicyOutputs, policy_props
from applivery_pulumi.plugin.lookup import GetAppleDevicePolicyResult
from applivery_pulumi.plugin.tokens import LOOKUP_FUNCTION, PACKAGE, RESOURCE
from applivery_pulumi.policy.fields import BODY_FIELDS, IDENTITY, LOOKUP, METADATA, OPTIONS
from applivery_pulumi.policy.values import UNKNOWN


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
        # What the program checks its resources' organization against (None: the plugin's
        # environment decides, which the program does not see).
        self.declared_organization: Any = organization_id


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
        # Every problem of every resource, with its field path, before the engine sees any;
        # and no two resources of one program on the same policy (they would overwrite each
        # other).
        organization = _provider_organization(opts)
        props = ProgramRun.current().checked(resource_name, props, organization=organization)
        super().__init__(RESOURCE, resource_name, props, opts)

    @staticmethod
    def get(
        resource_name: str,
        id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> AppleDevicePolicy:
        """Read an existing policy without managing it, as the dynamic resource's ``get``: one
        GET per run, never a write, left alone by ``pulumi destroy``.

        ``id`` is ``<policyId>`` (organization from the provider) or
        ``<organizationId>/<policyId>``; the outputs are those of a managed policy.
        """
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        resource = AppleDevicePolicy.__new__(AppleDevicePolicy)
        props: dict[str, Any] = dict.fromkeys((*IDENTITY, *OPTIONS, *BODY_FIELDS, *METADATA))
        props[LOOKUP] = True
        pulumi.CustomResource.__init__(resource, RESOURCE, resource_name, props, merged)
        return resource


def _provider_organization(opts: pulumi.ResourceOptions | None) -> Any:
    """The organization a resource's explicit provider names: ``FROM_CONFIG`` for the default
    provider (the stack config, as for the dynamic resource), unknown when the program cannot
    tell (the plugin's check decides then)."""
    if opts is None or (opts.provider is None and not opts.providers and opts.parent is None):
        return FROM_CONFIG
    provider = opts.provider
    if provider is None and opts.parent is not None:
        provider = opts.parent.get_provider(RESOURCE)
    if provider is None and not opts.providers:
        return FROM_CONFIG
    if isinstance(provider, Provider) and provider.declared_organization is not None:
        return provider.declared_organization
    return UNKNOWN


def get_apple_device_policy(
    policy_id: str,
    organization_id: str | None = None,
    opts: pulumi.InvokeOptions | None = None,
) -> GetAppleDevicePolicyResult:
    """Read a policy without managing it: one GET, no write, nothing kept in state.

    The result has the outputs of ``AppleDevicePolicy.get`` as plain values (``organization_id``,
    ``policy_id``, every field as the service stores it, ``version``, ``created_at``,
    ``updated_at``).
    """
    args = {"policyId": policy_id, "organizationId": organization_id}
    return GetAppleDevicePolicyResult(
        pulumi.runtime.invoke(LOOKUP_FUNCTION, args, opts).value or {}
    )


def get_apple_device_policy_output(
    policy_id: pulumi.Input[str],
    organization_id: pulumi.Input[str] | None = None,
    opts: pulumi.InvokeOutputOptions | pulumi.InvokeOptions | None = None,
) -> pulumi.Output[GetAppleDevicePolicyResult]:
    """:func:`get_apple_device_policy` for values that are Outputs: each property of the result
    is an Output too (``get_apple_device_policy_output(...).agent_configuration``)."""
    args = {"policyId": policy_id, "organizationId": organization_id}
    found = pulumi.runtime.invoke_output(LOOKUP_FUNCTION, args, opts)
    return found.apply(lambda outputs: GetAppleDevicePolicyResult(outputs or {}))
