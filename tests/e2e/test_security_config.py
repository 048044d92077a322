"""End to end: the token and the base URL as a user sets them (issue 13).

A token rotated in APPLIVERY_API_TOKEN reaches refresh and destroy although state keeps the old
one in the default provider's inputs; a token or base URL refused at configuration is named, and
its value never shows in the output.  The real CLI and emulator, under both launchers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulator_harness import Emulator, new_object_id
from tests.pulumi_harness import PulumiProject

pytestmark = pytest.mark.e2e


def test_a_token_rotated_in_the_environment_reaches_refresh_and_destroy(
    tmp_path: Path, emu: Emulator
) -> None:
    policy = emu.create_policy(name="Before adoption")
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
    # config stored in state, token A.  Without B in the environment they fail...
    stale = project.run("refresh", "--yes", check=False)
    assert stale.returncode != 0 and "4004" in stale.output
    # ... with it, every command uses B.
    project.run("refresh", "--yes", "--expect-no-changes", extra_env=rotated)
    project.run("preview", "--expect-no-changes", extra_env=rotated)
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
