"""CSCA trust store: the real NL master list, PEM/DER folders, issuer lookup, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import x509 as ax509
from cryptography.hazmat.primitives.serialization import Encoding

from ekyc.icao.trust_store import TrustStore, TrustStoreFileError, verify_issued_by
from ekyc.synth.pki import make_csca, make_ds, write_trust_folder

DATA = Path("/work/shared/data/icao")
ML_PATH = DATA / "NL_MASTERLIST_20211207.mls"
NL6_PATH = DATA / "csca_nl_6.cer"
needs_data = pytest.mark.skipif(not ML_PATH.exists(), reason="ICAO test data not present")


@pytest.fixture(scope="module")
def nl_store() -> TrustStore:
    return TrustStore.load(ML_PATH)


@needs_data
def test_master_list_loads_306_cscas_and_its_signature_verifies(nl_store: TrustStore) -> None:
    assert len(nl_store) == 306
    # 100 spellings, 96 countries once upper-cased: the list also has al, ar, gb, ro, si
    assert len(nl_store.countries) == 96
    assert all(c == c.upper() for c in nl_store.countries) and "AL" in nl_store.countries
    (report,) = nl_store.master_lists
    assert report.certificates == 306 and report.added == 306
    assert report.signature_verified and report.reason == "ok"
    assert report.signer_issued_by_csca
    assert report.signer_subject is not None and "Masterlist Signer NL" in report.signer_subject
    assert "VN" not in nl_store.countries and {"NL", "DE", "FR"} <= nl_store.countries


@needs_data
def test_every_self_signed_csca_verifies_including_explicit_ec_params(
    nl_store: TrustStore,
) -> None:
    verified = 0
    for entry in nl_store:
        if entry.self_signed:
            verify_issued_by(entry.certificate, entry)
            verified += 1
    assert verified == 306


@needs_data
def test_tampered_master_list_reports_unverified(tmp_path: Path) -> None:
    data = bytearray(ML_PATH.read_bytes())
    store = TrustStore.load(ML_PATH)
    der = store.entries[100].certificate.dump()
    at = bytes(data).index(der) + len(der) - 5  # inside the certificate's signature value
    data[at] ^= 0x01
    path = tmp_path / "tampered.mls"
    path.write_bytes(bytes(data))
    report = TrustStore().add_master_list(bytes(data), source=str(path))
    assert not report.signature_verified and report.reason == "message_digest_mismatch"
    with pytest.raises(TrustStoreFileError) as info:
        TrustStore.load(path, require_signed_master_lists=True)
    assert str(path) in str(info.value) and info.value.path == str(path)


@needs_data
def test_der_file_dedupes_against_master_list(nl_store: TrustStore) -> None:
    store = TrustStore.load(NL6_PATH)
    assert len(store) == 1 and store.entries[0].country == "NL"
    assert store.add_file(ML_PATH) == 305  # NL CSCA 6 is already present


@needs_data
def test_find_issuer_by_name_for_nl_csca_without_aki(nl_store: TrustStore) -> None:
    nl6 = ax509.Certificate.load(NL6_PATH.read_bytes())
    assert nl6.authority_key_identifier is None
    found, how = nl_store.find_issuers(nl6)
    assert how == "name"
    assert any(e.certificate.dump() == nl6.dump() for e in found)


def test_pem_folder_with_bundle_and_lookup(tmp_path: Path) -> None:
    vn_key, vn = make_csca("VN")
    _, fr = make_csca("FR")
    write_trust_folder(tmp_path, [vn])
    (tmp_path / "bundle.crt").write_bytes(fr.public_bytes(Encoding.PEM) * 2)
    (tmp_path / "README.txt").write_text("ignored")
    store = TrustStore.load(tmp_path)
    assert len(store) == 2 and store.countries == {"VN", "FR"}
    _, ds = make_ds(vn_key, vn)
    found, how = store.find_issuers(ax509.Certificate.load(ds.public_bytes(Encoding.DER)))
    assert how == "aki" and [e.country for e in found] == ["VN"]


def test_country_codes_are_upper_case() -> None:
    store = TrustStore()
    store.add_certificate(make_csca("gb", seed="csca-gb-lower")[1])
    store.add_certificate(make_csca("GB")[1])
    assert len(store) == 2
    assert store.countries == {"GB"} and [e.country for e in store] == ["GB", "GB"]


def test_lookup_falls_back_to_name(tmp_path: Path) -> None:
    key, csca = make_csca("VN", key_identifier=b"\x01" * 20)
    _, ds = make_ds(key, csca)
    store = TrustStore()
    store.add_certificate(make_csca("VN")[1])
    found, how = store.find_issuers(ax509.Certificate.load(ds.public_bytes(Encoding.DER)))
    assert how == "name" and len(found) == 1
    empty, none = TrustStore().find_issuers(ax509.Certificate.load(ds.public_bytes(Encoding.DER)))
    assert (empty, none) == ([], "none")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.pem", b"-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n"),
        ("bad.der", b"\x30\x03\x02\x01\x01"),
        ("bad.mls", b"\x30\x03\x02\x01\x01"),
        ("empty.cer", b""),
    ],
)
def test_bad_files_raise_with_path(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TrustStoreFileError) as info:
        TrustStore.load(tmp_path)
    assert info.value.path == str(path) and info.value.code == "trust_store_error"


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreFileError, match="nope"):
        TrustStore.load(tmp_path / "nope.pem")
    with pytest.raises(TrustStoreFileError):
        TrustStore().add_folder(tmp_path / "nope")
