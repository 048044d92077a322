"""``AppleDevicePolicyProvider``: the lifecycle of one Applivery Apple device policy.

There is no create or delete call for policies in the API, so:

* **create adopts**: PUT the declared configuration onto the existing policy (missing → error
  naming policy and organization).  With ``restoreOnDelete`` it first GETs the policy and keeps
  its configuration as ``preAdoption`` in state: that record is made only when it will be used,
  as it costs a request per policy and doubles the size of each policy's state.
* **delete releases** (default): the policy stays as it is and leaves Pulumi's state.  With
  ``restoreOnDelete`` it PUTs the ``preAdoption`` configuration back first.  Turning
  ``restoreOnDelete`` on for a policy adopted without it fails at preview: what it had before
  adoption was never recorded.

check and diff never make a request.  update PUTs only the top-level fields that differ.  Every
PUT is verified against the stored document the service returns: a declared value it accepted but
did not store fails the operation instead of being masked by the next read.

The provider is pickled into state by the SDK (dill).  It carries no settings, token or client:
those are made in the provider process by ``configure``; ``__reduce__`` pickles the class alone.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from . import errors
from .diff import changed_paths, duplicate_keys, project
from .fields import BODY_FIELDS, field_path
from .normalize import document_to_state, metadata, segment_id
from .settings import Settings
from .values import is_unknown, plain

if TYPE_CHECKING:
    from .client import AppliveryClient

IDENTITY: Final = ("organizationId", "policyId")
# Properties that are outputs only: declared by the resource so they exist as Outputs.
OUTPUTS: Final = ("version", "createdAt", "updatedAt", "preAdoption")
KNOWN: Final = frozenset({*IDENTITY, "restoreOnDelete", *BODY_FIELDS, *OUTPUTS})


class PolicyDiffResult(DiffResult):
    """A ``DiffResult`` that also says which declared paths differ (for detailed diffs)."""

    def __init__(self, changes: bool, replaces: list[str], paths: list[str]) -> None:
        super().__init__(
            changes=changes, replaces=replaces, stables=[], delete_before_replace=False
        )
        self.paths = paths


def _body(inputs: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {k: inputs[k] for k in BODY_FIELDS if k in inputs}
    # A declared "1" (the reference's own example) is the number the service stores.
    if "segmentId" in body:
        body["segmentId"] = segment_id(body["segmentId"])
    return body


def _top_level(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def _unknown_at(data: Any, loc: tuple[int | str, ...]) -> bool:
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


def printable(text: str) -> str:
    """``text`` with what UTF-8 cannot carry (lone surrogates) escaped, fit for any message."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _not_unicode(value: Any, loc: tuple[int | str, ...] = ()) -> Iterator[tuple[str, str]]:
    """Strings (values or keys) that are not valid Unicode: gRPC, JSON and the API refuse them."""
    reason = (
        "is not valid Unicode text: it holds a lone surrogate (U+D800..U+DFFF), which cannot "
        "be sent"
    )
    if isinstance(value, str):
        if printable(value) != value:
            yield printable(field_path(loc)) or "(value)", reason
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and printable(key) != key:
                yield printable(field_path((*loc, key))), "the key " + reason
            yield from _not_unicode(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _not_unicode(item, (*loc, i))


def _check_restorable(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse ``restoreOnDelete`` turned on for a policy whose pre-adoption record was not kept."""
    wanted = new.get("restoreOnDelete")
    if wanted is True and not old.get("restoreOnDelete") and "preAdoption" not in old:
        raise errors.NothingToRestoreError(
            f"policy {old.get('policyId') or new.get('policyId')}: restore_on_delete can only be "
            "set when the policy is adopted, since its configuration from before adoption is "
            "recorded (pre_adoption) only then, and this policy was adopted without it: remove "
            "restore_on_delete (destroy then leaves the policy as it is)"
        )


def _warn(message: str) -> None:
    # The provider process has no engine connection for diagnostics; stderr reaches the CLI's log.
    print(f"warning: {message}", file=sys.stderr, flush=True)


class AppleDevicePolicyProvider(ResourceProvider):
    # Nothing secret is captured (see __reduce__): keep the serialized provider in plain text.
    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()

    # -- pickling: nothing but the class ---------------------------------------------------------

    def __reduce__(self) -> tuple[type[AppleDevicePolicyProvider], tuple[()]]:
        # Rebuilt by calling the class: no settings, token or client, and no state at all.  No
        # state matters for speed: the SDK pickles the provider once per resource, and each of
        # its calls wraps the pickler's dict writer once more (pulumi 3.272), so pickling a dict
        # (even an empty one) costs O(resources so far) and fails with RecursionError near the
        # 1000th resource of a program.  A stateless reduce never writes a dict.
        return (type(self), ())

    def __setstate__(self, _state: dict[str, Any]) -> None:
        pass  # providers pickled before __reduce__ (an empty dict state) still load

    def __repr__(self) -> str:
        return "AppleDevicePolicyProvider()"

    # -- configuration ---------------------------------------------------------------------------

    def configure(self, req: ConfigureRequest) -> None:
        self.__dict__["_settings"] = Settings.load(req.config.get)

    @property
    def settings(self) -> Settings:
        found = self.__dict__.get("_settings")
        if found is None:
            found = self.__dict__.setdefault("_settings", Settings.load())
        assert isinstance(found, Settings)
        return found

    def _client(self) -> AppliveryClient:
        with _CLIENT_LOCK:
            client: AppliveryClient | None = self.__dict__.get("_live_client")
            if client is None:
                from .client import AppliveryClient

                client = AppliveryClient(self.settings)
                self.__dict__["_live_client"] = client
        return client

    # -- check -----------------------------------------------------------------------------------

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = plain(news)
        if "organizationId" not in inputs and self.settings.organization_id:
            inputs["organizationId"] = self.settings.organization_id
        apps = inputs.get("applications")
        for i, app in enumerate(apps if isinstance(apps, list) else []):
            if isinstance(app, dict) and "actionStatus" in app:
                _warn(
                    f"applications[{i}].actionStatus is read-only (the service derives it from "
                    "`action`): it is ignored and never sent"
                )
                del app["actionStatus"]
        if olds and inputs == plain(olds):
            # Unchanged since this check last passed them (the engine's olds are the checked
            # inputs in state), and the program has validated the declaration again: a no-op
            # preview or up never loads the models.
            return CheckResult(inputs, [])
        return CheckResult(inputs, [CheckFailure(p, r) for p, r in self.validate(inputs)])

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        """Every problem of the (plain) inputs as ``(field path, reason)``; unknowns pass."""
        # The pydantic models load on first use: refresh and destroy never build them.
        from .model import PolicyBody, PolicyIdentity, problems

        def skip(loc: tuple[int | str, ...]) -> bool:
            return _unknown_at(inputs, loc)

        found: list[tuple[str, str]] = []
        for key in inputs:
            if key not in KNOWN:
                found.append(
                    (key, "unknown property; allowed: " + ", ".join(sorted(KNOWN - set(OUTPUTS))))
                )
        identity = {k: inputs[k] for k in (*IDENTITY, "restoreOnDelete") if k in inputs}
        for path, reason in problems(PolicyIdentity, identity, skip):
            if path == "organizationId" and reason == "required field is missing":
                reason = (
                    "required: set organization_id on the resource, or the stack config "
                    "applivery:organizationId (or APPLIVERY_ORGANIZATION_ID)"
                )
            found.append((path, reason))
        body = _body(inputs)
        found.extend(problems(PolicyBody, body, lambda loc: _unknown_at(body, loc)))
        found.extend(duplicate_keys(body))
        named = {path for path, _ in found}
        found.extend(p for p in _not_unicode(inputs) if p[0] not in named)
        return found

    # -- diff ------------------------------------------------------------------------------------

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> PolicyDiffResult:
        old = plain(olds)
        new = plain(news)
        replaces = [
            k for k in IDENTITY if k in new and not is_unknown(new[k]) and new[k] != old.get(k)
        ]
        paths = changed_paths(_body(new), _body(old))
        paths += [k for k in IDENTITY if is_unknown(new.get(k))]
        if bool(new.get("restoreOnDelete")) != bool(old.get("restoreOnDelete")):
            paths.append("restoreOnDelete")
            _check_restorable(old, new)
        return PolicyDiffResult(bool(replaces or paths), replaces, replaces + paths)

    # -- create / read / update / delete ---------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = plain(props)
        org, policy_id = inputs["organizationId"], inputs["policyId"]
        client = self._client()
        pre_adoption = None
        if inputs.get("restoreOnDelete"):
            pre_adoption = document_to_state(client.get_policy(org, policy_id))
        declared = _body(inputs)
        after = client.put_policy(org, policy_id, self._wire(declared))
        outs = self._outs(inputs, after, declared, sent=declared)
        if pre_adoption is not None:
            outs["preAdoption"] = pre_adoption
        return CreateResult(policy_id, outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        old, inputs = plain(olds), plain(news)
        _check_restorable(old, inputs)  # restoreOnDelete may have been unknown at preview
        org, policy_id = inputs["organizationId"], inputs["policyId"]
        declared = _body(inputs)
        differing = {_top_level(p) for p in changed_paths(declared, _body(old))}
        sent = {k: v for k, v in declared.items() if k in differing}
        if sent:
            after = self._client().put_policy(org, policy_id, self._wire(sent))
            outs = self._outs(inputs, after, declared, sent=sent)
        else:
            outs = (
                self._identity(inputs)
                | _body(old)
                | {k: old[k] for k in ("version", "createdAt", "updatedAt") if k in old}
            )
        if "preAdoption" in old:
            outs["preAdoption"] = old["preAdoption"]
        return UpdateResult(outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        known = plain(props)
        org, policy_id = self._locate(id_, known)
        try:
            document = self._client().get_policy(org, policy_id)
        except errors.NotFoundError:
            return ReadResult("", {})
        identity = self._identity({**known, "organizationId": org, "policyId": policy_id})
        if "policyId" not in known:
            # An import: nothing is declared yet, so state takes the whole policy, and the engine
            # compares the program's declaration with it.  Nothing is written: what is stored now
            # is also the pre-adoption configuration.
            stored = document_to_state(document)
            outs = identity | stored | metadata(document) | {"preAdoption": stored}
            return ReadResult(policy_id, outs, identity | stored)
        declared = _body(known)
        stored = document_to_state(document, declared, names=declared)
        projected: dict[str, Any] = project(stored, declared)
        outs = identity | projected | metadata(document)
        if "preAdoption" in known:
            outs["preAdoption"] = known["preAdoption"]
        return ReadResult(policy_id, outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        state = plain(props)
        if not state.get("restoreOnDelete"):
            return
        snapshot = state.get("preAdoption")
        if not isinstance(snapshot, dict) or not _body(snapshot):
            _warn(f"policy {state.get('policyId')}: no pre-adoption configuration to restore")
            return
        try:
            self._client().put_policy(state["organizationId"], state["policyId"], _body(snapshot))
        except errors.NotFoundError:
            return  # gone already: nothing to restore

    # -- helpers ---------------------------------------------------------------------------------

    def _locate(self, id_: str, known: dict[str, Any]) -> tuple[str, str]:
        """``<policyId>`` or ``<organizationId>/<policyId>`` (the forms ``import_`` accepts)."""
        org, _, policy_id = id_.rpartition("/")
        org = org or known.get("organizationId") or self.settings.organization_id or ""
        if not org:
            raise errors.ConfigurationError(
                f"policy {policy_id}: no organization: import it as <organizationId>/<policyId>, "
                "or set applivery:organizationId"
            )
        return org, policy_id

    @staticmethod
    def _identity(inputs: dict[str, Any]) -> dict[str, Any]:
        return {k: inputs[k] for k in (*IDENTITY, "restoreOnDelete") if k in inputs}

    @staticmethod
    def _wire(declared: dict[str, Any]) -> dict[str, Any]:
        """The PUT body: the validated model, declared fields only, camelCase, JSON types."""
        from .model import PolicyBody

        body = PolicyBody.model_validate(declared)
        wire: dict[str, Any]
        wire = body.model_dump(by_alias=True, exclude_unset=True, mode="json")
        for app in wire.get("applications") or []:
            app.pop("actionStatus", None)
        return wire

    def _outs(
        self,
        inputs: dict[str, Any],
        document: dict[str, Any],
        declared: dict[str, Any],
        *,
        sent: dict[str, Any],
    ) -> dict[str, Any]:
        stored = document_to_state(document, previous=declared, names=declared)
        lost = changed_paths(sent, stored)
        if lost:
            raise errors.NotStoredError(
                f"Applivery accepted the update of policy {inputs['policyId']} of organization "
                f"{inputs['organizationId']} but did not store "
                + ", ".join(lost)
                + ": its stored document differs from what was sent; run `pulumi up` again, "
                "and if it persists, report the field to Applivery"
            )
        projected: dict[str, Any] = project(stored, declared)
        return self._identity(inputs) | projected | metadata(document)


_CLIENT_LOCK: Final = threading.Lock()
