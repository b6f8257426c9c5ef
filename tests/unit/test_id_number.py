"""The 12-digit CCCD number: province, sex/century, birth year, CAN and document number."""

from __future__ import annotations

import pytest

from ekyc.cccd.id_number import (
    PROVINCES,
    can_from_id,
    document_number_from_id,
    parse_id_number,
)
from ekyc.errors import MalformedData
from ekyc.icao.mrz import encode_vn_td1


def test_parse_example() -> None:
    n = parse_id_number("001090123456")
    assert (n.province_code, n.province) == ("001", "Hà Nội")
    assert (n.sex, n.century, n.birth_year, n.serial) == ("M", 1900, 1990, "123456")
    assert (n.can, n.document_number) == ("123456", "090123456")


@pytest.mark.parametrize(
    ("digit", "sex", "century"),
    [
        ("0", "M", 1900),
        ("1", "F", 1900),
        ("2", "M", 2000),
        ("3", "F", 2000),
        ("4", "M", 2100),
        ("5", "F", 2100),
        ("6", "M", 2200),
        ("9", "F", 2300),
    ],
)
def test_sex_and_century_digit(digit: str, sex: str, century: int) -> None:
    n = parse_id_number(f"079{digit}05000001")
    assert (n.sex, n.century, n.birth_year) == (sex, century, century + 5)
    assert n.province == "Hồ Chí Minh"


def test_province_table() -> None:
    assert len(PROVINCES) == 63
    assert all(len(code) == 3 and "001" <= code <= "096" for code in PROVINCES)
    assert PROVINCES["048"] == "Đà Nẵng" and PROVINCES["096"] == "Cà Mau"
    assert "003" not in PROVINCES and "097" not in PROVINCES


@pytest.mark.parametrize("bad", ["003090123456", "097090123456", "000090123456"])
def test_unknown_province_is_rejected(bad: str) -> None:
    with pytest.raises(MalformedData, match="province"):
        parse_id_number(bad)


@pytest.mark.parametrize(
    ("bad", "offset"),
    [("00109012345", 0), ("0010901234567", 0), ("00109O123456", 5), ("001090１23456", 6)],
)
def test_malformed_numbers(bad: str, offset: int) -> None:
    with pytest.raises(MalformedData) as e:
        parse_id_number(bad)
    assert e.value.offset == offset
    with pytest.raises(MalformedData):
        can_from_id(bad)
    with pytest.raises(MalformedData):
        document_number_from_id(bad)


def test_can_is_last_six_digits() -> None:
    assert can_from_id("036185012345") == "012345"


def test_document_number_is_last_nine_not_first_nine() -> None:
    assert document_number_from_id("036185012345") == "185012345"
    assert document_number_from_id("036185012345") != "036185012"


def test_document_number_agrees_with_the_mrz() -> None:
    mrz = encode_vn_td1(
        id_number="036185012345",
        date_of_birth="850101",
        date_of_expiry="300101",
        surname="PHAM",
        sex="M",
    )
    assert mrz.document_number == document_number_from_id("036185012345")
    assert mrz.access_key().document_number == "185012345"
