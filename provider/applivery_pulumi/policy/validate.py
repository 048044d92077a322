"""One home for what a declaration may hold and what it declares: the program (``program.py``),
the provider's ``check`` and the provider plugin all go through here.

The pydantic models load only in :func:`problems` (``fields.py`` says why).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from applivery_pulumi.policy.diff import duplicate_keys
from applivery_pulumi.policy.fields import (
    BODY_FIELDS,
    IDENTITY,
    KNOWN,
    OPTIONS,
    OUTPUTS,
    READ_ONLY_APPLICATION_FIELDS,
    Loc,
    field_path,
)
from applivery_pulumi.policy.normalize import segment_id
from applivery_pulumi.policy.values import is_unknown
from applivery_pulumi.text import printable

ORGANIZATION_REQUIRED = (
    "required: set organization_id on the resource, or the stack config "
    "applivery:organizationId (or APPLIVERY_ORGANIZATION_ID)"
)


def canonical(inputs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``inputs`` (plain values) as kept and compared, and the read-only paths taken out."""
    out = dict(inputs)
    if "segmentId" in out:
        out["segmentId"] = segment_id(out["segmentId"])
    removed: list[str] = []
    apps = out.get("applications")
    if isinstance(apps, list) and any(
        isinstance(app, dict) and READ_ONLY_APPLICATION_FIELDS & app.keys() for app in apps
    ):
        kept = []
        for i, app in enumerate(apps):
            if isinstance(app, dict):
                removed += [
                    f"applications[{i}].{name}"
                    for name in sorted(READ_ONLY_APPLICATION_FIELDS & app.keys())
                ]
                app = {k: v for k, v in app.items() if k not in READ_ONLY_APPLICATION_FIELDS}
            kept.append(app)
        out["applications"] = kept
    return out, removed


def read_only_warning(path: str) -> str:
    return (
        f"{path} is read-only (the service derives it from `action`): it is ignored and never sent"
    )


# restoreOnDelete: create reads and keeps the configuration from before adoption (preAdoption)
# only when it is set, since that costs a GET per policy and doubles the policy's state; delete
# puts preAdoption back.  So it cannot be turned on after adoption: nothing was kept.
def restore_problem(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why ``new`` (inputs) cannot turn restoreOnDelete on for a policy adopted as ``old``."""
    wanted = new.get("restoreOnDelete")
    if wanted is True and not old.get("restoreOnDelete") and "preAdoption" not in old:
        return (
            f"policy {old.get('policyId') or new.get('policyId')}: restore_on_delete can only be "
            "set when the policy is adopted, since its configuration from before adoption is "
            "recorded (pre_adoption) only then, and this policy was adopted without it: remove "
            "restore_on_delete (destroy then leaves the policy as it is)"
        )
    return None


def body(inputs: dict[str, Any]) -> dict[str, Any]:
    """The body fields of a declaration (canonical: ``segmentId`` a number, no read-only field)."""
    found: dict[str, Any] = {k: inputs[k] for k in BODY_FIELDS if k in inputs}
    return canonical(found)[0]


def wire(declared: dict[str, Any]) -> dict[str, Any]:
    """The PUT body of ``declared`` (a :func:`body`): its fields as the API names them."""
    from applivery_pulumi.policy.model import PolicyBody

    sent: dict[str, Any] = PolicyBody.model_validate(declared).model_dump(
        by_alias=True, exclude_unset=True, mode="json"
    )
    return sent


def problems(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    """Every problem of one declaration (plain values, canonical or not), unknowns passing."""
    from applivery_pulumi.policy.model import PolicyBody, PolicyIdentity
    from applivery_pulumi.policy.model import problems as model_problems

    inputs = canonical(inputs)[0]
    found: list[tuple[str, str]] = []
    allowed = ", ".join(sorted(KNOWN - set(OUTPUTS)))
    found += [(key, f"unknown property; allowed: {allowed}") for key in inputs if key not in KNOWN]
    identity = {k: inputs[k] for k in (*IDENTITY, *OPTIONS) if k in inputs}
    for path, reason in model_problems(PolicyIdentity, identity, _unknown_in(identity)):
        if path == "organizationId" and reason == "required field is missing":
            reason = ORGANIZATION_REQUIRED
        found.append((path, reason))
    declared = body(inputs)
    found += model_problems(PolicyBody, declared, _unknown_in(declared))
    found += duplicate_keys(declared)
    # Paths hold the keys of a declaration, which may come from a file or the service as well.
    found = [(printable(path), printable(reason)) for path, reason in found]
    named = {path for path, _ in found}
    found += [p for p in _not_unicode(inputs) if p[0] not in named]
    return found


def _unknown_in(data: Any) -> Any:
    def unknown_at(loc: Loc) -> bool:
        current = data
        for part in loc:
            if is_unknown(current):
                return True
            inside_dict = isinstance(current, dict) and part in current
            inside_list = (
                isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
            )
            if not (inside_dict or inside_list):
                return False
            current = current[part]
        return is_unknown(current)

    return unknown_at


def _not_unicode(value: Any, loc: Loc = ()) -> Iterator[tuple[str, str]]:
    """Strings (values or keys) that are not valid Unicode: gRPC, JSON and the API refuse them."""
    reason = (
        "is not valid Unicode text: it holds a lone surrogate (U+D800..U+DFFF), which cannot "
        "be sent"
    )
    if isinstance(value, str):
        if not _is_unicode(value):
            yield printable(field_path(loc)) or "(value)", reason
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not _is_unicode(key):
                yield printable(field_path((*loc, key))), "the key " + reason
            yield from _not_unicode(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _not_unicode(item, (*loc, i))


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
