"""Bad input is rejected at `pulumi preview`, naming the field path, before any request.

Issue 7, item 5: at least 50 distinct invalid policies (hypothesis, from the reference's
constraints, plus hand-picked edge cases) in ONE program and ONE preview, each named with its
field path; a sample again one by one through the provider's own check (values given as
Outputs, so the engine's Check is what rejects them); an in-process property test of
``AppleDevicePolicyProvider.check``; bad policy files of a ``PolicySet``, each named.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from applivery_pulumi.lifecycle import AppleDevicePolicyProvider
from harness.emulator import Emulator, new_object_id
from harness.project import PulumiProject
from tests.reliability.invalid_inputs import (
    HAND_PICKED,
    ODD_TEXT,
    Case,
    base_policy,
    generated_cases,
    invalid_cases,
)
from tests.reliability.plugin import project_of
from tests.reliability.support import APPS, PROFILES, assert_no_traceback, error_lines, record

pytestmark = pytest.mark.reliability

GENERATED = 60

PROGRAM = """
import json
from pathlib import Path

import pulumi

from applivery_pulumi import AppleDevicePolicy

spec = json.loads((Path(__file__).parent / "resources.json").read_text())
for item in spec:
    args = item["args"]
    if item.get("as_outputs"):
        # Values the program does not know yet: only the provider's check can judge them.
        args = {k: v if k == "policyId" else pulumi.Output.from_input(v) for k, v in args.items()}
    AppleDevicePolicy(item["name"], args)
"""


def _named(case: Case, i: int) -> tuple[str, dict[str, Any]]:
    return f"bad-{i:03d}", case.args()


def test_one_preview_names_every_invalid_policy_and_sends_nothing(
    emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    cases = generated_cases(GENERATED) + list(HAND_PICKED)
    assert len({c.key for c in cases}) == len(cases) >= 50
    project = make_project(emu, program=PROGRAM)
    declared = [{"name": _named(c, i)[0], "args": _named(c, i)[1]} for i, c in enumerate(cases)]
    declared.append({"name": "valid", "args": base_policy()})
    project.declare(declared)

    emu.reset_counters()
    started = time.monotonic()
    preview = project.run("preview", check=False)
    seconds = time.monotonic() - started

    assert preview.returncode != 0
    assert_no_traceback(preview)
    lines = error_lines(preview)
    missing = []
    for i, case in enumerate(cases):
        expected = f"AppleDevicePolicy 'bad-{i:03d}': {case.expected_path}: "
        if not any(expected in line for line in lines):
            missing.append((expected, case.value))
    assert not missing, f"{len(missing)} not named: {missing[:5]}\n{preview.output[-3000:]}"
    assert not [line for line in lines if "'valid'" in line], "a valid policy is not rejected"
    assert emu.counters()["total"] == 0, "nothing reaches the service"
    record(
        "bad_input_one_preview",
        {
            "invalid_policies": len(cases),
            "generated": GENERATED,
            "hand_picked": len(HAND_PICKED),
            "kinds": dict(Counter(c.kind for c in cases)),
            "named_with_field_path": len(cases) - len(missing),
            "error_lines": len(lines),
            "requests_to_emulator": 0,
            "preview_seconds": round(seconds, 1),
            "example": next(line for line in lines if "bad-000" in line),
        },
    )


SAMPLE = (
    Case("enum", ("applications", 0, "managementFlags"), 3, "applications[0].managementFlags"),
    Case("too long", ("scripts", 0, "description"), "x" * 501, "scripts[0].description"),
    Case("unknown", ("agentConfiguration", "allowCamera"), True, "agentConfiguration.allowCamera"),
    Case("range", ("segmentId",), -7, "segmentId"),
)


def test_sample_rejected_one_by_one_by_the_providers_check(
    emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    project = make_project(emu, program=PROGRAM)
    emu.reset_counters()
    seen = {}
    for case in SAMPLE:
        project.declare([{"name": "sample", "args": case.args(), "as_outputs": True}])
        preview = project.run("preview", check=False)
        assert preview.returncode != 0
        assert_no_traceback(preview)
        line = next((x for x in error_lines(preview) if case.expected_path in x), None)
        assert line is not None, preview.output[-3000:]
        assert "resource 'sample'" in line, line  # the engine's Check failure, per resource
        seen[case.expected_path] = line
    assert emu.counters()["total"] == 0
    record("bad_input_individual_previews", {"previews": len(SAMPLE), "errors": seen})


# -- in process: the same rules, many more inputs ------------------------------------------------

valid_policies = st.fixed_dictionaries(
    {
        "policyId": st.text("0123456789abcdefABCDEF", min_size=24, max_size=24),
        "organizationId": st.sampled_from(["acme-corp", "abc", "698f41b2457fafa13d088793"]),
        "name": st.text(ODD_TEXT, max_size=256),
        "profiles": st.lists(st.sampled_from(PROFILES), max_size=3, unique=True),  # no repeats
        "applications": st.lists(
            st.fixed_dictionaries(
                {"admApplication": st.sampled_from(APPS)},
                optional={
                    "managed": st.booleans(),
                    "managementFlags": st.sampled_from([0, 1, 4, 5, 5.0]),
                    "action": st.sampled_from(["forceInstall", "available", "requiredForSetup"]),
                    "configuration": st.dictionaries(
                        st.text(max_size=5), st.integers(), max_size=2
                    ),
                },
            ),
            max_size=2,
            unique_by=lambda a: a["admApplication"],
        ),
        "scripts": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": st.sampled_from(["once", "loop", "onDemand"]),
                    "loopTime": st.one_of(st.integers(0, 10**9), st.just(3600.0)),
                    "name": st.text(ODD_TEXT, max_size=256),
                    "scope": st.sampled_from(["user", "machine"]),
                },
            ),
            max_size=2,
        ),
        "segmentId": st.one_of(st.integers(0, 10**6), st.just("1"), st.just(2.0)),
        "exposeToChildren": st.booleans(),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=invalid_cases(), policy_id=st.text("0123456789abcdef", min_size=24, max_size=24))
def test_check_names_the_field_of_any_invalid_policy(case: Case, policy_id: str) -> None:
    failures = AppleDevicePolicyProvider().check({}, case.args(policy_id)).failures
    assert case.expected_path in [f.property for f in failures], (case, failures)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(policy=valid_policies)
def test_check_accepts_valid_policies(policy: dict[str, Any]) -> None:
    assert AppleDevicePolicyProvider().check({}, policy).failures == []


# -- policy files ------------------------------------------------------------------------------

POLICY_SET_PROGRAM = """
from applivery_pulumi.dynamic.components import PolicySet

PolicySet("fleet", {folder!r})
"""


def _alias_bomb(policy_id: str) -> str:
    lines = [f"policyId: {policy_id}", "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level, prev in zip("bcdefghi", "abcdefgh", strict=True):
        lines.append(f"{level}: &{level} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_bad_policy_files_are_each_named_at_preview(
    tmp_path: Path, emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    twin = new_object_id()
    files: dict[str, tuple[bytes, str]] = {
        # file name: (content, what the error must say besides the file name)
        "syntax.yaml": (b"policyId: [unclosed\n", "not a readable YAML file"),
        "list.yaml": (b"- policyId\n- name\n", "must hold a mapping"),
        "empty.yaml": (b"", "must hold a mapping"),
        "binary.yaml": (b"\xff\xfe\x00name: x\n", "not a readable YAML file"),
        "range.yaml": (f"policyId: {new_object_id()}\nsegmentId: -1\n".encode(), "segmentId:"),
        "enum.yaml": (
            f"policyId: {new_object_id()}\napplications:\n"
            f"  - {{admApplication: {APPS[0]}, managementFlags: 3}}\n".encode(),
            "applications[0].managementFlags:",
        ),
        "unknown.yaml": (f"policyId: {new_object_id()}\ncolour: red\n".encode(), "colour:"),
        "badid.yaml": (b"policyId: 698f41b2457fafa13d08879z\n", "policyId:"),
        "placeholder.yaml": (
            f"policyId: {new_object_id()}\nname: ${{nothing}}\n".encode(),
            "${nothing} has no value",
        ),
        "import.yaml": (f"policyId: {new_object_id()}\nimport: 'yes'\n".encode(), "import:"),
        "surrogate.yaml": (f'policyId: {new_object_id()}\nname: "a\\ud800"\n'.encode(), "name:"),
        "twin-a.yaml": (f"policyId: {twin}\nname: A\n".encode(), ""),
        "twin-b.yaml": (f"policyId: {twin}\nname: B\n".encode(), "already managed by"),
        # 9 levels of 9 aliases: ran preview out of time and memory before aliases were refused
        "bomb.yaml": (_alias_bomb(new_object_id()).encode(), "aliases (*name) are not allowed"),
        "duplicate.yaml": (
            f"policyId: {new_object_id()}\nname: A\nname: B\n".encode(),
            "duplicate key 'name'",
        ),
        "outside.yaml": (b"", "symbolic link leading outside its folder"),
    }
    for name, (content, _) in files.items():
        (folder / name).write_bytes(content)
    (folder / "outside.yaml").unlink()
    (tmp_path / "secret.yaml").write_text(f"policyId: {new_object_id()}\nname: Out\n")
    (folder / "outside.yaml").symlink_to(tmp_path / "secret.yaml")
    (folder / "good.yaml").write_text(f"policyId: {new_object_id()}\nname: Fine\n")

    project = make_project(emu, program=POLICY_SET_PROGRAM.format(folder=str(folder)))
    emu.reset_counters()
    preview = project.run("preview", check=False)
    assert preview.returncode != 0
    assert_no_traceback(preview)
    text = preview.output
    unnamed = [
        name
        for name, (_, phrase) in files.items()
        if phrase and not any(str(folder / name) in ln and phrase in ln for ln in text.splitlines())
    ]
    assert not unnamed, f"not named: {unnamed}\n{text[-4000:]}"
    assert str(folder / "good.yaml") not in text
    assert emu.counters()["total"] == 0
    record(
        "bad_input_policy_files",
        {
            "bad_files": len(files) - 1,
            "named": len(files) - 1 - len(unnamed),
            "requests_to_emulator": 0,
            "messages": [ln.strip() for ln in text.splitlines() if str(folder) in ln][:20],
        },
    )


def test_generated_cases_are_stable() -> None:
    # derandomized: the same 60 cases on every run, so a failure replays
    first = [c.key for c in generated_cases(GENERATED)]
    assert first == [c.key for c in generated_cases(GENERATED)]
    assert json.dumps(first)  # serializable, as resources.json needs


# -- the provider plugin -----------------------------------------------------------------------

# The engine stops a preview at the first resource its provider's Check refuses: each case needs
# a preview of its own.  They run side by side, two YAML and two native projects, each case
# through one of them (alternately), so the catalogue passes once through each program kind.
WORKERS = ("yaml", "native", "yaml", "native")


def _expressible(case: Case) -> bool:
    """Whether a program can hand the value to the plugin at all: a lone surrogate is no UTF-8,
    which neither a YAML file nor the engine's protocol (protobuf strings) can carry."""
    try:
        json.dumps(case.args(), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _names_the_field(output: str, path: str) -> bool:
    """An error names the field: the plugin's Check by its path (``property <field> value …
    has a problem``, ``<nested.path>: …``); the YAML host's type check, which stops a YAML
    program before the plugin sees it, by its name (``Property <name> does not exist on …``,
    ``<name>: Cannot assign …``) under the line of ``Pulumi.yaml`` that holds it."""
    field = re.escape(path)
    if re.search(rf"(property {field} value |(^|[\s'\"]){field}: )", output, re.M):
        return True
    name = re.escape(re.sub(r"(\[\d+\])+$", "", path).rsplit(".", 1)[-1])
    return "on Pulumi.yaml line" in output and bool(
        re.search(rf"(Property {name} does not exist on |^\s*{name}: Cannot assign )", output, re.M)
    )


def test_the_plugin_rejects_every_invalid_policy_at_preview_naming_the_field(
    emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    catalogue = generated_cases(GENERATED) + list(HAND_PICKED)
    cases = [c for c in catalogue if _expressible(c)]
    projects = [project_of(kind, make_project, emu) for kind in WORKERS]
    emu.reset_counters()

    def preview(worker: int) -> list[tuple[str, Case, str]]:
        project, unnamed = projects[worker], []
        for case in cases[worker :: len(WORKERS)]:
            project.declare([{"name": "bad", "args": case.args()}])
            result = project.run("preview", check=False)
            if (
                result.returncode == 0
                or "Traceback" in result.output
                or not _names_the_field(result.output, case.expected_path)
            ):
                unnamed.append((WORKERS[worker], case, result.output[-1500:]))
        return unnamed

    started = time.monotonic()
    with ThreadPoolExecutor(len(WORKERS)) as pool:
        unnamed = [found for part in pool.map(preview, range(len(WORKERS))) for found in part]
    seconds = time.monotonic() - started
    assert not unnamed, (
        f"{len(unnamed)} not named: {[(w, c.expected_path, c.value) for w, c, _ in unnamed]}\n"
        + "\n---\n".join(out for _, _, out in unnamed[:3])
    )
    assert emu.counters()["total"] == 0, "nothing reaches the service"
    record(
        "bad_input_plugin",
        {
            "invalid_policies": len(cases),
            "previews": dict(Counter(WORKERS[i % len(WORKERS)] for i in range(len(cases)))),
            "left_out_lone_surrogates": len(catalogue) - len(cases),
            "named_with_field_path": len(cases) - len(unnamed),
            "requests_to_emulator": 0,
            "seconds": round(seconds, 1),
        },
    )
