"""A typed client of the Applivery policy endpoints: timeouts, retries and errors built in.

Each call runs its attempts under a :class:`~applivery_pulumi.api.retries.RetryPolicy`, each
attempt through a :class:`~applivery_pulumi.api.transport.Transport`, and ends as the API's
``data`` or one :class:`~applivery_pulumi.api.errors.AppliveryError` a user can act on.  The ids
that go into a URL path are checked first, whole, against the reference's id patterns: a path is
never built from an id that could change it (``acme/../..``, a line break).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final, Literal

import httpx

from applivery_pulumi.api import errors
from applivery_pulumi.api.first_failure import PROCESS_FAILURES, FirstFailures, key
from applivery_pulumi.api.pacing import PROCESS_PACERS, Pacer
from applivery_pulumi.api.paths import POLICIES
from applivery_pulumi.api.retries import RetryPolicy
from applivery_pulumi.api.settings import KEYS, Settings
from applivery_pulumi.api.transport import Transport, http_client
from applivery_pulumi.policy.fields import HEX24_RE, ORGANIZATION_ID_RE
from applivery_pulumi.text import shown, version

MAX_PAGES: Final = 10_000


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
    """Thread-safe (httpx.Client is); one per provider process.

    It trusts ``settings`` (a :class:`~applivery_pulumi.api.settings.Settings` is valid once
    made) and needs a token in them.
    """

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
        first_failures: FirstFailures | None = None,
    ) -> None:
        if settings.api_token is None:
            raise errors.ConfigurationError(
                "no Applivery API token is configured: run `pulumi config set --secret "
                "applivery:apiToken <token>` or set APPLIVERY_API_TOKEN"
            )
        token = settings.api_token.get_secret_value()
        self.base_url = settings.base_url
        rate = settings.max_requests_per_second
        self._http = http_client(
            settings.base_url,
            token,
            timeout=timeout,
            user_agent=f"applivery-pulumi/{version()}",
            transport=transport,
        )
        self._transport = Transport(
            self._http,
            base_url=settings.base_url,
            token=token,
            attempt_seconds=timeout,
            pacer=pacer or (PROCESS_PACERS.at(rate) if rate else None),
            check_token=errors.token_advice(_token_origin(settings)),
        )
        self._first_failures = PROCESS_FAILURES if first_failures is None else first_failures
        self._key = key(settings.base_url, token)
        self._retrying = RetryPolicy(
            max_attempts=max_attempts,
            budget=max_total_seconds or settings.max_retry_seconds,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
        )

    @property
    def retries(self) -> int:
        """The waits between attempts so far, over every call."""
        return self._retrying.retries

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
                    f"totalPages {shown(data.get('totalPages'))}, not a page count of at most "
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
                    org, page, f"nextPage {shown(raw_next)}, where {page + 1} comes next"
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

    def _call(self, method: str, path: str, org: str, policy_id: str | None, **kwargs: Any) -> Any:
        _check_ids(org, policy_id)
        what = _what(org, policy_id)

        def attempt() -> Any:
            # Before each attempt, retries included: a failure of the whole run stops them too.
            self._first_failures.check(self._key, what)
            return self._transport.once(method, path, what, **kwargs)

        try:
            return self._retrying.run(attempt)
        except errors.AppliveryError as exc:
            settled = self._first_failures.settle(self._key, exc, what)
            if settled is exc:
                raise
            raise settled from None


def _token_origin(settings: Settings) -> str | None:
    """Where the token was set when it is not stack config or the environment (the property of
    an explicit provider of the plugin); None otherwise."""
    origin = settings.origin.get("api_token")
    return None if origin is None or origin in KEYS["api_token"] else origin


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


def _what(org: str, policy_id: str | None) -> str:
    if policy_id is None:
        return f"the policies of organization {org}"
    return f"policy {policy_id} of organization {org}"


def _document(data: Any, base_url: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.InvalidResponseError(
            f"Applivery at {base_url} answered with a policy that is not an object: "
            "check applivery:baseUrl"
        )
    return data
