"""Names of the policy body's fields, field paths and id patterns: what needs no pydantic.

The provider process imports this on every operation; the pydantic models (``model.py``) load
only when something is validated or sent (check, create, update), so a refresh or a destroy does
not build them.
"""

from __future__ import annotations

import re
from typing import Final

# Top-level fields of the PUT body, in the order of the reference.
BODY_FIELDS: Final = (
    "name",
    "profiles",
    "applications",
    "books",
    "scripts",
    "bookmarks",
    "assets",
    "agentConfiguration",
    "segmentId",
    "exposeToChildren",
)

# The reference's id patterns (model.HEX24, model.ORGANIZATION_ID) for Python's `re`, where `$`
# also matches before a trailing newline: `\Z` does not, so `.match` and `.fullmatch` both take
# whole strings only.  Here because the client checks ids on refresh and destroy too, which do
# not load the models.
HEX24_RE: Final = re.compile(r"\A[a-fA-F0-9]{24}\Z")
ORGANIZATION_ID_RE: Final = re.compile(r"\A(?:[a-fA-F0-9]{24}|[a-zA-Z0-9\-]{3,})\Z")

# Read-only fields the service derives; accepted in input, never sent, never compared.
READ_ONLY_APPLICATION_FIELDS: Final = frozenset({"actionStatus"})

# Which policy a resource manages.
IDENTITY: Final = ("organizationId", "policyId")
# What the resource declares besides the policy body: never sent, never a reason to update.
OPTIONS: Final = ("restoreOnDelete", "importExisting")
# Properties that are outputs only: declared by the resource so they exist as Outputs.
OUTPUTS: Final = ("version", "createdAt", "updatedAt", "preAdoption")
KNOWN: Final = frozenset({*IDENTITY, *OPTIONS, *BODY_FIELDS, *OUTPUTS})
# The props of ``AppleDevicePolicy.get``: a read-only lookup, which keeps no pre-adoption record.
LOOKUP: Final = "lookup"

Loc = tuple[int | str, ...]


def field_path(loc: Loc) -> str:
    """``("applications", 0, "managementFlags")`` → ``applications[0].managementFlags``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
