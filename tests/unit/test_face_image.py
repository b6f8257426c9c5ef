"""decode_image on untrusted bytes: every bad-input case gives a typed error or a correct image."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from ekyc.face.errors import ImageRejected
from ekyc.face.image import decode_image
from tests.support import FACES


def _pil_bytes(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _gradient(w: int = 64, h: int = 48) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None].repeat(w, 1)
    return np.stack([x, y, 255 - x], axis=2)  # RGB


def _png_header_only(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "not_an_image"),
        (b"hello, this is not an image at all", "not_an_image"),
        (b"\xff\xd8\xff", "not_an_image"),
        (b"GIF89a" + b"\0" * 40, "unsupported_image"),
    ],
)
def test_garbage_is_rejected(data: bytes, code: str) -> None:
    with pytest.raises(ImageRejected) as e:
        decode_image(data)
    assert e.value.code == code


def test_truncated_jpeg() -> None:
    full = _pil_bytes(Image.fromarray(_gradient(256, 256)), "JPEG", quality=90)
    assert decode_image(full).shape == (256, 256, 3)
    with pytest.raises(ImageRejected) as e:
        decode_image(full[: len(full) // 2])
    assert e.value.code == "truncated_image"


def test_huge_header_rejected_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: object) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    with pytest.raises(ImageRejected) as e:
        decode_image(_png_header_only(50_000, 50_000))
    assert e.value.code == "too_many_pixels"
    with pytest.raises(ImageRejected) as e:
        decode_image(_png_header_only(8000, 6000), max_pixels=10_000_000)
    assert e.value.code == "too_many_pixels"


def test_pillow_bomb_limit_is_an_error_not_a_warning() -> None:
    # above Pillow's MAX_IMAGE_PIXELS even when the caller allows more
    with pytest.raises(ImageRejected) as e:
        decode_image(_png_header_only(10_000, 10_000), max_pixels=10**12)
    assert e.value.code == "too_many_pixels"


@pytest.mark.parametrize("size", [(1, 1), (200, 8)])
def test_tiny_images(size: tuple[int, int]) -> None:
    data = _pil_bytes(Image.new("RGB", size, (10, 20, 30)), "PNG")
    with pytest.raises(ImageRejected) as e:
        decode_image(data)
    assert e.value.code == "image_too_small"


def test_rgb_png_is_bgr_out() -> None:
    rgb = _gradient()
    out = decode_image(_pil_bytes(Image.fromarray(rgb), "PNG"))
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.array_equal(out, rgb[:, :, ::-1])


def test_cmyk_jpeg() -> None:
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:, :32] = (200, 30, 30)
    rgb[:, 32:] = (30, 30, 200)
    data = _pil_bytes(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = decode_image(data)
    assert out.shape == (64, 64, 3)
    # left half red, right half blue (BGR order out)
    assert out[32, 8, 2] > 150 and out[32, 8, 0] < 90
    assert out[32, 56, 0] > 150 and out[32, 56, 2] < 90


def test_16bit_grey_png() -> None:
    grey = np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)
    ok, buf = cv2.imencode(".png", grey)
    assert ok and Image.open(io.BytesIO(buf.tobytes())).mode.startswith("I")
    out = decode_image(buf.tobytes())
    assert out.shape == (48, 64, 3)
    assert np.array_equal(out[:, :, 0], (grey >> 8).astype(np.uint8))


def test_16bit_rgb_png() -> None:
    rgb16 = _gradient().astype(np.uint16) * 257
    ok, buf = cv2.imencode(".png", rgb16[:, :, ::-1].copy())
    out = decode_image(buf.tobytes())
    assert np.abs(out.astype(int) - _gradient()[:, :, ::-1].astype(int)).max() <= 1


def test_rgba_composited_on_white() -> None:
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[:, :32] = (0, 0, 255, 255)  # opaque blue
    rgba[:, 32:] = (255, 0, 0, 0)  # fully transparent red
    out = decode_image(_pil_bytes(Image.fromarray(rgba), "PNG"))
    assert tuple(out[10, 5]) == (255, 0, 0)  # BGR blue
    assert tuple(out[10, 60]) == (255, 255, 255)


def test_palette_and_greyscale() -> None:
    pal = Image.fromarray(_gradient()).convert("P")
    assert decode_image(_pil_bytes(pal, "PNG")).shape == (48, 64, 3)
    grey = Image.fromarray(_gradient()[:, :, 0]).convert("L")
    out = decode_image(_pil_bytes(grey, "JPEG"))
    assert out.shape == (48, 64, 3)
    assert np.array_equal(out[:, :, 0], out[:, :, 2])


def test_jpeg2000() -> None:
    rgb = _gradient(240, 320)
    data = _pil_bytes(Image.fromarray(rgb), "JPEG2000", quality_mode="rates", quality_layers=[20])
    out = decode_image(data)
    assert out.shape == (320, 240, 3)
    assert np.abs(out.astype(int) - rgb[:, :, ::-1].astype(int)).mean() < 6


def test_exif_orientation_applied() -> None:
    upright = _gradient(80, 40)
    stored = np.ascontiguousarray(np.rot90(upright))  # 90 degrees counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6  # display needs a 90 degree clockwise turn
    data = _pil_bytes(Image.fromarray(stored), "JPEG", quality=95, exif=exif)
    out = decode_image(data)
    assert out.shape == (40, 80, 3)
    assert np.abs(out.astype(int) - upright[:, :, ::-1].astype(int)).mean() < 4


@pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing")
def test_exif_rotated_face_found_only_after_rotation() -> None:
    from models.face_detector import load_detector
    from models.registry import default_registry
    from models.session import RuntimeOptions

    detector = load_detector(default_registry(), RuntimeOptions())
    upright = cv2.imread(str(FACES / "obama__obama.jpg"))
    stored = np.ascontiguousarray(np.rot90(upright[:, :, ::-1], k=-1))  # turned clockwise
    exif = Image.Exif()
    exif[0x0112] = 8  # display needs a 90 degree counter-clockwise turn
    data = _pil_bytes(Image.fromarray(stored), "JPEG", quality=92, exif=exif)
    raw = cv2.imdecode(
        np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    )
    assert raw.shape[:2] == upright.shape[1::-1]
    assert not [d for d in detector.detect(raw) if d.score > 0.8]
    out = decode_image(data)
    assert out.shape == upright.shape
    assert [d for d in detector.detect(out) if d.score > 0.8]
