"""PACE with ECDH Generic Mapping (ICAO 9303-11 §4.4), terminal side, plus the pieces the
virtual card shares (nonce encryption, mapping, tokens, dynamic authentication data).

The four GENERAL AUTHENTICATE steps: encrypted nonce, mapping (G' = s·G + H), key
agreement on G', mutual authentication with tokens. The result is a secure channel with
fresh session keys and SSC = 0. A refusal of the password is ``AccessDenied``; the
terminal never retries by itself (a wrong CAN costs the chip a retry counter).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from readers import tlv
from readers.access_key import AccessKey
from readers.apdu import CommandAPDU, ResponseAPDU
from readers.crypto import (
    KDF_PACE,
    Algorithm,
    SessionKeys,
    cbc_decrypt,
    cbc_encrypt,
    ct_equal,
    kdf,
    mac8,
)
from readers.ec import Curve, InvalidPoint, Point, curve_by_id
from readers.errors import AccessDenied, CardError, MalformedTLV, ProtocolError
from readers.security_infos import PaceInfo, SecurityInfos, parse_security_infos
from readers.sm import SecureChannel, SecureMessaging
from readers.transport import Transport

Rng = Callable[[int], bytes]

INS_MSE = 0x22
INS_GENERAL_AUTHENTICATE = 0x86
MSE_SET_AT_PACE = (0xC1, 0xA4)
CLA_CHAIN = 0x10
TAG_DYNAMIC_AUTH = 0x7C
TAG_PUBLIC_KEY = 0x7F49
TAG_OID = 0x06
TAG_EC_POINT = 0x86

_CIPHER_RANK = {Algorithm.TDES: 0, Algorithm.AES128: 1, Algorithm.AES192: 2, Algorithm.AES256: 3}
_REFUSED = {0x6300, 0x6982}


# -- shared with the card -------------------------------------------------------------------


def supports(info: PaceInfo) -> bool:
    """Whether this implementation can run a PACEInfo (ECDH-GM on a standardized curve)."""
    try:
        ok = info.key_agreement == "ECDH" and info.mapping == "GM"
    except ValueError:
        return False
    return ok and info.parameter_id is not None and _known_curve(info.parameter_id)


def _known_curve(param_id: int) -> bool:
    try:
        curve_by_id(param_id)
    except ProtocolError:
        return False
    return True


def password_key(key: AccessKey, alg: Algorithm) -> bytes:
    """K_π = KDF(π, 3): the key that encrypts the chip's nonce."""
    return kdf(key.pace_password, KDF_PACE, alg)


def encrypt_nonce(k_pi: bytes, alg: Algorithm, s: bytes) -> bytes:
    """z = E(K_π, s), CBC with a zero IV."""
    return cbc_encrypt(alg, k_pi, s)


def decrypt_nonce(k_pi: bytes, alg: Algorithm, z: bytes) -> bytes:
    """s = D(K_π, z), CBC with a zero IV."""
    if not z or len(z) % alg.block_size:
        raise ProtocolError(f"encrypted nonce of {len(z)} bytes is not whole {alg.value} blocks")
    return cbc_decrypt(alg, k_pi, z)


def map_generator(curve: Curve, s: bytes, shared: Point) -> Curve:
    """Generic Mapping: the curve with generator G' = s·G + H."""
    if shared is None:
        raise InvalidPoint("the mapping secret H is the point at infinity")
    g2 = curve.add(curve.mul_g(int.from_bytes(s, "big")), shared)
    return curve.with_generator(g2)


def auth_token(keys: SessionKeys, oid: bytes, public_key: bytes) -> bytes:
    """MAC(K_mac, 7F49{06 OID, 86 other party's ephemeral point}) truncated to 8 bytes."""
    data = tlv.encode(
        TAG_PUBLIC_KEY, tlv.encode(TAG_OID, oid) + tlv.encode(TAG_EC_POINT, public_key)
    )
    return mac8(keys.alg, keys.k_mac, data)


def zero_ssc(alg: Algorithm) -> bytes:
    return bytes(alg.block_size)


def dynamic_auth(tag: int | None = None, value: bytes = b"") -> bytes:
    """7C{tag value} (or an empty 7C when ``tag`` is None)."""
    return tlv.encode(TAG_DYNAMIC_AUTH, tlv.encode(tag, value) if tag is not None else b"")


def dynamic_auth_field(data: bytes, tag: int) -> bytes:
    """The value of ``tag`` inside 7C dynamic authentication data (ProtocolError if absent)."""
    try:
        inner = tlv.parse_all(tlv.expect(data, TAG_DYNAMIC_AUTH).value)
    except MalformedTLV as e:
        raise ProtocolError(f"malformed dynamic authentication data: {e}") from e
    obj = tlv.find(inner, tag)
    if obj is None:
        raise ProtocolError(f"dynamic authentication data lacks tag {tag:02X}")
    return obj.value


# -- terminal -------------------------------------------------------------------------------


def choose_pace_info(infos: Sequence[PaceInfo]) -> PaceInfo:
    """The strongest supported PACEInfo (cipher first, then curve size)."""
    usable = [i for i in infos if supports(i)]
    if not usable:
        raise ProtocolError("the chip offers no PACE variant this reader supports (ECDH-GM)")
    return max(
        usable,
        key=lambda i: (_CIPHER_RANK[i.cipher], curve_by_id(i.parameter_id or 0).p.bit_length()),
    )


def set_at_command(info: PaceInfo, key: AccessKey, with_parameter_id: bool) -> CommandAPDU:
    """MSE:Set AT for PACE: 80 OID, 83 password reference, 84 parameter id when asked."""
    data = tlv.encode(0x80, info.oid_bytes) + tlv.encode(0x83, bytes([key.pace_password_ref]))
    if with_parameter_id and info.parameter_id is not None:
        data += tlv.encode(0x84, bytes([info.parameter_id]))
    return CommandAPDU(0x00, INS_MSE, *MSE_SET_AT_PACE, data)


def _general_authenticate(
    transport: Transport, data: bytes, last: bool, key: AccessKey, step: str
) -> bytes:
    cmd = CommandAPDU(0x00 if last else CLA_CHAIN, INS_GENERAL_AUTHENTICATE, 0, 0, data, 256)
    resp = transport.transmit(cmd)
    if last and (resp.sw in _REFUSED or resp.sw & 0xFFF0 == 0x63C0):
        raise AccessDenied(key.label, f"the chip refused the password ({resp.sw:04X})")
    if not resp.ok:
        raise CardError(resp.sw, f"GENERAL AUTHENTICATE ({step})")
    return resp.data


def _check_set_at(resp: ResponseAPDU, key: AccessKey) -> None:
    # 63Cx is a warning carrying the retry counter; 63C0 means the password is blocked.
    if resp.ok or (resp.sw & 0xFFF0 == 0x63C0 and resp.sw & 0xF):
        return
    if resp.sw == 0x63C0:
        raise AccessDenied(key.label, "the password is blocked (63C0)")
    raise CardError(resp.sw, "MSE:Set AT (PACE)")


def perform_pace(
    transport: Transport,
    key: AccessKey,
    card_access: bytes | SecurityInfos,
    rng: Rng = os.urandom,
) -> SecureChannel:
    """Run PACE (ECDH-GM) with ``key`` and return the secure channel it establishes."""
    infos = (
        card_access if isinstance(card_access, SecurityInfos) else parse_security_infos(card_access)
    )
    info = choose_pace_info(infos.pace)
    alg = info.cipher
    curve = curve_by_id(info.parameter_id or 0)
    several = len({i.parameter_id for i in infos.pace}) > 1
    _check_set_at(transport.transmit(set_at_command(info, key, several)), key)

    try:
        # 1. encrypted nonce
        z = dynamic_auth_field(
            _general_authenticate(transport, dynamic_auth(), False, key, "nonce"), 0x80
        )
        s = decrypt_nonce(password_key(key, alg), alg, z)
        # 2. mapping
        map_sk = curve.random_scalar(rng)
        map_pk = curve.encode_point(curve.mul_g(map_sk))
        data = _general_authenticate(transport, dynamic_auth(0x81, map_pk), False, key, "mapping")
        chip_map_pk = curve.decode_point(dynamic_auth_field(data, 0x82))
        mapped = map_generator(curve, s, curve.mul(map_sk, chip_map_pk))
        # 3. key agreement on G'
        eph_sk = mapped.random_scalar(rng)
        eph_pk = mapped.encode_point(mapped.mul_g(eph_sk))
        data = _general_authenticate(
            transport, dynamic_auth(0x83, eph_pk), False, key, "key agreement"
        )
        chip_eph_raw = dynamic_auth_field(data, 0x84)
        chip_eph = mapped.decode_point(chip_eph_raw)
        if ct_equal(chip_eph_raw, eph_pk):
            raise ProtocolError("the chip echoed the terminal's ephemeral public key")
        keys = SessionKeys.derive(mapped.encode_x(mapped.mul(eph_sk, chip_eph)), alg)
        # 4. mutual authentication
        token = auth_token(keys, info.oid_bytes, chip_eph_raw)
        data = _general_authenticate(transport, dynamic_auth(0x85, token), True, key, "tokens")
        chip_token = dynamic_auth_field(data, 0x86)
    except InvalidPoint as e:
        raise ProtocolError(f"PACE: {e}") from e
    if not ct_equal(chip_token, auth_token(keys, info.oid_bytes, eph_pk)):
        raise AccessDenied(key.label, "the chip's authentication token does not verify")
    return SecureChannel(transport, SecureMessaging(keys, zero_ssc(alg)))
