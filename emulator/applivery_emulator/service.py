"""The service's behaviour: what a GET, a list, a PUT and the admin calls do to the store.

Every operation is synchronous (api_routes.py says why) and runs inside one store transaction,
so a PUT's read-modify-write is atomic.  The order of a PUT's checks is emulator/README.md's
"Order of checks".
"""

from __future__ import annotations

import functools
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from . import errors
from .errors import ApiError
from .faults import Faults
from .models import (
    POLICY_FIELDS,
    PolicyCreate,
    PolicyUpdate,
    ProfileCreate,
    SeedDocument,
    describe_errors,
    js_iso,
)
from .normalize import (
    new_policy_document,
    new_profile_document,
    normalize_fields,
    profile_assignments,
    render_policy,
    render_profile,
)
from .store import Organization, PolicyRow, Store, Tx, derived_object_id

SORT_KEYS = ("name", "createdAt", "updatedAt", "version")
ADMIN_META_KEYS = ("targetType", "attachedProfile", "locks")


def now() -> str:
    return js_iso(datetime.now(UTC))


def new_object_id() -> str:
    return secrets.token_hex(12)


@dataclass
class ListQuery:
    page: int = 1
    limit: int = 10
    sort: str | None = None
    name: str | None = None
    target_type: str | None = None
    segment_id: int | None = None


def parse_sort(sort: str | None) -> list[tuple[str, bool]]:
    """'name', '-updatedAt', 'name,-createdAt' or 'name -createdAt' → [(key, descending)]."""
    if sort is None or not sort.strip():
        return [("createdAt", False)]
    keys = []
    for token in sort.replace(",", " ").split():
        descending = token.startswith("-")
        key = token.lstrip("-+")
        if key not in SORT_KEYS:
            raise errors.validation_error(
                f"sort: unknown sort key {key!r}; use one of {', '.join(SORT_KEYS)} "
                "with an optional '-' for descending"
            )
        keys.append((key, descending))
    return keys


class Service:
    def __init__(self, store: Store, faults: Faults) -> None:
        self.store = store
        self.faults = faults

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _org(tx: Tx, ref: str) -> Organization:
        org = tx.org(ref)
        if org is None:
            raise errors.not_found()
        return org

    @staticmethod
    def _policy(tx: Tx, org: Organization, policy_id: str) -> PolicyRow:
        row = tx.policy(org.oid, policy_id.lower())
        if row is None:
            raise errors.not_found()
        return row

    @staticmethod
    def _render(
        tx: Tx, org: Organization, rows: list[PolicyRow], echo: bool = False
    ) -> list[dict[str, Any]]:
        catalogue = tx.profiles(org.oid)
        assignments = profile_assignments(tx.policies(org.oid))
        return [
            render_policy(r, org, catalogue, assignments, echo_management_flags=echo) for r in rows
        ]

    @staticmethod
    def _check_profiles(
        tx: Tx, org: Organization, fields: dict[str, Any], attached_allowed: bool = False
    ) -> None:
        if "profiles" not in fields:
            return
        catalogue = tx.profiles(org.oid)
        ids = [str(i) for i in fields["profiles"]]
        if any(i not in catalogue for i in ids):
            raise errors.not_found()
        if not attached_allowed and any(catalogue[i].get("type") == "attached" for i in ids):
            raise ApiError(400, errors.ATTACHED_PROFILE)

    # ------------------------------------------------------------------ API
    def get_policy(self, org_ref: str, policy_id: str) -> dict[str, Any]:
        with self.store.transaction() as tx:
            org = self._org(tx, org_ref)
            row = self._policy(tx, org, policy_id)
            return self._render(tx, org, [row])[0]

    def list_policies(self, org_ref: str, query: ListQuery) -> dict[str, Any]:
        order = parse_sort(query.sort)
        with self.store.transaction() as tx:
            org = self._org(tx, org_ref)
            rows = tx.policies(org.oid)
            if query.name:
                needle = query.name.casefold()
                rows = [r for r in rows if needle in str(r.doc.get("name", "")).casefold()]
            if query.target_type:
                rows = [r for r in rows if r.meta.get("targetType", "device") == query.target_type]
            if query.segment_id is not None:
                rows = [r for r in rows if r.doc.get("segmentId") == query.segment_id]
            rows.sort(key=lambda r: r.seq)
            for key, descending in reversed(order):
                rows.sort(key=functools.partial(_sort_value, key=key), reverse=descending)
            total = len(rows)
            total_pages = max(1, math.ceil(total / query.limit))
            start = (query.page - 1) * query.limit
            items = self._render(tx, org, rows[start : start + query.limit])
        has_prev = query.page > 1
        has_next = query.page < total_pages
        return {
            "items": items,
            "totalDocs": total,
            "limit": query.limit,
            "page": query.page,
            "totalPages": total_pages,
            "hasPrevPage": has_prev,
            "hasNextPage": has_next,
            "prevPage": query.page - 1 if has_prev else None,
            "nextPage": query.page + 1 if has_next else None,
        }

    def put_policy(self, org_ref: str, policy_id: str, update: PolicyUpdate) -> dict[str, Any]:
        sent = normalize_fields(update.model_dump(exclude_unset=True))
        with self.store.transaction() as tx:
            org = self._org(tx, org_ref)
            row = self._policy(tx, org, policy_id)
            self._check_profiles(tx, org, sent)
            if row.locks.get("segment"):
                for key in ("segmentId", "exposeToChildren"):
                    if key in sent and sent[key] != row.doc.get(key):
                        raise ApiError(400, errors.SEGMENT_LOCKED)
            old_doc = row.doc
            stored = {**old_doc, **sent}
            dropped = self.faults.field_to_drop()
            if dropped and dropped in sent:
                # accepted-but-not-stored fault: 200, but the field keeps its old value
                if dropped in old_doc:
                    stored[dropped] = old_doc[dropped]
                else:
                    stored.pop(dropped, None)
            if stored != old_doc:
                row.doc = stored
                row.version += 1
                row.updated_at = now()
                tx.save_policy(row)
            # The answer is the stored document, as the reference says of the PUT response: a
            # client that checks it sees what was not stored.
            return self._render(tx, org, [row], echo=True)[0]

    # ------------------------------------------------------------------ admin
    def list_orgs(self) -> list[dict[str, Any]]:
        with self.store.transaction() as tx:
            return [o.to_json() for o in tx.orgs()]

    def ensure_org(self, slug: str, name: str | None = None) -> tuple[dict[str, Any], bool]:
        with self.store.transaction() as tx:
            org, created = tx.ensure_org(slug, name, now())
            return org.to_json(), created

    def list_profiles(self, org_ref: str) -> list[dict[str, Any]]:
        with self.store.transaction() as tx:
            org = self._org(tx, org_ref)
            assignments = profile_assignments(tx.policies(org.oid))
            return [render_profile(p, org, assignments) for p in tx.profiles(org.oid).values()]

    def create_profile(
        self, org_ref: str, profile: ProfileCreate, *, exist_ok: bool = False
    ) -> tuple[dict[str, Any], bool]:
        fields = profile.model_dump(exclude_none=True)
        with self.store.transaction() as tx:
            org, _ = tx.ensure_org(org_ref, None, now())
            if fields.get("id"):
                profile_id = str(fields["id"]).lower()
            elif exist_ok:
                profile_id = derived_object_id("profile", org.oid, profile.name)
            else:
                profile_id = new_object_id()
            fields["id"] = profile_id
            owner = tx.profile_org(profile_id)
            if owner is not None and (not exist_ok or owner != org.oid):
                raise ApiError(409, errors.CONFLICT, "Entity already exists")
            created = owner is None
            if created:
                tx.insert_profile(org.oid, profile_id, new_profile_document(fields, now()))
            catalogue = tx.profiles(org.oid)
            assignments = profile_assignments(tx.policies(org.oid))
            return render_profile(catalogue[profile_id], org, assignments), created

    def delete_profile(self, org_ref: str, profile_id: str) -> None:
        """Delete from the catalogue and from every policy that lists it (bumping versions)."""
        profile_id = profile_id.lower()
        with self.store.transaction() as tx:
            org = self._org(tx, org_ref)
            if not tx.delete_profile(org.oid, profile_id):
                raise errors.not_found()
            stamp = now()
            for row in tx.policies(org.oid):
                changed = False
                ids = row.doc.get("profiles")
                if isinstance(ids, list) and profile_id in ids:
                    row.doc["profiles"] = [i for i in ids if i != profile_id]
                    changed = True
                if row.meta.get("attachedProfile") == profile_id:
                    row.meta.pop("attachedProfile")
                    changed = True
                if changed:
                    row.version += 1
                    row.updated_at = stamp
                    tx.save_policy(row)

    def create_policy(
        self, org_ref: str, policy: PolicyCreate, *, exist_ok: bool = False
    ) -> tuple[dict[str, Any], bool]:
        body = policy.model_dump(exclude_unset=True)
        meta: dict[str, Any] = {
            k: body.pop(k) for k in ("targetType", "attachedProfile") if k in body
        }
        locks = body.pop("locks", None) or {}
        given_id = body.pop("id", None)
        fields = normalize_fields(body)
        name = fields.get("name") or "Untitled policy"
        with self.store.transaction() as tx:
            org, _ = tx.ensure_org(org_ref, None, now())
            if given_id:
                policy_id = given_id.lower()
            elif exist_ok:
                policy_id = derived_object_id("policy", org.oid, name)
            else:
                policy_id = new_object_id()
            if tx.policy_exists(policy_id):
                if not exist_ok:
                    raise ApiError(409, errors.CONFLICT, "Entity already exists")
                existing = tx.policy(org.oid, policy_id)
                if existing is None:
                    raise ApiError(409, errors.CONFLICT, "Entity exists in another organization")
                return self._render(tx, org, [existing])[0], False
            self._check_profiles(tx, org, fields)
            self._check_attached(tx, org, meta)
            stamp = now()
            doc = {**new_policy_document(name), **fields}
            row = PolicyRow(
                id=policy_id,
                org_oid=org.oid,
                seq=0,
                doc=doc,
                version=0,
                created_at=stamp,
                updated_at=stamp,
                meta=meta,
                locks={k: v for k, v in locks.items() if v is not None},
            )
            tx.insert_policy(row)
            return self._render(tx, org, [row])[0], True

    @staticmethod
    def _check_attached(tx: Tx, org: Organization, meta: dict[str, Any]) -> None:
        attached = meta.get("attachedProfile")
        if attached is None:
            return
        meta["attachedProfile"] = attached = str(attached).lower()
        profile = tx.profiles(org.oid).get(attached)
        if profile is None:
            raise errors.not_found()
        if profile.get("type") != "attached":
            raise errors.validation_error("attachedProfile: profile type must be 'attached'")

    def admin_policy(self, org_ref: str, policy_id: str) -> dict[str, Any]:
        with self.store.transaction() as tx:
            org = self._org(tx, org_ref)
            row = self._policy(tx, org, policy_id)
            return {
                "data": self._render(tx, org, [row])[0],
                "emulator": {
                    "stored": row.doc,
                    "locks": row.locks,
                    "meta": row.meta,
                    "version": row.version,
                },
            }

    def list_admin_policies(self, org_ref: str) -> list[dict[str, Any]]:
        with self.store.transaction() as tx:
            org = self._org(tx, org_ref)
            return self._render(tx, org, tx.policies(org.oid))

    def edit_policy(
        self, org_ref: str, policy_id: str, patch: dict[str, Any], *, raw: bool = False
    ) -> dict[str, Any]:
        """Out-of-band change, as a person in the dashboard would make it.

        A JSON merge patch (RFC 7396) of ``patch`` into the stored document; ``null`` removes
        a field. Unless ``raw``, the merged PUT fields are validated like a PUT body and
        normalised the same way, and unknown top-level keys are refused. The version goes up
        by one when anything changed. ``targetType``, ``attachedProfile`` and ``locks`` may be
        patched too (locks changes do not bump the version).
        """
        patch = dict(patch)
        meta_patch = {k: patch.pop(k) for k in ADMIN_META_KEYS if k in patch}
        with self.store.transaction() as tx:
            org = self._org(tx, org_ref)
            row = self._policy(tx, org, policy_id)
            merged = merge_patch(row.doc, patch)
            if not raw:
                unknown = sorted(k for k in patch if k not in POLICY_FIELDS)
                if unknown:
                    raise errors.validation_error(
                        "; ".join(f"{k}: unknown field (use ?raw=true)" for k in unknown)
                    )
                touched = {k: merged[k] for k in patch if k in merged}
                try:
                    validated = PolicyUpdate.model_validate(touched)
                except ValidationError as exc:
                    raise errors.validation_error(describe_errors(exc)) from None
                fields = normalize_fields(validated.model_dump(exclude_unset=True))
                self._check_profiles(tx, org, fields)
                merged.update(fields)
            meta = dict(row.meta)
            locks = dict(row.locks)
            for key, value in meta_patch.items():
                if key == "locks":
                    locks = merge_patch(locks, value if isinstance(value, dict) else {})
                elif value is None:
                    meta.pop(key, None)
                else:
                    meta[key] = value
            self._check_attached(tx, org, meta)
            changed = merged != row.doc or meta != row.meta
            row.doc, row.meta, row.locks = merged, meta, locks
            if changed:
                row.version += 1
                row.updated_at = now()
            tx.save_policy(row)
            return self._render(tx, org, [row])[0]

    def set_locks(self, org_ref: str, policy_id: str, locks: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction() as tx:
            org = self._org(tx, org_ref)
            row = self._policy(tx, org, policy_id)
            row.locks = {k: v for k, v in merge_patch(row.locks, locks).items() if v is not None}
            tx.save_policy(row)
            return dict(row.locks)

    def delete_policy(self, org_ref: str, policy_id: str) -> None:
        with self.store.transaction() as tx:
            org = self._org(tx, org_ref)
            if not tx.delete_policy(org.oid, policy_id.lower()):
                raise errors.not_found()

    def reset(self) -> None:
        with self.store.transaction() as tx:
            tx.reset()

    def seed(self, document: SeedDocument) -> dict[str, Any]:
        """Create what is missing; leave existing organizations, profiles, policies alone."""
        summary: dict[str, dict[str, list[str]]] = {
            kind: {"created": [], "existing": []}
            for kind in ("organizations", "profiles", "policies")
        }
        for entry in document.organizations:
            org, created = self.ensure_org(entry.id, entry.name)
            summary["organizations"]["created" if created else "existing"].append(org["id"])
            for profile in entry.profiles:
                doc, created = self.create_profile(entry.id, profile, exist_ok=True)
                summary["profiles"]["created" if created else "existing"].append(doc["id"])
            for policy in entry.policies:
                doc, created = self.create_policy(entry.id, policy, exist_ok=True)
                summary["policies"]["created" if created else "existing"].append(doc["id"])
        return summary


def _sort_value(row: PolicyRow, *, key: str) -> Any:
    if key == "name":
        return str(row.doc.get("name", ""))
    if key == "createdAt":
        return (row.created_at, row.seq)
    if key == "updatedAt":
        return row.updated_at
    return row.version


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
