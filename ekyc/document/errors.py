"""Errors of the document capability; each has a stable ``code`` the API reports."""

from __future__ import annotations

from ekyc.errors import EkycError


class DocumentError(EkycError):
    """A document image that cannot be processed; ``code`` says why."""

    code = "document_error"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"{self.code}: {detail}")


class InvalidImage(DocumentError):
    """The bytes are not a decodable image (wrong file type, truncated, empty)."""

    code = "invalid_image"


class ImageTooSmall(DocumentError):
    """The image (or the card in it) has too few pixels to read."""

    code = "image_too_small"


class ImageTooLarge(DocumentError):
    """The image exceeds the pixel budget."""

    code = "image_too_large"


class NoCard(DocumentError):
    """No card-shaped object was found in the photo."""

    code = "no_card"


class SeveralCards(DocumentError):
    """More than one card-shaped object was found in the photo."""

    code = "several_cards"


class UnknownCard(DocumentError):
    """The card matches no known model and side; ``reason`` says how it fell short:
    ``no_printed_text`` (nothing card-like was read), ``other_document`` (another document,
    named in the detail) or ``no_layout`` (no model and side fits what was read)."""

    code = "unknown_card"

    def __init__(self, detail: str, reason: str = "no_layout") -> None:
        self.reason = reason
        super().__init__(detail)
