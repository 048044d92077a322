"""The plugin previews (``supportsPreview``): a create or update at preview answers with what it
already knows, without a request, and leaves out only what the service will assign."""

from __future__ import annotations

from typing import Any

from pulumi.provider.experimental.provider import ConfigureRequest, CreateRequest, UpdateRequest

from applivery_pulumi.plugin.codec import property_map, python_map
from applivery_pulumi.plugin.server import AppliveryProvider
from applivery_pulumi.policy.values import UNKNOWN
from tests.unit.test_plugin import DECLARED, URN, configured, props, run
from tests.unit.unit_support import BASE, ORG, PID, FakeApplivery, mocked

PRE_ADOPTION = {"name": "Draft", "exposeToChildren": False}


def _created(fake: FakeApplivery, **extra: Any) -> dict[str, Any]:
    """A policy adopted through the plugin: its state (outputs) as the engine keeps it."""
    provider = configured()
    with mocked() as router:
        fake.install(router)
        created = run(provider.create(CreateRequest(URN, props(**DECLARED, **extra), 60, False)))
    return python_map(created.properties)


def test_configure_says_the_plugin_previews() -> None:
    config = property_map({"baseUrl": BASE, "organizationId": ORG})
    response = run(AppliveryProvider().configure(ConfigureRequest({}, config, True, False)))
    assert response.supports_preview is True


def test_a_create_preview_shows_the_declaration_and_sends_nothing() -> None:
    provider = configured()
    with mocked() as router:
        anything = router.route()
        created = run(provider.create(CreateRequest(URN, props(**DECLARED), 60, True)))
    assert not anything.called
    outs = python_map(created.properties)
    assert outs == DECLARED, "identity and body known; version and dates assigned by the run"


def test_an_update_preview_keeps_what_the_write_does_not_change() -> None:
    fake = FakeApplivery(PRE_ADOPTION)
    olds = _created(fake, restoreOnDelete=True)
    assert {"version", "createdAt", "updatedAt", "preAdoption"} <= set(olds)
    provider = configured()
    news = props(**(DECLARED | {"name": "Renamed", "restoreOnDelete": True}))
    with mocked() as router:
        anything = router.route()
        previewed = run(provider.update(UpdateRequest(URN, PID, props(**olds), news, 60, [], True)))
    assert not anything.called
    outs = python_map(previewed.properties)
    assert outs["name"] == "Renamed"
    assert outs["preAdoption"] == olds["preAdoption"] and outs["createdAt"] == olds["createdAt"]
    assert "version" not in outs and "updatedAt" not in outs, "the write assigns them"


def test_an_update_preview_without_a_write_knows_every_output() -> None:
    olds = _created(FakeApplivery(PRE_ADOPTION))
    provider = configured()
    # A change of option only (importExisting): nothing is written, so nothing is assigned.
    news = props(**(DECLARED | {"importExisting": True}))
    with mocked():
        previewed = run(provider.update(UpdateRequest(URN, PID, props(**olds), news, 60, [], True)))
    assert python_map(previewed.properties) == olds | {"importExisting": True}


def test_an_unknown_input_stays_unknown_in_the_preview() -> None:
    provider = configured()
    declared = props(**(DECLARED | {"name": UNKNOWN}))
    with mocked():
        created = run(provider.create(CreateRequest(URN, declared, 60, True)))
    outs = python_map(created.properties)
    assert outs["name"] == UNKNOWN and outs["agentConfiguration"] == {"allowLocation": True}
