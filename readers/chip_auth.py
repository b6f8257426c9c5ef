"""Chip Authentication (ICAO 9303-11 §6.2), ECDH, terminal side.

The terminal agrees a key with the chip's static DG14 key using an ephemeral key pair,
then restarts secure messaging with KDF(shared x) and SSC = 0. Only a chip holding the
private key can answer under the new keys, so the first command sent afterwards (a file
read) is what proves the chip genuine: a clone fails there with SecureMessagingError.
AES variants use MSE:Set AT + GENERAL AUTHENTICATE; 3DES uses MSE:Set KAT.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from readers import tlv
from readers.apdu import CommandAPDU
from readers.crypto import Algorithm, SessionKeys
from readers.ec import Curve
from readers.errors import CardError, ProtocolError
from readers.pace import (
    INS_GENERAL_AUTHENTICATE,
    INS_MSE,
    TAG_DYNAMIC_AUTH,
    dynamic_auth,
    zero_ssc,
)
from readers.security_infos import (
    CA_ECDH_3DES,
    ChipAuthInfo,
    ChipAuthPublicKey,
    SecurityInfos,
)
from readers.sm import SecureChannel, SecureMessaging

MSE_SET_AT_CA = (0x41, 0xA4)
MSE_SET_KAT = (0x41, 0xA6)
TAG_KAT_PUBLIC_KEY = 0x91

_CIPHER_RANK = {Algorithm.TDES: 0, Algorithm.AES128: 1, Algorithm.AES192: 2, Algorithm.AES256: 3}


@dataclass(frozen=True)
class ChipAuthResult:
    """What Chip Authentication used and sent (the transcript a server can record)."""

    protocol: str
    key_id: int | None
    cipher: Algorithm
    chip_public_key: bytes
    terminal_public_key: bytes


def key_id_bytes(key_id: int) -> bytes:
    """A key reference as the minimal big-endian bytes of tag 84."""
    return key_id.to_bytes(max(1, (key_id.bit_length() + 7) // 8), "big")


def choose_chip_auth(infos: SecurityInfos) -> tuple[ChipAuthInfo, ChipAuthPublicKey, Curve]:
    """The strongest ECDH ChipAuthenticationInfo with its matching DG14 public key."""
    keys = [k for k in infos.chip_auth_keys if k.curve is not None]
    # Without a ChipAuthenticationInfo, ICAO's default is ECDH with 3DES (CA version 1).
    cas = infos.chip_auth or [ChipAuthInfo(CA_ECDH_3DES, 1, None)]
    pairs = []
    for ca in cas:
        try:
            if ca.key_agreement != "ECDH":
                continue
        except ValueError:
            continue
        match = [k for k in keys if ca.key_id is None or k.key_id == ca.key_id]
        if ca.key_id is None and len(match) > 1:
            continue  # ambiguous: several keys and no key id to pick one
        if match:
            pairs.append((ca, match[0]))
    if not pairs:
        raise ProtocolError("DG14 offers no ECDH Chip Authentication key this reader supports")
    ca, key = max(pairs, key=lambda p: _CIPHER_RANK[p[0].cipher])
    assert key.curve is not None
    return ca, key, key.curve


def _check(sw: int, what: str) -> None:
    if sw != 0x9000:
        raise CardError(sw, what)


def perform_chip_auth(
    channel: SecureChannel, infos: SecurityInfos, rng: Callable[[int], bytes] = os.urandom
) -> ChipAuthResult:
    """Run Chip Authentication over ``channel`` and install the new secure messaging in it."""
    ca, key, curve = choose_chip_auth(infos)
    chip_pk = curve.decode_point(key.public_key)
    sk = curve.random_scalar(rng)
    own_pk = curve.encode_point(curve.mul_g(sk))
    ref = tlv.encode(0x84, key_id_bytes(ca.key_id)) if ca.key_id is not None else b""
    alg = ca.cipher
    if alg is Algorithm.TDES:
        data = tlv.encode(TAG_KAT_PUBLIC_KEY, own_pk) + ref
        resp = channel.transmit(CommandAPDU(0x00, INS_MSE, *MSE_SET_KAT, data))
        _check(resp.sw, "MSE:Set KAT (Chip Authentication)")
    else:
        data = tlv.encode(0x80, ca.oid_bytes) + ref
        resp = channel.transmit(CommandAPDU(0x00, INS_MSE, *MSE_SET_AT_CA, data))
        _check(resp.sw, "MSE:Set AT (Chip Authentication)")
        ga = CommandAPDU(0x00, INS_GENERAL_AUTHENTICATE, 0, 0, dynamic_auth(0x80, own_pk), 256)
        resp = channel.transmit(ga)
        _check(resp.sw, "GENERAL AUTHENTICATE (Chip Authentication)")
        # ICAO 9303 CA answers an empty 7C; a nonce/token (EAC CA version 2) is not handled.
        if resp.data not in (b"", dynamic_auth()):
            first = resp.data[:1]
            if first != bytes([TAG_DYNAMIC_AUTH]):
                raise ProtocolError("Chip Authentication answer is not dynamic authentication data")
            raise ProtocolError(
                "Chip Authentication with a chip nonce (CA version 2) is unsupported"
            )
    keys = SessionKeys.derive(curve.encode_x(curve.mul(sk, chip_pk)), alg)
    channel.sm = SecureMessaging(keys, zero_ssc(alg))
    return ChipAuthResult(ca.protocol, ca.key_id, alg, key.public_key, own_pk)
