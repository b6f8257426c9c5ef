"""A result QR seen by a camera: decode it (zxing-cpp) and check what it holds.

A result QR holds either the compact JWS itself or a verify link
(``…/v/result/<session>?h=<first 128 bits of the token's SHA-256>``, see
``ekyc.verification.result``). A token is verified against our key set; a link is valid when
the session has a signed result whose hash is ``h`` and that token verifies. Anything else
is answered ``valid: false`` with a reason, never trusted.
"""

from __future__ import annotations

import hmac
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import zxingcpp

from ekyc.errors import EkycError
from ekyc.face.image import decode_image
from ekyc.verification.result import verify_link

if TYPE_CHECKING:
    from ekyc.verification.service import VerificationService

_LINK_PATH = re.compile(r"/v/result/([A-Za-z0-9_-]{1,64})/?$")
_HASH = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


class NoQrCode(EkycError):
    """No QR code could be read in the image."""

    code = "qr_not_found"


def decode_qr(data: bytes, max_pixels: int) -> str:
    """The text of the first readable QR code in an image (``NoQrCode`` when none)."""
    image = decode_image(data, max_pixels)
    formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    for r in zxingcpp.read_barcodes(image, formats=formats):
        if r.valid and r.text:
            return str(r.text)
    raise NoQrCode("no QR code found in the image")


def _link_hash(token: str) -> str:
    return verify_link("x", "x", token).rsplit("?h=", 1)[1]


def check_text(service: VerificationService, text: str) -> dict[str, Any]:
    """Verify a result token or a verify link: ``{valid, reason, kind, session_id, …}``."""
    from ekyc.verification.service import ResultNotReady, SessionNotFound

    text = text.strip()
    if _JWS.match(text):
        out = service.verify(text).to_json()
        claims = out.get("claims") or {}
        return {"kind": "token", "session_id": claims.get("sid"), **out}
    parts = urlsplit(text)
    path = _LINK_PATH.search(unquote(parts.path)) if parts.path else None
    h = parse_qs(parts.query).get("h", [""])[0]
    base = {"kind": "link", "session_id": None, "kid": None, "claims": None}
    if path is None or not _HASH.match(h):
        return {**base, "kind": "unknown", "valid": False, "reason": "malformed",
                "message": "neither a result token nor a verify link"}  # fmt: skip
    session_id = path.group(1)
    try:
        signed = service.result(session_id)
    except (SessionNotFound, ResultNotReady):
        signed = None
    if signed is None or not hmac.compare_digest(_link_hash(signed.token), h):
        return {**base, "session_id": session_id, "valid": False, "reason": "unknown_result",
                "message": "no signed result of ours matches this link"}  # fmt: skip
    out = service.verify(signed.token).to_json()
    return {**base, **out, "session_id": session_id, "decision": signed.decision}
