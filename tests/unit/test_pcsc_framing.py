"""PcscTransport's APDU framing (chaining, GET RESPONSE, wrong Le) against a scripted card.

pcscd's virtual reader passes extended APDUs straight through, so these paths are
exercised here by replacing the two SCard calls with a card script.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from readers import pcsc
from readers.apdu import CommandAPDU
from readers.errors import CardRemoved
from readers.vcard.card import ATR_EXTENDED, ATR_SHORT


def transport(monkeypatch, atr: bytes, card: Callable[[bytes], bytes]) -> pcsc.PcscTransport:  # type: ignore[no-untyped-def]
    scard = pcsc.scard
    monkeypatch.setattr(scard, "SCardStatus", lambda h: (0, "r", 0, 0, list(atr)))
    monkeypatch.setattr(scard, "SCardTransmit", lambda h, p, apdu: (0, list(card(bytes(apdu)))))
    return pcsc.PcscTransport(card=1, protocol=2, reader="scripted")


def test_long_data_is_chained_on_a_short_only_card(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sent: list[bytes] = []

    def card(apdu: bytes) -> bytes:
        sent.append(apdu)
        return b"\x90\x00"

    t = transport(monkeypatch, ATR_SHORT, card)
    assert not t.extended_length
    resp = t.transmit(CommandAPDU(0x00, 0x2A, 0x00, 0xBE, bytes(600)))
    assert resp.ok
    assert [a[0] for a in sent] == [0x10, 0x10, 0x00]
    assert [a[4] for a in sent] == [255, 255, 90]


def test_extended_card_gets_one_extended_apdu(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sent: list[bytes] = []
    t = transport(monkeypatch, ATR_EXTENDED, lambda a: sent.append(a) or b"\x90\x00")
    t.transmit(CommandAPDU(0x00, 0x2A, 0x00, 0xBE, bytes(600), le=65536))
    assert len(sent) == 1 and sent[0][4:7] == b"\x00\x02\x58"


def test_get_response_and_wrong_le_are_followed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def card(apdu: bytes) -> bytes:
        if apdu[1] == 0xB0 and apdu[-1] != 0x05:
            return b"\x6c\x05"  # wrong Le: 5 bytes available
        if apdu[1] == 0xB0:
            return b"ABC\x61\x02"  # 2 more bytes waiting
        if apdu[1] == 0xC0:
            return b"DE\x90\x00"
        return b"\x6d\x00"

    t = transport(monkeypatch, ATR_SHORT, card)
    resp = t.transmit(CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=256))
    assert resp.data == b"ABCDE" and resp.ok


def test_empty_answer_means_the_link_dropped(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    t = transport(monkeypatch, ATR_SHORT, lambda a: b"")
    with pytest.raises(CardRemoved):
        t.transmit(CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=1))
