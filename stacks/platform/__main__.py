"""The upstream stack: values owned by another team or program (segments, baseline profiles).

In a real organisation this is the stack that manages segments or profiles; here it publishes
them from its config so the policy stack can read them through a ``pulumi.StackReference``.
"""

import pulumi

config = pulumi.Config()
pulumi.export("segmentId", config.require_int("segmentId"))
pulumi.export("baselineProfileId", config.require("baselineProfileId"))
