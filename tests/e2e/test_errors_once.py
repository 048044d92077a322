"""End to end: each error is said once and blamed on the right thing (issue 24, points 3 to 5).

A wrong token on a stack of policies: the whole sentence once, the other failures a short
reference to it, and no request after the first refusal (on either host).  A bad property beside
a lookup in a YAML program: the bad property is the only error.  An explicit provider's wrong
token: the sentence names that provider and its ``apiToken``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.emulator import Emulator
from harness.project import PulumiProject, assert_short_errors
from tests.e2e.test_native_plugin import (
    assert_no_traceback,
    policy_yaml,
    requests,
    two_accounts_program,
    yaml_project,
)

pytestmark = pytest.mark.e2e

POLICIES = 10
FULL_ADVICE = "the service rejected the API token; check applivery:apiToken"
SHORT = "the first call in this run already failed: the service rejected the API token (401, 4004"
# The SDK's dynamic-provider host serves four operations at a time.
HOST_THREADS = 4


def diagnostics(output: str) -> str:
    """The CLI's summary of the errors, one entry per failed resource (progress lines repeat
    each error as it happens)."""
    return output.rsplit("\nDiagnostics:", 1)[1]


def _assert_said_once(output: str) -> None:
    summary = diagnostics(output)
    assert summary.count(FULL_ADVICE) == 1, summary
    failed = len(re.findall(r"AppleDevicePolicy \(p\d+\):", summary))
    assert failed >= 2, "more than one policy failed, so that one error could be repeated"
    assert summary.count(SHORT) == failed - 1, summary


def test_a_wrong_token_on_a_stack_of_policies_is_said_once(tmp_path: Path, emu: Emulator) -> None:
    ids = [emu.create_policy(name=f"Draft {i}")["id"] for i in range(POLICIES)]
    project = PulumiProject(tmp_path / "project", emu, token="not-the-token")
    project.declare(
        [{"name": f"p{i}", "args": {"policyId": p, "name": "Corp"}} for i, p in enumerate(ids)]
    )
    emu.reset_counters()
    # Every policy handed to the host at once: those it serves after the first refusal send
    # nothing.
    up = project.run("up", "--yes", "--skip-preview", f"--parallel={POLICIES}", check=False)
    assert up.returncode != 0
    assert 1 <= emu.counters()["total"] <= HOST_THREADS, emu.counters()
    _assert_said_once(up.output)
    assert_short_errors(up.output)


def test_a_wrong_token_on_a_yaml_stack_is_said_once(tmp_path: Path, emu: Emulator) -> None:
    ids = [emu.create_policy(name=f"Draft {i}")["id"] for i in range(POLICIES)]
    program = "resources:\n" + "".join(
        policy_yaml(f"p{i}", p, "name: Corp") for i, p in enumerate(ids)
    )
    project = yaml_project(tmp_path, emu, program, token="not-the-token")
    emu.reset_counters()
    up = project.run("up", "--yes", "--skip-preview", f"--parallel={POLICIES}", check=False)
    assert up.returncode != 0
    assert 1 <= emu.counters()["total"] <= POLICIES
    _assert_said_once(up.output)
    assert_no_traceback(up.output)


def test_a_bad_property_beside_a_lookup_is_the_only_error(tmp_path: Path, emu: Emulator) -> None:
    kiosk, engineering = (emu.create_policy(name=n)["id"] for n in ("Kiosk", "Engineering"))
    program = (
        "resources:\n"
        + policy_yaml("kiosk", kiosk, "name: Kiosk\nscripts:\n  - type: sometimes\n")
        + "variables:\n  engineering:\n    fn::invoke:\n"
        "      function: applivery:index:getAppleDevicePolicy\n"
        f"      arguments: {{policyId: {engineering}}}\n"
    )
    project = yaml_project(tmp_path, emu, program)
    for command in (("preview",), ("up", "--yes", "--skip-preview")):
        result = project.run(*command, check=False)
        assert result.returncode != 0
        assert "scripts[0].type: Input should be 'once', 'loop' or 'onDemand'" in result.output
        for blamed in ("getAppleDevicePolicy returned an error", "connection is closing"):
            assert blamed not in result.output, result.output
        assert "no diagnostics" not in result.output
        summary = diagnostics(result.output)
        assert summary.count("error: ") == 1, summary
    assert requests(emu)[1] == 0


def test_an_explicit_providers_wrong_token_is_named_by_that_provider(
    tmp_path: Path, accounts: dict[str, Emulator]
) -> None:
    program = two_accounts_program()
    project = yaml_project(tmp_path, None, program)
    for tenant, emu in accounts.items():
        token = emu.token if tenant == "acme" else "not-globex-token"
        project.config_set(f"{tenant}Token", token, secret=True)
        project.config_set(f"{tenant}Url", emu.base_url)
        project.config_set(f"{tenant}Policy", emu.create_policy(name="Draft")["id"])
    up = project.run("up", "--yes", "--skip-preview", check=False)
    assert up.returncode != 0
    assert (
        "(401, 4004 Invalid Token): the service rejected the API token; check the apiToken of "
        "provider globex"
    ) in up.output, up.output
    assert "APPLIVERY_API_TOKEN" not in up.output and "applivery:apiToken" not in up.output
    assert "provider acme" not in up.output
