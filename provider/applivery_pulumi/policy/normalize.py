"""The service's policy document → the declared shape kept in state.

One place per quirk the reference shows (``shared/spec/README.md``):

* ``profiles`` come back as full profile objects (with certificate passwords): reduced to ids;
  nothing else of a profile ever enters state.
* ``segmentId`` comes back as the string ``"1"``: made a number.
* numbers may come back as floats (``3600.0``): made ints where integral.
* ``managementFlags`` is echoed by PUT but omitted by GET: carried over from what was known
  before for the same ``admApplication``, so a refresh does not invent a change.
* ``actionStatus`` is derived by the service: dropped.
* read-only enrichments (``*Info``, ``attachedProfile``, ``version``, timestamps, ids) are not
  body fields: dropped here, metadata kept apart by :func:`metadata`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from applivery_pulumi.policy.fields import BODY_FIELDS, METADATA, READ_ONLY_APPLICATION_FIELDS
from applivery_pulumi.policy.values import plain


def _profile_id(profile: Any) -> Any:
    if isinstance(profile, dict):
        return profile.get("id")
    return profile


def segment_id(value: Any) -> Any:
    """``"1"`` (the reference's own spelling) → ``1``; anything else unchanged."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _applications(apps: list[Any], previous: Any) -> list[Any]:
    known_flags: dict[Any, Any] = {}
    if isinstance(previous, list):
        for app in previous:
            if isinstance(app, dict) and "managementFlags" in app:
                known_flags[app.get("admApplication")] = app["managementFlags"]
    out = []
    for app in apps:
        if not isinstance(app, dict):
            out.append(app)
            continue
        app = {k: v for k, v in app.items() if k not in READ_ONLY_APPLICATION_FIELDS}
        key = app.get("admApplication")
        if "managementFlags" not in app and key in known_flags:
            app["managementFlags"] = known_flags[key]
        out.append(app)
    return out


def document_to_state(
    document: dict[str, Any],
    previous: dict[str, Any] | None = None,
    names: Iterable[str] = BODY_FIELDS,
) -> dict[str, Any]:
    """The body fields (``names`` of them) of a policy document, normalised to the declared shape.

    ``previous`` is what state (or the declaration, on import) said before: the source of values
    the service does not return on every call.
    """
    previous = previous or {}
    out: dict[str, Any] = {}
    for name in names:
        # Field by field: the rest of the document (enrichments) is never looked at.
        value = document.get(name) if name in BODY_FIELDS else None
        if name == "profiles" and isinstance(value, list):
            value = [_profile_id(p) for p in value]  # before plain(): objects are large
        value = plain(value)
        if value is None:
            continue
        if name == "segmentId":
            value = segment_id(value)
        elif name == "applications" and isinstance(value, list):
            value = _applications(value, plain(previous.get("applications")))
        out[name] = value
    return out


def metadata(document: dict[str, Any]) -> dict[str, Any]:
    """Read-only facts worth an output: ``fields.METADATA``, as the service gives them."""
    found = {k: plain(document.get(k)) for k in METADATA}
    return {k: v for k, v in found.items() if v is not None}
