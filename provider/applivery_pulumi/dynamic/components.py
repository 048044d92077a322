"""Policies as data: a folder of YAML files, one per policy, as ``AppleDevicePolicy`` resources.

The file format is README's "Policies as data"; reading within bounds and the placeholder rule
are ``policy/files.py``'s.  Files are validated when the program runs, with the resource's
rules, so a bad file fails ``pulumi preview`` naming the file and the field path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pulumi

from applivery_pulumi.dynamic.program import ProgramRun
from applivery_pulumi.dynamic.resource import AppleDevicePolicy
from applivery_pulumi.policy.files import PLACEHOLDER as PLACEHOLDER
from applivery_pulumi.policy.files import SUFFIXES as SUFFIXES
from applivery_pulumi.policy.files import PolicyYamlError, read_yaml, unescape
from applivery_pulumi.policy.values import UNKNOWN

_FILE_ONLY: Final = frozenset({"import"})


class PolicyFileError(pulumi.RunError, ValueError):
    """A policy file that cannot be used, with every problem named by file and field path.

    A ``RunError``: Pulumi prints its message alone, without a Python traceback.
    """


@dataclass(frozen=True)
class PolicyFile:
    """One parsed policy file: its resource name, its fields and whether to import it."""

    path: Path
    key: str
    fields: dict[str, Any]
    import_existing: bool


def _placeholders(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        m = PLACEHOLDER.fullmatch(value)
        if m:
            found.add(m.group(1))
    elif isinstance(value, dict):
        for v in value.values():
            _placeholders(v, found)
    elif isinstance(value, list):
        for v in value:
            _placeholders(v, found)


def substitute(value: Any, values: Mapping[str, Any]) -> Any:
    """Replace ``${name}`` strings by ``values[name]`` (which may be an Output), ``$${name}``
    by the literal ``${name}``."""
    if isinstance(value, str):
        m = PLACEHOLDER.fullmatch(value)
        return values[m.group(1)] if m else unescape(value)
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    return value


def load_policy_file(
    path: Path, names: Iterable[str] = (), *, folder: Path | None = None
) -> PolicyFile:
    """Parse and validate one file; ``names`` are the placeholders the caller can fill.

    The file must lie inside ``folder`` (by default the folder it is in), links resolved.
    """
    try:
        raw = read_yaml(path, folder)
    except PolicyYamlError as exc:
        raise PolicyFileError(str(exc)) from None
    return policy_from_data(path, raw, names)


def policy_from_data(path: Path, raw: Any, names: Iterable[str] = ()) -> PolicyFile:
    """Validate the data of the policy file ``path`` as the program would use it."""
    from applivery_pulumi.policy.validate import problems as declaration_problems

    if not isinstance(raw, dict):
        raise PolicyFileError(
            f"{path}: must hold a mapping of policy fields, not {type(raw).__name__}"
        )
    problems: list[str] = []
    used: set[str] = set()
    _placeholders(raw, used)
    known = set(names)
    problems += [
        f"{path}: ${{{name}}} has no value (PolicySet values: {', '.join(sorted(known)) or 'none'})"
        for name in sorted(used - known)
    ]
    import_existing = raw.get("import", False)
    if not isinstance(import_existing, bool):
        problems.append(f"{path}: import: must be true or false")
    fields = {k: v for k, v in raw.items() if k not in _FILE_ONLY}
    # Placeholders are values not known yet: validated like a preview's unknowns.
    probe = substitute(fields, dict.fromkeys(used, UNKNOWN))
    # Without organizationId the resource takes applivery:organizationId, checked at preview.
    probe.setdefault("organizationId", UNKNOWN)
    problems += [f"{path}: {where}: {reason}" for where, reason in declaration_problems(probe)]
    if problems:
        raise PolicyFileError("\n".join(problems))
    return PolicyFile(path, path.stem, fields, bool(import_existing))


def load_policy_files(directory: Path | str, names: Iterable[str] = ()) -> list[PolicyFile]:
    """Every policy file of ``directory``, sorted by name; all problems of all files at once."""
    folder = Path(directory)
    if not folder.is_dir():
        raise PolicyFileError(f"{folder}: no such policy folder")
    names = list(names)
    loaded: list[PolicyFile] = []
    problems: list[str] = []
    # A link is looked at even when it leads nowhere or to a folder: one leading outside is
    # refused by name rather than skipped.
    for path in sorted(
        p for p in folder.iterdir() if p.suffix in SUFFIXES and (p.is_file() or p.is_symlink())
    ):
        try:
            loaded.append(load_policy_file(path, names, folder=folder))
        except PolicyFileError as exc:
            problems.append(str(exc))
    owners: dict[tuple[Any, Any], Path] = {}
    for policy in loaded:
        ident = (policy.fields.get("organizationId"), policy.fields.get("policyId"))
        if ident in owners:
            problems.append(
                f"{policy.path}: policyId {ident[1]} is already managed by {owners[ident]}"
            )
        owners.setdefault(ident, policy.path)
    if problems:
        raise PolicyFileError("\n".join(problems))
    return loaded


class PolicySet(pulumi.ComponentResource):
    """A folder of policy files as ``AppleDevicePolicy`` children, one per file.

    ``policies`` maps each file's stem to its resource; the component's outputs give, per
    policy, its id, version and dashboard-visible name.
    """

    def __init__(
        self,
        name: str,
        directory: Path | str,
        *,
        values: Mapping[str, pulumi.Input[Any]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("applivery:index:PolicySet", name, None, opts)
        values = dict(values or {})
        self.policies: dict[str, AppleDevicePolicy] = {}
        run = ProgramRun.current()
        for policy in load_policy_files(directory, values):
            fields = substitute(policy.fields, values)
            if policy.import_existing:
                fields["importExisting"] = True
            run.validated_elsewhere(f"{name}-{policy.key}")
            self.policies[policy.key] = AppleDevicePolicy(
                f"{name}-{policy.key}", fields, pulumi.ResourceOptions(parent=self)
            )
        self.summary: pulumi.Output[dict[str, Any]] = pulumi.Output.all(
            **{
                key: pulumi.Output.all(id=p.policy_id, version=p.version, name=p.name)
                for key, p in self.policies.items()
            }
        )
        self.register_outputs({"policies": self.summary})
