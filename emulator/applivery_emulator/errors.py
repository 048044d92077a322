"""Error envelopes and the error codes the emulator answers with.

The codes, those of the API reference and the emulator's own choices, are emulator/README.md's
"Error codes".
"""

from __future__ import annotations

from typing import Any

ENTITY_NOT_FOUND = 3001
VALIDATION_ERROR = 4000
NO_AUTH_TOKEN = 4002
INVALID_TOKEN = 4004
ATTACHED_PROFILE = 5086
SEGMENT_LOCKED = 5227
CONFLICT = 4009

MESSAGES = {
    ENTITY_NOT_FOUND: "Entity not found",
    NO_AUTH_TOKEN: "No auth token",
    INVALID_TOKEN: "Invalid Token",
    ATTACHED_PROFILE: "Attached adm profiles can not be added",
    SEGMENT_LOCKED: "Segment inheritance update is blocked by existing references",
}


class ApiError(Exception):
    """An error answered with the service's error envelope."""

    def __init__(self, status: int, code: int, message: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message if message is not None else MESSAGES.get(code, "Error")
        super().__init__(f"{status} {self.code} {self.message}")

    def envelope(self) -> dict[str, Any]:
        return error_envelope(self.code, self.message)


def error_envelope(code: int, message: str) -> dict[str, Any]:
    return {"status": False, "error": {"code": code, "message": message}}


def not_found() -> ApiError:
    return ApiError(404, ENTITY_NOT_FOUND)


def validation_error(message: str) -> ApiError:
    return ApiError(400, VALIDATION_ERROR, message)
