"""Routes: the Applivery policy endpoints under /v1 and the emulator's own under /_emulator.

Bodies are read and validated here by hand (not by FastAPI's body binding) so that every
failure, junk bytes included, gets the service's error envelope with a field path; the request
schemas still appear in /openapi.json through ``openapi_extra``.
"""

from __future__ import annotations

import json
import math
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, errors
from .errors import ApiError
from .faults import FaultConfig, Faults
from .middleware import POLICIES_TEMPLATE, POLICY_TEMPLATE, Counters, EmulatorMiddleware
from .models import (
    OBJECT_ID_PATTERN,
    ORGANIZATION_ID_PATTERN,
    ErrorEnvelope,
    FaultSettings,
    Locks,
    OrganizationCreate,
    PolicyCreate,
    PolicyEnvelope,
    PolicyPageEnvelope,
    PolicyUpdate,
    ProfileCreate,
    RateLimitSettings,
    SeedDocument,
    describe_errors,
    field_path,
)
from .ratelimit import RateLimit
from .service import ListQuery, Service
from .store import Store

M = TypeVar("M", bound=BaseModel)

OrgId = Annotated[
    str,
    Path(pattern=ORGANIZATION_ID_PATTERN, description="Organization id or slug."),
]
PolicyId = Annotated[
    str, Path(pattern=OBJECT_ID_PATTERN, description="Apple device policy id (24 hex).")
]
AdminOrg = Annotated[str, Path(pattern=ORGANIZATION_ID_PATTERN)]
ERRORS_DOC: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "Validation error (4000), 5086, 5227"},
    401: {"model": ErrorEnvelope, "description": "4002 No auth token / 4004 Invalid Token"},
    404: {"model": ErrorEnvelope, "description": "3001 Entity not found"},
}
_SCHEMA_MODELS: list[type[BaseModel]] = []


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    if model not in _SCHEMA_MODELS:
        _SCHEMA_MODELS.append(model)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def _ok(data: Any, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": True, "data": data, **extra}, status_code=status)


async def read_json(request: Request) -> Any:
    """The request body as JSON, or a 400 4000 naming what is wrong with it."""
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";")[0].strip().lower()
    if mime != "application/json" and not mime.endswith("+json"):
        raise errors.validation_error("body: Content-Type must be application/json")
    raw = await request.body()
    if not raw.strip():
        raise errors.validation_error("body: a JSON object is required")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.validation_error("body: not valid UTF-8") from None

    def no_constants(name: str) -> Any:
        raise ValueError(name)

    def finite(number: str) -> float:
        value = float(number)
        if not math.isfinite(value):
            raise ValueError("number out of range")
        return value

    try:
        return json.loads(text, parse_constant=no_constants, parse_float=finite)
    except (ValueError, RecursionError) as exc:
        raise errors.validation_error(f"body: not valid JSON ({type(exc).__name__})") from None


async def read_model(request: Request, model: type[M]) -> M:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise errors.validation_error("body: must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.validation_error(describe_errors(exc)) from None
    except RecursionError:
        raise errors.validation_error("body: nested too deeply") from None


@dataclass
class Settings:
    token: str
    db_path: str = ":memory:"
    seed: dict[str, Any] | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    max_body_bytes: int = 1024 * 1024
    # Host header values answered besides loopback ones ("*": any); see middleware.py.
    allowed_hosts: tuple[str, ...] = ()
    # Requests per second per API token (None: no limit) and the bucket's size.
    rate_limit: float | None = None
    rate_burst: float | None = None


def create_app(settings: Settings) -> EmulatorMiddleware:
    """The ASGI application to serve: the FastAPI app wrapped in the emulator middleware."""
    store = Store(settings.db_path)
    faults = Faults(settings.faults)
    counters = Counters()
    rate_limit = RateLimit(settings.rate_limit, settings.rate_burst)
    service = Service(store, faults)
    if settings.seed is not None:
        service.seed(SeedDocument.model_validate(settings.seed))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        store.close()

    app = FastAPI(
        title="Applivery API emulator",
        version=__version__,
        description=(
            "A local stand-in for the Applivery Apple device policy endpoints. "
            "All `/v1` and `/_emulator` calls need `Authorization: Bearer <token>` "
            "(except `/_emulator/health`). See emulator/README.md."
        ),
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.faults = faults
    app.state.counters = counters
    app.state.rate_limit = rate_limit

    # ---------------------------------------------------------------- error handlers
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.envelope(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for item in exc.errors()[:10]:
            loc = tuple(item.get("loc", ()))
            where = field_path(loc[1:]) if loc and loc[0] in ("path", "query") else "request"
            kind = item.get("type", "")
            if kind == "string_pattern_mismatch":
                text = f"does not match pattern {item.get('ctx', {}).get('pattern')}"
            else:
                text = str(item.get("msg", "invalid"))
            parts.append(f"{where}: {text}")
        message = "; ".join(parts) or "invalid request"
        return JSONResponse(
            errors.error_envelope(errors.VALIDATION_ERROR, message), status_code=400
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            errors.error_envelope(exc.status_code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse(errors.error_envelope(500, "Internal Server Error"), status_code=500)

    # ---------------------------------------------------------------- the API
    api: list[str | Enum] = ["Apple Policies"]

    @app.get(
        POLICIES_TEMPLATE,
        tags=api,
        summary="List policies",
        response_model=None,
        responses={200: {"model": PolicyPageEnvelope}, **ERRORS_DOC},
    )
    async def list_policies(
        organizationId: OrgId,
        page: Annotated[int, Query(ge=1, description="1-based page")] = 1,
        limit: Annotated[int, Query(ge=1, le=100, description="1..100")] = 10,
        sort: Annotated[
            str | None,
            Query(description="name, createdAt, updatedAt, version; '-' for descending"),
        ] = None,
        name: Annotated[str | None, Query(description="case-insensitive substring")] = None,
        targetType: Annotated[Literal["device", "deviceUser"] | None, Query()] = None,
        segmentId: Annotated[str | None, Query(pattern=r"^[0-9]{1,15}$")] = None,
        expandTo: Annotated[str | None, Query(description="accepted and ignored")] = None,
    ) -> JSONResponse:
        query = ListQuery(
            page=page,
            limit=limit,
            sort=sort,
            name=name,
            target_type=targetType,
            segment_id=int(segmentId) if segmentId is not None else None,
        )
        return _ok(await run_in_threadpool(service.list_policies, organizationId, query))

    @app.get(
        POLICY_TEMPLATE,
        tags=api,
        summary="Retrieve policy details",
        response_model=None,
        responses={200: {"model": PolicyEnvelope}, **ERRORS_DOC},
    )
    async def get_policy(organizationId: OrgId, admPolicyId: PolicyId) -> JSONResponse:
        return _ok(await run_in_threadpool(service.get_policy, organizationId, admPolicyId))

    @app.put(
        POLICY_TEMPLATE,
        tags=api,
        summary="Update device policy",
        response_model=None,
        responses={200: {"model": PolicyEnvelope}, **ERRORS_DOC},
        openapi_extra=_body_doc(PolicyUpdate),
    )
    async def put_policy(
        request: Request, organizationId: OrgId, admPolicyId: PolicyId
    ) -> JSONResponse:
        update = await read_model(request, PolicyUpdate)
        return _ok(await run_in_threadpool(service.put_policy, organizationId, admPolicyId, update))

    # ---------------------------------------------------------------- admin
    admin: list[str | Enum] = ["Emulator administration"]

    @app.get("/_emulator/health", tags=admin, summary="Liveness (no auth)")
    async def health() -> JSONResponse:
        return _ok({"service": "applivery-emulator", "version": __version__})

    @app.get("/_emulator/organizations", tags=admin)
    async def list_orgs() -> JSONResponse:
        return _ok(await run_in_threadpool(service.list_orgs))

    @app.post("/_emulator/organizations", tags=admin, openapi_extra=_body_doc(OrganizationCreate))
    async def create_org(request: Request) -> JSONResponse:
        body = await read_model(request, OrganizationCreate)
        org, created = await run_in_threadpool(service.ensure_org, body.id, body.name)
        return _ok(org, 201 if created else 200)

    @app.get("/_emulator/organizations/{org}/profiles", tags=admin)
    async def list_profiles(org: AdminOrg) -> JSONResponse:
        return _ok(await run_in_threadpool(service.list_profiles, org))

    @app.post(
        "/_emulator/organizations/{org}/profiles",
        tags=admin,
        openapi_extra=_body_doc(ProfileCreate),
    )
    async def create_profile(request: Request, org: AdminOrg) -> JSONResponse:
        body = await read_model(request, ProfileCreate)
        doc, _ = await run_in_threadpool(service.create_profile, org, body)
        return _ok(doc, 201)

    @app.delete("/_emulator/organizations/{org}/profiles/{profile_id}", tags=admin)
    async def delete_profile(org: AdminOrg, profile_id: str) -> JSONResponse:
        await run_in_threadpool(service.delete_profile, org, profile_id)
        return _ok(None)

    @app.get("/_emulator/organizations/{org}/policies", tags=admin)
    async def admin_list_policies(org: AdminOrg) -> JSONResponse:
        return _ok(await run_in_threadpool(service.list_admin_policies, org))

    @app.post(
        "/_emulator/organizations/{org}/policies",
        tags=admin,
        openapi_extra=_body_doc(PolicyCreate),
    )
    async def admin_create_policy(request: Request, org: AdminOrg) -> JSONResponse:
        body = await read_model(request, PolicyCreate)
        doc, _ = await run_in_threadpool(service.create_policy, org, body)
        return _ok(doc, 201)

    @app.get("/_emulator/organizations/{org}/policies/{policy_id}", tags=admin)
    async def admin_get_policy(org: AdminOrg, policy_id: str) -> JSONResponse:
        result = await run_in_threadpool(service.admin_policy, org, policy_id)
        return _ok(result["data"], emulator=result["emulator"])

    @app.patch(
        "/_emulator/organizations/{org}/policies/{policy_id}",
        tags=admin,
        summary="Out-of-band edit (JSON merge patch of the stored document)",
        openapi_extra=_body_doc(PolicyCreate),
    )
    async def admin_edit_policy(
        request: Request, org: AdminOrg, policy_id: str, raw: bool = False
    ) -> JSONResponse:
        patch = await read_json(request)
        if not isinstance(patch, dict):
            raise errors.validation_error("body: must be a JSON object")
        return _ok(await run_in_threadpool(service.edit_policy, org, policy_id, patch, raw=raw))

    @app.put(
        "/_emulator/organizations/{org}/policies/{policy_id}/locks",
        tags=admin,
        summary="Set lock flags (segment: true makes segment changes fail with 5227)",
        openapi_extra=_body_doc(Locks),
    )
    async def admin_set_locks(request: Request, org: AdminOrg, policy_id: str) -> JSONResponse:
        body = await read_model(request, Locks)
        locks = body.model_dump(exclude_unset=True)
        return _ok(await run_in_threadpool(service.set_locks, org, policy_id, locks))

    @app.delete("/_emulator/organizations/{org}/policies/{policy_id}", tags=admin)
    async def admin_delete_policy(org: AdminOrg, policy_id: str) -> JSONResponse:
        await run_in_threadpool(service.delete_policy, org, policy_id)
        return _ok(None)

    @app.post("/_emulator/seed", tags=admin, openapi_extra=_body_doc(SeedDocument))
    async def admin_seed(request: Request) -> JSONResponse:
        body = await read_model(request, SeedDocument)
        return _ok(await run_in_threadpool(service.seed, body))

    @app.post("/_emulator/reset", tags=admin, summary="Delete all organizations and data")
    async def admin_reset() -> JSONResponse:
        await run_in_threadpool(service.reset)
        counters.reset()
        return _ok(None)

    @app.get("/_emulator/counters", tags=admin)
    async def get_counters() -> JSONResponse:
        return _ok(counters.snapshot())

    @app.delete("/_emulator/counters", tags=admin)
    async def reset_counters() -> JSONResponse:
        return _ok(counters.reset())

    @app.post("/_emulator/counters/reset", tags=admin)
    async def reset_counters_post() -> JSONResponse:
        return _ok(counters.reset())

    @app.get("/_emulator/faults", tags=admin)
    async def get_faults() -> JSONResponse:
        return _ok(faults.snapshot())

    @app.put(
        "/_emulator/faults",
        tags=admin,
        summary="Change fault settings (partial update)",
        openapi_extra=_body_doc(FaultSettings),
    )
    async def put_faults(request: Request) -> JSONResponse:
        body = await read_model(request, FaultSettings)
        return _ok(faults.update(body.model_dump(exclude_unset=True)))

    @app.delete("/_emulator/faults", tags=admin, summary="Turn every fault off")
    async def delete_faults() -> JSONResponse:
        return _ok(faults.reset())

    @app.get("/_emulator/rate-limit", tags=admin, summary="The rate limit and its 429 counts")
    async def get_rate_limit() -> JSONResponse:
        return _ok(rate_limit.snapshot())

    @app.put(
        "/_emulator/rate-limit",
        tags=admin,
        summary="Change the rate limit (partial update; requestsPerSecond null turns it off)",
        openapi_extra=_body_doc(RateLimitSettings),
    )
    async def put_rate_limit(request: Request) -> JSONResponse:
        body = await read_model(request, RateLimitSettings)
        return _ok(rate_limit.update(body.model_dump(exclude_unset=True)))

    @app.delete("/_emulator/rate-limit", tags=admin, summary="No rate limit, counts reset")
    async def delete_rate_limit() -> JSONResponse:
        return _ok(rate_limit.reset())

    @app.post("/_emulator/rate-limit/counts/reset", tags=admin, summary="Zero the 429 counts")
    async def reset_rate_limit_counts() -> JSONResponse:
        return _ok(rate_limit.reset_counts())

    # ---------------------------------------------------------------- OpenAPI
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for model in _SCHEMA_MODELS:
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in model_schema.pop("$defs", {}).items():
                schemas.setdefault(name, _drop_null(sub))
            schemas[model.__name__] = _drop_null(model_schema)
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    return EmulatorMiddleware(
        app,
        token=settings.token,
        faults=faults,
        counters=counters,
        max_body_bytes=settings.max_body_bytes,
        allowed_hosts=settings.allowed_hosts,
        rate_limit=rate_limit,
    )


def _drop_null(schema: Any) -> Any:
    """Request fields may be omitted but not sent as null: show them without the null branch."""
    if isinstance(schema, list):
        return [_drop_null(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _drop_null(v) for k, v in schema.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list):
        kept = [b for b in branches if b != {"type": "null"}]
        if len(kept) != len(branches):
            out.pop("anyOf")
            if out.get("default", 0) is None:
                out.pop("default")
            if len(kept) == 1:
                out.update(kept[0])
            else:
                out["anyOf"] = kept
    return out
