"""The plugin's provider configuration: properties of the provider, else the environment.

The keys and fall-backs are ``Settings``' (README "Configuration").  Unlike the dynamic
provider's stack config, a token in provider config wins over ``APPLIVERY_API_TOKEN``: each
explicit provider stands for its own account.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from applivery_pulumi.api import errors
from applivery_pulumi.api.settings import KEYS, Settings
from applivery_pulumi.policy import validate
from applivery_pulumi.policy.values import UNKNOWN

# Where the engine passes stack config a provider declares no property for.
CONFIG_PREFIX: Final = "applivery:config:"


def settings(
    args: Mapping[str, Any], variables: Mapping[str, str], provider: str | None = None
) -> Settings:
    """Settings from provider properties (``apiToken``, ...), then the config variables, then
    the environment.  ``provider``: the resource name of the explicit provider they are the
    properties of, which errors then name (``check the apiToken of provider acme``)."""

    def get(key: str) -> Any:
        name = key.split(":", 1)[1]  # applivery:apiToken -> apiToken
        value = args.get(name)
        if value is None:
            value = variables.get(CONFIG_PREFIX + name)
        return None if value == UNKNOWN else value

    found = Settings.load(get, explicit=True)
    if provider is None:
        return found
    origin = {
        attr: f"the {KEYS[attr].name} of provider {provider}"
        if where == KEYS[attr].config
        else where
        for attr, where in found.origin.items()
    }
    return dataclasses.replace(found, origin=origin)


def explicit_provider(urn: str) -> str | None:
    """The resource name of the provider ``urn`` names, unless it is a default provider, which
    the engine names ``default`` or ``default_<version>`` and configures from stack config."""
    name = urn.rsplit("::", 1)[-1] if urn.startswith("urn:") else ""
    if not name or name == "default" or name.startswith("default_"):
        return None
    return name


def problems(args: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(property, reason)`` for each setting of ``args`` that configure would refuse."""
    try:
        found = settings(args, {})
    except errors.ConfigurationError as exc:
        return [(failing_setting(str(exc)), str(exc))]
    if found.organization_id is None:
        return []
    # The organization's pattern is the model's: checked with a well-formed policy id.
    identity = {"organizationId": found.organization_id, "policyId": "0" * 24}
    return [(p, r) for p, r in validate.problems(identity) if p == "organizationId"]


def failing_setting(message: str) -> str:
    """The property a configuration error is about: the one its sentence names."""
    for key in KEYS.values():
        if key.config in message or key.env in message:
            return key.name
    return KEYS["max_retry_seconds"].name
