"""Error vocabulary of the card side. Each error has a stable ``code``."""

from __future__ import annotations


class ReaderError(Exception):
    """Base of every error raised while talking to a card."""

    code = "reader_error"


class PcscUnavailable(ReaderError):
    """No PC/SC service (pcscd) could be reached."""

    code = "pcsc_unavailable"


class NoReader(ReaderError):
    """No reader matches, or none is attached."""

    code = "no_reader"


class NoCard(ReaderError):
    """No card was presented within the deadline."""

    code = "no_card"


class CardRemoved(ReaderError):
    """The card left the field (or the link dropped) in the middle of an exchange.

    A read can be resumed: the chip reader keeps what it had already read.
    """

    code = "card_removed"


class CardTimeout(ReaderError):
    """The card did not answer within the deadline."""

    code = "card_timeout"


class CardError(ReaderError):
    """The card answered a command with an unexpected status word."""

    code = "card_error"

    def __init__(self, sw: int, command: str = "") -> None:
        self.sw = sw
        self.command = command
        super().__init__(f"{command or 'command'} failed with status {sw:04X}")


class FileNotFoundOnChip(CardError):
    """SW 6A82: the file does not exist on this chip."""

    code = "file_not_found"


class SecurityStatusNotSatisfied(CardError):
    """SW 6982: the file needs an access key that has not been established."""

    code = "security_status_not_satisfied"


class AccessDenied(ReaderError):
    """The card refused the access key (BAC or PACE); ``key`` names which key was tried."""

    code = "access_denied"

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        suffix = f": {detail}" if detail else ""
        super().__init__(f"the chip refused the access key ({key}){suffix}")


class SecureMessagingError(ReaderError):
    """A secure-messaging response failed its MAC or was malformed (SW 6987/6988 included)."""

    code = "secure_messaging_error"


class ProtocolError(ReaderError):
    """The card broke a protocol step (bad token, wrong length, unsupported parameters)."""

    code = "protocol_error"


class MalformedTLV(ValueError):
    """A BER-TLV structure is truncated or its length is impossible."""

    code = "malformed_tlv"

    def __init__(self, offset: int, reason: str) -> None:
        self.offset = offset
        self.reason = reason
        super().__init__(f"{reason} at offset {offset}")


class AccessKeyNotApplicable(ReaderError):
    """The chip offers no protocol that can use the given key (e.g. a CAN for a BAC-only chip)."""

    code = "access_key_not_applicable"


class ChipAuthenticationFailed(ReaderError):
    """The chip could not continue secure messaging under Chip Authentication keys.

    Chip Authentication is implicit: a chip without the private key matching DG14 (a
    clone) fails the first MAC check after the key exchange.
    """

    code = "chip_authentication_failed"
