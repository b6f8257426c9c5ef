"""Image uploads as multipart/form-data or JSON base64, checked by their bytes (not names).

The declared content type of a part is never trusted: the first bytes must be those of a
JPEG, PNG, WebP or JPEG 2000 file, else 415. Each file has its own size limit (413).
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from api.errors import UnsupportedMediaType, UploadTooLarge
from ekyc.errors import EkycError

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", 0, "image/jp2"),
    (b"\xff\x4f\xff\x51", 0, "image/j2k"),
    (b"WEBP", 8, "image/webp"),
)
MAX_PARTS = 64


class InvalidUpload(EkycError):
    """The upload is structurally wrong: missing fields, bad base64, bad timestamps."""

    code = "invalid_request"


def sniff_image(data: bytes) -> str | None:
    """The image type named by the magic bytes, or None."""
    for magic, offset, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if mime == "image/webp" and data[:4] != b"RIFF":
                continue
            return mime
    return None


def check_image(data: bytes, field: str, max_bytes: int) -> bytes:
    """Refuse a file over ``max_bytes`` (413) or whose bytes are not an image (415)."""
    if len(data) > max_bytes:
        raise UploadTooLarge(f"{field}: {len(data)} bytes is over the {max_bytes}-byte limit")
    if sniff_image(data) is None:
        raise UnsupportedMediaType(f"{field}: not a JPEG, PNG, WebP or JPEG 2000 image")
    return data


@dataclass
class Upload:
    """The text fields and image files of one request, by field name (repeated allowed)."""

    fields: dict[str, list[str]]
    files: dict[str, list[bytes]]

    def one_file(self, name: str) -> bytes:
        """Exactly one file under ``name``."""
        got = self.files.get(name, [])
        if len(got) != 1:
            raise InvalidUpload(f"expected exactly one image in {name!r}, got {len(got)}")
        return got[0]

    def text(self, name: str) -> str | None:
        """The first text field ``name``."""
        got = self.fields.get(name)
        return got[0] if got else None


def _b64(text: object, field: str) -> bytes:
    if not isinstance(text, str):
        raise InvalidUpload(f"{field}: expected a base64 string")
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise InvalidUpload(f"{field}: not strict base64") from None


def _json_upload(doc: Any, file_fields: set[str], max_image: int) -> Upload:
    if not isinstance(doc, dict):
        raise InvalidUpload("the JSON body must be an object")
    fields: dict[str, list[str]] = {}
    files: dict[str, list[bytes]] = {}
    for key, value in doc.items():
        if key in file_fields:
            items = value if isinstance(value, list) else [value]
            if len(items) > MAX_PARTS:
                raise InvalidUpload(f"{key}: at most {MAX_PARTS} images")
            files[key] = [
                check_image(_b64(v, f"{key}[{i}]"), f"{key}[{i}]", max_image)
                for i, v in enumerate(items)
            ]
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            fields[key] = [str(value)]
        elif value is not None:
            fields[key] = [json.dumps(value)]
    return Upload(fields, files)


async def read_upload(request: Request, file_fields: set[str], max_image: int) -> Upload:
    """Parse a multipart or JSON request into text fields and checked image bytes."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            doc = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise InvalidUpload("the body is not valid JSON") from None
        return _json_upload(doc, file_fields, max_image)
    if ctype != "multipart/form-data":
        raise UnsupportedMediaType("send multipart/form-data or application/json")
    fields: dict[str, list[str]] = {}
    files: dict[str, list[bytes]] = {}
    async with request.form(max_files=MAX_PARTS, max_fields=MAX_PARTS) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key not in file_fields:
                    raise InvalidUpload(f"unexpected file field {key!r}")
                data = await value.read(max_image + 1)
                files.setdefault(key, []).append(check_image(data, key, max_image))
            else:
                fields.setdefault(key, []).append(value)
    return Upload(fields, files)


def upload_openapi(
    properties: dict[str, Any], required: list[str], file_fields: set[str]
) -> dict[str, Any]:
    """``openapi_extra`` describing the same body as JSON (base64) and as multipart."""

    def schema(binary: bool) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for name, prop in properties.items():
            if name in file_fields:
                one = {"type": "string", "format": "binary" if binary else "byte"}
                props[name] = {"type": "array", "items": one} if prop == "array" else one
            else:
                props[name] = prop
        return {"type": "object", "properties": props, "required": required}

    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema(False)},
                "multipart/form-data": {"schema": schema(True)},
            },
        }
    }
