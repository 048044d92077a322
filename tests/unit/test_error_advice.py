"""Each answer the client refuses ends as one error class and one sentence (issue 28, point 6).

The sentences are the ones users meet in the CLI's output: they are held word for word here, so
moving the advice into a table (``api/errors.py``) changes none of them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from applivery_pulumi.api import errors
from applivery_pulumi.api.client import AppliveryClient
from applivery_pulumi.api.settings import Secret, Settings

from .unit_support import BASE, ORG, PID, TOKEN, mocked, policy_path

WHAT = f"policy {PID} of organization {ORG}"
TOKEN_HELP = (
    "check applivery:apiToken (`pulumi config set --secret applivery:apiToken <token>`) or "
    "APPLIVERY_API_TOKEN"
)
NOT_FOUND_HELP = (
    "check policyId and organizationId (or applivery:organizationId), and that the policy "
    "exists in the Applivery dashboard"
)
ANSWERS: list[tuple[int, dict[str, Any] | None, type[errors.AppliveryError], str]] = [
    (
        400,
        {"code": 5086, "message": "Attached adm profiles can not be added"},
        errors.AttachedProfileError,
        f"Applivery refused the profiles of {WHAT} (400, 5086 Attached adm profiles can not be "
        "added): attached profiles belong to the service and cannot be listed in `profiles`; "
        "remove their ids",
    ),
    (
        400,
        {"code": 5227, "message": "Segment inheritance update is blocked by existing references"},
        errors.SegmentInheritanceError,
        f"Applivery refused the update of {WHAT} (400, 5227 Segment inheritance update is blocked "
        "by existing references): other policies or devices inherit from this segment; remove "
        "those references in the dashboard, or leave segmentId and exposeToChildren as they are",
    ),
    (
        401,
        {"code": 4002, "message": "No auth token"},
        errors.AuthenticationError,
        f"Applivery refused {WHAT} (401, 4002 No auth token): no API token reached the service; "
        f"{TOKEN_HELP}",
    ),
    (
        401,
        {"code": 4004, "message": "Invalid Token"},
        errors.AuthenticationError,
        f"Applivery refused {WHAT} (401, 4004 Invalid Token): the service rejected the API token; "
        f"{TOKEN_HELP}",
    ),
    (
        401,
        {"message": "Unauthorized"},
        errors.AuthenticationError,
        f"Applivery refused {WHAT} (401, Unauthorized): the service rejected the API token; "
        f"{TOKEN_HELP}",
    ),
    (
        403,
        {"code": 1, "message": "Forbidden"},
        errors.AuthenticationError,
        f"Applivery refused {WHAT} (403, 1 Forbidden): the API token lacks the permission "
        "mdm.apple.policy.get / mdm.apple.policy.update",
    ),
    (
        404,
        {"code": 3001, "message": "Entity not found"},
        errors.NotFoundError,
        f"{WHAT} was not found (404, 3001 Entity not found): {NOT_FOUND_HELP}",
    ),
    (404, {}, errors.NotFoundError, f"{WHAT} was not found (404, no message): {NOT_FOUND_HELP}"),
    (
        400,
        {"code": 9999, "message": "Bad"},
        errors.BadRequestError,
        f"Applivery refused the update of {WHAT} (400, 9999 Bad)",
    ),
    (
        409,
        {"code": 7, "message": "Conflict"},
        errors.AppliveryError,
        f"Applivery answered 409 for {WHAT} (409, 7 Conflict)",
    ),
    (
        429,
        None,
        errors.RateLimitedError,
        f"Applivery kept answering 429 Too Many Requests for {WHAT}; retry later, or pace the "
        "requests with applivery:maxRequestsPerSecond (or lower --parallel)",
    ),
    (
        503,
        None,
        errors.ServerError,
        f"Applivery answered 503 for {WHAT} after every retry; the service is failing, try "
        "again later",
    ),
    (
        501,
        None,
        errors.AppliveryError,
        f"Applivery answered 501 for {WHAT}: the service cannot serve this request (not "
        "retried); check applivery:baseUrl",
    ),
]


@pytest.mark.parametrize(("status", "error", "kind", "sentence"), ANSWERS)
def test_each_refusal_is_one_class_and_one_sentence(
    status: int, error: dict[str, Any] | None, kind: type[errors.AppliveryError], sentence: str
) -> None:
    settings = Settings(api_token=Secret(TOKEN), base_url=BASE)
    with mocked() as router:
        answer = httpx.Response(status, json={"status": False, "error": error})
        router.put(f"{BASE}{policy_path()}").mock(
            return_value=answer if error is not None else httpx.Response(status)
        )
        with pytest.raises(errors.AppliveryError) as caught:
            AppliveryClient(settings, max_attempts=1).put_policy(ORG, PID, {"name": "x"})
    assert type(caught.value) is kind
    assert str(caught.value) == sentence
    assert caught.value.status == status
    assert caught.value.code == (error or {}).get("code")


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 4004, errors.BadRequestError),
        (403, 3001, errors.AuthenticationError),
        (404, 5086, errors.NotFoundError),
        (409, 3001, errors.AppliveryError),
    ],
)
def test_a_code_under_another_status_than_the_references_is_read_by_its_status(
    status: int, code: int, kind: type[errors.AppliveryError]
) -> None:
    # The reference pairs each code with one status; any other pairing is not that code.
    settings = Settings(api_token=Secret(TOKEN), base_url=BASE)
    with mocked() as router:
        answer = httpx.Response(status, json={"status": False, "error": {"code": code}})
        router.put(f"{BASE}{policy_path()}").mock(return_value=answer)
        with pytest.raises(errors.AppliveryError) as caught:
            AppliveryClient(settings, max_attempts=1).put_policy(ORG, PID, {"name": "x"})
    assert type(caught.value) is kind
    assert f"({status}, {code} no message)" in str(caught.value)
