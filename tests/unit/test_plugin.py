"""The provider plugin's protocol around the dynamic provider's lifecycle (no engine, respx HTTP).

The e2e suite (``tests/e2e/test_native_plugin.py``) drives the same plugin through the real CLI.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import subprocess
import sys
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import grpc
import httpx
import pytest
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import (
    CheckRequest,
    ConfigureRequest,
    CreateRequest,
    DeleteRequest,
    DiffRequest,
    GetSchemaRequest,
    InvokeRequest,
    PropertyDiffKind,
    Provider,
    ReadRequest,
    UpdateRequest,
)
from pulumi.runtime.proto import provider_pb2

from applivery_pulumi.api import errors
from applivery_pulumi.lifecycle import Warn, to_stderr
from applivery_pulumi.plugin.codec import property_map, python, python_map
from applivery_pulumi.plugin.engine_log import EngineLog, resource_urn
from applivery_pulumi.plugin.schema import LOOKUP_FUNCTION, RESOURCE
from applivery_pulumi.plugin.server import AppliveryProvider
from applivery_pulumi.plugin.servicer import Servicer, sentence
from tests.unit.unit_support import (
    BASE,
    ORG,
    PID,
    TOKEN,
    FakeApplivery,
    envelope,
    mocked,
    policy_path,
)

T = TypeVar("T")
URN = f"urn:pulumi:test::proj::{RESOURCE}::corp"
PROVIDER_URN = "urn:pulumi:test::proj::pulumi:providers:applivery::default"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def configured(warn: Warn = to_stderr, **args: Any) -> AppliveryProvider:
    provider = AppliveryProvider(warn=warn)
    config = {"apiToken": TOKEN, "baseUrl": BASE, "organizationId": ORG} | args
    config = {k: v for k, v in config.items() if v is not None}
    run(provider.configure(ConfigureRequest({}, property_map(config), True, False)))
    return provider


def props(**values: Any) -> dict[str, PropertyValue]:
    return property_map(values)


DECLARED = {
    "policyId": PID,
    "organizationId": ORG,
    "name": "Corporate",
    "agentConfiguration": {"allowLocation": True},
    "segmentId": 1,
}


# -- values ------------------------------------------------------------------------------------


def test_values_go_both_ways_with_numbers_as_the_engine_sends_them() -> None:
    value = {"a": [1, 2.5, True, "x", None], "b": {"c": 3}}
    marshalled = property_map(value)
    assert marshalled["a"].value[0] == PropertyValue(1.0)  # type: ignore[index]
    assert python_map(marshalled) == {"a": [1.0, 2.5, True, "x", None], "b": {"c": 3.0}}
    assert python(PropertyValue.computed()) == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


# -- configuration -----------------------------------------------------------------------------


def test_check_config_makes_the_token_secret_and_names_bad_settings() -> None:
    provider = AppliveryProvider()
    news = props(apiToken="plain", baseUrl=BASE, organizationId="acme corp", maxRetrySeconds="x")
    result = run(provider.check_config(CheckRequest(PROVIDER_URN, {}, news, b"")))
    assert result.inputs is not None and result.inputs["apiToken"].is_secret
    assert not result.inputs["baseUrl"].is_secret
    assert [f.property for f in result.failures or []] == ["maxRetrySeconds"]
    assert TOKEN not in str([f.reason for f in result.failures or []])

    news = props(organizationId="acme corp")
    result = run(provider.check_config(CheckRequest(PROVIDER_URN, {}, news, b"")))
    [failure] = result.failures or []
    assert failure.property == "organizationId" and "pattern" in failure.reason


def test_configure_takes_the_properties_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APPLIVERY_API_TOKEN", "from-env")
    monkeypatch.setenv("APPLIVERY_ORGANIZATION_ID", "env-org")
    provider = configured(apiToken=None, organizationId=None, maxRetrySeconds=7)
    settings = provider.policies.settings
    assert settings.api_token is not None and settings.api_token.get_secret_value() == "from-env"
    assert settings.organization_id == "env-org"
    assert settings.base_url == BASE
    assert settings.max_retry_seconds == 7

    provider = configured()
    settings = provider.policies.settings
    assert settings.api_token is not None and settings.api_token.get_secret_value() == TOKEN
    assert settings.organization_id == ORG


def test_configure_falls_back_to_the_config_variables() -> None:
    provider = AppliveryProvider()
    variables = {"applivery:config:apiToken": TOKEN, "applivery:config:baseUrl": BASE}
    run(provider.configure(ConfigureRequest(variables, {}, True, False)))
    assert provider.policies.settings.base_url == BASE


def test_the_plugin_reports_the_package_version_and_the_schema() -> None:
    provider = AppliveryProvider()
    assert provider.version == importlib.metadata.version("applivery-pulumi")
    schema = run(provider.get_schema(GetSchemaRequest(0))).schema
    assert schema is not None and f'"version": "{provider.version}"' in schema


# -- the lifecycle -----------------------------------------------------------------------------


def test_check_fills_the_organization_and_names_nested_fields() -> None:
    provider = configured()
    news = props(policyId=PID, applications=[{"admApplication": PID, "managementFlags": 3}])
    result = run(provider.check(CheckRequest(URN, {}, news, b"")))
    assert result.inputs is not None
    assert python(result.inputs["organizationId"]) == ORG
    [failure] = result.failures or []
    # The engine would print "value {<nil>}" for a nested property: the path leads the reason.
    assert failure.property == ""
    assert failure.reason.startswith("applications[0].managementFlags: Input should be 0, 1, 4")

    result = run(provider.check(CheckRequest(URN, {}, props(policyId="nope"), b"")))
    assert [f.property for f in result.failures or []] == ["policyId"]


def test_the_lifecycles_warnings_go_to_the_plugins_sink_naming_their_resource(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # main gives the engine's log (which shows a warning under the URN it names); each plugin
    # process has its own, and nothing reaches stderr, which the CLI does not show.
    sent: list[tuple[str, str]] = []
    provider = configured(warn=lambda message: sent.append((resource_urn.get(), message)))
    app = {"admApplication": PID, "managed": False, "actionStatus": "installed"}
    run(provider.check(CheckRequest(URN, {}, props(policyId=PID, applications=[app]), b"")))
    assert sent == [
        (
            URN,
            "applications[0].actionStatus is read-only (the service derives it from `action`): "
            "it is ignored and never sent",
        )
    ]
    assert capsys.readouterr().err == ""


def test_diff_names_nested_paths_against_the_old_outputs() -> None:
    provider = configured()
    old = props(**DECLARED, version=2)
    new = props(**(DECLARED | {"agentConfiguration": {"allowLocation": False}}))
    result = run(provider.diff(DiffRequest(URN, PID, old, new, [])))
    assert result.changes is True
    assert result.diffs == ["agentConfiguration"]
    assert list(result.detailed_diff) == ["agentConfiguration.allowLocation"]
    kind = result.detailed_diff["agentConfiguration.allowLocation"]
    assert kind.kind == PropertyDiffKind.UPDATE and kind.input_diff is False

    same = run(provider.diff(DiffRequest(URN, PID, old, props(**DECLARED), [])))
    assert same.changes is False and not same.detailed_diff

    moved = props(**(DECLARED | {"policyId": "a" * 24}))
    replaced = run(provider.diff(DiffRequest(URN, PID, old, moved, [])))
    assert replaced.replaces == ["policyId"]
    assert replaced.detailed_diff["policyId"].kind == PropertyDiffKind.UPDATE_REPLACE


def test_create_update_delete_are_the_lifecycles_requests() -> None:
    provider = configured()
    fake = FakeApplivery({"name": "Draft"})
    with mocked() as router:
        fake.install(router)
        created = run(provider.create(CreateRequest(URN, props(**DECLARED), 60, False)))
        assert created.resource_id == PID
        assert (fake.gets, len(fake.puts)) == (0, 1)
        assert fake.puts[0] == {
            "name": "Corporate",
            "agentConfiguration": {"allowLocation": True},
            "segmentId": 1,
        }
        outs = python_map(created.properties)
        assert outs["name"] == "Corporate" and outs["version"] == 2.0

        news = props(**(DECLARED | {"name": "Renamed"}))
        update = UpdateRequest(URN, PID, created.properties, news, 60, [], False)
        updated = run(provider.update(update))
        assert fake.puts[-1] == {"name": "Renamed"}
        assert python_map(updated.properties)["name"] == "Renamed"

        run(provider.delete(DeleteRequest(URN, PID, updated.properties, 60)))
        assert len(fake.puts) == 2  # released: no restore without restoreOnDelete
    assert TOKEN not in str(outs)


def test_create_with_the_import_mark_adopts_by_reading() -> None:
    provider = configured()
    fake = FakeApplivery({"name": "Corporate", "segmentId": 1})
    declared = props(policyId=PID, organizationId=ORG, name="Corporate", importExisting=True)
    with mocked() as router:
        fake.install(router)
        created = run(provider.create(CreateRequest(URN, declared, 60, False)))
        assert (fake.gets, fake.puts) == (1, [])
        assert python_map(created.properties)["name"] == "Corporate"

        differing = props(policyId=PID, organizationId=ORG, name="Other", importExisting=True)
        with pytest.raises(errors.ImportMismatchError, match='name: stored "Corporate"'):
            run(provider.create(CreateRequest(URN, differing, 60, False)))
        assert fake.puts == []


def test_read_without_state_imports_the_whole_policy_with_one_get() -> None:
    provider = configured()
    fake = FakeApplivery({"name": "Stored", "segmentId": 3, "profiles": [PID]})
    with mocked() as router:
        fake.install(router)
        read = run(provider.read(ReadRequest(URN, f"{ORG}/{PID}", {}, {})))
    assert (fake.gets, fake.puts) == (1, [])
    assert read.resource_id == PID
    outs, inputs = python_map(read.properties), python_map(read.inputs)
    assert outs["preAdoption"]["name"] == "Stored"
    assert inputs == {
        "organizationId": ORG,
        "policyId": PID,
        "name": "Stored",
        "segmentId": 3.0,
        "profiles": [PID],
    }


def test_refresh_keeps_the_drifted_value_of_declared_fields_only() -> None:
    provider = configured()
    fake = FakeApplivery({"name": "Renamed", "segmentId": 1, "exposeToChildren": True})
    state = props(**DECLARED, version=1)
    with mocked() as router:
        fake.install(router)
        read = run(provider.read(ReadRequest(URN, PID, state, props(**DECLARED))))
    inputs = python_map(read.inputs)
    assert inputs["name"] == "Renamed"
    assert "exposeToChildren" not in inputs  # never declared, never managed


def test_refresh_without_drift_sends_back_the_inputs_it_was_given() -> None:
    # This protocol has no "keep the inputs": an empty map would replace them in state.
    provider = configured()
    stored = {k: v for k, v in DECLARED.items() if k not in ("policyId", "organizationId")}
    fake = FakeApplivery(stored)
    state = props(**DECLARED, version=1)
    with mocked() as router:
        fake.install(router)
        read = run(provider.read(ReadRequest(URN, PID, state, props(**DECLARED))))
    assert (fake.gets, fake.puts) == (1, [])
    assert python_map(read.inputs) == python_map(props(**DECLARED))


# -- the lookup --------------------------------------------------------------------------------


def test_the_lookup_reads_once_and_names_bad_arguments() -> None:
    provider = configured()
    fake = FakeApplivery({"name": "Stored"})
    with mocked() as router:
        fake.install(router)
        found = run(provider.invoke(InvokeRequest(LOOKUP_FUNCTION, props(policyId=PID))))
    assert (fake.gets, fake.puts) == (1, [])
    assert found.return_value is not None
    value = python_map(found.return_value)
    assert value["name"] == "Stored" and value["organizationId"] == ORG
    assert "preAdoption" not in value

    bad = run(provider.invoke(InvokeRequest(LOOKUP_FUNCTION, props(policyId="x", colour=1))))
    assert sorted(f.property for f in bad.failures) == ["colour", "policyId"]
    other = run(provider.invoke(InvokeRequest("applivery:index:getOther", {})))
    assert LOOKUP_FUNCTION in other.failures[0].reason


def test_a_missing_policy_is_an_error_for_the_lookup() -> None:
    provider = configured()
    fake = FakeApplivery({"name": "Stored"})
    fake.exists = False
    with mocked() as router:
        fake.install(router)
        with pytest.raises(errors.NotFoundError, match=f"policy {PID} of organization {ORG}"):
            run(provider.invoke(InvokeRequest(LOOKUP_FUNCTION, props(policyId=PID))))


# -- errors ------------------------------------------------------------------------------------


class _Aborted(Exception):
    pass


class _Context:
    def __init__(self) -> None:
        self.aborted: tuple[Any, str] | None = None

    async def abort(self, code: Any, details: str) -> None:
        self.aborted = (code, details)
        raise _Aborted


def test_an_applivery_error_reaches_the_engine_as_its_sentence_alone() -> None:
    async def failing(_self: Any, _request: Any, _context: Any) -> Any:
        try:
            raise errors.AuthenticationError("Applivery refused policy x (401): check the token")
        except errors.AppliveryError as exc:
            # what the SDK's servicer does with every exception
            raise Exception(f"{exc}:\n  File 'client.py', line 1") from None

    context = _Context()
    with pytest.raises(_Aborted):
        run(sentence(failing)(None, None, context))
    assert context.aborted is not None
    assert context.aborted[1] == "Applivery refused policy x (401): check the token"

    async def broken(_self: Any, _request: Any, _context: Any) -> Any:
        raise ValueError("a bug keeps its stack")

    with pytest.raises(ValueError):
        run(sentence(broken)(None, None, _Context()))


REFUSED = "Applivery refused policy x (401): check the token"


async def _refuse(_self: Any, _request: Any = None) -> Any:
    raise errors.AuthenticationError(REFUSED)


class _Refusing(Provider):
    get_schema = check_config = diff_config = configure = _refuse
    check = diff = create = read = update = delete = invoke = _refuse


@pytest.mark.parametrize(
    ("rpc", "request_type"),
    [
        ("GetSchema", provider_pb2.GetSchemaRequest),
        ("CheckConfig", provider_pb2.CheckRequest),
        ("DiffConfig", provider_pb2.DiffRequest),
        ("Configure", provider_pb2.ConfigureRequest),
        ("Check", provider_pb2.CheckRequest),
        ("Diff", provider_pb2.DiffRequest),
        ("Create", provider_pb2.CreateRequest),
        ("Read", provider_pb2.ReadRequest),
        ("Update", provider_pb2.UpdateRequest),
        ("Delete", provider_pb2.DeleteRequest),
        ("Invoke", provider_pb2.InvokeRequest),
    ],
)
def test_every_call_the_plugin_serves_fails_with_the_sentence_alone(
    rpc: str, request_type: Any
) -> None:
    servicer = Servicer([], "0.0.0", _Refusing(), engine_address="127.0.0.1:1")
    context = _Context()
    with pytest.raises(_Aborted):
        run(getattr(servicer, rpc)(request_type(), context))
    assert context.aborted == (grpc.StatusCode.UNKNOWN, REFUSED)


def test_the_package_does_not_load_the_plugin_or_native_classes() -> None:
    code = (
        "import sys, applivery_pulumi; from applivery_pulumi import AppleDevicePolicyArgs; "
        "print(sorted(m for m in sys.modules if m.startswith('applivery_pulumi.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "plugin" not in out.stdout and "native" not in out.stdout and "schema" not in out.stdout


def test_warnings_fall_back_to_stderr_without_an_engine(capsys: pytest.CaptureFixture[str]) -> None:
    EngineLog("127.0.0.1:1")("applications[0].actionStatus is read-only")
    assert "warning: applications[0].actionStatus is read-only" in capsys.readouterr().err


# -- an explicit provider's token (issue 24, point 5) --------------------------------------------


def _configured_through_the_servicer(urn: str) -> AppliveryProvider:
    provider = AppliveryProvider()
    servicer = Servicer([], "0.0.0", provider, engine_address="127.0.0.1:1")
    request = provider_pb2.ConfigureRequest(urn=urn, acceptSecrets=True)
    request.args.update({"apiToken": TOKEN, "baseUrl": BASE, "organizationId": ORG})

    async def configure() -> None:
        await servicer.Configure(request, _Context())

    run(configure())
    return provider


@pytest.mark.parametrize(
    ("name", "advice"),
    [
        ("globex", "check the apiToken of provider globex"),
        # A default provider takes stack config (or the environment): the sentence says so.
        ("default_0_1_0", errors.CHECK_THE_SETTING),
        ("default", errors.CHECK_THE_SETTING),
    ],
)
def test_a_refused_token_names_the_explicit_provider_it_is_the_property_of(
    name: str, advice: str
) -> None:
    provider = _configured_through_the_servicer(
        f"urn:pulumi:test::proj::pulumi:providers:applivery::{name}"
    )
    with mocked() as router:
        router.put(f"{BASE}{policy_path()}").respond(
            401, json={"status": False, "error": {"code": 4004, "message": "Invalid Token"}}
        )
        with pytest.raises(errors.AuthenticationError) as refused:
            run(provider.create(CreateRequest(URN, props(**DECLARED), 0, False)))
    assert str(refused.value) == (
        f"Applivery refused policy {PID} of organization {ORG} (401, 4004 Invalid Token): the "
        f"service rejected the API token; {advice}"
    )


# -- a lookup beside a bad input (issue 24, point 4) ---------------------------------------------


def test_a_failing_check_answers_after_the_lookups_in_flight() -> None:
    provider = configured()
    order: list[str] = []

    def slow(_request: httpx.Request) -> httpx.Response:
        time.sleep(0.1)  # the lookup is still waiting for its answer when the check fails
        return httpx.Response(200, json=envelope({"id": PID, "name": "Stored"}))

    async def both() -> None:
        async def lookup() -> None:
            await provider.invoke(InvokeRequest(LOOKUP_FUNCTION, props(policyId=PID)))
            order.append("lookup")

        async def check() -> None:
            bad = props(**DECLARED, scripts=[{"type": "sometimes"}])
            result = await provider.check(CheckRequest(URN, {}, bad, b""))
            assert result.failures
            order.append("check")

        await asyncio.gather(check(), lookup())

    with mocked() as router:
        router.get(f"{BASE}{policy_path()}").mock(side_effect=slow)
        run(both())
    assert order == ["lookup", "check"]
