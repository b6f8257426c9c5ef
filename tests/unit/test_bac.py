"""Basic Access Control: ICAO 9303-11 Appendix D vectors, terminal against the card half."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from readers.access_key import MrzKey
from readers.apdu import CommandAPDU, ResponseAPDU
from readers.bac import bac_key_seed, bac_keys, perform_bac, seal_cryptogram
from readers.errors import AccessDenied, CardError, ProtocolError, SecureMessagingError
from readers.loopback import LoopbackTransport
from readers.vcard.bac_card import BacCard

H = bytes.fromhex
ICAO_KEY = MrzKey("L898902C", "690806", "940623")
RND_IFD = H("781723860C06C226")
K_IFD = H("0B795240CB7049B01C19B33E32804F0B")
RND_IC = H("4608F91988702212")
K_IC = H("0B4F80323EB3191CB04970CB4052790B")
E_IFD = H("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
M_IFD = H("5F1448EEA8AD90A7")
# The card's answer in Appendix D (not in the research notes; matched by this implementation).
E_IC = H("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F")
M_IC = H("2F2D235D074D7449")
KS_ENC = H("979EC13B1CBFE9DCD01AB0FED307EAE5")
KS_MAC = H("F1CB1F1FB5ADF208806B89DC579DC1F8")
SSC = H("887022120C06C226")


def scripted(*chunks: bytes) -> Callable[[int], bytes]:
    """An rng that returns the given byte strings in order and checks the sizes asked for."""
    queue = list(chunks)

    def rng(n: int) -> bytes:
        out = queue.pop(0)
        assert len(out) == n
        return out

    return rng


class VirtualChip:
    """A minimal card: BAC in the clear, then everything under the card's SM session."""

    def __init__(self, bac: BacCard) -> None:
        self.bac = bac
        self.log: list[bytes] = []

    def __call__(self, raw: bytes) -> bytes:
        self.log.append(raw)
        cmd = CommandAPDU.decode(raw)
        sm = self.bac.session
        if sm is None:
            resp = self.bac.process(cmd)
            return (resp or ResponseAPDU(b"", 0x6D00)).encode()
        try:
            plain = sm.unprotect_command(cmd)
        except SecureMessagingError:
            self.bac.session = None
            return H("6988")
        data = H("60145F01") if plain.ins == 0xB0 else b""
        return sm.protect_response(ResponseAPDU(data, 0x9000)).encode()


def test_mrz_information_and_document_keys() -> None:
    assert ICAO_KEY.information == "L898902C<369080619406236"
    assert bac_key_seed(ICAO_KEY.information) == H("239AB9CB282DAF66231DC5A4DF6BFBAE")
    keys = bac_keys(ICAO_KEY.information)
    assert keys.k_enc == H("AB94FDECF2674FDFB9B391F85D7F76F2")
    assert keys.k_mac == H("7962D9ECE03D1ACD4C76089DCE131543")


def test_cryptogram_vector() -> None:
    keys = bac_keys(ICAO_KEY.information)
    assert seal_cryptogram(keys, RND_IFD + RND_IC + K_IFD) == E_IFD + M_IFD


def test_appendix_d_end_to_end() -> None:
    card = BacCard(ICAO_KEY, rng=scripted(RND_IC, K_IC))
    chip = VirtualChip(card)
    answers: list[bytes] = []

    def recording_chip(raw: bytes) -> bytes:
        answers.append(chip(raw))
        return answers[-1]

    channel = perform_bac(LoopbackTransport(recording_chip), ICAO_KEY, scripted(RND_IFD, K_IFD))

    assert chip.log == [H("0084000008"), H("0082000028") + E_IFD + M_IFD + H("28")]
    assert answers == [RND_IC + H("9000"), E_IC + M_IC + H("9000")]
    for sm in (channel.sm, card.session):
        assert sm is not None
        assert (sm.keys.k_enc, sm.keys.k_mac, sm.ssc) == (KS_ENC, KS_MAC, SSC)

    # The protected SELECT and READ BINARY of Appendix D, byte for byte on the wire.
    assert channel.transmit(CommandAPDU.decode(H("00A4020C02011E"))) == ResponseAPDU(b"", 0x9000)
    assert channel.transmit(CommandAPDU.decode(H("00B0000004"))).data == H("60145F01")
    assert chip.log[2:] == [
        H("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"),
        H("0CB000000D9701048E08ED6705417E96BA5500"),
    ]
    assert card.failures == 0


def test_random_run_succeeds_and_both_sides_agree() -> None:
    card = BacCard(ICAO_KEY)
    channel = perform_bac(LoopbackTransport(VirtualChip(card)), ICAO_KEY)
    assert card.session is not None
    assert channel.sm.keys == card.session.keys and channel.sm.ssc == card.session.ssc
    assert channel.transmit(CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=4)).data == H("60145F01")


def test_wrong_key_is_access_denied_without_retry() -> None:
    card = BacCard(ICAO_KEY)
    chip = VirtualChip(card)
    wrong = MrzKey("L898902C", "690806", "940624")
    with pytest.raises(AccessDenied) as info:
        perform_bac(LoopbackTransport(chip), wrong)
    assert info.value.key == "MRZ (BAC)"
    assert info.value.code == "access_denied"
    assert len(chip.log) == 2  # one GET CHALLENGE, one EXTERNAL AUTHENTICATE, no retry
    assert card.failures == 1 and card.session is None


@pytest.mark.parametrize("sw", ["6300", "6982", "6A80"])
def test_any_refusal_of_external_authenticate_is_access_denied(sw: str) -> None:
    answers = iter([RND_IC + H("9000"), H(sw)])
    with pytest.raises(AccessDenied, match="MRZ \\(BAC\\)"):
        perform_bac(LoopbackTransport(lambda raw: next(answers)), ICAO_KEY)


def test_get_challenge_failure_is_card_error() -> None:
    with pytest.raises(CardError) as info:
        perform_bac(LoopbackTransport(lambda raw: H("6D00")), ICAO_KEY)
    assert info.value.sw == 0x6D00


def test_short_challenge_is_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        perform_bac(LoopbackTransport(lambda raw: H("01029000")), ICAO_KEY)


def card_answering(answer: bytes) -> Callable[[bytes], bytes]:
    answers = iter([RND_IC + H("9000"), answer + H("9000")])
    return lambda raw: next(answers)


def test_bad_card_mac_is_protocol_error() -> None:
    keys = bac_keys(ICAO_KEY.information)
    good = seal_cryptogram(keys, RND_IC + RND_IFD + K_IC)
    bad = good[:-1] + bytes([good[-1] ^ 1])
    with pytest.raises(ProtocolError, match="MAC"):
        perform_bac(LoopbackTransport(card_answering(bad)), ICAO_KEY, scripted(RND_IFD, K_IFD))


def test_card_not_echoing_rnd_ifd_is_protocol_error() -> None:
    keys = bac_keys(ICAO_KEY.information)
    wrong_echo = seal_cryptogram(keys, RND_IC + bytes(8) + K_IC)
    with pytest.raises(ProtocolError, match="echo"):
        perform_bac(
            LoopbackTransport(card_answering(wrong_echo)), ICAO_KEY, scripted(RND_IFD, K_IFD)
        )


def test_card_answer_of_wrong_length_is_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        perform_bac(LoopbackTransport(card_answering(bytes(32))), ICAO_KEY)


def test_bac_card_challenge_is_single_use() -> None:
    card = BacCard(ICAO_KEY, rng=scripted(RND_IC, K_IC))
    auth = CommandAPDU(0x00, 0x82, 0x00, 0x00, E_IFD + M_IFD, le=40)
    assert card.process(auth) == ResponseAPDU(b"", 0x6985)  # no challenge yet
    assert card.process(CommandAPDU(0x00, 0x84, 0x00, 0x00, le=8)) == ResponseAPDU(RND_IC, 0x9000)
    first = card.process(auth)
    assert first is not None and first.ok and len(first.data) == 40
    assert card.session is not None
    assert card.process(auth) == ResponseAPDU(b"", 0x6985)  # replay: challenge consumed
    assert card.session is None


def test_bac_card_wrong_challenge_echo_fails() -> None:
    card = BacCard(ICAO_KEY, rng=scripted(H("0000000000000000")))
    card.process(CommandAPDU(0x00, 0x84, 0x00, 0x00, le=8))
    # E_IFD was made for RND.IC 4608F919…, not for this challenge.
    resp = card.process(CommandAPDU(0x00, 0x82, 0x00, 0x00, E_IFD + M_IFD, le=40))
    assert resp == ResponseAPDU(b"", 0x6300)
    assert card.failures == 1 and card.session is None


def test_bac_card_checks_lengths_and_ignores_other_commands() -> None:
    card = BacCard(ICAO_KEY)
    assert card.process(CommandAPDU(0x00, 0x84, 0x00, 0x00, le=16)) == ResponseAPDU(b"", 0x6700)
    card.process(CommandAPDU(0x00, 0x84, 0x00, 0x00, le=8))
    short = card.process(CommandAPDU(0x00, 0x82, 0x00, 0x00, bytes(32), le=40))
    assert short == ResponseAPDU(b"", 0x6700)
    assert card.process(CommandAPDU(0x00, 0xA4, 0x04, 0x0C, H("A0000002471001"))) is None
    assert card.process(CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=4)) is None
