"""ICAO 9303-11 §4.3 Basic Access Control: key derivation, the shared cryptogram
helpers used by both halves, and the terminal's side of the protocol.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from readers.access_key import MrzKey
from readers.apdu import CommandAPDU
from readers.crypto import (
    Algorithm,
    SessionKeys,
    cbc_decrypt,
    cbc_encrypt,
    ct_equal,
    pad,
    retail_mac,
)
from readers.errors import AccessDenied, CardError, ProtocolError
from readers.sm import SecureChannel, SecureMessaging
from readers.transport import Transport

INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTHENTICATE = 0x82
RND_LEN = 8
KEY_MATERIAL_LEN = 16
CRYPTOGRAM_LEN = 2 * RND_LEN + KEY_MATERIAL_LEN + 8  # E (32 bytes) || M (8 bytes)


def bac_key_seed(mrz_information: str) -> bytes:
    """K_seed = SHA-1(MRZ information)[0:16]."""
    return hashlib.sha1(mrz_information.encode("ascii")).digest()[:16]


def bac_keys(mrz_information: str) -> SessionKeys:
    """The document basic access keys K_enc and K_mac (3DES) from the MRZ information."""
    return SessionKeys.derive(bac_key_seed(mrz_information), Algorithm.TDES)


def seal_cryptogram(keys: SessionKeys, plain: bytes) -> bytes:
    """E = 3DES-CBC(K_enc, plain) followed by M = retail MAC(K_mac, pad(E))."""
    enc = cbc_encrypt(Algorithm.TDES, keys.k_enc, plain)
    return enc + retail_mac(keys.k_mac, pad(enc, 8))


def open_cryptogram(keys: SessionKeys, data: bytes) -> bytes:
    """Check M over E in constant time and decrypt E; raises ProtocolError if either fails."""
    if len(data) != CRYPTOGRAM_LEN:
        raise ProtocolError(f"BAC cryptogram is {len(data)} bytes, expected {CRYPTOGRAM_LEN}")
    enc, mac = data[:-8], data[-8:]
    if not ct_equal(retail_mac(keys.k_mac, pad(enc, 8)), mac):
        raise ProtocolError("BAC cryptogram MAC does not verify")
    return cbc_decrypt(Algorithm.TDES, keys.k_enc, enc)


def bac_session(k_ifd: bytes, k_ic: bytes, rnd_ic: bytes, rnd_ifd: bytes) -> SecureMessaging:
    """Session keys from K.IFD xor K.IC; SSC = RND.IC[4:8] || RND.IFD[4:8]."""
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    return SecureMessaging(SessionKeys.derive(seed, Algorithm.TDES), rnd_ic[-4:] + rnd_ifd[-4:])


def perform_bac(
    transport: Transport, key: MrzKey, rng: Callable[[int], bytes] = os.urandom
) -> SecureChannel:
    """Run BAC once (the eMRTD application already selected) and return the secure channel.

    Never retries: chips count failed attempts and may slow down or block.
    """
    keys = bac_keys(key.information)
    challenge = transport.transmit(CommandAPDU(0x00, INS_GET_CHALLENGE, 0x00, 0x00, le=RND_LEN))
    if not challenge.ok:
        raise CardError(challenge.sw, "GET CHALLENGE")
    rnd_ic = challenge.data
    if len(rnd_ic) != RND_LEN:
        raise ProtocolError(f"GET CHALLENGE returned {len(rnd_ic)} bytes, expected {RND_LEN}")
    rnd_ifd, k_ifd = rng(RND_LEN), rng(KEY_MATERIAL_LEN)
    cryptogram = seal_cryptogram(keys, rnd_ifd + rnd_ic + k_ifd)
    answer = transport.transmit(
        CommandAPDU(0x00, INS_EXTERNAL_AUTHENTICATE, 0x00, 0x00, cryptogram, le=CRYPTOGRAM_LEN)
    )
    if not answer.ok:
        # 6300 (authentication failed), 6982 or anything else: the card refused this MRZ key.
        raise AccessDenied(f"{key.label} (BAC)", f"EXTERNAL AUTHENTICATE answered {answer.sw:04X}")
    plain = open_cryptogram(keys, answer.data)
    if not ct_equal(plain[:RND_LEN], rnd_ic) or not ct_equal(plain[RND_LEN : 2 * RND_LEN], rnd_ifd):
        raise ProtocolError("the chip's BAC cryptogram does not echo our challenge")
    sm = bac_session(k_ifd, plain[2 * RND_LEN :], rnd_ic, rnd_ifd)
    return SecureChannel(transport, sm)
