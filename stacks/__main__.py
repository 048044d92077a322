"""The policy stack: every file of ``policies/`` is one Applivery Apple device policy.

Two inputs come from elsewhere: the segment and the baseline profile are read from the upstream
stack (``platformStack`` config) through a ``StackReference``, and the kiosk policy's name is
computed from another resource's output.  Both are unknown at a first preview and resolve at up.
"""

from pathlib import Path

import pulumi

from applivery_pulumi import (
    AgentConfigurationArgs,
    AppleDevicePolicy,
    AppleDevicePolicyArgs,
    BookmarkArgs,
)
from applivery_pulumi.dynamic.components import PolicySet

config = pulumi.Config()
platform = pulumi.StackReference(config.require("platformStack"))

fleet = PolicySet(
    "fleet",
    Path(__file__).parent / "policies",
    values={
        "segmentId": platform.require_output("segmentId"),
        "baselineProfileId": platform.require_output("baselineProfileId"),
    },
)

corporate = fleet.policies["corporate-ios"]
kiosk = AppleDevicePolicy(
    "kiosk-ipad",
    AppleDevicePolicyArgs(
        policy_id=config.require("kioskPolicyId"),
        name=corporate.name.apply(lambda name: f"Kiosk iPad (baseline: {name})"),
        bookmarks=[
            BookmarkArgs(
                title="Visitor check-in",
                url="https://portal.example.com/check-in",
                description="Front desk self-service",
            )
        ],
        agent_configuration=AgentConfigurationArgs(allow_location=True, app_blacklist=[]),
        expose_to_children=False,
    ),
)

pulumi.export("policies", fleet.summary)
pulumi.export(
    "kiosk", pulumi.Output.all(id=kiosk.policy_id, version=kiosk.version, name=kiosk.name)
)
