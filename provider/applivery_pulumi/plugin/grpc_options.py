"""The gRPC options of the plugin's server and its channel to the engine.

The engine's own: a message up to 400 MiB (a large stack's properties travel in one), and an
idle server call kept for 30 minutes.  Written here rather than imported from the SDK's private
``pulumi.runtime._grpc_settings``, which any SDK release may move.
"""

from __future__ import annotations

from typing import Final

GRPC_OPTIONS: Final = (
    ("grpc.max_receive_message_length", 400 * 1024 * 1024),
    ("grpc.server_max_unrequested_time_in_server", 1800),
)
