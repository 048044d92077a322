"""In-process measurements: what one resource costs in the provider process and in the program.

``python -m benchmarks.micro [--policies N] [--profile DIR]``

* provider process: the SDK host's gRPC methods (``pulumi.dynamic``'s servicer) called directly
  with the requests the engine sends (Check, Diff, Create, Read, Update), for our provider and the
  floor's, against a real emulator without added latency: microseconds of CPU per call;
* program: constructing N ``AppleDevicePolicy`` (and ``PolicySet`` from N files) under
  ``pulumi.runtime.mocks``, against N ``FloorResource``;
* fixed costs: import time of ``applivery_pulumi.lifecycle`` / ``.resource`` in a fresh
  interpreter, size and time of the pickled provider (the SDK pickles it once per resource).

With ``--profile DIR``, each phase also runs under pyinstrument and its text report is written to
``DIR/<phase>.txt``.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harness.emulator import REPO, Emulator

from .stacks import declared, seed_document

PYTHON = sys.executable


# -- fixed costs ---------------------------------------------------------------------------------


def import_ms(module: str, runs: int = 5, after: str = "") -> float:
    """Median cumulative import time (``-X importtime``) of ``module`` in a fresh interpreter.

    ``after``: modules imported first (their time is not counted), e.g. ``pulumi.dynamic``.
    """
    code = (f"import {after}; " if after else "") + f"import {module}"
    found: list[float] = []
    for _ in range(runs):
        proc = subprocess.run(
            [PYTHON, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        total = 0.0
        for line in proc.stderr.splitlines():
            parts = line.split("|")
            # the top-level line of the module: its name follows exactly one space
            if len(parts) == 3 and re.fullmatch(rf" {re.escape(module)}", parts[2]):
                total = int(parts[1]) / 1000
        found.append(total)
    return round(statistics.median(found), 1)


_PICKLE_SCRIPT = """
import json, sys, time
from pulumi.dynamic.dynamic import serialize_provider
from applivery_pulumi.lifecycle import AppleDevicePolicyProvider
from benchmarks.floor import FloorProvider
make = {"ours": AppleDevicePolicyProvider, "floor": FloorProvider}[sys.argv[1]]
n = int(sys.argv[2])
size = len(serialize_provider(make()))
start = time.perf_counter()
failed = None
for k in range(1, n + 1):
    try:
        serialize_provider(make())
    except RecursionError:
        failed = k + 1
        break
print(json.dumps({"bytes_base64": size, "calls": n, "failed_at_call": failed,
                  "ms_total": round((time.perf_counter() - start) * 1000, 1)}))
"""


def pickled_provider(n: int) -> dict[str, Any]:
    """Size of the serialized provider, and the time the SDK takes to serialize it ``n`` times
    in one process, as a program declaring ``n`` resources does (once per resource)."""
    out: dict[str, Any] = {}
    for kind in ("ours", "floor"):
        proc = subprocess.run(
            [PYTHON, "-c", _PICKLE_SCRIPT, kind, str(n)],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        out[kind] = json.loads(proc.stdout)
    return out


# -- profiling -----------------------------------------------------------------------------------


@contextlib.contextmanager
def profiled(directory: Path | None, name: str) -> Iterator[None]:
    if directory is None:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        directory.mkdir(parents=True, exist_ok=True)
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        (directory / f"{name}.txt").write_text(text)


def per_call_us(calls: list[Callable[[], Any]]) -> float:
    start = time.perf_counter()
    for call in calls:
        call()
    return round((time.perf_counter() - start) / max(1, len(calls)) * 1e6, 1)


# -- the provider process ------------------------------------------------------------------------


class _Context:
    def abort(self, code: Any, details: str) -> None:
        raise RuntimeError(f"{code}: {details}")

    def set_code(self, code: Any) -> None:
        pass

    def set_details(self, details: str) -> None:
        pass


def _engine_shape(value: Any) -> Any:
    """As the engine passes values: every number a float."""
    if isinstance(value, dict):
        return {k: _engine_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_shape(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def provider_process(n: int, emu: Emulator, profile: Path | None) -> dict[str, dict[str, float]]:
    """Microseconds per gRPC call of the SDK's host, for our provider and the floor's."""
    from pulumi.dynamic.dynamic import serialize_provider

    from applivery_pulumi.lifecycle import AppleDevicePolicyProvider

    from .floor import FloorProvider

    results: dict[str, dict[str, float]] = {}
    for kind, provider in (("floor", FloorProvider()), ("ours", AppleDevicePolicyProvider())):
        results[kind] = _calls(kind, serialize_provider(provider), n, emu, profile)
    return results


def _sdk_servicer() -> Any:
    """The servicer of the SDK's host (``python -m pulumi.dynamic``), without serving: its module
    ends by calling ``main()``, which blocks, so it runs here without that last statement."""
    import pulumi.dynamic

    source = Path(pulumi.dynamic.__file__).with_name("__main__.py")
    tree = ast.parse(source.read_text())
    last = tree.body[-1]
    assert isinstance(last, ast.Expr) and ast.unparse(last) == "main()", ast.unparse(last)
    namespace: dict[str, Any] = {"__name__": "pulumi_dynamic_host"}
    exec(compile(ast.Module(tree.body[:-1], []), str(source), "exec"), namespace)
    return namespace["DynamicResourceProviderServicer"]()


def _calls(kind: str, key: str, n: int, emu: Emulator, profile: Path | None) -> dict[str, float]:
    from pulumi.runtime import proto, rpc

    from applivery_pulumi.policy.values import PROVIDER_KEY

    def struct(props: dict[str, Any]) -> Any:
        # A loop of its own, as the SDK's host does (asyncio.run would unset the program's).
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(rpc.serialize_properties(props, {}))
        finally:
            loop.close()

    servicer = _sdk_servicer()
    config = {
        "applivery:baseUrl": emu.base_url,
        "applivery:organizationId": emu.org,
        "applivery:apiToken": emu.token,
    }
    servicer.Configure(proto.ConfigureRequest(args=struct(config)), _Context())
    ctx = _Context()
    urn = "urn:pulumi:bench::bench::pulumi-python:dynamic/bench:X::policy-{}"
    news = [_engine_shape({**declared(i), PROVIDER_KEY: key}) for i in range(n)]
    changed = [_engine_shape({**declared(i, 1), PROVIDER_KEY: key}) for i in range(n)]
    timing: dict[str, float] = {}

    checked: list[Any] = []

    def check(i: int) -> None:
        request = proto.CheckRequest(urn=urn.format(i), olds=struct({}), news=struct(news[i]))
        checked.append(servicer.Check(request, ctx))

    with profiled(profile, f"{kind}-check"):
        timing["check"] = per_call_us([lambda i=i: check(i) for i in range(n)])
    inputs = [checked[i].inputs for i in range(n)]

    created: list[Any] = []

    def create(i: int) -> None:
        request = proto.CreateRequest(urn=urn.format(i), properties=inputs[i])
        created.append(servicer.Create(request, ctx))

    with profiled(profile, f"{kind}-create"):
        timing["create"] = per_call_us([lambda i=i: create(i) for i in range(n)])
    state = [created[i].properties for i in range(n)]
    ids = [created[i].id for i in range(n)]

    def diff(i: int) -> None:
        request = proto.DiffRequest(id=ids[i], urn=urn.format(i), olds=state[i], news=inputs[i])
        response = servicer.Diff(request, ctx)
        assert response.changes != proto.DiffResponse.DIFF_SOME, (kind, i)

    with profiled(profile, f"{kind}-diff"):
        timing["diff"] = per_call_us([lambda i=i: diff(i) for i in range(n)])

    def read(i: int) -> None:
        request = proto.ReadRequest(
            id=ids[i], urn=urn.format(i), properties=state[i], inputs=inputs[i]
        )
        servicer.Read(request, ctx)

    with profiled(profile, f"{kind}-read"):
        timing["read"] = per_call_us([lambda i=i: read(i) for i in range(n)])

    changed_inputs = [
        servicer.Check(
            proto.CheckRequest(urn=urn.format(i), olds=state[i], news=struct(changed[i])), ctx
        ).inputs
        for i in range(n)
    ]

    def update(i: int) -> None:
        request = proto.UpdateRequest(
            id=ids[i], urn=urn.format(i), olds=state[i], news=changed_inputs[i]
        )
        servicer.Update(request, ctx)

    with profiled(profile, f"{kind}-update"):
        timing["update"] = per_call_us([lambda i=i: update(i) for i in range(n)])

    def delete(i: int) -> None:
        request = proto.DeleteRequest(id=ids[i], urn=urn.format(i), properties=state[i])
        servicer.Delete(request, ctx)

    timing["delete"] = per_call_us([lambda i=i: delete(i) for i in range(n)])
    timing["state_bytes"] = float(sum(len(s.SerializeToString()) for s in state) / max(1, n))
    return timing


# -- the program ---------------------------------------------------------------------------------


class _Mocks:
    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def program_side(n: int, profile: Path | None) -> dict[str, float]:
    """Milliseconds to construct N resources in a program (mocked engine)."""
    import pulumi

    from applivery_pulumi import AppleDevicePolicy
    from applivery_pulumi.dynamic.components import PolicySet

    from .floor import FloorResource

    out: dict[str, float] = {}
    folder = Path(tempfile.mkdtemp(prefix="bench-policies-"))
    for i in range(n):
        body = declared(i)
        (folder / f"policy-{i:04d}.yaml").write_text(json.dumps(body))

    def construct(kind: str) -> float:
        pulumi.runtime.set_mocks(_Mocks(), project="bench", stack="bench", preview=False)  # type: ignore[arg-type]
        pulumi.runtime.set_all_config({"applivery:organizationId": "acme-corp"})
        start = time.perf_counter()
        if kind == "floor":
            for i in range(n):
                FloorResource(f"policy-{i:04d}", declared(i))
        elif kind == "ours":
            for i in range(n):
                AppleDevicePolicy(f"policy-{i:04d}", declared(i))
        else:
            PolicySet("policies", folder)
        seconds = time.perf_counter() - start
        # let the mocked registrations finish before the next round
        loop = asyncio.get_event_loop()
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.sleep(0))
        return seconds * 1000

    for kind in ("floor", "ours", "policyset"):
        construct(kind)  # warm: imports, caches
        with profiled(profile, f"program-{kind}"):
            out[kind] = round(statistics.median(construct(kind) for _ in range(3)), 1)
    return out


# -- main ----------------------------------------------------------------------------------------


PARTS = ("imports", "pickle", "provider", "program")


def measure(n: int, profile: Path | None = None, parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-micro-"))
    result: dict[str, Any] = {"policies": n}
    if "imports" in parts:
        result["import_ms"] = {
            "applivery_pulumi.lifecycle": import_ms("applivery_pulumi.lifecycle"),
            "applivery_pulumi.lifecycle after pulumi.dynamic": import_ms(
                "applivery_pulumi.lifecycle", after="pulumi.dynamic"
            ),
            "applivery_pulumi.dynamic.resource after pulumi.dynamic": import_ms(
                "applivery_pulumi.dynamic.resource", after="pulumi.dynamic"
            ),
            "pulumi.dynamic": import_ms("pulumi.dynamic"),
        }
    if "pickle" in parts:
        result["pickled_provider"] = {str(k): pickled_provider(k) for k in sorted({n, 100, 1000})}
    if "provider" in parts:
        with Emulator(
            work / "emulator", seed=seed_document(n), args=["--log-level", "warning"]
        ) as emu:
            result["provider_process_us"] = provider_process(n, emu, profile)
    if "program" in parts:
        result["program_ms"] = program_side(n, profile)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.micro", description=__doc__)
    parser.add_argument("--policies", type=int, default=100)
    parser.add_argument("--profile", type=Path, default=None, help="write pyinstrument reports")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma list of " + ", ".join(PARTS)
    )
    args = parser.parse_args(argv)
    parts = tuple(p for p in args.parts.split(",") if p)
    print(json.dumps(measure(args.policies, args.profile, parts), indent=2))


if __name__ == "__main__":
    main()
