"""Two resources that manage the same policy are an error before any write.

Issue 7, item 6.  Same organization + policyId, whether the organization is explicit or comes
from ``applivery:organizationId``, whether the policy id is a plain value or an Output, and
whether one of the two comes from a ``PolicySet`` file: `preview` and `up` fail naming both
resources, and the emulator sees no request at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.emulator import Emulator
from harness.project import PulumiProject
from tests.reliability.support import (
    assert_all_stored_as_declared,
    assert_no_traceback,
    declaration,
    error_lines,
    record,
)

pytestmark = pytest.mark.reliability

PROGRAM = """
import json
from pathlib import Path

import pulumi

from applivery_pulumi import AppleDevicePolicy
from applivery_pulumi.dynamic.components import PolicySet

spec = json.loads((Path(__file__).parent / "program.json").read_text())
for item in spec["resources"]:
    args = dict(item["args"])
    if item.get("id_as_output"):
        args["policyId"] = pulumi.Output.from_input(args["policyId"])
    AppleDevicePolicy(item["name"], args)
if spec.get("folder"):
    PolicySet("fleet", spec["folder"])
"""


def _declare(project: PulumiProject, resources: list[dict[str, Any]], folder: Path | None) -> None:
    spec = {"resources": resources, "folder": str(folder) if folder else None}
    (project.dir / "program.json").write_text(json.dumps(spec))


def test_two_resources_for_one_policy_fail_before_any_write(
    tmp_path: Path, emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    a, b, c, d = (emu.create_policy(name=f"Draft {x}")["id"] for x in "abcd")
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "kiosk.yaml").write_text(f"policyId: {c}\nname: Kiosk\n")
    resources = [
        {"name": "first", "args": declaration(0, a)},  # organization from config
        {"name": "unique", "args": declaration(1, b)},
        # the same policy: explicit organization, id in capitals (ids are case-insensitive hex)
        {
            "name": "second",
            "args": {**declaration(2, a), "organizationId": emu.org, "policyId": a.upper()},
        },
        {"name": "manual-kiosk", "args": declaration(3, c)},  # also in the PolicySet
        {"name": "out-1", "args": declaration(4, d), "id_as_output": True},
        {"name": "out-2", "args": declaration(5, d), "id_as_output": True},
    ]
    project = make_project(emu, program=PROGRAM)
    _declare(project, resources, folder)
    expected = {
        a: ("'first'", "'second'"),
        c: ("'manual-kiosk'", "'fleet-kiosk'"),
        d: ("'out-1'", "'out-2'"),
    }

    emu.reset_counters()
    runs = {"preview": project.run("preview", check=False)}
    runs["up"] = project.run("up", "--yes", check=False)
    messages: dict[str, str] = {}
    for command, result in runs.items():
        assert result.returncode != 0, command
        assert_no_traceback(result)
        lines = error_lines(result)
        for policy_id, names in expected.items():
            named = [ln for ln in lines if policy_id in ln and all(n in ln for n in names)]
            assert len(named) == 1, (command, policy_id, lines)
            assert "one resource only" in named[0]
            messages[policy_id] = named[0]
        assert not [ln for ln in lines if "'unique'" in ln]
    counters = emu.counters()
    assert counters["total"] == 0, f"no request at all: {counters}"
    assert {p["version"] for p in emu.list_policies()} == {0}, "nothing written"

    # Keep one resource per policy: the same program then applies.
    kept = [r for r in resources if r["name"] in {"first", "unique", "out-1"}]
    _declare(project, kept, folder)
    project.run("up", "--yes")
    assert_all_stored_as_declared(
        emu, {r["args"]["policyId"]: r["args"] for r in kept} | {c: {"name": "Kiosk"}}
    )
    record(
        "duplicates",
        {
            "duplicate_groups": len(expected),
            "runs": list(runs),
            "requests_before_fix": counters["total"],
            "messages": sorted(messages.values()),
        },
    )
