"""``applivery-pulumi export --skip-managed``: the policies a stack's state manages are left out,
and each policy gets a line saying whether its file is new or which resource manages it."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from applivery_pulumi.api.errors import ConfigurationError
from applivery_pulumi.cli import managed
from applivery_pulumi.cli.managed import DYNAMIC_TYPE, managed_policies, stack_state

from .test_export import ORG, doc, export, policy_ids  # noqa: F401 (export: the fixture)
from .test_layout import STORED_BEFORE_THE_MOVE

PLUGIN_ID, DYNAMIC_ID, OLD_ID, NEW_ID = (f"{c * 18}{i:06d}" for i, c in enumerate("abcd"))
LOOKED_UP, DELETED, FOREIGN, OTHER_ORG = (f"{c * 18}{i:06d}" for i, c in enumerate("efab", 4))


def resource(kind: str, label: str, /, **outputs: Any) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:dev::stacks::{kind}::{label}", "type": kind, "outputs": outputs}


def state(*resources: dict[str, Any]) -> bytes:
    deployment = {"manifest": {}, "resources": list(resources)}
    return json.dumps({"version": 3, "deployment": deployment}).encode()


OURS = "applivery:index:AppleDevicePolicy"
UNTYPED = "pulumi-python:dynamic:Resource"
STATE = state(
    resource("pulumi:pulumi:Stack", "stacks-dev"),
    resource("pulumi:providers:applivery", "default", organizationId=ORG),
    resource(OURS, "corp", organizationId=ORG, policyId=PLUGIN_ID, name="Corp"),
    resource(DYNAMIC_TYPE, "kiosk", organizationId=ORG, policyId=DYNAMIC_ID.upper()),
    # Written before the dynamic resource had a type: recognised by its provider.
    resource(UNTYPED, "old", policyId=OLD_ID, __provider=STORED_BEFORE_THE_MOVE),
    resource(UNTYPED, "theirs", policyId=FOREIGN, __provider=base64.b64encode(b"x").decode()),
    resource(OURS, "seen", organizationId=ORG, policyId=LOOKED_UP) | {"external": True},
    resource(OURS, "going", organizationId=ORG, policyId=DELETED) | {"delete": True},
    resource("other:index:AppleDevicePolicy", "lookalike", organizationId=ORG, policyId=FOREIGN),
    resource(OURS, "elsewhere", organizationId="globex", policyId=OTHER_ORG),
    resource(OURS, "broken", organizationId=ORG, policyId="not-an-id"),
)


def test_the_policies_a_state_manages_are_its_policy_resources() -> None:
    assert managed_policies(STATE, "dev") == {
        (ORG, PLUGIN_ID): "corp",
        (ORG, DYNAMIC_ID): "kiosk",  # ids compare in lower case, as the service does
        (None, OLD_ID): "old",  # no organization in state: the policy of any
        ("globex", OTHER_ORG): "elsewhere",
    }


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (b"not json", "the document"),
        (b'{"deployment": {"resources": [{"urn": 1}]}}', "deployment.resources.0.urn"),
        (b"[" * 100_000, "the document"),
    ],
)
def test_a_state_that_is_not_one_is_refused_naming_the_stack(text: bytes, where: str) -> None:
    with pytest.raises(ConfigurationError, match=r"the state of stack dev is not a Pulumi state"):
        managed_policies(text, "dev")
    with pytest.raises(ConfigurationError) as caught:
        managed_policies(text, "dev")
    assert where in str(caught.value)


def test_export_leaves_out_what_the_stack_manages_and_says_so_per_policy(
    export: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str | None] = []

    def exported(stack: str | None) -> bytes:
        asked.append(stack)
        return STATE

    monkeypatch.setattr(managed, "stack_state", exported)
    out = tmp_path / "policies"
    documents = [doc(PLUGIN_ID, "Corp"), doc(DYNAMIC_ID, "Kiosk"), doc(OLD_ID, "Old")]
    documents += [doc(NEW_ID, "New"), doc(LOOKED_UP, "Seen"), doc(OTHER_ORG, "Same id")]
    run = export(documents, "--skip-managed")
    assert run.status == 0 and asked == [None]
    # A looked-up policy is not managed; the one of another organization is another policy.
    assert policy_ids(out) == sorted([NEW_ID, LOOKED_UP, OTHER_ORG])
    assert "wrote 3 policy file(s)" in run.out and "left out 3 already managed" in run.out
    lines = run.err.splitlines()
    for policy_id, owner in ((PLUGIN_ID, "corp"), (DYNAMIC_ID, "kiosk"), (OLD_ID, "old")):
        expected = f"managed: policy {policy_id}: resource {owner} of stack (the selected stack)"
        assert any(line.startswith(expected) for line in lines), run.err
    [new] = [line for line in lines if line.startswith(f"new: policy {NEW_ID}: ")]
    assert str(out / f"new-{NEW_ID[-6:]}.yaml") in new and "not managed" in new

    # Again, with the earlier export in place and --stack: kept files are named as not managed.
    asked.clear()
    again = export(documents, "--stack", "dev", "--stack", "acme/stacks/prod")
    assert asked == ["dev", "acme/stacks/prod"]
    assert "wrote 0 policy file(s)" in again.out and "kept 3 existing" in again.out
    assert f"new: policy {NEW_ID}: {out}" in again.err and "(exported before, kept)" in again.err


def test_without_the_option_no_stack_is_read(
    export: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def exported(stack: str | None) -> bytes:
        raise AssertionError("read a stack")

    monkeypatch.setattr(managed, "stack_state", exported)
    run = export([doc(PLUGIN_ID, "Corp")])
    assert run.status == 0 and "wrote 1 policy file(s)" in run.out
    assert "left out" not in run.out and "managed:" not in run.err


def _fake_pulumi(folder: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder.mkdir()
    path = folder / "pulumi"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_the_state_is_pulumis_stack_export_of_the_stack_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "state.json").write_bytes(STATE)
    script = f'echo "$@" > {tmp_path}/argv\ncat {tmp_path}/state.json\n'
    _fake_pulumi(tmp_path / "bin", script, monkeypatch)
    assert stack_state("acme/stacks/prod") == STATE
    assert (tmp_path / "argv").read_text().split() == [
        "stack",
        "export",
        "--stack=acme/stacks/prod",
    ]
    assert stack_state(None) == STATE
    assert (tmp_path / "argv").read_text().split() == ["stack", "export"]


def test_pulumis_failure_and_a_state_too_long_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = "echo \"error: no stack named 'nope' found\" >&2\nexit 255\n"
    _fake_pulumi(tmp_path / "bin", script, monkeypatch)
    with pytest.raises(ConfigurationError, match=r"failed: error: no stack named 'nope' found"):
        stack_state("nope")
    with pytest.raises(ConfigurationError, match=r"is not a stack name"):
        stack_state("--show-secrets")

    monkeypatch.setattr(managed, "MAX_STATE_BYTES", 1000)
    (tmp_path / "bin" / "pulumi").write_text("#!/bin/sh\nyes '{}' | head -c 5000\n")
    with pytest.raises(ConfigurationError, match=r"printed more than"):
        stack_state(None)
