"""CCCD QR payload: 7 and 8 fields, ddMMyyyy dates, empty old ID, typed errors, round trip."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from ekyc.cccd.qr import MalformedQr, QrPayload, parse_qr_payload

SEVEN = (
    "001090123456|012345678|Nguyễn Văn An|01021990|Nam|Số 1, Hàng Bạc, Hoàn Kiếm, Hà Nội|15062021"
)


def test_seven_fields() -> None:
    p = parse_qr_payload(SEVEN)
    assert p.id_number == "001090123456"
    assert p.old_id_number == "012345678"
    assert p.full_name == "Nguyễn Văn An"
    assert p.date_of_birth == "01/02/1990"
    assert p.birth_date == dt.date(1990, 2, 1)
    assert p.issue_date == dt.date(2021, 6, 15)
    assert p.date_of_expiry is None
    assert p.encode() == SEVEN


def test_eight_fields_with_expiry_and_empty_old_id() -> None:
    p = parse_qr_payload("001090123456||Trần Thị Bình|01021990|Nữ|Hà Nội|15062021|01022030\n")
    assert p.old_id_number is None
    assert p.date_of_expiry == "01/02/2030"
    assert parse_qr_payload(p.encode()) == p


def test_eighth_field_not_a_date_is_kept() -> None:
    p = parse_qr_payload(SEVEN + "|X1")
    assert p.extra == "X1" and p.date_of_expiry is None
    assert p.encode() == SEVEN + "|X1"


def test_text_comes_out_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", SEVEN)
    p = parse_qr_payload(decomposed)
    assert p.full_name == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", p.place_of_residence)


@pytest.mark.parametrize(
    ("text", "reason", "field"),
    [
        ("001090123456|x|y", "field_count", "payload"),
        (SEVEN + "|a|b", "field_count", "payload"),
        (SEVEN.replace("001090123456", "00109012345"), "bad_id", "id_number"),
        (SEVEN.replace("012345678", "12AB"), "bad_old_id", "old_id_number"),
        (SEVEN.replace("01021990", "31021990"), "bad_date", "date_of_birth"),
        (SEVEN.replace("15062021", "2021-06-15"), "bad_date", "date_of_issue"),
        (SEVEN.replace("Nguyễn Văn An", "  "), "empty_field", "full_name"),
        (SEVEN + "|32132030", "bad_date", "date_of_expiry"),
    ],
)
def test_typed_errors(text: str, reason: str, field: str) -> None:
    with pytest.raises(MalformedQr) as e:
        parse_qr_payload(text)
    assert e.value.code == "malformed_qr"
    assert (e.value.reason, e.value.field) == (reason, field)


def test_encode_rejects_bad_date() -> None:
    p = QrPayload("001090123456", None, "A", "1990-01-01", "Nam", "X", "01/01/2021")
    with pytest.raises(ValueError):
        p.encode()
