"""What the service adds to or changes in what a client sends: one function per quirk.

``normalize_fields`` runs on write (PUT, admin create/edit, seed) and gives what the service
*stores*; ``render_policy`` runs on read and gives the response document.  The quirks themselves
are emulator/README.md's "What the service changes".  Everything here is tolerant of odd stored
shapes (an admin ``?raw=true`` edit can store anything) so that reading never fails.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from .models import AGENT_FLAGS
from .store import Organization, PolicyRow

# --------------------------------------------------------------------------- write side


def derive_action_status(action: str) -> str:
    """The service reports an 'available' assignment as 'available-install'."""
    return "available-install" if action == "available" else action


def normalize_application(app: dict[str, Any]) -> dict[str, Any]:
    managed = bool(app.get("managed", False))
    out: dict[str, Any] = {"admApplication": str(app.get("admApplication", "")).lower()}
    out["managed"] = managed
    if app.get("managementFlags") is not None:
        out["managementFlags"] = int(app["managementFlags"])
    elif managed:
        # "If omitted ... managed=true sends 5"
        out["managementFlags"] = 5
    out["vpp"] = bool(app.get("vpp", False))
    out["iOSApp"] = bool(app.get("iOSApp", False))
    out["configuration"] = app.get("configuration") or {}
    if app.get("action") is not None:
        out["action"] = app["action"]
        out["actionStatus"] = derive_action_status(app["action"])
    out["scripts"] = app.get("scripts") or {}
    out["updatePolicy"] = app.get("updatePolicy") or {}
    return out


def process_arguments(arguments: str) -> str:
    """What the service stores as argumentsProcessed: the arguments, whitespace collapsed."""
    return " ".join(arguments.split())


def normalize_script(script: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in script.items() if k != "argumentsProcessed"}
    if "loopTime" in out and isinstance(out["loopTime"], float) and out["loopTime"].is_integer():
        out["loopTime"] = int(out["loopTime"])
    if isinstance(out.get("arguments"), str):
        out["argumentsProcessed"] = process_arguments(out["arguments"])
    return out


def normalize_agent_configuration(sent: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flag in AGENT_FLAGS:
        if flag == "allowPackageTimeIos" and sent.get(flag) is None:
            # "iOS and iPadOS application usage time tracking. When omitted,
            # allowPackageTime applies."
            out[flag] = bool(sent.get("allowPackageTime", False))
        else:
            out[flag] = bool(sent.get(flag, False))
    out["appBlacklist"] = list(sent.get("appBlacklist") or [])
    out["policyFeatures"] = dict(sent.get("policyFeatures") or {})
    return out


def normalize_profile_ids(ids: list[Any]) -> list[str]:
    return sorted({str(i).lower() if _is_hex24(str(i)) else str(i) for i in ids})


def normalize_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated top-level PUT fields → what the service stores for them."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "profiles":
            out[key] = normalize_profile_ids(value)
        elif key == "applications":
            out[key] = [normalize_application(a) for a in value]
        elif key == "scripts":
            out[key] = [normalize_script(s) for s in value]
        elif key == "agentConfiguration":
            out[key] = normalize_agent_configuration(value)
        elif key == "segmentId":
            out[key] = int(value)
        elif key in ("books", "bookmarks", "assets"):
            out[key] = [dict(item) for item in value]
        else:
            out[key] = value
    return out


def new_policy_document(name: str) -> dict[str, Any]:
    """What a policy freshly created in the dashboard holds."""
    return {
        "name": name,
        "profiles": [],
        "applications": [],
        "books": [],
        "scripts": [],
        "bookmarks": [],
        "assets": [],
        "agentConfiguration": normalize_agent_configuration({}),
        "exposeToChildren": False,
    }


def new_profile_document(fields: dict[str, Any], now: str) -> dict[str, Any]:
    profile_id = fields["id"]
    doc: dict[str, Any] = {
        "id": profile_id,
        "name": fields["name"],
        "type": fields.get("type", "single"),
        "targetType": fields.get("targetType", "device"),
        "config": fields.get("config") or {},
        "certificates": fields.get("certificates") or [],
        "UUID": fields.get("UUID") or str(uuid.uuid5(uuid.NAMESPACE_OID, profile_id)).upper(),
        "version": 1,
        "createdAt": now,
        "updatedAt": now,
        "useCustomFileVaultCertificates": bool(fields.get("useCustomFileVaultCertificates")),
    }
    if fields.get("parentAdmProfileId"):
        doc["parentAdmProfileId"] = fields["parentAdmProfileId"]
    return doc


# --------------------------------------------------------------------------- read side

POLICY_KEY_ORDER = (
    "id",
    "organization",
    "admEnterprise",
    "targetType",
    "attachedProfile",
    "name",
    "profiles",
    "applications",
    "applicationsInfo",
    "books",
    "booksInfo",
    "scripts",
    "scriptsInfo",
    "bookmarks",
    "assets",
    "assetsInfo",
    "version",
    "updatedAt",
    "createdAt",
    "agentConfiguration",
    "segmentId",
    "exposeToChildren",
)


def _is_hex24(value: str) -> bool:
    return len(value) == 24 and all(c in "0123456789abcdefABCDEF" for c in value)


def _digest(text: str) -> int:
    return int(hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:8], 16)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def profile_assignments(policies: list[PolicyRow]) -> dict[str, list[dict[str, Any]]]:
    """profile id → [{id, name}] of the policies that list it (for assignedTo.policies)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in policies:
        for pid in _as_list(row.doc.get("profiles")):
            out.setdefault(str(pid), []).append({"id": row.id, "name": row.doc.get("name")})
        attached = row.meta.get("attachedProfile")
        if attached:
            out.setdefault(str(attached), []).append({"id": row.id, "name": row.doc.get("name")})
    return out


def render_profile(
    doc: dict[str, Any],
    org: Organization,
    assignments: dict[str, list[dict[str, Any]]],
    attached_to: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": doc.get("id"),
        "organization": org.oid,
        "admEnterprise": org.adm_enterprise,
    }
    if attached_to:
        out["admPolicy"] = attached_to
    out.update(
        {
            "targetType": doc.get("targetType", "device"),
            "name": doc.get("name"),
            "config": doc.get("config", {}),
            "certificates": doc.get("certificates", []),
            "type": doc.get("type", "single"),
            "UUID": doc.get("UUID"),
            "version": doc.get("version", 1),
            "updatedAt": doc.get("updatedAt"),
            "createdAt": doc.get("createdAt"),
            "assignedTo": {
                "policies": assignments.get(str(doc.get("id")), []),
                "devices": [],
            },
            "useCustomFileVaultCertificates": bool(doc.get("useCustomFileVaultCertificates")),
        }
    )
    if doc.get("parentAdmProfileId"):
        out["parentAdmProfileId"] = doc["parentAdmProfileId"]
    return out


def application_info(app: Any) -> dict[str, Any]:
    app_id = str(_as_dict(app).get("admApplication", ""))
    h = _digest(app_id)
    return {
        "id": app_id,
        "name": f"App {app_id[-6:]}",
        "bundleId": f"com.example.app{app_id[-6:]}",
        "icon": f"https://emulator.applivery.invalid/icons/{app_id}.png",
        "version": f"{h % 5 + 1}.{h % 10}.{h % 3}",
        "store": "vpp" if _as_dict(app).get("vpp") else "inHouse",
    }


def book_info(book: Any) -> dict[str, Any]:
    book_id = str(_as_dict(book).get("id", ""))
    return {
        "id": book_id,
        "type": _as_dict(book).get("type"),
        "title": f"Book {book_id[-6:]}",
        "author": "Applivery Emulator",
        "cover": f"https://emulator.applivery.invalid/books/{book_id}.png",
    }


def script_info(script: Any) -> dict[str, Any]:
    s = _as_dict(script)
    return {
        "id": s.get("id"),
        "name": s.get("name"),
        "runner": s.get("runner"),
        "lastExecutionAt": None,
        "executions": 0,
        "successRate": None,
    }


def asset_info(asset: Any) -> dict[str, Any]:
    a = _as_dict(asset)
    asset_id = str(a.get("mdmAssetId", ""))
    return {
        "id": asset_id,
        "name": a.get("assetName"),
        "size": _digest(asset_id) % 1_000_000,
        "version": 1,
    }


def render_policy(
    row: PolicyRow,
    org: Organization,
    catalogue: dict[str, dict[str, Any]],
    assignments: dict[str, list[dict[str, Any]]],
    *,
    echo_management_flags: bool = False,
) -> dict[str, Any]:
    doc = row.doc
    profiles = []
    for pid in _as_list(doc.get("profiles")):
        profile = catalogue.get(str(pid))
        if profile is not None:
            profiles.append(render_profile(profile, org, assignments))
    profiles.sort(key=lambda p: (str(p.get("name")), str(p.get("id"))))

    applications = []
    for app in _as_list(doc.get("applications")):
        if isinstance(app, dict) and not echo_management_flags:
            app = {k: v for k, v in app.items() if k != "managementFlags"}
        applications.append(app)

    attached: dict[str, Any] = {}
    attached_id = row.meta.get("attachedProfile")
    if attached_id and str(attached_id) in catalogue:
        attached = render_profile(catalogue[str(attached_id)], org, assignments, row.id)

    values: dict[str, Any] = {
        "id": row.id,
        "organization": org.oid,
        "admEnterprise": org.adm_enterprise,
        "targetType": row.meta.get("targetType", "device"),
        "attachedProfile": attached,
        "profiles": profiles,
        "applications": applications,
        "applicationsInfo": [application_info(a) for a in applications],
        "booksInfo": [book_info(b) for b in _as_list(doc.get("books"))],
        "scriptsInfo": [script_info(s) for s in _as_list(doc.get("scripts"))],
        "assetsInfo": [asset_info(a) for a in _as_list(doc.get("assets"))],
        "version": row.version,
        "updatedAt": row.updated_at,
        "createdAt": row.created_at,
    }
    if "segmentId" in doc and doc["segmentId"] is not None:
        # The reference's response example carries "segmentId": "1".
        values["segmentId"] = str(doc["segmentId"])

    out: dict[str, Any] = {}
    for key in POLICY_KEY_ORDER:
        if key in values:
            out[key] = values[key]
        elif key in doc and key != "segmentId":
            out[key] = doc[key]
    for key, value in doc.items():  # anything an out-of-band edit added
        if key not in out and key not in POLICY_KEY_ORDER:
            out[key] = value
    return out
