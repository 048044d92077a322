"""What can go wrong talking to Applivery, keyed by HTTP status and the API's error code.

Every message is one sentence a user can act on.  None of them carries the token, a header or a
request body: exceptions end up in the CLI's output and in logs.
"""

from __future__ import annotations


class AppliveryError(Exception):
    """Base class: ``str(error)`` is the whole message, fit for the CLI."""

    status: int | None = None
    code: int | None = None

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, status={self.status}, code={self.code})"


class ConfigurationError(AppliveryError):
    """A setting is missing or refused (token, base URL, organization), or an id is not one."""


class NothingToRestoreError(AppliveryError):
    """``restoreOnDelete`` turned on for a policy adopted without it: no pre-adoption record."""


class ImportMismatchError(AppliveryError):
    """``importExisting``: the stored policy differs from the declaration, so nothing is written."""


class AuthenticationError(AppliveryError):
    """401: no token (4002) or a token the service rejects (4004)."""


class NotFoundError(AppliveryError):
    """404 / 3001: the organization or the policy does not exist."""


class BadRequestError(AppliveryError):
    """400: the service refused the body."""


class AttachedProfileError(BadRequestError):
    """400 / 5086: attached profiles cannot be added to a policy."""


class SegmentInheritanceError(BadRequestError):
    """400 / 5227: segment inheritance is blocked by existing references."""


class RateLimitedError(AppliveryError):
    """429 after every retry."""

    retry_after: float | None = None


class ServerError(AppliveryError):
    """5xx after every retry."""

    retry_after: float | None = None


class TransportError(AppliveryError):
    """No HTTP answer: DNS, connection refused or dropped, TLS, timeout."""


class InvalidResponseError(AppliveryError):
    """An answer that is not the API's JSON envelope (an HTML page, a proxy, a wrong base URL)."""


class NotStoredError(AppliveryError):
    """The service answered 200 but its stored document lacks a declared value."""


class PaginationError(InvalidResponseError):
    """A policy list whose pages do not lead to an end: a repeated, skipped or garbled page."""


class ResponseTooLargeError(InvalidResponseError):
    """An answer longer, once decoded, than any the API gives (a policy is a few KiB)."""
