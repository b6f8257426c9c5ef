"""≥ 50 sessions created and driven at once from threads: nothing lost, nothing mixed up."""

from __future__ import annotations

import base64
import threading
from concurrent.futures import ThreadPoolExecutor

from ekyc.synth.chip import SynthChip, build_chip
from readers.vcard.aa_card import aa_sign
from tests.api.conftest import Api, b64

N = 56


def test_concurrent_sessions(api: Api, chip: SynthChip) -> None:
    forged = build_chip(seed=11, aa="ec", tamper_dg=13)
    keys = [api.new_key("portal" if i % 2 else "kiosk") for i in range(8)]
    start = threading.Barrier(N)

    def drive(i: int) -> tuple[int, str, str, str]:
        token, key_id = keys[i % len(keys)]
        h = {"Authorization": f"Bearer {token}", "X-Request-ID": f"conc-{i}"}
        card = forged if i % 5 == 0 else chip
        start.wait()
        sess = api.client.post("/v1/sessions", json={"procedure": "xac-thuc-chip"}, headers=h)
        assert sess.status_code == 201, sess.text
        s = sess.json()
        assert card.aa_key is not None
        body = {
            "files": {n: b64(d) for n, d in card.files.items()},
            "aa_signature": b64(aa_sign(card.aa_key, base64.b64decode(s["nonce"]))),
        }
        step = api.client.post(
            f"/v1/sessions/{s['id']}/chip", json=body, headers={**h, "Idempotency-Key": f"c{i}"}
        )
        assert step.status_code == 200, step.text
        assert step.json()["session"]["id"] == s["id"]
        assert step.headers["x-request-id"] == f"conc-{i}"
        res = api.client.get(f"/v1/sessions/{s['id']}/result", headers=h).json()
        check = api.client.post("/v1/verify", json={"token": res["token"]}, headers=h).json()
        assert check["valid"] and check["claims"]["sid"] == s["id"]
        return i, s["id"], key_id, check["claims"]["decision"]

    with ThreadPoolExecutor(max_workers=N) as pool:
        done = list(pool.map(drive, range(N)))

    assert len({sid for _, sid, _, _ in done}) == N  # every session distinct
    for i, sid, key_id, decision in done:
        assert decision == ("declined" if i % 5 == 0 else "approved"), (i, decision)
        # each one stored under the key that created it, in its final state
        view = api.runtime.service.get_session(sid)
        assert view.api_key_id == key_id and view.state.value == decision
        assert set(view.steps) == {view.required_steps[0]}
    entries = api.client.get("/v1/audit/verify", headers=api.h("auditor")).json()
    assert entries["ok"] is True  # concurrent appends kept the hash chain intact
