"""What a program checks of its ``AppleDevicePolicy`` declarations, before the engine sees them.

The engine stops at the first resource whose check fails, so the program validates what it
already knows (``validate.py``'s rules) and reports every problem of every resource at once;
Outputs are left to the provider's check.  It also refuses two resources managing one policy,
which the engine cannot tell apart (:meth:`ProgramRun.sole_owner`).  What one run has seen lives
in one :class:`ProgramRun`, tied to the engine connection.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
from pulumi.runtime.settings import get_monitor

from applivery_pulumi.api.settings import default_organization
from applivery_pulumi.policy import validate
from applivery_pulumi.policy.values import UNKNOWN, plain
from applivery_pulumi.text import printable

Key = tuple[str | None, str]
Problem = tuple[str, str]
# The organization of a resource that names none is the stack config's (the default provider).
FROM_CONFIG: Final = object()


@dataclass
class ProgramRun:
    """The declarations of one program run: sources, claimed policies, rejected resources."""

    monitor: object
    validated: set[str] = field(default_factory=set)
    owners: dict[Key, list[str]] = field(default_factory=dict)
    reported: set[Key] = field(default_factory=set)
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def current(cls) -> ProgramRun:
        """The run of the engine connection: a new run, or new unit-test mocks, start afresh."""
        monitor = get_monitor()
        with _RUN_LOCK:
            if not _RUN or _RUN[0].monitor is not monitor:
                _RUN[:] = [cls(monitor)]
            return _RUN[0]

    def validated_elsewhere(self, resource_name: str) -> None:
        """``resource_name``'s declaration was validated already (``PolicySet``: its file, with
        the file's name in every message); its check does not validate it again."""
        self.validated.add(resource_name)

    # -- inputs ----------------------------------------------------------------------------------

    def checked(
        self,
        resource_name: str,
        props: dict[str, Any],
        problems: Sequence[Problem] = (),
        organization: Any = FROM_CONFIG,
    ) -> dict[str, Any]:
        """``props`` to register: read-only fields out (one warning each), the policy id an Output
        that fails on a duplicate, or, for an invalid declaration, properties that fail its
        registration (every problem is logged first, named by resource and field path).

        ``problems`` are the ones found already (of its resource options); ``organization`` is
        the one of a resource that names none, when its provider is not the default one."""
        apps = props.get("applications")
        if isinstance(apps, list) and any(isinstance(app, dict) for app in apps):
            # Read-only fields go now, warned about once: the provider never sees them.
            kept, removed = validate.canonical({"applications": apps})
            for path in removed:
                pulumi.log.warn(printable(f"{resource_name}: {validate.read_only_warning(path)}"))
            props = props | {"applications": kept["applications"]}
        org = props.get("organizationId")
        if org is None:
            org = (
                default_organization(_stack_config) if organization is FROM_CONFIG else organization
            )
        probe = plain(_known_now(props))
        if "organizationId" not in probe and org is not None:
            probe["organizationId"] = _known_now(org)
        found = list(problems)
        if resource_name not in self.validated:
            found += validate.problems(probe)
        if found:
            for path, reason in found:
                message = f"AppleDevicePolicy {resource_name!r}: {path}: {reason}"
                pulumi.log.error(printable(message))
            # Nothing of an invalid resource goes to the engine (a value gRPC cannot carry would
            # fail there with a traceback): its registration fails with one message instead.
            return {"policyId": self._rejected(resource_name)} | {
                k: None for k in props if k != "policyId"
            }
        # The policy id reaches the engine only once no other resource of the program claims
        # the same policy: a duplicate fails both before anything is sent.
        return props | {"policyId": self.sole_owner(resource_name, org, props["policyId"])}

    def _rejected(self, resource_name: str) -> pulumi.Output[Any]:
        """An Output that fails the registration of an invalid resource, naming all of them."""
        with self.lock:
            self.rejected.append(resource_name)

        def fail(_: Any) -> Any:
            with self.lock:
                names = list(self.rejected)
            shown = ", ".join(repr(n) for n in names[:5])
            if len(names) > 5:
                shown += f" and {len(names) - 5} more"
            raise pulumi.RunError(
                f"{len(names)} AppleDevicePolicy resource(s) have invalid inputs ({shown}), each "
                "problem named above with its field path: fix them; nothing was sent to Applivery"
            )

        return pulumi.Output.from_input(resource_name).apply(fail)

    # -- one resource per policy -----------------------------------------------------------------

    def _claim(self, key: Key, resource_name: str) -> None:
        with self.lock:
            names = self.owners.setdefault(key, [])
            if resource_name not in names:
                names.append(resource_name)

    def _check_sole_owner(self, key: Key, resource_name: str) -> None:
        with self.lock:
            names = list(self.owners.get(key, [resource_name]))
            if len(names) < 2:
                return
            first = key not in self.reported
            self.reported.add(key)
            shared = sum(1 for owners in self.owners.values() if len(owners) > 1)
        if first:
            # Logged once per policy (the program stops at the first error it raises, so a
            # raised message alone would show one duplicate at a time).
            org, policy_id = key
            where = f" of organization {org}" if org else ""
            listed = ", ".join(repr(n) for n in names)
            pulumi.log.error(
                printable(
                    f"AppleDevicePolicy resources {listed} all manage policy {policy_id}{where}: "
                    "a policy is managed by one resource only (else each `pulumi up` overwrites "
                    "the other's configuration); keep one of them"
                )
            )
        raise pulumi.RunError(
            f"{shared} {'policy is' if shared == 1 else 'policies are'} declared by more than one "
            "AppleDevicePolicy resource, each named above: keep one resource per policy"
        )

    def sole_owner(self, resource_name: str, org: Any, policy_id: Any) -> Any:
        """``policy_id`` as an awaitable that fails when another resource claims the same policy:
        the two would overwrite each other on every `pulumi up`, and the engine cannot tell (each
        has its own URN)."""
        if not (isinstance(org, str | None) and isinstance(policy_id, str)):
            return self._owned_output(resource_name, org, policy_id)
        # Policy ids are hexadecimal object ids: the service does not tell 'ABC' from 'abc'.
        key = (org, policy_id.lower())
        self._claim(key, resource_name)
        # Known now: looked at once the program yields to the event loop (every declaration made
        # before then has claimed its policy), through a plain future.  An Output here would be
        # four more tracked tasks per resource, which the SDK waits on one by one at the end.
        loop = asyncio.get_event_loop()
        owned: asyncio.Future[Any] = loop.create_future()

        def settle() -> None:
            with self.lock:
                shared = len(self.owners.get(key, ())) > 1
            if not shared:
                owned.set_result(policy_id)
                return
            # A duplicate fails the way ids known later do (through an Output), so that those
            # are claimed, and named in the error too, before the first failure ends the program.
            checked = asyncio.ensure_future(
                self._owned_output(resource_name, org, policy_id).future()
            )
            checked.add_done_callback(lambda done: _chain(done, owned))

        loop.call_soon(settle)
        return owned

    def _owned_output(self, resource_name: str, org: Any, policy_id: Any) -> pulumi.Output[Any]:
        def check(values: list[Any]) -> Any:
            known_org, known_id = values
            if isinstance(known_org, str | None) and isinstance(known_id, str):
                key = (known_org, known_id.lower())
                self._claim(key, resource_name)
                self._check_sole_owner(key, resource_name)
            return known_id

        return pulumi.Output.all(org, policy_id).apply(check)


def _chain(done: asyncio.Future[Any], target: asyncio.Future[Any]) -> None:
    if done.cancelled():
        target.cancel()
    elif (exc := done.exception()) is not None:
        target.set_exception(exc)
    else:
        target.set_result(done.result())


_RUN: list[ProgramRun] = []
_RUN_LOCK: Final = threading.Lock()


def _stack_config(key: str) -> str | None:
    """The stack config value of ``namespace:name`` (the keys api/settings.py names)."""
    namespace, name = key.split(":", 1)
    return pulumi.Config(namespace).get(name)


def _known_now(value: Any) -> Any:
    """``value`` with what the program does not know yet (Outputs, awaitables) as unknown."""
    if isinstance(value, dict):
        return {k: _known_now(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_known_now(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return UNKNOWN
