"""Chip verification beyond the CCCD's files: any DG 1–16, AA not performed, MRZ fields."""

from __future__ import annotations

import datetime as dt

import pytest

from ekyc.cccd.chip import NOT_PARSED, ChipVerdict, ChipVerification, verify_chip
from ekyc.icao import lds
from ekyc.icao.dg1 import Dg1
from ekyc.icao.dg2 import Dg2
from ekyc.icao.dg15 import Dg15
from ekyc.icao.mrz import encode_td3
from ekyc.icao.sod import build_sod
from ekyc.icao.trust_store import TrustStore
from ekyc.synth import chip as synth
from ekyc.synth.chip import SynthChip, build_chip, synthetic_portrait
from ekyc.synth.pki import make_key
from readers.vcard.aa_card import aa_sign

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
NONCE = bytes(range(8))
# DG11 (additional personal details) and DG12 (additional document details), 9303-10 §4.7.11/12
DG11 = lds.wrap(0x6B, lds.wrap(0x5C, b"\x5f\x0e") + lds.wrap(0x5F0E, b"ERIKSSON<<ANNA<MARIA"))
DG12 = lds.wrap(0x6C, lds.wrap(0x5C, b"\x5f\x19") + lds.wrap(0x5F19, b"UTOPIA PASSPORT OFFICE"))


@pytest.fixture(scope="module")
def chip() -> SynthChip:
    return build_chip(seed=7)


@pytest.fixture(scope="module")
def store(chip: SynthChip) -> TrustStore:
    s = TrustStore()
    s.add_certificate(chip.pki.csca_cert)
    return s


def _resign(chip: SynthChip, extra: dict[int, bytes]) -> dict[str, bytes]:
    """The chip's files plus ``extra`` data groups, under a new SOD covering all of them."""
    dgs = {int(n[2:]): d for n, d in chip.files.items() if n.startswith("DG")} | extra
    sod = build_sod(dgs, ds_key=chip.pki.ds_key, ds_cert=chip.pki.ds_cert)
    return {**chip.files, **{f"DG{n}": d for n, d in extra.items()}, "EF.SOD": sod}


def _verify(chip: SynthChip, files: dict[str, bytes], store: TrustStore) -> ChipVerification:
    assert chip.aa_key is not None
    return verify_chip(files, store, NOW, NONCE, aa_sign(chip.aa_key, NONCE))


def test_dg11_dg12_are_hash_checked_and_reported_not_parsed(
    chip: SynthChip, store: TrustStore
) -> None:
    v = _verify(chip, _resign(chip, {11: DG11, 12: DG12}), store)
    assert v.verdict is ChipVerdict.VALID, v.reasons
    out = v.to_dict()
    for name in ("DG11", "DG12"):
        assert out["passive_authentication"]["data_groups"][name]["status"] == "ok"
        assert out["data_groups"][name] == {
            "hash": "ok",
            "hash_code": "dg_hash_match",
            "parsed": False,
            "note": NOT_PARSED,
        }
    assert out["data_groups"]["DG1"]["parsed"] is True
    assert list(out["data_groups"]) == ["DG1", "DG2", "DG11", "DG12", "DG13", "DG14", "DG15"]


@pytest.mark.parametrize("number", [3, 4, 11, 12, 16])
def test_tampered_unparsed_dg_is_invalid(chip: SynthChip, store: TrustStore, number: int) -> None:
    files = _resign(chip, {number: lds.wrap(lds.by_dg(number).tag or 0, b"issuer data")})
    files[f"DG{number}"] = lds.wrap(lds.by_dg(number).tag or 0, b"forged data")
    v = _verify(chip, files, store)
    assert v.verdict is ChipVerdict.INVALID
    assert v.data_groups[number].hash_status == "failed"
    assert v.data_groups[number].hash_code == "dg_hash_mismatch"
    assert any(r.code == "dg_hash_mismatch" for r in v.reasons)


def test_dg_the_sod_does_not_cover_is_invalid(chip: SynthChip, store: TrustStore) -> None:
    v = _verify(chip, {**chip.files, "DG11": DG11}, store)  # the original SOD lacks DG11
    assert v.verdict is ChipVerdict.INVALID
    assert v.to_dict()["data_groups"]["DG11"]["hash_code"] == "dg_not_in_sod"


def test_malformed_parsed_dg_still_fails(chip: SynthChip, store: TrustStore) -> None:
    v = _verify(chip, _resign(chip, {15: b"\x6f\x03abc"}), store)
    assert v.verdict is ChipVerdict.INVALID
    assert "DG15" in v.file_errors
    report = v.data_groups[15]
    assert report.hash_status == "ok" and not report.parsed and report.note.startswith("not parsed")


# --- Active Authentication not performed --------------------------------------------------


def test_no_signature_is_not_performed_and_fails_when_required(
    chip: SynthChip, store: TrustStore
) -> None:
    v = verify_chip(chip.files, store, NOW, NONCE, None)
    out = v.to_dict()
    assert out["active_authentication"]["status"] == "not_performed"
    assert out["active_authentication"]["code"] == "aa_not_performed"
    assert out["active_authentication"]["required"] is True
    assert out["active_authentication"]["algorithm"] == "rsa-iso9796-2"
    assert v.verdict is ChipVerdict.INVALID
    assert [r.code for r in v.reasons] == ["aa_missing"]
    assert "AA" not in v.file_errors


def test_no_signature_passes_when_aa_is_not_required(chip: SynthChip, store: TrustStore) -> None:
    v = verify_chip(chip.files, store, NOW, require_aa=False)  # an offline re-check
    assert v.verdict is ChipVerdict.VALID and v.reasons == []
    assert v.active is not None and not v.active.performed and not v.active.ok
    assert v.to_dict()["active_authentication"]["required"] is False


def test_a_failed_signature_fails_even_when_aa_is_optional(
    chip: SynthChip, store: TrustStore
) -> None:
    v = verify_chip(chip.files, store, NOW, NONCE, bytes(128), require_aa=False)
    assert v.verdict is ChipVerdict.INVALID
    assert v.active is not None and v.active.performed and not v.active.ok


def test_dg15_withheld_while_the_sod_lists_it_is_not_performed(
    chip: SynthChip, store: TrustStore
) -> None:
    files = {n: d for n, d in chip.files.items() if n != "DG15"}
    assert chip.aa_key is not None
    strict = verify_chip(files, store, NOW, NONCE, aa_sign(chip.aa_key, NONCE))
    assert strict.active is not None and strict.active.code == "dg15_not_supplied"
    assert strict.verdict is ChipVerdict.INVALID
    assert verify_chip(files, store, NOW, require_aa=False).verdict is ChipVerdict.VALID


def test_chip_without_aa_has_no_aa_result(store: TrustStore) -> None:
    plain = build_chip(seed=7, aa=None)
    v = verify_chip(plain.files, store, NOW)
    assert v.active is None and v.verdict is ChipVerdict.VALID
    assert v.to_dict()["active_authentication"] is None


# --- MRZ ----------------------------------------------------------------------------------


def test_mrz_reports_format_document_code_and_issuing_state(
    chip: SynthChip, store: TrustStore
) -> None:
    mrz = _verify(chip, chip.files, store).to_dict()["mrz"]
    assert mrz["format"] == "TD1"
    assert mrz["document_code"] == "ID" and mrz["issuing_state"] == "VNM"
    assert mrz["document_number"] == chip.citizen.id_number[-9:]


def test_passport_with_dg11_dg12_verifies() -> None:
    pki = synth.TestPki.generate(seed="utopia")
    aa_key = make_key("ec", seed="passport-aa", curve="P-256")
    td3 = encode_td3(
        document_number="L898902C3",
        date_of_birth="740812",
        date_of_expiry="320415",
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        sex="F",
        issuing_state="UTO",
        nationality="UTO",
        personal_number="ZE184226B",
    )
    dgs = {
        1: Dg1(td3).encode(),
        2: Dg2.from_image_bytes(synthetic_portrait(1)).encode(),
        11: DG11,
        12: DG12,
        15: Dg15.from_public_key(aa_key.public_key()).encode(),
    }
    files = {f"DG{n}": d for n, d in dgs.items()}
    files["EF.SOD"] = build_sod(dgs, ds_key=pki.ds_key, ds_cert=pki.ds_cert)
    store = TrustStore()
    store.add_certificate(pki.csca_cert)
    v = verify_chip(files, store, NOW, NONCE, aa_sign(aa_key, NONCE))
    assert v.verdict is ChipVerdict.VALID, v.reasons
    out = v.to_dict()
    assert out["mrz"]["format"] == "TD3" and out["mrz"]["document_code"] == "P"
    assert out["mrz"]["issuing_state"] == "UTO" and out["mrz"]["nationality"] == "UTO"
    assert out["dg13"] is None and out["consistency"] == {}
    assert out["data_groups"]["DG11"]["parsed"] is False
    assert out["active_authentication"]["status"] == "ok"
