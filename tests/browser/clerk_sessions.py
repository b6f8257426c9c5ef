"""Sessions the clerk page tests put in front of a clerk, driven through the live API.

Everything goes over HTTP with a kiosk key, as a kiosk would send it: the raw chip files
with an AA signature over the session's nonce, liveness frames made from a real photo
(``ekyc.synth.liveness``), the face match, and a card photographed as the original with a
copy of it (``ekyc.synth.card``, ``ekyc.synth.degrade``, ``ekyc.synth.tamper``). The chip
is signed by a CSCA the server does not trust, so the policy sends it to a clerk
(``issuer_unknown``) while every other check passes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import httpx
import numpy as np

from ekyc.face.challenge import Action
from ekyc.synth import chip as synth_chip
from ekyc.synth import liveness as sl
from ekyc.synth.card import render_card
from ekyc.synth.tamper import tamper
from readers.vcard.aa_card import aa_sign
from tests.support import read_face

LIVE_PHOTO = "obama__obama-480p.jpg"
PORTRAIT_PHOTO = "obama__obama2.jpg"
SEED = 11


def jpeg(bgr: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@lru_cache(maxsize=1)
def foreign_chip() -> synth_chip.SynthChip:
    """A genuine chip with a real portrait, signed under a CSCA the server does not trust."""
    portrait = jpeg(read_face(PORTRAIT_PHOTO), 90)
    pki = synth_chip.TestPki.generate("clerk-page-foreign-issuer")
    return synth_chip.build_chip(seed=SEED, aa="ec", portrait=portrait, pki=pki)


@lru_cache(maxsize=1)
def card_pages() -> tuple[bytes, bytes, bytes]:
    """The holder's card front as photographed (the original), a clean copy of it, and a
    copy whose one printed value was edited."""
    card = render_card(foreign_chip().citizen, "front", seed=SEED)
    edited = tamper(card, "date", seed=1).image_bgr
    return jpeg(card.image_bgr), jpeg(card.image_bgr, 88), jpeg(edited, 88)


@dataclass
class Driver:
    """A kiosk driving sessions on the live API."""

    url: str
    key: str
    face: Any

    def _h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def post(self, path: str, **kw: Any) -> dict[str, Any]:
        r = httpx.post(self.url + path, headers=self._h(), timeout=120, **kw)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def create(self, procedure: str, **kw: Any) -> dict[str, Any]:
        return self.post("/v1/sessions", json={"procedure": procedure, **kw})

    def chip(self, sid: str, nonce_b64: str) -> dict[str, Any]:
        chip = foreign_chip()
        assert chip.aa_key is not None
        body = {
            "files": {n: b64(d) for n, d in chip.files.items()},
            "aa_signature": b64(aa_sign(chip.aa_key, base64.b64decode(nonce_b64))),
        }
        return self.post(f"/v1/sessions/{sid}/chip", json=body)

    def liveness(self, sid: str) -> dict[str, Any]:
        # the synthetic frames render turn_right in a way the checker may read out of order
        # (see tests/api/test_api_sessions.py): ask again for a challenge without it
        for _ in range(20):
            challenge = self.post(f"/v1/sessions/{sid}/liveness/challenge")
            if "turn_right" not in challenge["actions"]:
                break
        frames = self._frames(challenge["actions"])
        body = {
            "nonce": challenge["nonce"],
            "frames": [b64(d) for _, d in frames],
            "timestamps_ms": [t for t, _ in frames],
        }
        return self.post(f"/v1/sessions/{sid}/liveness/frames", json=body)

    def _frames(self, actions: list[str]) -> list[tuple[int, bytes]]:
        photo = read_face(LIVE_PHOTO)
        det = self.face.detector.detect(photo)[0]
        nose = (float(det.landmarks[2][0]), float(det.landmarks[2][1]))
        subject = sl.frame_from_photo(photo, det.box, nose)
        seq = sl.sequence(subject, [Action(a) for a in actions], seed=3)
        return [(t, jpeg(im)) for t, im in seq]

    def documents(self, sid: str, original: bytes, copy: bytes) -> dict[str, Any]:
        files = [
            ("original", ("original.jpg", original, "image/jpeg")),
            ("copy", ("copy.jpg", copy, "image/jpeg")),
        ]
        return self.post(f"/v1/sessions/{sid}/documents", files=files)

    def certified_copy_session(self) -> str:
        """A cap-ban-sao session waiting for a clerk: the chip's issuer is unknown, liveness,
        face match and the copy of the card all pass."""
        sess = self.create("cap-ban-sao")
        sid = sess["id"]
        self.chip(sid, sess["nonce"])
        live = self.liveness(sid)
        assert live["step"]["outcome"] == "pass", live["step"]
        match = self.post(f"/v1/sessions/{sid}/face-match", json={})
        assert match["step"]["outcome"] == "pass", match["step"]
        original, clean, _ = card_pages()
        done = self.documents(sid, original, clean)
        assert done["step"]["outcome"] == "pass", done["step"]
        assert done["session"]["state"] == "review", done["session"]
        return str(sid)

    def chip_only_session(self) -> str:
        """An xac-thuc-chip session waiting for a clerk (the chip's issuer is unknown)."""
        sess = self.create("xac-thuc-chip")
        out = self.chip(sess["id"], sess["nonce"])
        assert out["session"]["state"] == "review", out["session"]
        return str(sess["id"])

    def edited_copy_session(self) -> str:
        """A chip + documents session declined because the copy's date was edited."""
        sess = self.create("xac-thuc-chip", steps=["documents"])
        sid = sess["id"]
        self.chip(sid, sess["nonce"])
        original, _, edited = card_pages()
        done = self.documents(sid, original, edited)
        assert done["session"]["state"] == "declined", done["step"]
        return str(sid)
