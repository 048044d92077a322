"""The application: the FastAPI app with its error handlers, routers and OpenAPI document, wrapped
in the emulator middleware.

The routes live in api_routes.py (the Applivery API under /v1) and admin_routes.py (the
emulator's own under /_emulator); they reach the service, faults, counters and rate limit that
create_app builds through the dependencies of state.py.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, admin_routes, api_routes, errors
from .bodies import DOCUMENTED
from .errors import ApiError
from .faults import FaultConfig, Faults
from .middleware import Counters, EmulatorMiddleware
from .models import SeedDocument, field_path
from .ratelimit import RateLimit
from .service import Service
from .store import Store

# In this order in /openapi.json.
ROUTERS = (api_routes.router, admin_routes.router)


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

    # FastAPI's /docs and /redoc pages load their scripts from a CDN (blank offline); these load
    # them from the fastapi-offline package, under /static-offline-docs.
    app = FastAPIOffline(
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
    _handle_errors(app)
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    return EmulatorMiddleware(
        app,
        token=settings.token,
        faults=faults,
        counters=counters,
        max_body_bytes=settings.max_body_bytes,
        allowed_hosts=settings.allowed_hosts,
        rate_limit=rate_limit,
    )


# -------------------------------------------------------------------- error handlers
def _handle_errors(app: FastAPI) -> None:
    """Every error the routes raise or FastAPI finds answered with the service's envelope."""

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


# -------------------------------------------------------------------- OpenAPI
def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the request schemas the routes name in ``openapi_extra`` and the
    bearer scheme."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _request_schema_names():
        model_schema = DOCUMENTED[name].model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for sub_name, sub in model_schema.pop("$defs", {}).items():
            schemas.setdefault(sub_name, _drop_null(sub))
        schemas[name] = _drop_null(model_schema)
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    schema["security"] = [{"bearer": []}]
    app.openapi_schema = schema
    return schema


def _request_schema_names() -> list[str]:
    """The request body schemas named by the routes' ``openapi_extra``, in route order."""
    names: list[str] = []
    for router in ROUTERS:
        for route in router.routes:
            extra = getattr(route, "openapi_extra", None) or {}
            content = extra.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            name = ref.rpartition("/")[2]
            if name and name not in names:
                names.append(name)
    return names


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
