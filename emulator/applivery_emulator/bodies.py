"""Request bodies read and validated by hand, and the success envelope of every answer.

FastAPI's own body binding would answer junk bytes, a wrong content type or a document nested
too deeply with its own error shape, or with a 500; here every failure is the service's 400 4000
with a field path.  The bytes are read by an async dependency (the middleware has already capped
and buffered them) and parsed by the route itself, so that a bad path or query parameter, which
FastAPI checks after the dependencies and before the route, is still reported before a bad body.
The request schemas reach /openapi.json through ``openapi_extra`` (:func:`body_doc`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from . import errors
from .models import describe_errors

M = TypeVar("M", bound=BaseModel)

# The request models named by body_doc, by schema name: app.py adds their schemas to /openapi.json.
DOCUMENTED: dict[str, type[BaseModel]] = {}


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The ``openapi_extra`` of a route whose body is ``model``."""
    DOCUMENTED[model.__name__] = model
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def ok(data: Any, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": True, "data": data, **extra}, status_code=status)


@dataclass(frozen=True)
class RawBody:
    """A request's bytes and content type, parsed on demand into the JSON or model asked for."""

    content_type: str
    data: bytes

    def json(self) -> Any:
        """The body as JSON, or a 400 4000 naming what is wrong with it."""
        mime = self.content_type.split(";")[0].strip().lower()
        if mime != "application/json" and not mime.endswith("+json"):
            raise errors.validation_error("body: Content-Type must be application/json")
        if not self.data.strip():
            raise errors.validation_error("body: a JSON object is required")
        try:
            text = self.data.decode("utf-8")
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

    def object(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400 4000."""
        data = self.json()
        if not isinstance(data, dict):
            raise errors.validation_error("body: must be a JSON object")
        return data

    def model(self, model: type[M]) -> M:
        """The body validated as ``model``, or a 400 4000 with the failing fields' paths."""
        data = self.object()
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise errors.validation_error(describe_errors(exc)) from None
        except RecursionError:
            raise errors.validation_error("body: nested too deeply") from None


async def raw_body(request: Request) -> RawBody:
    return RawBody(request.headers.get("content-type", ""), await request.body())


Body = Annotated[RawBody, Depends(raw_body)]
