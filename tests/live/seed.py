"""What the suite's own emulator holds: an organization with two policies set aside for the
suite and a decoy beside them, which the suite must never write to."""

from __future__ import annotations

from typing import Any, Final

ORGANIZATION: Final = "live-suite-org"
WIFI, PASSCODE, VPN = (f"5eed00000000000000000a0{i}" for i in (1, 2, 3))
LISTED: Final = ("5eed000000000000000000b1", "5eed000000000000000000b2")
DECOY: Final = "5eed000000000000000000dd"


def _policy(policy_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": policy_id,
        "name": name,
        "profiles": [WIFI, PASSCODE, VPN],
        "applications": [
            {"admApplication": "5eed000000000000000000c1", "managed": True, "action": "available"},
            {"admApplication": "5eed000000000000000000c2", "action": "available"},
        ],
        "bookmarks": [{"title": "Portal", "url": "https://portal.example"}],
        "agentConfiguration": {"allowLocation": True, "allowPackageTime": True},
        "segmentId": 1,
        "exposeToChildren": True,
        **fields,
    }


def seed(organization: str = ORGANIZATION, listed: tuple[str, ...] = LISTED) -> dict[str, Any]:
    profiles = [
        {"id": pid, "name": name, "type": "single"}
        for pid, name in ((WIFI, "Wi-Fi"), (PASSCODE, "Passcode"), (VPN, "VPN"))
    ]
    policies = [_policy(pid, f"Set aside {i + 1}") for i, pid in enumerate(listed)]
    policies.append(_policy(DECOY, "Decoy: never written", segmentId=2, exposeToChildren=False))
    return {"organizations": [{"id": organization, "profiles": profiles, "policies": policies}]}
