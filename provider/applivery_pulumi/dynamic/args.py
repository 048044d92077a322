"""The typed arguments of a policy, the way Pulumi's own Python SDKs spell them.

Arguments are snake_case; the resource's properties (inputs and state) use the API's camelCase
names.  Every args class also accepts a plain dict (snake_case or camelCase keys) and any value may
be a ``pulumi.Output``.  Free-form maps (``configuration``, ``update_policy``, ``policy_features``'s
``ios``/``macos``) are passed through untouched: their keys belong to the user.  The fields mirror
the models of ``model.py`` (a unit test holds them equal).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Literal

import pulumi

_SPECIAL: Final = {"ios_app": "iOSApp"}


@functools.lru_cache(maxsize=4096)
def _camel(name: str) -> str:
    if name in _SPECIAL:
        return _SPECIAL[name]
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


@functools.lru_cache(maxsize=4096)
def _snake(name: str) -> str:
    if name == "iOSApp":
        return "ios_app"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _Args:
    """Base of the args classes: conversion to the wire (camelCase) shape."""

    _nested: ClassVar[dict[str, type[_Args]]] = {}

    @classmethod
    def wire(cls, value: Any) -> Any:
        """``value`` (an instance, a dict, a list of them, or an Output of those) in wire shape."""
        if isinstance(value, pulumi.Output):
            return value.apply(cls.wire)
        if isinstance(value, list | tuple):
            return [cls.wire(v) for v in value]
        if isinstance(value, _Args):
            items: Mapping[str, Any] = {name: getattr(value, name) for name in value._fields()}
        elif isinstance(value, Mapping):
            items = value
        else:
            return value  # not ours to shape: check reports it with its field path
        out: dict[str, Any] = {}
        for key, item in items.items():
            if item is None:
                continue
            snake = _snake(key) if key not in cls._fields() else key
            name = _camel(snake) if snake in cls._fields() else key
            nested = cls._nested.get(snake)
            out[name] = nested.wire(item) if nested is not None else item
        return out

    @classmethod
    @functools.cache
    def _fields(cls) -> tuple[str, ...]:
        # Once per class: dataclasses.fields() is slow, and this runs for every nested value.
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]


@dataclasses.dataclass
class ApplicationScriptsArgs(_Args):
    pre_install: pulumi.Input[str] | None = None
    post_install: pulumi.Input[str] | None = None
    audit: pulumi.Input[str] | None = None
    enforce: pulumi.Input[str] | None = None
    runner: pulumi.Input[str] | None = None


@dataclasses.dataclass
class ApplicationArgs(_Args):
    adm_application: pulumi.Input[str]
    managed: pulumi.Input[bool] | None = None
    management_flags: pulumi.Input[Literal[0, 1, 4, 5]] | None = None
    vpp: pulumi.Input[bool] | None = None
    ios_app: pulumi.Input[bool] | None = None
    configuration: pulumi.Input[Mapping[str, Any]] | None = None
    action: pulumi.Input[Literal["forceInstall", "available", "requiredForSetup"]] | None = None
    action_status: pulumi.Input[str] | None = None
    scripts: pulumi.Input[ApplicationScriptsArgs | Mapping[str, Any]] | None = None
    update_policy: pulumi.Input[Mapping[str, Any]] | None = None

    _nested: ClassVar[dict[str, type[_Args]]] = {"scripts": ApplicationScriptsArgs}


@dataclasses.dataclass
class BookArgs(_Args):
    type: pulumi.Input[Literal["asset", "store"]] | None = None
    id: pulumi.Input[str] | None = None


@dataclasses.dataclass
class ScriptArgs(_Args):
    id: pulumi.Input[str] | None = None
    type: pulumi.Input[Literal["once", "loop", "onDemand"]] | None = None
    loop_time: pulumi.Input[int] | None = None
    reset_date: pulumi.Input[str] | None = None
    arguments: pulumi.Input[str] | None = None
    arguments_processed: pulumi.Input[str] | None = None
    name: pulumi.Input[str] | None = None
    description: pulumi.Input[str] | None = None
    runner: pulumi.Input[str] | None = None
    scope: pulumi.Input[Literal["user", "machine"]] | None = None


@dataclasses.dataclass
class BookmarkArgs(_Args):
    title: pulumi.Input[str] | None = None
    description: pulumi.Input[str] | None = None
    url: pulumi.Input[str] | None = None
    icon_base64: pulumi.Input[str] | None = None
    icon_url: pulumi.Input[str] | None = None


@dataclasses.dataclass
class AssetArgs(_Args):
    mdm_asset_id: pulumi.Input[str] | None = None
    location: pulumi.Input[str] | None = None
    asset_name: pulumi.Input[str] | None = None
    scope: pulumi.Input[Literal["user", "system", "all-users"]] | None = None


@dataclasses.dataclass
class BlacklistedAppArgs(_Args):
    bundle_id: pulumi.Input[str] | None = None
    action: pulumi.Input[Literal["block", "remove"]] | None = None


@dataclasses.dataclass
class PolicyFeaturesArgs(_Args):
    ios: pulumi.Input[Mapping[str, Any]] | None = None
    macos: pulumi.Input[Mapping[str, Any]] | None = None


@dataclasses.dataclass
class AgentConfigurationArgs(_Args):
    allow_location: pulumi.Input[bool] | None = None
    allow_location_macos: pulumi.Input[bool] | None = None
    allow_package_time: pulumi.Input[bool] | None = None
    allow_package_time_ios: pulumi.Input[bool] | None = None
    allow_package_transfer: pulumi.Input[bool] | None = None
    allow_package_transfer_ios: pulumi.Input[bool] | None = None
    allow_device_info_battery_usage: pulumi.Input[bool] | None = None
    allow_device_info_bluetooth: pulumi.Input[bool] | None = None
    allow_device_info_system_info: pulumi.Input[bool] | None = None
    allow_device_info_battery_usage_ios: pulumi.Input[bool] | None = None
    allow_device_info_bluetooth_ios: pulumi.Input[bool] | None = None
    allow_device_info_system_info_ios: pulumi.Input[bool] | None = None
    allow_network_status_macos: pulumi.Input[bool] | None = None
    allow_network_status_ios: pulumi.Input[bool] | None = None
    app_blacklist: pulumi.Input[Sequence[BlacklistedAppArgs | Mapping[str, Any]]] | None = None
    policy_features: pulumi.Input[PolicyFeaturesArgs | Mapping[str, Any]] | None = None

    _nested: ClassVar[dict[str, type[_Args]]] = {
        "app_blacklist": BlacklistedAppArgs,
        "policy_features": PolicyFeaturesArgs,
    }


@dataclasses.dataclass
class AppleDevicePolicyArgs(_Args):
    """What one ``AppleDevicePolicy`` declares.  Only what is set here is managed."""

    policy_id: pulumi.Input[str]
    organization_id: pulumi.Input[str] | None = None
    name: pulumi.Input[str] | None = None
    profiles: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    applications: pulumi.Input[Sequence[ApplicationArgs | Mapping[str, Any]]] | None = None
    books: pulumi.Input[Sequence[BookArgs | Mapping[str, Any]]] | None = None
    scripts: pulumi.Input[Sequence[ScriptArgs | Mapping[str, Any]]] | None = None
    bookmarks: pulumi.Input[Sequence[BookmarkArgs | Mapping[str, Any]]] | None = None
    assets: pulumi.Input[Sequence[AssetArgs | Mapping[str, Any]]] | None = None
    agent_configuration: pulumi.Input[AgentConfigurationArgs | Mapping[str, Any]] | None = None
    segment_id: pulumi.Input[int] | None = None
    expose_to_children: pulumi.Input[bool] | None = None
    restore_on_delete: pulumi.Input[bool] | None = None
    """On destroy, put back the configuration the policy had before it was adopted.

    Set it when the policy is adopted: only then is that configuration read and kept."""
    import_existing: pulumi.Input[bool] | None = None
    """Adopt the policy by reading it, writing nothing: the stored policy must already equal this
    declaration (README, "Lifecycle").  A policy file's ``import: true`` and the ``import_``
    resource option set it."""

    _nested: ClassVar[dict[str, type[_Args]]] = {
        "applications": ApplicationArgs,
        "books": BookArgs,
        "scripts": ScriptArgs,
        "bookmarks": BookmarkArgs,
        "assets": AssetArgs,
        "agent_configuration": AgentConfigurationArgs,
    }
