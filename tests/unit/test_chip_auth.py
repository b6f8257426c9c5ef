"""Chip Authentication (ECDH): terminal vs ChipAuthCard, SM restarted with the new keys."""

from __future__ import annotations

import pytest

from readers.access_key import Can
from readers.apdu import CommandAPDU
from readers.chip_auth import choose_chip_auth, perform_chip_auth
from readers.crypto import Algorithm
from readers.ec import curve_by_id
from readers.errors import ProtocolError, SecureMessagingError
from readers.loopback import LoopbackTransport
from readers.pace import perform_pace
from readers.security_infos import (
    CA_ECDH_3DES,
    CA_ECDH_AES_128,
    CA_ECDH_AES_256,
    PACE_ECDH_GM_AES_128,
    ChipAuthInfo,
    ChipAuthPublicKey,
    PaceInfo,
    SecurityInfos,
    encode_security_infos,
    parse_security_infos,
)
from readers.vcard.chip_auth_card import ChipAuthCard
from readers.vcard.pace_card import PaceCard
from tests.unit.test_pace import MiniCard

CAN = Can("123456")
PACE_INFO = PaceInfo(PACE_ECDH_GM_AES_128, 2, 12)
CONTENT = bytes(range(32))


def _dg14(ca_card: ChipAuthCard, protocol: str, key_id: int | None) -> SecurityInfos:
    key = ChipAuthPublicKey.ec(ca_card.curve, ca_card.public_key, key_id)
    infos = SecurityInfos(chip_auth=[ChipAuthInfo(protocol, 1, key_id)], chip_auth_keys=[key])
    return parse_security_infos(encode_security_infos(infos, dg14=True))  # as read from DG14


def _pace(ca_card: ChipAuthCard) -> tuple[MiniCard, object]:
    card = MiniCard(PaceCard([CAN], [PACE_INFO]), ca_card, CONTENT)
    channel = perform_pace(LoopbackTransport(card), CAN, SecurityInfos(pace=[PACE_INFO]))
    return card, channel


@pytest.mark.parametrize(
    ("curve_id", "protocol", "key_id", "alg"),
    [
        (12, CA_ECDH_AES_128, None, Algorithm.AES128),
        (13, CA_ECDH_AES_256, 1, Algorithm.AES256),
        (15, CA_ECDH_AES_128, 7, Algorithm.AES128),
        (12, CA_ECDH_3DES, None, Algorithm.TDES),
    ],
)
def test_chip_auth_restarts_secure_messaging(
    curve_id: int, protocol: str, key_id: int | None, alg: Algorithm
) -> None:
    curve = curve_by_id(curve_id)
    ca_card = ChipAuthCard(
        curve_id, curve.random_scalar(lambda n: bytes([0x42] * n)), key_id=key_id
    )
    card, channel = _pace(ca_card)
    pace_keys = channel.sm.keys  # type: ignore[attr-defined]
    result = perform_chip_auth(channel, _dg14(ca_card, protocol, key_id))  # type: ignore[arg-type]
    assert result.cipher is alg and result.key_id == key_id
    assert result.chip_public_key == ca_card.public_key
    new_sm = channel.sm  # type: ignore[attr-defined]
    assert new_sm.keys != pace_keys and new_sm.keys.alg is alg
    assert card.session is not None and card.session.keys == new_sm.keys
    # what the card saw: MSE:Set KAT for 3DES, else MSE:Set AT (with 84 when a key id) + GA
    mse = card.plain_commands[5]
    if alg is Algorithm.TDES:
        assert (mse.p1, mse.p2) == (0x41, 0xA6)
        assert mse.data[:1] == b"\x91"
    else:
        assert (mse.p1, mse.p2) == (0x41, 0xA4)
        assert (b"\x84" in mse.data) == (key_id is not None)
        assert card.plain_commands[6].ins == 0x86
    resp = channel.transmit(CommandAPDU(0x00, 0xB0, 0, 4, b"", 8))  # type: ignore[attr-defined]
    assert (resp.data, resp.sw) == (CONTENT[4:12], 0x9000)


def test_wrong_chip_key_fails_on_next_command() -> None:
    curve = curve_by_id(12)
    genuine = ChipAuthCard(12, 1234567)
    clone = ChipAuthCard(12, 7654321)
    _, channel = _pace(clone)
    perform_chip_auth(channel, _dg14(genuine, CA_ECDH_AES_128, None))  # type: ignore[arg-type]
    assert curve.decode_point(genuine.public_key) != curve.decode_point(clone.public_key)
    with pytest.raises(SecureMessagingError):
        channel.transmit(CommandAPDU(0x00, 0xB0, 0, 0, b"", 4))  # type: ignore[attr-defined]


def test_choose_prefers_strongest_with_matching_key() -> None:
    curve = curve_by_id(13)
    k1 = ChipAuthPublicKey.ec(curve, curve.encode_point(curve.mul_g(5)), 1)
    k2 = ChipAuthPublicKey.ec(curve, curve.encode_point(curve.mul_g(6)), 2)
    infos = SecurityInfos(
        chip_auth=[ChipAuthInfo(CA_ECDH_AES_128, 1, 1), ChipAuthInfo(CA_ECDH_AES_256, 1, 2)],
        chip_auth_keys=[k1, k2],
    )
    ca, key, chosen = choose_chip_auth(infos)
    assert (ca.key_id, key, chosen) == (2, k2, curve)


def test_default_is_3des_when_dg14_has_only_a_key() -> None:
    curve = curve_by_id(12)
    key = ChipAuthPublicKey.ec(curve, curve.encode_point(curve.mul_g(9)))
    ca, _, _ = choose_chip_auth(SecurityInfos(chip_auth_keys=[key]))
    assert ca.protocol == CA_ECDH_3DES


def test_no_ecdh_key_is_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        choose_chip_auth(SecurityInfos(chip_auth=[ChipAuthInfo(CA_ECDH_AES_128, 1, None)]))


def test_card_rejects_point_off_curve() -> None:
    ca_card = ChipAuthCard(12, 99)
    set_at = CommandAPDU(0x00, 0x22, 0x41, 0xA4, bytes.fromhex("800A04007F00070202030202"))
    ok = ca_card.process(set_at)
    assert ok is not None and ok.sw == 0x9000
    bad = bytearray(ca_card.public_key)
    bad[-1] ^= 1
    resp = ca_card.process(CommandAPDU(0x00, 0x86, 0, 0, b"\x7c\x43\x80\x41" + bytes(bad), 256))
    assert resp is not None and resp.sw == 0x6A80 and ca_card.new_session is None
