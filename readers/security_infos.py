"""SecurityInfos (ICAO 9303-11 §9.2): the content of EF.CardAccess and of DG14.

Decoded into small dataclasses (PACEInfo, ChipAuthenticationInfo,
ChipAuthenticationPublicKeyInfo, ActiveAuthenticationInfo); infos of other protocols
(Terminal Authentication, domain-parameter infos, …) are kept as opaque DER so an
encode after a parse loses nothing the reader needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any as TypingAny

from asn1crypto.core import (
    Any,
    BitString,
    Integer,
    ObjectIdentifier,
    Sequence,
    SetOf,
)
from asn1crypto.keys import SpecifiedECDomain

from readers import tlv
from readers.crypto import Algorithm
from readers.ec import Curve, curve_by_id, curve_by_oid, find_standard
from readers.errors import MalformedTLV, ProtocolError

DG14_TAG = 0x6E

_BSI = "0.4.0.127.0.7"
ID_PK_DH = f"{_BSI}.2.2.1.1"
ID_PK_ECDH = f"{_BSI}.2.2.1.2"
ID_CA = f"{_BSI}.2.2.3"
ID_PACE = f"{_BSI}.2.2.4"
ID_AA = "2.23.136.1.1.5"
STANDARDIZED_DOMAIN_PARAMETERS = f"{_BSI}.1.2"
ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
PRIME_FIELD = "1.2.840.10045.1.1"

_CIPHERS = {1: Algorithm.TDES, 2: Algorithm.AES128, 3: Algorithm.AES192, 4: Algorithm.AES256}
_PACE_KINDS = {
    1: ("DH", "GM"),
    2: ("ECDH", "GM"),
    3: ("DH", "IM"),
    4: ("ECDH", "IM"),
    6: ("ECDH", "CAM"),
}
_CA_KINDS = {1: "DH", 2: "ECDH"}

# The PACE protocol OIDs the terminal in readers.pace implements.
PACE_ECDH_GM_3DES = f"{ID_PACE}.2.1"
PACE_ECDH_GM_AES_128 = f"{ID_PACE}.2.2"
PACE_ECDH_GM_AES_192 = f"{ID_PACE}.2.3"
PACE_ECDH_GM_AES_256 = f"{ID_PACE}.2.4"
CA_ECDH_3DES = f"{ID_CA}.2.1"
CA_ECDH_AES_128 = f"{ID_CA}.2.2"
CA_ECDH_AES_192 = f"{ID_CA}.2.3"
CA_ECDH_AES_256 = f"{ID_CA}.2.4"


class MalformedSecurityInfos(ProtocolError):
    """EF.CardAccess or DG14 does not decode as SecurityInfos."""

    code = "malformed_security_infos"


# -- ASN.1 declarations ---------------------------------------------------------------------


class _SecurityInfo(Sequence):
    _fields = [
        ("protocol", ObjectIdentifier),
        ("required_data", Any),
        ("optional_data", Any, {"optional": True}),
    ]


class _SecurityInfos(SetOf):
    _child_spec = _SecurityInfo


class _PaceInfo(Sequence):
    _fields = [
        ("protocol", ObjectIdentifier),
        ("version", Integer),
        ("parameter_id", Integer, {"optional": True}),
    ]


class _ChipAuthInfo(Sequence):
    _fields = [
        ("protocol", ObjectIdentifier),
        ("version", Integer),
        ("key_id", Integer, {"optional": True}),
    ]


class _AlgorithmIdentifier(Sequence):
    _fields = [("algorithm", ObjectIdentifier), ("parameters", Any, {"optional": True})]


class _StandardizedParameters(Sequence):
    _fields = [("algorithm", ObjectIdentifier), ("parameter_id", Integer)]


class _SubjectPublicKeyInfo(Sequence):
    _fields = [("algorithm", _AlgorithmIdentifier), ("public_key", BitString)]


class _ChipAuthPublicKeyInfo(Sequence):
    _fields = [
        ("protocol", ObjectIdentifier),
        ("public_key", _SubjectPublicKeyInfo),
        ("key_id", Integer, {"optional": True}),
    ]


class _ActiveAuthInfo(Sequence):
    _fields = [
        ("protocol", ObjectIdentifier),
        ("version", Integer),
        ("signature_algorithm", ObjectIdentifier, {"optional": True}),
    ]


# -- decoded infos --------------------------------------------------------------------------


def _suffix(protocol: str, prefix: str) -> tuple[int, ...] | None:
    if not protocol.startswith(prefix + "."):
        return None
    return tuple(int(x) for x in protocol[len(prefix) + 1 :].split("."))


@dataclass(frozen=True)
class PaceInfo:
    """PACEInfo: which PACE variant the chip supports and on which domain parameters."""

    protocol: str
    version: int = 2
    parameter_id: int | None = None

    @property
    def key_agreement(self) -> str:
        """'ECDH' or 'DH'."""
        return _PACE_KINDS[_pace_arcs(self.protocol)[0]][0]

    @property
    def mapping(self) -> str:
        """'GM' (generic), 'IM' (integrated) or 'CAM' (chip authentication mapping)."""
        return _PACE_KINDS[_pace_arcs(self.protocol)[0]][1]

    @property
    def cipher(self) -> Algorithm:
        return _CIPHERS[_pace_arcs(self.protocol)[1]]

    @property
    def oid_bytes(self) -> bytes:
        """The OID's content octets, as MSE:Set AT tag 80 and the PACE tokens carry it."""
        return ObjectIdentifier(self.protocol).contents


def oid_from_bytes(contents: bytes) -> str:
    """The dotted form of an OID from its content octets (as MSE:Set AT tag 80 carries it)."""
    return ObjectIdentifier.load(tlv.encode(0x06, contents), strict=True).dotted


def _pace_arcs(protocol: str) -> tuple[int, int]:
    arcs = _suffix(protocol, ID_PACE)
    if arcs is None or len(arcs) != 2 or arcs[0] not in _PACE_KINDS or arcs[1] not in _CIPHERS:
        raise ValueError(f"{protocol} is not a PACE protocol OID")
    return arcs[0], arcs[1]


@dataclass(frozen=True)
class ChipAuthInfo:
    """ChipAuthenticationInfo: CA protocol (key agreement + cipher), version and key id."""

    protocol: str
    version: int = 1
    key_id: int | None = None

    @property
    def key_agreement(self) -> str:
        return _CA_KINDS[_ca_arcs(self.protocol)[0]]

    @property
    def cipher(self) -> Algorithm:
        return _CIPHERS[_ca_arcs(self.protocol)[1]]

    @property
    def oid_bytes(self) -> bytes:
        return ObjectIdentifier(self.protocol).contents


def _ca_arcs(protocol: str) -> tuple[int, int]:
    arcs = _suffix(protocol, ID_CA)
    if arcs is None or len(arcs) != 2 or arcs[0] not in _CA_KINDS or arcs[1] not in _CIPHERS:
        raise ValueError(f"{protocol} is not a Chip Authentication protocol OID")
    return arcs[0], arcs[1]


@dataclass(frozen=True)
class ChipAuthPublicKey:
    """ChipAuthenticationPublicKeyInfo: the chip's static key-agreement public key.

    ``public_key`` is the content of the SubjectPublicKeyInfo bit string (for ECDH the
    uncompressed point); ``parameters`` the DER of the algorithm parameters as found;
    ``curve`` the decoded EC domain parameters (None for DH or unrecognised forms).
    """

    protocol: str
    public_key: bytes
    parameters: bytes | None
    curve: Curve | None = None
    key_id: int | None = None

    @classmethod
    def ec(
        cls, curve: Curve, point: bytes, key_id: int | None = None, *, explicit: bool = True
    ) -> ChipAuthPublicKey:
        """An id-PK-ECDH key; explicit ECParameters (as chips write them) or a standardized id."""
        if explicit or curve.param_id is None:
            params = _explicit_parameters(curve).dump()
        else:
            params = _StandardizedParameters(
                {"algorithm": STANDARDIZED_DOMAIN_PARAMETERS, "parameter_id": curve.param_id}
            ).dump()
        return cls(ID_PK_ECDH, point, params, curve, key_id)


@dataclass(frozen=True)
class ActiveAuthInfo:
    """ActiveAuthenticationInfo: AA version and, for ECDSA, the signature algorithm OID."""

    protocol: str = ID_AA
    version: int = 1
    signature_algorithm: str | None = None


@dataclass(frozen=True)
class OtherInfo:
    """A SecurityInfo of a protocol not decoded here, kept as its DER."""

    protocol: str
    der: bytes


Info = PaceInfo | ChipAuthInfo | ChipAuthPublicKey | ActiveAuthInfo | OtherInfo


@dataclass
class SecurityInfos:
    """All SecurityInfo entries of EF.CardAccess or DG14, sorted by kind."""

    pace: list[PaceInfo] = field(default_factory=list)
    chip_auth: list[ChipAuthInfo] = field(default_factory=list)
    chip_auth_keys: list[ChipAuthPublicKey] = field(default_factory=list)
    active_auth: list[ActiveAuthInfo] = field(default_factory=list)
    other: list[OtherInfo] = field(default_factory=list)


# -- EC domain parameters -------------------------------------------------------------------


def _explicit_parameters(curve: Curve) -> SpecifiedECDomain:
    size = curve.size
    return SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": Integer(curve.p)},
            "curve": {"a": curve.a.to_bytes(size, "big"), "b": curve.b.to_bytes(size, "big")},
            "base": b"\x04" + curve.gx.to_bytes(size, "big") + curve.gy.to_bytes(size, "big"),
            "order": curve.n,
            "cofactor": curve.h,
        }
    )


def _decode_explicit(der: bytes) -> Curve:
    dom = SpecifiedECDomain.load(der, strict=True)
    if dom["field_id"]["field_type"].dotted != PRIME_FIELD:
        raise MalformedSecurityInfos("only prime-field curves are supported")
    p = int(dom["field_id"]["parameters"].native)
    a = int.from_bytes(dom["curve"]["a"].native, "big")
    b = int.from_bytes(dom["curve"]["b"].native, "big")
    base = dom["base"].native
    size = (p.bit_length() + 7) // 8
    if len(base) != 1 + 2 * size or base[0] != 0x04:
        raise MalformedSecurityInfos("the base point is not an uncompressed point")
    gx, gy = int.from_bytes(base[1 : 1 + size], "big"), int.from_bytes(base[1 + size :], "big")
    n = int(dom["order"].native)
    cofactor = dom["cofactor"].native
    known = find_standard(p, a, b, gx, gy, n)
    if known is not None:
        return known
    curve = Curve("explicit", p, a, b, gx, gy, n, int(cofactor) if cofactor else 1)
    if not curve.is_on_curve(curve.g):
        raise MalformedSecurityInfos("the explicit base point is not on the curve")
    return curve


def _decode_curve(params: bytes | None) -> Curve | None:
    """EC domain parameters: explicit ECParameters, a named-curve OID or a standardized id."""
    if not params:
        return None
    if params[0] == 0x06:
        return curve_by_oid(ObjectIdentifier.load(params, strict=True).dotted)
    if params[0] != 0x30:
        return None
    first = tlv.parse_one(tlv.expect(params, 0x30).value)
    if first.tag == 0x06:
        std = _StandardizedParameters.load(params, strict=True)
        if std["algorithm"].dotted != STANDARDIZED_DOMAIN_PARAMETERS:
            return None
        return curve_by_id(std["parameter_id"].native)
    return _decode_explicit(params)


# -- parse / encode -------------------------------------------------------------------------


def _decode_info(item: _SecurityInfo) -> Info:
    protocol = item["protocol"].dotted
    der = item.dump()
    pace = _suffix(protocol, ID_PACE)
    if pace is not None and len(pace) == 2:
        v = _PaceInfo.load(der, strict=True).native
        return PaceInfo(protocol, v["version"], v["parameter_id"])
    ca = _suffix(protocol, ID_CA)
    if ca is not None and len(ca) == 2:
        v = _ChipAuthInfo.load(der, strict=True).native
        return ChipAuthInfo(protocol, v["version"], v["key_id"])
    if protocol in (ID_PK_ECDH, ID_PK_DH):
        parsed = _ChipAuthPublicKeyInfo.load(der, strict=True)
        spki = parsed["public_key"]
        params = spki["algorithm"]["parameters"]
        params_der = params.dump() or None  # an absent optional dumps as b""
        curve = _decode_curve(params_der) if protocol == ID_PK_ECDH else None
        bits = spki["public_key"]
        if bits.unused_bits:
            raise MalformedSecurityInfos("a public key bit string has unused bits")
        point = bytes(bits.contents[1:])
        if curve is not None:
            curve.decode_point(point)
        return ChipAuthPublicKey(protocol, point, params_der, curve, parsed["key_id"].native)
    if protocol == ID_AA:
        v = _ActiveAuthInfo.load(der, strict=True)
        sig = v["signature_algorithm"]
        return ActiveAuthInfo(protocol, v["version"].native, sig.dotted if sig.native else None)
    return OtherInfo(protocol, der)


def parse_security_infos(data: bytes) -> SecurityInfos:
    """Decode EF.CardAccess (a SET) or DG14 (the SET inside tag 6E) into SecurityInfos."""
    out = SecurityInfos()
    lists: dict[type, list[TypingAny]] = {
        PaceInfo: out.pace,
        ChipAuthInfo: out.chip_auth,
        ChipAuthPublicKey: out.chip_auth_keys,
        ActiveAuthInfo: out.active_auth,
        OtherInfo: out.other,
    }
    try:
        if data[:1] == bytes([DG14_TAG]):
            data = tlv.expect(data, DG14_TAG).value
        tlv.expect(data, 0x31)
        for item in _SecurityInfos.load(data, strict=True):
            info = _decode_info(item)
            lists[type(info)].append(info)
    except MalformedSecurityInfos:
        raise
    except MalformedTLV as e:
        raise MalformedSecurityInfos(f"bad TLV in SecurityInfos: {e}") from e
    except ProtocolError as e:  # an invalid point or unsupported parameter id
        raise MalformedSecurityInfos(str(e)) from e
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise MalformedSecurityInfos(f"SecurityInfos do not decode: {e}") from e
    return out


def _encode_info(info: Info) -> bytes:
    if isinstance(info, PaceInfo):
        v = {"protocol": info.protocol, "version": info.version}
        if info.parameter_id is not None:
            v["parameter_id"] = info.parameter_id
        return _PaceInfo(v).dump()
    if isinstance(info, ChipAuthInfo):
        v = {"protocol": info.protocol, "version": info.version}
        if info.key_id is not None:
            v["key_id"] = info.key_id
        return _ChipAuthInfo(v).dump()
    if isinstance(info, ChipAuthPublicKey):
        alg: dict[str, TypingAny] = {"algorithm": info.protocol}
        if info.parameters is not None:
            alg["parameters"] = Any.load(info.parameters)
        bits = BitString.load(tlv.encode(0x03, b"\x00" + info.public_key))  # no unused bits
        spki = _SubjectPublicKeyInfo({"algorithm": alg, "public_key": bits})
        v = {"protocol": info.protocol, "public_key": spki}
        if info.key_id is not None:
            v["key_id"] = info.key_id
        return _ChipAuthPublicKeyInfo(v).dump()
    if isinstance(info, ActiveAuthInfo):
        v = {"protocol": info.protocol, "version": info.version}
        if info.signature_algorithm is not None:
            v["signature_algorithm"] = info.signature_algorithm
        return _ActiveAuthInfo(v).dump()
    if isinstance(info, OtherInfo):
        return info.der
    raise TypeError(f"not a SecurityInfo: {info!r}")


def encode_security_infos(infos: SecurityInfos, *, dg14: bool = False) -> bytes:
    """DER of the SET OF SecurityInfo (wrapped in tag 6E when ``dg14``)."""
    items = [
        _encode_info(i)
        for group in (infos.pace, infos.chip_auth, infos.chip_auth_keys, infos.active_auth)
        for i in group
    ] + [o.der for o in infos.other]
    body = tlv.encode(0x31, b"".join(sorted(items)))  # DER orders SET OF by encoding
    return tlv.encode(DG14_TAG, body) if dg14 else body
