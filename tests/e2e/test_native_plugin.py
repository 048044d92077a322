"""End to end: the provider plugin ``pulumi-resource-applivery`` on the real CLI and emulator.

YAML programs run on the official YAML language host (``scripts/bootstrap-yaml``), Python
programs on ``applivery_pulumi.native``; the engine takes the plugin from the plugin cache,
where the harness installs it as ``scripts/setup`` does, and so warns of no plugin on ``PATH``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from applivery_emulator.seed import example_seed_path
from applivery_pulumi.lifecycle import RELEASED
from applivery_pulumi.text import version
from harness.emulator import REPO, Emulator, new_object_id, start_emulator
from harness.project import VENV, PulumiProject
from tests.e2e.test_lifecycle import PROFILE_A, PROFILE_B

pytestmark = pytest.mark.e2e

EXAMPLE = REPO / "examples" / "yaml" / "Pulumi.yaml"
SEED = example_seed_path()
CORPORATE, SALES, ENGINEERING = (f"65a1f0c2e4b0a1b2c3d4e60{i}" for i in (1, 5, 2))
RESOURCE = "applivery:index:AppleDevicePolicy"
PATH_WARNING = "using pulumi-resource-applivery from $PATH"


def requests(emu: Emulator) -> tuple[int, int]:
    """(GETs, PUTs) of the policy API since the last reset."""
    counts = emu.counters()["requests"]
    gets = sum(n for k, n in counts.items() if k.startswith("GET /v1"))
    puts = sum(n for k, n in counts.items() if k.startswith("PUT /v1"))
    return gets, puts


def assert_no_traceback(output: str) -> None:
    assert "Traceback" not in output and 'File "' not in output, output[-4000:]


def yaml_project(
    tmp_path: Path, emu: Emulator | None, program: str, **kwargs: Any
) -> PulumiProject:
    return PulumiProject(tmp_path / "project", emu, program=program, runtime="yaml", **kwargs)


def policy_yaml(name: str, policy_id: str, body: str = "", provider: str = "") -> str:
    text = f"  {name}:\n    type: {RESOURCE}\n    properties:\n      policyId: {policy_id}\n"
    text += "".join(f"      {line}\n" for line in body.strip("\n").splitlines())
    if provider:
        text += f"    options:\n      provider: ${{{provider}}}\n"
    return text


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Emulator]:
    """An emulator with the example seed (organization acme-corp, the example's policies)."""
    with start_emulator(
        tmp_path / "emulator", token="marker-" + new_object_id(), seed=SEED, create_org=False
    ) as emu:
        yield emu


# -- the example YAML stack --------------------------------------------------------------------


def test_the_yaml_example_adopts_shows_drift_and_restores(tmp_path: Path, seeded: Emulator) -> None:
    emu = seeded
    project = yaml_project(tmp_path, emu, EXAMPLE.read_text(), name="applivery-yaml")
    before_sales = emu.get_policy(SALES)

    emu.reset_counters()
    up = project.run("up", "--yes", "--skip-preview")
    assert PATH_WARNING not in up.output, "the plugin came from the plugin cache"
    # two adoptions (PUT), the pre-adoption record of sales and the lookup (GET)
    assert requests(emu) == (2, 2)
    corporate = emu.get_policy(CORPORATE)
    assert corporate["name"] == "Corporate Security Policy - iOS"
    assert corporate["agentConfiguration"]["allowLocation"] is True
    # A declared top-level field is sent whole: the seed's allowPackageTime is reset.
    assert corporate["agentConfiguration"]["allowPackageTime"] is False
    assert corporate["bookmarks"], "an undeclared field is left as it was"
    outputs = json.loads(project.run("stack", "output", "--json").stdout)
    assert outputs["salesNameBeforeAdoption"] == "Sales Team Devices"
    assert outputs["engineeringName"] == "Engineering Macs"
    assert outputs["corporateVersion"] == corporate["version"]

    emu.reset_counters()
    project.run("preview", "--expect-no-changes")
    assert requests(emu) == (1, 0), "a no-op preview: the lookup's GET, no write"

    emu.edit_policy(
        CORPORATE,
        name="Renamed in dashboard",
        agentConfiguration={"allowLocation": False, "allowPackageTime": True},
    )
    emu.reset_counters()
    project.run("refresh", "--yes", "--skip-preview")
    assert requests(emu) == (2, 0), "a refresh reads each policy once"
    preview = project.run("preview", "--diff")
    assert re.search(
        r'~ name\s*: "Renamed in dashboard" => "Corporate Security Policy - iOS"', preview.output
    ), preview.output
    assert re.search(r"~ allowLocation\s*: false => true", preview.output), preview.output
    assert "allowPackageTime" not in preview.output, "an undeclared field is never shown"

    emu.reset_counters()
    project.run("up", "--yes", "--skip-preview")
    assert requests(emu)[1] == 1
    assert emu.get_policy(CORPORATE)["name"] == "Corporate Security Policy - iOS"
    project.run("refresh", "--yes", "--expect-no-changes")
    project.run("preview", "--expect-no-changes")

    emu.reset_counters()
    project.run("destroy", "--yes", "--skip-preview")
    assert requests(emu) == (0, 1), "destroy releases corporate-ios and restores sales"
    after_sales = emu.get_policy(SALES)
    assert after_sales["name"] == before_sales["name"]
    assert after_sales["bookmarks"] == before_sales["bookmarks"]
    assert emu.get_policy(CORPORATE)["name"] == "Corporate Security Policy - iOS"

    state = json.dumps(project.state())
    assert emu.token not in state


# -- pulumi import -----------------------------------------------------------------------------


def test_cli_import_reads_without_writing_then_preview_is_empty(
    tmp_path: Path, emu: Emulator
) -> None:
    stored = emu.create_policy(
        name="Dashboard policy", profiles=[PROFILE_A, PROFILE_B], segmentId=2
    )
    other = emu.create_policy(name="Second")
    project = yaml_project(tmp_path, emu, "resources: {}\n")

    emu.reset_counters()
    project.run(
        "import", RESOURCE, "corp", f"{emu.org}/{stored['id']}",
        "--yes", "--skip-preview", "--generate-code=false",
    )  # fmt: skip
    assert requests(emu) == (1, 0)
    project.run(
        "import", RESOURCE, "second", other["id"],  # the organization from applivery:organizationId
        "--yes", "--skip-preview", "--generate-code=false",
    )  # fmt: skip
    assert requests(emu) == (2, 0)
    outputs = project.resource_outputs("corp")
    assert outputs["preAdoption"]["name"] == "Dashboard policy"
    assert outputs["segmentId"] == 2

    # The program now declares what is stored (a part of it, in another order): nothing to do.
    project.set_program(
        "resources:\n"
        + policy_yaml(
            "corp",
            stored["id"],
            f"name: Dashboard policy\nprofiles: [{PROFILE_B}, {PROFILE_A}]\nsegmentId: 2",
        )
        + policy_yaml("second", other["id"], "name: Second")
    )
    emu.reset_counters()
    project.run("preview", "--diff", "--expect-no-changes")
    project.run("up", "--yes", "--expect-no-changes")
    assert requests(emu) == (0, 0)
    assert emu.get_policy(stored["id"])["version"] == stored["version"]


# -- bad input, errors, secrets ----------------------------------------------------------------


def test_destroy_says_once_that_nothing_was_deleted_in_applivery(
    tmp_path: Path, emu: Emulator
) -> None:
    kept, restored = emu.create_policy(name="Kept"), emu.create_policy(name="Restored")
    program = "resources:\n" + "".join(
        [
            policy_yaml("first", kept["id"], "name: Managed first"),
            policy_yaml("second", restored["id"], "name: Managed second\nrestoreOnDelete: true"),
        ]
    )
    project = yaml_project(tmp_path, emu, program)
    project.run("up", "--yes", "--skip-preview")
    emu.reset_counters()

    destroyed = project.run("destroy", "--yes", "--skip-preview", "--json")
    assert [m.strip() for m in destroyed.diagnostics if RELEASED in m] == [RELEASED]
    assert requests(emu) == (0, 1), "the restore's PUT, no delete (the API has none)"
    assert emu.get_policy(kept["id"])["name"] == "Managed first"
    assert emu.get_policy(restored["id"])["name"] == "Restored"


def test_a_preview_of_an_update_knows_what_the_update_keeps(tmp_path: Path, emu: Emulator) -> None:
    adopted, other = emu.create_policy(name="Draft"), emu.create_policy(name="Other")

    def program(name: str) -> str:
        copied = 'name: "Was ${corp.preAdoption.name}, since ${corp.createdAt}"'
        return "resources:\n" + "".join(
            [
                policy_yaml("corp", adopted["id"], f"name: {name}\nrestoreOnDelete: true"),
                policy_yaml("copy", other["id"], copied),
            ]
        )

    project = yaml_project(tmp_path, emu, program("One"))
    project.run("up", "--yes", "--skip-preview")
    emu.reset_counters()

    project.set_program(program("Two"))
    preview = project.run("preview", "--diff")
    # Only corp changes: what copy reads of it (pre-adoption record, creation time) is known.
    assert "1 to update" in preview.output and "[unknown]" not in preview.output, preview.output
    assert re.search(r'~ name\s*: "One" => "Two"', preview.output), preview.output
    assert emu.counters()["total"] == 0, "a preview sends no request"
    project.run("up", "--yes", "--skip-preview")
    assert emu.get_policy(other["id"])["name"].startswith("Was Draft, since ")
    project.run("preview", "--expect-no-changes")


def test_bad_input_is_rejected_at_preview_naming_the_field(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    body = (
        "name: Kiosk\n"
        "applications:\n"
        f"  - admApplication: {PROFILE_A}\n"
        "    managementFlags: 3\n"
        "scripts:\n"
        "  - type: sometimes\n"
    )
    project = yaml_project(tmp_path, emu, "resources:\n" + policy_yaml("kiosk", policy["id"], body))
    emu.reset_counters()
    preview = project.run("preview", check=False)
    assert preview.returncode != 0
    assert "applications[0].managementFlags: Input should be 0, 1, 4 or 5 (got 3)" in preview.output
    assert re.search(
        r"scripts\[0\]\.type: Input should be 'once', 'loop' or 'onDemand'", preview.output
    )
    assert "{<nil>}" not in preview.output
    assert_no_traceback(preview.output)
    assert requests(emu) == (0, 0)

    project.set_program("resources:\n" + policy_yaml("kiosk", "not-an-id", "name: Kiosk"))
    preview = project.run("preview", check=False)
    assert re.search(
        r"property policyId value .*not-an-id.* has a problem: must be a 24-character",
        preview.output,
    ), preview.output


def test_a_wrong_token_fails_with_one_sentence_and_no_token(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    wrong = "marker-wrong-" + new_object_id()
    project = yaml_project(
        tmp_path, emu, "resources:\n" + policy_yaml("corp", policy["id"], "name: Corp"), token=wrong
    )
    up = project.run("up", "--yes", "--skip-preview", check=False)
    assert up.returncode != 0
    assert (
        f"error: Applivery refused policy {policy['id']} of organization {emu.org} "
        "(401, 4004 Invalid Token): the service rejected the API token; check applivery:apiToken"
    ) in up.output
    assert_no_traceback(up.output)
    assert wrong not in up.output and wrong not in json.dumps(project.state())


def test_a_program_outside_the_virtualenv_uses_the_installed_plugin(
    tmp_path: Path, emu: Emulator
) -> None:
    policy = emu.create_policy(name="Draft")
    program = "resources:\n" + policy_yaml("corp", policy["id"], "name: Corporate")
    project = yaml_project(tmp_path, emu, program)
    script = VENV / "bin" / "pulumi-resource-applivery"
    version = importlib.metadata.version("applivery-pulumi")
    project.run("plugin", "install", "resource", "applivery", version, "--file", str(script))
    assert re.search(
        rf"applivery\s+resource\s+{re.escape(version)}", project.run("plugin", "ls").stdout
    )

    venv_bin = str(VENV / "bin")
    path = os.pathsep.join(p for p in project.env["PATH"].split(os.pathsep) if p != venv_bin)
    up = project.run("up", "--yes", "--skip-preview", extra_env={"PATH": path})
    assert PATH_WARNING not in up.output, "the plugin came from the plugin cache"
    assert emu.get_policy(policy["id"])["name"] == "Corporate"


def test_with_the_plugin_installed_by_the_scripts_no_command_warns_of_path(
    tmp_path: Path, emu: Emulator
) -> None:
    """A user's way: scripts/setup runs scripts/install-plugin, then `. scripts/pulumi-env`."""
    policy = emu.create_policy(name="Draft")
    program = "resources:\n" + policy_yaml("corp", policy["id"], "name: Corporate")
    project = yaml_project(tmp_path, emu, program)
    # The user's environment: their own PULUMI_HOME, nothing else of Pulumi's set.
    user = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "APPLIVERY_"))}
    user["PULUMI_HOME"] = str(tmp_path / "home")
    installed = subprocess.run(
        [str(REPO / "scripts" / "install-plugin")],
        env=user,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"applivery {version()} into {tmp_path / 'home'}/plugins" in installed.stdout
    keep = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE")
    user.update({k: project.env[k] for k in keep})
    commands = ["up --yes", "preview --expect-no-changes", "refresh --yes", "destroy --yes"]
    script = f". {REPO / 'scripts' / 'pulumi-env'}\n" + "".join(
        f"pulumi {c} --stack {project.stack} --non-interactive\n" for c in commands
    )
    ran = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=project.dir,
        env=user,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-4000:]
    assert "$PATH" not in ran.stdout + ran.stderr
    assert emu.get_policy(policy["id"])["name"] == "Corporate"


def test_the_plugins_warnings_show_with_their_resource(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    body = (
        "applications:\n"
        f"  - admApplication: {PROFILE_A}\n"
        "    action: available\n"
        "    actionStatus: available-install\n"
    )
    project = yaml_project(tmp_path, emu, "resources:\n" + policy_yaml("corp", policy["id"], body))
    up = project.run("up", "--yes", "--skip-preview")
    diagnostics = up.output[up.output.index("Diagnostics:") :]
    assert re.search(
        r"AppleDevicePolicy \(corp\):\n\s+warning: applications\[0\]\.actionStatus is read-only",
        diagnostics,
    ), diagnostics


def test_the_plugin_names_a_managed_app_sent_without_flags_at_preview(
    tmp_path: Path, emu: Emulator
) -> None:
    mail, browser = new_object_id(), new_object_id()
    policy = emu.create_policy(name="Draft")["id"]

    def program(vpp: str) -> str:
        body = (
            "applications:\n"
            f"  - admApplication: {mail}\n"
            "    managed: true\n"
            f"  - admApplication: {browser}\n"
            f"    vpp: {vpp}\n"
        )
        return "resources:\n" + policy_yaml("corp", policy, body)

    def said(output: str, write: str) -> bool:
        return bool(
            re.search(
                r"AppleDevicePolicy \(corp\):\n\s+warning: "
                + re.escape(
                    f"policy {policy}: applications[0] ({mail}) is managed and declares no "
                    f"managementFlags: this {write} sends it without them, and Applivery sets "
                    "them to 5 — declare managementFlags to keep another value"
                ),
                output,
            )
        )

    project = yaml_project(tmp_path, emu, program("false"))
    adopted = project.run("up", "--yes")
    assert said(adopted.output, "adoption"), adopted.output[-3000:]
    quiet = project.run("preview", "--expect-no-changes")
    assert "managementFlags" not in quiet.output, quiet.output

    project.set_program(program("true"))
    preview = project.run("preview")
    assert "1 to update" in preview.output
    assert said(preview.output, "update"), preview.output[-3000:]
    # --diff shows the one edit, and the sentence (not under the resource there).
    detailed = project.run("preview", "--diff")
    assert re.search(r"~ vpp\s*: false => true", detailed.output), detailed.output
    assert f"applications[0] ({mail}) is managed and declares no" in detailed.output


# -- several accounts --------------------------------------------------------------------------

TWO_ACCOUNTS_YAML = """
config:
  acmeToken: {type: string, secret: true}
  globexToken: {type: string}
  acmeUrl: {type: string}
  globexUrl: {type: string}
  acmePolicy: {type: string}
  globexPolicy: {type: string}
resources:
  acme:
    type: pulumi:providers:applivery
    properties:
      apiToken: ${acmeToken}
      baseUrl: ${acmeUrl}
      organizationId: acme-corp
  globex:
    type: pulumi:providers:applivery
    properties:
      apiToken: ${globexToken}
      baseUrl: ${globexUrl}
      organizationId: globex
"""

TWO_ACCOUNTS_PYTHON = """
import pulumi
from applivery_pulumi import AgentConfigurationArgs, AppleDevicePolicyArgs
from applivery_pulumi.native import (
    AppleDevicePolicy,
    Provider,
    get_apple_device_policy_output,
)

config = pulumi.Config()
for tenant, org in (("acme", "acme-corp"), ("globex", "globex")):
    account = Provider(
        tenant,
        api_token=config.require_secret(tenant + "Token"),
        base_url=config.require(tenant + "Url"),
        organization_id=org,
    )
    policy = AppleDevicePolicy(
        tenant + "-ios",
        AppleDevicePolicyArgs(
            policy_id=config.require(tenant + "Policy"),
            name=tenant + " iOS",
            agent_configuration=AgentConfigurationArgs(allow_location=True),
        ),
        pulumi.ResourceOptions(provider=account),
    )
    looked_up = get_apple_device_policy_output(
        policy.policy_id, opts=pulumi.InvokeOutputOptions(provider=account, depends_on=[policy])
    )
    pulumi.export(tenant, {"version": policy.version, "name": looked_up["name"]})
"""


def _configure_accounts(
    project: PulumiProject, accounts: dict[str, Emulator], plain: str = ""
) -> dict[str, str]:
    policies = {}
    for tenant, emu in accounts.items():
        policies[tenant] = emu.create_policy(name="Draft")["id"]
        if tenant == plain:
            key = f"{tenant}Token"
            project.run(
                "config", "set", key, "--plaintext", "--stack", project.stack, input=emu.token
            )
        else:
            project.config_set(f"{tenant}Token", emu.token, secret=True)
        project.config_set(f"{tenant}Url", emu.base_url)
        project.config_set(f"{tenant}Policy", policies[tenant])
        emu.reset_counters()
    return policies


def _assert_each_account_kept_its_own(
    project: PulumiProject, accounts: dict[str, Emulator], policies: dict[str, str], name: str
) -> None:
    state = json.dumps(project.state())
    for tenant, emu in accounts.items():
        assert emu.get_policy(policies[tenant])["name"] == name.format(tenant=tenant)
        # each service saw its own token only: every request succeeded
        assert set(emu.counters()["statuses"]) == {"200"}, emu.counters()
        assert emu.token not in state
    providers = [
        r
        for r in project.state()["deployment"]["resources"]
        if r["type"] == "pulumi:providers:applivery"
    ]
    assert sorted(p["urn"].rsplit("::", 1)[1] for p in providers) == ["acme", "globex"]
    for provider in providers:
        assert provider["inputs"]["apiToken"]["ciphertext"]  # encrypted by the secrets provider


def two_accounts_program() -> str:
    """TWO_ACCOUNTS_YAML with one policy per account, each on its own explicit provider."""
    return TWO_ACCOUNTS_YAML + "".join(
        policy_yaml(f"{t}-ios", f"${{{t}Policy}}", f"name: {t} iOS", provider=t)
        for t in ("acme", "globex")
    )


def test_two_explicit_providers_in_yaml_manage_their_own_policies(
    tmp_path: Path, accounts: dict[str, Emulator]
) -> None:
    program = two_accounts_program()
    project = yaml_project(tmp_path, None, program)
    # globex's token is plain config: the plugin makes it a secret all the same
    policies = _configure_accounts(project, accounts, plain="globex")
    project.run("up", "--yes", "--skip-preview")
    for emu in accounts.values():
        assert requests(emu) == (0, 1)
    _assert_each_account_kept_its_own(project, accounts, policies, "{tenant} iOS")
    project.run("preview", "--expect-no-changes")


def test_two_explicit_providers_in_python_with_the_native_classes(
    tmp_path: Path, accounts: dict[str, Emulator]
) -> None:
    project = PulumiProject(tmp_path / "project", None, program=TWO_ACCOUNTS_PYTHON)
    policies = _configure_accounts(project, accounts)
    up = project.run("up", "--yes", "--skip-preview")
    assert PATH_WARNING not in up.output, "the plugin came from the plugin cache"
    for emu in accounts.values():
        assert requests(emu) == (1, 1), "one adoption, one lookup"
    _assert_each_account_kept_its_own(project, accounts, policies, "{tenant} iOS")
    outputs = json.loads(project.run("stack", "output", "--json").stdout)
    assert outputs["acme"]["name"] == "acme iOS" and outputs["globex"]["name"] == "globex iOS"
    types = {r["type"] for r in project.state()["deployment"]["resources"]}
    assert RESOURCE in types and not any("dynamic" in t for t in types)
    project.run("preview", "--expect-no-changes")


# -- a Python stack moving from the dynamic resource to the plugin ------------------------------

DYNAMIC = """
from applivery_pulumi import AppleDevicePolicy
AppleDevicePolicy("corp", {"policyId": "%s", "name": "Corporate", "segmentId": 1})
"""

NATIVE = """
import pulumi
from applivery_pulumi.native import AppleDevicePolicy
AppleDevicePolicy(
    "corp",
    {"policyId": "%s", "name": "Corporate", "segmentId": 1},
    pulumi.ResourceOptions(
        aliases=[pulumi.Alias(type_="pulumi-python:dynamic/applivery:AppleDevicePolicy")]
    ),
)
"""


def test_a_python_stack_moves_to_the_plugin_with_an_alias(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    project = PulumiProject(tmp_path / "project", emu, program=DYNAMIC % policy["id"])
    project.run("up", "--yes", "--skip-preview")
    version = emu.get_policy(policy["id"])["version"]

    project.set_program(NATIVE % policy["id"])
    emu.reset_counters()
    preview = project.run("preview", "--diff")
    assert "to create" not in preview.output and "to delete" not in preview.output, preview.output
    project.run("up", "--yes", "--skip-preview")
    assert requests(emu)[1] == 0, "moving writes nothing"
    assert emu.get_policy(policy["id"])["version"] == version
    [moved] = [r for r in project.state()["deployment"]["resources"] if r["urn"].endswith("::corp")]
    assert moved["type"] == RESOURCE
    project.run("preview", "--expect-no-changes")


# -- parallelism -------------------------------------------------------------------------------


def _in_flight_at_once(log: str) -> int:
    """The most policy requests the emulator's log shows in progress at one moment."""
    spans = []
    for line in log.splitlines():
        found = re.match(r"(\S+) applivery-emulator (PUT|GET) /v1/\S+ \d+ ([\d.]+)ms", line)
        if found:
            end = datetime.fromisoformat(found.group(1))
            spans.append((end - timedelta(milliseconds=float(found.group(3))), end))
    return max((sum(1 for s, e in spans if s <= start < e) for start, _ in spans), default=0)


def test_operations_run_at_the_engines_parallelism(tmp_path: Path, emu: Emulator) -> None:
    ids = [emu.create_policy(name=f"Draft {i}")["id"] for i in range(10)]
    project = yaml_project(
        tmp_path,
        emu,
        "resources:\n"
        + "".join(policy_yaml(f"p{i}", pid, "name: Fleet") for i, pid in enumerate(ids)),
    )
    emu.set_faults(latency_ms=1500)
    project.run("up", "--yes", "--skip-preview", "--parallel", "10")
    assert _in_flight_at_once(emu.log_text()) >= 8  # the SDK's dynamic host: 4 at most


# -- the token only over TLS -------------------------------------------------------------------

EXPLICIT_PLAIN_HTTP = """
config:
  acmeToken: {type: string, secret: true}
resources:
  acme:
    type: pulumi:providers:applivery
    properties:
      apiToken: ${acmeToken}
      baseUrl: http://203.0.113.7:8080
"""


@pytest.mark.parametrize("provider", ["default", "explicit"])
def test_check_config_refuses_plain_http_to_another_host(
    tmp_path: Path, emu: Emulator, provider: str
) -> None:
    policy = emu.create_policy(name="Draft")
    body = f"name: Corp\norganizationId: {emu.org}"
    resources = policy_yaml("corp", policy["id"], body, provider="acme" * (provider == "explicit"))
    if provider == "explicit":
        project = yaml_project(tmp_path, emu, EXPLICIT_PLAIN_HTTP + resources)
        project.config_set("acmeToken", emu.token, secret=True)
    else:
        project = yaml_project(tmp_path, emu, "resources:\n" + resources)
        project.config_set("applivery:baseUrl", "http://203.0.113.7:8080")
    emu.reset_counters()
    for command in (("preview",), ("up", "--yes", "--skip-preview")):
        result = project.run(*command, check=False, timeout=120)
        assert result.returncode != 0
        assert "applivery:baseUrl must start with https://, or http:// to this machine only" in (
            result.output
        ), result.output[-3000:]
        assert emu.token not in result.output
        assert_no_traceback(result.output)
    assert emu.counters()["total"] == 0
    assert emu.get_policy(policy["id"])["name"] == "Draft"


# -- typed lookups and inputs checked in the program, with the native classes ------------------

NATIVE_LOOKUPS = """
import pulumi
from applivery_pulumi.native import AppleDevicePolicy, get_apple_device_policy_output

managed = AppleDevicePolicy("corp", {"policyId": "%(managed)s", "name": "Corporate"})
looked_up = get_apple_device_policy_output("%(other)s")
seen = AppleDevicePolicy.get("seen", "%(other)s")
pulumi.export("lookedUpAgent", looked_up.agent_configuration)
pulumi.export("lookedUpSegment", looked_up.segment_id)
pulumi.export("seenAgent", seen.agent_configuration)
pulumi.export("seenVersion", seen.version)
pulumi.export("managedName", managed.name)
"""


def test_native_lookups_answer_typed_outputs(tmp_path: Path, emu: Emulator) -> None:
    managed = emu.create_policy(name="Draft")
    agent = {"allowLocation": True, "allowPackageTime": False}
    other = emu.create_policy(name="Not ours", agentConfiguration=agent, segmentId=2)
    program = NATIVE_LOOKUPS % {"managed": managed["id"], "other": other["id"]}
    project = PulumiProject(tmp_path / "project", emu, program=program)

    emu.reset_counters()
    up = project.run("up", "--yes", "--skip-preview")
    assert_no_traceback(up.output)
    assert requests(emu)[1] == 1, "one write: the adoption of corp; lookups only read"
    outputs = json.loads(project.run("stack", "output", "--json").stdout)
    stored = emu.get_policy(other["id"])
    assert outputs["lookedUpAgent"] == outputs["seenAgent"] == stored["agentConfiguration"]
    assert outputs["lookedUpSegment"] == 2 and outputs["seenVersion"] == stored["version"]
    assert outputs["managedName"] == "Corporate"
    [seen] = [r for r in project.state()["deployment"]["resources"] if r["urn"].endswith("::seen")]
    assert seen["type"] == RESOURCE and seen["external"] is True

    project.run("preview", "--expect-no-changes")
    emu.reset_counters()
    project.run("destroy", "--yes", "--skip-preview")
    assert emu.get_policy(other["id"])["version"] == stored["version"], "a lookup is left alone"


NATIVE_BAD_INPUT = """
from applivery_pulumi.native import AppleDevicePolicy

AppleDevicePolicy("kiosk", {
    "policyId": "%(kiosk)s",
    "applications": [{"admApplication": "%(app)s", "managementFlags": 3}],
    "scripts": [{"type": "sometimes"}],
})
AppleDevicePolicy("desk", {"policyId": "%(desk)s", "segmentId": -7})
"""


def test_native_inputs_fail_at_preview_with_every_field_path(tmp_path: Path, emu: Emulator) -> None:
    ids = {"kiosk": emu.create_policy(name="A")["id"], "desk": emu.create_policy(name="B")["id"]}
    program = NATIVE_BAD_INPUT % (ids | {"app": PROFILE_A})
    project = PulumiProject(tmp_path / "project", emu, program=program)
    emu.reset_counters()
    preview = project.run("preview", check=False)
    assert preview.returncode != 0
    for expected in (
        "AppleDevicePolicy 'kiosk': applications[0].managementFlags: Input should be 0, 1, 4 or 5",
        "AppleDevicePolicy 'kiosk': scripts[0].type: Input should be 'once', 'loop' or 'onDemand'",
        "AppleDevicePolicy 'desk': segmentId: ",
    ):
        assert expected in preview.output, preview.output[-3000:]
    assert "2 AppleDevicePolicy resource(s) have invalid inputs" in preview.output
    assert_no_traceback(preview.output)
    assert emu.counters()["total"] == 0, "nothing reaches the service"
