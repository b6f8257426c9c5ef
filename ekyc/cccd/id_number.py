"""The 12-digit CCCD personal identification number (Circular 07/2016/TT-BCA, art. 7).

Digits 1–3: province of birth registration; digit 4: sex and century of birth; digits
5–6: last two digits of the birth year; digits 7–12: a random serial. The CAN used for
PACE is the last 6 digits; the MRZ/BAC document number is the last 9 (never the first 9).
"""

from __future__ import annotations

from dataclasses import dataclass

from ekyc.errors import MalformedData

_FILE = "CCCD number"

#: Province codes as issued (the 63 provinces before the 2025 merger; IDs keep them).
PROVINCES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}


@dataclass(frozen=True)
class IdNumber:
    """A validated CCCD number and what its digits say."""

    number: str
    province_code: str
    province: str
    sex: str  # "M" or "F", as in the MRZ
    century: int  # 1900, 2000, …
    birth_year: int
    serial: str

    @property
    def can(self) -> str:
        return can_from_id(self.number)

    @property
    def document_number(self) -> str:
        return document_number_from_id(self.number)


def _digits(number: str) -> str:
    number = number.strip()
    if len(number) != 12:
        raise MalformedData(_FILE, 0, f"a CCCD number has 12 digits, not {len(number)}")
    for i, c in enumerate(number):
        if not "0" <= c <= "9":  # str.isdigit would accept other scripts' digits
            raise MalformedData(_FILE, i, f"{c!r} is not a digit")
    return number


def parse_id_number(number: str) -> IdNumber:
    """Validate a 12-digit CCCD number and decode province, sex, century and birth year."""
    number = _digits(number)
    province = PROVINCES.get(number[:3])
    if province is None:
        raise MalformedData(_FILE, 0, f"{number[:3]} is not a province code")
    code = int(number[3])
    century = 1900 + 100 * (code // 2)
    return IdNumber(
        number=number,
        province_code=number[:3],
        province=province,
        sex="M" if code % 2 == 0 else "F",
        century=century,
        birth_year=century + int(number[4:6]),
        serial=number[6:],
    )


def can_from_id(number: str) -> str:
    """The PACE Card Access Number: the last 6 digits of the ID."""
    return _digits(number)[-6:]


def document_number_from_id(number: str) -> str:
    """The MRZ/BAC document number: the LAST 9 digits of the ID (not the first 9)."""
    return _digits(number)[-9:]
