"""The floor: a dynamic resource whose provider does nothing and returns at once.

Run by the same CLI, the same backend kind, the same ``--parallel`` and the same provider host
(the SDK's, ``python -m pulumi.dynamic``) as our stack, it costs what the engine, the Python SDK
and the gRPC round trips cost for N dynamic resources with the same inputs, and nothing else.  The
class lives in an importable module (not in ``__main__``), so dill pickles it by reference, like
ours.

With ``BENCH_FLOOR_RTT_MS`` set (``python -m benchmarks``, unless ``--no-floor-rtt``), create,
read and update wait that long once, without CPU: the engine's cost plus one API round trip per
policy read or changed, the floor as the issue that asked for these benchmarks defines it.

With ``BENCH_FLOOR_URL`` and ``BENCH_FLOOR_TOKEN`` set (``--floor-request``), they instead GET the
policy from the emulator through an ``httpx.Client`` and parse its JSON, nothing more: the round
trip with the CPU a real HTTP client spends on it (and the emulator's, on the same cores), so
that ours/floor is what our code adds beyond the request itself.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult


@functools.cache
def _client(base_url: str, token: str) -> Any:
    import httpx

    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
    )


def _get(base_url: str, props: dict[str, Any]) -> None:
    from applivery_pulumi.api.paths import POLICY

    client = _client(base_url, os.environ.get("BENCH_FLOOR_TOKEN", ""))
    path = POLICY.format(org=props["organizationId"], policy_id=props["policyId"])
    client.get(path).raise_for_status().json()


def _round_trip(props: dict[str, Any]) -> None:
    base_url = os.environ.get("BENCH_FLOOR_URL")
    if base_url:
        _get(base_url, props)
        return
    milliseconds = float(os.environ.get("BENCH_FLOOR_RTT_MS") or 0)
    if milliseconds > 0:
        time.sleep(milliseconds / 1000)


class FloorProvider(ResourceProvider):
    # As ours: the serialized provider is plain text in state, not a secret.
    serialize_as_secret_always = False

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds != news)

    def create(self, props: dict[str, Any]) -> CreateResult:
        _round_trip(props)
        return CreateResult(str(props.get("policyId", "floor")), props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        _round_trip(props)
        return ReadResult(id_, props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _round_trip(news)
        return UpdateResult(news)


class FloorResource(pulumi.dynamic.Resource, module="bench", name="Floor"):
    def __init__(
        self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(FloorProvider(), name, dict(props), opts)
