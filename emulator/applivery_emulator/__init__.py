"""Applivery API emulator: a local stand-in for the Apple device policy endpoints.

Run it with ``applivery-emulator --token TOKEN`` (see emulator/README.md); build the ASGI app
in-process with :func:`create_app`.
"""

__version__ = "0.1.0"

from .app import Settings, create_app

__all__ = ["Settings", "__version__", "create_app"]
