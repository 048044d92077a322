"""Auth, not-found, path validation, envelopes and the OpenAPI document."""

from __future__ import annotations

import re

import httpx
import pytest

from harness.emulator import Emulator, new_object_id

MISSING_ID = "0123456789abcdef01234567"


def test_get_returns_success_envelope(emu: Emulator) -> None:
    policy = emu.create_policy(name="Corporate iOS")
    r = emu.api_get_policy(policy["id"])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["status"] is True
    assert body["data"]["id"] == policy["id"]
    assert body["data"]["name"] == "Corporate iOS"


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_no_auth_header_is_4002(emu: Emulator, method: str) -> None:
    policy = emu.create_policy()
    r = httpx.request(method, emu.policy_url(policy["id"]), json={"name": "x"})
    assert r.status_code == 401
    assert r.json() == {"status": False, "error": {"code": 4002, "message": "No auth token"}}


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "token"])
def test_unusable_auth_header_is_4002(emu: Emulator, header: str) -> None:
    r = httpx.get(emu.base_url + emu.policies_path(), headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == 4002


def test_wrong_token_is_4004(emu: Emulator) -> None:
    policy = emu.create_policy()
    r = httpx.put(
        emu.policy_url(policy["id"]),
        json={"name": "changed"},
        headers={"Authorization": "Bearer not-the-token"},
    )
    assert r.status_code == 401
    assert r.json() == {"status": False, "error": {"code": 4004, "message": "Invalid Token"}}
    assert emu.get_policy(policy["id"])["name"] == policy["name"]


def test_bearer_scheme_is_case_insensitive(emu: Emulator) -> None:
    r = httpx.get(
        emu.base_url + emu.policies_path(), headers={"Authorization": f"bearer {emu.token}"}
    )
    assert r.status_code == 200


def test_auth_is_checked_before_validation_and_lookup(emu: Emulator) -> None:
    r = httpx.put(
        emu.base_url + "/v1/organizations/x/mdm/apple/enterprise/policies/zz", content=b"{"
    )
    assert r.status_code == 401


def test_admin_api_needs_the_token_but_health_does_not(emu: Emulator) -> None:
    assert httpx.get(emu.base_url + "/_emulator/counters").status_code == 401
    r = httpx.get(emu.base_url + "/_emulator/counters", headers={"Authorization": "Bearer bad"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == 4004
    assert httpx.get(emu.base_url + "/_emulator/health").status_code == 200


def test_unknown_policy_is_3001(emu: Emulator) -> None:
    for r in (
        emu.api_get_policy(MISSING_ID),
        emu.put_policy(MISSING_ID, {"name": "x"}),
    ):
        assert r.status_code == 404
        assert r.json() == {"status": False, "error": {"code": 3001, "message": "Entity not found"}}


def test_unknown_organization_is_3001(emu: Emulator) -> None:
    policy = emu.create_policy()
    for r in (
        emu.api_get_policy(policy["id"], org="other-org"),
        emu.put_policy(policy["id"], {"name": "x"}, org="other-org"),
        emu.api_list_policies(org="other-org"),
    ):
        assert r.status_code == 404
        assert r.json()["error"]["code"] == 3001


def test_policy_of_another_organization_is_3001(emu: Emulator) -> None:
    theirs = emu.create_policy(org="globex")
    assert emu.api_get_policy(theirs["id"]).status_code == 404
    assert emu.api_get_policy(theirs["id"], org="globex").status_code == 200


def test_organization_by_slug_or_object_id(emu: Emulator) -> None:
    policy = emu.create_policy()
    oid = policy["organization"]
    assert len(oid) == 24 and oid != emu.org
    r = emu.api_get_policy(policy["id"], org=oid)
    assert r.status_code == 200
    assert r.json()["data"] == emu.api_get_policy(policy["id"]).json()["data"]


def test_hex_organization_id_is_its_own_object_id(emu: Emulator) -> None:
    org = "598f469d457fafa13d088795"
    policy = emu.create_policy(org=org)
    assert policy["organization"] == org


def test_upper_case_policy_id_finds_the_policy(emu: Emulator) -> None:
    policy = emu.create_policy()
    r = emu.api_get_policy(policy["id"].upper())
    assert r.status_code == 200
    assert r.json()["data"]["id"] == policy["id"]


@pytest.mark.parametrize(
    ("org", "policy_id", "parameter"),
    [
        ("acme-corp", "not-an-object-id", "admPolicyId"),
        ("acme-corp", "0123456789abcdef0123456", "admPolicyId"),
        ("acme-corp", "0123456789abcdef012345678", "admPolicyId"),
        ("ab", MISSING_ID, "organizationId"),
        ("acme_corp", MISSING_ID, "organizationId"),
    ],
)
def test_path_ids_are_checked_against_the_patterns(
    emu: Emulator, org: str, policy_id: str, parameter: str
) -> None:
    for r in (
        emu.api_get_policy(policy_id, org=org),
        emu.put_policy(policy_id, {"name": "x"}, org=org),
    ):
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["code"] == 4000
        assert error["message"].startswith(parameter + ":")


def test_unknown_route_and_method_keep_the_envelope(emu: Emulator) -> None:
    r = emu.http.get("/v1/organizations/acme-corp/nothing-here")
    assert r.status_code == 404
    assert r.json()["status"] is False
    policy = emu.create_policy()
    r = emu.http.delete(emu.policy_path(policy["id"]))
    assert r.status_code == 405
    assert r.json()["status"] is False
    r = emu.http.post(emu.policies_path(), json={"name": "new"})
    assert r.status_code == 405


def test_openapi_document_shows_the_policy_api(emu: Emulator) -> None:
    r = httpx.get(emu.base_url + "/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    one = "/v1/organizations/{organizationId}/mdm/apple/enterprise/policies/{admPolicyId}"
    many = "/v1/organizations/{organizationId}/mdm/apple/enterprise/policies"
    assert set(paths[one]) >= {"get", "put"}
    assert "get" in paths[many]
    put = paths[one]["put"]
    body_ref = put["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schemas = doc["components"]["schemas"]
    body = schemas[body_ref.rsplit("/", 1)[1]]
    assert body["additionalProperties"] is False
    assert {"name", "profiles", "applications", "segmentId", "agentConfiguration"} <= set(
        body["properties"]
    )
    assert body["properties"]["name"]["maxLength"] == 256
    assert schemas["Application"]["properties"]["admApplication"]["pattern"] == "^[a-fA-F0-9]{24}$"
    ok = put["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("PolicyEnvelope")
    assert "PolicyOut" in schemas
    assert "401" in put["responses"] and "404" in put["responses"]
    list_params = {p["name"] for p in paths[many]["get"]["parameters"]}
    assert {"page", "limit", "sort", "name", "targetType", "segmentId"} <= list_params


@pytest.mark.parametrize(("page", "viewer"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
def test_docs_pages_load_all_from_the_emulator(emu: Emulator, page: str, viewer: str) -> None:
    """Offline too: a script, style or icon from a CDN would leave the page blank."""
    r = httpx.get(emu.base_url + page)
    assert r.status_code == 200
    assert "://" not in r.text, f"{page} loads from another origin"
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert any(viewer in asset and asset.endswith(".js") for asset in assets), assets
    for asset in assets:
        got = httpx.get(emu.base_url + asset)
        assert got.status_code == 200 and got.content, asset


def test_generated_ids_are_object_ids(emu: Emulator) -> None:
    policy = emu.create_policy()
    assert len(policy["id"]) == 24
    int(policy["id"], 16)
    given = new_object_id()
    assert emu.create_policy(id=given)["id"] == given
