"""A dynamic-provider host: ``python -m applivery_pulumi.host``, in place of ``-m pulumi.dynamic``.

The engine starts one such process per program and sends it every dynamic resource's
check/diff/create/read/update/delete.  It serves any pickled ``ResourceProvider`` exactly as the
SDK's host does, with three differences that matter to users of this provider:

* **concurrency**: the SDK's host serves gRPC from 4 threads, so at most 4 policies are in flight
  whatever ``--parallel`` says; this one uses ``APPLIVERY_PULUMI_PROVIDER_THREADS`` (default 64);
* **errors**: an :class:`~applivery_pulumi.errors.AppliveryError` reaches the CLI as its one-line
  message, not as a Python traceback (other exceptions keep theirs);
* **detailed diffs**: a diff result that names the changed paths (``PolicyDiffResult.paths``)
  is sent as a detailed diff, so ``pulumi preview --diff`` shows the changed nested field.

Use it by pointing the engine's ``pulumi-resource-pulumi-python`` launcher at this module
(``scripts/bootstrap-pulumi`` does).  With a stock launcher the SDK's host is used and everything
still works, with its limits.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent import futures
from typing import Any, Final, TypeVar

import dill
import grpc
from google.protobuf import empty_pb2
from pulumi.dynamic import Config, ConfigureRequest, ResourceProvider
from pulumi.metadata import get_project
from pulumi.runtime import Settings, configure, proto, rpc
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime._serialization import _deserialize
from pulumi.runtime.proto import provider_pb2_grpc

from . import orphan
from .errors import AppliveryError
from .provider import PolicyDiffResult
from .values import PROVIDER_KEY

DEFAULT_THREADS: Final = 64
T = TypeVar("T")

_cache: dict[str, ResourceProvider] = {}
_cache_lock = threading.Lock()
# Provider operations running now (check, diff, create, read, update, delete): an orphaned
# process lets them end before it exits (orphan.watch polls the count).
_busy = threading.Lock()
_in_flight = 0


def _provider(props: dict[str, Any], config: dict[str, Any]) -> ResourceProvider:
    """The deserialized, configured provider of ``props`` (once per distinct provider)."""
    configure(
        Settings(
            project=os.environ.get("PULUMI_PROJECT", "project"),
            stack="stack",
            organization="organization",
        )
    )
    key = props[PROVIDER_KEY]
    found = _cache.get(key)
    if found is not None:
        return found
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            # The program's own serialized provider, as the SDK's host loads it.
            found = _deserialize(lambda: dill.loads(base64.b64decode(key)))  # noqa: S301
            found.configure(ConfigureRequest(Config(raw_config=config, project_name=get_project())))
            _cache[key] = found
    return found


def _provider_for_type(urn: str) -> str:
    """The serialized provider of a resource type this package defines (for imports)."""
    from pulumi.dynamic.dynamic import serialize_provider

    from .provider import AppleDevicePolicyProvider

    if not urn.split("::")[-2].endswith("dynamic/applivery:AppleDevicePolicy"):
        raise ValueError(f"{urn}: cannot import a dynamic resource of another package")
    return str(serialize_provider(AppleDevicePolicyProvider()))


def _serialize(props: dict[str, Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def _guard(call: Callable[[Any, Any, Any], T]) -> Callable[[Any, Any, Any], T]:
    def wrapper(self: Any, request: Any, context: Any) -> T:
        global _in_flight
        with _busy:
            _in_flight += 1
        try:
            return call(self, request, context)
        except AppliveryError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        except Exception:
            context.abort(grpc.StatusCode.UNKNOWN, traceback.format_exc())
        finally:
            with _busy:
                _in_flight -= 1
        raise AssertionError("context.abort returns only by raising")

    return wrapper


class Servicer(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self) -> None:
        self._config: dict[str, Any] = {}

    def _unimplemented(self, context: Any, what: str) -> Any:
        context.set_code(grpc.StatusCode.UNIMPLEMENTED)
        context.set_details(f"{what} is not implemented by the dynamic provider")
        raise NotImplementedError(f"{what} is not implemented by the dynamic provider")

    def CheckConfig(self, request: Any, context: Any) -> Any:
        return self._unimplemented(context, "CheckConfig")

    def DiffConfig(self, request: Any, context: Any) -> Any:
        return self._unimplemented(context, "DiffConfig")

    def Invoke(self, request: Any, context: Any) -> Any:
        return self._unimplemented(context, "Invoke")

    def GetSchema(self, request: Any, context: Any) -> Any:
        return self._unimplemented(context, "GetSchema")

    def List(self, request: Any, context: Any) -> Any:
        return self._unimplemented(context, "List")

    def Configure(self, request: Any, context: Any) -> Any:
        config = rpc.deserialize_properties(request.args)
        self._config = {k: rpc.unwrap_rpc_secret(v) for k, v in config.items()}
        return proto.ConfigureResponse(acceptSecrets=False)

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return proto.PluginInfo(version="0.1.0")

    def Cancel(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()

    @_guard
    def Check(self, request: Any, context: Any) -> Any:
        olds = rpc.deserialize_properties(request.olds, True)
        news = rpc.deserialize_properties(request.news, True)
        source = olds if news[PROVIDER_KEY] == rpc.UNKNOWN else news
        result = _provider(source, self._config).check(olds, news)
        inputs = dict(result.inputs)
        inputs[PROVIDER_KEY] = news[PROVIDER_KEY]
        failures = [
            proto.CheckFailure(property=f.property, reason=f.reason) for f in result.failures
        ]
        return proto.CheckResponse(inputs=_serialize(inputs), failures=failures)

    @_guard
    def Diff(self, request: Any, context: Any) -> Any:
        olds = rpc.deserialize_properties(request.olds, True)
        news = rpc.deserialize_properties(request.news, True)
        source = olds if news[PROVIDER_KEY] == rpc.UNKNOWN else news
        result = _provider(source, self._config).diff(request.id, olds, news)
        fields: dict[str, Any] = {}
        if result.changes is None:
            fields["changes"] = proto.DiffResponse.DIFF_UNKNOWN
        else:
            some = proto.DiffResponse.DIFF_SOME
            fields["changes"] = some if result.changes else proto.DiffResponse.DIFF_NONE
        replaces = list(result.replaces or [])
        if result.replaces is not None:
            fields["replaces"] = replaces
        if result.delete_before_replace is not None:
            fields["deleteBeforeReplace"] = result.delete_before_replace
        if result.changes and isinstance(result, PolicyDiffResult) and result.paths:
            kind, replace_kind = proto.PropertyDiff.UPDATE, proto.PropertyDiff.UPDATE_REPLACE
            # Compared with old outputs (the stored policy), not old inputs: drift shows too.
            detailed = {
                path: proto.PropertyDiff(kind=replace_kind if replace else kind, inputDiff=False)
                for path, replace in result.detailed().items()
            }
            fields["diffs"] = result.properties()
            fields["detailedDiff"] = detailed
            fields["hasDetailedDiff"] = True
        return proto.DiffResponse(**fields)

    @_guard
    def Create(self, request: Any, context: Any) -> Any:
        props = rpc.deserialize_properties(request.properties)
        result = _provider(props, self._config).create(props)
        outs = dict(result.outs or {})
        outs[PROVIDER_KEY] = props[PROVIDER_KEY]
        return proto.CreateResponse(id=result.id, properties=_serialize(outs))

    @_guard
    def Read(self, request: Any, context: Any) -> Any:
        props = rpc.deserialize_properties(request.properties)
        if not props and request.inputs is not None:
            props = rpc.deserialize_properties(request.inputs)
        if PROVIDER_KEY not in props:
            # An import: the engine reads before it has any input, so no serialized provider
            # comes along.  The resource type says which provider this is.
            props = {**props, PROVIDER_KEY: _provider_for_type(request.urn)}
        result = _provider(props, self._config).read(request.id, props)
        outs = dict(result.outs or {})
        outs[PROVIDER_KEY] = props[PROVIDER_KEY]
        fields: dict[str, Any] = {"id": result.id, "properties": _serialize(outs)}
        if result.inputs is not None:
            fields["inputs"] = _serialize({**result.inputs, PROVIDER_KEY: props[PROVIDER_KEY]})
        return proto.ReadResponse(**fields)

    @_guard
    def Update(self, request: Any, context: Any) -> Any:
        olds = rpc.deserialize_properties(request.olds)
        news = rpc.deserialize_properties(request.news)
        result = _provider(news, self._config).update(request.id, olds, news)
        outs = dict(result.outs or {})
        outs[PROVIDER_KEY] = news[PROVIDER_KEY]
        return proto.UpdateResponse(properties=_serialize(outs))

    @_guard
    def Delete(self, request: Any, context: Any) -> Any:
        props = rpc.deserialize_properties(request.properties)
        _provider(props, self._config).delete(request.id, props)
        return empty_pb2.Empty()


def threads() -> int:
    raw = os.environ.get("APPLIVERY_PULUMI_PROVIDER_THREADS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_THREADS


def main() -> None:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads()), options=_GRPC_CHANNEL_OPTIONS
    )
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Servicer(), server)
    port = server.add_insecure_port(address="127.0.0.1:0")
    server.start()
    sys.stdout.buffer.write(f"{port}\n".encode())
    sys.stdout.flush()
    # Orphaned, the process lets the operations in flight end (nobody records them: an
    # interrupted create adopts again on the next up), then exits.
    orphan.watch(lambda: _in_flight)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop(0)


if __name__ == "__main__":
    main()
