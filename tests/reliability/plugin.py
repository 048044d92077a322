"""The reliability suite's programs on the provider plugin (``pulumi-resource-applivery``).

A test declares its policies once (``[{"name", "args"}]``, as for the dynamic resource) and runs
them as one of three program kinds:

* ``dynamic``: the harness's Python program, on the SDK's dynamic-provider host;
* ``yaml``: a Pulumi YAML program, on the plugin (the declarations written into ``Pulumi.yaml``);
* ``native``: the harness's Python program with ``applivery_pulumi.native``, on the plugin.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from harness.emulator import Emulator
from harness.project import PROGRAM, PulumiProject

RESOURCE = "applivery:index:AppleDevicePolicy"

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, runtime="yaml", program="resources: {}\n", **kwargs)

    def declare(self, resources: list[dict[str, Any]]) -> None:
        """``[{"name", "args"}]``: a policy per item, on the default provider."""
        program = {
            "name": self.name,
            "runtime": "yaml",
            "resources": {
                item["name"]: {"type": RESOURCE, "properties": _escaped(item["args"])}
                for item in resources
            },
        }
        # UTF-8 as it is: YAML reads no JSON escape of a character outside the BMP.
        text = json.dumps(program, indent=1, ensure_ascii=False)
        (self.dir / "Pulumi.yaml").write_text(text, encoding="utf-8")


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
