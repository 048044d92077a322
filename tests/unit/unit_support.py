"""Shared helpers of the unit tests: a configured provider, engine-shaped values, a fake service.

``FakeApplivery`` answers the policy GET and PUT the way the reference (``shared/spec``) shows the
real service does: profiles come back as full objects (with certificate passwords) in its own
order, ``segmentId`` as a string, ``managementFlags`` 5 added for managed apps and left out by GET,
``actionStatus`` derived, defaults filled in, enrichments added, unordered lists shuffled and
numbers possibly as floats.
"""

from __future__ import annotations

import copy
import random
from typing import Any, Final

import httpx
import respx
from pulumi.dynamic import Config, ConfigureRequest

from applivery_pulumi.lifecycle import AppleDevicePolicyProvider, Warn, to_stderr
from applivery_pulumi.policy.model import BODY_FIELDS

ORG: Final = "598f469d457fafa13d088795"
PID: Final = "698f41b2457fafa13d088793"
BASE: Final = "https://api.applivery.test"
TOKEN: Final = "tok-UNIT-MARKER-5f0c2a9e"
PASSWORD: Final = "cert-PASSWORD-MARKER-77"
SERIALIZED_PROVIDER: Final = "ZGlsbC1ieXRlcw=="  # what the engine passes as __provider
SECRET_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"

AGENT_FLAGS: Final = (
    "allowLocation",
    "allowLocationMacos",
    "allowPackageTime",
    "allowPackageTimeIos",
    "allowPackageTransfer",
    "allowPackageTransferIos",
    "allowDeviceInfoBatteryUsage",
    "allowDeviceInfoBluetooth",
    "allowDeviceInfoSystemInfo",
    "allowDeviceInfoBatteryUsageIos",
    "allowDeviceInfoBluetoothIos",
    "allowDeviceInfoSystemInfoIos",
    "allowNetworkStatusMacos",
    "allowNetworkStatusIos",
)
UNORDERED: Final = ("profiles", "applications", "books", "assets")


def make_provider(warn: Warn = to_stderr, **config: Any) -> AppleDevicePolicyProvider:
    """A provider configured as the engine does; ``key=None`` leaves a setting out."""
    raw = {
        "applivery:apiToken": TOKEN,
        "applivery:baseUrl": BASE,
        "applivery:organizationId": ORG,
    }
    for key, value in config.items():
        name = f"applivery:{key}"
        if value is None:
            raw.pop(name, None)
        else:
            raw[name] = value
    provider = AppleDevicePolicyProvider(warn)
    provider.configure(ConfigureRequest(Config(raw, "proj")))
    return provider


def policy_path(org: str = ORG, policy_id: str = PID) -> str:
    return f"/v1/organizations/{org}/mdm/apple/enterprise/policies/{policy_id}"


def envelope(data: Any) -> dict[str, Any]:
    return {"status": True, "data": data}


def error_envelope(code: int, message: str) -> dict[str, Any]:
    return {"status": False, "error": {"code": code, "message": message}}


def secret(value: Any) -> dict[str, Any]:
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def engine(value: Any) -> Any:
    """``value`` as the engine hands it over: every number a float."""
    if isinstance(value, dict):
        return {k: engine(v) for k, v in value.items()}
    if isinstance(value, list):
        return [engine(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def engine_props(props: dict[str, Any], secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """Engine-shaped properties: floats, the ``__provider`` key, ``secrets`` wrapped."""
    out = engine(props)
    for key in secrets:
        if key in out:
            out[key] = secret(out[key])
    out["__provider"] = SERIALIZED_PROVIDER
    return out


def failures(provider: AppleDevicePolicyProvider, props: dict[str, Any]) -> list[tuple[str, str]]:
    result = provider.check({}, props)
    return [(f.property, f.reason) for f in result.failures]


def checked(provider: AppleDevicePolicyProvider, props: dict[str, Any]) -> dict[str, Any]:
    """The inputs check returns for ``props``; fails the test on any check failure."""
    result = provider.check({}, props)
    found = [(f.property, f.reason) for f in result.failures]
    assert found == [], found
    return result.inputs


def walk(value: Any) -> Any:
    """Every scalar and key of a nested value (for "this never appears anywhere" checks)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from walk(v)
    else:
        yield value


def profile_object(profile_id: str, index: int) -> dict[str, Any]:
    """A profile as the service returns it (shape of the reference's response example)."""
    return {
        "id": profile_id,
        "organization": ORG,
        "admEnterprise": "698f42e5457fafa13d088794",
        "admPolicy": PID,
        "targetType": "device",
        "name": f"Profile {index}",
        "config": {"payload": {"PayloadType": "com.apple.wifi.managed"}},
        "certificates": [
            {
                "mdmAssetId": "698f41b2457fafa13d088793",
                "format": {"uuid": "uuid", "base64": "base64"},
                "location": "/certs/wifi.p12",
                "password": PASSWORD,
                "allowAllAppsAccess": True,
                "keyIsExtractable": False,
            }
        ],
        "type": "attached" if index % 2 else "single",
        "UUID": f"uuid-{index}",
        "version": 2,
        "updatedAt": "2024-01-01T00: 00:00Z",
        "createdAt": "2024-01-01T00: 00:00Z",
        "assignedTo": {"policies": [{"id": PID, "name": "p"}], "devices": []},
        "useCustomFileVaultCertificates": False,
        "parentAdmProfileId": "698f42e5457fafa13d088795",
    }


def _floats(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


class FakeApplivery:
    """The policy endpoints of one policy, with the service's normalisations (see module doc)."""

    def __init__(
        self,
        before: dict[str, Any] | None = None,
        *,
        seed: int = 0,
        org: str = ORG,
        policy_id: str = PID,
        float_numbers: bool = False,
    ) -> None:
        self.org = org
        self.policy_id = policy_id
        self.rng = random.Random(seed)
        self.float_numbers = float_numbers
        self.stored: dict[str, Any] = {}
        self.version = 1
        self.puts: list[dict[str, Any]] = []
        self.raw_puts: list[str] = []
        self.gets = 0
        self.exists = True
        if before:
            self.accept(before)
        self.version = 1

    # -- what the service keeps ------------------------------------------------------------------

    def accept(self, body: dict[str, Any]) -> None:
        for name, value in body.items():
            self.stored[name] = self._store(name, copy.deepcopy(value))
        self.version += 1

    @staticmethod
    def _store(name: str, value: Any) -> Any:
        if name == "applications":
            for app in value:
                app.pop("actionStatus", None)  # read-only: derived on the way out
                for key in ("configuration", "scripts", "updatePolicy"):
                    app.setdefault(key, {})
                if app.get("managed") is True and "managementFlags" not in app:
                    app["managementFlags"] = 5  # what the service sends to devices
        elif name == "scripts":
            for script in value:
                script.setdefault("argumentsProcessed", script.get("arguments", ""))
        elif name == "agentConfiguration":
            for flag in AGENT_FLAGS:
                value.setdefault(flag, False)
            value.setdefault("appBlacklist", [])
            features = value.setdefault("policyFeatures", {})
            features.setdefault("ios", {})
            features.setdefault("macos", {})
        elif name == "segmentId":
            value = int(value)
        return value

    # -- what the service answers ----------------------------------------------------------------

    def document(self, *, echo_flags: bool) -> dict[str, Any]:
        """The policy document: PUT echoes ``managementFlags``, GET does not."""
        doc: dict[str, Any] = {
            "id": self.policy_id,
            "organization": ORG,
            "admEnterprise": "698f42e5457fafa13d088794",
            "targetType": "device",
            "attachedProfile": {"id": "698f42e5457fafa13d088799", "name": "MDM base"},
        }
        for name in BODY_FIELDS:
            if name not in self.stored:
                continue
            value = copy.deepcopy(self.stored[name])
            if name == "profiles":
                value = [profile_object(p, i) for i, p in enumerate(value)]
            elif name == "applications":
                for app in value:
                    if "action" in app:
                        action = app["action"]
                        app["actionStatus"] = (
                            "available-install" if action == "available" else action
                        )
                    if not echo_flags:
                        app.pop("managementFlags", None)
            elif name == "segmentId":
                value = str(value)
            elif name == "agentConfiguration":
                self.rng.shuffle(value["appBlacklist"])
            if name in UNORDERED:
                self.rng.shuffle(value)
            doc[name] = value
        doc["applicationsInfo"] = [
            {"id": a.get("admApplication"), "name": "App", "icon": "https://cdn/icon.png"}
            for a in doc.get("applications", [])
        ]
        doc["booksInfo"] = [{"title": "Book"} for _ in doc.get("books", [])]
        doc["scriptsInfo"] = [{"lastRun": "2026-02-13T14: 30:00Z"} for _ in doc.get("scripts", [])]
        doc["assetsInfo"] = [{"size": 1024} for _ in doc.get("assets", [])]
        doc["version"] = self.version
        doc["createdAt"] = "2026-02-13T10: 00:00Z"
        doc["updatedAt"] = f"2026-02-13T14: 30:{self.version % 60:02d}Z"
        return _floats(doc) if self.float_numbers else doc

    # -- respx -----------------------------------------------------------------------------------

    def on_get(self, _request: httpx.Request) -> httpx.Response:
        self.gets += 1
        if not self.exists:
            return httpx.Response(404, json=error_envelope(3001, "Entity not found"))
        return httpx.Response(200, json=envelope(self.document(echo_flags=False)))

    def on_put(self, request: httpx.Request) -> httpx.Response:
        import json

        self.raw_puts.append(request.content.decode())
        body = json.loads(request.content)
        self.puts.append(body)
        if not self.exists:
            return httpx.Response(404, json=error_envelope(3001, "Entity not found"))
        self.accept(body)
        return httpx.Response(200, json=envelope(self.document(echo_flags=True)))

    def install(self, router: respx.MockRouter) -> FakeApplivery:
        path = policy_path(self.org, self.policy_id)
        router.get(f"{BASE}{path}").mock(side_effect=self.on_get)
        router.put(f"{BASE}{path}").mock(side_effect=self.on_put)
        return self


def mocked() -> respx.MockRouter:
    """A respx router where any request without a route fails the test (no network, ever)."""
    return respx.mock(assert_all_mocked=True, assert_all_called=False)
