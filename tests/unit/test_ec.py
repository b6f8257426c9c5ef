"""Elliptic-curve arithmetic and the ICAO standardized curves, checked against cryptography."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.asymmetric import ec as cec
from hypothesis import given, settings
from hypothesis import strategies as st

from readers.ec import STANDARD_CURVES, Curve, InvalidPoint, Point, curve_by_id, curve_by_oid
from readers.errors import ProtocolError

CRYPTOGRAPHY_CURVES = {
    8: cec.SECP192R1(),
    10: cec.SECP224R1(),
    12: cec.SECP256R1(),
    13: cec.BrainpoolP256R1(),
    15: cec.SECP384R1(),
    16: cec.BrainpoolP384R1(),
    17: cec.BrainpoolP512R1(),
    18: cec.SECP521R1(),
}
EXPECTED = {
    8: ("secp192r1", 24),
    9: ("brainpoolP192r1", 24),
    10: ("secp224r1", 28),
    11: ("brainpoolP224r1", 28),
    12: ("secp256r1", 32),
    13: ("brainpoolP256r1", 32),
    14: ("brainpoolP320r1", 40),
    15: ("secp384r1", 48),
    16: ("brainpoolP384r1", 48),
    17: ("brainpoolP512r1", 64),
    18: ("secp521r1", 66),
}


def test_icao_table_ids_names_sizes() -> None:
    assert {i: (c.name, c.size) for i, c in STANDARD_CURVES.items()} == EXPECTED
    assert curve_by_oid("1.3.36.3.3.2.8.1.1.7") is curve_by_id(13)


@pytest.mark.parametrize("param_id", sorted(EXPECTED))
def test_generator_on_curve_and_of_order_n(param_id: int) -> None:
    c = curve_by_id(param_id)
    assert c.is_on_curve(c.g)
    assert c.mul(c.n, c.g) is None  # n·G = O, computed without reducing n
    assert c.mul(c.n - 1, c.g) == c.negate(c.g)
    assert c.mul(c.n + 1, c.g) == c.g
    assert c.h == 1 and pow(2, c.p - 1, c.p) == 1


@pytest.mark.parametrize("param_id", sorted(CRYPTOGRAPHY_CURVES))
def test_scalar_mult_matches_cryptography(param_id: int) -> None:
    c = curve_by_id(param_id)
    for k in (1, 2, 3, 0xDEADBEEF, c.n - 2, int.from_bytes(b"\x5a" * c.size, "big") % c.n):
        pub = cec.derive_private_key(k, CRYPTOGRAPHY_CURVES[param_id]).public_key()
        nums = pub.public_numbers()
        assert c.mul_g(k) == (nums.x, nums.y)


@pytest.mark.parametrize("param_id", [12, 13, 18])
def test_ecdh_matches_cryptography(param_id: int) -> None:
    c = curve_by_id(param_id)
    a = cec.derive_private_key(123456789, CRYPTOGRAPHY_CURVES[param_id])
    b_scalar = 987654321987654321
    b_pub = cec.derive_private_key(b_scalar, CRYPTOGRAPHY_CURVES[param_id]).public_key()
    expected = a.exchange(cec.ECDH(), b_pub)
    assert c.encode_x(c.mul(123456789, c.mul_g(b_scalar))) == expected


def test_addition_special_cases() -> None:
    c = curve_by_id(12)
    p = c.mul_g(7)
    assert c.add(p, None) == p and c.add(None, p) == p
    assert c.add(p, c.negate(p)) is None
    assert c.add(p, p) == c.mul_g(14)
    assert c.add(c.mul_g(3), c.mul_g(4)) == p
    assert c.mul(0, p) is None and c.mul(5, None) is None


def _point_with_short_x(c: Curve) -> tuple[int, int]:
    pt = c.g
    while pt[0] >> (8 * (c.size - 1)):  # walk G, 2G, … until x has a leading zero byte
        nxt = c.add(pt, c.g)
        assert nxt is not None
        pt = nxt
    return pt


@pytest.mark.parametrize("param_id", [12, 18])
def test_encoding_left_pads_coordinates(param_id: int) -> None:
    c = curve_by_id(param_id)
    pt = _point_with_short_x(c)
    enc = c.encode_point(pt)
    assert len(enc) == 1 + 2 * c.size and enc[1] == 0
    assert c.decode_point(enc) == pt
    assert len(c.encode_x(pt)) == c.size and c.encode_x(pt)[0] == 0


def test_decode_rejects_bad_points() -> None:
    c = curve_by_id(12)
    good = c.encode_point(c.mul_g(5))
    bad_y = good[:-1] + bytes([good[-1] ^ 1])
    too_big = b"\x04" + (c.p + 1).to_bytes(32, "big") + good[33:]
    for data in (good[:-1], b"\x02" + good[1:], bad_y, too_big, b""):
        with pytest.raises(InvalidPoint):
            c.decode_point(data)
    with pytest.raises(InvalidPoint):
        c.encode_point(None)
    with pytest.raises(ProtocolError):  # InvalidPoint is a ProtocolError
        c.with_generator(None)
    with pytest.raises(ProtocolError):
        curve_by_id(2)  # a DH group id


def test_random_scalar_rejects_out_of_range() -> None:
    c = curve_by_id(13)
    chunks = [b"\xff" * 32, b"\x00" * 32, (5).to_bytes(32, "big")]
    assert c.random_scalar(lambda n: chunks.pop(0)) == 5
    c521 = curve_by_id(18)
    # 66 bytes drawn, only the low 521 bits kept: 0xFE's high bits are masked away
    assert c521.random_scalar(lambda n: b"\xfe" + bytes(n - 2) + b"\x07") == 7


def test_mapped_generator_keeps_group() -> None:
    c = curve_by_id(13)
    g2 = c.with_generator(c.mul_g(11))
    assert g2.mul_g(3) == c.mul_g(33) and g2.mul(g2.n, g2.g) is None


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1), st.integers(min_value=1))
def test_scalar_mult_is_linear(k1: int, k2: int) -> None:
    c = curve_by_id(12)
    k1, k2 = k1 % c.n or 1, k2 % c.n or 1
    assert c.mul(k1, c.mul_g(k2)) == c.mul(k2, c.mul_g(k1))
    assert c.add(c.mul_g(k1), c.mul_g(k2)) == c.mul_g((k1 + k2) % c.n)


# -- the fast multiplication against a textbook affine double-and-add ------------------------

REFERENCE_CURVES = [12, 13, 15, 18]  # P-256, brainpoolP256r1, P-384, P-521


def _ref_add(c: Curve, p1: Point, p2: Point) -> Point:
    """Affine chord-and-tangent addition, independent of readers.ec's Jacobian code."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2), p = p1, p2, c.p
    if x1 == x2 and (y1 + y2) % p == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + c.a) * pow(2 * y1, -1, p) % p
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, p) % p
    x3 = (lam * lam - x1 - x2) % p
    return (x3, (lam * (x1 - x3) - y1) % p)


def _ref_mul(c: Curve, k: int, pt: Point) -> Point:
    """k·P by left-to-right double-and-add on affine points (k ≥ 0, used unreduced)."""
    acc: Point = None
    for bit in bin(k)[2:]:
        acc = _ref_add(c, acc, acc)
        if bit == "1":
            acc = _ref_add(c, acc, pt)
    return acc


def _edge_scalars(c: Curve) -> list[int]:
    bits = c.n.bit_length()
    # window boundaries (15..33), n ± small, the longest unreduced scalar (its top signed
    # window carries), and random ones
    rnd = random.Random(c.name)
    return [1, 2, 3, 15, 16, 17, 31, 32, 33, c.n - 2, c.n - 1, (1 << bits) - 1] + [
        rnd.randrange(1, c.n) for _ in range(3)
    ]


@pytest.mark.parametrize("param_id", REFERENCE_CURVES)
def test_mul_and_mul_g_match_reference(param_id: int) -> None:
    c = curve_by_id(param_id)
    pt = _ref_mul(c, random.Random(param_id).randrange(2, c.n), c.g)
    assert pt is not None and c.is_on_curve(pt)
    for k in _edge_scalars(c):
        want_g = _ref_mul(c, k, c.g)
        assert c.mul_g(k) == want_g, k  # the cached fixed-base table
        assert c.mul(k, c.g) == want_g, k  # the variable-base wNAF
        assert c.mul(k, pt) == _ref_mul(c, k, pt), k


@pytest.mark.parametrize("param_id", sorted(EXPECTED))
def test_every_curve_fixed_and_variable_base_agree(param_id: int) -> None:
    c = curve_by_id(param_id)
    mapped = c.with_generator(c.mul_g(5))  # no param_id: mul_g takes the wNAF path
    for k in (7, 0xC0FFEE << (c.n.bit_length() - 30), c.n - 3):
        assert c.mul_g(k) == c.mul(k, c.g) == _ref_mul(c, k, c.g)
        assert mapped.mul_g(k) == c.mul_g(5 * k % c.n)


@pytest.mark.parametrize("param_id", REFERENCE_CURVES)
def test_scalar_edge_cases(param_id: int) -> None:
    c = curve_by_id(param_id)
    g, minus_g = c.g, c.negate(c.g)
    for mul in (c.mul_g, lambda k: c.mul(k, g)):
        assert mul(0) is None and mul(c.n) is None and mul(2 * c.n) is None
        assert mul(1) == g and mul(c.n + 1) == g and mul(c.n - 1) == minus_g
        assert mul(-1) == minus_g and mul(-3) == c.negate(mul(3))
        long_k = (c.n << 8) + 12345  # longer than n: reduced mod n
        assert mul(long_k) == mul(12345)
    assert c.mul(9, None) is None and c.mul(0, None) is None
    p7 = c.mul_g(7)
    assert c.add(p7, p7) == c.mul_g(14) and c.add(p7, c.negate(p7)) is None
    assert c.add(None, None) is None and c.add(c.mul_g(3), c.mul_g(c.n - 3)) is None


@pytest.mark.parametrize("param_id", REFERENCE_CURVES)
def test_wnaf_last_addition_doubles(param_id: int) -> None:
    # k = n + 2d with d ≡ -n (mod 32): before wNAF's last addition of d·P the accumulator
    # holds (n + d)·P = d·P, so the mixed addition must turn into a doubling
    c = curve_by_id(param_id)
    d = -c.n % 32
    d = d - 32 if d >= 16 else d
    k = c.n + 2 * d
    assert k.bit_length() == c.n.bit_length()  # used unreduced
    assert c.mul(k, c.g) == _ref_mul(c, 2 * d % c.n, c.g) == c.mul_g(k)


def test_points_of_tiny_order_off_the_curve() -> None:
    # mul does not validate its point: on the curve y² = x³ + ax + b' of a point that is
    # off the real one, small orders appear; wNAF's odd multiples then hit O (order 3)
    # and the plain double-and-add fallback must still give the right answer
    c = curve_by_id(12)
    p = c.p
    t = 5
    x = 3 * t * t % p
    p3 = (x, (3 * x * x + c.a) * pow(6 * t, -1, p) % p)  # order 3 on its curve
    assert c.mul(1, p3) == p3 and c.mul(2, p3) == c.negate(p3) and c.mul(3, p3) is None
    assert c.mul(4, p3) == p3 and c.mul(3 * 1000003, p3) is None
    p2 = (12345, 0)  # order 2 on its curve
    assert c.mul(5, p2) == p2 and c.mul(6, p2) is None


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=(1 << 256) - 1))
def test_random_scalars_match_reference_p256(k: int) -> None:
    c = curve_by_id(12)
    want = _ref_mul(c, k % c.n, c.g)
    assert c.mul_g(k) == want and c.mul(k, c.g) == want
