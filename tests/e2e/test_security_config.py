"""End to end: the token and the base URL as a user sets them (issue 13).

A token rotated in APPLIVERY_API_TOKEN reaches refresh and destroy although state keeps the old
one in the default provider's inputs; a token or base URL refused at configuration is named, and
its value never shows in the output.  The real CLI and emulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.emulator import Emulator, new_object_id
from harness.project import PulumiProject

pytestmark = pytest.mark.e2e


def default_provider_inputs(project: PulumiProject) -> dict[str, Any]:
    """The default dynamic provider's inputs in state (its outputs must be the same)."""
    for resource in project.state()["deployment"]["resources"]:
        if resource["type"] == "pulumi:providers:pulumi-python":
            assert resource["outputs"].keys() == resource["inputs"].keys()
            return dict(resource["inputs"])
    raise AssertionError("no default provider in state")


def test_a_token_rotated_in_the_environment_reaches_refresh_and_destroy(
    tmp_path: Path, emu: Emulator
) -> None:
    policy = emu.create_policy(name="Before adoption")
    token_a = emu.token
    project = PulumiProject(tmp_path / "project", emu)  # applivery:apiToken = token A
    args = {"policyId": policy["id"], "name": "Adopted", "restoreOnDelete": True}
    project.declare([{"name": "rotated", "args": args}])
    project.run("up", "--yes")
    assert emu.get_policy(policy["id"])["name"] == "Adopted"

    # The service now accepts token B only.
    token_b = "tokB-" + new_object_id()
    emu.token = token_b
    emu.restart()
    rotated = {"APPLIVERY_API_TOKEN": token_b}

    # refresh and destroy run no program: the engine configures the provider from the stack
    # config stored in state, token A.  Without B in the environment, refresh fails...
    stale = project.run("refresh", "--yes", check=False)
    assert stale.returncode != 0 and "4004" in stale.output
    # ... with it, every command uses B.
    project.run("refresh", "--yes", "--expect-no-changes", extra_env=rotated)
    project.run("preview", "--expect-no-changes", extra_env=rotated)

    # Where the config token is kept: encrypted in the default provider's inputs.  Removing it
    # from the stack config and running up takes it out of the current state.
    stored = default_provider_inputs(project)["applivery:apiToken"]
    assert "ciphertext" in stored and token_a not in str(stored)
    project.run("config", "rm", "applivery:apiToken")
    project.run("up", "--yes", "--expect-no-changes", extra_env=rotated)
    assert "applivery:apiToken" not in default_provider_inputs(project)
    history = project.dir / "state" / ".pulumi" / "history"
    kept = [f for f in history.rglob("*.checkpoint.json") if "applivery:apiToken" in f.read_text()]
    assert kept, "the checkpoints of earlier updates keep theirs (README says so)"

    project.run("destroy", "--yes", extra_env=rotated)
    assert emu.get_policy(policy["id"])["name"] == "Before adoption", "restored with token B"
    assert token_b not in emu.log_text()


# -- 3 and 9. values refused at configuration -------------------------------------------------


HEAD, TAIL = "tokHEAD" + new_object_id(), "tokTAIL" + new_object_id()


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("config", f"{HEAD}\r\n{TAIL}", "applivery:apiToken"),
        ("config", f"{HEAD}\x00{TAIL}", "applivery:apiToken"),
        ("env", f"{HEAD}\n{TAIL}", "APPLIVERY_API_TOKEN"),
        ("baseUrl", f"http://{HEAD}:{TAIL}@127.0.0.1:{{port}}", "applivery:baseUrl"),
    ],
    ids=["token-crlf-config", "token-nul-config", "token-lf-env", "base-url-credentials"],
)
def test_a_refused_setting_is_named_and_its_value_never_shown(
    tmp_path: Path, emu: Emulator, setting: str, value: str, named: str
) -> None:
    policy = emu.create_policy(name="Untouched")
    project = PulumiProject(tmp_path / "project", emu)
    project.declare([{"name": "p", "args": {"policyId": policy["id"], "name": "Changed"}}])
    extra: dict[str, str] = {}
    if setting == "config":
        project.config_set("applivery:apiToken", value, secret=True)
    elif setting == "env":
        extra["APPLIVERY_API_TOKEN"] = value
    else:
        project.config_set("applivery:baseUrl", value.format(port=emu.port))
    for command in (("preview",), ("up", "--yes")):
        result = project.run(*command, check=False, extra_env=extra)
        assert result.returncode != 0
        assert named in result.output, result.output[-3000:]
        assert HEAD not in result.output and TAIL not in result.output
    assert emu.get_policy(policy["id"])["name"] == "Untouched"
    assert HEAD not in emu.log_text()


# -- 23.1 the token only over TLS --------------------------------------------------------------

# TEST-NET-3: routed nowhere, so an old provider would hang on it rather than reach a server.
REMOTE_PLAIN_HTTP = "http://203.0.113.7:8080"
REFUSAL = "must start with https://, or http:// to this machine only"


@pytest.mark.parametrize(
    ("source", "named"),
    [("config", "applivery:baseUrl"), ("env", "APPLIVERY_BASE_URL")],
    ids=["stack-config", "environment"],
)
def test_a_plain_http_base_url_to_another_host_fails_before_any_request(
    tmp_path: Path, emu: Emulator, source: str, named: str
) -> None:
    policy = emu.create_policy(name="Untouched")
    project = PulumiProject(tmp_path / "project", emu)
    project.declare([{"name": "p", "args": {"policyId": policy["id"], "name": "Changed"}}])
    # The token from the environment wins over config: the one CI holds is the one at stake.
    extra = {"APPLIVERY_API_TOKEN": emu.token, "APPLIVERY_MAX_RETRY_SECONDS": "2"}
    if source == "config":
        project.config_set("applivery:baseUrl", REMOTE_PLAIN_HTTP)
    else:
        project.run("config", "rm", "applivery:baseUrl")
        extra["APPLIVERY_BASE_URL"] = REMOTE_PLAIN_HTTP
    emu.reset_counters()
    for command in (("preview",), ("up", "--yes")):
        result = project.run(*command, check=False, extra_env=extra, timeout=120)
        assert result.returncode != 0
        assert f"{named} {REFUSAL}" in result.output, result.output[-3000:]
        assert emu.token not in result.output
    assert emu.counters()["total"] == 0
    assert emu.get_policy(policy["id"])["name"] == "Untouched"
