"""``AppleDevicePolicyProvider``: check, diff, create, read, update and delete of one policy.

What each step does for the user is the README's "Declaring a policy" (Lifecycle) and "After an
interrupted run"; the rules it applies are ``policy/``'s, the requests ``api/``'s.  Served by the
SDK's dynamic-provider host (which pickles it into state) and by the provider plugin.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

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

from applivery_pulumi import orphan
from applivery_pulumi.api import errors
from applivery_pulumi.api.settings import Settings
from applivery_pulumi.policy import diff, flags, validate
from applivery_pulumi.policy.fields import IDENTITY, LOOKUP, OPTIONS
from applivery_pulumi.policy.normalize import document_to_state, metadata
from applivery_pulumi.policy.values import is_unknown, plain
from applivery_pulumi.text import printable

if TYPE_CHECKING:
    from applivery_pulumi.api.client import AppliveryClient


P = ParamSpec("P")
R = TypeVar("R")
Warn = Callable[[str], None]

# Said by the first delete of a process (the SDK's host and the plugin each serve a run from one
# process; that delete takes the lock for good): the engine reports each policy as "deleted".
RELEASED: Final = (
    'applivery: Pulumi says "deleted", but nothing is deleted in Applivery: a policy removed '
    "from the stack is released, left in Applivery as it is (with restoreOnDelete: as it was "
    "before adoption)"
)
_RELEASE_TOLD: Final = threading.Lock()


def short_errors(method: Callable[P, R]) -> Callable[P, R]:
    """``method``, counted as a call in flight, whose ``AppliveryError`` leaves with no chain and
    a traceback of one frame: the SDK's host prints the traceback of whatever it catches, and the
    user needs the sentence at its end, not the client's frames (tenacity, httpx, futures)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with orphan.IN_FLIGHT:
            try:
                return method(*args, **kwargs)
            except errors.AppliveryError as exc:
                raise exc.with_traceback(None) from None

    return wrapper


class PolicyDiffResult(DiffResult):
    """A ``DiffResult`` with the declared paths that differ (for detailed diffs)."""

    def __init__(self, changes: bool, replaces: list[str], paths: list[str]) -> None:
        super().__init__(
            changes=changes, replaces=replaces, stables=[], delete_before_replace=False
        )
        self.paths = paths

    def detailed(self) -> dict[str, bool]:
        """Each changed path, and whether it replaces the resource (an identity field)."""
        replaces = set(self.replaces or ())
        return {path: path in replaces for path in self.paths}

    def properties(self) -> list[str]:
        """The top-level properties the changed paths are in."""
        return sorted({diff.top_level(path) for path in self.paths})


def _check_restorable(old: dict[str, Any], new: dict[str, Any]) -> None:
    problem = validate.restore_problem(old, new)
    if problem:
        raise errors.NothingToRestoreError(problem)


def to_stderr(message: str) -> None:
    """The SDK's host has no engine connection for diagnostics; stderr reaches the CLI's log."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


class AppleDevicePolicyProvider(ResourceProvider):
    # Nothing secret is captured (see __reduce__): keep the serialized provider in plain text.
    serialize_as_secret_always = False

    def __init__(self, warn: Warn = to_stderr) -> None:  # the plugin's sends to the engine
        super().__init__()
        self._warn_sink = warn
        self._settings: Settings | None = None
        self._live_client: AppliveryClient | None = None
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type[AppleDevicePolicyProvider], tuple[()]]:
        # Rebuilt by calling the class: no settings, token, client or sink, and no dict at all:
        # the SDK pickles the provider once per resource, each time wrapping the pickler's dict
        # writer once more (pulumi 3.272), so even an empty dict costs O(resources so far) and
        # fails with RecursionError near the 1000th resource of a program.
        return (type(self), ())

    def __repr__(self) -> str:
        return "AppleDevicePolicyProvider()"

    @short_errors
    def configure(self, req: ConfigureRequest) -> None:
        # Neither the SDK's host nor its launcher notices a killed engine (the plugin does).
        if orphan.serving_as_host():
            orphan.watch(orphan.IN_FLIGHT)
        self.use(Settings.load(req.config.get))

    def use(self, settings: Settings) -> None:
        """Serve with ``settings`` from now on (the provider plugin configures through this)."""
        with self._lock:
            self._settings = settings
            client, self._live_client = self._live_client, None
        if client is not None:
            client.close()

    @property
    def settings(self) -> Settings:
        with self._lock:
            if self._settings is None:
                self._settings = Settings.load()
            return self._settings

    def _client(self) -> AppliveryClient:
        settings = self.settings
        with self._lock:
            if self._live_client is None:
                from applivery_pulumi.api.client import AppliveryClient

                self._live_client = AppliveryClient(settings)
            return self._live_client

    def _warn(self, message: str) -> None:
        # Warnings quote the service's names, ids and keys: escaped once, here, for every sink.
        self._warn_sink(printable(message))

    def _warn_flagless(self, inputs: dict[str, Any], declared: dict[str, Any], write: str) -> None:
        """Name each managed app this write sends without managementFlags (see ``flags.py``)."""
        for message in flags.warnings(inputs.get("policyId"), declared, write):
            self._warn(message)

    @short_errors
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        # Canonical, so that a refresh that finds no drift returns exactly these (see read).
        inputs, read_only = validate.canonical(plain(news))
        if "organizationId" not in inputs and self.settings.organization_id:
            inputs["organizationId"] = self.settings.organization_id
        # An AppleDevicePolicy program warns about these itself; the plugin's programs here.
        for path in read_only:
            self._warn(validate.read_only_warning(path))
        if olds and inputs == plain(olds):
            # Checked before (olds are the checked inputs), and validated again by the program:
            # a no-op preview or up never loads the models.
            return CheckResult(inputs, [])
        failures = [CheckFailure(p, r) for p, r in validate.problems(inputs)]
        if not olds and not failures and not inputs.get("importExisting"):
            # A create, which adopts by writing: the engine calls no diff before it.
            self._warn_flagless(inputs, validate.body(inputs), "adoption")
        return CheckResult(inputs, failures)

    @short_errors
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> PolicyDiffResult:
        old = plain(olds)
        new = plain(news)
        replaces = [
            k for k in IDENTITY if k in new and not is_unknown(new[k]) and new[k] != old.get(k)
        ]
        declared = validate.body(new)
        paths = diff.changed_paths(declared, validate.body(old))
        paths += [k for k in IDENTITY if is_unknown(new.get(k))]
        if bool(new.get("restoreOnDelete")) != bool(old.get("restoreOnDelete")):
            paths.append("restoreOnDelete")
            _check_restorable(old, new)
        if replaces:
            if not new.get("importExisting"):  # else the new policy is adopted by reading
                self._warn_flagless(new, declared, "adoption")
        elif any(diff.top_level(path) == "applications" for path in paths):
            self._warn_flagless(new, declared, "update")
        return PolicyDiffResult(bool(replaces or paths), replaces, replaces + paths)

    @short_errors
    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = plain(props)
        if inputs.get("importExisting"):
            return self._adopt_by_reading(inputs)
        org, policy_id = inputs["organizationId"], inputs["policyId"]
        client = self._client()
        pre_adoption = None
        if inputs.get("restoreOnDelete"):
            pre_adoption = self._pre_adoption(policy_id, client.get_policy(org, policy_id))
        declared = validate.body(inputs)
        after = client.put_policy(org, policy_id, validate.wire(declared))
        outs = self._outs(inputs, after, declared, sent=declared)
        if pre_adoption is not None:
            outs["preAdoption"] = pre_adoption
        return CreateResult(policy_id, outs)

    def _adopt_by_reading(self, inputs: dict[str, Any]) -> CreateResult:
        """Adopt a policy that already is as declared: one GET, no write, or a refusal."""
        org, policy_id = inputs["organizationId"], inputs["policyId"]
        document = self._client().get_policy(org, policy_id)
        declared = validate.body(inputs)
        stored = document_to_state(document, declared, names=declared)
        projected: dict[str, Any] = diff.project(stored, declared)
        differing = diff.changed_paths(declared, stored)
        if differing:
            shown = diff.differences(differing, projected, declared)
            raise errors.ImportMismatchError(
                f"policy {policy_id} of organization {org} is marked for import (import_, "
                "import_existing or a policy file's import: true), "
                f"but what Applivery stores differs from the declaration, so nothing was "
                f"written: {shown}. Declare the stored values (`applivery-pulumi export` writes "
                "them), or remove the import mark to write the declaration"
            )
        outs = self._identity(inputs) | projected | metadata(document)
        if inputs.get("restoreOnDelete"):
            outs["preAdoption"] = self._pre_adoption(policy_id, document)
        return CreateResult(policy_id, outs)

    def _pre_adoption(self, policy_id: str, document: dict[str, Any]) -> dict[str, Any]:
        kept = document_to_state(document)
        for message in flags.not_restorable(policy_id, kept):
            self._warn(message)
        return kept

    @short_errors
    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        old, inputs = plain(olds), plain(news)
        _check_restorable(old, inputs)  # restoreOnDelete may have been unknown at preview
        org, policy_id = inputs["organizationId"], inputs["policyId"]
        declared = validate.body(inputs)
        differing = {diff.top_level(p) for p in diff.changed_paths(declared, validate.body(old))}
        sent = {k: v for k, v in declared.items() if k in differing}
        if sent:
            after = self._client().put_policy(org, policy_id, validate.wire(sent))
            outs = self._outs(inputs, after, declared, sent=sent)
        else:
            outs = self._identity(inputs) | validate.body(old) | metadata(old)
        if "preAdoption" in old:
            outs["preAdoption"] = old["preAdoption"]
        return UpdateResult(outs)

    @short_errors
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        known = plain(props)
        lookup = bool(known.pop(LOOKUP, False))
        org, policy_id = self._locate(id_, known)
        try:
            document = self._client().get_policy(org, policy_id)
        except errors.NotFoundError:
            if "policyId" in known:
                self._warn(
                    f"policy {policy_id} of organization {org} no longer exists in Applivery "
                    "(deleted outside Pulumi): refresh removes it from the stack. While the "
                    "program still declares it, the next `pulumi up` tries to adopt it again and "
                    "fails with 3001 (entity not found); to stop managing it, remove its "
                    "declaration (its policy file)"
                )
            return ReadResult("", {})
        identity = self._identity({**known, "organizationId": org, "policyId": policy_id})
        if "policyId" not in known:
            # An import or a lookup: nothing declared, so state takes the whole policy, which is
            # also what an imported policy had before adoption.
            stored = document_to_state(document)
            outs = identity | stored | metadata(document)
            if not lookup:
                outs["preAdoption"] = stored
            return ReadResult(policy_id, outs, identity | stored)
        declared = validate.body(known)
        stored = document_to_state(document, declared, names=declared)
        outs = identity | diff.project(stored, declared) | metadata(document)
        if "preAdoption" in known:
            outs["preAdoption"] = known["preAdoption"]
        drifted = diff.with_drift(declared, stored)
        # No drift, no inputs: the engine keeps the ones it has (the checked declaration), which
        # saves serialising and comparing a second copy of the policy on every refresh.
        return ReadResult(policy_id, outs, None if drifted is None else identity | drifted)

    @short_errors
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if _RELEASE_TOLD.acquire(blocking=False):
            self._warn(RELEASED)
        state = plain(props)
        if not state.get("restoreOnDelete"):
            return
        snapshot = state.get("preAdoption")
        if not isinstance(snapshot, dict) or not validate.body(snapshot):
            self._warn(f"policy {state.get('policyId')}: no pre-adoption configuration to restore")
            return
        with contextlib.suppress(errors.NotFoundError):  # gone already: nothing to restore
            org, policy_id = state["organizationId"], state["policyId"]
            self._client().put_policy(org, policy_id, validate.body(snapshot))

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
        return {k: inputs[k] for k in (*IDENTITY, *OPTIONS) if k in inputs}

    def _outs(
        self,
        inputs: dict[str, Any],
        document: dict[str, Any],
        declared: dict[str, Any],
        *,
        sent: dict[str, Any],
    ) -> dict[str, Any]:
        stored = document_to_state(document, previous=declared, names=declared)
        lost = diff.changed_paths(sent, stored)
        if lost:
            raise errors.NotStoredError(
                f"Applivery accepted the update of policy {inputs['policyId']} of organization "
                f"{inputs['organizationId']} but did not store "
                + ", ".join(lost)
                + ": its stored document differs from what was sent; run `pulumi up` again, "
                "and if it persists, report the field to Applivery"
            )
        projected: dict[str, Any] = diff.project(stored, declared)
        return self._identity(inputs) | projected | metadata(document)
