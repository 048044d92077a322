"""``pulumi-resource-applivery``: the provider plugin, for any Pulumi program (YAML, Python, ...).

It serves ``applivery:index:AppleDevicePolicy`` and the lookup
``applivery:index:getAppleDevicePolicy`` through the SDK's provider server
(``pulumi.provider.experimental``), and every operation is the dynamic resource's: check, diff,
create, read, update and delete call one
:class:`~applivery_pulumi.lifecycle.AppleDevicePolicyProvider`, configured with this plugin
instance's settings.  What the plugin adds is the protocol:

* **configuration**: ``apiToken``, ``baseUrl``, ``organizationId``, ``maxRetrySeconds`` and
  ``maxRequestsPerSecond`` are provider config (stack config ``applivery:*`` for the default
  provider, properties of an explicit ``pulumi:providers:applivery``), with the environment
  fall-backs of ``Settings``.  The engine starts one plugin process per provider, so each
  account has its own client (and its own pace);
* **secrets**: CheckConfig marks ``apiToken`` secret, so state keeps it encrypted whatever the
  program passed; resources are served with ``acceptSecrets`` off, so the engine strips secrets
  from what it sends and marks the outputs of secret inputs secret again;
* **detailed diffs**: the diff's changed paths (``agentConfiguration.allowLocation``) compared
  with the old outputs, so drift that a refresh recorded shows on the field;
* **import**: Read without state (``pulumi import``, ``<policyId>`` or ``<org>/<policyId>``);
* **errors**: an :class:`~applivery_pulumi.api.errors.AppliveryError` reaches the CLI as its
  sentence (the SDK's server would append a Python stack to every failure); the lifecycle's
  warnings go to the engine's log service, which shows them under their resource;
* **concurrency**: the provider's blocking calls run on a thread pool of
  ``APPLIVERY_PULUMI_PROVIDER_THREADS`` (default 64), so ``--parallel`` operations are in flight.

No rule lives here: validation is ``model.py``, comparison ``diff.py``, shaping ``normalize.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

import grpc
import grpc.aio
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.provider import (
    CheckFailure,
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    GetSchemaRequest,
    GetSchemaResponse,
    InvokeRequest,
    InvokeResponse,
    PropertyDiff,
    PropertyDiffKind,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import provider_pb2_grpc

from applivery_pulumi import lifecycle as provider_module
from applivery_pulumi.api import errors
from applivery_pulumi.api.settings import KEYS as SETTINGS_KEYS
from applivery_pulumi.api.settings import Settings
from applivery_pulumi.lifecycle import AppleDevicePolicyProvider
from applivery_pulumi.orphan import GRACE_SECONDS, engine_gone
from applivery_pulumi.plugin.schema import schema_text
from applivery_pulumi.plugin.tokens import LOOKUP_FUNCTION, RESOURCE
from applivery_pulumi.policy import validate
from applivery_pulumi.policy.fields import IDENTITY, LOOKUP
from applivery_pulumi.policy.values import UNKNOWN, plain
from applivery_pulumi.text import version

T = TypeVar("T")
CONFIG_PREFIX: Final = "applivery:config:"
DEFAULT_THREADS: Final = 64


def threads() -> int:
    """Threads serving the provider's blocking calls: ``APPLIVERY_PULUMI_PROVIDER_THREADS``."""
    raw = os.environ.get("APPLIVERY_PULUMI_PROVIDER_THREADS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_THREADS


def _failing_setting(message: str) -> str:
    """The property a configuration error is about: the one its sentence names."""
    for key in SETTINGS_KEYS.values():
        if key.config in message or key.env in message:
            return key.name
    return SETTINGS_KEYS["max_retry_seconds"].name


# -- values: the SDK's PropertyValue <-> the plain values the dynamic provider works on --------


def python(value: PropertyValue) -> Any:
    """A property value as plain Python (secrets unwrapped, unknowns as ``values.UNKNOWN``)."""
    inner = value.value
    if isinstance(inner, Computed):
        return UNKNOWN
    if isinstance(inner, Mapping):
        return {k: python(v) for k, v in inner.items()}
    if isinstance(inner, Sequence) and not isinstance(inner, str):
        return [python(v) for v in inner]
    return inner


def python_map(values: Mapping[str, PropertyValue]) -> dict[str, Any]:
    return {k: python(v) for k, v in values.items()}


def property_value(value: Any) -> PropertyValue:
    """Plain Python (what the dynamic provider returns) as a property value; numbers are floats."""
    if isinstance(value, Mapping):
        return PropertyValue({k: property_value(v) for k, v in value.items() if v is not None})
    if isinstance(value, list | tuple):
        return PropertyValue([property_value(v) for v in value])
    if isinstance(value, int) and not isinstance(value, bool):
        return PropertyValue(float(value))
    return PropertyValue(value)


def property_map(values: Mapping[str, Any]) -> dict[str, PropertyValue]:
    return {k: property_value(v) for k, v in values.items() if v is not None}


# -- the provider --------------------------------------------------------------------------------


class AppliveryProvider(Provider):
    """The plugin's provider: the protocol around one ``AppleDevicePolicyProvider``."""

    def __init__(self, plugin_version: str | None = None) -> None:
        self.version = plugin_version or version()
        self.policies = AppleDevicePolicyProvider()
        self._pool = ThreadPoolExecutor(max_workers=threads(), thread_name_prefix="applivery")

    async def _run(self, call: Callable[..., T], *args: Any, urn: str = "") -> T:
        # The lifecycle blocks on HTTP: each call on its own thread, so the engine's parallel
        # operations stay in flight together.  The context carries the URN its warnings name.
        _URN.set(urn)
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, functools.partial(context.run, call, *args)
        )

    # -- schema and configuration ----------------------------------------------------------------

    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        return GetSchemaResponse(schema_text(self.version))

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        news = python_map(request.new_inputs)
        failures: list[CheckFailure] = []
        try:
            settings = _settings(news, {})
        except errors.ConfigurationError as exc:
            failures.append(CheckFailure(_failing_setting(str(exc)), str(exc)))
        else:
            failures += [
                CheckFailure(path, reason)
                for path, reason in _organization_problems(settings.organization_id)
            ]
        inputs = dict(request.new_inputs)
        token = SETTINGS_KEYS["api_token"].name
        if token in inputs:
            # Secret in state whatever the program passed: a token in clear is a leak.
            inputs[token] = inputs[token].with_secret(True)
        return CheckResponse(inputs=inputs, failures=failures)

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        self.policies.use(_settings(python_map(request.args), request.variables))
        # Secrets are not accepted: the engine strips them from resource inputs before sending
        # and marks outputs whose inputs were secret.  Previews need no provider call.
        return ConfigureResponse(
            accept_secrets=False,
            supports_preview=False,
            accept_resources=False,
            accept_outputs=False,
        )

    # -- resources -------------------------------------------------------------------------------

    async def check(self, request: CheckRequest) -> CheckResponse:
        _only_policies(request.type)
        olds = python_map(request.old_inputs)
        news = python_map(request.new_inputs)
        result = await self._run(self.policies.check, olds, news, urn=request.urn)
        return CheckResponse(
            inputs=property_map(result.inputs),
            failures=[_failure(f.property, f.reason) for f in result.failures],
        )

    async def diff(self, request: DiffRequest) -> DiffResponse:
        _only_policies(request.type)
        old = python_map(request.old_state)
        new = python_map(request.new_inputs)
        result = await self._run(self.policies.diff, request.resource_id, old, new, urn=request.urn)
        detailed = {
            path: PropertyDiff(
                PropertyDiffKind.UPDATE_REPLACE if replace else PropertyDiffKind.UPDATE,
                input_diff=False,
            )
            for path, replace in result.detailed().items()
        }
        return DiffResponse(
            changes=bool(result.changes),
            replaces=list(result.replaces or []),
            diffs=result.properties(),
            detailed_diff=detailed,
        )

    async def create(self, request: CreateRequest) -> CreateResponse:
        _only_policies(request.type)
        result = await self._run(
            self.policies.create, python_map(request.properties), urn=request.urn
        )
        return CreateResponse(str(result.id), property_map(result.outs or {}))

    async def read(self, request: ReadRequest) -> ReadResponse:
        _only_policies(request.type)
        # Refresh sends the state; an import sends neither state nor inputs, only the id.
        known = python_map(request.properties) or python_map(request.inputs)
        result = await self._run(self.policies.read, request.resource_id, known, urn=request.urn)
        # No inputs from read means "keep them"; this protocol would send an empty map instead,
        # which the engine would keep as the inputs, so the ones it sent go back as they came.
        return ReadResponse(
            resource_id=result.id or "",
            properties=property_map(result.outs or {}),
            inputs=request.inputs if result.inputs is None else property_map(result.inputs),
        )

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        _only_policies(request.type)
        olds, news = python_map(request.olds), python_map(request.news)
        result = await self._run(
            self.policies.update, request.resource_id, olds, news, urn=request.urn
        )
        return UpdateResponse(property_map(result.outs or {}))

    async def delete(self, request: DeleteRequest) -> None:
        _only_policies(request.type)
        state = python_map(request.properties)
        await self._run(self.policies.delete, request.resource_id, state, urn=request.urn)

    # -- functions -------------------------------------------------------------------------------

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        if request.tok != LOOKUP_FUNCTION:
            return InvokeResponse(
                failures=[
                    CheckFailure(
                        "", f"unknown function {request.tok}; this provider has {LOOKUP_FUNCTION}"
                    )
                ]
            )
        args = plain(python_map(request.args))
        failures = [
            CheckFailure(key, "unknown argument; allowed: " + ", ".join(IDENTITY))
            for key in args
            if key not in IDENTITY
        ]
        identity = {k: args[k] for k in IDENTITY if k in args}
        if "organizationId" not in identity and self.policies.settings.organization_id:
            identity["organizationId"] = self.policies.settings.organization_id
        failures += [_failure(p, r) for p, r in validate.problems(identity)]
        if failures:
            return InvokeResponse(failures=failures)
        where = f"{identity['organizationId']}/{identity['policyId']}"
        result = await self._run(self.policies.read, where, {LOOKUP: True})
        if not result.id:
            raise errors.NotFoundError(
                f"policy {identity['policyId']} of organization {identity['organizationId']} was "
                "not found: check policyId and organizationId, and that the policy exists in the "
                "Applivery dashboard",
                status=404,
                code=3001,
            )
        return InvokeResponse(return_value=property_map(result.outs or {}))


def _failure(path: str, reason: str) -> CheckFailure:
    if path.isidentifier():
        return CheckFailure(path, reason)
    # The engine prints a failure's property with the input of that name, which a nested path
    # (applications[0].managementFlags) is not: it would show as "value {<nil>}".
    return CheckFailure("", f"{path}: {reason}")


def _only_policies(type_: str) -> None:
    if type_ != RESOURCE:
        raise errors.AppliveryError(f"the applivery provider has no resource type {type_}")


def _settings(args: Mapping[str, Any], variables: Mapping[str, str]) -> Settings:
    """Settings from provider config (``apiToken``, ...), else the environment.

    Unlike the dynamic provider's stack config, a token in provider config wins over
    ``APPLIVERY_API_TOKEN``: each explicit provider stands for its own account."""

    def get(key: str) -> Any:
        name = key.split(":", 1)[1]  # applivery:apiToken -> apiToken
        value = args.get(name)
        if value is None:
            value = variables.get(CONFIG_PREFIX + name)
        return None if value == UNKNOWN else value

    return Settings.load(get, explicit=True)


def _organization_problems(organization_id: str | None) -> list[tuple[str, str]]:
    if organization_id is None:
        return []
    found = validate.problems({"organizationId": organization_id, "policyId": "0" * 24})
    return [(path, reason) for path, reason in found if path == "organizationId"]


# -- warnings ------------------------------------------------------------------------------------

_URN: contextvars.ContextVar[str] = contextvars.ContextVar("applivery_urn", default="")


class EngineLog:
    """Sends the lifecycle's warnings to the engine, which shows them with their resource.

    (A plugin's stderr only reaches the engine's log, which the CLI does not show.)
    """

    def __init__(self, engine_address: str) -> None:
        self._address = engine_address
        self._stub: Any = None
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

        try:
            with self._lock:
                if self._stub is None:
                    channel = grpc.insecure_channel(self._address, options=_GRPC_CHANNEL_OPTIONS)
                    self._stub = engine_pb2_grpc.EngineStub(channel)
            request = engine_pb2.LogRequest(
                severity=engine_pb2.WARNING, message=message, urn=_URN.get()
            )
            self._stub.Log(request, timeout=10)
        except grpc.RpcError:
            print(f"warning: {message}", file=sys.stderr, flush=True)


# -- the server ----------------------------------------------------------------------------------


def _applivery_error(exc: BaseException) -> errors.AppliveryError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, errors.AppliveryError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _sentence(rpc: Callable[..., Any]) -> Callable[..., Any]:
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


class Servicer(ProviderServicer):
    """The SDK's servicer, with errors that end as one sentence."""


for _name in (
    "GetSchema",
    "CheckConfig",
    "DiffConfig",
    "Configure",
    "Check",
    "Diff",
    "Create",
    "Read",
    "Update",
    "Delete",
    "Invoke",
):
    setattr(Servicer, _name, _sentence(getattr(ProviderServicer, _name)))


async def serve(provider: AppliveryProvider, engine_address: str, args: list[str]) -> None:
    """Serve until the engine stops this plugin (SIGINT, SIGTERM) or is gone."""
    provider_module.warning_sink = EngineLog(engine_address)
    server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
    servicer = Servicer(args, provider.version, provider, engine_address=engine_address)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
    port = server.add_insecure_port(address="127.0.0.1:0")
    await server.start()
    # The engine reads the port from the first line of stdout.
    sys.stdout.buffer.write(f"{port}\n".encode())
    sys.stdout.buffer.flush()

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    orphaned = engine_gone()

    def on_orphaned() -> None:
        orphaned.wait()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=on_orphaned, name="orphaned", daemon=True).start()
    await stop.wait()
    # The engine interrupts its plugins when it is done with them (and kills them 5 s later),
    # and a user's Ctrl-C reaches them too: take no new call, let the operations in flight end.
    await server.stop(grace=GRACE_SECONDS)


def main(argv: list[str] | None = None) -> None:
    """The console script ``pulumi-resource-applivery``: the engine starts it with its address."""
    args = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="pulumi-resource-applivery",
        description="The Applivery provider plugin: a gRPC server that the Pulumi engine starts.",
    )
    parser.add_argument("engine", help="the Pulumi engine's address")
    parser.add_argument("--version", action="version", version=version())
    known, _ = parser.parse_known_args(args)  # the engine adds --logflow, -v=N, --tracing ...
    asyncio.run(serve(AppliveryProvider(), known.engine, args))
    sys.stdout.flush()
    sys.stderr.flush()
    # Not a normal exit: it would wait for worker threads still blocked in a request past the
    # grace period above.
    os._exit(0)


if __name__ == "__main__":
    main()
