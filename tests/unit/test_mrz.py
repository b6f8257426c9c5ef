"""MRZ parsing and building: ICAO 9303 examples, every check digit, CCCD specifics."""

from __future__ import annotations

import datetime as dt

import pytest

from ekyc.errors import MalformedData, UnsupportedData
from ekyc.icao.mrz import encode_td1, encode_td3, encode_vn_td1, name_field, parse_mrz
from readers.access_key import check_digit

# ICAO 9303-5 / -4 specimen MRZs
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)
TD1_LONG = (
    "I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<"
)
TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
VN_LINE1 = "IDVNM0901234562001090123456<<3"


def vn_mrz() -> str:
    return encode_vn_td1(
        id_number="001090123456",
        date_of_birth="900101",
        date_of_expiry="300101",
        surname="Nguyễn",
        given_names="Văn Đức",
        sex="M",
    ).text


def with_char(mrz: str, line: int, pos: int, char: str) -> str:
    lines = mrz.split("\n")
    lines[line] = lines[line][:pos] + char + lines[line][pos + 1 :]
    return "\n".join(lines)


def bump_digit(mrz: str, line: int, pos: int) -> str:
    c = mrz.split("\n")[line][pos]
    return with_char(mrz, line, pos, str((int(c) + 1) % 10))


def test_td1_icao_specimen() -> None:
    m = parse_mrz(TD1)
    assert m.format == "TD1"
    assert m.valid
    assert (m.document_code, m.issuing_state, m.nationality) == ("I", "UTO", "UTO")
    assert m.document_number == "D23145890"
    assert (m.date_of_birth, m.sex, m.date_of_expiry) == ("740812", "F", "120415")
    assert (m.surname, m.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert m.id_number is None
    assert set(m.checks) >= {"document_number", "date_of_birth", "date_of_expiry", "composite"}


def test_td1_long_document_number() -> None:
    m = parse_mrz(TD1_LONG)
    assert m.valid
    assert m.document_number == "D23145890734"
    assert m.optional_data == ""


def test_td1_long_document_number_wrong_check_fails() -> None:
    m = parse_mrz(with_char(TD1_LONG, 0, 18, "8"))
    assert not m.checks["document_number"]
    assert not m.valid


def test_td3_icao_specimen() -> None:
    m = parse_mrz(TD3)
    assert m.format == "TD3" and m.valid
    assert m.document_number == "L898902C3"
    assert m.optional_data == "ZE184226B"
    assert m.checks["optional_data"]
    assert m.birth_date() == dt.date(1974, 8, 12)
    assert m.expiry_date(dt.date(2010, 1, 1)) == dt.date(2012, 4, 15)


@pytest.mark.parametrize(
    ("mrz", "line", "pos", "check"),
    [
        (TD1, 0, 14, "document_number"),
        (TD1, 1, 6, "date_of_birth"),
        (TD1, 1, 14, "date_of_expiry"),
        (TD1, 1, 29, "composite"),
        (TD3, 1, 9, "document_number"),
        (TD3, 1, 19, "date_of_birth"),
        (TD3, 1, 27, "date_of_expiry"),
        (TD3, 1, 42, "optional_data"),
        (TD3, 1, 43, "composite"),
    ],
)
def test_each_check_digit_is_checked(mrz: str, line: int, pos: int, check: str) -> None:
    m = parse_mrz(bump_digit(mrz, line, pos))
    assert m.checks[check] is False
    assert not m.valid


@pytest.mark.parametrize(("line", "pos"), [(0, 7), (1, 2), (1, 10), (1, 0)])
def test_data_change_breaks_a_check(line: int, pos: int) -> None:
    assert not parse_mrz(bump_digit(TD1, line, pos)).valid


def test_composite_covers_optional_data() -> None:
    m = parse_mrz(with_char(TD1, 0, 20, "X"))
    assert m.checks["document_number"] and not m.checks["composite"]


def test_td3_empty_personal_number_accepts_filler_check() -> None:
    m = encode_td3(
        document_number="C01X00T47",
        date_of_birth="640812",
        date_of_expiry="251231",
        surname="Mustermann",
        given_names="Erika",
        sex="F",
        issuing_state="D",
        nationality="D",
    )
    assert m.valid
    assert m.lines[1][28:43] == "<" * 14 + "0"
    filler_check = with_char(m.text, 1, 42, "<")
    # the composite covers position 42, so only the personal-number check is asserted here
    assert parse_mrz(filler_check).checks["optional_data"]


def test_vietnamese_td1_line1_matches_research_example() -> None:
    m = parse_mrz(vn_mrz())
    assert m.lines[0] == VN_LINE1
    assert m.valid
    assert m.id_number == "001090123456"
    assert m.document_number == "090123456"  # the LAST nine digits
    assert m.checks["id_number"] and m.checks["id_matches_document_number"]
    assert (m.surname, m.given_names) == ("NGUYEN", "VAN DUC")


def test_vietnamese_access_key_uses_last_nine_digits() -> None:
    key = parse_mrz(vn_mrz()).access_key()
    assert key.document_number == "090123456"
    assert key.information == "0901234562" + "900101" + check_digit("900101") + "300101" + "9"


def test_vietnamese_id_check_digit_is_checked() -> None:
    m = parse_mrz(bump_digit(vn_mrz(), 0, 29))
    assert m.checks["id_number"] is False
    assert not m.valid


def test_vietnamese_document_number_must_match_id() -> None:
    # every check digit right, but the document number is the FIRST nine digits
    m = encode_td1(
        document_number="001090123",
        date_of_birth="900101",
        date_of_expiry="300101",
        surname="NGUYEN",
        optional_data="001090123456<<" + check_digit("001090123456"),
    )
    assert m.checks["document_number"] and m.checks["composite"] and m.checks["id_number"]
    assert m.checks["id_matches_document_number"] is False
    assert not m.valid


def test_concatenated_form_equals_lines() -> None:
    text = vn_mrz()
    assert parse_mrz(text.replace("\n", "")) == parse_mrz(text)
    assert parse_mrz(text.replace("\n", "").encode()) == parse_mrz(text)
    assert parse_mrz(TD3.replace("\n", "")).document_number == "L898902C3"


def test_impossible_date_fails_even_with_right_check_digit() -> None:
    m = encode_td1(
        document_number="123456789", date_of_birth="901301", date_of_expiry="300101", surname="A"
    )
    assert m.checks["date_of_birth"] and m.checks["date_of_birth_format"] is False
    assert not m.valid
    assert m.birth_date() is None


def test_unknown_birth_day_is_allowed_but_has_no_date() -> None:
    m = encode_td1(
        document_number="123456789", date_of_birth="90<<<<", date_of_expiry="300101", surname="A"
    )
    assert m.valid
    assert m.birth_date() is None
    with pytest.raises(MalformedData):
        m.access_key()


def test_birth_century_never_in_the_future() -> None:
    m = encode_td1(
        document_number="123456789", date_of_birth="150101", date_of_expiry="300101", surname="A"
    )
    assert m.birth_date(dt.date(2026, 1, 1)) == dt.date(2015, 1, 1)
    assert m.birth_date(dt.date(2010, 1, 1)) == dt.date(1915, 1, 1)
    assert m.expiry_date(dt.date(2026, 1, 1)) == dt.date(2030, 1, 1)


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        (TD1.replace("D231", "d231"), 5),
        (TD1.replace("ERIKSSON", "ERIKSSÖN"), 66),
        (TD1.replace("7408122F", "7408122 "), 37),
    ],
)
def test_bad_characters_raise_with_offset(text: str, offset: int) -> None:
    with pytest.raises(MalformedData) as e:
        parse_mrz(text)
    assert e.value.file == "MRZ"
    assert e.value.offset == offset


@pytest.mark.parametrize(
    "text", ["", TD1[:-1], TD1 + "<", TD3 + "\n" + "<" * 44, "ABC", TD1.split("\n")[0]]
)
def test_wrong_lengths_raise(text: str) -> None:
    with pytest.raises(MalformedData):
        parse_mrz(text)


def test_bad_sex_raises() -> None:
    with pytest.raises(MalformedData):
        parse_mrz(with_char(TD1, 1, 7, "X"))


def test_non_ascii_bytes_raise() -> None:
    with pytest.raises(MalformedData):
        parse_mrz(b"\xff" * 90)


def test_td2_is_unsupported() -> None:
    with pytest.raises(UnsupportedData):
        parse_mrz("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6")


def test_name_field_transliterates_vietnamese() -> None:
    assert name_field("Đặng", "Thị Ánh Nguyệt", 30) == "DANG<<THI<ANH<NGUYET<<<<<<<<<<"
    assert len(name_field("A" * 40, "B", 30)) == 30


def test_encode_td1_round_trips_fields() -> None:
    m = encode_td1(
        document_number="AB1234567",
        date_of_birth="851231",
        date_of_expiry="350101",
        surname="Tran",
        given_names="Thi Mai",
        sex="F",
        optional_data="X1",
        optional_data_2="Y2",
    )
    assert m.valid
    again = parse_mrz(m.encode())
    assert again == m
    assert (again.optional_data, again.optional_data_2, again.sex) == ("X1", "Y2", "F")


def test_document_code_outside_the_format_fails_though_no_check_digit_covers_it() -> None:
    # OCR reads the "I" of "ID" as "T": every check digit still holds, the MRZ must not
    good = vn_mrz()
    m = parse_mrz("T" + good[1:])
    assert not m.checks["document_code"] and not m.valid
    assert all(v for k, v in m.checks.items() if k != "document_code")
    assert parse_mrz(good).valid
    assert not parse_mrz("V" + TD3[1:]).valid and parse_mrz(TD3).valid
