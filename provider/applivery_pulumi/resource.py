"""``AppleDevicePolicy`` and its typed arguments, the way Pulumi's own Python SDKs spell them.

Arguments are snake_case; the resource's properties (inputs and state) use the API's camelCase
names.  Every args class also accepts a plain dict (snake_case or camelCase keys) and any value may
be a ``pulumi.Output``.  Free-form maps (``configuration``, ``update_policy``, ``policy_features``'s
``ios``/``macos``) are passed through untouched: their keys belong to the user.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Literal, cast

import pulumi
import pulumi.dynamic
from pulumi.runtime.settings import get_monitor

from .fields import BODY_FIELDS
from .provider import IDENTITY, LOOKUP, OPTIONS, OUTPUTS, AppleDevicePolicyProvider, printable
from .values import UNKNOWN, plain

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
    """Adopt the policy by reading it, writing nothing (a policy file's ``import: true``).

    The stored policy must already equal this declaration (compared as ``pulumi preview`` does),
    else adoption fails naming every differing field with both values.  Only adoption reads
    instead of writing: later changes to the declaration are applied as usual."""

    _nested: ClassVar[dict[str, type[_Args]]] = {
        "applications": ApplicationArgs,
        "books": BookArgs,
        "scripts": ScriptArgs,
        "bookmarks": BookmarkArgs,
        "assets": AssetArgs,
        "agent_configuration": AgentConfigurationArgs,
    }


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

    Create adopts an existing policy (the API has no create call) by writing the declaration.
    Destroy releases it unchanged, or with ``restore_on_delete=True`` puts back the
    configuration it had before adoption, which create then keeps in ``pre_adoption``.
    """

    def __init__(
        self,
        resource_name: str,
        args: AppleDevicePolicyArgs | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = policy_props(resource_name, args, kwargs)
        org = props["organizationId"]
        if org is None:
            org = _default_organization()
        found = _problems(props, org)
        if found:
            # Reported now, each on its own line: the engine stops at the first resource whose
            # check fails, so a program with many bad resources would otherwise show only one.
            for path, reason in found:
                message = f"AppleDevicePolicy {resource_name!r}: {path}: {reason}"
                pulumi.log.error(printable(message))
            # Nothing of an invalid resource goes to the engine (a value gRPC cannot carry would
            # fail there with a traceback): its registration fails with one message instead.
            props = {"policyId": _rejected(resource_name)} | {
                k: None for k in props if k != "policyId"
            }
        else:
            # The policy id reaches the engine only once no other resource of the program claims
            # the same policy: a duplicate fails both before anything is sent.
            props["policyId"] = _sole_owner(resource_name, org, props["policyId"])
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
    resource_name: str,
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
    _warn_read_only(props.get("applications"), resource_name)
    return props


def _warn_read_only(applications: Any, resource_name: str) -> None:
    if not isinstance(applications, list):
        return
    for i, app in enumerate(applications):
        if isinstance(app, dict) and app.get("actionStatus") is not None:
            pulumi.log.warn(
                f"{resource_name}: applications[{i}].actionStatus is read-only (the service "
                "derives it from `action`): it is ignored and never sent"
            )


# -- one resource per policy ---------------------------------------------------------------------
#
# Two resources that manage the same policy would overwrite each other on every `pulumi up`, and
# the engine cannot tell (each has its own URN).  The program keeps a registry of the policies its
# resources claim.  Known identities are claimed when the resource is declared, that is before
# the program yields to the event loop, so every declaration of the program is in the registry
# before any resource is registered with the engine; identities that are Outputs are claimed when
# their values are known.

_owners: dict[tuple[str | None, str], list[str]] = {}
_reported: set[tuple[str | None, str]] = set()
_owners_run: list[object] = []  # the monitor of the program run the registry belongs to
_owners_lock: Final = threading.Lock()


def _default_organization() -> str | None:
    """``applivery:organizationId``, else ``APPLIVERY_ORGANIZATION_ID`` (as the provider does)."""
    value = pulumi.Config("applivery").get("organizationId")
    if not value:
        value = os.environ.get("APPLIVERY_ORGANIZATION_ID")
    return value.strip() if value and value.strip() else None


def _registry() -> dict[tuple[str | None, str], list[str]]:
    # A new program run (a new engine connection, or a new set of unit-test mocks) starts empty.
    monitor = get_monitor()
    if not _owners_run or _owners_run[0] is not monitor:
        _owners.clear()
        _reported.clear()
        _owners_run[:] = [monitor]
    return _owners


def _claim(key: tuple[str | None, str], resource_name: str) -> None:
    with _owners_lock:
        names = _registry().setdefault(key, [])
        if resource_name not in names:
            names.append(resource_name)


def _check_sole_owner(key: tuple[str | None, str], resource_name: str) -> None:
    with _owners_lock:
        names = list(_registry().get(key, [resource_name]))
        if len(names) < 2:
            return
        first = key not in _reported
        _reported.add(key)
        shared = sum(1 for owners in _owners.values() if len(owners) > 1)
    if first:
        # Logged once per policy (the program stops at the first error it raises, so a raised
        # message alone would show one duplicate at a time).
        org, policy_id = key
        where = f" of organization {org}" if org else ""
        listed = ", ".join(repr(n) for n in names)
        pulumi.log.error(
            printable(
                f"AppleDevicePolicy resources {listed} all manage policy {policy_id}{where}: a "
                "policy is managed by one resource only (else each `pulumi up` overwrites the "
                "other's configuration); keep one of them"
            )
        )
    raise pulumi.RunError(
        f"{shared} {'policy is' if shared == 1 else 'policies are'} declared by more than one "
        "AppleDevicePolicy resource, each named above: keep one resource per policy"
    )


def _sole_owner(resource_name: str, org: Any, policy_id: Any) -> pulumi.Output[Any]:
    """``policy_id`` as an Output that fails when another resource claims the same policy."""
    # Policy ids are hexadecimal object ids: the service does not tell 'ABC' from 'abc'.
    if isinstance(org, str | None) and isinstance(policy_id, str):
        _claim((org, policy_id.lower()), resource_name)

    def check(values: list[Any]) -> Any:
        known_org, known_id = values
        if isinstance(known_org, str | None) and isinstance(known_id, str):
            key = (known_org, known_id.lower())
            _claim(key, resource_name)
            _check_sole_owner(key, resource_name)
        return known_id

    return pulumi.Output.all(org, policy_id).apply(check)


# -- inputs checked when the program declares them -------------------------------------------------
#
# The provider's check (in the provider process) validates every resource the engine registers,
# but the engine stops at the first resource whose check fails.  So the program validates what it
# already knows, with the same rules, and reports every problem of every resource at once; values
# that are Outputs are left to the provider's check.

_rejects: list[str] = []
_rejects_run: list[object] = []


def _known_now(value: Any) -> Any:
    """``value`` with what the program does not know yet (Outputs, awaitables) as unknown."""
    if isinstance(value, dict):
        return {k: _known_now(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_known_now(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return UNKNOWN


def _problems(props: dict[str, Any], org: Any) -> list[tuple[str, str]]:
    probe = plain(_known_now(props))
    if "organizationId" not in probe and org is not None:
        probe["organizationId"] = _known_now(org)
    apps = probe.get("applications")
    for app in apps if isinstance(apps, list) else []:
        if isinstance(app, dict):
            app.pop("actionStatus", None)  # read-only: warned about, never sent
    return AppleDevicePolicyProvider().validate(probe)


def _rejected(resource_name: str) -> pulumi.Output[Any]:
    """An Output that fails the registration of an invalid resource, naming all of them."""
    with _owners_lock:
        if not _rejects_run or _rejects_run[0] is not get_monitor():
            _rejects.clear()
            _rejects_run[:] = [get_monitor()]
        _rejects.append(resource_name)

    def fail(_: Any) -> Any:
        with _owners_lock:
            names = list(_rejects)
        shown = ", ".join(repr(n) for n in names[:5])
        if len(names) > 5:
            shown += f" and {len(names) - 5} more"
        raise pulumi.RunError(
            f"{len(names)} AppleDevicePolicy resource(s) have invalid inputs ({shown}), each "
            "problem named above with its field path: fix them; nothing was sent to Applivery"
        )

    return pulumi.Output.from_input(resource_name).apply(fail)
