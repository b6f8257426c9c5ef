"""Reading a card by its print (ekyc.document.printed): model, side and fields from labels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ekyc.document.errors import UnknownCard
from ekyc.document.fields import normalise_field, read_card
from ekyc.document.printed import Line, classify_printed, read_printed, split_at_gaps
from ekyc.synth.other_card import fonts_available, render_other_card


def _lines(*rows: tuple[str, float, float, float]) -> list[Line]:
    """Lines from (text, x0, y0, x1); every line 30 px high."""
    return [Line(text, (x0, y0, x1, y0 + 30), 0.99) for text, x0, y0, x1 in rows]


FRONT_2016 = _lines(
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 240, 20, 760),
    ("CĂN CƯỚC CÔNG DÂN", 280, 100, 720),
    ("Số: 094176277805", 200, 170, 440),
    ("Họ và tên:", 200, 215, 310),
    ("ĐẶNG THANH HẰNG", 200, 250, 460),
    ("Ngày, tháng, năm sinh: 21/06/1976", 200, 295, 600),
    ("Giới tính: Nữ", 200, 335, 350),
    ("Quốc tịch: Việt Nam", 545, 335, 780),
    ("Quê quán:", 200, 375, 315),
    ("Thôn Yến, Xã Ngọc Khải, Thị xã Yến Ngô, Tây Ninh", 200, 412, 840),
    ("Nơi thường trú: Số 36 Lý Thường Kiệt, Phường 13, Quận 1,", 200, 452, 950),
    ("Quảng Ninh", 200, 490, 330),
    ("Có giá trị đến:", 20, 500, 150),
    ("05/11/2027", 20, 535, 150),
)


def test_2016_front_read_by_labels() -> None:
    assert classify_printed(FRONT_2016) == ("cccd2016", "front")
    values = {
        k: normalise_field(k, v)
        for k, (v, _) in read_printed(FRONT_2016, "cccd2016", "front").items()
    }
    assert values == {
        "id_number": "094176277805",
        "full_name": "ĐẶNG THANH HẰNG",
        "date_of_birth": "21/06/1976",
        "sex": "Nữ",
        "nationality": "Việt Nam",
        "place_of_origin": "Thôn Yến, Xã Ngọc Khải, Thị xã Yến Ngô, Tây Ninh",
        "place_of_residence": "Số 36 Lý Thường Kiệt, Phường 13, Quận 1, Quảng Ninh",
        "date_of_expiry": "05/11/2027",
    }


def test_two_labels_on_one_detected_line_split() -> None:
    lines = _lines(
        ("CĂN CƯỚC CÔNG DÂN", 300, 100, 800),
        ("Quê quán / Place of origin: Phường Vĩnh Ninh, TP. Huế,", 267, 380, 860),
        ("Thừa Thiên Huế", 274, 421, 466),
        (
            "Có giá trị đến /Date ofexpiry: Nơi thường trú / Place of residence: Phường Hải Châu",
            34,
            461,
            832,
        ),
        ("22/12/2038", 40, 503, 182),
        ("Quận Hải Châu, Đà Nẵng", 274, 502, 575),
    )
    assert classify_printed(lines) == ("cccd2021", "front")
    values = read_printed(lines, "cccd2021", "front")
    assert values["date_of_expiry"][0] == "22/12/2038"
    assert values["place_of_residence"][0] == "Phường Hải Châu Quận Hải Châu, Đà Nẵng"
    assert values["place_of_origin"][0] == "Phường Vĩnh Ninh, TP. Huế, Thừa Thiên Huế"


def test_models_and_sides_from_titles_labels_and_mrz() -> None:
    cancuoc_front = _lines(
        ("CĂN CƯỚC", 430, 95, 690),
        ("IDENTITY CARD", 478, 156, 642),
        ("Số định danh cá nhân / Personal identification number:", 269, 192, 727),
        ("080182723985", 272, 232, 545),
    )
    assert classify_printed(cancuoc_front) == ("cancuoc2024", "front")
    cancuoc_back = _lines(
        ("Nơi cư trú / Place of residence: Phường Hải Châu, Đà Nẵng", 34, 33, 745),
        ("IDVNM1827239853080182723985<<7", 91, 471, 923),
    )
    assert classify_printed(cancuoc_back) == ("cancuoc2024", "back")
    cccd_back = _lines(
        ("Đặc điểm nhân dạng / Personal identification:", 38, 37, 468),
        ("Nốt ruồi C:2cm trên trước mép phải", 38, 70, 468),
        ("IDVNM1827239853080182723985<<7", 90, 471, 925),
    )
    assert classify_printed(cccd_back) == ("cccd2021", "back")


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([], "no_printed_text"),
        (
            _lines(("HÓA ĐƠN BÁN HÀNG", 100, 100, 500), ("Tổng cộng 120.000đ", 100, 150, 400)),
            "no_printed_text",
        ),
        (
            _lines(("CHỨNG MINH NHÂN DÂN", 300, 100, 700), ("Số 012345678", 300, 150, 500)),
            "other_document",
        ),
        (
            _lines(
                ("CĂN CƯỚC CÔNG DÂN", 300, 100, 700),
            ),
            "no_layout",
        ),
    ],
)
def test_what_is_not_a_citizen_card_says_why(lines: list[Line], reason: str) -> None:
    with pytest.raises(UnknownCard) as e:
        classify_printed(lines)
    assert e.value.reason == reason and e.value.code == "unknown_card"


def test_split_at_gaps_cuts_a_line_at_a_column_gap() -> None:
    grey = np.full((60, 800), 255, np.uint8)
    cv2.putText(grey, "label here", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    cv2.putText(grey, "value", (500, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    quad = np.array([[0, 10], [799, 10], [799, 50], [0, 50]], np.float32)
    pieces = split_at_gaps(grey, quad)
    assert len(pieces) == 2
    assert pieces[0][1, 0] < 250 and pieces[1][0, 0] > 450


def test_split_at_gaps_keeps_a_faint_label_before_a_bold_value() -> None:
    """A label printed in light grey (or faded by a photo's light) is ink too: trimming
    to the bold value's contrast alone cut the label off the line."""
    grey = np.full((60, 800), 235, np.uint8)
    cv2.putText(grey, "Que quan:", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 160, 2)
    cv2.putText(grey, "So 12", (175, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 3)
    quad = np.array([[0, 10], [799, 10], [799, 50], [0, 50]], np.float32)
    pieces = split_at_gaps(grey, quad)
    assert len(pieces) == 1 and pieces[0][0, 0] < 12


def test_values_found_past_garbled_labels() -> None:
    """From phone photos of the other generator's cards: sex and nationality by their own
    closed vocabulary after a label too misread to end where it seems; addresses whose
    labels are lost, by their shape, in the order the card prints them."""
    lines = _lines(
        ("CĂN CƯỚC CÔNG DÂN", 370, 90, 820),
        ("Số: 093088077986", 260, 158, 445),
        ("Họ và tên:", 260, 205, 332),
        ("HỒ THANH VỸ", 260, 236, 438),
        ("Ngày, tháng, năm sinh: 16/02/1988", 260, 278, 546),
        ("Giới đnh /Sex Nữ", 260, 317, 394),
        ("Quốc iịch /Natomity Việt Nam", 547, 317, 735),
        ("Q0 qân Số 258 Bạch Đằng, Phường 6, Quận Khoa Dương,", 260, 359, 971),
        ("Lai Châu", 260, 396, 400),
        ("Nơi chương va Thôn Hằng, Xã Thị Trọng, Huyện Nhung Lý, Hải Dương", 260, 433, 977),
        ("Có giá trị đến:", 38, 488, 119),
        ("14/07/2041", 41, 517, 140),
    )
    got = _read(lines)
    assert got["sex"] == "Nữ" and got["nationality"] == "Việt Nam"
    assert got["place_of_origin"] == "Số 258 Bạch Đằng, Phường 6, Quận Khoa Dương, Lai Châu"
    assert got["place_of_residence"] == "Thôn Hằng, Xã Thị Trọng, Huyện Nhung Lý, Hải Dương"


def test_an_address_ends_on_the_line_of_a_date_label() -> None:
    """The detector joined the expiry's label (under the portrait) to the address's last
    line in the next column: the part after the label that is no date is the address's."""
    lines = _lines(
        ("CĂN CƯỚC CÔNG DÂN", 363, 98, 774),
        ("Nơi thường trú / Place of residence: Thôn Lộc, Xã Thanh Tuyết, Huyện", 266, 450, 920),
        ("Có giá trị đến/Date of expiry: Nhung Vũ, Khánh Hòa", 38, 484, 491),
        ("14/10/2036", 39, 517, 135),
    )
    got = _read(lines, "cccd2021")
    assert got["place_of_residence"] == "Thôn Lộc, Xã Thanh Tuyết, Huyện Nhung Vũ, Khánh Hòa"
    assert got["date_of_expiry"] == "14/10/2036"


def test_a_date_joined_to_the_end_of_an_address_is_the_missing_date() -> None:
    """A Căn cước back whose issue date (next column) the detector joined to the last line of
    the place of birth, its label unread."""
    lines = _lines(
        ("CĂN CƯỚC", 363, 40, 600),
        ("Nơi cư trú / Place of residence: Tổ 5, Phường Vỹ Thùy, Huyện Lộc, Hà Nam", 40, 100, 900),
        ("Nơi đăng ký khai sinh / Place of birth: Tổ 24, Phường Trọng Thanh,", 40, 150, 900),
        ("Huyện Thảo Bùi, Tây Ninh 20/06/2017", 40, 190, 900),
        ("Ngày, tháng, năm hết hạn / Date of expiry: 20/06/2037", 40, 240, 900),
    )
    got = _read(lines, "cancuoc2024", "back")
    assert got["place_of_origin"] == "Tổ 24, Phường Trọng Thanh, Huyện Thảo Bùi, Tây Ninh"
    assert got["date_of_issue"] == "20/06/2017"
    assert got["date_of_expiry"] == "20/06/2037"


def test_a_label_remnant_without_its_colon_leaves_the_address() -> None:
    lines = _lines(
        ("Nơi cư trú / Place of residence", 35, 26, 280),
        ("Số 164 Nguyễn Trãi, Phường 5, Huyện Trọng Vũ, Lâm Đồng", 34, 59, 632),
        (
            "Nơi đăng ký khai sinh / Phace of binth Số 11 Nguyễn Trãi, Phường 13, Hưng Yên",
            35,
            105,
            900,
        ),
    )
    got = _read(lines, "cancuoc2024", "back")
    assert got["place_of_origin"] == "Số 11 Nguyễn Trãi, Phường 13, Hưng Yên"


@pytest.mark.skipif(not fonts_available(), reason="Debian fonts of the other generator missing")
@pytest.mark.parametrize("seed", [1050, 1086, 60044])  # long addresses that once ran off the card
def test_other_generator_keeps_its_print_on_the_card(seed: int) -> None:
    card = render_other_card("cccd2021", "front", seed)
    grey = cv2.cvtColor(card.image_bgr, cv2.COLOR_BGR2GRAY)
    edge = grey[-max(4, grey.shape[0] // 60) :, grey.shape[1] // 4 :]
    assert int(edge.min()) > 120  # no glyph cut by the card's bottom edge


def test_feature_words_take_the_nearest_marks_and_ties_stay() -> None:
    f = lambda t: normalise_field("identifying_features", t)  # noqa: E731
    assert f("Chẩm đen cách 2cm trên đầu lông mày phải") == (
        "Chấm đen cách 2cm trên đầu lông mày phải"
    )  # the circumflex was read: chấm, not chàm
    assert f("Sẹo chấm cách 1cm dưới đuối mắt trái") == "Sẹo chấm cách 1cm dưới đuôi mắt trái"
    assert f("Nốt ruồi cách 2cm trên cảnh mũi phải") == (
        "Nốt ruồi cách 2cm trên cảnh mũi phải"
    )  # cánh or cạnh: as far from each, left as read
    assert f("Nốt ruồi cách 1cm dưới mặt trái") == "Nốt ruồi cách 1cm dưới mặt trái"  # a word
    # sentence case: the recogniser's case slips undone, a line in capitals left so
    assert f("NỐt ruồi Cách 1,5cm dưới mép trái") == "Nốt ruồi cách 1,5cm dưới mép trái"
    assert f("NỐT RUỒI CÁCH 1CM") == "NỐT RUỒI CÁCH 1CM"
    assert f("Sẹo chấm cách lem dưới đuôi mắt trái") == "Sẹo chấm cách 1cm dưới đuôi mắt trái"


def test_models_known_by_garbled_english_title_and_labels() -> None:
    cancuoc = _lines(
        ("CĂN CƯỚC", 432, 97, 655),
        ("identty card", 463, 149, 626),
        ("Họ chữ ồm và tên kha sinh /Sumwmm, mddo name ad gve mume", 254, 217, 758),
        ("có inh/Sex Nữ", 253, 345, 412),
    )
    assert classify_printed(cancuoc) == ("cancuoc2024", "front")
    cccd2021 = _lines(
        ("CĂN CƯỚC CÔNG DÂN", 370, 91, 836),
        ("Họ và tiên / Ful mame:", 282, 208, 443),
        ("Ngy sinh/Duca tinh: 01/12/1973", 282, 289, 585),
        ("Gó tỉnh /Sec Nữ", 282, 334, 438),
        ("Quốch/Nainm: Việt Nam", 610, 334, 888),
    )
    assert classify_printed(cccd2021) == ("cccd2021", "front")
    assert classify_printed(FRONT_2016) == ("cccd2016", "front")  # no slash but in dates


def test_normalisers_keep_decimal_commas_units_and_provinces() -> None:
    assert normalise_field("identifying_features", "Nốt ruồi cách 1,5ơm dưới mép trái") == (
        "Nốt ruồi cách 1,5cm dưới mép trái"
    )
    assert normalise_field(
        "place_of_origin", "Tố 14, Xã Kim Thảo, Quận Khoa Trịnh Hồ Chí Minh"
    ) == ("Tổ 14, Xã Kim Thảo, Quận Khoa Trịnh, Hồ Chí Minh")
    assert normalise_field("place_of_origin", "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh") == (
        "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh"
    )
    assert normalise_field("place_of_origin", "Tô Hiến Thành, Bà Rịa- Vũng Tàu") == (
        "Tô Hiến Thành, Bà Rịa - Vũng Tàu"
    )


@pytest.mark.skipif(not fonts_available(), reason="Debian fonts of the other generator missing")
def test_2016_card_from_another_generator_read_with_real_ocr() -> None:
    from models.ocr.factory import load_ocr

    card = render_other_card("cccd2016", "front", 3)
    r = read_card(card.image_bgr, load_ocr("default"))
    assert (r.model, r.side, r.method) == ("cccd2016", "front", "printed")
    assert r.fields["id_number"] == card.fields["id_number"]
    assert r.fields["date_of_birth"] == card.fields["date_of_birth"]
    same = sum(r.fields.get(k) == v for k, v in card.fields.items())
    assert same >= len(card.fields) - 1


def test_blank_card_shaped_image_is_no_citizen_card() -> None:
    from models.ocr.factory import load_ocr

    image = np.full((638, 1012, 3), 235, np.uint8)
    cv2.rectangle(image, (0, 0), (1011, 637), (90, 90, 90), 6)
    cv2.putText(
        image, "HELLO WORLD 2026", (200, 320), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (20, 20, 20), 4
    )
    with pytest.raises(UnknownCard) as e:
        read_card(image, load_ocr("default"))
    assert e.value.reason == "no_printed_text"


def _read(lines: list[Line], model: str = "cccd2016", side: str = "front") -> dict[str, str]:
    got = read_printed(lines, model, side)  # type: ignore[arg-type]
    return {k: normalise_field(k, v) for k, (v, _) in got.items()}


def test_misread_labels_still_place_their_values() -> None:
    """Labels the recogniser shortened, lost or garbled (from phone photos of the other
    generator's cards): found before their colon, or the value found by its own shape."""
    lines = _lines(
        ("CĂN CƯỚC CÔNG DÂN", 280, 100, 720),
        ("SSNO 060091221125", 200, 170, 440),  # "Số / No." misread: its O is not a zero
        ("Họ và tên:", 200, 215, 310),
        ("TRỊNH ĐỨC TUYẾT", 200, 250, 460),
        ("Ngày, tháng năm sinh: 20/05/1990", 200, 295, 600),
        ("i tỉnh Nam", 200, 335, 330),  # "Giới tính" lost its first letters and its colon
        ("Quố ic: Việt Nam", 545, 335, 780),  # "Quốc tịch" past the first pass's cutoff
        ("Quê quán:", 200, 375, 315),
        ("Tổ 30, Phường 6, Quận 1, Kiên Giangg", 200, 412, 840),  # a doubled letter
        ("Nơi thường trú:", 200, 452, 400),
        ("Có kẩn đn", 20, 470, 150),  # "Có giá trị đến" unreadable: the date is the only one
        ("Số 10 Hai Bà Trưng, Phườ", 200, 490, 520),  # cut at a wide gap …
        ("12, Quận 3, Thái Bình", 560, 490, 840),  # … the rest of the row
        ("24/11/2040", 20, 505, 150),
    )
    assert _read(lines) == {
        "id_number": "060091221125",
        "full_name": "TRỊNH ĐỨC TUYẾT",
        "date_of_birth": "20/05/1990",
        "sex": "Nam",
        "nationality": "Việt Nam",
        "place_of_origin": "Tổ 30, Phường 6, Quận 1, Kiên Giang",
        "place_of_residence": "Số 10 Hai Bà Trưng, Phường 12, Quận 3, Thái Bình",
        "date_of_expiry": "24/11/2040",
    }


def test_a_value_never_runs_on_across_the_next_label() -> None:
    lines = _lines(
        ("Nơicưửn/Piace oresidence: Thôn Thảo, Xã Đức Tuyết, Huyện Phúc", 75, 43, 764),
        ("Hồ, Long An", 75, 79, 221),
        ("Nơi đăng ký khai sinh / Place of binth:", 76, 127, 365),
        ("Tổ 8, Phường Lộc Hữu, Quận Thảo Hồ, Phú Thọ", 73, 159, 616),
        ("Ngày, tháng, năm cấp /Date of issue: 19/10/2019", 75, 207, 494),
    )
    got = _read(lines, "cancuoc2024", "back")
    assert got["place_of_residence"] == "Thôn Thảo, Xã Đức Tuyết, Huyện Phúc Hồ, Long An"
    assert got["place_of_origin"] == "Tổ 8, Phường Lộc Hữu, Quận Thảo Hồ, Phú Thọ"
    assert got["date_of_issue"] == "19/10/2019"


def test_bilingual_card_known_by_misread_english_labels() -> None:
    lines = _lines(
        ("CĂN CƯỚC CÔNG DÂN", 352, 95, 860),
        ("Họ và tên / Ful name", 277, 241, 480),
        ("ĐÌNH THÚY KHOA", 277, 275, 553),
        ("Ngày sinh/Date of binh: 09/04/1951", 276, 317, 683),
        ("quốc tịch/ Natonality: Việt Nam", 562, 359, 926),
    )
    assert classify_printed(lines) == ("cccd2021", "front")


def test_a_line_on_the_row_of_the_next_address_label_is_that_address() -> None:
    """Phone photos of the other generator (tuning seeds 62047, 62110): the next address's
    value starts right of its label, on the label's row; the address above must not run on
    into it, though the line lies in its column."""
    beside = _lines(
        ("Nơi cư trú / Phce of nsidence:", 41, 25, 281),
        ("Số 118 Lê Lợi, Phường 5, Quận Khoa Vũ, Hà Nam", 40, 64, 555),
        ("Nơ đăng ký khai sinh / Phe of bình: Số 115", 41, 102, 394),
        ("Nguyễn Trãi, Phường 7, Huyện Khoa", 456, 102, 790),
        ("Dương, Lạng Sơn", 41, 142, 225),
    )
    got = _read(beside, "cancuoc2024", "back")
    assert got["place_of_residence"] == "Số 118 Lê Lợi, Phường 5, Quận Khoa Vũ, Hà Nam"
    assert got["place_of_origin"] == "Số 115 Nguyễn Trãi, Phường 7, Huyện Khoa Dương, Lạng Sơn"
    split = _lines(  # the label detected apart from its value
        ("Quê quán /Place of origin", 250, 402, 441),
        ("Số 7 Nguyễn Trãi, Phường 9, Thị xã Lộc Bùi, Đắk Lắk", 250, 439, 776),
        ("Có giá trị đến /Date of expiry", 33, 461, 204),
        ("Nơi thường trú / Place of", 251, 482, 430),
        ("Tổ 18, Phường Hằng Thanh, Quận Trọng Bùi,", 508, 482, 957),
        ("25/05/2028", 35, 497, 132),
        ("Cần Thơ", 250, 521, 341),
    )
    got = _read(split, "cccd2021")
    assert got["place_of_origin"] == "Số 7 Nguyễn Trãi, Phường 9, Thị xã Lộc Bùi, Đắk Lắk"
    assert got["place_of_residence"] == "Tổ 18, Phường Hằng Thanh, Quận Trọng Bùi, Cần Thơ"
    assert got["date_of_expiry"] == "25/05/2028"


def test_a_bilingual_label_with_both_wordings_garbled_is_found_by_either() -> None:
    lines = _lines(  # tuning seed 62044: "Nơi thường trú / Place of residence:"
        ("Quê quán / Place of origin:", 254, 397, 456),
        ("Số 127 Lê Lợi, Phường 13, Quận Vỹ Đinh, Cần Thơ", 254, 431, 819),
        ("Nơi thường ii / Phúc o radene: Thôn Vỹ, Xã Quốc Trọng, Thị xã Tuyết", 254, 474, 953),
        ("Vũ, Bến Tre", 254, 513, 390),
    )
    got = _read(lines, "cccd2021")
    assert got["place_of_origin"] == "Số 127 Lê Lợi, Phường 13, Quận Vỹ Đinh, Cần Thơ"
    assert got["place_of_residence"] == "Thôn Vỹ, Xã Quốc Trọng, Thị xã Tuyết Vũ, Bến Tre"


def test_a_garbled_english_label_ends_where_the_value_opens() -> None:
    """Its colon lost, the misread English wording looked like the whole rest of the line
    and took the value's first words with it (tuning seed 62015)."""
    lines = _lines(
        ("Đặc điểm nhân dạng /Rersonai idenication Nốt ruồi cách", 37, 20, 601),
        ("2cm trên cánh mũi phải", 37, 65, 336),
        ("Ngày, tháng, năm / Date, month, year", 38, 116, 368),
        ("27/09/2016", 37, 153, 182),
    )
    got = _read(lines, "cccd2021", "back")
    assert got["identifying_features"] == "Nốt ruồi cách 2cm trên cánh mũi phải"
    assert got["date_of_issue"] == "27/09/2016"


def test_sex_and_nationality_by_value_past_labels_too_garbled_to_match() -> None:
    lines = _lines(
        ("Ngày tháng năm sinh: 09/06/1984", 276, 322, 574),
        ("Qc th/Nanalty: Việt Nam", 549, 367, 873),
        ("cá nh: Nam", 275, 368, 414),
    )
    got = _read(lines)
    assert got["sex"] == "Nam" and got["nationality"] == "Việt Nam"
    cut = _lines(("Giới tín h", 265, 361, 346), ("Sex: Nữ", 370, 361, 484))  # split at a gap
    assert _read(cut, "cancuoc2024")["sex"] == "Nữ"
    # the title ends in VIỆT NAM, an address in Hà Nam: neither is a value
    other = _lines(
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 240, 20, 760), ("Xã Ngọc, Hà Nam", 20, 60, 300)
    )
    got = _read(other)
    assert "nationality" not in got and "sex" not in got


def test_a_whole_date_is_kept_when_its_short_crop_reads_it_cut() -> None:
    lines = _lines(("Ngày, thẳng, năm cáp/Dat of issue 17/12/2016", 35, 213, 483))
    # the misread label's end aligned to the date's first digit: a label holds no digit
    assert read_printed(lines, "cancuoc2024", "back")["date_of_issue"][0] == "17/12/2016"
    cut = read_printed(lines, "cancuoc2024", "back", lambda crops: [("7/122016", 0.9)] * len(crops))
    assert cut["date_of_issue"][0] == "17/12/2016"
    whole = read_printed(lines, "cancuoc2024", "back", lambda crops: [("17/12/2016", 0.9)])
    assert whole["date_of_issue"] == ("17/12/2016", 0.9)  # the short crop's reading, when whole
