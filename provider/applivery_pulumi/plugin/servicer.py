"""The SDK's gRPC servicer, whose failures reach the CLI as one sentence.

The SDK's servicer turns every exception into a new one carrying a Python stack; an
:class:`~applivery_pulumi.api.errors.AppliveryError` is meant for the user, so its sentence
alone goes back.  Other exceptions (bugs) keep their stack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from pulumi.provider.experimental.server import ProviderServicer

from applivery_pulumi.api import errors
from applivery_pulumi.plugin.engine_log import resource_urn

Rpc = Callable[[Any, Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def _applivery_error(exc: BaseException) -> errors.AppliveryError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, errors.AppliveryError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def sentence(rpc: Rpc) -> Rpc:
    """``rpc``, whose ``AppliveryError`` (wrapped by the SDK with a stack) ends as its sentence."""

    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await rpc(self, request, context)
        except Exception as exc:
            found = _applivery_error(exc)
            if found is None:
                raise
            await context.abort(grpc.StatusCode.UNKNOWN, str(found))

    return wrapper


async def _configure(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    # The SDK's request leaves out which provider is configured; an explicit one is named in
    # the errors about its settings, so its URN goes along in the context.
    resource_urn.set(request.urn)
    return await ProviderServicer.Configure(self, request, context)


class Servicer(ProviderServicer):
    """The calls the plugin serves, each the SDK's with :func:`sentence` errors."""

    GetSchema = sentence(ProviderServicer.GetSchema)
    CheckConfig = sentence(ProviderServicer.CheckConfig)
    DiffConfig = sentence(ProviderServicer.DiffConfig)
    Configure = sentence(_configure)
    Check = sentence(ProviderServicer.Check)
    Diff = sentence(ProviderServicer.Diff)
    Create = sentence(ProviderServicer.Create)
    Read = sentence(ProviderServicer.Read)
    Update = sentence(ProviderServicer.Update)
    Delete = sentence(ProviderServicer.Delete)
    Invoke = sentence(ProviderServicer.Invoke)
