"""A typed client of the Applivery policy endpoints: timeouts, retries and errors built in.

Retries (tenacity) cover 429, 500/502/503/504 and connection-level failures, with exponential
backoff and jitter, honouring ``Retry-After``; the number of attempts and the total time are
bounded so a failing service never gets a storm.  Each attempt has ``timeout`` seconds of wall
clock in all, and reads at most :data:`~applivery_pulumi.api.bounds.MAX_ANSWER_BYTES` of decoded
answer; the waits never run past the retry budget, after which no attempt starts: a call lasts
at most the budget plus one attempt (and the pacer's waits).  Every failure ends as one
:class:`~applivery_pulumi.api.errors.AppliveryError` with a message a user can act on.

What the service (or whatever answers at the base URL) says is untrusted: a server's message is
shown with the token taken out, control characters escaped and at most 300 characters, and no
exception text of httpx reaches the user unless the token is taken out of it too.  The ids that
go into a URL path are checked first, whole, against the reference's id patterns: a path is
never built from an id that could change it (``acme/../..``, a line break).
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Final, Literal

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from applivery_pulumi.api import bounds, errors
from applivery_pulumi.api.paths import POLICIES
from applivery_pulumi.api.settings import Settings, base_url_problem, token_problem
from applivery_pulumi.policy.fields import HEX24_RE, ORGANIZATION_ID_RE
from applivery_pulumi.text import printable, shown, version

RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
MAX_PAGES: Final = 10_000
_RETRYABLE: Final = (errors.RateLimitedError, errors.ServerError, errors.TransportError)
SERVER_TEXT_LIMIT: Final = 300
# A credential after an auth scheme, as a proxy echoing request headers would show it.
_CREDENTIAL: Final = re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s\"',;]+")
# ASCII digits only: str.isdigit also takes '²' and other digits float() refuses.
_SECONDS: Final = re.compile(r"[0-9]+")


def _retry_after(value: str | None) -> float | None:
    """The seconds a ``Retry-After`` value asks for; None for anything else (never an error)."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, OSError, IndexError):
        return None


class _Backoff:
    """``Retry-After`` when the service gives one (capped, plus up to a quarter more, at most a
    second), else exponential backoff with jitter."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._exp = wait_exponential_jitter(multiplier=initial, max=maximum)
        self._max_retry_after = max(maximum, 30.0)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        if isinstance(hinted, float):
            wait = min(hinted, self._max_retry_after)
            # Never earlier than asked, but not all at the same instant either: the requests a
            # rate limit refused together would otherwise all come back in the same second.
            return wait + random.uniform(0.0, min(1.0, 0.25 * wait))  # noqa: S311
        return float(self._exp(state))


class Pacer:
    """At most ``rate`` request starts per second, shared by every thread that holds it.

    A token bucket of ``burst`` slots: each start takes one, waiting its turn when none is left.
    The slot is reserved under the lock and the wait happens outside it, so waiters queue in
    order and each sleeps only its own share.
    """

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = time.monotonic()

    def acquire(self) -> float:
        """Take a slot, sleeping until it is due; returns the seconds slept."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            # Negative: slots owed to earlier callers; this one is due once they are repaid.
            delay = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if delay > 0:
            time.sleep(delay)
        return delay


_PACERS: dict[float, Pacer] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(rate: float) -> Pacer:
    """The process's pacer at ``rate``: every client of one provider process shares it, since
    the engine may build more than one (a dynamic provider per resource, explicit providers)."""
    with _PACERS_LOCK:
        found = _PACERS.get(rate)
        if found is None:
            found = _PACERS[rate] = Pacer(rate)
        return found


def _transport_reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:  # chains may loop back on themselves
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake failed ({text})"
        cause = cause.__cause__ or cause.__context__
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or ("temporary failure in name resolution" in lowered)
        or "getaddrinfo" in lowered
    ):
        return "the host name could not be resolved (DNS)"
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        return f"the TLS handshake failed ({text})"
    if isinstance(exc, httpx.TimeoutException):
        return f"the request timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"the connection failed ({text})"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "the connection was dropped before an answer came"
    return text


def server_text(text: str, token: str, limit: int = SERVER_TEXT_LIMIT) -> str:
    """``text`` with the token and any credential after an auth scheme replaced by ``[redacted]``,
    control and format characters escaped, cut to ``limit`` characters."""
    if token:
        text = text.replace(token, "[redacted]")
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quoted(value: Any) -> str:
    """An id as it may be shown: repr-escaped, at most 60 characters."""
    return shown(value, limit=60)


def _check_ids(org: Any, policy_id: Any) -> None:
    """Refuse ids that do not match the reference's patterns whole, before any URL is built."""
    if not (isinstance(org, str) and ORGANIZATION_ID_RE.fullmatch(org)):
        raise errors.ConfigurationError(
            f"the organization id {_quoted(org)} is not one: an organization id is 24 hexadecimal "
            "characters, or 3 or more letters, digits and '-'; check organizationId (or "
            "applivery:organizationId, or the import id <organizationId>/<policyId>)"
        )
    if policy_id is not None and not (isinstance(policy_id, str) and HEX24_RE.fullmatch(policy_id)):
        raise errors.ConfigurationError(
            f"the policy id {_quoted(policy_id)} is not one: a policy id is 24 hexadecimal "
            "characters; check policyId (or the import id <organizationId>/<policyId>)"
        )


class AppliveryClient:
    """Thread-safe (httpx.Client is); one per provider process."""

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: float = 30.0,
        max_attempts: int = 6,
        max_total_seconds: float | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        transport: httpx.BaseTransport | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        if settings.api_token is None:
            raise errors.ConfigurationError(
                "no Applivery API token is configured: run `pulumi config set --secret "
                "applivery:apiToken <token>` or set APPLIVERY_API_TOKEN"
            )
        # Settings.load refuses both already; settings made otherwise must not get further.
        token = settings.api_token.get_secret_value()
        problem = token_problem(token)
        if problem is not None:
            raise errors.ConfigurationError(f"the API token {problem}: set it again")
        problem = base_url_problem(settings.base_url)
        if problem is not None:
            raise errors.ConfigurationError(f"the base URL {problem}")
        self._secret = settings.api_token
        self.base_url = settings.base_url
        self._max_attempts = max_attempts
        self._attempt_seconds = timeout
        # The retry budget of one request: the caller's, else applivery:maxRetrySeconds.
        self._max_total = max_total_seconds or settings.max_retry_seconds
        self._wait = _Backoff(backoff_initial, backoff_max)
        self.retries = 0
        rate = settings.max_requests_per_second
        self._pacer = pacer or (shared_pacer(rate) if rate else None)
        self._http = httpx.Client(
            base_url=settings.base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                # Only what the bounded reader inflates: httpx would add br and zstd when
                # their packages happen to be installed.
                "Accept-Encoding": "gzip, deflate",
                "User-Agent": f"applivery-pulumi/{version()}",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            # Keep every connection the engine's parallelism opens (httpx keeps 20 by default):
            # with --parallel 32, a dozen requests would otherwise open a new one each time.
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
            transport=transport,
            follow_redirects=False,
            # A plain-http base URL (a local emulator) never negotiates TLS, and loading the CA
            # bundle costs ~20-40 ms of every provider process; any other scheme verifies.
            verify=httpx.URL(settings.base_url).scheme != "http",
        )
        bounds.bound_network(self._http)

    def __repr__(self) -> str:
        return f"AppliveryClient(base_url={self.base_url!r})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("AppliveryClient holds a live connection and a token: it is not picklable")

    def close(self) -> None:
        self._http.close()

    # -- endpoints -------------------------------------------------------------------------------

    def get_policy(self, org: str, policy_id: str) -> dict[str, Any]:
        data = self._call("GET", f"{POLICIES.format(org=org)}/{policy_id}", org, policy_id)
        return _document(data, self.base_url)

    def put_policy(self, org: str, policy_id: str, body: dict[str, Any]) -> dict[str, Any]:
        path = f"{POLICIES.format(org=org)}/{policy_id}"
        data = self._call("PUT", path, org, policy_id, json=body)
        return _document(data, self.base_url)

    def list_policies(self, org: str, *, page: int = 1, limit: int = 50) -> dict[str, Any]:
        data = self._call(
            "GET", POLICIES.format(org=org), org, None, params={"page": page, "limit": limit}
        )
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise errors.InvalidResponseError(
                f"the policy list of organization {org} has no `items`: check applivery:baseUrl"
            )
        return data

    def iter_policies(
        self,
        org: str,
        *,
        limit: int = 50,
        on_page: Callable[[int, int | None], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every policy of the organization, following the pagination to the last page.

        The pages must run 1, 2, 3, … up to ``totalPages`` (when given) and at most
        :data:`MAX_PAGES`: a list that repeats or skips a page, or names no page number, ends
        with :class:`~applivery_pulumi.api.errors.PaginationError` rather than looping.
        """
        page = 1
        while True:
            data = self.list_policies(org, page=page, limit=limit)
            total = _page_number(data.get("totalPages"))
            if total is False or (total is not None and total > MAX_PAGES):
                raise self._pagination(
                    org,
                    page,
                    f"totalPages {_shown(data.get('totalPages'))}, not a page count of at most "
                    f"{MAX_PAGES}",
                )
            if on_page is not None:
                on_page(page, total)
            yield from (item for item in data["items"] if isinstance(item, dict))
            if not data.get("hasNextPage") or not data["items"]:
                return
            raw_next = data.get("nextPage")
            following = page + 1 if raw_next is None else _page_number(raw_next)
            # Only the next page in turn: a repeated page loops, a skipped one loses policies.
            if following is None or following is False or following != page + 1:
                raise self._pagination(
                    org, page, f"nextPage {_shown(raw_next)}, where {page + 1} comes next"
                )
            if total is not None and following > total:
                raise self._pagination(org, page, f"a next page beyond its totalPages {total}")
            if following > MAX_PAGES:
                raise self._pagination(org, page, f"a next page beyond {MAX_PAGES} pages")
            page = following

    def _pagination(self, org: str, page: int, answer: str) -> errors.PaginationError:
        return errors.PaginationError(
            f"the policy list of organization {org} at {self.base_url} answered page {page} "
            f"with {answer}: the list cannot be read to its end; check applivery:baseUrl"
        )

    # -- transport, retries, errors --------------------------------------------------------------

    def _call(self, method: str, path: str, org: str, policy_id: str | None, **kwargs: Any) -> Any:
        _check_ids(org, policy_id)
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts) | stop_after_delay(self._max_total),
            wait=self._wait_within_budget,
            retry=retry_if_exception_type(_RETRYABLE),
            before_sleep=self._count_retry,
            reraise=True,
        )
        return retrying(self._once, method, path, org, policy_id, **kwargs)

    def _wait_within_budget(self, state: RetryCallState) -> float:
        # Never past the budget, however long a Retry-After (or the backoff) would make it.
        left = self._max_total - (state.seconds_since_start or 0.0)
        return max(0.0, min(self._wait(state), left))

    def _count_retry(self, _state: RetryCallState) -> None:
        self.retries += 1

    def _once(self, method: str, path: str, org: str, policy_id: str | None, **kwargs: Any) -> Any:
        if self._pacer is not None:
            # Every attempt takes a slot, retries included: a retry is a request to the limit too.
            self._pacer.acquire()
        deadline = bounds.start(self._attempt_seconds)
        try:
            request = self._http.build_request(method, path, **kwargs)
            response = self._http.send(request, stream=True)
            try:
                body = bounds.read_body(response, deadline)
            finally:
                response.close()
        except bounds.AnswerTooLarge:
            raise errors.ResponseTooLargeError(
                f"Applivery at {self.base_url} answered {method} {path} ({_what(org, policy_id)}) "
                f"with more than {bounds.MAX_ANSWER_BYTES // 2**20} MiB once decoded, where a "
                "policy is a few KiB: the answer was not read further; check applivery:baseUrl",
                status=response.status_code,
            ) from None
        except httpx.TransportError as exc:
            if time.monotonic() >= deadline:
                reason = f"no whole answer came within {self._attempt_seconds:g} s"
            else:
                reason = self._shown(_transport_reason(exc))
            raise errors.TransportError(
                f"could not reach Applivery at {self.base_url}: {reason}; "
                "check applivery:baseUrl and the network"
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # Not an answer that could be read (an undecodable body, ...); httpx's own text may
            # quote the request, so only the kind of failure is shown.
            raise errors.InvalidResponseError(
                f"the request for {_what(org, policy_id)} to Applivery at {self.base_url} failed "
                f"({type(exc).__name__}): check applivery:baseUrl",
            ) from None
        finally:
            bounds.end()
        return _unwrap(response, body, self.base_url, org, policy_id, self._shown)

    def _shown(self, text: str) -> str:
        """Text from a server or an exception, fit for a message: see :func:`server_text`."""
        return server_text(text, self._secret.get_secret_value())


def _page_number(value: Any) -> int | Literal[False] | None:
    """A page number or count of a list answer; ``None`` when absent, ``False`` when garbled.

    Numbers may come as integral floats or digit strings (the service sends ids and numbers
    in both forms); anything else, infinities and absurd counts included, is garbled.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return False
    integral = isinstance(value, float) and value.is_integer()
    digits = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10
    number = int(value) if integral or digits else value
    if isinstance(number, int) and 0 <= number < 10**9:
        return number
    return False


def _shown(value: Any) -> str:
    return shown(value)


def _what(org: str, policy_id: str | None) -> str:
    if policy_id is None:
        return f"the policies of organization {org}"
    return f"policy {policy_id} of organization {org}"


def _json(response: httpx.Response, body: bytes, base_url: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        kind = server_text(
            response.headers.get("content-type", "no content type").split(";")[0], "", 60
        )
        raise errors.InvalidResponseError(
            f"Applivery at {base_url} answered {response.status_code} with {kind}, not the API's "
            "JSON: check applivery:baseUrl (the API root, such as https://api.applivery.io)",
            status=response.status_code,
        ) from None


def _unwrap(
    response: httpx.Response,
    body: bytes,
    base_url: str,
    org: str,
    policy_id: str | None,
    shown: Callable[[str], str],
) -> Any:
    status = response.status_code
    if status == 429:
        err = errors.RateLimitedError(
            f"Applivery kept answering 429 Too Many Requests for {_what(org, policy_id)}; "
            "retry later, or pace the requests with applivery:maxRequestsPerSecond (or lower "
            "--parallel)",
            status=status,
        )
        err.retry_after = _retry_after(response.headers.get("retry-after"))
        raise err
    if status >= 500 and status not in RETRY_STATUSES:
        raise errors.AppliveryError(
            f"Applivery answered {status} for {_what(org, policy_id)}: the service cannot "
            "serve this request (not retried); check applivery:baseUrl",
            status=status,
        )
    if status >= 500:
        failing = errors.ServerError(
            f"Applivery answered {status} for {_what(org, policy_id)} after every retry; "
            "the service is failing, try again later",
            status=status,
        )
        # A 503 may say when to come back, exactly like a 429.
        failing.retry_after = _retry_after(response.headers.get("retry-after"))
        raise failing
    payload = _json(response, body, base_url)
    if not isinstance(payload, dict):
        raise errors.InvalidResponseError(
            f"Applivery at {base_url} answered {status} with JSON that is not the API's envelope: "
            "check applivery:baseUrl",
            status=status,
        )
    if 200 <= status < 300:
        if payload.get("status") is False or "data" not in payload:
            raise errors.InvalidResponseError(
                f"Applivery at {base_url} answered {status} without `data` for "
                f"{_what(org, policy_id)}: check applivery:baseUrl",
                status=status,
            )
        return payload["data"]
    raise _api_error(status, payload, org, policy_id, shown)


def _api_error(
    status: int,
    payload: dict[str, Any],
    org: str,
    policy_id: str | None,
    shown: Callable[[str], str],
) -> errors.AppliveryError:
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    assert isinstance(error, dict)
    raw_code = error.get("code")
    code: int | None = None
    if isinstance(raw_code, int) and not isinstance(raw_code, bool):
        code = raw_code
    elif isinstance(raw_code, float) and raw_code.is_integer():  # not inf or nan either
        code = int(raw_code)
    api_message = shown(str(error.get("message") or "no message"))
    said = f"({status}, {code} {api_message})" if code is not None else f"({status}, {api_message})"
    what = _what(org, policy_id)
    if status == 401 or code in (4002, 4004):
        if code == 4002:
            advice = "no API token reached the service"
        else:
            advice = "the service rejected the API token"
        return errors.AuthenticationError(
            f"Applivery refused {what} {said}: {advice}; check applivery:apiToken "
            "(`pulumi config set --secret applivery:apiToken <token>`) or APPLIVERY_API_TOKEN",
            status=status,
            code=code,
        )
    if status == 403:
        return errors.AuthenticationError(
            f"Applivery refused {what} {said}: the API token lacks the permission "
            "mdm.apple.policy.get / mdm.apple.policy.update",
            status=status,
            code=code,
        )
    if status == 404 or code == 3001:
        return errors.NotFoundError(
            f"{what} was not found {said}: check policyId and organizationId (or "
            "applivery:organizationId), and that the policy exists in the Applivery dashboard",
            status=status,
            code=code,
        )
    if code == 5086:
        return errors.AttachedProfileError(
            f"Applivery refused the profiles of {what} {said}: attached profiles belong to the "
            "service and cannot be listed in `profiles`; remove their ids",
            status=status,
            code=code,
        )
    if code == 5227:
        return errors.SegmentInheritanceError(
            f"Applivery refused the update of {what} {said}: other policies or devices inherit "
            "from this segment; remove those references in the dashboard, or leave segmentId "
            "and exposeToChildren as they are",
            status=status,
            code=code,
        )
    if status == 400:
        return errors.BadRequestError(
            f"Applivery refused the update of {what} {said}", status=status, code=code
        )
    return errors.AppliveryError(
        f"Applivery answered {status} for {what} {said}", status=status, code=code
    )


def _document(data: Any, base_url: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.InvalidResponseError(
            f"Applivery at {base_url} answered with a policy that is not an object: "
            "check applivery:baseUrl"
        )
    return data
