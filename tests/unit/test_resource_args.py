"""``AppleDevicePolicyArgs.wire``: snake_case arguments → the API's camelCase properties."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pytest

from applivery_pulumi.dynamic.resource import (
    AgentConfigurationArgs,
    AppleDevicePolicyArgs,
    ApplicationArgs,
    ApplicationScriptsArgs,
    AssetArgs,
    BlacklistedAppArgs,
    BookArgs,
    BookmarkArgs,
    PolicyFeaturesArgs,
    ScriptArgs,
)

from .unit_support import ORG, PID, checked, make_provider

HEX_A = "698f42e5457fafa13d088794"

EXPECTED: dict[str, Any] = {
    "policyId": PID,
    "organizationId": ORG,
    "name": "Corporate",
    "profiles": [HEX_A],
    "applications": [
        {
            "admApplication": HEX_A,
            "managed": True,
            "managementFlags": 5,
            "vpp": True,
            "iOSApp": True,
            "configuration": {"server_url": 1, "CamelKey": {"inner_key": True}},
            "action": "forceInstall",
            "scripts": {"preInstall": "a", "postInstall": "b", "audit": "c", "enforce": "d"},
            "updatePolicy": {"auto_update": True},
        }
    ],
    "books": [{"type": "store", "id": "b1"}],
    "scripts": [
        {
            "id": "s1",
            "type": "loop",
            "loopTime": 60,
            "resetDate": "2026-02-13T14:30:00Z",
            "argumentsProcessed": "x",
            "scope": "machine",
        }
    ],
    "bookmarks": [{"title": "t", "iconBase64": "AAA=", "iconUrl": "https://i"}],
    "assets": [{"mdmAssetId": HEX_A, "assetName": "n", "scope": "all-users"}],
    "agentConfiguration": {
        "allowLocationMacos": True,
        "allowPackageTimeIos": False,
        "allowDeviceInfoBatteryUsageIos": True,
        "allowNetworkStatusMacos": True,
        "appBlacklist": [{"bundleId": "com.x", "action": "remove"}],
        "policyFeatures": {"ios": {"default_view": "apps"}, "macos": {"snake_key": 1}},
    },
    "segmentId": 3,
    "exposeToChildren": False,
    "restoreOnDelete": True,
}


def typed_args() -> AppleDevicePolicyArgs:
    return AppleDevicePolicyArgs(
        policy_id=PID,
        organization_id=ORG,
        name="Corporate",
        profiles=[HEX_A],
        applications=[
            ApplicationArgs(
                adm_application=HEX_A,
                managed=True,
                management_flags=5,
                vpp=True,
                ios_app=True,
                configuration={"server_url": 1, "CamelKey": {"inner_key": True}},
                action="forceInstall",
                scripts=ApplicationScriptsArgs(
                    pre_install="a", post_install="b", audit="c", enforce="d"
                ),
                update_policy={"auto_update": True},
            )
        ],
        books=[BookArgs(type="store", id="b1")],
        scripts=[
            ScriptArgs(
                id="s1",
                type="loop",
                loop_time=60,
                reset_date="2026-02-13T14:30:00Z",
                arguments_processed="x",
                scope="machine",
            )
        ],
        bookmarks=[BookmarkArgs(title="t", icon_base64="AAA=", icon_url="https://i")],
        assets=[AssetArgs(mdm_asset_id=HEX_A, asset_name="n", scope="all-users")],
        agent_configuration=AgentConfigurationArgs(
            allow_location_macos=True,
            allow_package_time_ios=False,
            allow_device_info_battery_usage_ios=True,
            allow_network_status_macos=True,
            app_blacklist=[BlacklistedAppArgs(bundle_id="com.x", action="remove")],
            policy_features=PolicyFeaturesArgs(
                ios={"default_view": "apps"}, macos={"snake_key": 1}
            ),
        ),
        segment_id=3,
        expose_to_children=False,
        restore_on_delete=True,
    )


def snake_dict() -> dict[str, Any]:
    return {
        "policy_id": PID,
        "organization_id": ORG,
        "name": "Corporate",
        "profiles": [HEX_A],
        "applications": [
            {
                "adm_application": HEX_A,
                "managed": True,
                "management_flags": 5,
                "vpp": True,
                "ios_app": True,
                "configuration": {"server_url": 1, "CamelKey": {"inner_key": True}},
                "action": "forceInstall",
                "scripts": {"pre_install": "a", "post_install": "b", "audit": "c", "enforce": "d"},
                "update_policy": {"auto_update": True},
            }
        ],
        "books": [{"type": "store", "id": "b1"}],
        "scripts": [
            {
                "id": "s1",
                "type": "loop",
                "loop_time": 60,
                "reset_date": "2026-02-13T14:30:00Z",
                "arguments_processed": "x",
                "scope": "machine",
            }
        ],
        "bookmarks": [{"title": "t", "icon_base64": "AAA=", "icon_url": "https://i"}],
        "assets": [{"mdm_asset_id": HEX_A, "asset_name": "n", "scope": "all-users"}],
        "agent_configuration": {
            "allow_location_macos": True,
            "allow_package_time_ios": False,
            "allow_device_info_battery_usage_ios": True,
            "allow_network_status_macos": True,
            "app_blacklist": [{"bundle_id": "com.x", "action": "remove"}],
            "policy_features": {"ios": {"default_view": "apps"}, "macos": {"snake_key": 1}},
        },
        "segment_id": 3,
        "expose_to_children": False,
        "restore_on_delete": True,
    }


def test_typed_args_map_to_camel_case_at_every_level() -> None:
    assert AppleDevicePolicyArgs.wire(typed_args()) == EXPECTED


def test_plain_dicts_with_snake_case_keys() -> None:
    assert AppleDevicePolicyArgs.wire(snake_dict()) == EXPECTED


def test_plain_dicts_with_camel_case_keys_are_kept() -> None:
    assert AppleDevicePolicyArgs.wire(EXPECTED) == EXPECTED


def test_typed_and_plain_items_mix() -> None:
    mixed = snake_dict()
    mixed["applications"].append(ApplicationArgs(adm_application="f" * 24, ios_app=False))
    mixed["agent_configuration"]["app_blacklist"].append({"bundleId": "com.y"})
    wired = AppleDevicePolicyArgs.wire(mixed)
    assert wired["applications"][1] == {"admApplication": "f" * 24, "iOSApp": False}
    assert wired["agentConfiguration"]["appBlacklist"][1] == {"bundleId": "com.y"}


def test_the_wired_args_pass_check() -> None:
    assert checked(make_provider(), AppleDevicePolicyArgs.wire(typed_args()))


def test_unset_arguments_are_left_out() -> None:
    wired = AppleDevicePolicyArgs.wire(AppleDevicePolicyArgs(policy_id=PID, name=None))
    assert wired == {"policyId": PID}


def test_unknown_keys_are_kept_for_check_to_report() -> None:
    wired = AppleDevicePolicyArgs.wire({"policy_id": PID, "applications": [{"adm_app": HEX_A}]})
    assert wired["applications"] == [{"adm_app": HEX_A}]
    found = make_provider().check({}, wired).failures
    assert sorted(f.property for f in found) == [
        "applications[0].admApplication",  # the misspelt key did not fill it
        "applications[0].adm_app",
    ]


def test_outputs_pass_through() -> None:
    async def run() -> dict[str, Any]:
        name = pulumi.Output.from_input("Corporate")
        features = pulumi.Output.from_input({"ios": {"x_y": 1}})
        config = pulumi.Output.from_input(
            {"allow_location": True, "app_blacklist": [{"bundle_id": "b"}]}
        )
        app = pulumi.Output.from_input({"adm_application": HEX_A, "ios_app": True})
        wired = AppleDevicePolicyArgs.wire(
            {
                "policy_id": PID,
                "name": name,
                "agent_configuration": config,
                "applications": [app],
                "scripts": pulumi.Output.from_input([{"loop_time": 5}]),
            }
        )
        assert wired["name"] is name  # a scalar Output stays the very same Output
        for key in ("agentConfiguration", "scripts"):
            assert isinstance(wired[key], pulumi.Output)
        assert isinstance(wired["applications"][0], pulumi.Output)
        nested = AgentConfigurationArgs.wire({"policy_features": features})
        return {
            "config": await wired["agentConfiguration"].future(),
            "app": await wired["applications"][0].future(),
            "scripts": await wired["scripts"].future(),
            "name": await wired["name"].future(),
            "features": await nested["policyFeatures"].future(),
        }

    got = asyncio.run(run())
    assert got["config"] == {"allowLocation": True, "appBlacklist": [{"bundleId": "b"}]}
    assert got["app"] == {"admApplication": HEX_A, "iOSApp": True}
    assert got["scripts"] == [{"loopTime": 5}]
    assert got["name"] == "Corporate"
    assert got["features"] == {"ios": {"x_y": 1}}  # free-form map keys stay the user's


@pytest.mark.parametrize(
    ("cls", "snake", "camel"),
    [
        (ApplicationArgs, "ios_app", "iOSApp"),
        (BookmarkArgs, "icon_base64", "iconBase64"),
        (AssetArgs, "mdm_asset_id", "mdmAssetId"),
        (
            AgentConfigurationArgs,
            "allow_device_info_system_info_ios",
            "allowDeviceInfoSystemInfoIos",
        ),
        (ScriptArgs, "arguments_processed", "argumentsProcessed"),
    ],
)
def test_awkward_names(cls: Any, snake: str, camel: str) -> None:
    assert cls.wire({snake: True}) == {camel: True}
    assert cls.wire({camel: True}) == {camel: True}
