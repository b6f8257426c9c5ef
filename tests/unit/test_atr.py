from readers.atr import historical_bytes, supports_extended_length
from readers.vcard.card import ATR_EXTENDED, ATR_SHORT


def test_card_capabilities_announce_extended_length() -> None:
    assert historical_bytes(ATR_EXTENDED) == bytes.fromhex("8073C00140")
    assert supports_extended_length(ATR_EXTENDED)
    assert not supports_extended_length(ATR_SHORT)


def test_atr_without_compact_tlv_means_short_apdus() -> None:
    jcop = bytes.fromhex("3B8880014A434F50333156327173C0408DEF")  # historical bytes "JCOP31V2"
    assert historical_bytes(jcop) == b"JCOP31V2"
    assert not supports_extended_length(jcop)
    assert not supports_extended_length(b"")
    assert not supports_extended_length(bytes.fromhex("3B"))
