"""DG2 (ICAO 9303-10 §4.7.2): the portrait, in CBEFF templates holding ISO/IEC 19794-5 records.

Layout: ``75`` { ``7F61`` biometric information group { ``02`` count, ``7F60`` BIT { ``A1``
header, ``5F2E``/``7F2E`` biometric data block } … } }. The data block is a 19794-5:2005
"FAC" record: a 14-byte general header, then per image a 20-byte facial information block,
8-byte feature points, a 12-byte image information block and the JPEG/JPEG2000 bytes.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass, field

from PIL import Image

from ekyc.errors import MalformedData, UnsupportedData
from ekyc.icao import lds
from readers import tlv

_FILE = "DG2"
_TAG = 0x75
_GROUP = 0x7F61
_COUNT = 0x02
_BIT = 0x7F60
_HEADER = 0xA1
_BDB = 0x5F2E
_BDB_CONSTRUCTED = 0x7F2E  # read like 5F2E, as JMRTD does

_FAC_MAGIC = b"FAC\x00"
_FAC_VERSION = b"010\x00"
_GENERAL_HEADER = 14
_INFO_BLOCK = 20
_FEATURE_POINT = 8
_IMAGE_INFO = 12

JPEG = 0
JPEG2000 = 1
_MIME = {JPEG: "image/jpeg", JPEG2000: "image/jp2"}
_PIL_FORMAT = {JPEG: "JPEG", JPEG2000: "JPEG2000"}
_TYPE_OF_PIL = {v: k for k, v in _PIL_FORMAT.items()}

MAX_PIXELS = 20_000_000
# Pillow reports a broken or hostile image through any of these, depending on the codec.
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


def _open(data: bytes, formats: list[str]) -> Image.Image:
    """Pillow's lazy open, with its size warning (raised from the header alone) an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=formats)


DEFAULT_HEADER: dict[int, bytes] = {
    0x80: b"\x01\x01",  # patron header version 1.1
    0x81: b"\x02",  # biometric type: facial features
    0x82: b"\x00",  # subtype: none
    0x87: b"\x01\x01",  # format owner: ISO/IEC JTC 1/SC 37
    0x88: b"\x00\x08",  # format type: 19794-5 face image
}


@dataclass(frozen=True)
class FeaturePoint:
    """A 19794-5 feature point: ``code`` is major (high nibble) and minor (low nibble)."""

    type: int
    code: int
    x: int
    y: int


@dataclass(frozen=True)
class FaceImage:
    """One facial image of a 19794-5 record: its descriptive fields and the encoded image."""

    image: bytes
    image_data_type: int  # 0 JPEG, 1 JPEG2000
    width: int
    height: int
    gender: int = 0
    eye_colour: int = 0
    hair_colour: int = 0
    feature_mask: int = 0  # 24-bit property mask
    expression: int = 0
    pose_angle: tuple[int, int, int] = (0, 0, 0)  # yaw, pitch, roll (encoded as 19794-5)
    pose_angle_uncertainty: tuple[int, int, int] = (0, 0, 0)
    feature_points: tuple[FeaturePoint, ...] = ()
    face_image_type: int = 1  # full frontal
    colour_space: int = 1  # 24-bit RGB
    source_type: int = 2  # static photo from a digital still camera
    device_type: int = 0
    quality: int = 0

    @property
    def mime_type(self) -> str:
        return _MIME.get(self.image_data_type, "application/octet-stream")

    @classmethod
    def from_image_bytes(cls, image: bytes, **fields: object) -> FaceImage:
        """A face record for a JPEG or JPEG2000 image; type and size are read from the image."""
        try:
            with _open(image, list(_PIL_FORMAT.values())) as im:
                width, height, fmt = im.width, im.height, im.format or ""
        except _DECODE_ERRORS as e:
            raise UnsupportedData(f"not a JPEG or JPEG2000 image: {e}") from None
        return cls(
            image=image,
            image_data_type=_TYPE_OF_PIL[fmt],
            width=width,
            height=height,
            **fields,  # type: ignore[arg-type]
        )

    def to_image(self, max_pixels: int = MAX_PIXELS) -> Image.Image:
        """Decode the portrait with Pillow, refusing anything over ``max_pixels``."""
        fmt = _PIL_FORMAT.get(self.image_data_type)
        if fmt is None:
            raise UnsupportedData(f"image data type {self.image_data_type} is not JPEG/JPEG2000")
        try:
            im = _open(self.image, [fmt])
            if im.width * im.height > max_pixels:
                raise MalformedData(_FILE, 0, f"portrait of {im.width}×{im.height} is too large")
            im.load()
        except _DECODE_ERRORS as e:
            raise MalformedData(_FILE, 0, f"portrait cannot be decoded as {fmt}: {e}") from None
        return im

    def encode(self) -> bytes:
        """This image as one 19794-5 facial record (information block … image data)."""
        points = b"".join(
            bytes([p.type, p.code]) + p.x.to_bytes(2, "big") + p.y.to_bytes(2, "big") + b"\0\0"
            for p in self.feature_points
        )
        size = _INFO_BLOCK + len(points) + _IMAGE_INFO + len(self.image)
        return (
            size.to_bytes(4, "big")
            + len(self.feature_points).to_bytes(2, "big")
            + bytes([self.gender, self.eye_colour, self.hair_colour])
            + self.feature_mask.to_bytes(3, "big")
            + self.expression.to_bytes(2, "big")
            + bytes(self.pose_angle)
            + bytes(self.pose_angle_uncertainty)
            + points
            + bytes([self.face_image_type, self.image_data_type])
            + self.width.to_bytes(2, "big")
            + self.height.to_bytes(2, "big")
            + bytes([self.colour_space, self.source_type])
            + self.device_type.to_bytes(2, "big")
            + self.quality.to_bytes(2, "big")
            + self.image
        )


@dataclass(frozen=True)
class BiometricTemplate:
    """One CBEFF biometric information template (7F60): its header and its face images."""

    faces: tuple[FaceImage, ...]
    header: dict[int, bytes] = field(default_factory=lambda: dict(DEFAULT_HEADER))

    @property
    def format_owner(self) -> int | None:
        value = self.header.get(0x87)
        return int.from_bytes(value, "big") if value else None

    @property
    def format_type(self) -> int | None:
        value = self.header.get(0x88)
        return int.from_bytes(value, "big") if value else None

    def encode(self) -> bytes:
        """The 7F60 template bytes."""
        header = b"".join(lds.wrap(t, v) for t, v in sorted(self.header.items()))
        records = b"".join(f.encode() for f in self.faces)
        size = _GENERAL_HEADER + len(records)
        fac = (
            _FAC_MAGIC
            + _FAC_VERSION
            + size.to_bytes(4, "big")
            + len(self.faces).to_bytes(2, "big")
            + records
        )
        return lds.wrap(_BIT, lds.wrap(_HEADER, header) + lds.wrap(_BDB, fac))


@dataclass(frozen=True)
class Dg2:
    """DG2: one or more biometric templates; ``portrait`` is the first face image."""

    templates: tuple[BiometricTemplate, ...]

    @property
    def faces(self) -> tuple[FaceImage, ...]:
        return tuple(f for t in self.templates for f in t.faces)

    @property
    def portrait(self) -> FaceImage:
        return self.faces[0]

    def to_image(self, max_pixels: int = MAX_PIXELS) -> Image.Image:
        """Decode the first portrait (see ``FaceImage.to_image``)."""
        return self.portrait.to_image(max_pixels)

    @classmethod
    def from_image_bytes(cls, image: bytes, **fields: object) -> Dg2:
        """A DG2 holding one JPEG/JPEG2000 portrait with the given 19794-5 fields."""
        return cls((BiometricTemplate((FaceImage.from_image_bytes(image, **fields),)),))

    def encode(self) -> bytes:
        """The DG2 bytes."""
        count = lds.wrap(_COUNT, bytes([len(self.templates)]))
        body = count + b"".join(t.encode() for t in self.templates)
        return lds.wrap(_TAG, lds.wrap(_GROUP, body))


def parse_dg2(data: bytes) -> Dg2:
    """Parse DG2 down to the face images (the images themselves are decoded on demand)."""
    outer = lds.unwrap(_FILE, data, _TAG)
    group = lds.require(_FILE, lds.children(_FILE, outer), _GROUP, outer.offset)
    items = lds.children(_FILE, group)
    count_tlv = lds.require(_FILE, items, _COUNT, group.offset)
    count = int.from_bytes(count_tlv.value, "big")
    bits = [t for t in items if t.tag == _BIT]
    if count != len(bits) or not bits:
        raise MalformedData(
            _FILE, count_tlv.offset, f"count {count} but {len(bits)} biometric templates"
        )
    return Dg2(tuple(_parse_bit(b) for b in bits))


def _parse_bit(bit: tlv.TLV) -> BiometricTemplate:
    items = lds.children(_FILE, bit)
    header_tlv = lds.require(_FILE, items, _HEADER, bit.offset)
    header = {t.tag: t.value for t in lds.children(_FILE, header_tlv)}
    bdb = tlv.find(items, _BDB) or tlv.find(items, _BDB_CONSTRUCTED)
    if bdb is None:
        raise MalformedData(_FILE, bit.offset, "biometric template has no data block (5F2E)")
    return BiometricTemplate(_parse_fac(bdb.value, bdb.offset + bdb.header_len), header)


def _u(buf: bytes, pos: int, n: int) -> int:
    return int.from_bytes(buf[pos : pos + n], "big")


def _parse_fac(buf: bytes, base: int) -> tuple[FaceImage, ...]:
    if buf[:4] != _FAC_MAGIC:
        raise UnsupportedData("biometric data block is not an ISO/IEC 19794-5 facial record")
    if len(buf) < _GENERAL_HEADER:
        raise MalformedData(_FILE, base, "facial record header is truncated")
    if buf[4:8] != _FAC_VERSION:
        raise UnsupportedData(f"ISO/IEC 19794-5 version {buf[4:7]!r} is not supported")
    length, count = _u(buf, 8, 4), _u(buf, 12, 2)
    if not _GENERAL_HEADER <= length <= len(buf):
        raise MalformedData(_FILE, base + 8, f"record length {length} ≠ {len(buf)} bytes present")
    if count == 0:
        raise MalformedData(_FILE, base + 12, "facial record holds no image")
    faces, pos = [], _GENERAL_HEADER
    for _ in range(count):
        face, pos = _parse_face(buf[:length], pos, base)
        faces.append(face)
    if pos != length:
        raise MalformedData(_FILE, base + pos, f"{length - pos} stray bytes after the images")
    return tuple(faces)


def _parse_face(buf: bytes, pos: int, base: int) -> tuple[FaceImage, int]:
    size = _u(buf, pos, 4)
    n_points = _u(buf, pos + 4, 2)
    fixed = _INFO_BLOCK + n_points * _FEATURE_POINT + _IMAGE_INFO
    if len(buf) - pos < _INFO_BLOCK or not fixed <= size <= len(buf) - pos:
        raise MalformedData(_FILE, base + pos, f"facial record block of {size} bytes is impossible")
    points = []
    p = pos + _INFO_BLOCK
    for _ in range(n_points):
        points.append(FeaturePoint(buf[p], buf[p + 1], _u(buf, p + 2, 2), _u(buf, p + 4, 2)))
        p += _FEATURE_POINT
    face = FaceImage(
        gender=buf[pos + 6],
        eye_colour=buf[pos + 7],
        hair_colour=buf[pos + 8],
        feature_mask=_u(buf, pos + 9, 3),
        expression=_u(buf, pos + 12, 2),
        pose_angle=(buf[pos + 14], buf[pos + 15], buf[pos + 16]),
        pose_angle_uncertainty=(buf[pos + 17], buf[pos + 18], buf[pos + 19]),
        feature_points=tuple(points),
        face_image_type=buf[p],
        image_data_type=buf[p + 1],
        width=_u(buf, p + 2, 2),
        height=_u(buf, p + 4, 2),
        colour_space=buf[p + 6],
        source_type=buf[p + 7],
        device_type=_u(buf, p + 8, 2),
        quality=_u(buf, p + 10, 2),
        image=bytes(buf[p + _IMAGE_INFO : pos + size]),
    )
    return face, pos + size
