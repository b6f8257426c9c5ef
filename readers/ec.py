"""Elliptic-curve arithmetic over prime fields, as PACE Generic Mapping needs it.

``cryptography`` does ECDH only on its own named curves with their fixed generator;
PACE-GM computes a fresh generator G' = s·G + H and then agrees a key on it, so the
points are done here and checked against ``cryptography`` in the tests. Also the ICAO
9303-11 standardized domain parameters.

Scalar multiplication is a width-5 wNAF in Jacobian coordinates with mixed
Jacobian+affine additions (the odd multiples of P made affine by one batched inversion);
k·G on a standardized curve uses a fixed-base table of signed 5-bit windows, built once
per curve on first use, so it needs no doublings at all.

Side channels: both methods skip zero digits, so their running time depends on the
scalar, and CPython integers were never constant-time anyway. That is accepted because
every secret scalar here (PACE mapping and ephemeral keys, Chip Authentication keys of
the reader and of the virtual card) is ephemeral, used for one or two multiplications in
a single session, which leaves a timing observer one noisy trace per key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from readers.errors import ProtocolError

#: an affine point (x, y); ``None`` is the point at infinity
Point = tuple[int, int] | None
_Jacobian = tuple[int, int, int]  # (X, Y, Z) with x = X/Z², y = Y/Z³; Z = 0 is infinity
_INFINITY: _Jacobian = (1, 1, 0)
_Affine = tuple[int, int]

_WNAF_WIDTH = 5  # variable base: 8 odd multiples, ~n_bits/6 additions
_COMB_WIDTH = 5  # fixed base: ceil((bits+1)/5) windows of 16 points, one addition each
#: fixed-base tables of the standardized curves' generators, keyed by curve, built lazily
_G_TABLES: dict[Curve, list[list[_Affine]] | None] = {}


class InvalidPoint(ProtocolError):
    """An encoded point is malformed, off the curve, or the point at infinity."""

    code = "invalid_point"


@dataclass(frozen=True, repr=False)
class Curve:
    """Short Weierstrass curve y² = x³ + ax + b over GF(p) with base point G of order n."""

    name: str
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int
    h: int
    param_id: int | None = None  # ICAO 9303-11 standardized domain parameter id
    oid: str | None = None  # named-curve object identifier

    def __repr__(self) -> str:
        return f"Curve({self.name!r}, param_id={self.param_id})"

    @property
    def size(self) -> int:
        """Byte length of a field element (coordinates are left-padded to it)."""
        return (self.p.bit_length() + 7) // 8

    @property
    def g(self) -> tuple[int, int]:
        return (self.gx, self.gy)

    def with_generator(self, g: Point) -> Curve:
        """The same curve with another base point (the mapped generator G' of PACE-GM)."""
        if g is None:
            raise InvalidPoint("the generator cannot be the point at infinity")
        return Curve(self.name, self.p, self.a, self.b, g[0], g[1], self.n, self.h)

    # -- point arithmetic -------------------------------------------------------------------

    def is_on_curve(self, pt: Point) -> bool:
        """Whether ``pt`` is the point at infinity or satisfies the curve equation."""
        if pt is None:
            return True
        x, y = pt
        p = self.p
        if not (0 <= x < p and 0 <= y < p):
            return False
        return (y * y - (x * x * x + self.a * x + self.b)) % p == 0

    def _to_jacobian(self, pt: Point) -> _Jacobian:
        return _INFINITY if pt is None else (pt[0] % self.p, pt[1] % self.p, 1)

    def _to_affine(self, q: _Jacobian) -> Point:
        x, y, z = q
        if z % self.p == 0:
            return None
        p = self.p
        zi = pow(z, -1, p)
        zi2 = zi * zi % p
        return (x * zi2 % p, y * zi2 * zi % p)

    def add(self, p1: Point, p2: Point) -> Point:
        """P1 + P2."""
        q = _add(self._to_jacobian(p1), self._to_jacobian(p2), self.p, self.a)
        return self._to_affine(q)

    def negate(self, pt: Point) -> Point:
        """-P."""
        return None if pt is None else (pt[0], (-pt[1]) % self.p)

    def _scalar(self, k: int) -> int:
        # Scalars of up to n's bit length are used as they are (so n·P = O is really
        # computed, a subgroup check); longer or negative ones are reduced mod n.
        return k % self.n if k < 0 or k.bit_length() > self.n.bit_length() else k

    def mul(self, k: int, pt: Point) -> Point:
        """k·P (width-5 wNAF; the running time depends on k, see the module docstring)."""
        k = self._scalar(k)
        if k == 0 or pt is None:
            return None
        return self._to_affine(_wnaf_mul(k, pt[0] % self.p, pt[1] % self.p, self.p, self.a))

    def mul_g(self, k: int) -> Point:
        """k·G, from a table cached per standardized curve (built on the first call)."""
        if self.param_id is None:  # a mapped generator is used once: no table pays off
            return self.mul(k, self.g)
        k = self._scalar(k)
        if k == 0:
            return None
        if self not in _G_TABLES:
            _G_TABLES[self] = _fixed_base_table(self)
        table = _G_TABLES[self]
        if table is None:
            return self.mul(k, self.g)
        return self._to_affine(_fixed_base_mul(k, table, self.p, self.a))

    # -- encoding ---------------------------------------------------------------------------

    def encode_point(self, pt: Point) -> bytes:
        """SEC 1 uncompressed encoding 04‖x‖y, coordinates left-padded to the field size."""
        if pt is None:
            raise InvalidPoint("the point at infinity has no uncompressed encoding")
        return b"\x04" + pt[0].to_bytes(self.size, "big") + pt[1].to_bytes(self.size, "big")

    def decode_point(self, data: bytes) -> tuple[int, int]:
        """Parse an uncompressed SEC 1 point and check that it lies on the curve."""
        if len(data) != 1 + 2 * self.size or data[0] != 0x04:
            raise InvalidPoint(
                f"expected a {1 + 2 * self.size}-byte uncompressed point, got {len(data)} bytes"
            )
        pt = (
            int.from_bytes(data[1 : 1 + self.size], "big"),
            int.from_bytes(data[1 + self.size :], "big"),
        )
        if not self.is_on_curve(pt):
            raise InvalidPoint(f"the point is not on {self.name}")
        return pt

    def encode_x(self, pt: Point) -> bytes:
        """The x-coordinate left-padded to the field size (the ECDH shared secret)."""
        if pt is None:
            raise InvalidPoint("the shared point is the point at infinity")
        return pt[0].to_bytes(self.size, "big")

    def random_scalar(self, rng: Callable[[int], bytes]) -> int:
        """A uniform private key in [1, n-1] by rejection sampling over ``rng`` bytes."""
        bits = self.n.bit_length()
        nbytes = (bits + 7) // 8
        for _ in range(1000):
            k = int.from_bytes(rng(nbytes), "big") & ((1 << bits) - 1)
            if 0 < k < self.n:
                return k
        raise ValueError("the random source never produced a usable scalar")


# -- Jacobian arithmetic (module functions: the hot loops pass p and a as locals) -----------


def _double(q: _Jacobian, p: int, a: int) -> _Jacobian:
    """2·Q; the point at infinity and points with y = 0 double to infinity."""
    x, y, z = q
    if z == 0 or y == 0:
        return _INFINITY
    yy = y * y % p
    s = 4 * x * yy % p
    zz = z * z % p
    m = (3 * x * x + a * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    y3 = (m * (s - x3) - 8 * yy * yy) % p
    return (x3, y3, 2 * y * z % p)


def _add(q1: _Jacobian, q2: _Jacobian, p: int, a: int) -> _Jacobian:
    """Q1 + Q2 for any inputs, including Q + Q, Q + (-Q) and the point at infinity."""
    x1, y1, z1 = q1
    x2, y2, z2 = q2
    if z1 == 0:
        return q2
    if z2 == 0:
        return q1
    z1z1 = z1 * z1 % p
    z2z2 = z2 * z2 % p
    u1 = x1 * z2z2 % p
    s1 = y1 * z2 * z2z2 % p
    hh = (x2 * z1z1 - u1) % p
    r = (y2 * z1 * z1z1 - s1) % p
    if hh == 0:
        # same x: either the same point (double) or opposite points (infinity)
        return _double(q1, p, a) if r == 0 else _INFINITY
    h2 = hh * hh % p
    h3 = hh * h2 % p
    v = u1 * h2 % p
    x3 = (r * r - h3 - 2 * v) % p
    y3 = (r * (v - x3) - s1 * h3) % p
    return (x3, y3, hh * z1 * z2 % p)


def _add_affine(q: _Jacobian, ax: int, ay: int, p: int, a: int) -> _Jacobian:
    """Q + (ax, ay) with the second point affine (reduced), for any Q."""
    x, y, z = q
    if z == 0:
        return (ax, ay, 1)
    zz = z * z % p
    h = ax * zz % p - x  # in (-p, p): zero exactly when the x-coordinates agree
    r = ay * z * zz % p - y
    if h == 0:
        return _double(q, p, a) if r == 0 else _INFINITY
    hh = h * h % p
    hhh = h * hh % p
    v = x * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return (x3, (r * (v - x3) - y * hhh) % p, z * h % p)


def _batch_affine(points: list[_Jacobian], p: int) -> list[_Affine] | None:
    """All points made affine with one inversion (Montgomery's trick); None if one is O."""
    prefix = []
    acc = 1
    for _, _, z in points:
        if z % p == 0:
            return None
        prefix.append(acc)
        acc = acc * z % p
    inv = pow(acc, -1, p)
    out: list[_Affine] = [(0, 0)] * len(points)
    for i in range(len(points) - 1, -1, -1):
        x, y, z = points[i]
        zi = inv * prefix[i] % p  # 1/z_i
        inv = inv * z % p  # 1/(z_0 … z_{i-1})
        zi2 = zi * zi % p
        out[i] = (x * zi2 % p, y * zi2 * zi % p)
    return out


def _double_and_add(k: int, q: _Jacobian, p: int, a: int) -> _Jacobian:
    """k·Q by plain double-and-add: the fallback when an odd multiple of Q is O."""
    r = _INFINITY
    for i in range(k.bit_length() - 1, -1, -1):
        r = _double(r, p, a)
        if (k >> i) & 1:
            r = _add(r, q, p, a)
    return r


def _wnaf(k: int, w: int) -> list[int]:
    """Width-w non-adjacent form of k > 0, least significant digit first."""
    digits = []
    full, half, mask = 1 << w, 1 << (w - 1), (1 << w) - 1
    while k:
        if k & 1:
            d = k & mask
            if d >= half:
                d -= full
            k -= d
            digits.append(d)
        else:
            digits.append(0)
        k >>= 1
    return digits


def _wnaf_mul(k: int, x: int, y: int, p: int, a: int) -> _Jacobian:
    """k·(x, y) for k > 0 and a reduced affine point, by width-5 wNAF."""
    base = (x, y, 1)
    twice = _double(base, p, a)
    odd = [base]
    for _ in range((1 << (_WNAF_WIDTH - 2)) - 1):
        odd.append(_add(odd[-1], twice, p, a))
    table = _batch_affine(odd, p)
    if table is None:  # only a point off the curve can have such a small order
        return _double_and_add(k, base, p, a)
    neg = [(tx, -ty % p) for tx, ty in table]
    digits = _wnaf(k, _WNAF_WIDTH)
    a_is_m3 = (a + 3) % p == 0
    # the top digit is positive: start from it instead of doubling infinity
    X, Y = table[digits[-1] >> 1]
    Z = 1
    for i in range(len(digits) - 2, -1, -1):
        # doubling inlined: it runs once per bit (Z = 0 stays 0, so O doubles to O)
        yy = Y * Y % p
        zz = Z * Z % p
        s = 4 * X * yy % p
        # m = 3x² + a·z⁴, which is 3(x - z²)(x + z²) when a = -3 (the NIST curves)
        m = 3 * (X - zz) * (X + zz) % p if a_is_m3 else (3 * X * X + a * zz * zz) % p
        Z = 2 * Y * Z % p
        X = (m * m - 2 * s) % p
        Y = (m * (s - X) - 8 * yy * yy) % p
        d = digits[i]
        if d:
            ax, ay = table[d >> 1] if d > 0 else neg[-d >> 1]
            X, Y, Z = _add_affine((X, Y, Z), ax, ay, p, a)
    return (X, Y, Z)


def _fixed_base_table(c: Curve) -> list[list[_Affine]] | None:
    """Rows j·2^(5i)·G for j = 1..16, enough rows for any scalar of n's bit length."""
    p, a, w = c.p, c.a, _COMB_WIDTH
    rows = (c.n.bit_length() + 1 + w - 1) // w  # signed digits may carry one extra bit
    per_row = 1 << (w - 1)
    flat: list[_Jacobian] = []
    base: _Jacobian = (c.gx % p, c.gy % p, 1)
    for _ in range(rows):
        row = [base, _double(base, p, a)]
        while len(row) < per_row:
            row.append(_add(row[-1], base, p, a))
        flat.extend(row)
        base = _double(row[-1], p, a)
    affine = _batch_affine(flat, p)
    if affine is None:  # G of a tiny order: not a standardized curve's generator
        return None
    return [affine[i : i + per_row] for i in range(0, len(affine), per_row)]


def _fixed_base_mul(k: int, table: list[list[_Affine]], p: int, a: int) -> _Jacobian:
    """k·G from its signed 5-bit windows: one mixed addition per non-zero window."""
    w = _COMB_WIDTH
    full, half, mask = 1 << w, 1 << (w - 1), (1 << w) - 1
    q = _INFINITY
    i = 0
    while k:
        d = k & mask
        if d > half:
            d -= full
        k = (k - d) >> w
        if d > 0:
            ax, ay = table[i][d - 1]
            q = _add_affine(q, ax, ay, p, a)
        elif d < 0:
            ax, ay = table[i][-d - 1]
            q = _add_affine(q, ax, p - ay, p, a)
        i += 1
    return q


def _h(*parts: str) -> int:
    return int("".join(parts), 16)


def _curve(
    param_id: int, name: str, *, p: int, a: int, b: int, gx: int, gy: int, n: int, h: int
) -> Curve:
    return Curve(name, p, a, b, gx, gy, n, h, param_id, CURVE_OIDS[name])


CURVE_OIDS = {
    "secp192r1": "1.2.840.10045.3.1.1",
    "brainpoolP192r1": "1.3.36.3.3.2.8.1.1.3",
    "secp224r1": "1.3.132.0.33",
    "brainpoolP224r1": "1.3.36.3.3.2.8.1.1.5",
    "secp256r1": "1.2.840.10045.3.1.7",
    "brainpoolP256r1": "1.3.36.3.3.2.8.1.1.7",
    "brainpoolP320r1": "1.3.36.3.3.2.8.1.1.9",
    "secp384r1": "1.3.132.0.34",
    "brainpoolP384r1": "1.3.36.3.3.2.8.1.1.11",
    "brainpoolP512r1": "1.3.36.3.3.2.8.1.1.13",
    "secp521r1": "1.3.132.0.35",
}

# ICAO 9303-11 §9.5.1 standardized domain parameters (ids 8-18 are the EC ones); values
# from SEC 2 and RFC 5639.
_CURVES = (
    _curve(
        8,
        "secp192r1",
        p=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFF"),
        a=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFC"),
        b=_h("64210519E59C80E70FA7E9AB72243049FEB8DEECC146B9B1"),
        gx=_h("188DA80EB03090F67CBF20EB43A18800F4FF0AFD82FF1012"),
        gy=_h("7192B95FFC8DA78631011ED6B24CDD573F977A11E794811"),
        n=_h("FFFFFFFFFFFFFFFFFFFFFFFF99DEF836146BC9B1B4D22831"),
        h=1,
    ),
    _curve(
        9,
        "brainpoolP192r1",
        p=_h("C302F41D932A36CDA7A3463093D18DB78FCE476DE1A86297"),
        a=_h("6A91174076B1E0E19C39C031FE8685C1CAE040E5C69A28EF"),
        b=_h("469A28EF7C28CCA3DC721D044F4496BCCA7EF4146FBF25C9"),
        gx=_h("C0A0647EAAB6A48753B033C56CB0F0900A2F5C4853375FD6"),
        gy=_h("14B690866ABD5BB88B5F4828C1490002E6773FA2FA299B8F"),
        n=_h("C302F41D932A36CDA7A3462F9E9E916B5BE8F1029AC4ACC1"),
        h=1,
    ),
    _curve(
        10,
        "secp224r1",
        p=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF000000000000000000000001"),
        a=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFE"),
        b=_h("B4050A850C04B3ABF54132565044B0B7D7BFD8BA270B39432355FFB4"),
        gx=_h("B70E0CBD6BB4BF7F321390B94A03C1D356C21122343280D6115C1D21"),
        gy=_h("BD376388B5F723FB4C22DFE6CD4375A05A07476444D5819985007E34"),
        n=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFF16A2E0B8F03E13DD29455C5C2A3D"),
        h=1,
    ),
    _curve(
        11,
        "brainpoolP224r1",
        p=_h("D7C134AA264366862A18302575D1D787B09F075797DA89F57EC8C0FF"),
        a=_h("68A5E62CA9CE6C1C299803A6C1530B514E182AD8B0042A59CAD29F43"),
        b=_h("2580F63CCFE44138870713B1A92369E33E2135D266DBB372386C400B"),
        gx=_h("D9029AD2C7E5CF4340823B2A87DC68C9E4CE3174C1E6EFDEE12C07D"),
        gy=_h("58AA56F772C0726F24C6B89E4ECDAC24354B9E99CAA3F6D3761402CD"),
        n=_h("D7C134AA264366862A18302575D0FB98D116BC4B6DDEBCA3A5A7939F"),
        h=1,
    ),
    _curve(
        12,
        "secp256r1",
        p=_h("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"),
        a=_h("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC"),
        b=_h("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"),
        gx=_h("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"),
        gy=_h("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"),
        n=_h("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
        h=1,
    ),
    _curve(
        13,
        "brainpoolP256r1",
        p=_h("A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"),
        a=_h("7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9"),
        b=_h("26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6"),
        gx=_h("8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262"),
        gy=_h("547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997"),
        n=_h("A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"),
        h=1,
    ),
    _curve(
        14,
        "brainpoolP320r1",
        p=_h("D35E472036BC4FB7E13C785ED201E065F98FCFA6F6F40DEF4F92B9EC7893EC28FCD412B1F1B32E27"),
        a=_h("3EE30B568FBAB0F883CCEBD46D3F3BB8A2A73513F5EB79DA66190EB085FFA9F492F375A97D860EB4"),
        b=_h("520883949DFDBC42D3AD198640688A6FE13F41349554B49ACC31DCCD884539816F5EB4AC8FB1F1A6"),
        gx=_h("43BD7E9AFB53D8B85289BCC48EE5BFE6F20137D10A087EB6E7871E2A10A599C710AF8D0D39E20611"),
        gy=_h("14FDD05545EC1CC8AB4093247F77275E0743FFED117182EAA9C77877AAAC6AC7D35245D1692E8EE1"),
        n=_h("D35E472036BC4FB7E13C785ED201E065F98FCFA5B68F12A32D482EC7EE8658E98691555B44C59311"),
        h=1,
    ),
    _curve(
        15,
        "secp384r1",
        p=_h(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE"
            "FFFFFFFF0000000000000000FFFFFFFF"
        ),
        a=_h(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE"
            "FFFFFFFF0000000000000000FFFFFFFC"
        ),
        b=_h(
            "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875A"
            "C656398D8A2ED19D2A85C8EDD3EC2AEF"
        ),
        gx=_h(
            "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A38"
            "5502F25DBF55296C3A545E3872760AB7"
        ),
        gy=_h(
            "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C0"
            "0A60B1CE1D7E819D7A431D7C90EA0E5F"
        ),
        n=_h(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
            "581A0DB248B0A77AECEC196ACCC52973"
        ),
        h=1,
    ),
    _curve(
        16,
        "brainpoolP384r1",
        p=_h(
            "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123"
            "ACD3A729901D1A71874700133107EC53"
        ),
        a=_h(
            "7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F"
            "8AA5814A503AD4EB04A8C7DD22CE2826"
        ),
        b=_h(
            "4A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57"
            "CB4390295DBC9943AB78696FA504C11"
        ),
        gx=_h(
            "1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8"
            "E826E03436D646AAEF87B2E247D4AF1E"
        ),
        gy=_h(
            "8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF9912928"
            "0E4646217791811142820341263C5315"
        ),
        n=_h(
            "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7"
            "CF3AB6AF6B7FC3103B883202E9046565"
        ),
        h=1,
    ),
    _curve(
        17,
        "brainpoolP512r1",
        p=_h(
            "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330871"
            "7D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3"
        ),
        a=_h(
            "7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC"
            "2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA"
        ),
        b=_h(
            "3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A7"
            "2BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723"
        ),
        gx=_h(
            "81AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D0098E"
            "FF3B1F78E2D0D48D50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F822"
        ),
        gy=_h(
            "7DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F8111"
            "B2DCDE494A5F485E5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD80892"
        ),
        n=_h(
            "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870"
            "553E5C414CA92619418661197FAC10471DB1D381085DDADDB58796829CA90069"
        ),
        h=1,
    ),
    _curve(
        18,
        "secp521r1",
        p=_h(
            "1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
            "FFF"
        ),
        a=_h(
            "1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
            "FFC"
        ),
        b=_h(
            "51953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109"
            "E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F"
            "00"
        ),
        gx=_h(
            "C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3D"
            "BAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD"
            "66"
        ),
        gy=_h(
            "11839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E6"
            "62C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16"
            "650"
        ),
        n=_h(
            "1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
            "FFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386"
            "409"
        ),
        h=1,
    ),
)

STANDARD_CURVES: dict[int, Curve] = {c.param_id: c for c in _CURVES if c.param_id is not None}
_BY_NAME = {c.name: c for c in _CURVES}
_BY_OID = {c.oid: c for c in _CURVES if c.oid is not None}


def curve_by_id(param_id: int) -> Curve:
    """The standardized curve for an ICAO parameter id; ProtocolError for others (DH, unknown)."""
    try:
        return STANDARD_CURVES[param_id]
    except KeyError:
        raise ProtocolError(f"domain parameter id {param_id} is not a supported curve") from None


def curve_by_name(name: str) -> Curve:
    """The standardized curve with this SEC 2 / RFC 5639 name."""
    return _BY_NAME[name]


def curve_by_oid(oid: str) -> Curve | None:
    """The standardized curve with this named-curve OID, or None."""
    return _BY_OID.get(oid)


def find_standard(p: int, a: int, b: int, gx: int, gy: int, n: int) -> Curve | None:
    """The standardized curve matching explicit domain parameters, or None."""
    for c in _CURVES:
        if (c.p, c.a, c.b, c.gx, c.gy, c.n) == (p, a, b, gx, gy, n):
            return c
    return None
