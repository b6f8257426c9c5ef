"""Access control over HTTP: keys, roles per route, session visibility, keys and audit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ROLES, Api, assert_problem

# (method, path, json body, roles allowed); {sid} is a session created by the kiosk key
ROUTES: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("POST", "/v1/sessions", {"procedure": "xac-thuc-chip"}, {"kiosk", "portal"}),
    ("GET", "/v1/sessions/{sid}", None, {"kiosk", "clerk", "auditor"}),
    ("POST", "/v1/sessions/{sid}/chip", {"files": {}}, {"kiosk"}),
    ("POST", "/v1/sessions/{sid}/liveness/challenge", None, {"kiosk"}),
    ("POST", "/v1/sessions/{sid}/face-match", None, {"kiosk"}),
    ("POST", "/v1/sessions/{sid}/review", {"approve": True, "note": "x"}, {"clerk"}),
    ("GET", "/v1/sessions/{sid}/result", None, {"kiosk", "clerk", "auditor"}),
    ("GET", "/v1/sessions/{sid}/result.png", None, {"kiosk", "clerk", "auditor"}),
    ("GET", "/v1/sessions/{sid}/certified-copy.pdf", None, {"kiosk", "clerk", "auditor"}),
    ("POST", "/v1/verify", {"token": "a.b.c"}, {"kiosk", "portal", "clerk", "auditor"}),
    ("GET", "/v1/keys", None, {"admin"}),
    ("POST", "/v1/keys", {"name": "n", "role": "kiosk"}, {"admin"}),
    ("GET", "/v1/audit", None, {"auditor"}),
    ("GET", "/v1/audit/verify", None, {"auditor"}),
    ("POST", "/v1/faces/compare", {}, {"kiosk", "portal", "clerk"}),
    ("POST", "/v1/documents/compare", {}, {"kiosk", "portal", "clerk"}),
    ("POST", "/v1/ocr/card", {}, {"kiosk", "portal", "clerk"}),
]


@pytest.fixture(scope="module")
def sid(api: Api) -> str:
    r = api.client.post("/v1/sessions", json={"procedure": "xac-thuc-chip"}, headers=api.h("kiosk"))
    return str(r.json()["id"])


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
def test_each_role_is_refused_what_it_may_not_do(
    api: Api, sid: str, method: str, path: str, body: dict | None, allowed: set[str]
) -> None:
    url = path.format(sid=sid)
    for role in ROLES:
        r = api.client.request(method, url, json=body, headers=api.h(role))
        if role in allowed:
            assert r.status_code not in (401, 403), (role, url, r.text)
        elif "{sid}" in path and role in ("portal",):
            # a session of another key does not exist for this caller: 404, not 403
            assert r.status_code in (403, 404), (role, url, r.text)
            if r.status_code == 404:
                assert r.json()["code"] == "session_not_found"
        else:
            assert_problem(r, 403, "forbidden")
        # and nobody gets anything without a key
    assert_problem(api.client.request(method, url, json=body), 401, "unauthorized")


def test_session_invisible_to_another_portal_key(api: Api) -> None:
    mine = api.client.post(
        "/v1/sessions", json={"procedure": "xac-thuc-chip"}, headers=api.h("portal")
    ).json()
    other_token, _ = api.new_key("portal")
    other = {"Authorization": f"Bearer {other_token}"}
    for method, suffix in [
        ("GET", ""),
        ("GET", "/result"),
        ("GET", "/result.png"),
        ("POST", "/liveness/challenge"),
        ("POST", "/face-match"),
    ]:
        r = api.client.request(method, f"/v1/sessions/{mine['id']}{suffix}", headers=other)
        assert_problem(r, 404, "session_not_found")
    unknown = api.client.get("/v1/sessions/" + "0" * 32, headers=other)
    # indistinguishable from a session that does not exist
    assert_problem(unknown, 404, "session_not_found")
    assert api.client.get(f"/v1/sessions/{mine['id']}", headers=api.h("portal")).status_code == 200
    assert api.client.get(f"/v1/sessions/{mine['id']}", headers=api.h("clerk")).status_code == 200
    assert api.client.get(f"/v1/sessions/{mine['id']}", headers=api.h("auditor")).status_code == 200


def test_key_headers_and_bad_keys(api: Api) -> None:
    body = {"procedure": "xac-thuc-chip"}
    ok = api.client.post("/v1/sessions", json=body, headers={"X-API-Key": api.keys["kiosk"]})
    assert ok.status_code == 201
    for headers in (
        {"Authorization": "Bearer ekyc_000000000000_" + "A" * 43},
        {"Authorization": "Bearer nonsense"},
        {"X-API-Key": api.keys["kiosk"][:-2] + "xx"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        assert_problem(
            api.client.post("/v1/sessions", json=body, headers=headers), 401, "unauthorized"
        )


def test_admin_manages_keys_over_http(api: Api) -> None:
    h = api.h("admin")
    r = api.client.post("/v1/keys", json={"name": "kiosk-7", "role": "kiosk"}, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["token"]
    assert token.startswith("ekyc_") and created["role"] == "kiosk"
    listed = api.client.get("/v1/keys", headers=h).json()
    row = next(k for k in listed if k["id"] == created["id"])
    assert "token" not in row and "key_hash" not in row and row["revoked_at"] is None
    new = {"Authorization": f"Bearer {token}"}
    body = {"procedure": "xac-thuc-chip"}
    assert api.client.post("/v1/sessions", json=body, headers=new).status_code == 201
    revoked = api.client.post(f"/v1/keys/{created['id']}/revoke", headers=h)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_problem(api.client.post("/v1/sessions", json=body, headers=new), 401, "unauthorized")
    assert_problem(api.client.post("/v1/keys/nope/revoke", headers=h), 404, "not_found")
    bad_role = api.client.post("/v1/keys", json={"name": "x", "role": "root"}, headers=h)
    assert_problem(bad_role, 422, "invalid_request")


def test_auditor_reads_the_audit_log(api: Api, sid: str) -> None:
    h = api.h("auditor")
    entries = api.client.get("/v1/audit", params={"session_id": sid}, headers=h).json()
    assert entries and entries[0]["action"] == "session.created"
    assert entries[0]["actor"] == api.key_ids["kiosk"]
    chain = api.client.get("/v1/audit/verify", headers=h).json()
    assert chain["ok"] is True and chain["checked"] >= 1
