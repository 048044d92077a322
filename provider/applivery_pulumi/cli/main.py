"""applivery-pulumi: tools around the Applivery Pulumi provider.

applivery-pulumi export --organization ORG --out stacks/policies/ writes one policy file per
policy of an organization, marked import: true; the next pulumi up adopts them all without
writing to any; --skip-managed leaves out the policies a stack manages already.  Exit status: 1
when a policy was not exported, 2 for a bad command line or a setting refused before any request.
"""

# The docstring above is plain text: --help prints it as it is (argparse renders no markup).
# What export writes, and never does, is README's "Policies as data"; each rule is explained
# below where it is enforced.

from __future__ import annotations

import argparse
import re
import secrets
import sys
from pathlib import Path
from typing import Any

import yaml

from applivery_pulumi.api.errors import AppliveryError, ConfigurationError
from applivery_pulumi.api.settings import KEYS, Settings, base_url_problem
from applivery_pulumi.cli.folder import candidates, create, existing_ids, replace
from applivery_pulumi.policy import flags
from applivery_pulumi.policy.fields import (
    BODY_FIELDS,
    HEX24_RE,
    HEX24_RULE,
    ORGANIZATION_ID_RE,
    ORGANIZATION_ID_RULE,
)
from applivery_pulumi.policy.files import (
    PolicyYamlError,
    dump_yaml,
    escape,
    parse_yaml,
)
from applivery_pulumi.policy.normalize import document_to_state
from applivery_pulumi.text import printable, shown


def policy_file(document: dict[str, Any], organization: str) -> dict[str, Any]:
    """A policy document as a policy file: identity, import mark, then the body fields."""
    state = document_to_state(document)
    out: dict[str, Any] = {"policyId": document["id"], "organizationId": organization}
    out["import"] = True
    # Escaped: a name such as `${x}` would otherwise load as a placeholder.
    out.update((k, escape(state[k])) for k in BODY_FIELDS if k in state)
    return out


def _with_flag_notes(data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """``data`` whose flagless managed apps hold a marker where ``managementFlags`` would be,
    and the marker: the dumped text's marker lines become the note (``flags.EXPORT_NOTE``)."""
    # Random, so that no text from the server can pass for it.
    marker = f"flags_note_{secrets.token_hex(8)}"
    found = {i for i, _ in flags.unflagged(data)}
    if not found:
        return data, marker
    apps = list(data["applications"])
    for i in found:
        marked: dict[str, Any] = {}
        for key, value in apps[i].items():
            marked[key] = value
            if key == "managed":
                # After `managed`: never an item's first key, so its line has no "- ".
                marked["managementFlags"] = marker
        apps[i] = marked
    return data | {"applications": apps}, marker


def _note(marker: str, text: str) -> str:
    def comment(found: re.Match[str]) -> str:
        return "\n".join(f"{found.group(1)}# {line}" for line in flags.EXPORT_NOTE)

    return re.sub(rf"^( *)managementFlags: {marker}$", comment, text, flags=re.MULTILINE)


def render(document: dict[str, Any], organization: str) -> tuple[bytes, list[str]]:
    """The file of a policy and, if it would not load back, why (``policyId: problem`` lines).

    A managed app's ``managementFlags`` (which the API never returns) is a comment in the app.
    """
    from applivery_pulumi.dynamic.components import PolicyFileError, policy_from_data

    policy_id = str(document["id"])
    data = policy_file(document, organization)
    try:
        marked, marker = _with_flag_notes(data)
        text = _note(marker, dump_yaml(marked))
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return b"", [f"{policy_id}: cannot be written as YAML ({type(exc).__name__})"]
    blob = text.encode("utf-8")
    # Read back exactly as PolicySet will: the same bounded reader, the same validation.
    try:
        loaded = parse_yaml(blob, policy_id)
        policy_from_data(Path(policy_id), loaded)
    except (PolicyYamlError, PolicyFileError) as exc:
        return b"", str(exc).splitlines()
    if loaded != data:
        return b"", [f"{policy_id}: its file would not load back as the policy it holds"]
    return blob, []


def _settings(base_url: str | None) -> Settings:
    """The environment's settings, ``--base-url`` in place of ``APPLIVERY_BASE_URL``: refused
    before any request (the token goes with each), naming the flag when the flag is wrong."""
    problem = base_url_problem(base_url.strip()) if base_url else None
    if problem is not None:
        raise ConfigurationError(f"--base-url {problem}")
    return Settings.load(lambda key: base_url if key == KEYS["base_url"].config else None)


def export(args: argparse.Namespace) -> int:
    from applivery_pulumi.api.client import AppliveryClient

    def warn(message: str) -> None:
        # Warnings quote the service's ids, names and keys, and the names of files in --out.
        print(f"warning: {printable(message)}", file=sys.stderr)

    try:
        settings = _settings(args.base_url)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    org = args.organization or settings.organization_id
    if not org or not ORGANIZATION_ID_RE.fullmatch(org):
        print(
            f"error: --organization (or {KEYS['organization_id'].env}) must be an organization "
            f"id: {ORGANIZATION_ID_RULE}",
            file=sys.stderr,
        )
        return 2
    managed = None
    if args.skip_managed or args.stack:
        from applivery_pulumi.cli.managed import Managed

        try:
            managed = Managed(args.stack or [None])
        except ConfigurationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        existing, notes = existing_ids(out)
        taken = {p.name.lower() for p in out.iterdir()}
    except OSError as exc:
        print(f"error: --out {out}: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return 2
    for note in notes:
        warn(note)
    written = kept = failed = left_out = 0

    def said(kind: str, policy_id: str, message: str) -> None:
        # One line per policy when stacks were read: which files are new, which left out.
        if managed is not None:
            print(f"{kind}: policy {policy_id}: {printable(message)}", file=sys.stderr)

    done: set[str] = set()

    def progress(page: int, pages: int | None) -> None:
        print(f"listing policies of {org}: page {page}/{pages or '?'}", file=sys.stderr)

    try:
        client = AppliveryClient(settings)
        try:
            for document in client.iter_policies(org, limit=args.page_size, on_page=progress):
                policy_id = document.get("id")
                if not isinstance(policy_id, str) or not HEX24_RE.fullmatch(policy_id):
                    warn(
                        f"a policy with the id {shown(policy_id)} was not exported: a policy "
                        f"id is {HEX24_RULE}"
                    )
                    failed += 1
                    continue
                if policy_id in done:
                    warn(f"policy {policy_id} was listed twice: exported once")
                    continue
                done.add(policy_id)
                owner = managed.owner(org, policy_id) if managed is not None else None
                if owner is not None:
                    left_out += 1
                    said("managed", policy_id, f"{owner}: left out")
                    continue
                target = existing.get(policy_id)
                if target is not None and not args.force:
                    kept += 1
                    said("new", policy_id, f"{target} (exported before, kept): not managed yet")
                    continue
                blob, problems = render(document, org)
                if problems:
                    for problem in problems:
                        warn(f"policy {problem}")
                    warn(f"policy {policy_id} was not exported: its file would not load back")
                    failed += 1
                    continue
                try:
                    if target is not None:
                        replace(target, blob)
                    else:
                        stems = candidates(str(document.get("name") or "policy"), policy_id)
                        target = create(out, stems, blob, taken)
                        if target is None:
                            warn(f"policy {policy_id} was not exported: no free file name")
                            failed += 1
                            continue
                        if target.stem != stems[0]:
                            warn(
                                f"{out / (stems[0] + '.yaml')} is not the export of policy "
                                f"{policy_id}: kept, the policy is in {target.name}"
                            )
                except OSError as exc:
                    warn(
                        f"policy {policy_id} was not exported: {target or out}: "
                        f"{exc.strerror or type(exc).__name__}"
                    )
                    failed += 1
                    continue
                written += 1
                said("new", policy_id, f"{target}: not managed by the stacks read")
        finally:
            client.close()
    except AppliveryError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        print(f"wrote {written} policy file(s) to {out} before the error", file=sys.stderr)
        return 1
    print(
        f"wrote {written} policy file(s) to {out}"
        + (f", kept {kept} existing (use --force to overwrite)" if kept else "")
        + (f", left out {left_out} already managed" if managed is not None else "")
        + (f", {failed} not exported (see the warnings)" if failed else "")
        + "; the next `pulumi up` imports them without writing to any"
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="applivery-pulumi",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write one policy file per existing policy, for import")
    ex.add_argument(
        "--organization", help=f"organization id (default {KEYS['organization_id'].env})"
    )
    ex.add_argument("--out", required=True, help="folder of policy files, e.g. stacks/policies/")
    ex.add_argument(
        "--base-url", help=f"API root (default {KEYS['base_url'].env} or the public API)"
    )
    ex.add_argument("--page-size", type=int, default=50, help="policies per list request")
    ex.add_argument("--force", action="store_true", help="overwrite files of known policies")
    ex.add_argument(
        "--skip-managed",
        action="store_true",
        help="leave out policies the current Pulumi stack manages (`pulumi stack export`)",
    )
    ex.add_argument(
        "--stack",
        action="append",
        metavar="NAME",
        help="leave out policies this stack manages instead (repeatable; implies --skip-managed)",
    )
    ex.set_defaults(run=export)
    args = parser.parse_args(argv)
    status: int = args.run(args)
    return status
