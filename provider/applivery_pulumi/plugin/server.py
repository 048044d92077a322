"""``pulumi-resource-applivery``: the provider plugin, for any Pulumi program (YAML, Python, ...).

It serves ``applivery:index:AppleDevicePolicy`` and ``applivery:index:getAppleDevicePolicy`` on
the SDK's provider server (``pulumi.provider.experimental``): every operation is one
:class:`~applivery_pulumi.lifecycle.AppleDevicePolicyProvider`'s, configured with this plugin's
settings (``config.py``), its warnings sent to the engine (``engine_log.py``).  What the plugin
adds for users (secrets, detailed diffs, import, calls in flight) is the README's "Provider
plugin".  No rule lives here: validation is ``policy/``'s.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

import grpc.aio
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
from pulumi.runtime.proto import provider_pb2_grpc

from applivery_pulumi.api import errors
from applivery_pulumi.api.settings import KEYS as SETTINGS_KEYS
from applivery_pulumi.lifecycle import AppleDevicePolicyProvider, Warn, to_stderr
from applivery_pulumi.orphan import GRACE_SECONDS, IN_FLIGHT, engine_gone, let_end
from applivery_pulumi.plugin import config, preview
from applivery_pulumi.plugin.codec import property_map, python_map
from applivery_pulumi.plugin.engine_log import EngineLog, resource_urn
from applivery_pulumi.plugin.grpc_options import GRPC_OPTIONS
from applivery_pulumi.plugin.schema import schema_text
from applivery_pulumi.plugin.servicer import Servicer
from applivery_pulumi.plugin.tokens import LOOKUP_FUNCTION, RESOURCE
from applivery_pulumi.policy import validate
from applivery_pulumi.policy.fields import IDENTITY, LOOKUP
from applivery_pulumi.policy.values import plain
from applivery_pulumi.text import version

T = TypeVar("T")
DEFAULT_THREADS: Final = 64
# How long a failing check waits for a lookup the engine sent with it to reach this plugin.
LOOKUP_ARRIVAL_SECONDS: Final = 0.25


def threads() -> int:
    """Threads serving the provider's blocking calls: ``APPLIVERY_PULUMI_PROVIDER_THREADS``."""
    raw = os.environ.get("APPLIVERY_PULUMI_PROVIDER_THREADS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_THREADS


class AppliveryProvider(Provider):
    """The plugin's provider: the protocol around one ``AppleDevicePolicyProvider``."""

    def __init__(self, plugin_version: str | None = None, warn: Warn = to_stderr) -> None:
        """``warn`` receives the lifecycle's warnings, with :data:`resource_urn` set."""
        self.version = plugin_version or version()
        self.policies = AppleDevicePolicyProvider(warn)
        self._pool = ThreadPoolExecutor(max_workers=threads(), thread_name_prefix="applivery")
        self._invoking: set[asyncio.Task[Any]] = set()

    async def _run(self, call: Callable[..., T], *args: Any, urn: str = "") -> T:
        # The lifecycle blocks on HTTP: each call on its own thread, so the engine's parallel
        # operations stay in flight together.  The context carries the URN its warnings name.
        resource_urn.set(urn)
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, functools.partial(context.run, call, *args)
        )

    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        return GetSchemaResponse(schema_text(self.version))

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        problems = config.problems(python_map(request.new_inputs))
        failures = [CheckFailure(path, reason) for path, reason in problems]
        inputs = dict(request.new_inputs)
        token = SETTINGS_KEYS["api_token"].name
        if token in inputs:
            # Secret in state whatever the program passed: a token in clear is a leak.
            inputs[token] = inputs[token].with_secret(True)
        return CheckResponse(inputs=inputs, failures=failures)

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        provider = config.explicit_provider(resource_urn.get())  # set by the servicer
        self.policies.use(config.settings(python_map(request.args), request.variables, provider))
        # Secrets are not accepted: the engine strips them from resource inputs before sending
        # and marks outputs whose inputs were secret.  Previews show what is known (preview.py).
        return ConfigureResponse(
            accept_secrets=False,
            supports_preview=True,
            accept_resources=False,
            accept_outputs=False,
        )

    async def check(self, request: CheckRequest) -> CheckResponse:
        _only_policies(request.type)
        olds = python_map(request.old_inputs)
        news = python_map(request.new_inputs)
        result = await self._run(self.policies.check, olds, news, urn=request.urn)
        if result.failures:
            await self._lookups_ended()
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
        if request.preview:
            return CreateResponse("", property_map(preview.outputs(python_map(request.properties))))
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
        if request.preview:
            return UpdateResponse(property_map(preview.outputs(news, olds)))
        result = await self._run(
            self.policies.update, request.resource_id, olds, news, urn=request.urn
        )
        return UpdateResponse(property_map(result.outs or {}))

    async def delete(self, request: DeleteRequest) -> None:
        _only_policies(request.type)
        state = python_map(request.properties)
        await self._run(self.policies.delete, request.resource_id, state, urn=request.urn)

    async def _lookups_ended(self) -> None:
        """Let the lookups in flight answer (for at most the grace period): a failing check ends
        the deployment, and the engine then closes its connection to this plugin, failing a
        lookup still waiting for its answer with "the client connection is closing", an error
        that would be shown beside the bad input as if the lookup had caused one.  A lookup the
        engine sent just before the check may not have started here yet: it is given a moment."""
        await asyncio.sleep(LOOKUP_ARRIVAL_SECONDS)
        if self._invoking:
            await asyncio.wait(set(self._invoking), timeout=GRACE_SECONDS)

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        task = asyncio.current_task()
        if task is not None:
            self._invoking.add(task)
        try:
            return await self._invoke(request)
        finally:
            self._invoking.discard(task)

    async def _invoke(self, request: InvokeRequest) -> InvokeResponse:
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


async def serve(provider: AppliveryProvider, engine_address: str, args: list[str]) -> None:
    """Serve until the engine stops this plugin (SIGINT, SIGTERM) or is gone."""
    server = grpc.aio.server(options=GRPC_OPTIONS)
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
    # The engine interrupts its plugins when it is done with them (and kills them soon after),
    # and a signal sent to every process of a run reaches them too (a terminal's Ctrl-C does
    # not: each plugin has a process group of its own): take no new call, let the operations in
    # flight end.
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
    provider = AppliveryProvider(warn=EngineLog(known.engine))
    asyncio.run(serve(provider, known.engine, args))
    # A gone engine's connection ends its calls on the server, not the writes they started:
    # each runs on to its end (up to the grace period), rather than being cut half-way.
    let_end(IN_FLIGHT)
    sys.stdout.flush()
    sys.stderr.flush()
    # Not a normal exit: it would wait for worker threads still blocked in a request past the
    # grace period.
    os._exit(0)


if __name__ == "__main__":
    main()
