"""Each fact the package states (settings, version, order rules, paths, id patterns) has one home
that the rest derives from: here are the ones a copy could silently drift from."""

from __future__ import annotations

import ast
import dataclasses
import importlib.metadata
import inspect
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import applivery_pulumi
from applivery_pulumi import text
from applivery_pulumi.api.client import AppliveryClient
from applivery_pulumi.api.settings import KEYS, Secret, Settings
from applivery_pulumi.plugin import server
from applivery_pulumi.plugin.native import Provider
from applivery_pulumi.policy import fields, model
from tests.unit.conftest import clear_applivery_environment
from tests.unit.unit_support import BASE, ORG, PID, TOKEN, envelope

PACKAGE = Path(applivery_pulumi.__file__).parent
REPO = PACKAGE.parent.parent


# -- settings: one table of keys and variables -------------------------------------------------


def test_the_unit_tests_run_without_any_settings_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's shell may set every variable; the unit tests' environment has none of them.
    for key in KEYS.values():
        monkeypatch.setenv(key.env, "1")
    clear_applivery_environment(monkeypatch)
    assert Settings.load() == Settings()


def test_every_setting_has_a_key_and_a_provider_argument() -> None:
    assert list(KEYS) == [f.name for f in dataclasses.fields(Settings) if f.name != "origin"]
    arguments = inspect.signature(Provider.__init__).parameters
    assert [n for n in arguments if n not in ("self", "resource_name", "opts")] == list(KEYS)


# -- the version: the package metadata's, read in one place ----------------------------------


@pytest.fixture
def released(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The installed metadata says 9.8.7."""
    real = importlib.metadata.version

    def version(name: str) -> str:
        return "9.8.7" if name == "applivery-pulumi" else real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    text.version.cache_clear()
    yield "9.8.7"
    text.version.cache_clear()


def test_the_client_and_the_plugin_report_the_package_metadata_version(
    released: str, capsys: pytest.CaptureFixture[str]
) -> None:
    agents = []

    def answer(request: httpx.Request) -> httpx.Response:
        agents.append(request.headers["User-Agent"])
        return httpx.Response(200, json=envelope({"id": PID}))

    settings = Settings(api_token=Secret(TOKEN), base_url=BASE)
    AppliveryClient(settings, transport=httpx.MockTransport(answer)).get_policy(ORG, PID)
    assert agents == [f"applivery-pulumi/{released}"]

    assert server.AppliveryProvider().version == released
    with pytest.raises(SystemExit):
        server.main(["--version"])
    assert capsys.readouterr().out.strip() == released


# -- order rules: the code's table, and what the schema tells users ----------------------------


@pytest.mark.parametrize(
    "name",
    [n for n, f in model.PolicyBody.model_fields.items() if "list" in str(f.annotation)],
)
def test_each_list_describes_the_order_rule_it_is_compared_by(name: str) -> None:
    description = model.PolicyBody.model_fields[name].description or ""
    if (name,) in fields.UNORDERED_LISTS:
        assert "order is ignored" in description
    else:
        assert "declared order" in description


# -- no copy comes back --------------------------------------------------------------------------


def _strings(path: Path) -> Iterator[str]:
    """The string constants of a module, docstrings left out (prose may name a fact)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.value


def _sources() -> Iterator[Path]:
    yield from PACKAGE.rglob("*.py")
    yield from (REPO / "harness").rglob("*.py")
    yield from (REPO / "benchmarks").rglob("*.py")


@pytest.mark.parametrize(
    ("fragment", "home"),
    [
        ("/mdm/apple/enterprise/policies", "provider/applivery_pulumi/api/paths.py"),
        ("a-fA-F0-9", "provider/applivery_pulumi/policy/fields.py"),
    ],
)
def test_a_fact_is_written_in_its_home_only(fragment: str, home: str) -> None:
    found = {
        str(path.relative_to(REPO))
        for path in _sources()
        if any(fragment in value for value in _strings(path))
    }
    assert found == {home}


def test_the_version_is_read_from_the_metadata_in_one_place() -> None:
    readers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "importlib.metadata" in path.read_text()
    }
    assert readers == {"text.py"}
