"""The policy body of `PUT .../mdm/apple/enterprise/policies/{admPolicyId}`, as pydantic models.

Every constraint of the reference (``shared/spec/put-device-policy.txt``) lives here and only here:
patterns (the id patterns are ``fields.py``'s), maximum lengths, enums and ranges.  Fields use the
API's camelCase names, also the resource's property names; ``model_dump(by_alias=True,
exclude_unset=True)`` is the PUT body.  How lists and maps compare is ``fields.py``'s
(``UNORDERED_LISTS``, ``EXACT_MAPS``); the field descriptions tell users the same (a test holds
them so).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)

# Defined in fields.py, without pydantic (it says why); re-exported here.
from applivery_pulumi.policy.fields import BODY_FIELDS as BODY_FIELDS
from applivery_pulumi.policy.fields import HEX24 as HEX24
from applivery_pulumi.policy.fields import HEX24_RE as HEX24_RE
from applivery_pulumi.policy.fields import HEX24_RULE, ORGANIZATION_ID_RULE
from applivery_pulumi.policy.fields import ORGANIZATION_ID as ORGANIZATION_ID
from applivery_pulumi.policy.fields import ORGANIZATION_ID_RE as ORGANIZATION_ID_RE
from applivery_pulumi.policy.fields import (
    READ_ONLY_APPLICATION_FIELDS as READ_ONLY_APPLICATION_FIELDS,
)
from applivery_pulumi.policy.fields import Loc as Loc
from applivery_pulumi.policy.fields import field_path as field_path

Hex24 = Annotated[StrictStr, Field(pattern=HEX24)]


Str128 = Annotated[StrictStr, Field(max_length=128)]
Str256 = Annotated[StrictStr, Field(max_length=256)]
Str500 = Annotated[StrictStr, Field(max_length=500)]


def _rfc3339(value: str) -> str:
    # The reference says `format: date-time`; keep the user's text, only check it parses.
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time such as 2026-02-13T14:30:00Z") from None
    return value


def _not_bool(value: Any) -> Any:
    # A Literal of ints takes True/False as 1/0; the service stores numbers, so true would be
    # sent as 1 and then never compare equal to what was declared.
    if isinstance(value, bool):
        raise ValueError(f"must be 0, 1, 4 or 5, not a boolean (got {str(value).lower()})")
    return value


class _Body(BaseModel):
    # Field descriptions (the provider plugin's schema is generated from them) are given as
    # Field(description=...), not as attribute docstrings: pydantic would read those from the
    # source file each time the models are built (use_attribute_docstrings), in every run that
    # validates, in the program and again in the provider.
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        frozen=True,
        hide_input_in_errors=True,
    )


class ApplicationScripts(_Body):
    """Agent-side install lifecycle scripts of one app assignment."""

    preInstall: StrictStr | None = None
    postInstall: StrictStr | None = None
    audit: StrictStr | None = None
    enforce: StrictStr | None = None
    runner: StrictStr | None = None


class Application(_Body):
    """One application assigned by the policy."""

    admApplication: Hex24 = Field(description="The application's id.")
    managed: StrictBool | None = Field(
        None,
        description="Whether the app is managed (the service then sends managementFlags 5 "
        "unless given).",
    )
    # 0 is listed by the reference's enum (no flags); 1, 4 and 5 are the documented overrides.
    managementFlags: Annotated[Literal[0, 1, 4, 5], BeforeValidator(_not_bool)] | None = Field(
        None,
        description="Management flags sent to devices; the service does not return them on reads.",
    )
    vpp: StrictBool | None = None
    iOSApp: StrictBool | None = None
    configuration: dict[str, Any] | None = None
    action: Literal["forceInstall", "available", "requiredForSetup"] | None = Field(
        None, description="How the app reaches devices."
    )
    actionStatus: (
        Literal["forceInstall", "available", "requiredForSetup", "available-install"] | None
    ) = Field(
        None,
        description="Read-only: derived by the service from `action`; accepted with a warning, "
        "never sent.",
    )
    scripts: ApplicationScripts | None = None
    updatePolicy: dict[str, Any] | None = None


class Book(_Body):
    type: Literal["asset", "store"] | None = None
    id: Str128 | None = None


class Script(_Body):
    id: Str128 | None = None
    type: Literal["once", "loop", "onDemand"] | None = None
    loopTime: Annotated[StrictInt, Field(ge=0)] | None = None
    resetDate: Annotated[StrictStr, AfterValidator(_rfc3339)] | None = None
    arguments: StrictStr | None = None
    argumentsProcessed: StrictStr | None = None
    name: Str256 | None = None
    description: Str500 | None = None
    runner: Str256 | None = None
    scope: Literal["user", "machine"] | None = None


class Bookmark(_Body):
    title: Str256 | None = None
    description: Str500 | None = None
    url: Str500 | None = None
    iconBase64: StrictStr | None = None
    iconUrl: Str500 | None = None


class Asset(_Body):
    mdmAssetId: Hex24 | None = None
    location: Str256 | None = None
    assetName: Str256 | None = None
    scope: Literal["user", "system", "all-users"] | None = None


class BlacklistedApp(_Body):
    bundleId: Str256 | None = None
    action: Literal["block", "remove"] | None = None


class PolicyFeatures(_Body):
    ios: dict[str, Any] | None = None
    macos: dict[str, Any] | None = None


class AgentConfiguration(_Body):
    allowLocation: StrictBool | None = None
    allowLocationMacos: StrictBool | None = None
    allowPackageTime: StrictBool | None = None
    allowPackageTimeIos: StrictBool | None = None
    allowPackageTransfer: StrictBool | None = None
    allowPackageTransferIos: StrictBool | None = None
    allowDeviceInfoBatteryUsage: StrictBool | None = None
    allowDeviceInfoBluetooth: StrictBool | None = None
    allowDeviceInfoSystemInfo: StrictBool | None = None
    allowDeviceInfoBatteryUsageIos: StrictBool | None = None
    allowDeviceInfoBluetoothIos: StrictBool | None = None
    allowDeviceInfoSystemInfoIos: StrictBool | None = None
    allowNetworkStatusMacos: StrictBool | None = None
    allowNetworkStatusIos: StrictBool | None = None
    appBlacklist: list[BlacklistedApp] | None = None
    policyFeatures: PolicyFeatures | None = None


class PolicyBody(_Body):
    """The body of the PUT request: every field optional, only declared fields are sent."""

    name: Str256 | None = Field(None, description="The policy's name.")
    profiles: list[Hex24] | None = Field(
        None, description="Ids of the profiles the policy installs; order is ignored."
    )
    applications: list[Application] | None = Field(
        None, description="Applications the policy assigns, one per app; order is ignored."
    )
    books: list[Book] | None = Field(
        None, description="Books the policy assigns; order is ignored."
    )
    scripts: list[Script] | None = Field(
        None, description="Agent scripts, run in the declared order."
    )
    bookmarks: list[Bookmark] | None = Field(
        None, description="Home-screen bookmarks, shown in the declared order."
    )
    assets: list[Asset] | None = Field(
        None, description="Files the agent places on devices; order is ignored."
    )
    agentConfiguration: AgentConfiguration | None = Field(
        None,
        description="The Applivery agent's settings; declared as a whole (flags left out get "
        "the defaults).",
    )
    segmentId: Annotated[StrictInt, Field(ge=0)] | None = Field(
        None, description="The segment the policy applies to."
    )
    exposeToChildren: StrictBool | None = Field(
        None, description="Whether child segments inherit the policy."
    )


class PolicyIdentity(_Body):
    """Which policy a resource manages, and what happens to it when the resource goes away."""

    organizationId: Annotated[StrictStr, Field(pattern=ORGANIZATION_ID)] = Field(
        description="The organization (slug or id); defaults to the provider's organizationId."
    )
    policyId: Hex24 = Field(
        description="The existing policy to adopt and manage (the API has no create call); "
        "also the id."
    )
    restoreOnDelete: StrictBool | None = Field(
        None,
        description="On delete, put back the configuration from before adoption (kept as "
        "preAdoption).\n\nSet it when the policy is adopted: only then is that configuration "
        "read and kept.",
    )
    importExisting: StrictBool | None = Field(
        None,
        description="Adopt by reading, writing nothing: the stored policy must already equal "
        "the declaration.",
    )


# -- errors with field paths (``field_path`` is in fields.py) ------------------------------------


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class whose field set applies at ``loc`` (for naming allowed fields)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = _nested_model(info.annotation)
    return current


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _reason(model: type[BaseModel], err: Any) -> str:
    kind = err["type"]
    loc = tuple(err["loc"])
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else "see the API reference"
        return f"unknown field; allowed here: {allowed}"
    message = str(err["msg"])
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern")
        if pattern == HEX24:
            return f"must be {HEX24_RULE} (pattern {HEX24})"
        if pattern == ORGANIZATION_ID:
            return f"must be {ORGANIZATION_ID_RULE} (pattern {ORGANIZATION_ID})"
    got = type(err.get("input")).__name__
    if kind.endswith("_type") or kind in {"model_type", "list_type", "dict_type"}:
        names = {"NoneType": "null", "str": "string", "int": "number", "float": "number"}
        return f"{message} (got {names.get(got, got)})"
    if kind == "missing":
        return "required field is missing"
    value = err.get("input")
    if isinstance(value, int | float | str) and not isinstance(value, bool) and kind in _SHOW_INPUT:
        shown = repr(value[:40]) if isinstance(value, str) else repr(value)
        return f"{message} (got {shown})"
    return message


# Errors where echoing the offending value helps (enums, ranges); never free text.
_SHOW_INPUT: Final = frozenset(
    {"literal_error", "greater_than_equal", "int_from_float", "int_parsing"}
)


def problems(model: type[BaseModel], data: Any, skip: Any = None) -> list[tuple[str, str]]:
    """Validate ``data`` against ``model``: ``(field path, reason)`` for each problem.

    ``skip(loc)`` drops problems at locations whose value is not known yet.
    """
    try:
        model.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError; kept broad to stay import-light
        errs = getattr(exc, "errors", None)
        if errs is None:
            raise
        out = []
        for err in errs(include_url=False):
            loc = tuple(err["loc"])
            if skip is not None and skip(loc):
                continue
            out.append((field_path(loc), _reason(model, err)))
        return out
    return []
