"""The HTTP slice: health probes, AA challenges, chip verification and problem+json errors."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import typing
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.schemas import FILE_LIMITS, ChipFileName
from ekyc.errors import TrustStoreError
from ekyc.icao.sod import build_sod
from ekyc.settings import Settings
from ekyc.synth import chip as synth
from ekyc.synth.chip import SynthChip, build_chip
from ekyc.synth.pki import PrivateKey
from readers.vcard.aa_card import aa_sign

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
PROBLEM = "application/problem+json"


class FakeClock:
    def __init__(self) -> None:
        self.now = T0
        self.fail = False

    def __call__(self) -> dt.datetime:
        if self.fail:
            raise RuntimeError("secret internal detail")
        return self.now


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def chip() -> SynthChip:
    return build_chip(seed=3)


@pytest.fixture(scope="module")
def settings_with_csca(chip: SynthChip, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("csca")
    pem = chip.pki.csca_cert.public_bytes(serialization.Encoding.PEM)
    (folder / "csca-vn.pem").write_bytes(pem)
    return Settings(trust_store=[folder])


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def client(settings_with_csca: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings_with_csca, clock=clock)) as c:
        yield c


@pytest.fixture(autouse=True)
def _reset_clock(clock: FakeClock) -> None:
    clock.now, clock.fail = T0, False


def challenge(client: TestClient) -> tuple[str, bytes]:
    r = client.post("/v1/chip/challenge")
    assert r.status_code == 201
    return r.json()["challenge_id"], base64.b64decode(r.json()["nonce"])


def verify_body(chip: SynthChip, cid: str, nonce: bytes, key: PrivateKey | None = None) -> dict:
    key = key or chip.aa_key
    return {
        "files": {n: b64(d) for n, d in chip.files.items()},
        "challenge_id": cid,
        "aa_signature": b64(aa_sign(key, nonce)) if key is not None else None,
    }


def post_verify(
    client: TestClient, chip: SynthChip, key: PrivateKey | None = None, **params: str
) -> httpx.Response:
    cid, nonce = challenge(client)
    return client.post("/v1/chip/verify", json=verify_body(chip, cid, nonce, key), params=params)


def assert_problem(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["code"] == code and body["status"] == status
    assert body["request_id"] == r.headers["x-request-id"]
    return body


# --- health -------------------------------------------------------------------------------


def test_healthz_and_request_id(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert len(r.headers["x-request-id"]) == 32
    assert (
        client.get("/healthz", headers={"X-Request-ID": "kiosk-7.42"}).headers["x-request-id"]
        == "kiosk-7.42"
    )
    insane = client.get("/healthz", headers={"X-Request-ID": "<script>" + "a" * 200})
    assert insane.headers["x-request-id"] != "<script>" + "a" * 200
    assert len(insane.headers["x-request-id"]) == 32


def test_readyz_counts_cscas(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["cscas"] == 1 and r.json()["countries"] == ["VN"]


def test_readyz_not_ready_without_trust_store() -> None:
    with TestClient(create_app(Settings(trust_store=[]))) as c:
        body = assert_problem(c.get("/readyz"), 503, "not_ready")
        assert body["cscas"] == 0
        assert c.get("/healthz").status_code == 200


# --- challenges and verification ----------------------------------------------------------


def test_challenge_is_fresh_8_byte_nonce(client: TestClient) -> None:
    r = client.post("/v1/chip/challenge")
    body = r.json()
    assert len(base64.b64decode(body["nonce"], validate=True)) == 8
    assert dt.datetime.fromisoformat(body["expires_at"]) == T0 + dt.timedelta(minutes=5)
    assert challenge(client) != challenge(client)


def test_valid_chip_verifies(client: TestClient, chip: SynthChip) -> None:
    r = post_verify(client, chip)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "valid" and body["reasons"] == []
    assert body["active_authentication"]["status"] == "ok"
    assert body["dg13"]["id_number"] == chip.citizen.id_number
    assert "portrait_jpeg" not in body


def test_portrait_only_on_request(client: TestClient, chip: SynthChip) -> None:
    body = post_verify(client, chip, include_portrait="true").json()
    jpeg = base64.b64decode(body["portrait_jpeg"])
    assert jpeg[:3] == b"\xff\xd8\xff"


def test_ec_active_authentication_chip_verifies(client: TestClient) -> None:
    ec_chip = build_chip(seed=3, aa="ec")
    assert post_verify(client, ec_chip).json()["verdict"] == "valid"


def test_reused_challenge_is_refused(client: TestClient, chip: SynthChip) -> None:
    cid, nonce = challenge(client)
    body = verify_body(chip, cid, nonce)
    assert client.post("/v1/chip/verify", json=body).json()["verdict"] == "valid"
    assert_problem(client.post("/v1/chip/verify", json=body), 409, "challenge_used")


def test_expired_and_unknown_challenges_are_refused(
    client: TestClient, chip: SynthChip, clock: FakeClock
) -> None:
    cid, nonce = challenge(client)
    clock.now = T0 + dt.timedelta(minutes=5, seconds=1)
    r = client.post("/v1/chip/verify", json=verify_body(chip, cid, nonce))
    assert_problem(r, 410, "challenge_expired")
    unknown = verify_body(chip, "A" * 24, nonce)
    assert_problem(client.post("/v1/chip/verify", json=unknown), 410, "challenge_expired")


def test_client_chosen_nonce_is_not_accepted(client: TestClient, chip: SynthChip) -> None:
    cid, nonce = challenge(client)
    body = {**verify_body(chip, cid, nonce), "aa_nonce": b64(nonce)}
    assert_problem(client.post("/v1/chip/verify", json=body), 422, "invalid_request")


def test_signature_over_another_nonce_fails(client: TestClient, chip: SynthChip) -> None:
    cid, _ = challenge(client)
    body = verify_body(chip, cid, b"\x00" * 8)
    r = client.post("/v1/chip/verify", json=body).json()
    assert r["verdict"] == "invalid"
    assert r["active_authentication"]["status"] != "ok"


def test_tampered_dg13_is_invalid(client: TestClient) -> None:
    body = post_verify(client, build_chip(seed=3, tamper_dg=13)).json()
    assert body["verdict"] == "invalid"
    assert body["passive_authentication"]["data_groups"]["DG13"]["status"] != "ok"
    assert any(r["code"].startswith("dg_hash") for r in body["reasons"]), body["reasons"]


def test_cloned_chip_is_invalid(client: TestClient) -> None:
    clone = build_chip(seed=3, clone=True)
    body = post_verify(client, clone, key=clone.profile.aa_key).json()
    assert body["verdict"] == "invalid"
    assert body["passive_authentication"]["verdict"] == "valid"  # the data itself is genuine
    assert body["active_authentication"]["status"] != "ok"


def _with_dgs(chip: SynthChip, extra: dict[int, bytes]) -> dict[str, bytes]:
    """The chip's files plus ``extra`` data groups, under a new SOD from the same issuer."""
    dgs = {int(n[2:]): d for n, d in chip.files.items() if n.startswith("DG")} | extra
    sod = build_sod(dgs, ds_key=chip.pki.ds_key, ds_cert=chip.pki.ds_cert)
    return {**chip.files, **{f"DG{n}": d for n, d in extra.items()}, "EF.SOD": sod}


def _post_files(client: TestClient, files: dict[str, bytes], key: PrivateKey | None) -> dict:
    cid, nonce = challenge(client)
    body = {
        "files": {n: b64(d) for n, d in files.items()},
        "challenge_id": cid,
        "aa_signature": b64(aa_sign(key, nonce)) if key is not None else None,
    }
    r = client.post("/v1/chip/verify", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_dg3_dg11_dg12_are_accepted_and_hash_checked(client: TestClient, chip: SynthChip) -> None:
    extra = {3: b"\x63\x03\x02\x01\x00", 11: b"\x6b\x03\x5c\x01\x00", 12: b"\x6c\x00"}
    body = _post_files(client, _with_dgs(chip, extra), chip.aa_key)
    assert body["verdict"] == "valid", body["reasons"]
    for name in ("DG3", "DG11", "DG12"):
        assert body["passive_authentication"]["data_groups"][name]["status"] == "ok"
        assert body["data_groups"][name]["parsed"] is False
        assert body["data_groups"][name]["note"] == "present, not parsed"
    assert body["data_groups"]["DG13"]["parsed"] is True


def test_tampered_dg11_is_invalid(client: TestClient, chip: SynthChip) -> None:
    files = _with_dgs(chip, {11: b"\x6b\x03\x5c\x01\x00"})
    files["DG11"] = b"\x6b\x03\x5c\x01\x01"
    body = _post_files(client, files, chip.aa_key)
    assert body["verdict"] == "invalid"
    assert body["data_groups"]["DG11"]["hash_code"] == "dg_hash_mismatch"


def test_dg_outside_the_sod_is_invalid(client: TestClient, chip: SynthChip) -> None:
    body = _post_files(client, {**chip.files, "DG12": b"\x6c\x00"}, chip.aa_key)
    assert body["verdict"] == "invalid"
    assert body["data_groups"]["DG12"]["hash_code"] == "dg_not_in_sod"


def test_no_aa_signature_is_not_performed_and_not_valid(
    client: TestClient, chip: SynthChip
) -> None:
    body = _post_files(client, chip.files, None)
    assert body["active_authentication"]["status"] == "not_performed"
    assert body["active_authentication"]["required"] is True
    assert body["verdict"] == "invalid"
    assert [r["code"] for r in body["reasons"]] == ["aa_missing"]


def test_mrz_answer_has_format_document_code_and_issuing_state(
    client: TestClient, chip: SynthChip
) -> None:
    mrz = post_verify(client, chip).json()["mrz"]
    assert (mrz["format"], mrz["document_code"], mrz["issuing_state"]) == ("TD1", "ID", "VNM")


def test_unknown_csca_is_issuer_unknown(client: TestClient) -> None:
    foreign = build_chip(seed=4, pki=synth.TestPki.generate(seed="other-issuer"))
    assert post_verify(client, foreign).json()["verdict"] == "issuer_unknown"


# --- problems -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["not base64!", "QR==", "QUJD\n", "QUJ", "QUJDRA==QQ=="])
def test_non_strict_base64_is_invalid_request(client: TestClient, bad: str) -> None:
    cid, _ = challenge(client)
    body = {"files": {"EF.SOD": bad}, "challenge_id": cid}
    problem = assert_problem(client.post("/v1/chip/verify", json=body), 422, "invalid_request")
    assert problem["errors"][0]["loc"][:2] == ["body", "files"]
    assert bad not in str(problem)  # the input is never echoed


@pytest.mark.parametrize("name", ["DG17", "DG0", "EF.DG1", "SOD", "dg1"])
def test_unknown_file_name_is_invalid_request(
    client: TestClient, chip: SynthChip, name: str
) -> None:
    cid, nonce = challenge(client)
    body = verify_body(chip, cid, nonce)
    body["files"][name] = b64(b"\x61\x00")
    assert_problem(client.post("/v1/chip/verify", json=body), 422, "invalid_request")


def test_every_accepted_file_has_a_size_limit() -> None:
    assert set(typing.get_args(ChipFileName)) == set(FILE_LIMITS)
    assert {f"DG{n}" for n in range(1, 17)} <= set(FILE_LIMITS)


@pytest.mark.parametrize("name", ["DG11", "DG3"])
def test_unparsed_dg_over_its_limit_is_invalid_request(client: TestClient, name: str) -> None:
    cid, _ = challenge(client)
    body = {"files": {name: b64(bytes(FILE_LIMITS[name] + 1))}, "challenge_id": cid}
    assert_problem(client.post("/v1/chip/verify", json=body), 422, "invalid_request")


def test_malformed_json_is_invalid_request(client: TestClient) -> None:
    r = client.post(
        "/v1/chip/verify", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert_problem(r, 422, "invalid_request")


def test_file_over_its_limit_is_invalid_request(client: TestClient) -> None:
    cid, _ = challenge(client)
    body = {"files": {"DG1": b64(bytes(32 * 1024 + 1))}, "challenge_id": cid}
    assert_problem(client.post("/v1/chip/verify", json=body), 422, "invalid_request")


def test_oversize_body_is_413(client: TestClient) -> None:
    big = b'{"files": {"DG2": "' + b"A" * (1024 * 1024) + b'"}}'
    r = client.post("/v1/chip/verify", content=big, headers={"content-type": "application/json"})
    assert_problem(r, 413, "payload_too_large")


def test_oversize_chunked_body_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"files": {"DG2": "'
        for _ in range(20):
            yield b"A" * 65536
        yield b'"}}'

    r = client.post(
        "/v1/chip/verify", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    assert_problem(r, 413, "payload_too_large")


def test_missing_sod_is_malformed_data(client: TestClient, chip: SynthChip) -> None:
    cid, nonce = challenge(client)
    body = verify_body(chip, cid, nonce)
    del body["files"]["EF.SOD"]
    problem = assert_problem(client.post("/v1/chip/verify", json=body), 422, "malformed_data")
    assert problem["file"] == "EF.SOD" and problem["offset"] == 0


def test_truncated_sod_is_malformed_data(client: TestClient, chip: SynthChip) -> None:
    cid, nonce = challenge(client)
    body = verify_body(chip, cid, nonce)
    body["files"]["EF.SOD"] = b64(chip.files["EF.SOD"][:200])
    problem = assert_problem(client.post("/v1/chip/verify", json=body), 422, "malformed_data")
    assert problem["file"] == "EF.SOD" and isinstance(problem["offset"], int)


def test_404_and_405_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nowhere"), 404, "not_found")
    r = client.get("/v1/chip/verify")
    assert_problem(r, 405, "method_not_allowed")
    assert "POST" in r.headers["allow"]


def test_internal_error_is_logged_not_leaked(
    settings_with_csca: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    app = create_app(settings_with_csca, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as c:
        clock.fail = True
        with caplog.at_level(logging.ERROR, logger="api.errors"):
            r = c.post("/v1/chip/challenge", headers={"X-Request-ID": "req-500"})
    body = assert_problem(r, 500, "internal_error")
    assert "secret" not in r.text and "Traceback" not in r.text
    assert body["request_id"] == "req-500"
    assert any("req-500" in rec.getMessage() and rec.exc_info for rec in caplog.records)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sod=st.binary(max_size=600), dg1=st.binary(max_size=120), real_sod=st.booleans())
def test_random_files_never_5xx(
    client: TestClient, chip: SynthChip, sod: bytes, dg1: bytes, real_sod: bool
) -> None:
    cid, _ = challenge(client)
    files = {"EF.SOD": chip.files["EF.SOD"] if real_sod else sod, "DG1": dg1}
    body = {"files": {n: b64(d) for n, d in files.items()}, "challenge_id": cid}
    r = client.post("/v1/chip/verify", json=body)
    assert r.status_code < 500, r.text
    if r.status_code != 200:
        assert r.json()["code"] == "malformed_data"


def test_unreadable_trust_store_stops_startup(tmp_path: Path) -> None:
    app = create_app(Settings(trust_store=[tmp_path / "missing.pem"]))
    with pytest.raises(TrustStoreError), TestClient(app):
        pass
