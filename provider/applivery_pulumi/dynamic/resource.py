"""``AppleDevicePolicy``: the dynamic resource, its typed outputs and ``get``.

Its arguments are the ``*Args`` classes of ``args.py`` (re-exported here); what the program checks
before registering it is in ``program.py``; its lifecycle is ``lifecycle.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

import pulumi
import pulumi.dynamic

from applivery_pulumi.dynamic.args import AgentConfigurationArgs as AgentConfigurationArgs
from applivery_pulumi.dynamic.args import AppleDevicePolicyArgs as AppleDevicePolicyArgs
from applivery_pulumi.dynamic.args import ApplicationArgs as ApplicationArgs
from applivery_pulumi.dynamic.args import ApplicationScriptsArgs as ApplicationScriptsArgs
from applivery_pulumi.dynamic.args import AssetArgs as AssetArgs
from applivery_pulumi.dynamic.args import BlacklistedAppArgs as BlacklistedAppArgs
from applivery_pulumi.dynamic.args import BookArgs as BookArgs
from applivery_pulumi.dynamic.args import BookmarkArgs as BookmarkArgs
from applivery_pulumi.dynamic.args import PolicyFeaturesArgs as PolicyFeaturesArgs
from applivery_pulumi.dynamic.args import ScriptArgs as ScriptArgs
from applivery_pulumi.dynamic.import_option import as_import_existing
from applivery_pulumi.dynamic.program import ProgramRun
from applivery_pulumi.lifecycle import AppleDevicePolicyProvider
from applivery_pulumi.policy.fields import BODY_FIELDS, IDENTITY, LOOKUP, OPTIONS, OUTPUTS


class PolicyOutputs:
    """The typed outputs of a policy resource, shared by the dynamic resource and the plugin's."""

    urn: pulumi.Output[str]

    def _out(self, name: str) -> pulumi.Output[Any]:
        found = self.__dict__.get(name)
        if found is None:
            # Not declared, so not in state: None, still depending on this resource like any
            # of its outputs.
            return self.urn.apply(lambda _: None)
        return cast(pulumi.Output[Any], found)

    @property
    def organization_id(self) -> pulumi.Output[str]:
        return self._out("organizationId")

    @property
    def policy_id(self) -> pulumi.Output[str]:
        """The policy's id (also the resource id)."""
        return self._out("policyId")

    @property
    def name(self) -> pulumi.Output[str | None]:
        return self._out("name")

    @property
    def profiles(self) -> pulumi.Output[list[str] | None]:
        """Profile ids as stored by the service (objects reduced to ids)."""
        return self._out("profiles")

    @property
    def applications(self) -> pulumi.Output[list[dict[str, Any]] | None]:
        return self._out("applications")

    @property
    def books(self) -> pulumi.Output[list[dict[str, Any]] | None]:
        return self._out("books")

    @property
    def scripts(self) -> pulumi.Output[list[dict[str, Any]] | None]:
        return self._out("scripts")

    @property
    def bookmarks(self) -> pulumi.Output[list[dict[str, Any]] | None]:
        return self._out("bookmarks")

    @property
    def assets(self) -> pulumi.Output[list[dict[str, Any]] | None]:
        return self._out("assets")

    @property
    def agent_configuration(self) -> pulumi.Output[dict[str, Any] | None]:
        return self._out("agentConfiguration")

    @property
    def segment_id(self) -> pulumi.Output[int | None]:
        return self._out("segmentId")

    @property
    def expose_to_children(self) -> pulumi.Output[bool | None]:
        return self._out("exposeToChildren")

    @property
    def restore_on_delete(self) -> pulumi.Output[bool | None]:
        return self._out("restoreOnDelete")

    @property
    def import_existing(self) -> pulumi.Output[bool | None]:
        return self._out("importExisting")

    @property
    def version(self) -> pulumi.Output[int]:
        """The service's version of the policy, bumped on each change."""
        return self._out("version")

    @property
    def created_at(self) -> pulumi.Output[str]:
        return self._out("createdAt")

    @property
    def updated_at(self) -> pulumi.Output[str]:
        """When the service last changed the policy (its own text)."""
        return self._out("updatedAt")

    @property
    def pre_adoption(self) -> pulumi.Output[dict[str, Any]]:
        """The configuration before adoption (kept with restore_on_delete, which puts it back)."""
        return self._out("preAdoption")


class AppleDevicePolicy(
    PolicyOutputs, pulumi.dynamic.Resource, module="applivery", name="AppleDevicePolicy"
):
    """An Applivery Apple device policy, adopted and managed by Pulumi.

    Create adopts an existing policy, destroy releases it: README, "Lifecycle".
    """

    def __init__(
        self,
        resource_name: str,
        args: AppleDevicePolicyArgs | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        # `import_` becomes an adoption by reading: the SDK's host cannot serve the engine's import.
        props, opts, problems = as_import_existing(policy_props(args, kwargs), opts)
        props = ProgramRun.current().checked(resource_name, props, problems)
        super().__init__(AppleDevicePolicyProvider(), resource_name, props, opts)

    @staticmethod
    def get(
        resource_name: str,
        id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> AppleDevicePolicy:
        """Read an existing policy without managing it: one GET per run, never a write.

        ``id`` is ``<policyId>`` (organization from ``applivery:organizationId``) or
        ``<organizationId>/<policyId>``.  Its outputs are those of a managed policy, with every
        field as the service stores it; destroying the stack leaves the policy alone.
        """
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        resource = AppleDevicePolicy.__new__(AppleDevicePolicy)
        props: dict[str, Any] = dict.fromkeys((*IDENTITY, *OPTIONS, *BODY_FIELDS, *_METADATA))
        props[LOOKUP] = True
        pulumi.dynamic.Resource.__init__(
            resource, AppleDevicePolicyProvider(), resource_name, props, merged
        )
        return resource


_METADATA: Final = tuple(name for name in OUTPUTS if name != "preAdoption")


def policy_props(
    args: AppleDevicePolicyArgs | Mapping[str, Any] | None,
    kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """A policy resource's properties: its arguments in wire shape, placeholders for outputs."""
    if args is None:
        args = kwargs
    elif kwargs:
        raise TypeError("pass either args or keyword arguments, not both")
    props = cast(dict[str, Any], AppleDevicePolicyArgs.wire(args))
    # Placeholders (None) make outputs of what the provider adds; an undeclared field is
    # never in state, so it gets no Output here (its property answers None): each Output
    # costs the program CPU at every run, and the SDK waits on all of them at the end.
    for name in ("policyId", "organizationId", *_METADATA):
        props.setdefault(name, None)
    if props.get("restoreOnDelete") not in (None, False):  # True or not known yet
        props["preAdoption"] = None
    return props
