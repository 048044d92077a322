"""The API paths of the policy endpoints (``shared/spec``), as the client formats them.

The harness and the benchmarks take them from here; the emulator keeps its own copy, since it
stands for the service.
"""

from __future__ import annotations

from typing import Final

POLICIES: Final = "/v1/organizations/{org}/mdm/apple/enterprise/policies"
POLICY: Final = POLICIES + "/{policy_id}"
# The same in the reference's spelling: the emulator counts requests under these.
POLICIES_TEMPLATE: Final = POLICIES.format(org="{organizationId}")
POLICY_TEMPLATE: Final = POLICY.format(org="{organizationId}", policy_id="{admPolicyId}")
