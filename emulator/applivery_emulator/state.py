"""The application's shared objects, handed to the routes as FastAPI dependencies.

create_app puts them on ``app.state``; the routers reach them through these instead of closing
over them, so that the routes can live in modules of their own.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from .faults import Faults
from .middleware import Counters
from .ratelimit import RateLimit
from .service import Service


def _from_state(name: str) -> Any:
    # async: a plain function would be sent to the thread pool just to read an attribute.
    async def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    return Depends(get)


ServiceDep = Annotated[Service, _from_state("service")]
FaultsDep = Annotated[Faults, _from_state("faults")]
CountersDep = Annotated[Counters, _from_state("counters")]
RateLimitDep = Annotated[RateLimit, _from_state("rate_limit")]
