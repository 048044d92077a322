"""The policies Pulumi stacks already manage, for ``applivery-pulumi export --skip-managed``.

A stack's state is what ``pulumi stack export`` prints, run as the user would run it (in the
working directory, on the selected stack or ``--stack``), never with ``--show-secrets``.  It is
untrusted input: read up to a size bound, parsed by pydantic, and only the identity of policy
resources is kept.  A policy resource is the plugin's ``applivery:index:AppleDevicePolicy`` or
the dynamic resource, under its type or, in states written before it had one, as a
``pulumi-python:dynamic:Resource`` whose serialized provider is this package's.  A lookup
(``AppleDevicePolicy.get``, ``external`` in state) manages nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
import subprocess
import tempfile
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, ValidationError

from applivery_pulumi.api.errors import ConfigurationError
from applivery_pulumi.dynamic.resource import AppleDevicePolicy as DynamicPolicy
from applivery_pulumi.plugin.tokens import RESOURCE
from applivery_pulumi.policy.fields import HEX24_RE, ORGANIZATION_ID_RE
from applivery_pulumi.policy.values import PROVIDER_KEY
from applivery_pulumi.text import printable

# A policy's state is a few KiB: this is room for some hundred thousand of them.
MAX_STATE_BYTES: Final = 512 * 1024 * 1024
# What of pulumi's own error output an error quotes.
_MAX_ERROR_BYTES: Final = 4096
# The provider a state kept for a dynamic resource is a base64 pickle: ours names our package.
_MAX_PROVIDER_CHARS: Final = 64 * 1024
_OUR_PACKAGE: Final = __name__.split(".")[0].encode()
_STACK_NAME: Final = re.compile(r"\A[A-Za-z0-9_.][A-Za-z0-9_.\-]*(/[A-Za-z0-9_.\-]+){0,2}\Z")

DYNAMIC_TYPE: Final = f"pulumi-python:{DynamicPolicy._resource_type_name}"
UNTYPED_DYNAMIC: Final = "pulumi-python:dynamic:Resource"

# (organizationId or None when the state names none, policyId in lower case)
Key = tuple[str | None, str]


class _Resource(BaseModel):
    model_config = ConfigDict(extra="ignore")
    urn: str
    type: str
    external: bool = False
    delete: bool = False
    outputs: dict[str, Any] = {}


class _Deployment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resources: list[_Resource] | None = None


class _State(BaseModel):
    model_config = ConfigDict(extra="ignore")
    deployment: _Deployment


def _ours(resource: _Resource) -> bool:
    if resource.type in (RESOURCE, DYNAMIC_TYPE):
        return True
    if resource.type != UNTYPED_DYNAMIC:
        return False
    serialized = resource.outputs.get(PROVIDER_KEY)
    if not isinstance(serialized, str) or len(serialized) > _MAX_PROVIDER_CHARS:
        return False
    try:
        return _OUR_PACKAGE in base64.b64decode(serialized, validate=True)
    except (binascii.Error, ValueError):
        return False


def managed_policies(state: bytes, stack: str) -> dict[Key, str]:
    """The policies a stack's exported ``state`` manages, each with its resource's name."""
    try:
        parsed = _State.model_validate_json(state)
    except ValidationError as exc:
        where = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "the document"
        raise ConfigurationError(
            f"the state of stack {printable(stack)} is not a Pulumi state this export reads "
            f"({printable(where)}: {printable(exc.errors()[0]['msg'])})"
        ) from None
    found: dict[Key, str] = {}
    for resource in parsed.deployment.resources or ():
        if resource.external or resource.delete or not _ours(resource):
            continue
        policy_id = resource.outputs.get("policyId")
        org = resource.outputs.get("organizationId")
        if not isinstance(policy_id, str) or not HEX24_RE.fullmatch(policy_id):
            continue
        if not (isinstance(org, str) and ORGANIZATION_ID_RE.fullmatch(org)):
            org = None
        found.setdefault((org, policy_id.lower()), resource.urn.rsplit("::", 1)[-1])
    return found


def stack_state(stack: str | None) -> bytes:
    """``pulumi stack export`` of ``stack`` (``None``: the selected one), at most the bound."""
    if stack is not None and not _STACK_NAME.fullmatch(stack):
        raise ConfigurationError(
            f"--stack {printable(stack)!r} is not a stack name: letters, digits, '-', '_', '.' "
            "and, for org/project/stack, '/'"
        )
    # One argument `--stack=NAME`: a name is never taken for another flag.
    argv = ["pulumi", "stack", "export", *([f"--stack={stack}"] if stack else [])]
    shown = " ".join(argv)
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(  # noqa: S603 (fixed program and flags, no shell)
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
            )
        except OSError as exc:
            raise ConfigurationError(
                f"--skip-managed runs `{shown}`, which could not start: "
                f"{exc.strerror or type(exc).__name__} (is pulumi on PATH?)"
            ) from None
        assert process.stdout is not None
        with process:
            state = process.stdout.read(MAX_STATE_BYTES + 1)
            if len(state) > MAX_STATE_BYTES:
                process.kill()
                raise ConfigurationError(
                    f"`{shown}` printed more than {MAX_STATE_BYTES // 2**20} MiB: not read"
                )
            status = process.wait()
        if status != 0:
            errors.seek(0)
            said = errors.read(_MAX_ERROR_BYTES).decode("utf-8", "replace").strip()
            last = said.splitlines()[-1] if said else f"exit status {status}"
            raise ConfigurationError(f"`{shown}` failed: {printable(last)}")
    return state


class Managed:
    """The policies the stacks read manage: ``owner`` names the stack and resource of one."""

    def __init__(self, stacks: list[str | None]) -> None:
        self.labels = [stack or "(the selected stack)" for stack in stacks]
        self.policies: dict[Key, str] = {}
        for stack, label in zip(stacks, self.labels, strict=True):
            for key, name in managed_policies(stack_state(stack), label).items():
                self.policies.setdefault(key, f"resource {name} of stack {label}")

    def owner(self, organization: str, policy_id: str) -> str | None:
        key = policy_id.lower()
        return self.policies.get((organization, key)) or self.policies.get((None, key))
