"""The plugin's warnings, sent to the engine, which shows them under their resource.

A plugin's stderr only reaches the engine's log, which the CLI does not show.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from typing import Any

import grpc

from applivery_pulumi.plugin.grpc_options import GRPC_OPTIONS

# The resource whose operation is running in this context: its warnings name it.
resource_urn: contextvars.ContextVar[str] = contextvars.ContextVar("applivery_urn", default="")


class EngineLog:
    """A lifecycle's ``warn``: each message to the engine's log service, as a warning of the
    resource in :data:`resource_urn` (stderr if the engine cannot be reached)."""

    def __init__(self, engine_address: str) -> None:
        self._address = engine_address
        self._stub: Any = None
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

        try:
            with self._lock:
                if self._stub is None:
                    channel = grpc.insecure_channel(self._address, options=GRPC_OPTIONS)
                    self._stub = engine_pb2_grpc.EngineStub(channel)
            request = engine_pb2.LogRequest(
                severity=engine_pb2.WARNING, message=message, urn=resource_urn.get()
            )
            self._stub.Log(request, timeout=10)
        except grpc.RpcError:
            print(f"warning: {message}", file=sys.stderr, flush=True)
