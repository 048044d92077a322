"""What can go wrong talking to Applivery: the classes, and the advice for each refusal.

Every message is one sentence a user can act on.  None of them carries the token, a header or a
request body: exceptions end up in the CLI's output and in logs, so whatever a server says is
shown through :func:`server_text` alone.
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

from applivery_pulumi.text import printable

SERVER_TEXT_LIMIT: Final = 300
# A credential after an auth scheme, as a proxy echoing request headers would show it.
_CREDENTIAL: Final = re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s\"',;]+")


class AppliveryError(Exception):
    """Base class: ``str(error)`` is the whole message, fit for the CLI.

    ``run_wide`` is set on a failure that every later call of the run to the same service with
    the same token would meet too (a 401, a base URL that cannot be reached): the short sentence
    those calls quote instead of repeating the whole one (``api/first_failure.py``).
    """

    status: int | None = None
    code: int | None = None
    run_wide: str | None = None

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


class AlreadyFailedError(AppliveryError):
    """A call after a ``run_wide`` failure of the same service and token: not sent, or its
    answer (the same refusal) told in a few words."""


class InvalidResponseError(AppliveryError):
    """An answer that is not the API's JSON envelope (an HTML page, a proxy, a wrong base URL)."""


class NotStoredError(AppliveryError):
    """The service answered 200 but its stored document lacks a declared value."""


class PaginationError(InvalidResponseError):
    """A policy list whose pages do not lead to an end: a repeated, skipped or garbled page."""


class ResponseTooLargeError(InvalidResponseError):
    """An answer longer, once decoded, than any the API gives (a policy is a few KiB)."""


def server_text(text: str, token: str, limit: int = SERVER_TEXT_LIMIT) -> str:
    """``text`` with the token and any credential after an auth scheme replaced by ``[redacted]``,
    control and format characters escaped, cut to ``limit`` characters."""
    if token:
        text = text.replace(token, "[redacted]")
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Advice(NamedTuple):
    """The error a refusal ends as, and its sentence: ``{what}`` is the request's policy or
    organization, ``{said}`` the status, code and message the service gave, ``{check_token}``
    where the token is set.  ``run_wide``: the refusal holds for every call with this token, and
    this is what later calls say of it."""

    kind: type[AppliveryError]
    sentence: str
    run_wide: str | None = None


# Where the token of stack config or the environment is set; an explicit provider of the plugin
# names its own property instead (see ``token_advice``).
CHECK_THE_SETTING: Final = (
    "check applivery:apiToken (`pulumi config set --secret applivery:apiToken <token>`) or "
    "APPLIVERY_API_TOKEN"
)
_REFUSED_KEY: Final = "the service rejected the API token"
_NO_KEY: Final = "no API token reached the service"
# A 401 refuses the token itself, whatever the call; a 403 may be one organization's or one
# permission's (get, update), so it decides only its own call.
_REJECTED: Final = Advice(
    AuthenticationError,
    "Applivery refused {what} {said}: " + _REFUSED_KEY + "; {check_token}",
    _REFUSED_KEY + " {said}",
)
_NOT_FOUND: Final = Advice(
    NotFoundError,
    "{what} was not found {said}: check policyId and organizationId (or "
    "applivery:organizationId), and that the policy exists in the Applivery dashboard",
)
_FAILING: Final = Advice(
    ServerError,
    "Applivery answered {status} for {what} after every retry; the service is failing, try "
    "again later",
)
# By (status, the API's code) as the reference pairs them, then by (status, None); a code under
# another status is not the one the reference documents, so the status decides.  429 and the
# failing 5xx are retried (their classes are what the retry policy retries) and carry no body.
ADVICE: Final[dict[tuple[int, int | None], Advice]] = {
    (400, None): Advice(BadRequestError, "Applivery refused the update of {what} {said}"),
    (400, 5086): Advice(
        AttachedProfileError,
        "Applivery refused the profiles of {what} {said}: attached profiles belong to the "
        "service and cannot be listed in `profiles`; remove their ids",
    ),
    (400, 5227): Advice(
        SegmentInheritanceError,
        "Applivery refused the update of {what} {said}: other policies or devices inherit "
        "from this segment; remove those references in the dashboard, or leave segmentId "
        "and exposeToChildren as they are",
    ),
    (401, None): _REJECTED,
    (401, 4002): Advice(
        AuthenticationError,
        "Applivery refused {what} {said}: " + _NO_KEY + "; {check_token}",
        _NO_KEY + " {said}",
    ),
    (401, 4004): _REJECTED,
    (403, None): Advice(
        AuthenticationError,
        "Applivery refused {what} {said}: the API token lacks the permission "
        "mdm.apple.policy.get / mdm.apple.policy.update",
    ),
    (404, None): _NOT_FOUND,
    (404, 3001): _NOT_FOUND,
    (429, None): Advice(
        RateLimitedError,
        "Applivery kept answering 429 Too Many Requests for {what}; retry later, or pace the "
        "requests with applivery:maxRequestsPerSecond (or lower --parallel)",
    ),
    **{(status, None): _FAILING for status in (500, 502, 503, 504)},
}
_NOT_SERVED: Final = Advice(
    AppliveryError,
    "Applivery answered {status} for {what}: the service cannot serve this request (not "
    "retried); check applivery:baseUrl",
)
_ANSWERED: Final = Advice(AppliveryError, "Applivery answered {status} for {what} {said}")


def token_advice(where: str | None) -> str:
    """What a refused token's sentence asks to check: the token's ``where`` (``the apiToken of
    provider acme``), or :data:`CHECK_THE_SETTING` for stack config and the environment."""
    return CHECK_THE_SETTING if where is None else f"check {where}"


def refusal(
    status: int, error: Any, what: str, token: str, check_token: str = CHECK_THE_SETTING
) -> AppliveryError:
    """The error for an answer of ``status`` whose envelope holds ``error`` (None: no body read),
    about ``what``; the service's message goes through :func:`server_text`."""
    error = error if isinstance(error, dict) else {}
    raw_code = error.get("code")
    code: int | None = None
    if isinstance(raw_code, int) and not isinstance(raw_code, bool):
        code = raw_code
    elif isinstance(raw_code, float) and raw_code.is_integer():  # not inf or nan either
        code = int(raw_code)
    message = server_text(str(error.get("message") or "no message"), token)
    said = f"({status}, {code} {message})" if code is not None else f"({status}, {message})"
    fallback = _NOT_SERVED if status >= 500 else _ANSWERED
    advice = ADVICE.get((status, code)) or ADVICE.get((status, None)) or fallback
    text = advice.sentence.format(what=what, said=said, status=status, check_token=check_token)
    failed = advice.kind(text, status=status, code=code)
    if advice.run_wide is not None:
        failed.run_wide = advice.run_wide.format(said=said)
    return failed
