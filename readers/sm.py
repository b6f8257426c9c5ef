"""ICAO 9303-11 §9.8 secure messaging (ISO/IEC 7816-4 SM), terminal and card roles.

One ``SecureMessaging`` holds the session keys and the send sequence counter (SSC).
The terminal calls ``protect``/``unprotect``; the virtual card calls
``unprotect_command``/``protect_response``. Every call increments the SSC first, so a
terminal and a card that start from the same SSC stay in step. Any SM failure marks
the session dead: like a real chip, which erases its session keys, it must then be
re-established (BAC, PACE or Chip Authentication) before anything else is sent.
"""

from __future__ import annotations

from readers import tlv
from readers.apdu import CommandAPDU, ResponseAPDU
from readers.crypto import (
    Algorithm,
    SessionKeys,
    aes_cmac,
    aes_ecb_encrypt,
    cbc_decrypt,
    cbc_encrypt,
    ct_equal,
    pad,
    retail_mac,
    unpad,
)
from readers.errors import MalformedTLV, SecureMessagingError
from readers.transport import Transport

TAG_CRYPTOGRAM_ODD = 0x85  # plain value BER-TLV encoded (odd INS), no padding indicator
TAG_CRYPTOGRAM = 0x87  # padding indicator 01 + cryptogram
TAG_LE = 0x97
TAG_STATUS = 0x99
TAG_MAC = 0x8E
PADDING_INDICATOR = 0x01
SM_CLA_BITS = 0x0C
SW_SM_MISSING_OBJECTS = 0x6987
SW_SM_INCORRECT_OBJECTS = 0x6988
MAC_LEN = 8


class SecureMessaging:
    """Session keys plus send sequence counter; wraps and unwraps APDUs in either role."""

    def __init__(self, keys: SessionKeys, ssc: bytes) -> None:
        if len(ssc) != keys.alg.block_size:
            raise ValueError(f"SSC must be {keys.alg.block_size} bytes for {keys.alg.value}")
        if len(keys.k_enc) != keys.alg.key_len or len(keys.k_mac) != keys.alg.key_len:
            raise ValueError(f"session keys must be {keys.alg.key_len} bytes for {keys.alg.value}")
        self.keys = keys
        self._ssc = int.from_bytes(ssc, "big")
        self._bs = keys.alg.block_size
        self._alive = True

    @property
    def ssc(self) -> bytes:
        """The current send sequence counter."""
        return self._ssc.to_bytes(self._bs, "big")

    @property
    def alive(self) -> bool:
        """False once an SM error ended the session (the chip has dropped its keys too)."""
        return self._alive

    # -- terminal role -------------------------------------------------------------------

    def protect(self, cmd: CommandAPDU) -> CommandAPDU:
        """Wrap a plain command: encrypt its data (DO87/DO85), carry Le in DO97, MAC in DO8E."""
        ssc = self._next_ssc()
        cla = cmd.cla | SM_CLA_BITS
        dos = b""
        if cmd.data:
            enc = cbc_encrypt(
                self.keys.alg, self.keys.k_enc, pad(cmd.data, self._bs), self._iv(ssc)
            )
            if cmd.ins & 1:
                dos += tlv.encode(TAG_CRYPTOGRAM_ODD, enc)
            else:
                dos += tlv.encode(TAG_CRYPTOGRAM, bytes([PADDING_INDICATOR]) + enc)
        if cmd.le is not None:
            dos += tlv.encode(TAG_LE, _encode_le(cmd.le))
        header = bytes([cla, cmd.ins, cmd.p1, cmd.p2])
        body = dos + tlv.encode(TAG_MAC, self._mac(ssc + pad(header, self._bs) + dos))
        # The protected response is always longer than the plain one, so ask for the maximum.
        extended = len(body) > 255 or (cmd.le is not None and cmd.le > 256)
        return CommandAPDU(cla, cmd.ins, cmd.p1, cmd.p2, body, 65536 if extended else 256)

    def unprotect(self, resp: ResponseAPDU) -> ResponseAPDU:
        """Check and unwrap the card's answer (DO99 + DO8E MAC, decrypt DO87/DO85).

        A plain status-only answer means the chip aborted SM: 6987/6988 (and a bare 9000,
        which cannot be authentic) raise; any other status word is returned as-is so the
        caller can map it, but the session is dead either way.
        """
        ssc = self._next_ssc()
        if not resp.data:
            self._alive = False
            if resp.sw in (SW_SM_MISSING_OBJECTS, SW_SM_INCORRECT_OBJECTS):
                raise SecureMessagingError(
                    f"the chip reported a secure messaging error {resp.sw:04X}"
                )
            if resp.ok:
                raise SecureMessagingError("unprotected 9000 in a secure messaging session")
            return resp
        try:
            return self._open_response(resp.data, ssc)
        except SecureMessagingError:
            self._alive = False
            raise

    # -- card role -----------------------------------------------------------------------

    def unprotect_command(self, cmd: CommandAPDU) -> CommandAPDU:
        """Card side: verify DO8E and return the plain command (raises SecureMessagingError)."""
        ssc = self._next_ssc()
        try:
            return self._open_command(cmd, ssc)
        except SecureMessagingError:
            self._alive = False
            raise

    def protect_response(self, resp: ResponseAPDU) -> ResponseAPDU:
        """Card side: wrap a plain response as DO87 (if data) + DO99 + DO8E."""
        ssc = self._next_ssc()
        dos = b""
        if resp.data:
            enc = cbc_encrypt(
                self.keys.alg, self.keys.k_enc, pad(resp.data, self._bs), self._iv(ssc)
            )
            dos += tlv.encode(TAG_CRYPTOGRAM, bytes([PADDING_INDICATOR]) + enc)
        dos += tlv.encode(TAG_STATUS, resp.sw.to_bytes(2, "big"))
        return ResponseAPDU(dos + tlv.encode(TAG_MAC, self._mac(ssc + dos)), resp.sw)

    # -- internals -----------------------------------------------------------------------

    def _next_ssc(self) -> bytes:
        if not self._alive:
            raise SecureMessagingError("the secure messaging session has ended")
        self._ssc = (self._ssc + 1) % (1 << (8 * self._bs))
        return self.ssc

    def _iv(self, ssc: bytes) -> bytes | None:
        # 3DES uses a zero IV; AES uses E(K_enc, SSC) (ICAO 9303-11 §9.8.6.1).
        if self.keys.alg is Algorithm.TDES:
            return None
        return aes_ecb_encrypt(self.keys.k_enc, ssc)

    def _mac(self, data: bytes) -> bytes:
        # Unlike PACE tokens, SM pads the MAC input for AES-CMAC as well as for the retail MAC.
        padded = pad(data, self._bs)
        if self.keys.alg is Algorithm.TDES:
            return retail_mac(self.keys.k_mac, padded)
        return aes_cmac(self.keys.k_mac, padded)[:MAC_LEN]

    def _check_mac(self, data: bytes, mac: bytes) -> None:
        if not ct_equal(self._mac(data), mac):
            raise SecureMessagingError("secure messaging MAC does not verify")

    def _decrypt(self, obj: tlv.TLV, ssc: bytes) -> bytes:
        value = obj.value
        if obj.tag == TAG_CRYPTOGRAM:
            if not value or value[0] != PADDING_INDICATOR:
                raise SecureMessagingError("DO87 lacks the 01 padding-content indicator")
            value = value[1:]
        if not value or len(value) % self._bs:
            raise SecureMessagingError("cryptogram length is not a whole number of blocks")
        plain = cbc_decrypt(self.keys.alg, self.keys.k_enc, value, self._iv(ssc))
        try:
            return unpad(plain)
        except ValueError:
            raise SecureMessagingError("cryptogram has bad padding") from None

    def _open_response(self, data: bytes, ssc: bytes) -> ResponseAPDU:
        objs, mac = _split_objects(data, allowed={TAG_CRYPTOGRAM, TAG_CRYPTOGRAM_ODD, TAG_STATUS})
        self._check_mac(ssc + data[: mac.offset], mac.value)
        status = tlv.find(objs, TAG_STATUS)
        if status is None or len(status.value) != 2:
            raise SecureMessagingError("protected response lacks a 2-byte DO99 status")
        crypt = _cryptogram(objs)
        plain = self._decrypt(crypt, ssc) if crypt is not None else b""
        # DO99 is authenticated; the plain trailer is not, so DO99 is the status word.
        return ResponseAPDU(plain, int.from_bytes(status.value, "big"))

    def _open_command(self, cmd: CommandAPDU, ssc: bytes) -> CommandAPDU:
        if cmd.cla & SM_CLA_BITS != SM_CLA_BITS:
            raise SecureMessagingError("command is not protected (CLA lacks the SM bits)")
        data = cmd.data
        objs, mac = _split_objects(data, allowed={TAG_CRYPTOGRAM, TAG_CRYPTOGRAM_ODD, TAG_LE})
        header = bytes([cmd.cla, cmd.ins, cmd.p1, cmd.p2])
        self._check_mac(ssc + pad(header, self._bs) + data[: mac.offset], mac.value)
        crypt = _cryptogram(objs)
        plain = self._decrypt(crypt, ssc) if crypt is not None else b""
        le_obj = tlv.find(objs, TAG_LE)
        le = _decode_le(le_obj.value) if le_obj is not None else None
        return CommandAPDU(cmd.cla & ~SM_CLA_BITS & 0xFF, cmd.ins, cmd.p1, cmd.p2, plain, le)


def _encode_le(le: int) -> bytes:
    """Le inside DO97: one byte (00 = 256) for short lengths, two (0000 = 65536) for extended."""
    if le <= 256:
        return bytes([le & 0xFF])
    return (le & 0xFFFF).to_bytes(2, "big")


def _decode_le(value: bytes) -> int:
    if len(value) == 1:
        return value[0] or 256
    if len(value) == 2:
        return int.from_bytes(value, "big") or 65536
    raise SecureMessagingError(f"DO97 of {len(value)} bytes is not a valid Le")


def _split_objects(data: bytes, allowed: set[int]) -> tuple[list[tlv.TLV], tlv.TLV]:
    """Parse SM data objects into (the others, DO8E); DO8E must come last, exactly once."""
    try:
        objs = tlv.parse_all(data)
    except MalformedTLV as e:
        raise SecureMessagingError(f"malformed secure messaging objects: {e}") from None
    if not objs or objs[-1].tag != TAG_MAC:
        raise SecureMessagingError("secure messaging objects lack a final DO8E MAC")
    mac = objs[-1]
    if len(mac.value) != MAC_LEN:
        raise SecureMessagingError("DO8E must hold an 8-byte MAC")
    body = objs[:-1]
    tags = [o.tag for o in body]
    if any(t not in allowed for t in tags) or len(tags) != len(set(tags)):
        raise SecureMessagingError(f"unexpected secure messaging objects {[hex(t) for t in tags]}")
    if TAG_CRYPTOGRAM in tags and TAG_CRYPTOGRAM_ODD in tags:
        raise SecureMessagingError("both DO85 and DO87 present")
    return body, mac


def _cryptogram(objs: list[tlv.TLV]) -> tlv.TLV | None:
    return tlv.find(objs, TAG_CRYPTOGRAM) or tlv.find(objs, TAG_CRYPTOGRAM_ODD)


class SecureChannel:
    """A Transport that protects every command and unprotects every answer.

    ``sm`` may be replaced (Chip Authentication restarts SM with new keys and SSC).
    """

    def __init__(self, inner: Transport, sm: SecureMessaging) -> None:
        self.inner = inner
        self.sm = sm
        # A plain attribute (not a property) so this class satisfies the Transport protocol.
        self.extended_length = inner.extended_length

    def transmit(self, command: CommandAPDU) -> ResponseAPDU:
        """Send one command under secure messaging and return the verified plain answer."""
        return self.sm.unprotect(self.inner.transmit(self.sm.protect(command)))
