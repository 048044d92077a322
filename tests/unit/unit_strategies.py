"""Hypothesis strategies: valid declared policies, built from the reference's constraints.

Every field of the PUT body can appear, at every level, each optional; strings reach their
maximum lengths, ids follow their patterns, enums take each listed value, and items of the
unordered lists are unique by the identity ``model.py`` documents.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any, Final

from hypothesis import strategies as st

from .unit_support import AGENT_FLAGS

HEX: Final = "0123456789abcdefABCDEF"
hex24 = st.text(HEX, min_size=24, max_size=24)
slug = st.text(string.ascii_letters + string.digits + "-", min_size=3, max_size=20)
organization_id = st.one_of(hex24, slug)

_chars = st.characters(min_codepoint=32, max_codepoint=0x24F, exclude_categories=("Cs",))


def text(limit: int | None = None) -> st.SearchStrategy[str]:
    """Short strings, and strings of exactly the maximum length where there is one."""
    short = st.text(_chars, max_size=12)
    if limit is None:
        return short
    return st.one_of(short, short, st.text(_chars, min_size=limit, max_size=limit))


# Free-form maps (app configuration, updatePolicy, policyFeatures.ios/macos): JSON values.
_keys = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=8).filter(
    lambda k: k != "__provider"
)
_leaves = st.one_of(
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).filter(
        lambda f: not f.is_integer()
    ),
    st.text(_chars, max_size=8),
)
json_value = st.recursive(
    _leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=6,
)
free_map = st.dictionaries(_keys, json_value, max_size=3)


def _optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


date_time = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0).isoformat().replace("+00:00", "Z"))

application_scripts = _optional(
    preInstall=text(), postInstall=text(), audit=text(), enforce=text(), runner=text()
)

application = st.fixed_dictionaries(
    {"admApplication": hex24},
    optional={
        "managed": st.booleans(),
        "managementFlags": st.sampled_from([0, 1, 4, 5]),
        "vpp": st.booleans(),
        "iOSApp": st.booleans(),
        "configuration": free_map,
        "action": st.sampled_from(["forceInstall", "available", "requiredForSetup"]),
        "actionStatus": st.sampled_from(
            ["forceInstall", "available", "requiredForSetup", "available-install"]
        ),
        "scripts": application_scripts,
        "updatePolicy": free_map,
    },
)

book = _optional(type=st.sampled_from(["asset", "store"]), id=text(128))

script = _optional(
    id=text(128),
    type=st.sampled_from(["once", "loop", "onDemand"]),
    loopTime=st.integers(0, 10**7),
    resetDate=date_time,
    arguments=text(),
    argumentsProcessed=text(),
    name=text(256),
    description=text(500),
    runner=text(256),
    scope=st.sampled_from(["user", "machine"]),
)

bookmark = _optional(
    title=text(256), description=text(500), url=text(500), iconBase64=text(), iconUrl=text(500)
)

asset = _optional(
    mdmAssetId=hex24,
    location=text(256),
    assetName=text(256),
    scope=st.sampled_from(["user", "system", "all-users"]),
)

blacklisted_app = _optional(bundleId=text(256), action=st.sampled_from(["block", "remove"]))

agent_configuration = _optional(
    **{flag: st.booleans() for flag in AGENT_FLAGS},
    appBlacklist=st.lists(blacklisted_app, max_size=3, unique_by=lambda b: b.get("bundleId")),
    policyFeatures=_optional(ios=free_map, macos=free_map),
)

body = _optional(
    name=text(256),
    profiles=st.lists(hex24, max_size=4, unique=True),
    applications=st.lists(application, max_size=3, unique_by=lambda a: a["admApplication"]),
    books=st.lists(book, max_size=3, unique_by=lambda b: (b.get("type"), b.get("id"))),
    scripts=st.lists(script, max_size=3),
    bookmarks=st.lists(bookmark, max_size=3),
    assets=st.lists(
        asset, max_size=3, unique_by=lambda a: (a.get("mdmAssetId"), a.get("location"))
    ),
    agentConfiguration=agent_configuration,
    # The reference's own example sends "1": both spellings are valid declarations.
    segmentId=st.one_of(st.integers(0, 10**9), st.integers(0, 10**9).map(str)),
    exposeToChildren=st.booleans(),
)


def declared_policy(policy_id: str) -> st.SearchStrategy[dict[str, Any]]:
    """A valid resource declaration (camelCase, as ``AppleDevicePolicyArgs.wire`` makes it)."""
    identity = _optional(restoreOnDelete=st.booleans())
    return st.tuples(body, identity, st.booleans(), organization_id).map(
        lambda t: {
            **t[0],
            **t[1],
            "policyId": policy_id,
            # Without organizationId the resource takes applivery:organizationId.
            **({"organizationId": t[3]} if t[2] else {}),
        }
    )
