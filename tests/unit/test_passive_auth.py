"""Passive Authentication: each check reported, and the verdicts kept apart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from ekyc.errors import MalformedData
from ekyc.icao.passive_auth import PassiveAuthResult, Status, Verdict, passive_authenticate
from ekyc.icao.sod import build_sod, parse_sod
from ekyc.icao.trust_store import TrustStore
from ekyc.synth.pki import make_crl, make_csca, make_ds, write_trust_folder

NOW = datetime(2025, 6, 1, tzinfo=UTC)
DGS = {1: b"MRZ data", 2: b"portrait", 13: b"citizen data", 14: b"dg14", 15: b"dg15"}
CSCA_KEY, CSCA = make_csca("VN", "ec")
DS_KEY, DS = make_ds(CSCA_KEY, CSCA)
SOD = build_sod(DGS, ds_key=DS_KEY, ds_cert=DS)


def _store(*certs: x509.Certificate) -> TrustStore:
    store = TrustStore()
    for cert in certs:
        store.add_certificate(cert)
    return store


STORE = _store(CSCA)


def _pa(sod: bytes = SOD, dgs: dict[int, bytes] = DGS, **kw: object) -> PassiveAuthResult:
    store = kw.pop("store", STORE)
    now = kw.pop("now", NOW)
    return passive_authenticate(sod, dgs, store, now, **kw)  # type: ignore[arg-type]


def test_all_valid_every_check_ok() -> None:
    result = _pa()
    assert result.verdict is Verdict.VALID
    assert all(c.status is Status.OK for c in result.dg_checks.values())
    assert result.problems == []
    for name in ("message_digest", "sod_signature", "csca_lookup", "ds_signed_by_csca"):
        assert result.checks[name].status is Status.OK, name
    assert result.checks["csca_self_signed"].status is Status.OK
    assert result.checks["csca_is_ca"].status is Status.OK
    assert result.checks["ds_validity"].status is Status.OK
    assert result.checks["revocation"].status is Status.NOT_CHECKED
    assert result.csca is not None and result.ds_certificate is not None


def test_rsa_pss_chain_and_sod_valid_from_pem_folder(tmp_path: Path) -> None:
    key, csca = make_csca("VN", "rsa", signing="pss")
    ds_key, ds = make_ds(key, csca, key_type="rsa", signing="pss")
    sod = build_sod(DGS, ds_key=ds_key, ds_cert=ds, scheme="pss")
    write_trust_folder(tmp_path, [csca, make_csca("FR")[1]])
    assert _pa(sod, store=TrustStore.load(tmp_path)).verdict is Verdict.VALID


def test_tampered_dg_is_invalid_and_named() -> None:
    result = _pa(dgs={**DGS, 13: b"citizen data, edited"})
    assert result.verdict is Verdict.INVALID
    assert result.dg_checks[13].code == "dg_hash_mismatch"
    assert result.dg_checks[1].status is Status.OK
    assert "DG13" in result.checks["dg_hashes"].message
    assert [p.name for p in result.problems][0] == "DG13"


def test_flipped_signature_is_invalid() -> None:
    signature = parse_sod(SOD).signer.signature
    forged = SOD.replace(signature, signature[:-1] + bytes([signature[-1] ^ 1]))
    result = _pa(forged)
    assert result.verdict is Verdict.INVALID
    assert result.checks["sod_signature"].code == "signature_invalid"
    assert result.checks["message_digest"].status is Status.OK


def test_rewritten_hash_in_sod_breaks_message_digest() -> None:
    import hashlib

    new = hashlib.sha256(b"forged").digest()
    forged = SOD.replace(hashlib.sha256(DGS[2]).digest(), new)
    result = _pa(forged, {**DGS, 2: b"forged"})
    assert result.dg_checks[2].status is Status.OK  # the attacker made the hash consistent
    assert result.checks["message_digest"].code == "message_digest_mismatch"
    assert result.verdict is Verdict.INVALID


def test_unknown_csca_is_issuer_unknown_not_forged() -> None:
    result = _pa(store=_store(make_csca("FR")[1]))
    assert result.verdict is Verdict.ISSUER_UNKNOWN
    assert result.checks["csca_lookup"].code == "csca_not_found"
    assert result.checks["sod_signature"].status is Status.OK
    assert all(c.status is Status.OK for c in result.dg_checks.values())


def test_expired_ds_is_expired() -> None:
    result = _pa(now=datetime(2034, 1, 1, tzinfo=UTC))
    assert result.verdict is Verdict.EXPIRED
    assert result.checks["ds_validity"].code == "expired"
    assert result.checks["csca_validity"].status is Status.OK


def test_ds_not_yet_valid_is_invalid() -> None:
    result = _pa(now=datetime(2020, 6, 1, tzinfo=UTC))
    assert result.checks["ds_validity"].code == "not_yet_valid"
    assert result.verdict is Verdict.INVALID


def test_ds_from_other_csca_with_same_name_fails_chain() -> None:
    rogue_key, rogue = make_csca("VN", "ec", seed="rogue")
    assert rogue.subject == CSCA.subject
    ds_key, ds = make_ds(rogue_key, rogue, seed="rogue-ds")
    result = _pa(build_sod(DGS, ds_key=ds_key, ds_cert=ds))
    assert result.checks["csca_lookup"].code == "found_by_name"
    assert result.checks["ds_signed_by_csca"].status is Status.FAILED
    assert result.checks["ds_signed_by_csca"].code == "csca_key_mismatch"
    assert result.verdict is not Verdict.VALID


def test_ds_claiming_trusted_key_id_but_signed_by_rogue_is_invalid() -> None:
    ski = CSCA.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    rogue_key, rogue = make_csca("VN", "ec", seed="rogue", key_identifier=ski)
    ds_key, ds = make_ds(rogue_key, rogue, seed="rogue-ds")
    result = _pa(build_sod(DGS, ds_key=ds_key, ds_cert=ds))
    assert result.checks["csca_lookup"].code == "found_by_aki"
    assert result.checks["ds_signed_by_csca"].code == "ds_signature_invalid"
    assert result.verdict is Verdict.INVALID


def test_csca_key_rollover_picks_the_right_csca() -> None:
    new_key, new_csca = make_csca("VN", "ec", seed="csca-2", serial=2)
    ds_key, ds = make_ds(new_key, new_csca, seed="ds-2")
    result = _pa(build_sod(DGS, ds_key=ds_key, ds_cert=ds), store=_store(CSCA, new_csca))
    assert result.verdict is Verdict.VALID
    assert result.csca is not None and result.csca.certificate.serial_number == 2


def test_dg_missing_and_extra() -> None:
    partial = {n: b for n, b in DGS.items() if n != 15}
    result = _pa(dgs=partial)
    assert result.dg_checks[15].status is Status.NOT_CHECKED
    assert result.verdict is Verdict.VALID
    extra = _pa(dgs={**DGS, 11: b"not covered"})
    assert extra.dg_checks[11].code == "dg_not_in_sod"
    assert extra.verdict is Verdict.INVALID


def test_csca_without_ca_flag_breaks_chain() -> None:
    key, csca = make_csca("VN", "ec", seed="not-ca", ca=False)
    ds_key, ds = make_ds(key, csca, seed="ds-not-ca")
    result = _pa(build_sod(DGS, ds_key=ds_key, ds_cert=ds), store=_store(csca))
    assert result.checks["csca_is_ca"].code == "csca_not_ca"
    assert result.verdict is Verdict.INVALID


def test_ds_without_digital_signature_usage_fails() -> None:
    ds_key, ds = make_ds(CSCA_KEY, CSCA, seed="ds-no-ku", digital_signature=False)
    result = _pa(build_sod(DGS, ds_key=ds_key, ds_cert=ds))
    assert result.checks["ds_key_usage"].code == "ds_key_usage"
    assert result.verdict is Verdict.INVALID


def test_missing_ds_certificate_is_unverifiable() -> None:
    result = _pa(build_sod(DGS, ds_key=DS_KEY, ds_cert=DS, include_certificate=False))
    assert result.checks["sod_signature"].code == "ds_certificate_missing"
    assert result.verdict is Verdict.UNVERIFIABLE


def test_crl_revoked_clean_and_foreign() -> None:
    revoked = make_crl(CSCA_KEY, CSCA, [DS.serial_number])
    result = _pa(crls=[revoked])
    assert result.checks["revocation"].code == "ds_revoked"
    assert result.verdict is Verdict.REVOKED
    from cryptography.hazmat.primitives.serialization import Encoding

    clean = make_crl(CSCA_KEY, CSCA, [12345]).public_bytes(Encoding.DER)
    assert _pa(crls=[clean]).checks["revocation"].status is Status.OK
    foreign_key, foreign = make_csca("FR")
    result = _pa(crls=[make_crl(foreign_key, foreign, [DS.serial_number])])
    assert result.checks["revocation"].code == "crl_missing"
    assert result.verdict is Verdict.VALID


def test_crl_signed_by_other_key_is_rejected() -> None:
    rogue_key, _ = make_csca("VN", "ec", seed="rogue")
    result = _pa(crls=[make_crl(rogue_key, CSCA, [])])
    assert result.checks["revocation"].code == "crl_signature_invalid"
    assert result.checks["revocation"].status is Status.UNKNOWN


def test_unreadable_crl_is_unknown() -> None:
    assert _pa(crls=[b"not a crl"]).checks["revocation"].code == "crl_unreadable"


def test_stale_crl_is_unknown() -> None:
    crl = make_crl(CSCA_KEY, CSCA, [], next_update=datetime(2024, 1, 1, tzinfo=UTC))
    assert _pa(crls=[crl]).checks["revocation"].code == "crl_stale"


def test_malformed_sod_raises() -> None:
    with pytest.raises(MalformedData):
        _pa(b"\x77\x03\x02\x01\x00")
