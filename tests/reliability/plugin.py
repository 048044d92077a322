"""The reliability suite's programs on the provider plugin (``pulumi-resource-applivery``).

A test declares its policies once (``[{"name", "args"}]``, as for the dynamic resource) and runs
them as one of three program kinds:

* ``dynamic``: the harness's Python program, on the SDK's dynamic-provider host;
* ``yaml``: a Pulumi YAML program, on the plugin (the declarations written into ``Pulumi.yaml``);
* ``native``: the harness's Python program with ``applivery_pulumi.native``, on the plugin.

``YamlProject`` also declares explicit providers (one per Applivery account) for its policies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from harness.emulator import Emulator
from harness.project import PROGRAM, PulumiProject

KINDS = ("dynamic", "yaml", "native")
PLUGIN_KINDS = ("yaml", "native")
RESOURCE = "applivery:index:AppleDevicePolicy"
PROVIDER_TYPE = "pulumi:providers:applivery"

NATIVE_PROGRAM = PROGRAM.replace(
    "from applivery_pulumi import AppleDevicePolicy",
    "from applivery_pulumi.native import AppleDevicePolicy",
)
assert NATIVE_PROGRAM != PROGRAM


def _escaped(value: Any) -> Any:
    """A declared value as Pulumi YAML reads it literally (``${`` starts an interpolation)."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    return value


class YamlProject(PulumiProject):
    """A YAML program whose resources are what ``declare`` was given: ``Pulumi.yaml`` is written
    as JSON, which YAML reads as it is."""

    def __init__(
        self,
        *args: Any,
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        secrets: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        # providers: name -> properties of an explicit provider (values may be ${config}).
        self.providers = dict(providers or {})
        self.secrets = dict(secrets or {})
        super().__init__(*args, runtime="yaml", program="resources: {}\n", **kwargs)
        for key, value in self.secrets.items():
            self.config_set(key, value, secret=True)

    def declare(self, resources: list[dict[str, Any]]) -> None:
        """``[{"name", "args", "provider"?}]``: a policy per item, on the named explicit
        provider if it has one."""
        program: dict[str, Any] = {"name": self.name, "runtime": "yaml"}
        if self.secrets:
            program["config"] = {k: {"type": "string", "secret": True} for k in self.secrets}
        declared: dict[str, Any] = {
            name: {"type": PROVIDER_TYPE, "properties": props}
            for name, props in self.providers.items()
        }
        for item in resources:
            declared[item["name"]] = {"type": RESOURCE, "properties": _escaped(item["args"])}
            if item.get("provider"):
                declared[item["name"]]["options"] = {"provider": "${" + item["provider"] + "}"}
        program["resources"] = declared
        (self.dir / "Pulumi.yaml").write_text(json.dumps(program, indent=1))


def project_of(
    kind: str, make_project: Callable[..., PulumiProject], emu: Emulator, **kwargs: Any
) -> PulumiProject:
    """A project of ``kind`` (``KINDS``) on ``emu``, from the suite's ``make_project``."""
    if kind == "dynamic":
        return make_project(emu, **kwargs)
    if kind == "native":
        return make_project(emu, program=NATIVE_PROGRAM, **kwargs)
    assert kind == "yaml", kind

    return make_project(emu, factory=YamlProject, **kwargs)
