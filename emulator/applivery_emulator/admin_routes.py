"""The emulator's own endpoints under /_emulator, for tests and demos rather than the provider.

Organizations, profiles, policies edited out of band, seeding and reset, counters, faults and the
rate limit.

Routes that call the service are plain ``def``, as in api_routes.py.  Those that only touch the
counters, faults or rate limit stay ``async``: those objects keep their state in memory behind a
short lock of their own, and the middleware already uses them on the event loop for every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from . import __version__
from .bodies import Body, body_doc, ok
from .models import (
    ORGANIZATION_ID_PATTERN,
    FaultSettings,
    Locks,
    OrganizationCreate,
    PolicyCreate,
    ProfileCreate,
    RateLimitSettings,
    SeedDocument,
)
from .state import CountersDep, FaultsDep, RateLimitDep, ServiceDep

AdminOrg = Annotated[str, Path(pattern=ORGANIZATION_ID_PATTERN)]

# Annotated: mypy cannot infer it through the package's import cycle (app.py imports this).
router: APIRouter = APIRouter(prefix="/_emulator", tags=["Emulator administration"])


@router.get("/health", summary="Liveness (no auth)")
async def health() -> JSONResponse:
    return ok({"service": "applivery-emulator", "version": __version__})


# ---------------------------------------------------------------- organizations and profiles
@router.get("/organizations")
def list_orgs(service: ServiceDep) -> JSONResponse:
    return ok(service.list_orgs())


@router.post("/organizations", openapi_extra=body_doc(OrganizationCreate))
def create_org(service: ServiceDep, body: Body) -> JSONResponse:
    org_body = body.model(OrganizationCreate)
    org, created = service.ensure_org(org_body.id, org_body.name)
    return ok(org, 201 if created else 200)


@router.get("/organizations/{org}/profiles")
def list_profiles(service: ServiceDep, org: AdminOrg) -> JSONResponse:
    return ok(service.list_profiles(org))


@router.post("/organizations/{org}/profiles", openapi_extra=body_doc(ProfileCreate))
def create_profile(service: ServiceDep, org: AdminOrg, body: Body) -> JSONResponse:
    doc, _ = service.create_profile(org, body.model(ProfileCreate))
    return ok(doc, 201)


@router.delete("/organizations/{org}/profiles/{profile_id}")
def delete_profile(service: ServiceDep, org: AdminOrg, profile_id: str) -> JSONResponse:
    service.delete_profile(org, profile_id)
    return ok(None)


# ---------------------------------------------------------------- policies
@router.get("/organizations/{org}/policies")
def admin_list_policies(service: ServiceDep, org: AdminOrg) -> JSONResponse:
    return ok(service.list_admin_policies(org))


@router.post("/organizations/{org}/policies", openapi_extra=body_doc(PolicyCreate))
def admin_create_policy(service: ServiceDep, org: AdminOrg, body: Body) -> JSONResponse:
    doc, _ = service.create_policy(org, body.model(PolicyCreate))
    return ok(doc, 201)


@router.get("/organizations/{org}/policies/{policy_id}")
def admin_get_policy(service: ServiceDep, org: AdminOrg, policy_id: str) -> JSONResponse:
    result = service.admin_policy(org, policy_id)
    return ok(result["data"], emulator=result["emulator"])


@router.patch(
    "/organizations/{org}/policies/{policy_id}",
    summary="Out-of-band edit (JSON merge patch of the stored document)",
    openapi_extra=body_doc(PolicyCreate),
)
def admin_edit_policy(
    service: ServiceDep, org: AdminOrg, policy_id: str, body: Body, raw: bool = False
) -> JSONResponse:
    return ok(service.edit_policy(org, policy_id, body.object(), raw=raw))


@router.put(
    "/organizations/{org}/policies/{policy_id}/locks",
    summary="Set lock flags (segment: true makes segment changes fail with 5227)",
    openapi_extra=body_doc(Locks),
)
def admin_set_locks(service: ServiceDep, org: AdminOrg, policy_id: str, body: Body) -> JSONResponse:
    locks = body.model(Locks).model_dump(exclude_unset=True)
    return ok(service.set_locks(org, policy_id, locks))


@router.delete("/organizations/{org}/policies/{policy_id}")
def admin_delete_policy(service: ServiceDep, org: AdminOrg, policy_id: str) -> JSONResponse:
    service.delete_policy(org, policy_id)
    return ok(None)


# ---------------------------------------------------------------- all data
@router.post("/seed", openapi_extra=body_doc(SeedDocument))
def admin_seed(service: ServiceDep, body: Body) -> JSONResponse:
    return ok(service.seed(body.model(SeedDocument)))


@router.post("/reset", summary="Delete all organizations and data")
def admin_reset(service: ServiceDep, counters: CountersDep) -> JSONResponse:
    service.reset()
    counters.reset()
    return ok(None)


# ---------------------------------------------------------------- counters
@router.get("/counters")
async def get_counters(counters: CountersDep) -> JSONResponse:
    return ok(counters.snapshot())


@router.delete("/counters")
async def reset_counters(counters: CountersDep) -> JSONResponse:
    return ok(counters.reset())


@router.post("/counters/reset")
async def reset_counters_post(counters: CountersDep) -> JSONResponse:
    return ok(counters.reset())


# ---------------------------------------------------------------- faults
@router.get("/faults")
async def get_faults(faults: FaultsDep) -> JSONResponse:
    return ok(faults.snapshot())


@router.put(
    "/faults",
    summary="Change fault settings (partial update)",
    openapi_extra=body_doc(FaultSettings),
)
async def put_faults(faults: FaultsDep, body: Body) -> JSONResponse:
    return ok(faults.update(body.model(FaultSettings).model_dump(exclude_unset=True)))


@router.delete("/faults", summary="Turn every fault off")
async def delete_faults(faults: FaultsDep) -> JSONResponse:
    return ok(faults.reset())


# ---------------------------------------------------------------- rate limit
@router.get("/rate-limit", summary="The rate limit and its 429 counts")
async def get_rate_limit(rate_limit: RateLimitDep) -> JSONResponse:
    return ok(rate_limit.snapshot())


@router.put(
    "/rate-limit",
    summary="Change the rate limit (partial update; requestsPerSecond null turns it off)",
    openapi_extra=body_doc(RateLimitSettings),
)
async def put_rate_limit(rate_limit: RateLimitDep, body: Body) -> JSONResponse:
    return ok(rate_limit.update(body.model(RateLimitSettings).model_dump(exclude_unset=True)))


@router.delete("/rate-limit", summary="No rate limit, counts reset")
async def delete_rate_limit(rate_limit: RateLimitDep) -> JSONResponse:
    return ok(rate_limit.reset())


@router.post("/rate-limit/counts/reset", summary="Zero the 429 counts")
async def reset_rate_limit_counts(rate_limit: RateLimitDep) -> JSONResponse:
    return ok(rate_limit.reset_counts())
