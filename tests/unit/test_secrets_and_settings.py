"""The token never leaves the provider process: not in the pickled provider, not in a repr."""

from __future__ import annotations

import base64
import pickle
import subprocess
import sys

import dill
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider

from applivery_pulumi.api.settings import DEFAULT_BASE_URL, Secret, Settings
from applivery_pulumi.lifecycle import AppleDevicePolicyProvider

from .unit_support import BASE, ORG, PID, TOKEN, FakeApplivery, make_provider, mocked

MARKER = "MARKER-tok-9b1d4e-do-not-leak"


def configured(**extra: str) -> AppleDevicePolicyProvider:
    provider = AppleDevicePolicyProvider()
    raw = {"applivery:apiToken": MARKER, "applivery:baseUrl": BASE} | extra
    provider.configure(ConfigureRequest(Config(raw, "proj")))
    return provider


def used(provider: AppleDevicePolicyProvider) -> AppleDevicePolicyProvider:
    """The provider after a request: it now holds a live client with the token in a header."""
    with mocked() as router:
        FakeApplivery({"name": "x"}).install(router)
        provider.read(PID, {"organizationId": ORG, "policyId": PID})
    return provider


@pytest.mark.parametrize("state", ["configured", "used"])
def test_the_pickled_provider_does_not_carry_the_token(state: str) -> None:
    provider = configured()
    if state == "used":
        used(provider)
    assert provider.settings.api_token is not None  # configure did take it
    data = dill.dumps(provider, recurse=True)
    assert MARKER.encode() not in data
    assert MARKER.encode() not in pickle.dumps(provider)
    assert BASE.encode() not in data  # no settings at all


@pytest.mark.parametrize("state", ["configured", "used"])
def test_the_sdk_serialised_provider_does_not_carry_the_token(state: str) -> None:
    provider = configured()
    if state == "used":
        used(provider)
    text = serialize_provider(provider)
    raw = base64.b64decode(text)
    assert MARKER.encode() not in raw
    assert MARKER not in text
    # The same provider serialises to the same text before and after configure: no churn in
    # state, and nothing per-stack in it.
    assert text == serialize_provider(AppleDevicePolicyProvider())


def test_a_deserialised_provider_works_once_configured_again() -> None:
    copy = dill.loads(base64.b64decode(serialize_provider(used(configured()))))
    assert isinstance(copy, AppleDevicePolicyProvider)
    copy.configure(
        ConfigureRequest(Config({"applivery:apiToken": TOKEN, "applivery:baseUrl": BASE}, "p"))
    )
    with mocked() as router:
        FakeApplivery({"name": "x"}).install(router)
        result = copy.read(PID, {"organizationId": ORG, "policyId": PID})
        assert router.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert result.id == PID


def test_no_repr_shows_the_token() -> None:
    provider = used(configured())
    settings = provider.settings
    for text in (repr(settings), str(settings), repr(provider), str(provider)):
        assert MARKER not in text
    assert "api_token" not in repr(settings)


def test_the_token_holder_shows_and_pickles_nothing() -> None:
    secret = Secret(MARKER)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret])):
        assert MARKER not in text
    for dump in (pickle.dumps, dill.dumps):
        with pytest.raises(TypeError, match="not picklable"):
            dump(secret)
    assert secret.get_secret_value() == MARKER
    assert secret == Secret(MARKER) and secret != Secret("other")


def test_the_provider_process_does_not_import_pydantic_to_read() -> None:
    # refresh and destroy never validate: the provider module alone must not pull pydantic in
    code = (
        "import sys; import applivery_pulumi.lifecycle, applivery_pulumi.api.settings; "
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_settings_come_from_stack_config() -> None:
    settings = configured(**{"applivery:organizationId": "acme-corp"}).settings
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == MARKER
    assert settings.base_url == BASE
    assert settings.organization_id == "acme-corp"


def test_environment_fallbacks() -> None:
    env = {
        "APPLIVERY_API_TOKEN": "env-token",
        "APPLIVERY_BASE_URL": "https://env.example/",
        "APPLIVERY_ORGANIZATION_ID": "env-org",
    }
    settings = Settings.load(Config({}, "proj").get, env)
    assert settings.api_token is not None and settings.api_token.get_secret_value() == "env-token"
    assert settings.base_url == "https://env.example"  # trailing slash dropped
    assert settings.organization_id == "env-org"


def test_stack_config_wins_over_the_environment_but_for_the_token() -> None:
    env = {
        "APPLIVERY_API_TOKEN": "env-token",
        "APPLIVERY_BASE_URL": "https://env.example",
        "APPLIVERY_ORGANIZATION_ID": "env-org",
        "APPLIVERY_MAX_RETRY_SECONDS": "7",
    }
    config = Config(
        {
            "applivery:apiToken": "stack-token",
            "applivery:baseUrl": "https://stack.example",
            "applivery:organizationId": "stack-org",
            "applivery:maxRetrySeconds": "3",
        },
        "proj",
    )
    settings = Settings.load(config.get, env)
    # A token rotated in the environment wins over the copy the engine keeps in state.
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "env-token"
    assert settings.base_url == "https://stack.example"
    assert settings.organization_id == "stack-org"
    assert settings.max_retry_seconds == 3
    without = Settings.load(config.get, {k: v for k, v in env.items() if "TOKEN" not in k})
    assert without.api_token is not None
    assert without.api_token.get_secret_value() == "stack-token"


def test_an_empty_stack_value_falls_back_to_the_environment() -> None:
    config = Config({"applivery:apiToken": "", "applivery:organizationId": ""}, "proj")
    settings = Settings.load(
        config.get, {"APPLIVERY_API_TOKEN": "env", "APPLIVERY_ORGANIZATION_ID": "o-1"}
    )
    assert settings.api_token is not None and settings.api_token.get_secret_value() == "env"
    assert settings.organization_id == "o-1"


def test_defaults_without_any_setting() -> None:
    settings = Settings.load(Config({}, "proj").get, {})
    assert settings.api_token is None
    assert settings.base_url == DEFAULT_BASE_URL == "https://api.applivery.io"
    assert settings.organization_id is None


def test_an_unconfigured_provider_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPLIVERY_API_TOKEN", TOKEN)
    monkeypatch.setenv("APPLIVERY_BASE_URL", BASE)
    monkeypatch.setenv("APPLIVERY_ORGANIZATION_ID", ORG)
    provider = AppleDevicePolicyProvider()
    with mocked() as router:
        FakeApplivery({"name": "x"}).install(router)
        result = provider.read(PID, {})
        assert router.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert result.outs["organizationId"] == ORG


def test_a_rotated_environment_token_is_the_one_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    # refresh and destroy configure the provider from the stack config stored in state: the
    # stack token there may be the old one, and the environment's must reach the service.
    monkeypatch.setenv("APPLIVERY_API_TOKEN", "rotated-env-token")
    provider = make_provider()
    with mocked() as router:
        FakeApplivery({"name": "x"}).install(router)
        provider.read(PID, {})
        assert router.calls.last.request.headers["authorization"] == "Bearer rotated-env-token"


def test_the_stack_token_is_sent_when_the_environment_has_none() -> None:
    provider = make_provider()
    with mocked() as router:
        FakeApplivery({"name": "x"}).install(router)
        provider.read(PID, {})
        assert router.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
