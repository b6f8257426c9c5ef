"""Vietnamese DG13: field-number parsing, Vietnamese text, absent/unknown/shuffled fields."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata

import pytest
from asn1crypto import core

from ekyc.cccd.dg13 import Dg13, parse_dg13, parse_vn_date
from ekyc.errors import MalformedData
from readers import tlv

FULL = Dg13(
    id_number="001090123456",
    full_name="Nguyễn Thị Ánh Nguyệt",
    date_of_birth="15/08/1990",
    sex="Nữ",
    nationality="Việt Nam",
    ethnicity="Kinh",
    religion="Không",
    place_of_origin="Xã Đông Hưng, Huyện Đông Hưng, Thái Bình",
    place_of_residence="Số 12 ngõ 34 phố Đội Cấn, Ba Đình, Hà Nội",
    identifying_features="Nốt ruồi C:2cm trên trước đuôi mắt phải",
    date_of_issue="10/07/2021",
    date_of_expiry="15/08/2030",
    father_name="Nguyễn Văn Hùng",
    mother_name="Trần Thị Lan",
    spouse_name="Phạm Quốc Bảo",
    old_id_number="012345678",
)


def utf8(text: str) -> bytes:
    return tlv.encode(0x0C, text.encode())


def printable(text: str) -> bytes:
    return tlv.encode(0x13, text.encode())


def field(number: int, *values: bytes) -> bytes:
    return tlv.encode(0x30, core.Integer(number).dump() + b"".join(values))


def dg13(*fields: bytes, oid: str = "1.2.3.4") -> bytes:
    body = core.Integer(1).dump() + core.ObjectIdentifier(oid).dump()
    return tlv.encode(0x6D, tlv.encode(0x30, body + tlv.encode(0x31, b"".join(fields))))


def test_round_trip_all_fields() -> None:
    again = parse_dg13(FULL.encode())
    assert again == FULL
    assert again.birth_date == dt.date(1990, 8, 15)
    assert again.issue_date == dt.date(2021, 7, 10)
    assert again.expiry_date == dt.date(2030, 8, 15)
    assert again.sex_code == "F"


def test_numbers_and_dates_are_printable_strings_text_is_utf8() -> None:
    data = FULL.encode()
    assert printable("001090123456") in data
    assert printable("15/08/1990") in data
    assert utf8("Nguyễn Thị Ánh Nguyệt") in data


def test_decomposed_input_comes_out_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Lê Thị Hồng Nhung")
    assert nfd != "Lê Thị Hồng Nhung"
    parsed = parse_dg13(dg13(field(2, utf8(nfd))))
    assert parsed.full_name == "Lê Thị Hồng Nhung"
    assert unicodedata.is_normalized("NFC", parsed.full_name or "")


def test_absent_fields_are_none() -> None:
    parsed = parse_dg13(dg13(field(1, printable("001090123456")), field(4, utf8("Nam"))))
    assert parsed.id_number == "001090123456" and parsed.sex_code == "M"
    assert parsed.full_name is None and parsed.spouse_name is None and parsed.father_name is None
    assert parsed.birth_date is None
    assert parsed.unknown == {}


def test_unknown_fields_are_kept() -> None:
    odd = tlv.encode(0x04, b"\x01\x02")
    parsed = parse_dg13(dg13(field(16, printable("A1B2C3D4E5F60718")), field(42, odd, odd)))
    assert parsed.unknown == {16: "A1B2C3D4E5F60718", 42: odd + odd}
    assert parse_dg13(parsed.encode()).unknown == parsed.unknown


def test_field_order_does_not_matter() -> None:
    items = [
        field(1, printable("001090123456")),
        field(2, utf8("Đỗ Minh Tâm")),
        field(3, printable("01/02/2003")),
        field(13, tlv.encode(0x30, utf8("Đỗ Văn Cha") + utf8("Hoàng Thị Mẹ"))),
        field(12, printable("01/02/2028")),
    ]
    expected = parse_dg13(dg13(*items))
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(items)
        assert parse_dg13(dg13(*items)) == expected
    assert expected.mother_name == "Hoàng Thị Mẹ"


def test_parents_written_flat_are_read_too() -> None:
    parsed = parse_dg13(dg13(field(13, utf8("Bố"), utf8("Mẹ")), field(14, utf8("Vợ"))))
    assert (parsed.father_name, parsed.mother_name, parsed.spouse_name) == ("Bố", "Mẹ", "Vợ")


def test_only_mother_known() -> None:
    parsed = parse_dg13(dg13(field(13, tlv.encode(0x30, utf8("") + utf8("Mai")))))
    assert parsed.father_name is None and parsed.mother_name == "Mai"
    assert parse_dg13(parsed.encode()) == parsed


def test_printable_and_utf8_both_accepted() -> None:
    a = parse_dg13(dg13(field(1, printable("001090123456")), field(5, printable("Viet Nam"))))
    b = parse_dg13(dg13(field(1, utf8("001090123456")), field(5, utf8("Viet Nam"))))
    assert (a.id_number, a.nationality) == (b.id_number, b.nationality)


def test_oid_and_version_are_kept() -> None:
    parsed = parse_dg13(dg13(field(1, printable("001090123456")), oid="1.3.6.1.4.1.99"))
    assert parsed.oid == "1.3.6.1.4.1.99" and parsed.version == 1


def test_duplicate_field_is_malformed() -> None:
    with pytest.raises(MalformedData, match="twice"):
        parse_dg13(dg13(field(2, utf8("A")), field(2, utf8("B"))))


def test_non_string_in_a_known_field_is_malformed() -> None:
    with pytest.raises(MalformedData) as e:
        parse_dg13(dg13(field(2, core.Integer(5).dump())))
    assert e.value.file == "DG13"


def test_two_values_in_a_simple_field_is_malformed() -> None:
    with pytest.raises(MalformedData):
        parse_dg13(dg13(field(2, utf8("A"), utf8("B"))))


def test_invalid_utf8_is_malformed() -> None:
    with pytest.raises(MalformedData):
        parse_dg13(dg13(field(2, tlv.encode(0x0C, b"\xc3\x28"))))


def test_structure_faults_are_malformed() -> None:
    with pytest.raises(MalformedData):
        parse_dg13(tlv.encode(0x6D, tlv.encode(0x30, core.Integer(1).dump())))
    with pytest.raises(MalformedData):
        parse_dg13(FULL.encode()[:-3])
    with pytest.raises(MalformedData):
        parse_dg13(dg13(tlv.encode(0x30, b"")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01/01/1990", dt.date(1990, 1, 1)),
        ("29/02/2000", dt.date(2000, 2, 29)),
        ("29/02/1900", None),
        ("00/00/1990", None),
        ("1990", None),
        ("Không thời hạn", None),
        (None, None),
    ],
)
def test_vn_dates(text: str | None, expected: dt.date | None) -> None:
    assert parse_vn_date(text) == expected


def test_no_expiry_text_survives() -> None:
    parsed = parse_dg13(Dg13(date_of_expiry="Không thời hạn").encode())
    assert parsed.date_of_expiry == "Không thời hạn" and parsed.expiry_date is None
