"""Secure messaging: ICAO 9303-11 Appendix D vectors (3DES) and AES round trips."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from readers import tlv
from readers.apdu import CommandAPDU, ResponseAPDU
from readers.crypto import Algorithm, SessionKeys, pad
from readers.errors import SecureMessagingError
from readers.loopback import LoopbackTransport
from readers.sm import SecureChannel, SecureMessaging

H = bytes.fromhex
KS_ENC = H("979EC13B1CBFE9DCD01AB0FED307EAE5")
KS_MAC = H("F1CB1F1FB5ADF208806B89DC579DC1F8")
SSC0 = H("887022120C06C226")

SELECT_PLAIN = H("00A4020C02011E")
SELECT_PROTECTED = H("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
SELECT_ANSWER = H("990290008E08FA855A5D4C50A8ED9000")
READ_PLAIN = H("00B0000004")
READ_PROTECTED = H("0CB000000D9701048E08ED6705417E96BA5500")
READ_ANSWER = H("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000")


def icao_sm() -> SecureMessaging:
    return SecureMessaging(SessionKeys(Algorithm.TDES, KS_ENC, KS_MAC), SSC0)


def test_appendix_d_terminal_byte_for_byte() -> None:
    sm = icao_sm()
    assert sm.protect(CommandAPDU.decode(SELECT_PLAIN)).encode() == SELECT_PROTECTED
    assert sm.unprotect(ResponseAPDU.decode(SELECT_ANSWER)) == ResponseAPDU(b"", 0x9000)
    assert sm.protect(CommandAPDU.decode(READ_PLAIN)).encode() == READ_PROTECTED
    assert sm.unprotect(ResponseAPDU.decode(READ_ANSWER)) == ResponseAPDU(H("60145F01"), 0x9000)
    assert sm.ssc == H("887022120C06C22A")


def test_appendix_d_card_byte_for_byte() -> None:
    card = icao_sm()
    assert card.unprotect_command(CommandAPDU.decode(SELECT_PROTECTED)).encode() == SELECT_PLAIN
    assert card.protect_response(ResponseAPDU(b"", 0x9000)).encode() == SELECT_ANSWER
    assert card.unprotect_command(CommandAPDU.decode(READ_PROTECTED)).encode() == READ_PLAIN
    assert card.protect_response(ResponseAPDU(H("60145F01"), 0x9000)).encode() == READ_ANSWER


def test_replayed_answer_fails_because_ssc_moved_on() -> None:
    sm = icao_sm()
    sm.protect(CommandAPDU.decode(SELECT_PLAIN))
    sm.unprotect(ResponseAPDU.decode(SELECT_ANSWER))
    sm.protect(CommandAPDU.decode(READ_PLAIN))
    with pytest.raises(SecureMessagingError):
        sm.unprotect(ResponseAPDU.decode(SELECT_ANSWER))


AES = [
    (Algorithm.AES128, 16),
    (Algorithm.AES192, 24),
    (Algorithm.AES256, 32),
]


def pair(alg: Algorithm, key_len: int) -> tuple[SecureMessaging, SecureMessaging]:
    keys = SessionKeys(alg, bytes(range(1, key_len + 1)), bytes(range(101, 101 + key_len)))
    ssc = bytes(16)
    return SecureMessaging(keys, ssc), SecureMessaging(keys, ssc)


def round_trip(
    term: SecureMessaging, card: SecureMessaging, cmd: CommandAPDU, answer: ResponseAPDU
) -> tuple[CommandAPDU, CommandAPDU, ResponseAPDU]:
    """Terminal protect → card unprotect → card protect → terminal unprotect, via bytes."""
    wire_cmd = CommandAPDU.decode(term.protect(cmd).encode())
    seen = card.unprotect_command(wire_cmd)
    wire_resp = ResponseAPDU.decode(card.protect_response(answer).encode())
    return wire_cmd, seen, term.unprotect(wire_resp)


@pytest.mark.parametrize(("alg", "key_len"), AES)
def test_aes_round_trips(alg: Algorithm, key_len: int) -> None:
    term, card = pair(alg, key_len)
    commands = [
        (CommandAPDU(0x00, 0xA4, 0x02, 0x0C, H("011E")), ResponseAPDU(b"", 0x9000)),
        (CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=256), ResponseAPDU(bytes(range(256)), 0x9000)),
        (CommandAPDU(0x00, 0xB0, 0x81, 0x00, le=16), ResponseAPDU(b"", 0x6A82)),
        (CommandAPDU(0x00, 0x22, 0x41, 0xA4, bytes(15)), ResponseAPDU(b"", 0x9000)),
        (CommandAPDU(0x00, 0x84, 0x00, 0x00, le=8), ResponseAPDU(bytes(8), 0x9000)),
    ]
    for cmd, answer in commands:
        wire, seen, back = round_trip(term, card, cmd, answer)
        assert wire.cla == 0x0C
        assert seen == cmd
        assert back == answer
    assert term.ssc == card.ssc == (2 * len(commands)).to_bytes(16, "big")


@pytest.mark.parametrize(("alg", "key_len"), AES)
def test_aes_iv_is_encrypted_ssc(alg: Algorithm, key_len: int) -> None:
    term, _ = pair(alg, key_len)
    data = b"hello"
    wire = term.protect(CommandAPDU(0x00, 0xA4, 0x02, 0x0C, data))
    k_enc = term.keys.k_enc
    ssc = (1).to_bytes(16, "big")
    ecb = Cipher(algorithms.AES(k_enc), modes.ECB()).encryptor()
    iv = ecb.update(ssc) + ecb.finalize()
    cbc = Cipher(algorithms.AES(k_enc), modes.CBC(iv)).encryptor()
    expected = cbc.update(pad(data, 16)) + cbc.finalize()
    do87 = tlv.parse_all(wire.data)[0]
    assert do87.tag == 0x87
    assert do87.value == b"\x01" + expected


def test_extended_le_uses_two_byte_do97_and_extended_le() -> None:
    term, card = pair(Algorithm.AES128, 16)
    cmd = CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=0x1000)
    wire = term.protect(cmd)
    objs = tlv.parse_all(wire.data)
    assert (objs[0].tag, objs[0].value) == (0x97, H("1000"))
    raw = wire.encode()
    assert raw[4] == 0x00 and raw[-2:] == H("0000")  # extended Lc, protected Le 0000
    seen = card.unprotect_command(CommandAPDU.decode(raw))
    assert seen == cmd
    big = bytes(range(256)) * 16
    assert term.unprotect(card.protect_response(ResponseAPDU(big, 0x9000))).data == big


def test_extended_le_65536_encodes_as_0000() -> None:
    term, card = pair(Algorithm.AES256, 32)
    wire = term.protect(CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=65536))
    assert tlv.parse_all(wire.data)[0].value == H("0000")
    assert card.unprotect_command(CommandAPDU.decode(wire.encode())).le == 65536


def test_short_le_256_is_single_zero_byte() -> None:
    term, _ = pair(Algorithm.AES128, 16)
    wire = term.protect(CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=256))
    assert tlv.parse_all(wire.data)[0].value == b"\x00"
    assert wire.encode()[-1:] == b"\x00" and not wire.needs_extended()


def test_long_command_data_goes_extended() -> None:
    term, card = pair(Algorithm.AES128, 16)
    cmd = CommandAPDU(0x00, 0xD6, 0x00, 0x00, bytes(300))
    raw = term.protect(cmd).encode()
    assert raw[4] == 0x00 and raw[-2:] == H("0000")
    assert card.unprotect_command(CommandAPDU.decode(raw)) == cmd


def test_odd_ins_uses_do85_without_padding_indicator() -> None:
    term, card = pair(Algorithm.AES128, 16)
    cmd = CommandAPDU(0x00, 0xB1, 0x00, 0x00, H("54020100"), le=256)
    wire = term.protect(cmd)
    objs = tlv.parse_all(wire.data)
    assert [o.tag for o in objs] == [0x85, 0x97, 0x8E]
    assert len(objs[0].value) == 16  # one AES block, no leading 01
    assert card.unprotect_command(wire) == cmd


def test_odd_ins_3des() -> None:
    term, card = icao_sm(), icao_sm()
    cmd = CommandAPDU(0x00, 0xB1, 0x00, 0x00, H("540300FF00"), le=256)
    wire = term.protect(cmd)
    assert tlv.parse_all(wire.data)[0].tag == 0x85
    assert card.unprotect_command(wire) == cmd


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_tampered_response_mac_kills_session() -> None:
    sm = icao_sm()
    sm.protect(CommandAPDU.decode(SELECT_PLAIN))
    with pytest.raises(SecureMessagingError, match="MAC does not verify"):
        sm.unprotect(ResponseAPDU.decode(flip(SELECT_ANSWER, 11)))
    assert not sm.alive
    with pytest.raises(SecureMessagingError):
        sm.protect(CommandAPDU.decode(READ_PLAIN))


def test_tampered_response_data_is_rejected() -> None:
    sm = icao_sm()
    sm.protect(CommandAPDU.decode(SELECT_PLAIN))
    sm.unprotect(ResponseAPDU.decode(SELECT_ANSWER))
    sm.protect(CommandAPDU.decode(READ_PLAIN))
    with pytest.raises(SecureMessagingError):
        sm.unprotect(ResponseAPDU.decode(flip(READ_ANSWER, 5)))


def test_response_without_do99_is_rejected() -> None:
    term, _ = pair(Algorithm.AES128, 16)
    term.protect(CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=4))
    # A card holding the right keys and SSC, whose answer is then stripped of DO99 and re-MACed.
    forged = SecureMessaging(term.keys, term.ssc)
    wrapped = forged.protect_response(ResponseAPDU(H("01020304"), 0x9000))
    objs = tlv.parse_all(wrapped.data)
    do87 = tlv.encode(0x87, objs[0].value)
    mac = SecureMessaging(term.keys, term.ssc)._mac(bytes(15) + b"\x02" + do87)
    without_99 = do87 + tlv.encode(0x8E, mac)
    with pytest.raises(SecureMessagingError, match="DO99"):
        term.unprotect(ResponseAPDU(without_99, 0x9000))


@pytest.mark.parametrize("sw", [0x6987, 0x6988])
def test_unprotected_sm_error_status_raises(sw: int) -> None:
    sm = icao_sm()
    sm.protect(CommandAPDU.decode(SELECT_PLAIN))
    with pytest.raises(SecureMessagingError):
        sm.unprotect(ResponseAPDU(b"", sw))
    assert not sm.alive


def test_unprotected_9000_is_not_accepted() -> None:
    sm = icao_sm()
    sm.protect(CommandAPDU.decode(SELECT_PLAIN))
    with pytest.raises(SecureMessagingError):
        sm.unprotect(ResponseAPDU(b"", 0x9000))


def test_unprotected_other_error_is_returned_but_ends_session() -> None:
    sm = icao_sm()
    sm.protect(CommandAPDU.decode(SELECT_PLAIN))
    assert sm.unprotect(ResponseAPDU(b"", 0x6982)) == ResponseAPDU(b"", 0x6982)
    assert not sm.alive


def test_card_rejects_tampered_command() -> None:
    card = icao_sm()
    with pytest.raises(SecureMessagingError):
        card.unprotect_command(CommandAPDU.decode(flip(SELECT_PROTECTED, 8)))
    assert not card.alive


def test_card_rejects_missing_mac_and_plain_commands() -> None:
    without_mac = CommandAPDU(0x0C, 0xA4, 0x02, 0x0C, H("8709016375432908C044F6"))
    with pytest.raises(SecureMessagingError, match="DO8E"):
        icao_sm().unprotect_command(without_mac)
    with pytest.raises(SecureMessagingError, match="not protected"):
        icao_sm().unprotect_command(CommandAPDU.decode(SELECT_PLAIN))
    with pytest.raises(SecureMessagingError):
        icao_sm().unprotect_command(CommandAPDU(0x0C, 0xB0, 0x00, 0x00, H("8E03010203")))


def test_card_rejects_changed_header() -> None:
    # The header is MACed: the same DOs under another P1 must fail.
    forged = SELECT_PROTECTED[:2] + b"\x04" + SELECT_PROTECTED[3:]
    with pytest.raises(SecureMessagingError):
        icao_sm().unprotect_command(CommandAPDU.decode(forged))


def test_constructor_checks_ssc_and_key_lengths() -> None:
    with pytest.raises(ValueError):
        SecureMessaging(SessionKeys(Algorithm.AES128, bytes(16), bytes(16)), bytes(8))
    with pytest.raises(ValueError):
        SecureMessaging(SessionKeys(Algorithm.TDES, KS_ENC, KS_MAC), bytes(16))
    with pytest.raises(ValueError):
        SecureMessaging(SessionKeys(Algorithm.AES256, bytes(16), bytes(16)), bytes(16))


def test_ssc_wraps_around() -> None:
    sm = SecureMessaging(SessionKeys(Algorithm.TDES, KS_ENC, KS_MAC), b"\xff" * 8)
    sm.protect(CommandAPDU.decode(READ_PLAIN))
    assert sm.ssc == bytes(8)


def test_secure_channel_over_loopback_and_sm_replacement() -> None:
    card_sm = icao_sm()
    seen: list[bytes] = []

    def card(raw: bytes) -> bytes:
        seen.append(raw)
        cmd = card_sm.unprotect_command(CommandAPDU.decode(raw))
        data = H("60145F01") if cmd.ins == 0xB0 else b""
        return card_sm.protect_response(ResponseAPDU(data, 0x9000)).encode()

    channel = SecureChannel(LoopbackTransport(card, extended_length=False), icao_sm())
    assert channel.extended_length is False
    assert channel.transmit(CommandAPDU.decode(SELECT_PLAIN)) == ResponseAPDU(b"", 0x9000)
    assert channel.transmit(CommandAPDU.decode(READ_PLAIN)).data == H("60145F01")
    assert seen == [SELECT_PROTECTED, READ_PROTECTED]

    # Chip Authentication restarts SM: both sides swap to new AES keys and a zero SSC.
    term_new, card_sm = pair(Algorithm.AES128, 16)
    channel.sm = term_new
    assert channel.transmit(CommandAPDU.decode(READ_PLAIN)).data == H("60145F01")


def test_loopback_refuses_extended_apdu_when_card_cannot() -> None:
    transport = LoopbackTransport(lambda raw: H("9000"), extended_length=False)
    with pytest.raises(ValueError):
        transport.transmit(CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=1000))
    assert transport.transmit(CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=10)).ok
