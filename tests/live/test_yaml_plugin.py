"""A Pulumi YAML program through the provider plugin: adopt, `pulumi import` of a second policy
(a read, no write), a no-op preview of both, and a wrong token failing in one sentence."""

from __future__ import annotations

import json
import re

import pytest

from applivery_pulumi.api.settings import KEYS
from applivery_pulumi.policy.normalize import document_to_state
from tests.live.conftest import Live

pytestmark = pytest.mark.live

RESOURCE = "applivery:index:AppleDevicePolicy"


def declared(name: str, policy_id: str, body: str) -> str:
    text = f"  {name}:\n    type: {RESOURCE}\n    properties:\n      policyId: {policy_id}\n"
    return text + "".join(f"      {line}\n" for line in body.splitlines())


def test_yaml_adopts_imports_previews_nothing_and_refuses_a_wrong_token(live: Live) -> None:
    adopted, imported = live.target.second, live.target.first
    profiles = document_to_state(live.stored(adopted)).get("profiles", [])
    name = f"live {live.run_id} yaml"
    # Only what the policy holds: declaring [] would write an empty list.
    listed = f"\nprofiles: {json.dumps(profiles)}" if profiles else ""
    program = "resources:\n" + declared("adopted", adopted, f"name: {name}{listed}")
    project = live.project("live-yaml", program, runtime="yaml")

    window = live.proxy.window()
    project.run("up", "--yes", "--skip-preview")
    assert window.count("PUT", adopted) == 1 and window.writes() == 1
    assert live.stored(adopted)["name"] == name

    org = live.target.organization
    window = live.proxy.window()
    project.run(
        "import", RESOURCE, "imported", f"{org}/{imported}",
        "--yes", "--skip-preview", "--generate-code=false",
    )  # fmt: skip
    assert window.count("GET", imported) == 1 and window.writes() == 0
    stored = live.stored(imported)["name"]

    # Both declared, the profiles in another order: nothing to do, nothing sent.
    body = f"name: {name}" + (f"\nprofiles: {json.dumps(profiles[::-1])}" if profiles else "")
    project.set_program(
        "resources:\n"
        + declared("adopted", adopted, body)
        + declared("imported", imported, f"name: {json.dumps(stored)}")
    )
    window = live.proxy.window()
    project.run("preview", "--diff", "--expect-no-changes")
    assert window.writes() == 0

    wrong = "not-the-token-" + live.run_id
    refused = project.run(
        "refresh", "--yes", "--skip-preview", check=False,
        extra_env={KEYS["api_token"].env: wrong},
    )  # fmt: skip
    assert refused.returncode != 0
    sentence = re.search(
        rf"error: Applivery refused policy [0-9a-f]{{24}} of organization {org} \(401[^)]*\): "
        r"the service rejected the API token; check applivery:apiToken[^\n]*",
        refused.output,
    )
    assert sentence, refused.output
    assert "Traceback" not in refused.output and 'File "' not in refused.output
    assert wrong not in refused.output
