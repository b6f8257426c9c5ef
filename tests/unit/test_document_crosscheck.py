"""Cross-source report: normalisation of text, dates, sex, names vs MRZ; exact disagreements."""

from __future__ import annotations

import datetime as dt
import unicodedata

from ekyc.cccd.dg13 import Dg13
from ekyc.cccd.qr import parse_qr_payload
from ekyc.document import normalise
from ekyc.document.crosscheck import cross_check
from ekyc.icao.mrz import encode_vn_td1

TODAY = dt.date(2025, 6, 1)
DG13 = Dg13(
    id_number="001090123456",
    full_name="Đặng Thị Thu Hương",
    date_of_birth="01/02/1990",
    sex="Nữ",
    nationality="Việt Nam",
    place_of_origin="Hà Nội",
    place_of_residence="Số 1, Hàng Bạc, Hoàn Kiếm, Hà Nội",
    date_of_issue="15/06/2021",
    date_of_expiry="01/02/2030",
)
QR = parse_qr_payload(
    "001090123456||Đặng Thị Thu Hương|01021990|Nữ|Số 1, Hàng Bạc, Hoàn Kiếm, Hà Nội|15062021"
)
MRZ = encode_vn_td1(
    id_number="001090123456",
    date_of_birth="900201",
    date_of_expiry="300201",
    surname="Đặng",
    given_names="Thị Thu Hương",
    sex="F",
)
PRINTED = {
    "id_number": "001090123456",
    "full_name": unicodedata.normalize("NFD", "ĐẶNG THỊ  THU HƯƠNG"),
    "date_of_birth": "01/02/1990",
    "sex": "Nữ",
    "nationality": "Việt Nam",
    "place_of_residence": "Số 1,Hàng Bạc , Hoàn Kiếm, Hà Nội",
    "date_of_expiry": "01.02.2030",
}


def test_all_sources_agree() -> None:
    r = cross_check(dg13=DG13, qr=QR, mrz=MRZ, printed=PRINTED, today=TODAY)
    assert r.consistent, r.disagreements
    assert r.mrz_valid is True
    name = r.fields["full_name"]
    assert name.status == "agree"
    assert set(name.sources) == {"dg13", "qr", "mrz", "printed"}
    assert r.fields["date_of_birth"].normalised == {
        "dg13": "1990-02-01",
        "qr": "1990-02-01",
        "mrz": "1990-02-01",
        "printed": "1990-02-01",
    }
    assert r.fields["sex"].normalised["mrz"] == "F"
    assert r.fields["nationality"].status == "agree"
    assert r.fields["place_of_origin"].status == "single"
    assert r.fields["spouse_name"].status == "absent"


def test_exact_disagreement_reported() -> None:
    printed = dict(PRINTED, date_of_birth="01/02/1991")
    r = cross_check(dg13=DG13, qr=QR, mrz=MRZ, printed=printed, today=TODAY)
    assert not r.consistent
    dob = r.fields["date_of_birth"]
    assert dob.status == "disagree"
    pairs = {(d.source_a, d.value_a, d.source_b, d.value_b) for d in dob.disagreements}
    assert ("dg13", "01/02/1990", "printed", "01/02/1991") in pairs
    assert ("mrz", "900201", "printed", "01/02/1991") in pairs
    assert len(pairs) == 3  # printed against each of the other three
    assert list(r.disagreements) == ["date_of_birth"]


def test_name_differs_only_in_diacritics_is_caught_outside_mrz() -> None:
    r = cross_check(dg13=DG13, printed={"full_name": "Đặng Thị Thu Hướng"}, mrz=MRZ, today=TODAY)
    d = r.fields["full_name"].disagreements
    assert [(x.source_a, x.source_b) for x in d] == [("dg13", "printed")]


def test_truncated_mrz_name_is_a_prefix() -> None:
    long_name = "Tôn Nữ Hoàng Phương Thảo Nguyên Ngọc Anh"
    mrz = encode_vn_td1(
        id_number="001090123456",
        date_of_birth="900201",
        date_of_expiry="300201",
        surname="Tôn",
        given_names="Nữ Hoàng Phương Thảo Nguyên Ngọc Anh",
    )
    assert not mrz.lines[2].endswith("<")
    r = cross_check(printed={"full_name": long_name}, mrz=mrz, today=TODAY)
    assert r.fields["full_name"].status == "agree"
    r = cross_check(printed={"full_name": "Tôn Nữ Hoàng"}, mrz=mrz, today=TODAY)
    assert r.fields["full_name"].status == "disagree"


def test_mrz_document_number_is_suffix_of_id() -> None:
    mrz = encode_vn_td1(
        id_number="001090123456", date_of_birth="900201", date_of_expiry="300201", surname="A"
    )
    r = cross_check(mrz=mrz, printed={"id_number": "001 090 123 456"}, today=TODAY)
    assert r.fields["id_number"].status == "agree"
    r = cross_check(mrz=mrz, printed={"id_number": "001090123457"}, today=TODAY)
    assert r.fields["id_number"].status == "disagree"


def test_sex_mismatch_between_mrz_and_chip() -> None:
    r = cross_check(
        dg13=DG13,
        mrz=encode_vn_td1(
            id_number="001090123456",
            date_of_birth="900201",
            date_of_expiry="300201",
            surname="Đặng",
            given_names="Thị Thu Hương",
            sex="M",
        ),
        today=TODAY,
    )
    assert r.fields["sex"].status == "disagree"
    assert r.fields["sex"].disagreements[0].value_b == "M"


def test_unparseable_printed_date_disagrees() -> None:
    r = cross_check(dg13=DG13, printed={"date_of_issue": "15/O6/2021"}, today=TODAY)
    f = r.fields["date_of_issue"]
    assert f.status == "disagree" and f.normalised["printed"] is None


def test_date_forms_and_century() -> None:
    assert normalise.date("01/02/1990") == "1990-02-01"
    assert normalise.date("1-2-1990") == "1990-02-01"
    assert normalise.date("01021990") == "1990-02-01"
    assert normalise.date("1990-02-01") == "1990-02-01"
    assert normalise.date("300201", "birth", TODAY) == "1930-02-01"
    assert normalise.date("300201", "expiry", TODAY) == "2030-02-01"
    assert normalise.date("050201", "birth", TODAY) == "2005-02-01"
    assert normalise.date("31/02/1990") is None
    assert normalise.date("Không thời hạn", "expiry") == "none"


def test_sex_and_nationality_and_text() -> None:
    assert normalise.sex("NAM") == "M" and normalise.sex(unicodedata.normalize("NFD", "Nữ")) == "F"
    assert normalise.sex("x") is None
    assert normalise.nationality("VIỆT NAM") == "VNM"
    assert normalise.text(" Hà  Nội ,Việt Nam ") == "hà nội, việt nam"
    assert normalise.mrz_name("Đỗ Thị Ánh") == "DO THI ANH"
