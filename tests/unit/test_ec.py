"""Elliptic-curve arithmetic and the ICAO standardized curves, checked against cryptography."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec as cec
from hypothesis import given, settings
from hypothesis import strategies as st

from readers.ec import STANDARD_CURVES, Curve, InvalidPoint, curve_by_id, curve_by_oid
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
