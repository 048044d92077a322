"""``applivery-pulumi``: tools around the provider.

``applivery-pulumi export --organization ORG --out stacks/policies/`` lists every policy of an
organization (all pages) and writes one policy file per policy in the declared shape, marked
``import: true`` so the next ``pulumi up`` adopts them all without writing to any.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from .errors import AppliveryError
from .model import BODY_FIELDS, HEX24_RE, ORGANIZATION_ID_RE
from .normalize import document_to_state
from .settings import Settings


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "policy"


def policy_file(document: dict[str, Any], organization: str) -> dict[str, Any]:
    """A policy document as a policy file: identity, import mark, then the body fields."""
    state = document_to_state(document)
    out: dict[str, Any] = {"policyId": document["id"], "organizationId": organization}
    out["import"] = True
    out.update((k, state[k]) for k in BODY_FIELDS if k in state)
    return out


def _existing_ids(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in folder.glob("*.y*ml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and isinstance(data.get("policyId"), str):
            found[data["policyId"]] = path
    return found


def export(args: argparse.Namespace) -> int:
    from .client import AppliveryClient

    org = args.organization or Settings.load().organization_id
    if not org or not ORGANIZATION_ID_RE.match(org):
        print("error: --organization (or APPLIVERY_ORGANIZATION_ID) must be an organization id")
        return 2
    settings = Settings.load(lambda key: args.base_url if key == "applivery:baseUrl" else None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    existing = _existing_ids(out)
    written = skipped = 0

    def progress(page: int, pages: int | None) -> None:
        print(f"listing policies of {org}: page {page}/{pages or '?'}", file=sys.stderr)

    try:
        client = AppliveryClient(settings)
        try:
            for document in client.iter_policies(org, limit=args.page_size, on_page=progress):
                policy_id = document.get("id")
                if not isinstance(policy_id, str) or not HEX24_RE.match(policy_id):
                    continue
                target = existing.get(policy_id)
                if target is not None and not args.force:
                    skipped += 1
                    continue
                name = str(document.get("name") or "policy")
                target = target or out / f"{slug(name)}-{policy_id[-6:]}.yaml"
                text = yaml.safe_dump(
                    policy_file(document, org), sort_keys=False, allow_unicode=True
                )
                target.write_text(text, encoding="utf-8")
                written += 1
        finally:
            client.close()
    except AppliveryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {written} policy file(s) to {out}"
        + (f", kept {skipped} existing (use --force to overwrite)" if skipped else "")
        + "; the next `pulumi up` imports them without writing to any"
    )
    return 0


def install_launcher(args: argparse.Namespace) -> int:
    from .launcher import LauncherError, install

    try:
        path = install(args.directory)
    except (LauncherError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {path}; put {path.parent} first on PATH to run this package's host "
        "(the CLI then warns that it uses pulumi-resource-pulumi-python from $PATH)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="applivery-pulumi", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write one policy file per existing policy, for import")
    ex.add_argument("--organization", help="organization id (default APPLIVERY_ORGANIZATION_ID)")
    ex.add_argument("--out", required=True, help="folder of policy files, e.g. stacks/policies/")
    ex.add_argument("--base-url", help="API root (default APPLIVERY_BASE_URL or the public API)")
    ex.add_argument("--page-size", type=int, default=50, help="policies per list request")
    ex.add_argument("--force", action="store_true", help="overwrite files of known policies")
    ex.set_defaults(run=export)
    il = sub.add_parser(
        "install-launcher",
        help="write the dynamic-provider launcher that runs this package's host into a folder",
    )
    il.add_argument("directory", help="a folder to put first on PATH, e.g. ~/.local/lib/pulumi")
    il.set_defaults(run=install_launcher)
    args = parser.parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
