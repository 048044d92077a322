"""Managed applications that declare no ``managementFlags``: a value nobody can read back.

Applivery's GET never returns ``managementFlags``, and a PUT of ``applications`` replaces the
list whole: a managed app sent without them gets the service's default, 5, whatever it had.  So
whenever a write will carry ``applications``, each managed app of it that declares no flags is
named (a warning, not an error: the stored value cannot be known, so an export or an adoption
could never declare it for sure, and refusing would block every such policy), and the export
writes a comment in the place of the field.
"""

from __future__ import annotations

from typing import Any, Final

from applivery_pulumi.policy.values import is_unknown
from applivery_pulumi.text import printable

# The comment the export writes where a managed app's managementFlags would be.
EXPORT_NOTE: Final = (
    "managementFlags: not returned by Applivery's API, so not declared here. Any change to",
    "applications sends this managed app without them and Applivery sets them to 5:",
    "declare managementFlags (0, 1, 4 or 5) to keep another value.",
)


def unflagged(body: dict[str, Any]) -> list[tuple[int, str]]:
    """``(index, admApplication)`` of each managed app of ``body`` that declares no flags.

    An app whose ``managed`` is not known yet is left out: it may turn out unmanaged.
    """
    apps = body.get("applications")
    if not isinstance(apps, list):
        return []
    return [
        (i, "id not known yet" if is_unknown(app_id) else str(app_id))
        for i, app in enumerate(apps)
        if isinstance(app, dict)
        and app.get("managed") is True
        and app.get("managementFlags") is None
        for app_id in [app.get("admApplication")]
    ]


def warnings(policy_id: Any, body: dict[str, Any], write: str) -> list[str]:
    """One sentence per managed app that ``write`` (``update``, ``adoption``) sends flagless."""
    return [
        f"policy {policy_id}: applications[{i}] ({app}) is managed and declares no "
        f"managementFlags: this {write} sends it without them, and Applivery sets them to 5 — "
        "declare managementFlags to keep another value"
        for i, app in unflagged(body)
    ]


def not_restorable(policy_id: Any, pre_adoption: dict[str, Any]) -> list[str]:
    """The managed apps whose flags ``restoreOnDelete`` cannot put back: ``pre_adoption`` comes
    from a GET, which has none."""
    apps = pre_adoption.get("applications")
    managed = [
        str(app.get("admApplication"))
        for app in (apps if isinstance(apps, list) else [])
        if isinstance(app, dict) and app.get("managed") is True
    ]
    if not managed:
        return []
    return [
        f"policy {policy_id}: restore_on_delete cannot restore the managementFlags of "
        f"managed application(s) {printable(', '.join(managed))[:400]}: the API does not "
        "return them, so the restore leaves them out and Applivery applies its default (5)"
    ]
