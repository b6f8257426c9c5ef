"""LDS files: the registry, and encode → decode round trips of EF.COM, DG1, DG2, DG14, DG15."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from PIL import Image

from ekyc.errors import MalformedData, UnsupportedData
from ekyc.icao import lds
from ekyc.icao.com import Com, parse_com
from ekyc.icao.dg1 import Dg1, parse_dg1
from ekyc.icao.dg2 import (
    JPEG,
    JPEG2000,
    BiometricTemplate,
    Dg2,
    FaceImage,
    FeaturePoint,
    parse_dg2,
)
from ekyc.icao.dg14 import Dg14, parse_dg14
from ekyc.icao.dg15 import CRYPTOGRAPHY_CURVES, Dg15, explicit_ec_spki, parse_dg15
from ekyc.icao.mrz import Mrz, encode_vn_td1
from readers import tlv
from readers.security_infos import (
    ID_AA,
    ActiveAuthInfo,
    ChipAuthInfo,
    PaceInfo,
    SecurityInfos,
)

FACES = Path("/work/shared/data/faces")
# ICAO 9303-11 worked example: EF.CardAccess with one PACEInfo (ECDH-GM AES-256, id 13)
CARD_ACCESS = bytes.fromhex("31143012060A04007F0007020204020402010202010D")


def picture(fmt: str, size: tuple[int, int] = (48, 64)) -> bytes:
    im = Image.new("RGB", size, (200, 150, 120))
    im.paste((20, 40, 60), (10, 10, 30, 40))
    out = io.BytesIO()
    im.save(out, format=fmt)
    return out.getvalue()


# --- registry -------------------------------------------------------------------------------


def test_registry_table() -> None:
    assert [f.name for f in lds.FILES][:3] == ["EF.COM", "DG1", "DG2"]
    assert len(lds.FILES) == 19
    com, sod, ca = lds.by_name("EF.COM"), lds.by_name("SOD"), lds.by_name("ef.cardaccess")
    assert (com.tag, com.sfi, com.fid) == (0x60, 0x1E, 0x011E)
    assert (sod.tag, sod.sfi, sod.fid) == (0x77, 0x1D, 0x011D)
    assert (ca.tag, ca.sfi, ca.fid, ca.dg) == (None, 0x1C, 0x011C, None)
    tags = [0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68]
    tags += [0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70]
    for n, tag in enumerate(tags, start=1):
        f = lds.by_dg(n)
        assert (f.name, f.tag, f.sfi, f.fid) == (f"DG{n}", tag, n, 0x0100 + n)
        assert lds.by_tag(tag) is f and lds.by_fid(0x0100 + n) is f and lds.by_name(f"dg{n}") is f


@pytest.mark.parametrize(
    "lookup",
    [
        lambda: lds.by_dg(17),
        lambda: lds.by_tag(0x71),
        lambda: lds.by_name("DG0"),
        lambda: lds.by_fid(0x0200),
    ],
)
def test_registry_unknown_raises(lookup: Callable[[], object]) -> None:
    with pytest.raises(UnsupportedData):
        lookup()


# --- EF.COM ---------------------------------------------------------------------------------


def test_com_matches_icao_appendix_d_prefix() -> None:
    # 9303-11 Appendix D reads the first 4 bytes of EF.COM: 60 14 5F 01
    com = Com.for_data_groups([1, 2], lds_version="0107", unicode_version="040000")
    assert com.encode() == bytes.fromhex("60145F0104303130375F36063034303030305C026175")
    assert com.encode()[:4] == bytes.fromhex("60145F01")


def test_com_round_trip() -> None:
    com = Com.for_data_groups([1, 2, 13, 14, 15])
    again = parse_com(com.encode())
    assert again == com
    assert again.data_groups == (1, 2, 13, 14, 15)


def test_com_rejects_bad_version() -> None:
    bad = tlv.encode(0x60, tlv.encode(0x5F01, b"01x7") + tlv.encode(0x5F36, b"040000"))
    with pytest.raises(MalformedData) as e:
        parse_com(bad + b"")
    assert e.value.file == "EF.COM"


def test_com_missing_tag_list() -> None:
    bad = tlv.encode(0x60, tlv.encode(0x5F01, b"0107") + tlv.encode(0x5F36, b"040000"))
    with pytest.raises(MalformedData, match="5C"):
        parse_com(bad)


# --- DG1 ------------------------------------------------------------------------------------


def vn_mrz() -> Mrz:
    return encode_vn_td1(
        id_number="079203001234",
        date_of_birth="030405",
        date_of_expiry="280405",
        surname="Lê",
        given_names="Thị Hồng",
        sex="F",
    )


def test_dg1_round_trip() -> None:
    dg1 = Dg1(vn_mrz())
    data = dg1.encode()
    assert data[:1] == b"\x61" and b"\x5f\x1f\x5a" in data  # 90 MRZ characters
    again = parse_dg1(data)
    assert again == dg1 and again.mrz.valid
    assert again.mrz.id_number == "079203001234"


def test_dg1_bad_mrz_is_reported_against_dg1() -> None:
    data = tlv.encode(0x61, tlv.encode(0x5F1F, b"I<UTO" + b"#" * 85))
    with pytest.raises(MalformedData) as e:
        parse_dg1(data)
    assert e.value.file == "DG1"
    assert e.value.offset == 5 + 5  # 61 5A 5F1F 5A header, then the bad character


def test_dg1_wrong_outer_tag() -> None:
    with pytest.raises(MalformedData):
        parse_dg1(tlv.encode(0x75, tlv.encode(0x5F1F, vn_mrz().encode())))


# --- DG2 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "kind", "mime"), [("JPEG", JPEG, "image/jpeg"), ("JPEG2000", JPEG2000, "image/jp2")]
)
def test_dg2_round_trip_with_real_images(fmt: str, kind: int, mime: str) -> None:
    image = picture(fmt)
    dg2 = Dg2.from_image_bytes(image, gender=2, expression=1, pose_angle=(1, 2, 3))
    again = parse_dg2(dg2.encode())
    assert again == dg2
    face = again.portrait
    assert (face.image_data_type, face.mime_type, face.width, face.height) == (kind, mime, 48, 64)
    assert face.image == image
    assert (face.gender, face.expression, face.pose_angle) == (2, 1, (1, 2, 3))
    decoded = again.to_image()
    assert decoded.size == (48, 64)
    pixel = decoded.getpixel((20, 20))
    assert isinstance(pixel, tuple) and pixel[2] < 100  # the dark patch survived (lossy codecs)


def test_dg2_with_a_real_photo() -> None:
    image = (FACES / "obama__obama_small.jpg").read_bytes()
    dg2 = parse_dg2(Dg2.from_image_bytes(image).encode())
    with Image.open(io.BytesIO(image)) as ref:
        assert dg2.to_image().size == ref.size == (dg2.portrait.width, dg2.portrait.height)


def test_dg2_header_and_feature_points() -> None:
    points = (FeaturePoint(1, 0x12, 100, 200), FeaturePoint(1, 0x31, 5, 6))
    face = FaceImage.from_image_bytes(picture("JPEG"), feature_points=points, quality=7)
    dg2 = Dg2((BiometricTemplate((face, face)), BiometricTemplate((face,))))
    data = dg2.encode()
    again = parse_dg2(data)
    assert again == dg2
    assert len(again.faces) == 3
    assert again.faces[0].feature_points == points and again.faces[0].quality == 7
    template = again.templates[0]
    assert (template.format_owner, template.format_type) == (0x0101, 0x0008)
    assert template.header[0x81] == b"\x02"


def test_dg2_layout_is_icao() -> None:
    data = Dg2.from_image_bytes(picture("JPEG")).encode()
    outer = tlv.expect(data, 0x75)
    group = tlv.expect(outer.value, 0x7F61)
    count, bit = group.children()
    assert (count.tag, count.value) == (0x02, b"\x01")
    header, bdb = bit.children()
    assert (bit.tag, header.tag, bdb.tag) == (0x7F60, 0xA1, 0x5F2E)
    assert bdb.value[:8] == b"FAC\x00010\x00"
    assert int.from_bytes(bdb.value[8:12], "big") == len(bdb.value)


def test_dg2_constructed_data_block_tag_is_read() -> None:
    data = Dg2.from_image_bytes(picture("JPEG")).encode()
    i = data.index(b"\x5f\x2e")
    assert parse_dg2(data[:i] + b"\x7f\x2e" + data[i + 2 :]).portrait.width == 48


def test_dg2_pixel_limit() -> None:
    dg2 = Dg2.from_image_bytes(picture("JPEG", (200, 100)))
    with pytest.raises(MalformedData, match="too large"):
        dg2.to_image(max_pixels=19_999)
    assert dg2.to_image(max_pixels=20_000).size == (200, 100)


def test_dg2_corrupt_image_is_malformed() -> None:
    image = picture("JPEG2000")
    face = FaceImage(image=image[: len(image) // 2], image_data_type=JPEG2000, width=48, height=64)
    with pytest.raises(MalformedData):
        face.to_image()
    # a PNG where the header promises a JPEG is refused, not decoded
    png = FaceImage(image=picture("PNG"), image_data_type=JPEG, width=48, height=64)
    with pytest.raises(MalformedData):
        png.to_image()


def test_dg2_unknown_image_type_is_unsupported() -> None:
    with pytest.raises(UnsupportedData):
        FaceImage(image=b"xx", image_data_type=5, width=1, height=1).to_image()
    with pytest.raises(UnsupportedData):
        FaceImage.from_image_bytes(picture("PNG"))


def test_dg2_count_mismatch() -> None:
    data = Dg2.from_image_bytes(picture("JPEG")).encode()
    i = data.index(b"\x02\x01\x01")
    with pytest.raises(MalformedData, match="count"):
        parse_dg2(data[:i] + b"\x02\x01\x02" + data[i + 3 :])


def test_dg2_non_face_record_is_unsupported() -> None:
    data = Dg2.from_image_bytes(picture("JPEG")).encode().replace(b"FAC\x00", b"FIR\x00")
    with pytest.raises(UnsupportedData):
        parse_dg2(data)


def test_dg2_record_length_lie() -> None:
    data = bytearray(Dg2.from_image_bytes(picture("JPEG")).encode())
    i = data.index(b"FAC\x00010\x00") + 8
    data[i : i + 4] = (0xFFFFFF).to_bytes(4, "big")
    with pytest.raises(MalformedData, match="record length"):
        parse_dg2(bytes(data))


# --- DG14 -----------------------------------------------------------------------------------


def test_dg14_wraps_the_icao_card_access_example() -> None:
    dg14 = parse_dg14(tlv.encode(0x6E, CARD_ACCESS))
    assert dg14.infos.pace[0].parameter_id == 13
    assert dg14.content == CARD_ACCESS
    assert dg14.encode() == tlv.encode(0x6E, CARD_ACCESS)


def test_dg14_round_trip() -> None:
    infos = SecurityInfos(
        pace=[PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13)],
        chip_auth=[ChipAuthInfo("0.4.0.127.0.7.2.2.3.2.2", 1)],
        active_auth=[ActiveAuthInfo(ID_AA, 1, "0.4.0.127.0.7.1.1.4.1.3")],
    )
    dg14 = Dg14.from_infos(infos)
    again = parse_dg14(dg14.encode())
    assert again == dg14
    assert again.infos.chip_auth[0].protocol == "0.4.0.127.0.7.2.2.3.2.2"


def test_dg14_garbage_is_malformed() -> None:
    with pytest.raises(MalformedData) as e:
        parse_dg14(tlv.encode(0x6E, b"\x31\x03\x02\x01\x01"))
    assert e.value.file == "DG14"


# --- DG15 -----------------------------------------------------------------------------------


def test_dg15_rsa_round_trip() -> None:
    key = rsa.generate_private_key(65537, 1024).public_key()
    dg15 = Dg15.from_public_key(key)
    again = parse_dg15(dg15.encode())
    assert again.algorithm == "rsa" and again.curve_name is None
    assert isinstance(again.public_key, rsa.RSAPublicKey)
    assert again.public_key.public_numbers() == key.public_numbers()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert again.spki == spki


@pytest.mark.parametrize("name", sorted(CRYPTOGRAPHY_CURVES))
@pytest.mark.parametrize("explicit", [False, True])
def test_dg15_ec_round_trip(name: str, explicit: bool) -> None:
    key = ec.generate_private_key(CRYPTOGRAPHY_CURVES[name]).public_key()
    again = parse_dg15(Dg15.from_public_key(key, explicit=explicit).encode())
    assert (again.algorithm, again.curve_name, again.explicit_parameters) == ("ec", name, explicit)
    assert isinstance(again.public_key, ec.EllipticCurvePublicKey)
    assert again.public_key.public_numbers() == key.public_numbers()


def test_dg15_explicit_parameters_must_match_exactly() -> None:
    key = ec.generate_private_key(ec.BrainpoolP256R1()).public_key()
    spki = bytearray(explicit_ec_spki(key))
    a = bytes.fromhex("7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9")
    i = spki.index(a)
    spki[i + 31] ^= 1  # a different curve coefficient a
    with pytest.raises(UnsupportedData):
        parse_dg15(tlv.encode(0x6F, bytes(spki)))


def test_dg15_unsupported_named_curve() -> None:
    key = ec.generate_private_key(ec.SECP256K1()).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(UnsupportedData):
        parse_dg15(tlv.encode(0x6F, spki))


def test_dg15_point_off_the_curve_is_malformed() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    spki = bytearray(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    spki[-1] ^= 1
    with pytest.raises(MalformedData) as e:
        parse_dg15(tlv.encode(0x6F, bytes(spki)))
    assert e.value.file == "DG15"


def test_dg15_garbage_is_malformed() -> None:
    with pytest.raises(MalformedData):
        parse_dg15(tlv.encode(0x6F, b"\x30\x03\x02\x01\x01"))
