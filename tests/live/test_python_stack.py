"""One Python stack on the SDK's own dynamic-provider host, through the scenarios in the order a
user meets them: adopt, a no-op preview with the lists reordered, an update of one field, a change
made outside Pulumi found by refresh and repaired by up, a lookup, and destroy with
restore_on_delete putting the policy back."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from applivery_pulumi.policy.normalize import document_to_state
from harness.project import PulumiProject
from tests.live.conftest import Live
from tests.live.target import comparable

pytestmark = pytest.mark.live

PROGRAM = """
import json
from pathlib import Path

import pulumi

from applivery_pulumi import AppleDevicePolicy

for item in json.loads((Path(__file__).parent / "resources.json").read_text()):
    if "lookup" in item:
        pulumi.export(item["name"], AppleDevicePolicy.get(item["name"], item["lookup"]).name)
    else:
        AppleDevicePolicy(item["name"], item["args"])
"""


class Stack:
    def __init__(self, live: Live) -> None:
        self.live = live
        self.policy = live.target.first
        self.project: PulumiProject = live.project("live-python", PROGRAM)
        self.before = live.stored(self.policy)  # what restore_on_delete must put back
        state = document_to_state(self.before)
        self.profiles: list[Any] = list(state.get("profiles", []))
        self.segment = state.get("segmentId")
        self.name = f"live {live.run_id} adopted"

    def declare(self, *, profiles: list[Any], **args: Any) -> None:
        declared: dict[str, Any] = {"policyId": self.policy, "name": self.name}
        if profiles:  # only what the policy holds: declaring [] would write an empty list
            declared["profiles"] = profiles
        if self.segment is not None:
            declared["segmentId"] = str(self.segment)  # the reference's own spelling: "1"
        declared.update(restoreOnDelete=True, **args)
        lookup = {"name": "looked-up", "lookup": self.live.target.second}
        self.project.declare([{"name": "policy", "args": declared}, lookup])


@pytest.fixture(scope="module")
def stack(live: Live) -> Iterator[Stack]:
    yield Stack(live)


def test_adopt_writes_once_and_stores_the_declared_values(stack: Stack, live: Live) -> None:
    stack.declare(profiles=stack.profiles)
    window = live.proxy.window()
    stack.project.run("up", "--yes", "--skip-preview")
    assert window.count("PUT", stack.policy) == 1, "adoption is one write"
    assert window.count("GET", stack.policy) == 1, "restore_on_delete reads it first"
    stored = live.stored(stack.policy)
    assert stored["name"] == stack.name
    assert document_to_state(stored).get("profiles", []) == stack.profiles
    outputs = stack.project.resource_outputs("policy")
    assert outputs["profiles"] == stack.profiles, "profiles as ids, not the objects returned"
    assert outputs.get("segmentId") == stack.segment, "segmentId a number, as declared"
    assert outputs["version"] == stored["version"]


def test_a_noop_preview_with_reordered_lists_shows_no_change(stack: Stack, live: Live) -> None:
    stack.declare(profiles=stack.profiles[::-1])
    window = live.proxy.window()
    stack.project.run("preview", "--expect-no-changes")
    assert window.writes() == 0
    assert window.count("GET", stack.policy) == 0, "a no-op preview reads nothing"


def test_lookup_reads_the_policy_as_stored(stack: Stack, live: Live) -> None:
    outputs = json.loads(stack.project.run("stack", "output", "--json").stdout)
    assert outputs["looked-up"] == live.stored(live.target.second)["name"]


def test_update_of_one_field_writes_that_field(stack: Stack, live: Live) -> None:
    before = document_to_state(live.stored(stack.policy))
    stack.name = f"live {live.run_id} updated"
    stack.declare(profiles=stack.profiles[::-1])
    window = live.proxy.window()
    stack.project.run("up", "--yes", "--skip-preview")
    assert window.count("PUT", stack.policy) == 1
    after = document_to_state(live.stored(stack.policy))
    assert after.pop("name") == stack.name
    before.pop("name")
    assert after == before, "nothing but the name changed"


def test_a_change_outside_pulumi_is_found_by_refresh_and_repaired(stack: Stack, live: Live) -> None:
    outside = f"Changed outside Pulumi {live.run_id}"
    live.client.put(stack.policy, {"name": outside})
    window = live.proxy.window()
    stack.project.run("refresh", "--yes", "--skip-preview")
    assert window.count("GET", stack.policy) == 1 and window.writes() == 0
    preview = stack.project.run("preview", "--diff")
    assert re.search(rf'~ name\s*: "{outside}" => "{stack.name}"', preview.output), preview.output
    assert not re.search(r"[-+~] profiles", preview.output), "an unchanged field never shows"

    window = live.proxy.window()
    stack.project.run("up", "--yes", "--skip-preview")
    assert window.count("PUT", stack.policy) == 1
    assert live.stored(stack.policy)["name"] == stack.name
    stack.project.run("preview", "--expect-no-changes")


def test_destroy_with_restore_on_delete_puts_the_policy_back(stack: Stack, live: Live) -> None:
    window = live.proxy.window()
    stack.project.run("destroy", "--yes", "--skip-preview")
    assert window.count("PUT", stack.policy) == 1
    assert comparable(live.stored(stack.policy)) == comparable(stack.before)
