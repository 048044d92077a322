"""What ``get_apple_device_policy`` returns: the policy's outputs as typed, snake_case properties.

The same names and types as the outputs of ``AppleDevicePolicy.get`` (``PolicyOutputs``), as
plain values rather than Outputs; ``get_apple_device_policy_output(...).agent_configuration`` is
then an ``Output`` like the resource's.  Without pydantic: a program importing
:mod:`applivery_pulumi.native` does not load the models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class GetAppleDevicePolicyResult:
    """A policy as the service stores it: identity, every field, the service's metadata."""

    def __init__(self, outputs: Mapping[str, Any]) -> None:
        # Kept under the API's names: the plugin's answer, as it came.
        self._outputs = dict(outputs)

    def __getitem__(self, api_name: str) -> Any:
        """An output by its API name (``result["agentConfiguration"]``), as the lookup answered
        before it had properties; ``KeyError`` for one it does not hold."""
        return self._outputs[api_name]

    def __repr__(self) -> str:
        return f"GetAppleDevicePolicyResult({self._outputs.get('policyId')!r})"

    @property
    def organization_id(self) -> str:
        return str(self._outputs["organizationId"])

    @property
    def policy_id(self) -> str:
        """The policy's id."""
        return str(self._outputs["policyId"])

    @property
    def name(self) -> str | None:
        return self._outputs.get("name")

    @property
    def profiles(self) -> list[str] | None:
        """Profile ids as stored by the service (objects reduced to ids)."""
        return self._outputs.get("profiles")

    @property
    def applications(self) -> list[dict[str, Any]] | None:
        return self._outputs.get("applications")

    @property
    def books(self) -> list[dict[str, Any]] | None:
        return self._outputs.get("books")

    @property
    def scripts(self) -> list[dict[str, Any]] | None:
        return self._outputs.get("scripts")

    @property
    def bookmarks(self) -> list[dict[str, Any]] | None:
        return self._outputs.get("bookmarks")

    @property
    def assets(self) -> list[dict[str, Any]] | None:
        return self._outputs.get("assets")

    @property
    def agent_configuration(self) -> dict[str, Any] | None:
        return self._outputs.get("agentConfiguration")

    @property
    def segment_id(self) -> int | None:
        return self._outputs.get("segmentId")

    @property
    def expose_to_children(self) -> bool | None:
        return self._outputs.get("exposeToChildren")

    @property
    def version(self) -> int | None:
        """The service's version of the policy, bumped on each change."""
        return self._outputs.get("version")

    @property
    def created_at(self) -> str | None:
        return self._outputs.get("createdAt")

    @property
    def updated_at(self) -> str | None:
        """When the service last changed the policy (its own text)."""
        return self._outputs.get("updatedAt")
