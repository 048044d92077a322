"""The provider plugin's Pulumi package schema, generated from the pydantic models.

Nothing here restates a field: the resource's inputs are the fields of ``PolicyIdentity`` and
``PolicyBody`` (``model.py``), its nested types are their nested models, and descriptions are
the models' field descriptions with each field's constraints (patterns, maximum lengths, allowed
values) appended.  The schema carries no constraint keyword of its own: Check validates with the
models, so a program gets the same field-path errors on every door.  The outputs add what the
lifecycle returns (``fields.OUTPUTS``), the provider's configuration is ``settings.KEYS``; the
type tokens are ``tokens.py``'s.

The schema feeds YAML programs (type checking, property names) and ``pulumi package get-schema``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from applivery_pulumi.api.settings import DEFAULT_BASE_URL, DEFAULT_MAX_RETRY_SECONDS
from applivery_pulumi.api.settings import KEYS as SETTINGS_KEYS
from applivery_pulumi.plugin.tokens import LOOKUP_FUNCTION as LOOKUP_FUNCTION
from applivery_pulumi.plugin.tokens import PACKAGE
from applivery_pulumi.plugin.tokens import RESOURCE as RESOURCE
from applivery_pulumi.plugin.tokens import token as _token
from applivery_pulumi.policy.fields import IDENTITY, OPTIONS, OUTPUTS, PRE_ADOPTION

ANY: Final = {"$ref": "pulumi.json#/Any"}

# Inputs that may be left out because the provider's configuration supplies them.
FROM_CONFIG: Final = frozenset({"organizationId"})

# What the lifecycle adds to the declared fields (``fields.OUTPUTS``), described here.
OUTPUT_DESCRIPTIONS: Final[dict[str, tuple[dict[str, Any], str]]] = {
    "version": ({"type": "integer"}, "The service's version of the policy, bumped on each change."),
    "createdAt": ({"type": "string"}, "When the policy was created (the service's own text)."),
    "updatedAt": ({"type": "string"}, "When the service last changed the policy (its own text)."),
    PRE_ADOPTION: (
        {"$ref": f"#/types/{_token('PolicyBody')}"},
        "The configuration the policy had before adoption (kept with restoreOnDelete, which "
        "puts it back on delete).",
    ),
}

# The provider's configuration: ``settings.KEYS``, with their types and descriptions (each
# followed by the variable it falls back to).
CONFIG_DESCRIPTIONS: Final[dict[str, tuple[dict[str, Any], str]]] = {
    "api_token": (
        {"type": "string", "secret": True},
        "The Applivery API token (set it as a secret).",
    ),
    "base_url": (
        {"type": "string"},
        f"The API root, default {DEFAULT_BASE_URL}.",
    ),
    "organization_id": (
        {"type": "string"},
        "The organization of policies that declare none.",
    ),
    "max_retry_seconds": (
        {"type": "number"},
        "How long one request is retried (429, 5xx, connection failures), in seconds; default "
        f"{DEFAULT_MAX_RETRY_SECONDS:g}.",
    ),
    "max_requests_per_second": (
        {"type": "number"},
        "Paces every request of the provider process, retries included, to at most this many "
        "per second; default off.",
    ),
}


def package_schema(version: str) -> dict[str, Any]:
    """The whole package schema of the plugin at ``version``."""
    from applivery_pulumi.policy.model import PolicyBody, PolicyIdentity

    types: dict[str, Any] = {}
    identity = _properties(PolicyIdentity, types)
    body = _properties(PolicyBody, types)
    types[_token("PolicyBody")] = _object(PolicyBody.model_json_schema(by_alias=True), types)

    inputs = identity["properties"] | body["properties"]
    outputs = dict(inputs)
    for name in OUTPUTS:
        spec, text = OUTPUT_DESCRIPTIONS[name]
        outputs[name] = {**spec, "description": text}
    looked_up = {k: v for k, v in outputs.items() if k not in (*OPTIONS, PRE_ADOPTION)}
    config = {
        key.name: {**spec, "description": f"{text} Falls back to {key.env}."}
        for attr, key in SETTINGS_KEYS.items()
        for spec, text in [CONFIG_DESCRIPTIONS[attr]]
    }
    resource_doc = (
        "An Applivery Apple device policy, adopted and managed by Pulumi. Create adopts an "
        "existing policy (the API has no create call) by writing the declaration; delete "
        "releases it unchanged, or with restoreOnDelete puts back the configuration it had "
        "before adoption. Only declared fields are sent and compared.\n\n"
        f"Inputs: {PolicyIdentity.__doc__} {PolicyBody.__doc__}"
    )
    return {
        "name": PACKAGE,
        "displayName": "Applivery",
        "version": version,
        "description": "Manage Applivery Apple device policies (MDM) as code.",
        "keywords": ["applivery", "mdm", "apple", "category/utility", "kind/native"],
        "license": "Apache-2.0",
        "config": {"variables": config},
        "provider": {
            "description": "The Applivery provider: one account (token, organization) each.",
            "inputProperties": config,
            "properties": config,
        },
        "resources": {
            RESOURCE: {
                "description": resource_doc,
                "inputProperties": inputs,
                "requiredInputs": [k for k in identity["required"] if k not in FROM_CONFIG],
                "properties": outputs,
                "required": list(IDENTITY),
            }
        },
        "functions": {
            LOOKUP_FUNCTION: {
                "description": "Read a policy without managing it: one GET, never a write.",
                "inputs": {
                    "properties": {k: identity["properties"][k] for k in IDENTITY},
                    "required": ["policyId"],
                },
                "outputs": {"properties": looked_up, "required": list(IDENTITY)},
            }
        },
        "types": dict(sorted(types.items())),
    }


def schema_text(version: str) -> str:
    return json.dumps(package_schema(version), indent=2, sort_keys=False)


def _properties(model: Any, types: dict[str, Any]) -> dict[str, Any]:
    """``model``'s fields as schema properties (its nested models added to ``types``)."""
    js = model.model_json_schema(by_alias=True)
    for name, definition in js.get("$defs", {}).items():
        types[_token(name)] = _object(definition, types)
    return {
        "properties": {k: _property(v) for k, v in js["properties"].items()},
        "required": list(js.get("required", [])),
    }


def _object(js: dict[str, Any], types: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": {k: _property(v) for k, v in js["properties"].items()},
    }
    if js.get("description"):
        out["description"] = js["description"]
    if js.get("required"):
        out["required"] = list(js["required"])
    return out


def _property(js: dict[str, Any]) -> dict[str, Any]:
    """One field's JSON Schema (pydantic's) as a Pulumi schema property."""
    options = [o for o in js.get("anyOf", [js]) if o.get("type") != "null"]
    # Every optional field is `X | None`: one option remains.
    shape = _type(options[0]) if len(options) == 1 else dict(ANY)
    text = " ".join(filter(None, [js.get("description", ""), *_constraints(options)]))
    if text:
        shape["description"] = text
    return shape


def _type(js: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in js:
        return {"$ref": "#/types/" + _token(js["$ref"].rsplit("/", 1)[-1])}
    kind = js.get("type")
    if kind == "array":
        return {"type": "array", "items": _type(js["items"])}
    if kind == "object":
        # Free-form maps (configuration, updatePolicy, policyFeatures): the user's keys.
        return {"type": "object", "additionalProperties": dict(ANY)}
    if kind in ("string", "integer", "number", "boolean"):
        return {"type": kind}
    return dict(ANY)


def _constraints(options: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for js in options:
        inner = js.get("items", {}) if js.get("type") == "array" else js
        found = []
        if "enum" in inner:
            found.append("one of " + ", ".join(json.dumps(v) for v in inner["enum"]))
        if "pattern" in inner:
            found.append(f"pattern `{inner['pattern']}`")
        if "maxLength" in inner:
            found.append(f"at most {inner['maxLength']} characters")
        if "minimum" in inner:
            found.append(f"at least {inner['minimum']}")
        if found:
            text = "; ".join(found)
            text = "Each item: " + text if inner is not js else text[:1].upper() + text[1:]
            out.append(text + ".")
    return out
