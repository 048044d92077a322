"""``AppleDevicePolicyProvider``: the lifecycle of one Applivery Apple device policy.

There is no create or delete call for policies in the API, so:

* **create adopts**: PUT the declared configuration onto the existing policy (missing → error
  naming policy and organization).  With ``restoreOnDelete`` it first GETs the policy and keeps
  its configuration as ``preAdoption`` in state: that record is made only when it will be used,
  as it costs a request per policy and doubles the size of each policy's state.
* **create with ``importExisting``** (a policy file's ``import: true``) adopts by reading: one GET,
  no write; the stored policy must already equal the declaration (the diff's semantic
  comparison), else the error names every differing field with both values.  This works on any
  dynamic-provider host; ``AppleDevicePolicy`` turns the ``import_`` resource option into it.
* **delete releases** (default): the policy stays as it is and leaves Pulumi's state.  With
  ``restoreOnDelete`` it PUTs the ``preAdoption`` configuration back first.  Turning
  ``restoreOnDelete`` on for a policy adopted without it fails at preview: what it had before
  adoption was never recorded.

check and diff never make a request.  A managed app that declares no ``managementFlags`` is
named (a warning, ``flags.py``) whenever a planned write carries ``applications``: by check for
an adoption (the engine calls no diff before a create), by diff for an update.  update PUTs only
the top-level fields that differ.  Every
PUT is verified against the stored document the service returns: a declared value it accepted but
did not store fails the operation instead of being masked by the next read.  read (refresh) also
returns the inputs the engine keeps: the declaration with the refreshed value of each field that
drifted, which is what ``pulumi preview --diff`` shows on a host that sends no detailed diff.

Every lifecycle method lets an :class:`~applivery_pulumi.api.errors.AppliveryError` out with a
traceback of its own frame only: the SDK's host prints the traceback of whatever it catches, and
the user needs the sentence at its end, not the client's internals.

The provider plugin (``plugin/server.py``) serves this same class to any Pulumi program, configured
through ``use``; its warnings then go to the engine (``warning_sink``) instead of stderr.

The provider is pickled into state by the SDK (dill).  It carries no settings, token or client:
those are made in the provider process by ``configure``; ``__reduce__`` pickles the class alone.
"""

from __future__ import annotations

import functools
import json
import re
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

from applivery_pulumi.api import errors
from applivery_pulumi.api.settings import Settings
from applivery_pulumi.policy import flags, validate
from applivery_pulumi.policy.diff import changed_paths, project
from applivery_pulumi.policy.fields import IDENTITY, LOOKUP, METADATA, OPTIONS
from applivery_pulumi.policy.normalize import document_to_state, metadata
from applivery_pulumi.policy.values import is_unknown, plain
from applivery_pulumi.text import printable

if TYPE_CHECKING:
    from applivery_pulumi.api.client import AppliveryClient


P = ParamSpec("P")
R = TypeVar("R")


_in_flight = [0]
_in_flight_lock = threading.Lock()


def short_errors(method: Callable[P, R]) -> Callable[P, R]:
    """``method``, whose ``AppliveryError`` leaves with a traceback of one frame and no chain.

    It also counts the calls in flight: a process orphaned by its engine lets them end first.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _in_flight_lock:
            _in_flight[0] += 1
        try:
            return method(*args, **kwargs)
        except errors.AppliveryError as exc:
            # The client's frames (tenacity, httpx, futures) say nothing the message does not.
            raise exc.with_traceback(None) from None
        finally:
            with _in_flight_lock:
                _in_flight[0] -= 1

    return wrapper


class PolicyDiffResult(DiffResult):
    """A ``DiffResult`` that also says which declared paths differ (for detailed diffs)."""

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
        return sorted({_top_level(path) for path in self.paths})


def _top_level(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


_PATH_PART: Final = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_ABSENT: Final = object()


def _at(value: Any, path: str) -> Any:
    """The value at a ``changed_paths`` path (``applications[0].managed``), or ``_ABSENT``."""
    for name, index in _PATH_PART.findall(path):
        if name:
            value = value.get(name, _ABSENT) if isinstance(value, dict) else _ABSENT
        else:
            i = int(index)
            value = value[i] if isinstance(value, list) and i < len(value) else _ABSENT
        if value is _ABSENT:
            break
    return value


def _shown(value: Any, limit: int = 160) -> str:
    """A value for a message: JSON, bounded, nothing a terminal would act on."""
    if value is _ABSENT:
        return "(not set)"
    text = json.dumps(value, sort_keys=True, default=str)  # escapes control characters
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


# Where warnings go when a host can show them (the provider plugin sends them to the engine).
warning_sink: Callable[[str], None] | None = None


def _warn(message: str) -> None:
    # Warnings quote the service's names, ids and keys: escaped once, here, for every sink.
    message = printable(message)
    if warning_sink is not None:
        warning_sink(message)
        return
    # A dynamic provider has no engine connection for diagnostics; stderr reaches the CLI's log.
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _warn_flagless(inputs: dict[str, Any], declared: dict[str, Any], write: str) -> None:
    """Name each managed app this write sends without managementFlags (see ``flags.py``)."""
    for message in flags.warnings(inputs.get("policyId"), declared, write):
        _warn(printable(message))


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

    @short_errors
    def configure(self, req: ConfigureRequest) -> None:
        # Called in the dynamic-provider process only (the SDK's host), once it serves:
        # neither the SDK's host nor its launcher notices a killed engine.
        from applivery_pulumi import orphan

        if orphan.serving_as_host():
            orphan.watch(lambda: _in_flight[0])
        self.use(Settings.load(req.config.get))

    def use(self, settings: Settings) -> None:
        """Serve with ``settings`` from now on (the provider plugin configures through this)."""
        with _CLIENT_LOCK:
            self.__dict__["_settings"] = settings
            client: AppliveryClient | None = self.__dict__.pop("_live_client", None)
        if client is not None:
            client.close()

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
                from applivery_pulumi.api.client import AppliveryClient

                client = AppliveryClient(self.settings)
                self.__dict__["_live_client"] = client
        return client

    # -- check -----------------------------------------------------------------------------------

    @short_errors
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        # Canonical, so that a refresh that finds no drift returns exactly these (see read).
        inputs, read_only = validate.canonical(plain(news))
        if "organizationId" not in inputs and self.settings.organization_id:
            inputs["organizationId"] = self.settings.organization_id
        # An AppleDevicePolicy program warns and takes them out itself; other programs (the
        # plugin's) are told here.
        for path in read_only:
            _warn(validate.read_only_warning(path))
        if olds and inputs == plain(olds):
            # Unchanged since this check last passed them (the engine's olds are the checked
            # inputs in state), and the program has validated the declaration again: a no-op
            # preview or up never loads the models.
            return CheckResult(inputs, [])
        failures = [CheckFailure(p, r) for p, r in validate.problems(inputs)]
        if not olds and not failures and not inputs.get("importExisting"):
            # A create, which adopts by writing: the engine calls no diff before it.
            _warn_flagless(inputs, validate.body(inputs), "adoption")
        return CheckResult(inputs, failures)

    # -- diff ------------------------------------------------------------------------------------

    @short_errors
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> PolicyDiffResult:
        old = plain(olds)
        new = plain(news)
        replaces = [
            k for k in IDENTITY if k in new and not is_unknown(new[k]) and new[k] != old.get(k)
        ]
        declared = validate.body(new)
        paths = changed_paths(declared, validate.body(old))
        paths += [k for k in IDENTITY if is_unknown(new.get(k))]
        if bool(new.get("restoreOnDelete")) != bool(old.get("restoreOnDelete")):
            paths.append("restoreOnDelete")
            _check_restorable(old, new)
        if replaces:
            if not new.get("importExisting"):  # else the new policy is adopted by reading
                _warn_flagless(new, declared, "adoption")
        elif any(_top_level(path) == "applications" for path in paths):
            _warn_flagless(new, declared, "update")
        return PolicyDiffResult(bool(replaces or paths), replaces, replaces + paths)

    # -- create / read / update / delete ---------------------------------------------------------

    @short_errors
    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = plain(props)
        if inputs.get("importExisting"):
            return self._adopt_by_reading(inputs)
        org, policy_id = inputs["organizationId"], inputs["policyId"]
        client = self._client()
        pre_adoption = None
        if inputs.get("restoreOnDelete"):
            pre_adoption = document_to_state(client.get_policy(org, policy_id))
            self._warn_flags_not_restorable(pre_adoption, policy_id)
        declared = validate.body(inputs)
        after = client.put_policy(org, policy_id, self._wire(declared))
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
        projected: dict[str, Any] = project(stored, declared)
        differing = changed_paths(declared, stored)
        if differing:
            shown = "; ".join(
                f"{printable(path)}: stored {_shown(_at(projected, path))}, declared "
                f"{_shown(_at(declared, path))}"
                for path in differing
            )
            raise errors.ImportMismatchError(
                f"policy {policy_id} of organization {org} is marked for import (import_, "
                "import_existing or a policy file's import: true), "
                f"but what Applivery stores differs from the declaration, so nothing was "
                f"written: {shown}. Declare the stored values (`applivery-pulumi export` writes "
                "them), or remove the import mark to write the declaration"
            )
        outs = self._identity(inputs) | projected | metadata(document)
        if inputs.get("restoreOnDelete"):
            outs["preAdoption"] = document_to_state(document)
            self._warn_flags_not_restorable(outs["preAdoption"], policy_id)
        return CreateResult(policy_id, outs)

    @staticmethod
    def _warn_flags_not_restorable(pre_adoption: dict[str, Any], policy_id: str) -> None:
        apps = pre_adoption.get("applications")
        managed = [
            str(app.get("admApplication"))
            for app in (apps if isinstance(apps, list) else [])
            if isinstance(app, dict) and app.get("managed") is True
        ]
        if managed:
            _warn(
                f"policy {policy_id}: restore_on_delete cannot restore the managementFlags of "
                f"managed application(s) {printable(', '.join(managed))[:400]}: the API does not "
                "return them, so the restore leaves them out and Applivery applies its default (5)"
            )

    @short_errors
    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        old, inputs = plain(olds), plain(news)
        _check_restorable(old, inputs)  # restoreOnDelete may have been unknown at preview
        org, policy_id = inputs["organizationId"], inputs["policyId"]
        declared = validate.body(inputs)
        differing = {_top_level(p) for p in changed_paths(declared, validate.body(old))}
        sent = {k: v for k, v in declared.items() if k in differing}
        if sent:
            after = self._client().put_policy(org, policy_id, self._wire(sent))
            outs = self._outs(inputs, after, declared, sent=sent)
        else:
            outs = (
                self._identity(inputs)
                | validate.body(old)
                | {k: old[k] for k in METADATA if k in old}
            )
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
                _warn(
                    f"policy {policy_id} of organization {org} no longer exists in Applivery "
                    "(deleted outside Pulumi): refresh removes it from the stack. While the "
                    "program still declares it, the next `pulumi up` tries to adopt it again and "
                    "fails with 3001 (entity not found); to stop managing it, remove its "
                    "declaration (its policy file)"
                )
            return ReadResult("", {})
        identity = self._identity({**known, "organizationId": org, "policyId": policy_id})
        if "policyId" not in known:
            # An import or a lookup: nothing is declared, so state takes the whole policy (and
            # the engine compares an import's declaration with it).  Nothing is written: what is
            # stored now is also what an imported policy had before adoption.
            stored = document_to_state(document)
            outs = identity | stored | metadata(document)
            if not lookup:
                outs["preAdoption"] = stored
            return ReadResult(policy_id, outs, identity | stored)
        declared = validate.body(known)
        stored = document_to_state(document, declared, names=declared)
        projected: dict[str, Any] = project(stored, declared)
        outs = identity | projected | metadata(document)
        if "preAdoption" in known:
            outs["preAdoption"] = known["preAdoption"]
        drifted = [
            name
            for name, value in declared.items()
            if name not in projected or changed_paths({name: value}, stored)
        ]
        if not drifted:
            # No inputs: the engine keeps the ones it has (the checked declaration), which saves
            # serialising and comparing a second copy of the policy on every refresh.
            return ReadResult(policy_id, outs)
        # The inputs the engine keeps: the declaration as last applied, with the stored value of
        # each field that drifted, so `pulumi preview --diff` shows the field with both values
        # on any host.
        inputs = identity | {
            name: projected[name] if name in drifted else value
            for name, value in declared.items()
            if name in projected
        }
        return ReadResult(policy_id, outs, inputs)

    @short_errors
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        state = plain(props)
        if not state.get("restoreOnDelete"):
            return
        snapshot = state.get("preAdoption")
        if not isinstance(snapshot, dict) or not validate.body(snapshot):
            _warn(f"policy {state.get('policyId')}: no pre-adoption configuration to restore")
            return
        try:
            self._client().put_policy(
                state["organizationId"], state["policyId"], validate.body(snapshot)
            )
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
        return {k: inputs[k] for k in (*IDENTITY, *OPTIONS) if k in inputs}

    @staticmethod
    def _wire(declared: dict[str, Any]) -> dict[str, Any]:
        """The PUT body: the validated model, declared fields only, camelCase, JSON types."""
        from applivery_pulumi.policy.model import PolicyBody

        body = PolicyBody.model_validate(declared)
        wire: dict[str, Any]
        wire = body.model_dump(by_alias=True, exclude_unset=True, mode="json")
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
