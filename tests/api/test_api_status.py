"""The citizen's status over HTTP: on the session, on the public page, in the result page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from ekyc.synth.chip import SynthChip
from tests.api.conftest import Api, assert_problem
from tests.api.test_api_sessions import chip_body, create


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_status_page_follows_the_session(api: Api, chip: SynthChip) -> None:
    sess = create(api)
    assert sess["citizen_status"]["code"] == "submitted"
    link = _path(sess["status_url"])
    page = api.client.get(link, headers={"Accept": "application/json"})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["status"] == "submitted" and body["final"] is False
    assert body["label_vi"] == "Đã nộp hồ sơ" and body["result_url"] is None
    # nothing personal: no name, number, nonce or image
    assert set(body) == {
        "session_id", "status", "label_vi", "label_en", "procedure", "procedure_title",
        "updated_at", "final", "result_url",
    }  # fmt: skip

    r = api.client.post(
        f"/v1/sessions/{sess['id']}/chip", json=chip_body(chip, sess["nonce"]),
        headers=api.h("kiosk"),
    )  # fmt: skip
    assert r.json()["session"]["citizen_status"]["code"] == "done"
    done = api.client.get(link + "&format=json").json()
    assert done["status"] == "done" and done["final"] is True
    result = api.client.get(_path(done["result_url"]) + "&format=json").json()
    assert result["valid"] is True and result["citizen_status"] == "done"
    html = api.client.get(link)
    assert html.headers["content-type"].startswith("text/html")
    assert (
        "Đã hoàn thành" in html.text
        and "frame-ancestors 'none'" in html.headers["content-security-policy"]
    )


def test_status_page_needs_the_links_token(api: Api) -> None:
    sess = create(api)
    token = parse_qs(urlsplit(sess["status_url"]).query)["t"][0]
    wrong = ("A" if token[0] != "A" else "B") + token[1:]
    assert_problem(api.client.get(f"/s/{sess['id']}?t={wrong}"), 404, "session_not_found")
    assert_problem(api.client.get(f"/s/nosuchsession?t={token}"), 404, "session_not_found")
    assert_problem(api.client.get(f"/s/{sess['id']}"), 422, "invalid_request")


def test_declined_chip_is_rejected_for_the_citizen(api: Api) -> None:
    from ekyc.synth.chip import build_chip

    forged = build_chip(seed=11, aa="ec", tamper_dg=13)
    sess = create(api)
    r = api.client.post(
        f"/v1/sessions/{sess['id']}/chip", json=chip_body(forged, sess["nonce"]),
        headers=api.h("kiosk"),
    )  # fmt: skip
    assert r.json()["session"]["citizen_status"]["code"] == "rejected"
    assert api.client.get(_path(sess["status_url"]) + "&format=json").json()["status"] == (
        "rejected"
    )
