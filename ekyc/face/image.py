"""Safe decoding of untrusted image bytes into a BGR uint8 array."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ekyc.face.errors import ImageRejected

#: formats a selfie or chip portrait may come in; other Pillow plugins are never tried
ALLOWED_FORMATS = ("JPEG", "PNG", "JPEG2000", "WEBP", "BMP")
#: magic numbers of formats we recognise but refuse, for a clearer code than not_an_image
_REFUSED_MAGIC = {
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"%PDF": "PDF",
}
MIN_SIDE = 32


def _open(data: bytes) -> Image.Image:
    for magic, name in _REFUSED_MAGIC.items():
        if data.startswith(magic):
            raise ImageRejected("unsupported_image", f"{name} images are not accepted")
    try:
        # Pillow warns (and past 2x MAX_IMAGE_PIXELS raises) from the header alone:
        # turn the warning into an error so nothing is decoded on the way.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageRejected("too_many_pixels", str(e)) from e
    except UnidentifiedImageError as e:
        raise ImageRejected("not_an_image", "bytes are not a supported image") from e
    except (OSError, SyntaxError, ValueError) as e:
        # a recognised header whose fields do not parse
        raise ImageRejected("not_an_image", f"unreadable image header: {e}") from e


def _check_header(im: Image.Image, max_pixels: int, min_side: int) -> None:
    w, h = im.size
    if w * h > max_pixels:
        raise ImageRejected("too_many_pixels", f"{w}x{h} exceeds {max_pixels} pixels")
    if min(w, h) < min_side:
        raise ImageRejected("image_too_small", f"{w}x{h}: shorter side below {min_side} px")


def _load(im: Image.Image) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageRejected("too_many_pixels", str(e)) from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageRejected("truncated_image", f"image data is incomplete or corrupt: {e}") from e
    try:
        oriented = ImageOps.exif_transpose(im)
    except (OSError, SyntaxError, ValueError, KeyError, TypeError) as e:
        raise ImageRejected("truncated_image", f"corrupt EXIF block: {e}") from e
    return oriented if oriented is not None else im


def _to_rgb(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (or 32-bit int holding 16-bit) greyscale: keep the high byte
        grey = np.asarray(im).astype(np.uint32)
        grey8 = (np.clip(grey, 0, 65535) >> 8).astype(np.uint8)
        return np.repeat(grey8[:, :, None], 3, axis=2)
    if mode == "F":
        raise ImageRejected("unsupported_image", "floating-point images are not accepted")
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in im.info
    )
    if has_alpha:
        # transparent pixels become white, like paper behind a cut-out photo
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def decode_image(data: bytes, max_pixels: int = 40_000_000, min_side: int = MIN_SIDE) -> np.ndarray:
    """Decode untrusted image bytes to a BGR uint8 array with EXIF orientation applied."""
    if not data:
        raise ImageRejected("not_an_image", "empty input")
    im = _open(data)
    with im:
        # the size comes from the header: refuse before any pixel is decoded
        _check_header(im, max_pixels, min_side)
        rgb = _to_rgb(_load(im))
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageRejected("unsupported_image", f"unexpected pixel layout {rgb.shape}")
    return np.ascontiguousarray(rgb[:, :, ::-1])
