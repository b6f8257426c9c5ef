"""DG15 (ICAO 9303-10 §4.7.15): the Active Authentication public key, tag 6F → SPKI.

RSA and EC keys become ``cryptography`` key objects. Chips often spell EC domain
parameters out explicitly; those are matched field by field (p, a, b, generator, order,
cofactor) against the ICAO standardized curves of ``readers.ec``, so a key is only ever
used on a standard curve that ``cryptography`` implements.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import core, keys
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ekyc.errors import MalformedData, UnsupportedData
from ekyc.icao import lds
from readers.ec import Curve, curve_by_name, curve_by_oid, find_standard

_FILE = "DG15"
_TAG = 0x6F
_PRIME_FIELD = "prime_field"
# asn1crypto reports broken DER through these (parsing is lazy, so on first access).
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError)


# The curves readers.ec knows (ICAO standardized domain parameters) that cryptography has too.
CRYPTOGRAPHY_CURVES: dict[str, ec.EllipticCurve] = {
    "secp192r1": ec.SECP192R1(),
    "secp224r1": ec.SECP224R1(),
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
    "brainpoolP256r1": ec.BrainpoolP256R1(),
    "brainpoolP384r1": ec.BrainpoolP384R1(),
    "brainpoolP512r1": ec.BrainpoolP512R1(),
}
_NAME_OF_CRYPTOGRAPHY = {c.name.lower(): n for n, c in CRYPTOGRAPHY_CURVES.items()}


@dataclass(frozen=True)
class Dg15:
    """DG15: the raw SubjectPublicKeyInfo and, where supported, the key object."""

    spki: bytes
    algorithm: str  # "rsa", "ec" or the key algorithm OID
    public_key: PublicKeyTypes | None
    curve_name: str | None = None
    explicit_parameters: bool = False

    def encode(self) -> bytes:
        """The DG15 bytes."""
        return lds.wrap(_TAG, self.spki)

    @classmethod
    def from_public_key(cls, key: PublicKeyTypes, explicit: bool = False) -> Dg15:
        """A DG15 for ``key``; ``explicit`` spells EC domain parameters out as many chips do."""
        if explicit:
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise ValueError("explicit parameters apply to EC keys only")
            return parse_dg15(lds.wrap(_TAG, explicit_ec_spki(key)))
        spki = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return parse_dg15(lds.wrap(_TAG, spki))


def explicit_ec_spki(key: ec.EllipticCurvePublicKey) -> bytes:
    """SubjectPublicKeyInfo DER for ``key`` with explicit (specified) domain parameters."""
    name = _NAME_OF_CRYPTOGRAPHY.get(key.curve.name.lower())
    if name is None:
        raise ValueError(f"curve {key.curve.name} has no ICAO standardized parameters")
    c = curve_by_name(name)
    size = c.size
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    domain = keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": _PRIME_FIELD, "parameters": core.Integer(c.p)},
            "curve": {"a": c.a.to_bytes(size, "big"), "b": c.b.to_bytes(size, "big")},
            "base": b"\x04" + c.gx.to_bytes(size, "big") + c.gy.to_bytes(size, "big"),
            "order": c.n,
            "cofactor": 1,
        }
    )
    info = keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters("specified", domain),
            },
            "public_key": point,
        }
    )
    return info.dump()


def parse_dg15(data: bytes) -> Dg15:
    """Parse DG15 into the raw SPKI and a ``cryptography`` public key."""
    outer = lds.unwrap(_FILE, data, _TAG)
    spki, base = outer.value, outer.offset + outer.header_len
    try:
        info = keys.PublicKeyInfo.load(spki, strict=True)
        algorithm = info["algorithm"]["algorithm"].native
        if algorithm == "ec":
            return _ec(spki, info)
        if algorithm == "rsa":
            info["public_key"].parsed.native  # noqa: B018 - forces the lazy parse
            key = serialization.load_der_public_key(spki)
            if not isinstance(key, rsa.RSAPublicKey):
                raise MalformedData(_FILE, base, "rsaEncryption SPKI does not hold an RSA key")
            return Dg15(spki, "rsa", key)
    except _ASN1_ERRORS as e:
        raise MalformedData(_FILE, base, f"SubjectPublicKeyInfo: {e}") from None
    except UnsupportedAlgorithm as e:
        raise UnsupportedData(f"DG15 key: {e}") from None
    return Dg15(spki, str(algorithm), None)


def _ec(spki: bytes, info: keys.PublicKeyInfo) -> Dg15:
    params = info["algorithm"]["parameters"]
    point = info["public_key"].native
    if not isinstance(params, keys.ECDomainParameters) or not isinstance(point, bytes):
        raise ValueError("EC key without domain parameters")
    if params.name == "named":
        curve = curve_by_oid(params.chosen.dotted)
        explicit = False
    elif params.name == "specified":
        curve = _match_specified(params.chosen)
        explicit = True
    else:
        raise UnsupportedData("implicitly-CA EC parameters are not supported")
    if curve is None or curve.name not in CRYPTOGRAPHY_CURVES:
        raise UnsupportedData("the DG15 key's EC curve is not supported")
    key = ec.EllipticCurvePublicKey.from_encoded_point(CRYPTOGRAPHY_CURVES[curve.name], point)
    return Dg15(spki, "ec", key, curve.name, explicit)


def _match_specified(domain: keys.SpecifiedECDomain) -> Curve | None:
    """The standard curve these explicit parameters spell out (all of p, a, b, G, n, h)."""
    if domain["field_id"]["field_type"].native != _PRIME_FIELD:
        raise UnsupportedData("EC keys over binary fields are not supported")
    p = core.Integer.load(domain["field_id"]["parameters"].dump()).native
    a = int.from_bytes(domain["curve"]["a"].native, "big")
    b = int.from_bytes(domain["curve"]["b"].native, "big")
    base = domain["base"].native
    cofactor = domain["cofactor"].native
    size = (p.bit_length() + 7) // 8
    if len(base) != 1 + 2 * size or base[0] != 4:
        raise UnsupportedData("the explicit base point is not an uncompressed point")
    gx, gy = int.from_bytes(base[1 : 1 + size], "big"), int.from_bytes(base[1 + size :], "big")
    curve = find_standard(p, a, b, gx, gy, domain["order"].native)
    if curve is None or cofactor not in (None, curve.h):
        raise UnsupportedData("explicit EC parameters match no supported curve")
    return curve
