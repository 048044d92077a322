"""The ``import_`` resource option of an ``AppleDevicePolicy``: adoption by reading, on any host.

The engine serves ``import_`` by asking the provider to read a resource before it has sent it a
serialized provider, which the SDK's dynamic-provider host cannot serve (pulumi/pulumi#16175,
``KeyError: '__provider'``).  So the option never reaches the engine: the resource takes it out
of its options and declares ``importExisting`` instead, which create serves the same way on every
host (one GET, no write, a refusal naming each field the stored policy has otherwise).

The import id names the policy: a ``policy_id`` or ``organization_id`` the declaration leaves out
is taken from it, and one it declares must be the same.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

import pulumi

from applivery_pulumi.policy.fields import (
    HEX24_RE,
    HEX24_RULE,
    ORGANIZATION_ID_RE,
    ORGANIZATION_ID_RULE,
)
from applivery_pulumi.text import printable

OPTION: Final = "import_"
FORMS: Final = "<policyId> or <organizationId>/<policyId>"

Problem = tuple[str, str]


def as_import_existing(
    props: Mapping[str, Any], opts: pulumi.ResourceOptions | None
) -> tuple[dict[str, Any], pulumi.ResourceOptions | None, list[Problem]]:
    """``props`` and ``opts`` with ``opts.import_`` turned into ``importExisting``, and every
    problem of the option as ``(field path, reason)``."""
    import_id = opts.import_ if opts is not None else None
    if opts is None or not import_id:  # the engine reads an empty import id as none too
        return dict(props), opts, []
    rest = copy.copy(opts)
    rest.import_ = None
    out = dict(props)
    problems = _id_problems(import_id)
    if not problems:
        org, _, policy_id = import_id.rpartition("/")
        problems += _take("policyId", "policy_id", policy_id, out)
        if org:
            problems += _take("organizationId", "organization_id", org, out)
    if props.get("importExisting") not in (None, True):
        reason = "adopts by reading, as import_existing=True does: leave import_existing out"
        problems.append((OPTION, reason))
    out["importExisting"] = True
    return out, rest, problems


def _id_problems(import_id: object) -> list[Problem]:
    if not isinstance(import_id, str):
        return [(OPTION, f"must be the text {FORMS} (got {type(import_id).__name__})")]
    org, slash, policy_id = import_id.rpartition("/")
    found = []
    if not HEX24_RE.match(policy_id):
        found.append(f"its policy id must be {HEX24_RULE}")
    if slash and not ORGANIZATION_ID_RE.match(org):
        found.append(f"its organization id must be {ORGANIZATION_ID_RULE}")
    if not found:
        return []
    return [(OPTION, f"{printable(import_id)[:80]!r} is not {FORMS}: " + "; ".join(found))]


def _take(name: str, arg: str, value: str, props: dict[str, Any]) -> list[Problem]:
    """``props[name]`` set to the import id's ``value``, or the problem of a different one."""
    declared = props.get(name)
    if declared is None:
        props[name] = value
        return []
    if not isinstance(declared, str):
        reason = (
            f"{arg} is not known when the program runs, so it cannot be checked against the "
            f"import id's {value}: leave {arg} out (the import id sets it)"
        )
    elif _key(name, declared) == _key(name, value):
        return []
    else:
        reason = (
            f"imports {arg} {value}, but the declaration has {arg} "
            f"{printable(declared)[:80]}: make them the same, or leave {arg} out"
        )
    return [(OPTION, reason)]


def _key(name: str, value: str) -> str:
    # Policy ids compare case-insensitively (ProgramRun.sole_owner says why).
    return value.lower() if name == "policyId" else value
