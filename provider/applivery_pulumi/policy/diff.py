"""Semantic comparison of a declared policy with what the service stored.

Only what the user declared is compared: a key the user left out, at any depth, is not managed
and never shows as a change.  Which lists ignore order, and which maps compare exactly, is
decided here (``UNORDERED_LISTS``, ``EXACT_MAPS``), keyed by the path in the policy, indexes
left out.

Both sides must already be plain (``values.plain``), the declared side canonical
(``validate.canonical``: no read-only field) and the stored side in the declared shape
(``normalize.document_to_state``): numbers as ints, ``segmentId`` as a number, profiles as ids.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Final

from applivery_pulumi.policy.values import is_unknown

Path = tuple[str, ...]
KeyFn = Callable[[Any], Hashable]


def _field(name: str) -> KeyFn:
    return lambda item: item.get(name) if isinstance(item, dict) else item


def _fields(*names: str) -> KeyFn:
    return lambda item: tuple(item.get(n) for n in names) if isinstance(item, dict) else item


# Lists whose order carries no meaning, and what identifies an item: `profiles` (a set of ids;
# the service returns them as objects, in its own order), `applications` (one assignment per
# app), `books`, `assets`, `appBlacklist`.  Lists not named here compare position by position:
# `scripts` run in the declared order, the home screen shows `bookmarks` in it.
UNORDERED_LISTS: Final[dict[Path, KeyFn]] = {
    ("profiles",): lambda item: item,
    ("applications",): _field("admApplication"),
    ("books",): _fields("type", "id"),
    ("assets",): _fields("mdmAssetId", "location"),
    ("agentConfiguration", "appBlacklist"): _field("bundleId"),
}

# Maps the user declares as a whole: compared exactly, a key the server adds is a difference.
EXACT_MAPS: Final[frozenset[Path]] = frozenset(
    {
        ("applications", "configuration"),
        ("applications", "scripts"),
        ("applications", "updatePolicy"),
        ("agentConfiguration", "policyFeatures", "ios"),
        ("agentConfiguration", "policyFeatures", "macos"),
    }
)


def _same_scalar(a: Any, b: Any) -> bool:
    # bool is an int in Python: True must not equal 1 here.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _exactly_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_exactly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_exactly_equal(x, y) for x, y in zip(a, b, strict=True))
    return _same_scalar(a, b)


def _join(shown: str, key: str) -> str:
    return f"{shown}.{key}" if shown else key


def changed_paths(declared: Any, stored: Any, path: Path = (), shown: str = "") -> list[str]:
    """The paths (``applications[0].managementFlags``) where ``stored`` differs from ``declared``.

    An unknown declared value counts as a change: at preview it may turn out to be anything.
    """
    if is_unknown(declared):
        return [shown]
    if path in EXACT_MAPS:
        return [] if _exactly_equal(declared, stored) else [shown]
    if isinstance(declared, dict):
        if not isinstance(stored, dict):
            return [shown]
        out: list[str] = []
        for key, value in declared.items():
            sub = (*path, key)
            if key not in stored:
                out.append(_join(shown, key))
            else:
                out.extend(changed_paths(value, stored[key], sub, _join(shown, key)))
        return out
    if isinstance(declared, list):
        if not isinstance(stored, list):
            return [shown]
        return _changed_in_list(declared, stored, path, shown)
    return [] if _same_scalar(declared, stored) else [shown]


def _changed_in_list(declared: list[Any], stored: list[Any], path: Path, shown: str) -> list[str]:
    key_of = UNORDERED_LISTS.get(path)
    if len(declared) != len(stored):
        return [shown]
    if key_of is None:
        out: list[str] = []
        for i, (d, s) in enumerate(zip(declared, stored, strict=True)):
            out.extend(changed_paths(d, s, path, f"{shown}[{i}]"))
        return out
    if any(is_unknown(d) for d in declared):
        return [shown]
    by_key = {key_of(s): s for s in stored}
    out = []
    for i, d in enumerate(declared):
        k = key_of(d)
        if k not in by_key:
            out.append(f"{shown}[{i}]")
        else:
            out.extend(changed_paths(d, by_key[k], path, f"{shown}[{i}]"))
    return out


def project(stored: Any, declared: Any, path: Path = ()) -> Any:
    """``stored`` reduced to the shape of ``declared``: what state keeps of the server's document.

    Keys the user did not declare are left out; unordered lists follow the declared order with
    undeclared items (real drift) after them; exact maps and unknowns keep the stored value.
    """
    if is_unknown(declared) or path in EXACT_MAPS:
        return stored
    if isinstance(declared, dict) and isinstance(stored, dict):
        return {k: project(stored[k], v, (*path, k)) for k, v in declared.items() if k in stored}
    if isinstance(declared, list) and isinstance(stored, list):
        key_of = UNORDERED_LISTS.get(path)
        if key_of is None:
            head = [project(s, d, path) for s, d in zip(stored, declared, strict=False)]
            return head + stored[len(declared) :]
        by_key = {key_of(s): s for s in stored}
        matched = [(by_key.pop(key_of(d)), d) for d in declared if key_of(d) in by_key]
        return [project(s, d, path) for s, d in matched] + list(by_key.values())
    return stored


def duplicate_keys(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Items of unordered lists that share an identity: ``(path, message)`` for each repeat."""
    problems: list[tuple[str, str]] = []
    for path, key_of in UNORDERED_LISTS.items():
        container: Any = body
        for part in path[:-1]:
            container = container.get(part) if isinstance(container, dict) else None
        items = container.get(path[-1]) if isinstance(container, dict) else None
        if not isinstance(items, list):
            continue
        seen: dict[Hashable, int] = {}
        for i, item in enumerate(items):
            if is_unknown(item) or (isinstance(item, dict) and any(map(is_unknown, item.values()))):
                continue
            try:
                k = key_of(item)
                first = seen.setdefault(k, i)
            except TypeError:  # unhashable junk: the model reports it
                continue
            if first != i:
                where = ".".join(path)
                problems.append(
                    (
                        f"{where}[{i}]",
                        f"duplicate of {where}[{first}]: each item of {where} must be "
                        "unique, because the service keeps one per identity and order is ignored",
                    )
                )
    return problems
