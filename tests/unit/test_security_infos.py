"""SecurityInfos of EF.CardAccess and DG14: the ICAO example, round trips, malformed input."""

from __future__ import annotations

import contextlib

import pytest
from asn1crypto.core import Integer, ObjectIdentifier, Sequence
from hypothesis import given, settings
from hypothesis import strategies as st

from readers import tlv
from readers.crypto import Algorithm
from readers.ec import Curve, curve_by_id
from readers.errors import ProtocolError
from readers.security_infos import (
    CA_ECDH_AES_128,
    ID_PACE,
    ID_PK_DH,
    ID_PK_ECDH,
    PACE_ECDH_GM_AES_256,
    ActiveAuthInfo,
    ChipAuthInfo,
    ChipAuthPublicKey,
    MalformedSecurityInfos,
    OtherInfo,
    PaceInfo,
    SecurityInfos,
    encode_security_infos,
    oid_from_bytes,
    parse_security_infos,
)

ICAO_CARD_ACCESS = bytes.fromhex("31143012060A04007F0007020204020402010202010D")
P256 = curve_by_id(12)
BP256 = curve_by_id(13)


class _TaInfo(Sequence):
    _fields = [("protocol", ObjectIdentifier), ("version", Integer)]


TA_INFO = OtherInfo(
    "0.4.0.127.0.7.2.2.2", _TaInfo({"protocol": "0.4.0.127.0.7.2.2.2", "version": 1}).dump()
)


def _dg14() -> SecurityInfos:
    return SecurityInfos(
        chip_auth=[ChipAuthInfo(CA_ECDH_AES_128, 1, 1)],
        chip_auth_keys=[
            ChipAuthPublicKey.ec(P256, P256.encode_point(P256.mul_g(1234)), 1),
            ChipAuthPublicKey.ec(BP256, BP256.encode_point(BP256.mul_g(99)), 2, explicit=False),
        ],
        active_auth=[ActiveAuthInfo(signature_algorithm="0.4.0.127.0.7.1.1.4.1.3")],
        other=[TA_INFO],
    )


def test_icao_card_access_example() -> None:
    infos = parse_security_infos(ICAO_CARD_ACCESS)
    assert infos.pace == [PaceInfo(PACE_ECDH_GM_AES_256, 2, 13)]
    info = infos.pace[0]
    assert (info.key_agreement, info.mapping, info.cipher) == ("ECDH", "GM", Algorithm.AES256)
    assert info.oid_bytes == bytes.fromhex("04007F00070202040204")
    assert oid_from_bytes(info.oid_bytes) == PACE_ECDH_GM_AES_256
    assert not (infos.chip_auth or infos.chip_auth_keys or infos.active_auth or infos.other)
    assert encode_security_infos(infos) == ICAO_CARD_ACCESS


def test_dg14_round_trip() -> None:
    original = _dg14()
    data = encode_security_infos(original, dg14=True)
    assert data[0] == 0x6E
    parsed = parse_security_infos(data)
    assert parsed.chip_auth == original.chip_auth
    assert parsed.active_auth == original.active_auth
    assert parsed.other == [TA_INFO]
    assert sorted(parsed.chip_auth_keys, key=lambda k: k.key_id or 0) == original.chip_auth_keys
    by_id = {k.key_id: k for k in parsed.chip_auth_keys}
    assert by_id[1].curve is P256 and by_id[2].curve is BP256  # explicit and standardized forms
    assert P256.decode_point(by_id[1].public_key) == P256.mul_g(1234)
    assert encode_security_infos(parsed, dg14=True) == data
    assert parse_security_infos(tlv.expect(data, 0x6E).value) == parsed  # the bare SET


def test_named_curve_and_custom_explicit_parameters() -> None:
    named = ChipAuthPublicKey(
        ID_PK_ECDH,
        P256.encode_point(P256.g),
        ObjectIdentifier("1.2.840.10045.3.1.7").dump(),
        None,
        3,
    )
    custom_curve = Curve("x", P256.p, P256.a, P256.b, *P256.mul_g(2), P256.n, 1)  # type: ignore[misc]
    custom = ChipAuthPublicKey.ec(custom_curve, P256.encode_point(P256.mul_g(6)), 4)
    parsed = parse_security_infos(
        encode_security_infos(SecurityInfos(chip_auth_keys=[named, custom]))
    )
    by_id = {k.key_id: k for k in parsed.chip_auth_keys}
    assert by_id[3].curve is P256
    c = by_id[4].curve
    assert c is not None and c.name == "explicit" and c.param_id is None and c.g == P256.mul_g(2)


def test_other_protocols_are_kept() -> None:
    # PACEDomainParameterInfo's OID is id-PACE-ECDH-GM without a cipher arc: kept opaque
    domain_info = OtherInfo(
        f"{ID_PACE}.2", _TaInfo({"protocol": f"{ID_PACE}.2", "version": 5}).dump()
    )
    dh_key = ChipAuthPublicKey(ID_PK_DH, Integer(12345).dump(), None, None, None)
    infos = SecurityInfos(
        pace=[PaceInfo(f"{ID_PACE}.3.4", 2, 0)], chip_auth_keys=[dh_key], other=[domain_info]
    )
    parsed = parse_security_infos(encode_security_infos(infos))
    assert parsed.other == [domain_info]
    assert parsed.pace[0].mapping == "IM" and parsed.pace[0].key_agreement == "DH"
    assert parsed.chip_auth_keys == [dh_key]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        ICAO_CARD_ACCESS[:-1],
        b"\x30" + ICAO_CARD_ACCESS[1:],  # SEQUENCE instead of SET
        ICAO_CARD_ACCESS + b"\x00",
        bytes.fromhex("31103010060A04007F00070202040204040102"),  # version as OCTET STRING
        bytes.fromhex("3106300406020000"),  # SecurityInfo without requiredData
        bytes.fromhex("6E03310100"),
        bytes.fromhex("6E16") + ICAO_CARD_ACCESS + b"\x00",
    ],
)
def test_malformed_input_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(MalformedSecurityInfos) as err:
        parse_security_infos(data)
    assert isinstance(err.value, ProtocolError) and err.value.code == "malformed_security_infos"


def test_off_curve_chip_key_is_malformed() -> None:
    point = bytearray(P256.encode_point(P256.mul_g(5)))
    point[-1] ^= 1
    bad = ChipAuthPublicKey(ID_PK_ECDH, bytes(point), ChipAuthPublicKey.ec(P256, b"").parameters)
    with pytest.raises(MalformedSecurityInfos):
        parse_security_infos(encode_security_infos(SecurityInfos(chip_auth_keys=[bad])))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_dg14_never_raises_untyped(data: st.DataObject) -> None:
    raw = bytearray(encode_security_infos(_dg14(), dg14=True))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    with contextlib.suppress(MalformedSecurityInfos):
        parse_security_infos(bytes(raw[:cut]) if data.draw(st.booleans()) else bytes(raw))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_never_raise_untyped(blob: bytes) -> None:
    with contextlib.suppress(MalformedSecurityInfos):
        parse_security_infos(blob)
