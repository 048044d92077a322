"""The plugin's package schema is the models': every field, nested type and output, no other."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from pydantic import BaseModel, Field, StrictStr

from applivery_pulumi.api.settings import KEYS as SETTINGS_KEYS
from applivery_pulumi.plugin.schema import LOOKUP_FUNCTION, RESOURCE, package_schema, schema_text
from applivery_pulumi.policy import model
from applivery_pulumi.policy.fields import IDENTITY, OPTIONS, OUTPUTS

SCHEMA = package_schema("0.1.0")
RES = SCHEMA["resources"][RESOURCE]


def _nested(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested(arg)
        if found is not None:
            return found
    return None


def _models(root: type[BaseModel]) -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    todo = [root]
    while todo:
        current = todo.pop()
        for info in current.model_fields.values():
            inner = _nested(info.annotation)
            if inner is not None and inner.__name__ not in found:
                found[inner.__name__] = inner
                todo.append(inner)
    return found


def test_the_resource_inputs_are_the_identity_and_body_fields() -> None:
    expected = [*model.PolicyIdentity.model_fields, *model.PolicyBody.model_fields]
    assert list(RES["inputProperties"]) == expected
    assert set(model.PolicyIdentity.model_fields) == {*IDENTITY, *OPTIONS}
    assert list(model.PolicyBody.model_fields) == list(model.BODY_FIELDS)
    # organizationId may come from the provider's configuration
    assert RES["requiredInputs"] == ["policyId"]


def test_the_outputs_are_the_inputs_and_what_the_lifecycle_adds() -> None:
    assert list(RES["properties"]) == [*RES["inputProperties"], *OUTPUTS]
    assert RES["required"] == list(IDENTITY)
    assert RES["properties"]["preAdoption"]["$ref"] == "#/types/applivery:index:PolicyBody"


def test_every_nested_model_is_a_type_with_exactly_its_fields() -> None:
    models = _models(model.PolicyBody)
    assert set(SCHEMA["types"]) == {f"applivery:index:{n}" for n in [*models, "PolicyBody"]}
    for name, cls in [*models.items(), ("PolicyBody", model.PolicyBody)]:
        spec = SCHEMA["types"][f"applivery:index:{name}"]
        assert list(spec["properties"]) == list(cls.model_fields), name
        required = [k for k, info in cls.model_fields.items() if info.is_required()]
        assert spec.get("required", []) == required, name


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("inputProperties", "name"), {"type": "string"}),
        (("inputProperties", "segmentId"), {"type": "integer"}),
        (("inputProperties", "exposeToChildren"), {"type": "boolean"}),
        (("inputProperties", "profiles"), {"type": "array", "items": {"type": "string"}}),
        (
            ("inputProperties", "applications"),
            {"type": "array", "items": {"$ref": "#/types/applivery:index:Application"}},
        ),
        (
            ("inputProperties", "agentConfiguration"),
            {"$ref": "#/types/applivery:index:AgentConfiguration"},
        ),
        (("properties", "version"), {"type": "integer"}),
    ],
)
def test_types_follow_the_annotations(path: tuple[str, str], expected: dict[str, Any]) -> None:
    found = dict(RES[path[0]][path[1]])
    found.pop("description", None)
    assert found == expected


def test_descriptions_are_the_field_descriptions_with_the_constraints() -> None:
    name = RES["inputProperties"]["name"]["description"]
    assert name.startswith(model.PolicyBody.model_fields["name"].description or "?")
    assert "At most 256 characters" in name
    app = SCHEMA["types"]["applivery:index:Application"]["properties"]
    assert "One of 0, 1, 4, 5" in app["managementFlags"]["description"]
    assert app["configuration"]["additionalProperties"] == {"$ref": "pulumi.json#/Any"}
    assert (
        "Each item: pattern `^[a-fA-F0-9]{24}$`"
        in RES["inputProperties"]["profiles"]["description"]
    )


def test_the_configuration_is_the_settings_with_the_token_secret() -> None:
    names = [key.split(":", 1)[1] for key, _env in SETTINGS_KEYS.values()]
    variables = SCHEMA["config"]["variables"]
    assert list(variables) == names
    assert list(SCHEMA["provider"]["inputProperties"]) == names
    secret = {k for k, v in SCHEMA["provider"]["inputProperties"].items() if v.get("secret")}
    assert secret == {"apiToken"} == {k for k, v in variables.items() if v.get("secret")}
    for name, spec in variables.items():
        env = dict(SETTINGS_KEYS.values())[f"applivery:{name}"]
        assert env in spec["description"], name


def test_the_lookup_function_reads_by_identity() -> None:
    function = SCHEMA["functions"][LOOKUP_FUNCTION]
    assert list(function["inputs"]["properties"]) == list(IDENTITY)
    assert function["inputs"]["required"] == ["policyId"]
    outputs = function["outputs"]["properties"]
    assert set(outputs) == {*IDENTITY, *model.BODY_FIELDS, *OUTPUTS} - {"preAdoption"}


def test_a_field_added_to_the_model_shows_up_in_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    class Extended(model.PolicyBody):
        """The body of the PUT request: every field optional, only declared fields are sent."""

        kioskMode: StrictStr | None = Field(None, description="A field the API grew.")

    monkeypatch.setattr(model, "PolicyBody", Extended)
    schema = package_schema("0.1.0")
    added = schema["resources"][RESOURCE]["inputProperties"]["kioskMode"]
    assert added == {"type": "string", "description": "A field the API grew."}
    assert "kioskMode" in schema["resources"][RESOURCE]["properties"]
    assert "kioskMode" in schema["types"]["applivery:index:PolicyBody"]["properties"]


def test_the_text_is_json_with_the_version() -> None:
    assert json.loads(schema_text("1.2.3"))["version"] == "1.2.3"
