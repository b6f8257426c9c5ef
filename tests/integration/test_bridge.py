"""The local reader bridge over the real PC/SC stack, as a kiosk page would use it."""

from __future__ import annotations

import base64

import pytest
from starlette.testclient import TestClient

from readers.bridge import create_app, pcsc_bridge
from tests.conftest import READER

pytestmark = pytest.mark.pcsc
PORTAL = "https://dichvucong.example.vn"
NONCE = base64.b64encode(bytes(range(8))).decode()


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(pcsc_bridge(frozenset({PORTAL}))))


def test_read_returns_raw_files_and_aa_signature(client, insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, _, _ = insert_card(seed=20)
    r = client.post(
        "/v1/read",
        json={"can": chip.citizen.can.number, "nonce": NONCE, "reader": READER},
        headers={"Origin": PORTAL},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert base64.b64decode(body["files"]["DG2"]) == chip.files["DG2"]
    assert base64.b64decode(body["files"]["EF.SOD"]) == chip.files["EF.SOD"]
    assert body["access_protocol"] == "PACE" and body["chip_authentication"] is True
    assert body["aa_nonce"] == NONCE and len(base64.b64decode(body["aa_signature"])) == 128


def test_foreign_origin_is_refused(client, insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, card, _ = insert_card(seed=21)
    r = client.post(
        "/v1/read",
        json={"can": chip.citizen.can.number},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and r.json()["code"] == "origin_not_allowed"
    assert card.apdus == 0  # the card was never touched


def test_errors_have_stable_codes(client, insert_card) -> None:  # type: ignore[no-untyped-def]
    insert_card(seed=22)
    bad = client.post("/v1/read", json={"can": "12ab"})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_request"
    short_nonce = client.post("/v1/read", json={"can": "123456", "nonce": "AAAA"})
    assert short_nonce.status_code == 400
    denied = client.post("/v1/read", json={"can": "000000", "reader": READER})
    assert denied.status_code == 403 and denied.json()["code"] == "access_denied"
    assert client.post("/v1/read", content=b"{not json").json()["code"] == "bad_request"


def test_websocket_streams_progress_then_result(client, insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, _, _ = insert_card(seed=23)
    with client.websocket_connect("/v1/ws", headers={"Origin": PORTAL}) as ws:
        ws.send_json({"can": chip.citizen.can.number, "nonce": NONCE, "reader": READER})
        events = []
        while True:
            event = ws.receive_json()
            events.append(event)
            if event["event"] in ("result", "error"):
                break
    assert events[-1]["event"] == "result"
    dg2 = [e for e in events if e["event"] == "progress" and e["file"] == "DG2"]
    assert dg2 and dg2[-1]["read"] == dg2[-1]["total"] == len(chip.files["DG2"])
    assert base64.b64decode(events[-1]["files"]["DG13"]) == chip.files["DG13"]
