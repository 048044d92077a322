"""The Applivery API the provider talks to: the Apple device policy endpoints under /v1.

Every route calls the service, whose store blocks on SQLite: they are plain ``def`` so that
FastAPI runs them in its thread pool, off the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .bodies import Body, body_doc, ok
from .middleware import POLICIES_TEMPLATE, POLICY_TEMPLATE
from .models import (
    OBJECT_ID_PATTERN,
    ORGANIZATION_ID_PATTERN,
    ErrorEnvelope,
    PolicyEnvelope,
    PolicyPageEnvelope,
    PolicyUpdate,
)
from .service import ListQuery
from .state import ServiceDep

OrgId = Annotated[
    str,
    Path(pattern=ORGANIZATION_ID_PATTERN, description="Organization id or slug."),
]
PolicyId = Annotated[
    str, Path(pattern=OBJECT_ID_PATTERN, description="Apple device policy id (24 hex).")
]
ERRORS_DOC: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "Validation error (4000), 5086, 5227"},
    401: {"model": ErrorEnvelope, "description": "4002 No auth token / 4004 Invalid Token"},
    404: {"model": ErrorEnvelope, "description": "3001 Entity not found"},
}

# Annotated: mypy cannot infer it through the package's import cycle (app.py imports this).
router: APIRouter = APIRouter(tags=["Apple Policies"])


def _answers(envelope: type[BaseModel]) -> dict[str, Any]:
    """For /openapi.json: the envelope a route answers with, and the service's errors."""
    return {"response_model": None, "responses": {200: {"model": envelope}, **ERRORS_DOC}}


@router.get(POLICIES_TEMPLATE, summary="List policies", **_answers(PolicyPageEnvelope))
def list_policies(
    service: ServiceDep,
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
    return ok(service.list_policies(organizationId, query))


@router.get(POLICY_TEMPLATE, summary="Retrieve policy details", **_answers(PolicyEnvelope))
def get_policy(service: ServiceDep, organizationId: OrgId, admPolicyId: PolicyId) -> JSONResponse:
    return ok(service.get_policy(organizationId, admPolicyId))


@router.put(
    POLICY_TEMPLATE,
    summary="Update device policy",
    **_answers(PolicyEnvelope),
    openapi_extra=body_doc(PolicyUpdate),
)
def put_policy(
    service: ServiceDep, organizationId: OrgId, admPolicyId: PolicyId, body: Body
) -> JSONResponse:
    update = body.model(PolicyUpdate)
    return ok(service.put_policy(organizationId, admPolicyId, update))
