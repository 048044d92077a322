"""A managed app declaring no ``managementFlags`` is named whenever a write will carry it.

Applivery's GET never returns ``managementFlags`` and a PUT of ``applications`` replaces the list
whole, so such an app goes back to the service's 5 on every write of ``applications``.  The
preview says so for each app (check for an adoption, diff for an update), and says nothing when
the write leaves ``applications`` alone or nothing is written.  The export leaves a note in
the app's place, in a file that loads back as the policy it holds.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from applivery_pulumi.cli import main as cli
from applivery_pulumi.dynamic.components import load_policy_files

from .test_export import export  # noqa: F401 (fixture)
from .test_lifecycle import DECLARED, HEX_A, HEX_B, created, inputs, update
from .unit_support import ORG, PID, FakeApplivery, engine_props, make_provider

# DECLARED's first app is managed and declares no flags; its second declares 4.
SENTENCE = (
    f"policy {PID}: applications[0] ({HEX_A}) is managed and declares no managementFlags: "
    "this {write} sends it without them, and Applivery sets them to 5 — declare "
    "managementFlags to keep another value"
)


def warnings(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [ln for ln in capsys.readouterr().err.splitlines() if "managementFlags" in ln]


def planned(capsys: pytest.CaptureFixture[str], **changes: Any) -> dict[str, Any]:
    """The checked inputs of DECLARED with ``changes``; what checking them warned is dropped."""
    news = inputs(**changes)
    capsys.readouterr()
    return news


def with_app(index: int, **changes: Any) -> list[dict[str, Any]]:
    apps = copy.deepcopy(DECLARED["applications"])
    apps[index].update(changes)
    return apps


@pytest.fixture
def adopted(capsys: pytest.CaptureFixture[str]) -> tuple[FakeApplivery, dict[str, Any]]:
    server = FakeApplivery({}, seed=11)
    olds = created(server)
    capsys.readouterr()
    return server, olds


def test_an_update_of_another_app_names_the_managed_app_sent_without_flags(
    adopted: tuple[FakeApplivery, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    server, olds = adopted
    # The case: one edit of one app's vpp.
    news = planned(capsys, applications=with_app(1, vpp=True))
    result = make_provider().diff(PID, engine_props(olds), engine_props(news))
    assert result.properties() == ["applications"]
    assert warnings(capsys) == [f"warning: {SENTENCE.format(write='update')}"]
    # What the sentence is about: the PUT carries the app without its flags.
    _, puts = update(server, olds, news)
    assert puts == 1
    assert server.puts[-1]["applications"][0] == {
        "admApplication": HEX_A,
        "managed": True,
        "action": "available",
    }


def test_declared_flags_are_not_warned_about(
    adopted: tuple[FakeApplivery, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, olds = adopted
    news = planned(capsys, applications=with_app(0, managementFlags=1, vpp=True))
    assert make_provider().diff(PID, engine_props(olds), engine_props(news)).changes
    assert warnings(capsys) == []


@pytest.mark.parametrize(
    "changes",
    [{"name": "Renamed"}, {"agentConfiguration": {"allowLocation": False}}, {}],
    ids=["name", "agent-configuration", "no-op"],
)
def test_a_diff_that_leaves_applications_alone_is_not_warned_about(
    adopted: tuple[FakeApplivery, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, Any],
) -> None:
    _, olds = adopted
    provider = make_provider()
    news = engine_props(planned(capsys, **changes))
    assert provider.check(engine_props(olds), news).failures == []
    assert provider.diff(PID, engine_props(olds), news).changes is bool(changes)
    assert warnings(capsys) == []


def test_an_adoption_that_writes_applications_is_warned_about_at_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = make_provider().check({}, engine_props(copy.deepcopy(DECLARED)))
    assert result.failures == []
    assert warnings(capsys) == [f"warning: {SENTENCE.format(write='adoption')}"]


def test_an_adoption_by_reading_writes_nothing_and_is_not_warned_about(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = make_provider().check({}, engine_props({**DECLARED, "importExisting": True}))
    assert result.failures == []
    assert warnings(capsys) == []


def test_a_changed_policy_id_adopts_another_policy_and_is_warned_about(
    adopted: tuple[FakeApplivery, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, olds = adopted
    other = "698f41b2457fafa13d0887ff"
    news = planned(capsys, policyId=other)
    result = make_provider().diff(PID, engine_props(olds), engine_props(news))
    assert result.replaces == ["policyId"]
    assert warnings(capsys) == [
        "warning: " + SENTENCE.format(write="adoption").replace(PID, other, 1)
    ]


def test_each_provider_sends_its_warnings_where_it_was_told(
    adopted: tuple[FakeApplivery, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    # The plugin gives its lifecycle the engine's log; the SDK's host keeps stderr.  Nothing is
    # shared: a provider given a sink leaves the others as they were.
    _, olds = adopted
    news = planned(capsys, applications=with_app(1, vpp=True))
    sent: list[str] = []
    make_provider(warn=sent.append).diff(PID, engine_props(olds), engine_props(news))
    assert sent == [SENTENCE.format(write="update")]
    assert warnings(capsys) == []

    make_provider().diff(PID, engine_props(olds), engine_props(news))
    assert warnings(capsys) == ["warning: " + SENTENCE.format(write="update")]
    assert len(sent) == 1


# -- export --------------------------------------------------------------------------------------


def test_export_notes_the_flags_in_each_managed_app_and_loads_back_as_exported(
    export: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    stored = {
        "id": PID,
        "name": "Kiosk",
        "applications": [
            {"admApplication": HEX_A, "managed": True, "action": "available"},
            {"admApplication": HEX_B, "managed": False, "vpp": True},
            # Were the API ever to return them: declared, no note.
            {"admApplication": "698f42e5457fafa13d0887aa", "managed": True, "managementFlags": 1},
        ],
    }
    run = export([stored])
    assert run.status == 0, run.err
    (path,) = (tmp_path / "policies").iterdir()
    text = path.read_text()
    lines = text.splitlines()
    # The note sits in the managed app, where the field would be, once.
    at = lines.index("  managed: true")
    assert lines[at - 1] == f"- admApplication: {HEX_A}"
    assert lines[at + 1].startswith("  # managementFlags: not returned by Applivery's API")
    assert "sets them to 5" in text and "declare managementFlags (0, 1, 4 or 5)" in text
    assert text.count("# managementFlags") == 1

    # It loads back as the policy the export read, and a second export writes the same bytes.
    (loaded,) = load_policy_files(path.parent)
    assert loaded.fields == {k: v for k, v in cli.policy_file(stored, ORG).items() if k != "import"}
    assert loaded.import_existing is True
    assert "managementFlags" not in loaded.fields["applications"][0]
    assert export([stored], "--force").status == 0
    assert path.read_text() == text


def test_the_exported_note_is_not_confused_with_a_value_from_the_server() -> None:
    # A string that reads like the note's line, in a value that spans lines, stays a value.
    text = "x\n  managementFlags: flags_note_0\n"
    stored = {
        "id": PID,
        "name": text,
        "applications": [{"admApplication": HEX_A, "managed": True}],
    }
    blob, problems = cli.render(stored, ORG)
    assert problems == []
    assert blob.decode().count("# managementFlags") == 1
    assert cli.parse_yaml(blob, "x")["name"] == text
