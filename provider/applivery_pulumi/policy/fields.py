"""Names of the policy's fields and outputs, list order rules and id patterns: no pydantic.

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

# Lists whose order carries no meaning, and the fields that identify an item (none: the item
# itself).  Lists not named here (`scripts`, `bookmarks`) keep their order: scripts run, and
# bookmarks show, in the declared order.  ``diff.py`` compares and projects by these.
UNORDERED_LISTS: Final[dict[tuple[str, ...], tuple[str, ...]]] = {
    ("profiles",): (),  # the service returns objects in its own order; the request is a set of ids
    ("applications",): ("admApplication",),  # one assignment per app
    ("books",): ("type", "id"),
    ("assets",): ("mdmAssetId", "location"),
    ("agentConfiguration", "appBlacklist"): ("bundleId",),
}
# Maps the user declares as a whole: compared exactly, a key the server adds is a difference.
EXACT_MAPS: Final[frozenset[tuple[str, ...]]] = frozenset(
    {
        ("applications", "configuration"),
        ("applications", "scripts"),
        ("applications", "updatePolicy"),
        ("agentConfiguration", "policyFeatures", "ios"),
        ("agentConfiguration", "policyFeatures", "macos"),
    }
)

# The reference's id patterns, as it writes them and pydantic applies them (its `$` is the end of
# the text), and the rule they state, for messages.
HEX24: Final = r"^[a-fA-F0-9]{24}$"
ORGANIZATION_ID: Final = r"^(([a-fA-F0-9]{24})|([a-zA-Z0-9\-]{3,}))$"
HEX24_RULE: Final = "a 24-character hexadecimal id"
ORGANIZATION_ID_RULE: Final = f"{HEX24_RULE} or a slug of 3+ letters, digits or '-'"


def _whole(pattern: str) -> re.Pattern[str]:
    # Python's `$` also matches before a trailing newline; `\Z` does not, so `.match` and
    # `.fullmatch` both take whole strings only.
    return re.compile(r"\A(?:" + pattern.removeprefix("^").removesuffix("$") + r")\Z")


# The same patterns for Python's `re`: the client checks ids on refresh and destroy too, which do
# not load the models.
HEX24_RE: Final = _whole(HEX24)
ORGANIZATION_ID_RE: Final = _whole(ORGANIZATION_ID)

# Read-only fields the service derives; accepted in input, never sent, never compared.
READ_ONLY_APPLICATION_FIELDS: Final = frozenset({"actionStatus"})

# Which policy a resource manages.
IDENTITY: Final = ("organizationId", "policyId")
# What the resource declares besides the policy body: never sent, never a reason to update.
OPTIONS: Final = ("restoreOnDelete", "importExisting")
# What the service derives and the resource keeps as outputs.  Timestamps stay the service's
# text: the reference's own examples are not valid RFC 3339.
METADATA: Final = ("version", "createdAt", "updatedAt")
# The metadata each write changes (the service counts versions and stamps the update).
WRITTEN: Final = ("version", "updatedAt")
# The configuration before adoption, kept with restoreOnDelete (which puts it back).
PRE_ADOPTION: Final = "preAdoption"
# Properties that are outputs only: declared by the resource so they exist as Outputs.
OUTPUTS: Final = (*METADATA, PRE_ADOPTION)
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
