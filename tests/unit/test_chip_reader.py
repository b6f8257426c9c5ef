"""The chip reader against the virtual card in-process (no PC/SC): paths pcscd tests don't hit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ekyc.synth.chip import build_chip
from readers.apdu import CommandAPDU
from readers.chip_reader import ChipReader
from readers.errors import ProtocolError
from readers.files import chip_file
from readers.loopback import LoopbackTransport
from readers.tlv import encode
from readers.transport import CountingTransport
from readers.vcard.card import VirtualCard

NONCE = b"\x01" * 8


@pytest.fixture(scope="module")
def chip():  # type: ignore[no-untyped-def]
    return build_chip(seed=31)


def read(profile, key, extended=True):  # type: ignore[no-untyped-def]
    card = VirtualCard(profile)
    seen: list[CommandAPDU] = []

    def spy(raw: bytes) -> bytes:
        seen.append(CommandAPDU.decode(raw))
        return card.process(raw)

    transport = CountingTransport(LoopbackTransport(spy, extended_length=extended))
    return ChipReader(key).read(transport, aa_nonce=NONCE), seen


@pytest.mark.parametrize("extended", [True, False])
def test_files_past_32k_use_odd_read_binary(chip, extended) -> None:  # type: ignore[no-untyped-def]
    big = encode(0x75, bytes(range(256)) * 160)  # a 40 KB DG2
    profile = chip.profile
    files = dict(profile.files)
    files[chip_file("DG2").fid] = big
    result, seen = read(
        replace(profile, files=files, extended_length=extended), chip.citizen.can, extended
    )
    assert result.files["DG2"] == big
    assert sum(1 for c in seen if c.ins == 0xB1) >= 1  # protected B1 keeps its odd INS


def test_unreadable_card_access_means_bac(chip) -> None:  # type: ignore[no-untyped-def]
    files = dict(chip.profile.files)
    files[chip_file("EF.CardAccess").fid] = b"\x31\x05\x02\x01"  # shorter than its length
    result, _ = read(replace(chip.profile, files=files), chip.citizen.mrz_key)
    assert result.access_protocol == "BAC" and "EF.CardAccess" not in result.files


def test_file_shorter_than_its_length_is_a_protocol_error(chip) -> None:  # type: ignore[no-untyped-def]
    files = dict(chip.profile.files)
    dg13 = files[chip_file("DG13").fid]
    files[chip_file("DG13").fid] = dg13[:-10]  # header still claims the full length
    with pytest.raises(ProtocolError, match="DG13 ended"):
        read(replace(chip.profile, files=files), chip.citizen.can)


def test_malformed_card_access_falls_back_to_bac(chip) -> None:  # type: ignore[no-untyped-def]
    files = dict(chip.profile.files)
    files[chip_file("EF.CardAccess").fid] = b"\x31\x03\x02\x01\x00"  # a SET of no SecurityInfo
    result, _ = read(replace(chip.profile, files=files), chip.citizen.mrz_key)
    assert result.access_protocol == "BAC"
    assert result.pace_fallback is not None and result.pace_fallback.startswith("PACE failed")


def test_protected_files_are_not_readable_in_plain(chip) -> None:  # type: ignore[no-untyped-def]
    card = VirtualCard(chip.profile)
    select = CommandAPDU(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("A0000002471001")).encode()
    assert card.process(select)[-2:] == b"\x90\x00"
    for sfi in (0x01, 0x02, 0x0D, 0x1D):
        answer = card.process(CommandAPDU(0x00, 0xB0, 0x80 | sfi, 0, le=256).encode())
        assert answer == b"\x69\x82"  # security status not satisfied, no data
