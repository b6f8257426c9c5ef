"""EF.SOD: encode → decode round trips, signatures, and malformed input (fuzzed)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ekyc.errors import MalformedData
from ekyc.icao.sod import (
    build_signed_data,
    build_sod,
    certificate_public_key,
    message_digest_matches,
    parse_sod,
    verify_signer,
)
from ekyc.synth.pki import make_csca, make_ds

DGS = {1: b"DG1 bytes", 2: b"\x75\x00portrait", 14: b"dg14", 15: b"dg15"}
CSCA_KEY, CSCA = make_csca("VN", "ec")
DS_KEY, DS = make_ds(CSCA_KEY, CSCA)
RSA_CSCA_KEY, RSA_CSCA = make_csca("VN", "rsa", signing="pss")
RSA_DS_KEY, RSA_DS = make_ds(RSA_CSCA_KEY, RSA_CSCA, key_type="rsa")
VALID_SOD = build_sod(DGS, ds_key=DS_KEY, ds_cert=DS)


@pytest.mark.parametrize(
    ("key", "cert", "scheme", "expected"),
    [
        (DS_KEY, DS, None, "ecdsa"),
        (DS_KEY, DS, "ecdsa_plain", "ecdsa_plain"),
        (RSA_DS_KEY, RSA_DS, None, "pkcs1v15"),
        (RSA_DS_KEY, RSA_DS, "pss", "pss"),
    ],
)
def test_round_trip_each_signature_scheme(key, cert, scheme, expected) -> None:  # type: ignore[no-untyped-def]
    sod = parse_sod(build_sod(DGS, ds_key=key, ds_cert=cert, scheme=scheme))
    assert sod.hash_algorithm == "sha256"
    assert sod.dg_hashes == {n: hashlib.sha256(b).digest() for n, b in DGS.items()}
    alg = sod.signer.signature_algorithm
    assert alg is not None and alg.scheme == expected and alg.hash_name == "sha256"
    if expected == "pss":
        assert (alg.mgf_hash_name, alg.salt_length) == ("sha256", 32)
    ds = sod.ds_certificate()
    assert ds is not None and ds.serial_number == cert.serial_number
    assert message_digest_matches(sod.signed, sod.signer)
    verify_signer(sod.signed, sod.signer, certificate_public_key(ds))


def test_optional_fields_and_key_id_signer() -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    raw = build_sod(
        dg_hashes={1: b"\x01" * 48},
        hash_alg="sha384",
        digest_alg="sha256",
        ds_key=DS_KEY,
        ds_cert=DS,
        signing_time=when,
        lds_version=("0108", "040000"),
        use_key_id=True,
    )
    sod = parse_sod(raw)
    assert sod.version == 1 and sod.hash_algorithm == "sha384"
    assert (sod.lds_version, sod.unicode_version) == ("0108", "040000")
    assert sod.signer.signing_time == when
    assert sod.signer.digest_algorithm == "sha256"
    assert sod.signer.sid_key_id is not None and sod.ds_certificate() is not None


def test_bare_content_info_without_77_wrapper_parses() -> None:
    from readers.tlv import parse_one

    assert parse_sod(parse_one(VALID_SOD).value).dg_hashes.keys() == DGS.keys()


def test_tampered_econtent_breaks_message_digest() -> None:
    target = hashlib.sha256(DGS[1]).digest()
    sod = parse_sod(VALID_SOD.replace(target, b"\x00" * 32))
    assert sod.dg_hashes[1] == b"\x00" * 32
    assert not message_digest_matches(sod.signed, sod.signer)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x77",
        b"\x60\x03\x01\x02\x03",
        b"\x77\x05\x30\x03\x02\x01\x01",
        VALID_SOD[: len(VALID_SOD) // 2],
    ],
)
def test_malformed_raises_malformed_data(raw: bytes) -> None:
    with pytest.raises(MalformedData) as info:
        parse_sod(raw)
    assert info.value.file == "EF.SOD"


def test_wrong_econtent_type_is_malformed() -> None:
    other = build_signed_data("2.23.136.1.1.2", b"\x30\x00", signer_key=DS_KEY, signer_cert=DS)
    with pytest.raises(MalformedData, match="eContent type"):
        parse_sod(other)


def _parse_or_malformed(raw: bytes) -> None:
    try:
        parse_sod(raw)
    except MalformedData as exc:
        assert exc.file == "EF.SOD"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(raw: bytes) -> None:
    _parse_or_malformed(raw)
    _parse_or_malformed(b"\x77" + bytes([len(raw) & 0x7F]) + raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=0, max_value=len(VALID_SOD) - 1),
    st.integers(min_value=1, max_value=255),
    st.integers(min_value=1, max_value=len(VALID_SOD)),
)
def test_fuzz_mutated_valid_sod(pos: int, xor: int, cut: int) -> None:
    flipped = bytearray(VALID_SOD)
    flipped[pos] ^= xor
    _parse_or_malformed(bytes(flipped))
    _parse_or_malformed(bytes(flipped[:cut]))
