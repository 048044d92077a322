"""Request validation: the PUT body of the reference, constraint by constraint.

This module is deliberately independent of the provider's model: the emulator stands for the
real service, so the constraints are copied from the API reference
(``shared/spec/put-device-policy.txt``), not imported.  The validator's rules (strict types, no
``null``, unknown fields refused) are emulator/README.md's "Validation".
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

# pydantic and FastAPI apply these with Rust's regex, whose `$` is the end of the text.
ORGANIZATION_ID_PATTERN = r"^(([a-fA-F0-9]{24})|([a-zA-Z0-9\-]{3,}))$"
OBJECT_ID_PATTERN = r"^[a-fA-F0-9]{24}$"
_OBJECT_ID_RE = re.compile(OBJECT_ID_PATTERN)
_ORG_ID_RE = re.compile(ORGANIZATION_ID_PATTERN)


# fullmatch: with Python's `re`, `$` also matches before a trailing newline.
def is_object_id(value: str) -> bool:
    return bool(_OBJECT_ID_RE.fullmatch(value))


def is_organization_id(value: str) -> bool:
    return bool(_ORG_ID_RE.fullmatch(value))


# --------------------------------------------------------------------------- scalar types


def _integral_number(value: Any) -> Any:
    """Accept ints and integral floats (3600.0), give back an int; reject booleans."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _segment_id(value: Any) -> Any:
    if isinstance(value, str):
        if re.fullmatch(r"[0-9]{1,15}", value):
            return int(value)
        raise PydanticCustomError(
            "segment_id", "Input should be a non-negative integer or a string of digits"
        )
    return _integral_number(value)


def _date_time(value: str) -> str:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PydanticCustomError(
            "datetime_parsing", "Input should be an ISO 8601 date-time"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return js_iso(parsed)


def js_iso(moment: datetime) -> str:
    """Format like JavaScript's Date.prototype.toISOString(): UTC, milliseconds, 'Z'."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


ObjectId = Annotated[str, StringConstraints(pattern=OBJECT_ID_PATTERN)]
Str128 = Annotated[str, StringConstraints(max_length=128)]
Str256 = Annotated[str, StringConstraints(max_length=256)]
Str500 = Annotated[str, StringConstraints(max_length=500)]
NonNegativeInt = Annotated[int, BeforeValidator(_integral_number), Field(ge=0)]
ManagementFlags = Annotated[
    Literal[0, 1, 4, 5],
    BeforeValidator(_integral_number),
    WithJsonSchema({"type": "number", "enum": [0, 1, 4, 5]}),
]
SegmentId = Annotated[
    int,
    BeforeValidator(_segment_id),
    Field(ge=0),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^[0-9]+$"},
            ],
            "description": "Segment identifier; a number or a string of digits. "
            "Responses return it as a string.",
        }
    ),
]
DateTime = Annotated[
    str,
    AfterValidator(_date_time),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
FreeObject = dict[str, Any]


def _not_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("null_not_allowed", "must not be null")
    return value


T = TypeVar("T")
# An optional field that may be omitted but not sent as null.
Opt = Annotated[T | None, AfterValidator(_not_null)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# --------------------------------------------------------------------------- PUT body


class AppScripts(_Strict):
    preInstall: Opt[str] = None
    postInstall: Opt[str] = None
    audit: Opt[str] = None
    enforce: Opt[str] = None
    runner: Opt[str] = None


class Application(_Strict):
    admApplication: ObjectId
    managed: Opt[bool] = None
    managementFlags: Opt[ManagementFlags] = None
    vpp: Opt[bool] = None
    iOSApp: Opt[bool] = None
    configuration: Opt[FreeObject] = None
    action: Opt[Literal["forceInstall", "available", "requiredForSetup"]] = None
    actionStatus: Opt[
        Literal["forceInstall", "available", "requiredForSetup", "available-install"]
    ] = Field(default=None, description="Read-only: the service derives it from action.")
    scripts: Opt[AppScripts] = None
    updatePolicy: Opt[FreeObject] = None


class Book(_Strict):
    type: Opt[Literal["asset", "store"]] = None
    id: Opt[Str128] = None


class Script(_Strict):
    id: Opt[Str128] = None
    type: Opt[Literal["once", "loop", "onDemand"]] = None
    loopTime: Opt[NonNegativeInt] = None
    resetDate: Opt[DateTime] = None
    arguments: Opt[str] = None
    argumentsProcessed: Opt[str] = Field(
        default=None, description="Read-only: the service derives it from arguments."
    )
    name: Opt[Str256] = None
    description: Opt[Str500] = None
    runner: Opt[Str256] = None
    scope: Opt[Literal["user", "machine"]] = None


class Bookmark(_Strict):
    title: Opt[Str256] = None
    description: Opt[Str500] = None
    url: Opt[Str500] = None
    iconBase64: Opt[str] = None
    iconUrl: Opt[Str500] = None


class Asset(_Strict):
    mdmAssetId: Opt[ObjectId] = None
    location: Opt[Str256] = None
    assetName: Opt[Str256] = None
    scope: Opt[Literal["user", "system", "all-users"]] = None


class BlacklistedApp(_Strict):
    bundleId: Opt[Str256] = None
    action: Opt[Literal["block", "remove"]] = None


class PolicyFeatures(_Strict):
    ios: Opt[FreeObject] = None
    macos: Opt[FreeObject] = None


AGENT_FLAGS = (
    "allowLocation",
    "allowLocationMacos",
    "allowPackageTime",
    "allowPackageTimeIos",
    "allowPackageTransfer",
    "allowPackageTransferIos",
    "allowDeviceInfoBatteryUsage",
    "allowDeviceInfoBluetooth",
    "allowDeviceInfoSystemInfo",
    "allowDeviceInfoBatteryUsageIos",
    "allowDeviceInfoBluetoothIos",
    "allowDeviceInfoSystemInfoIos",
    "allowNetworkStatusMacos",
    "allowNetworkStatusIos",
)


class AgentConfiguration(_Strict):
    allowLocation: Opt[bool] = None
    allowLocationMacos: Opt[bool] = None
    allowPackageTime: Opt[bool] = None
    allowPackageTimeIos: Opt[bool] = Field(
        default=None, description="When omitted, allowPackageTime applies."
    )
    allowPackageTransfer: Opt[bool] = None
    allowPackageTransferIos: Opt[bool] = None
    allowDeviceInfoBatteryUsage: Opt[bool] = None
    allowDeviceInfoBluetooth: Opt[bool] = None
    allowDeviceInfoSystemInfo: Opt[bool] = None
    allowDeviceInfoBatteryUsageIos: Opt[bool] = None
    allowDeviceInfoBluetoothIos: Opt[bool] = None
    allowDeviceInfoSystemInfoIos: Opt[bool] = None
    allowNetworkStatusMacos: Opt[bool] = None
    allowNetworkStatusIos: Opt[bool] = None
    appBlacklist: Opt[list[BlacklistedApp]] = None
    policyFeatures: Opt[PolicyFeatures] = None


class PolicyUpdate(_Strict):
    """Body of PUT .../policies/{admPolicyId}; every field optional, none nullable."""

    name: Opt[Str256] = None
    profiles: Opt[list[str]] = Field(
        default=None, description="Profile ids; responses return full profile objects."
    )
    applications: Opt[list[Application]] = None
    books: Opt[list[Book]] = None
    scripts: Opt[list[Script]] = None
    bookmarks: Opt[list[Bookmark]] = None
    assets: Opt[list[Asset]] = None
    agentConfiguration: Opt[AgentConfiguration] = None
    segmentId: Opt[SegmentId] = None
    exposeToChildren: Opt[bool] = None


POLICY_FIELDS = tuple(PolicyUpdate.model_fields)


# --------------------------------------------------------------------------- admin bodies


class Locks(_Strict):
    segment: Opt[bool] = Field(
        default=None,
        description="When true, a PUT that changes segmentId or exposeToChildren fails with 5227.",
    )


class PolicyCreate(PolicyUpdate):
    """Admin/seed creation: PUT fields plus what only the dashboard sets."""

    id: Opt[ObjectId] = None
    targetType: Opt[Literal["device", "deviceUser"]] = None
    attachedProfile: Opt[ObjectId] = Field(
        default=None, description="Id of an 'attached' profile to show as attachedProfile."
    )
    locks: Opt[Locks] = None


class ProfileCreate(_Strict):
    id: Opt[ObjectId] = None
    name: Str256
    type: Literal["single", "attached"] = "single"
    targetType: Literal["device", "deviceUser"] = "device"
    config: Opt[FreeObject] = None
    certificates: Opt[list[FreeObject]] = None
    UUID: Opt[Str128] = None
    useCustomFileVaultCertificates: Opt[bool] = None
    parentAdmProfileId: Opt[ObjectId] = None


class OrganizationCreate(_Strict):
    id: Annotated[str, StringConstraints(pattern=ORGANIZATION_ID_PATTERN)]
    name: Opt[Str256] = None


class OrganizationSeed(OrganizationCreate):
    profiles: list[ProfileCreate] = Field(default_factory=list)
    policies: list[PolicyCreate] = Field(default_factory=list)


class SeedDocument(_Strict):
    organizations: list[OrganizationSeed] = Field(default_factory=list)


class RateLimitSettings(_Strict):
    """Body of PUT /_emulator/rate-limit (a partial update: send only what changes)."""

    requestsPerSecond: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        default=None, description="Requests per second per API token; null: no limit"
    )
    burst: Annotated[float, Field(ge=1, le=1_000_000)] | None = Field(
        default=None, description="Requests that may come at once (the bucket's size)"
    )

    model_config = ConfigDict(extra="forbid", strict=False)


class FaultSettings(_Strict):
    """Body of PUT /_emulator/faults (a partial update: send only what changes)."""

    errorRate: Annotated[float, Field(ge=0, le=1)] | None = None
    errorStatuses: list[Literal[500, 502, 503, 504]] | None = None
    throttleRate: Annotated[float, Field(ge=0, le=1)] | None = None
    retryAfter: NonNegativeInt | None = None
    latencyMs: Annotated[float, Field(ge=0, le=60_000)] | None = None
    jitterMs: Annotated[float, Field(ge=0, le=60_000)] | None = None
    dropRate: Annotated[float, Field(ge=0, le=1)] | None = None
    dropField: str | None = Field(
        default=None, description="A top-level PUT field: " + ", ".join(POLICY_FIELDS)
    )
    dropFieldRate: Annotated[float, Field(ge=0, le=1)] | None = None
    methods: list[Literal["GET", "PUT"]] | None = None
    phase: Literal["before", "after"] | None = None
    seed: int | None = None

    model_config = ConfigDict(extra="forbid", strict=False)

    @field_validator("dropField")
    @classmethod
    def _known_field(cls, value: str | None) -> str | None:
        if value is not None and value not in POLICY_FIELDS:
            raise PydanticCustomError("unknown_field", "must be one of " + ", ".join(POLICY_FIELDS))
        return value


# --------------------------------------------------------------------------- response docs
# These only feed /openapi.json; responses are built by normalize.py, not validated here.


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ProfileOut(_Open):
    id: str
    organization: str
    admEnterprise: str
    admPolicy: str | None = None
    targetType: Literal["device", "deviceUser"]
    name: str
    config: FreeObject
    certificates: list[FreeObject]
    type: Literal["attached", "single"]
    UUID: str
    version: int
    updatedAt: str
    createdAt: str
    assignedTo: FreeObject


class ApplicationOut(_Open):
    admApplication: str
    managed: bool
    managementFlags: int | None = Field(
        default=None, description="Only in PUT responses; GET omits it."
    )
    vpp: bool
    iOSApp: bool
    configuration: FreeObject
    action: str | None = None
    actionStatus: str | None = None
    scripts: FreeObject
    updatePolicy: FreeObject


class PolicyOut(_Open):
    id: str
    organization: str
    admEnterprise: str
    targetType: Literal["device", "deviceUser"]
    attachedProfile: FreeObject
    name: str
    profiles: list[ProfileOut]
    applications: list[ApplicationOut]
    applicationsInfo: list[FreeObject]
    books: list[FreeObject]
    booksInfo: list[FreeObject]
    scripts: list[FreeObject]
    scriptsInfo: list[FreeObject]
    bookmarks: list[FreeObject]
    assets: list[FreeObject]
    assetsInfo: list[FreeObject]
    version: int
    updatedAt: str
    createdAt: str
    agentConfiguration: FreeObject
    segmentId: str | None = Field(default=None, description='A string, e.g. "1".')
    exposeToChildren: bool


class PolicyEnvelope(_Open):
    status: Literal[True]
    data: PolicyOut


class PolicyPage(_Open):
    items: list[PolicyOut]
    totalDocs: int
    limit: int
    page: int
    totalPages: int
    hasPrevPage: bool
    hasNextPage: bool
    prevPage: int | None
    nextPage: int | None


class PolicyPageEnvelope(_Open):
    status: Literal[True]
    data: PolicyPage


class ErrorBody(_Open):
    code: int
    message: str


class ErrorEnvelope(_Open):
    status: Literal[False]
    error: ErrorBody


# --------------------------------------------------------------------------- error text


def field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def describe_errors(error: ValidationError, prefix: str = "", limit: int = 10) -> str:
    """One message naming each failing field path, e.g. 'applications[0].managementFlags: ...'."""
    parts = []
    for item in error.errors(include_url=False)[:limit]:
        loc = tuple(item.get("loc", ()))
        kind = item.get("type", "")
        if kind == "extra_forbidden":
            text = "unknown field"
        elif kind == "missing":
            text = "is required"
        elif kind == "string_too_long":
            text = f"must be at most {item.get('ctx', {}).get('max_length')} characters"
        elif kind == "string_pattern_mismatch":
            text = f"does not match pattern {item.get('ctx', {}).get('pattern')}"
        else:
            text = str(item.get("msg", "invalid value"))
        path = field_path(loc)
        if prefix:
            path = f"{prefix}.{path}" if path != "body" else prefix
        parts.append(f"{path}: {text}")
    extra = len(error.errors()) - limit
    if extra > 0:
        parts.append(f"... and {extra} more")
    return "; ".join(parts)
