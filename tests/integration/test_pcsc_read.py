"""The reader end to end through the real PC/SC stack: pyscard → pcscd → vpcd → virtual CCCD."""

from __future__ import annotations

import threading
import time

import pytest

from ekyc.cccd.chip import ChipVerdict, verify_chip
from ekyc.icao.trust_store import TrustStore
from readers.chip_reader import ChipReader
from readers.errors import (
    AccessDenied,
    AccessKeyNotApplicable,
    CardRemoved,
    ChipAuthenticationFailed,
    NoCard,
)
from readers.kiosk import read_chip
from readers.pcsc import PcscContext
from readers.transport import CountingTransport
from readers.vcard.card import Faults
from tests.conftest import NOW, READER

pytestmark = pytest.mark.pcsc
NONCE = bytes.fromhex("0011223344556677")


def trusted(chip) -> TrustStore:  # type: ignore[no-untyped-def]
    store = TrustStore()
    store.add_certificate(chip.pki.csca_cert)
    return store


def wait_until_pulled(link) -> None:  # type: ignore[no-untyped-def]
    """Wait for the faulty card to leave the field and for pcscd to notice (it polls)."""
    deadline = time.monotonic() + 5
    while link.inserted and time.monotonic() < deadline:
        time.sleep(0.01)
    with PcscContext() as ctx:
        assert ctx.wait_for_removal(READER, 5)


def connect(ctx: PcscContext) -> CountingTransport:
    ctx.wait_for_card(READER, 5)
    return CountingTransport(ctx.connect(READER))


@pytest.mark.parametrize(
    "options",
    [
        {"aa": "rsa", "portrait_format": "jpeg"},
        {"aa": "ec", "portrait_format": "jp2"},
        {"aa": "rsa", "extended_length": False},
    ],
    ids=["rsa-jpeg", "ec-jpeg2000", "short-apdus"],
)
def test_pace_read_verifies(insert_card, options) -> None:  # type: ignore[no-untyped-def]
    chip, card, _ = insert_card(seed=5, **options)
    result, stats = read_chip(chip.citizen.can, reader=READER, aa_nonce=NONCE, wait=5)
    assert result.access_protocol == "PACE" and result.access_key == "CAN"
    assert result.chip_auth is not None
    for name, content in chip.files.items():
        assert result.files[name] == content, name
    v = verify_chip(result.files, trusted(chip), NOW, result.aa_nonce, result.aa_signature)
    assert v.verdict is ChipVerdict.VALID, v.reasons
    assert v.active is not None and v.active.ok
    assert v.dg13 is not None and v.dg13.full_name == chip.citizen.full_name
    assert v.mrz is not None and v.mrz.id_number == chip.citizen.id_number
    image = v.portrait_image()
    assert image is not None and image.size == (300, 400)
    if not options.get("extended_length", True):
        assert stats.apdus > 80  # 223-byte chunks for a ~20 KB portrait
    assert card.bac.failures == 0


def test_bac_only_chip_falls_back_to_bac(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, _, _ = insert_card(seed=6, pace=False)
    result, _ = read_chip(chip.citizen.mrz_key, reader=READER, aa_nonce=NONCE, wait=5)
    assert result.access_protocol == "BAC"
    assert result.pace_fallback == "EF.CardAccess is absent or unreadable"
    assert "EF.CardAccess" not in result.files
    v = verify_chip(result.files, trusted(chip), NOW, result.aa_nonce, result.aa_signature)
    assert v.verdict is ChipVerdict.VALID


def test_can_cannot_open_a_bac_only_chip(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, card, _ = insert_card(seed=6, pace=False)
    with pytest.raises(AccessKeyNotApplicable):
        read_chip(chip.citizen.can, reader=READER, wait=5)
    assert card.bac.failures == 0  # nothing was tried against the card


def test_wrong_can_is_denied_once(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, card, _ = insert_card(seed=7)
    with PcscContext() as ctx:
        transport = connect(ctx)
        reader = ChipReader(type(chip.citizen.can)("123456"))
        with pytest.raises(AccessDenied) as info:
            reader.read(transport)
        assert info.value.key == "CAN"
        assert card.pace.failures == 1 and card.bac.failures == 0  # no fallback, no retry
        assert set(reader.complete) == {"EF.CardAccess"} and reader.partial == {}


def test_wrong_mrz_is_denied_on_bac(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, card, _ = insert_card(seed=8, pace=False)
    key = chip.citizen.mrz_key
    wrong = type(key)(key.document_number, "000101", key.date_of_expiry)
    with pytest.raises(AccessDenied) as info:
        read_chip(wrong, reader=READER, wait=5)
    assert info.value.key == "MRZ (BAC)"
    assert card.bac.failures == 1


def test_tampered_data_group_is_forged(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, _, _ = insert_card(seed=9, tamper_dg=13)
    result, _ = read_chip(chip.citizen.can, reader=READER, aa_nonce=NONCE, wait=5)
    v = verify_chip(result.files, trusted(chip), NOW, result.aa_nonce, result.aa_signature)
    assert v.verdict is ChipVerdict.INVALID
    assert v.passive.dg_checks[13].code == "dg_hash_mismatch"
    assert v.passive.dg_checks[1].status.value == "ok"


def test_cloned_chip_fails_chip_authentication(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, _, _ = insert_card(seed=10, clone=True)
    reader = ChipReader(chip.citizen.can)
    with PcscContext() as ctx, pytest.raises(ChipAuthenticationFailed):
        reader.read(connect(ctx), aa_nonce=NONCE)
    assert "EF.SOD" not in reader.complete


def test_cloned_chip_fails_active_authentication(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, _, _ = insert_card(seed=10, clone=True, chip_auth=False)
    result, _ = read_chip(chip.citizen.can, reader=READER, aa_nonce=NONCE, wait=5)
    v = verify_chip(result.files, trusted(chip), NOW, result.aa_nonce, result.aa_signature)
    assert v.passive.verdict.value == "valid"  # the data is genuine, the chip is not
    assert v.active is not None and not v.active.ok
    assert v.verdict is ChipVerdict.INVALID


def test_unknown_issuer_is_not_forged(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, _, _ = insert_card(seed=11)
    result, _ = read_chip(chip.citizen.can, reader=READER, aa_nonce=NONCE, wait=5)
    v = verify_chip(result.files, TrustStore(), NOW, result.aa_nonce, result.aa_signature)
    assert v.verdict is ChipVerdict.ISSUER_UNKNOWN


def test_card_pulled_mid_read_resumes(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, card, link = insert_card(seed=12, faults=Faults(remove_after_apdus=16))
    reader = ChipReader(chip.citizen.can)
    with PcscContext() as ctx:
        first = connect(ctx)
        with pytest.raises(CardRemoved):
            reader.read(first, aa_nonce=NONCE)
        assert "DG2" not in reader.complete  # nothing half-read is reported as read
        assert set(reader.partial) == {"DG2"} and len(reader.partial["DG2"]) > 0
        kept = dict(reader.complete)
        first.inner.close()

        wait_until_pulled(link)
        card.faults.remove_after_apdus = None
        link.insert()
        second = connect(ctx)
        result = reader.read(second, aa_nonce=NONCE)
        second.inner.close()
    assert result.reads == 2
    for name, content in chip.files.items():
        assert result.files[name] == content, name
    assert all(result.files[n] == c for n, c in kept.items())
    v = verify_chip(result.files, trusted(chip), NOW, result.aa_nonce, result.aa_signature)
    assert v.verdict is ChipVerdict.VALID
    # the resumed session re-read none of the files completed before the drop
    full = 23
    assert second.stats.apdus < full


def test_kiosk_waits_for_the_card_to_come_back(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, card, link = insert_card(seed=13, faults=Faults(remove_after_apdus=14))

    def reinsert() -> None:
        wait_until_pulled(link)
        card.faults.remove_after_apdus = None
        link.insert()  # the citizen puts the card back

    helper = threading.Thread(target=reinsert)
    helper.start()
    try:
        result, _ = read_chip(chip.citizen.can, reader=READER, aa_nonce=NONCE, wait=5)
    finally:
        helper.join()
    assert result.reads == 2
    assert result.files["DG2"] == chip.files["DG2"]


def test_slow_card_still_reads(insert_card) -> None:  # type: ignore[no-untyped-def]
    chip, _, _ = insert_card(seed=14, delay=0.02)
    started = time.monotonic()
    result, stats = read_chip(chip.citizen.can, reader=READER, aa_nonce=NONCE, wait=5)
    elapsed = time.monotonic() - started
    assert elapsed >= stats.apdus * 0.02
    assert result.files["EF.SOD"] == chip.files["EF.SOD"]


def test_no_card_times_out(pcscd) -> None:  # type: ignore[no-untyped-def]
    with PcscContext() as ctx, pytest.raises(NoCard):
        ctx.wait_for_card("Virtual PCD 00 01", 0.3)
