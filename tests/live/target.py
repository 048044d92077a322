"""Where the live suite runs, read from four variables and refused, before any request, when it
could not run safely.

``APPLIVERY_LIVE_API_TOKEN`` set: that endpoint, organization and list of policies (a real
account).  Unset: a fresh emulator seeded for the suite (``tests/live/seed.py``).  Either way the
suite uses the public API alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from applivery_pulumi.api.settings import DEFAULT_BASE_URL, base_url_problem, token_problem
from applivery_pulumi.policy import validate
from applivery_pulumi.policy.fields import (
    HEX24_RE,
    HEX24_RULE,
    ORGANIZATION_ID_RE,
    ORGANIZATION_ID_RULE,
)
from applivery_pulumi.policy.normalize import document_to_state

BASE_URL: Final = "APPLIVERY_LIVE_BASE_URL"
API_TOKEN: Final = "APPLIVERY_LIVE_API_TOKEN"
ORGANIZATION: Final = "APPLIVERY_LIVE_ORGANIZATION"
POLICIES: Final = "APPLIVERY_LIVE_POLICIES"
VARIABLES: Final = (BASE_URL, API_TOKEN, ORGANIZATION, POLICIES)

# What a write changes in a policy document whatever it holds: never compared.
VOLATILE: Final = frozenset({"version", "updatedAt"})


class Refusal(Exception):
    """The suite cannot run safely against this target: one sentence, no request sent."""


@dataclass(frozen=True)
class Target:
    base_url: str
    token: str = field(repr=False)
    organization: str
    policies: tuple[str, ...]

    @property
    def first(self) -> str:
        return self.policies[0]

    @property
    def second(self) -> str:
        """The second listed policy; the scenarios that need two take the first two."""
        return self.policies[1] if len(self.policies) > 1 else self.policies[0]


def from_environment(environ: Mapping[str, str]) -> Target | None:
    """The live target the variables name; None without a token (the suite then starts an
    emulator); :class:`Refusal` for a target it must not touch."""
    token = environ.get(API_TOKEN, "").strip()
    if not token:
        return None
    problem = token_problem(token)
    if problem is not None:
        raise Refusal(f"{API_TOKEN} {problem}")
    base_url = environ.get(BASE_URL, "").strip() or DEFAULT_BASE_URL
    problem = base_url_problem(base_url)
    if problem is not None:
        raise Refusal(f"{BASE_URL} {problem}")
    organization = environ.get(ORGANIZATION, "").strip()
    if not ORGANIZATION_ID_RE.fullmatch(organization):
        raise Refusal(f"{ORGANIZATION} must be {ORGANIZATION_ID_RULE}, not {organization[:40]!r}")
    ids = tuple(part.strip() for part in environ.get(POLICIES, "").split(",") if part.strip())
    if not ids:
        raise Refusal(
            f"{POLICIES} is empty: list the ids of the policies set aside for these tests, "
            "comma-separated (the suite writes to those and to no other)"
        )
    for policy_id in ids:
        if not HEX24_RE.fullmatch(policy_id):
            raise Refusal(f"{POLICIES} holds {policy_id[:40]!r}, which is not {HEX24_RULE}")
    if len(set(ids)) != len(ids):
        raise Refusal(f"{POLICIES} names a policy twice: list each id once")
    return Target(base_url.rstrip("/"), token, organization, ids)


def comparable(document: Mapping[str, Any]) -> dict[str, Any]:
    """A policy document without what every write changes (its version and timestamp)."""
    return {k: v for k, v in document.items() if k not in VOLATILE}


def restore_body(document: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body that gives a policy back ``document``'s configuration, built as the
    provider's own ``restore_on_delete`` builds it (read-only fields and enrichments left out)."""
    return validate.body(document_to_state(dict(document)))
