"""Invalid policies, derived from the constraints of the API reference (put-device-policy.txt).

Each :class:`Case` is a valid policy with exactly one thing wrong, and the field path an error
must name.  ``invalid_cases()`` is a hypothesis strategy over every constrained field (types,
ranges, maximum lengths, enums, patterns, dates, unknown fields, null list items, lone
surrogates); ``HAND_PICKED`` adds edge cases chosen by hand.  The expectations come from the
reference, not from the provider's code.
"""

from __future__ import annotations

import copy
import json
import string
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.emulator import new_object_id
from tests.reliability.support import APPS, PROFILES
from tests.unit.unit_support import AGENT_FLAGS

Loc = tuple[str | int, ...]

HEX = "0123456789abcdef"
ASSET = "698f41b2457fafa13d088793"

# Text a user may paste: letters of many scripts, marks, emoji, punctuation, format characters
# (zero-width joiner, right-to-left override) — never a lone surrogate (codec utf-8).
ODD_TEXT = st.characters(
    codec="utf-8", categories=("Lu", "Ll", "Lo", "Mn", "Nd", "No", "Po", "Sm", "So", "Zs", "Cf")
)


def base_policy(policy_id: str | None = None) -> dict[str, Any]:
    """A valid policy that has one item in every list, so every nested path exists."""
    return {
        "policyId": policy_id or new_object_id(),
        "organizationId": "acme-corp",
        "name": "Baseline",
        "profiles": [PROFILES[0]],
        "applications": [
            {
                "admApplication": APPS[0],
                "managed": True,
                "action": "available",
                "configuration": {},
                "scripts": {"preInstall": "echo pre"},
            }
        ],
        "books": [{"type": "store", "id": "book-1"}],
        "scripts": [
            {
                "id": "script-1",
                "type": "loop",
                "loopTime": 60,
                "resetDate": "2026-02-13T14:30:00Z",
                "name": "Compliance",
                "description": "checks",
                "runner": "bash",
                "scope": "machine",
            }
        ],
        "bookmarks": [
            {"title": "Portal", "description": "d", "url": "https://p", "iconUrl": "https://i"}
        ],
        "assets": [
            {"mdmAssetId": ASSET, "location": "/etc/x", "assetName": "x", "scope": "system"}
        ],
        "agentConfiguration": {
            "allowLocation": True,
            "appBlacklist": [{"bundleId": "com.example.game", "action": "block"}],
            "policyFeatures": {"ios": {}, "macos": {}},
        },
        "segmentId": 1,
        "exposeToChildren": False,
        "restoreOnDelete": False,
    }


def path_of(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out.encode("utf-8", "backslashreplace").decode()


@dataclass(frozen=True)
class Case:
    kind: str
    loc: Loc
    value: Any  # what is put at loc; DELETE never used: every case sets a value
    expected_path: str

    def args(self, policy_id: str | None = None) -> dict[str, Any]:
        policy = base_policy(policy_id)
        target: Any = policy
        for part in self.loc[:-1]:
            target = target[part]
        target[self.loc[-1]] = copy.deepcopy(self.value)
        return policy

    @property
    def key(self) -> str:
        return json.dumps([self.kind, list(self.loc), self.value], sort_keys=True, default=str)


# -- the constraints of the reference ----------------------------------------------------------

MAX_LENGTH: dict[Loc, int] = {
    ("name",): 256,
    ("books", 0, "id"): 128,
    ("scripts", 0, "id"): 128,
    ("scripts", 0, "name"): 256,
    ("scripts", 0, "description"): 500,
    ("scripts", 0, "runner"): 256,
    ("bookmarks", 0, "title"): 256,
    ("bookmarks", 0, "description"): 500,
    ("bookmarks", 0, "url"): 500,
    ("bookmarks", 0, "iconUrl"): 500,
    ("assets", 0, "location"): 256,
    ("assets", 0, "assetName"): 256,
    ("agentConfiguration", "appBlacklist", 0, "bundleId"): 256,
}
ENUMS: dict[Loc, tuple[str, ...]] = {
    ("applications", 0, "action"): ("forceInstall", "available", "requiredForSetup"),
    ("books", 0, "type"): ("asset", "store"),
    ("scripts", 0, "type"): ("once", "loop", "onDemand"),
    ("scripts", 0, "scope"): ("user", "machine"),
    ("assets", 0, "scope"): ("user", "system", "all-users"),
    ("agentConfiguration", "appBlacklist", 0, "action"): ("block", "remove"),
}
HEX24_FIELDS: tuple[Loc, ...] = (
    ("policyId",),
    ("profiles", 0),
    ("applications", 0, "admApplication"),
    ("assets", 0, "mdmAssetId"),
)
BOOLEANS: tuple[Loc, ...] = (
    ("exposeToChildren",),
    ("restoreOnDelete",),
    ("applications", 0, "managed"),
    ("applications", 0, "vpp"),
    ("applications", 0, "iOSApp"),
    ("agentConfiguration", "allowLocation"),
    ("agentConfiguration", "allowPackageTimeIos"),
    ("agentConfiguration", "allowNetworkStatusMacos"),
)
STRINGS: tuple[Loc, ...] = (
    *MAX_LENGTH,
    ("applications", 0, "scripts", "preInstall"),
    ("scripts", 0, "arguments"),
    ("bookmarks", 0, "iconBase64"),
)
OBJECTS: tuple[Loc, ...] = (
    ("agentConfiguration",),
    ("applications", 0, "configuration"),
    ("applications", 0, "scripts"),
    ("applications", 0, "updatePolicy"),
    ("agentConfiguration", "policyFeatures"),
    ("agentConfiguration", "policyFeatures", "ios"),
)
LISTS: tuple[Loc, ...] = (
    ("profiles",),
    ("applications",),
    ("books",),
    ("scripts",),
    ("bookmarks",),
    ("assets",),
    ("agentConfiguration", "appBlacklist"),
)
# Where the reference lists the fields one by one: any other key is unknown.
CLOSED_OBJECTS: dict[Loc, frozenset[str]] = {
    # (the resource's outputs are properties too: not "unknown")
    (): frozenset(base_policy()) | {"version", "createdAt", "updatedAt", "preAdoption"},
    ("applications", 0): frozenset(
        [
            "admApplication",
            "managed",
            "managementFlags",
            "vpp",
            "iOSApp",
            "configuration",
            "action",
            "actionStatus",
            "scripts",
            "updatePolicy",
        ]
    ),
    ("applications", 0, "scripts"): frozenset(
        ["preInstall", "postInstall", "audit", "enforce", "runner"]
    ),
    ("scripts", 0): frozenset(
        [
            "id",
            "type",
            "loopTime",
            "resetDate",
            "arguments",
            "argumentsProcessed",
            "name",
            "description",
            "runner",
            "scope",
        ]
    ),
    ("bookmarks", 0): frozenset(["title", "description", "url", "iconBase64", "iconUrl"]),
    ("assets", 0): frozenset(["mdmAssetId", "location", "assetName", "scope"]),
    ("agentConfiguration",): frozenset([*AGENT_FLAGS, "appBlacklist", "policyFeatures"]),
    ("agentConfiguration", "appBlacklist", 0): frozenset({"bundleId", "action"}),
    ("agentConfiguration", "policyFeatures"): frozenset({"ios", "macos"}),
}
ORG_PATTERN_OK = set(string.ascii_letters + string.digits + "-")

# -- strategies ----------------------------------------------------------------------------------

not_a_string = st.one_of(
    st.integers(-1000, 1000),
    st.booleans(),
    st.lists(st.text(max_size=3), min_size=0, max_size=2),
    st.dictionaries(
        st.text(string.ascii_letters, min_size=1, max_size=4), st.integers(), max_size=2
    ),
)
not_a_boolean = st.one_of(
    st.integers(-3, 3),
    st.sampled_from(["true", "false", "yes", "1", "", "True"]),
    st.floats(-10, 10, allow_nan=False).filter(lambda f: not f.is_integer()),
    st.lists(st.booleans(), max_size=1),
)
not_an_object = st.one_of(
    st.integers(-5, 5),
    st.text(ODD_TEXT, max_size=5),
    st.lists(st.integers(), max_size=2),
    st.booleans(),
)
not_a_list = st.one_of(
    st.integers(-5, 5),
    st.text(ODD_TEXT, min_size=1, max_size=5),
    st.booleans(),
    st.dictionaries(st.sampled_from(["a", "id"]), st.integers(), min_size=1, max_size=2),
)
non_hex24 = st.one_of(
    st.text(HEX, min_size=0, max_size=23),  # too short
    st.text(HEX, min_size=25, max_size=40),  # too long
    # 24 characters, at least one not hexadecimal (g-z, unicode digits, full-width, spaces)
    st.tuples(
        st.text(HEX, min_size=23, max_size=23),
        st.sampled_from([*"gGzZ _-", "\u0663", "\uff16", "\uff41", "\u200b", "\u00e9"]),
        st.integers(0, 23),
    ).map(lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]),
    st.integers(0, 10**6),
)
bad_organization = st.one_of(
    st.text(string.ascii_letters + string.digits + "-", min_size=0, max_size=2),  # too short
    st.text(ODD_TEXT, min_size=3, max_size=12).filter(lambda s: not set(s) <= ORG_PATTERN_OK),
    st.integers(0, 999),
)
bad_count = st.one_of(
    st.integers(-(10**9), -1),
    st.floats(0, 10**6, allow_nan=False).filter(lambda f: not f.is_integer()),
    st.booleans(),
    st.text(string.ascii_letters, min_size=1, max_size=6),
)
bad_date = st.one_of(
    st.sampled_from(
        ["yesterday", "2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "2026/02/13 14:30", "14:30"]
    ),
    st.text(string.ascii_letters + " ", min_size=1, max_size=12),
    st.integers(0, 2**31),
)
lone_surrogate = st.characters(categories=("Cs",))


@st.composite
def invalid_cases(draw: st.DrawFn) -> Case:
    kind = draw(
        st.sampled_from(
            [
                "too long",
                "wrong enum",
                "management flags",
                "not hex24",
                "organization",
                "not a boolean",
                "not a string",
                "not an object",
                "not a list",
                "null item",
                "negative or fractional count",
                "bad date",
                "unknown field",
                "lone surrogate",
            ]
        )
    )
    if kind == "too long":
        loc = draw(st.sampled_from(sorted(MAX_LENGTH, key=str)))
        limit = MAX_LENGTH[loc]
        value: Any = draw(st.text(ODD_TEXT, min_size=limit + 1, max_size=limit + 30))
        return Case(kind, loc, value, path_of(loc))
    if kind == "wrong enum":
        loc = draw(st.sampled_from(sorted(ENUMS, key=str)))
        value = draw(
            st.one_of(st.text(ODD_TEXT, max_size=12), st.integers(-3, 3)).filter(
                lambda v: v not in ENUMS[loc]
            )
        )
        return Case(kind, loc, value, path_of(loc))
    if kind == "management flags":
        loc = ("applications", 0, "managementFlags")
        value = draw(
            st.one_of(
                st.integers(-50, 50).filter(lambda n: n not in (0, 1, 4, 5)),
                st.booleans(),
                st.sampled_from(["5", "1", "five"]),
                st.floats(0, 6, allow_nan=False).filter(lambda f: not f.is_integer()),
            )
        )
        return Case(kind, loc, value, path_of(loc))
    if kind == "not hex24":
        loc = draw(st.sampled_from(HEX24_FIELDS))
        return Case(kind, loc, draw(non_hex24), path_of(loc))
    if kind == "organization":
        return Case(kind, ("organizationId",), draw(bad_organization), "organizationId")
    if kind == "not a boolean":
        loc = draw(st.sampled_from(BOOLEANS))
        return Case(kind, loc, draw(not_a_boolean), path_of(loc))
    if kind == "not a string":
        loc = draw(st.sampled_from(STRINGS))
        return Case(kind, loc, draw(not_a_string), path_of(loc))
    if kind == "not an object":
        loc = draw(st.sampled_from(OBJECTS))
        return Case(kind, loc, draw(not_an_object), path_of(loc))
    if kind == "not a list":
        loc = draw(st.sampled_from(LISTS))
        return Case(kind, loc, draw(not_a_list), path_of(loc))
    if kind == "null item":
        loc = (*draw(st.sampled_from(LISTS)), 0)
        return Case(kind, loc, None, path_of(loc))
    if kind == "negative or fractional count":
        loc = draw(st.sampled_from([("segmentId",), ("scripts", 0, "loopTime")]))
        value = draw(bad_count)
        return Case(kind, loc, value, path_of(loc))
    if kind == "bad date":
        loc = ("scripts", 0, "resetDate")
        return Case(kind, loc, draw(bad_date), path_of(loc))
    if kind == "unknown field":
        where = draw(st.sampled_from(sorted(CLOSED_OBJECTS, key=str)))
        # Arguments may be spelled snake_case or camelCase: "Name" or "policy_id" are known.
        known = {k.lower() for k in CLOSED_OBJECTS[where]}
        name = draw(
            st.text(string.ascii_letters + "_", min_size=1, max_size=12).filter(
                lambda n: n.lower().replace("_", "") not in known
            )
        )
        value = draw(st.one_of(st.integers(0, 9), st.text(string.ascii_letters, max_size=5)))
        return Case(kind, (*where, name), value, path_of((*where, name)))
    # lone surrogate: in a known string field, or in a free-form map (value or key)
    char = draw(lone_surrogate)
    text = draw(st.text(string.ascii_letters, max_size=4))
    spot = draw(st.sampled_from(["field", "map value", "map key"]))
    if spot == "field":
        loc = draw(st.sampled_from(STRINGS))
        return Case(kind, loc, text + char, path_of(loc))
    if spot == "map value":
        loc = ("applications", 0, "configuration")
        return Case(kind, loc, {"key": text + char}, path_of((*loc, "key")))
    loc = ("agentConfiguration", "policyFeatures", "ios")
    return Case(kind, loc, {text + char: True}, path_of((*loc, text + char)))


def generated_cases(count: int) -> list[Case]:
    """``count`` distinct cases, the same on every run (derandomized)."""
    found: dict[str, Case] = {}

    @settings(
        max_examples=count * 4,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(invalid_cases())
    def gather(case: Case) -> None:
        if len(found) < count:
            found.setdefault(case.key, case)

    gather()
    assert len(found) == count, f"only {len(found)} distinct cases"
    return list(found.values())


HAND_PICKED: tuple[Case, ...] = (
    Case("wrong type", ("name",), 42, "name"),
    Case("wrong type", ("segmentId",), "one", "segmentId"),
    Case("wrong type", ("segmentId",), True, "segmentId"),
    Case("out of range", ("segmentId",), -1, "segmentId"),
    Case("out of range", ("segmentId",), 1.5, "segmentId"),
    Case("out of range", ("scripts", 0, "loopTime"), -3600, "scripts[0].loopTime"),
    Case("enum", ("applications", 0, "managementFlags"), 3, "applications[0].managementFlags"),
    Case("enum", ("applications", 0, "managementFlags"), True, "applications[0].managementFlags"),
    Case("enum", ("applications", 0, "action"), "install", "applications[0].action"),
    Case("enum", ("books", 0, "type"), "ebook", "books[0].type"),
    Case("enum", ("assets", 0, "scope"), "everyone", "assets[0].scope"),
    Case("too long", ("name",), "é" * 257, "name"),
    Case("too long", ("name",), "👩‍💻" * 86, "name"),  # 258 code points, ZWJ sequences
    Case("too long", ("bookmarks", 0, "url"), "https://x/" + "a" * 491, "bookmarks[0].url"),
    Case("bad id", ("policyId",), "698f41b2457fafa13d08879", "policyId"),
    Case("bad id", ("policyId",), "698f41b2457fafa13d08879z", "policyId"),
    Case("bad id", ("policyId",), "\uff16\uff19\uff18f41b2457fafa13d088793", "policyId"),
    Case("bad id", ("profiles", 0), "698F42E5457FAFA13D08879", "profiles[0]"),
    Case("bad id", ("organizationId",), "ac", "organizationId"),
    Case("bad id", ("organizationId",), "acme corp", "organizationId"),
    Case("unknown", ("colour",), "red", "colour"),
    Case("unknown", ("applications", 0, "bundleId"), "com.x", "applications[0].bundleId"),
    Case("unknown", ("agentConfiguration", "allowCamera"), True, "agentConfiguration.allowCamera"),
    Case("null", ("applications", 0), None, "applications[0]"),
    Case(
        "null",
        ("agentConfiguration", "appBlacklist", 0),
        None,
        "agentConfiguration.appBlacklist[0]",
    ),
    Case("wrong shape", ("agentConfiguration",), ["allowLocation"], "agentConfiguration"),
    Case("wrong shape", ("profiles",), PROFILES[0], "profiles"),
    Case("wrong shape", ("applications", 0, "scripts"), "echo", "applications[0].scripts"),
    Case("bad date", ("scripts", 0, "resetDate"), "2026-02-13T14: 30:00Z", "scripts[0].resetDate"),
    Case("surrogate", ("name",), "Policy \ud800", "name"),
    Case("surrogate", ("scripts", 0, "arguments"), "--x \udfff", "scripts[0].arguments"),
    Case(
        "surrogate",
        ("applications", 0, "updatePolicy"),
        {"channel": "beta\udc00"},
        "applications[0].updatePolicy.channel",
    ),
)
