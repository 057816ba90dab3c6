#!/usr/bin/env python3
"""Write tests/data/float_repr.txt: doubles as 16-hex-digit bit patterns with Python's repr().

Run with CPython 3.13 (the oracle), from the source tree:
    python3.13 tests/gen_float_repr.py > tests/data/float_repr.txt
The output is deterministic (fixed seed), so a rerun shows in a diff only if Python changed.
check_format reads the file and compares mv_format_double_repr() line by line.
"""
import math
import random
import struct
import sys
from decimal import Decimal

rng = random.Random(20240613)


def bits_of(d):
    return struct.unpack('<Q', struct.pack('<d', d))[0]


def double_of(b):
    return struct.unpack('<d', struct.pack('<Q', b & (2**64 - 1)))[0]


seen = set()
lines = []


def add(d):
    d = float(d)
    b = bits_of(d)
    if b not in seen:
        seen.add(b)
        lines.append('%016x %r' % (b, d))


def add_bits(b):
    add(double_of(b))


def add_near(d, span=1):
    """d and its neighbours, span ulps each way (same sign)."""
    b = bits_of(d)
    for i in range(-span, span + 1):
        nb = b + i
        if 0 <= nb & (2**63 - 1) < 0x7ff0000000000000 and (nb >> 63) == (b >> 63):
            add_bits(nb)


def is_tie(d):
    """True when d's exact value has exactly 18 significant digits ending in 5: repr()
    then has to pick between two equally close 17-digit strings (Python picks the even one)."""
    digits = Decimal(d).as_tuple().digits
    while len(digits) > 1 and digits[-1] == 0:
        digits = digits[:-1]
    return len(digits) == 18 and digits[-1] == 5


# Specials and landmarks.
for d in [0.0, -0.0, math.inf, -math.inf, math.nan, -math.nan,
          5e-324, -5e-324, 1e-323, 2.2250738585072014e-308, 2.225073858507201e-308,
          1.7976931348623157e308, -1.7976931348623157e308, 1e16, 1e15, 1e17,
          9999999999999998.0, 1234567890123456.0, 12345678901234567.0, 1e-4, 1e-5,
          0.0001, 0.00012345, 0.00001, 9.999999999999999e-05, 9007199254740993,
          9007199254740992.0, 9007199254740991.0, 18014398509481984.0, 0.1, 0.2, 0.3,
          0.1 + 0.2, 1 / 3, 2 / 3, 1.0, -1.0, 2.0, 10.0, 100.0, 1.5, 0.5, 0.25, 123.456,
          math.pi, math.e, math.tau, 1e23, 8.41e21, 5e-310, 2**-1022, 2**-1074 * 3,
          4.35679e-5, 2.9802322387695312e-08, 1.7881393432617188e-07,
          float.fromhex('0x1.fffffffffffffp-1'), float.fromhex('0x1.0000000000001p+0'),
          float.fromhex('0x0.fffffffffffffp-1022'), float.fromhex('0x1.0000000000001p-1022'),
          65504.0, 65520.0, 3.4028234663852886e38, 1.1754943508222875e-38]:
    add(d)
    if math.isfinite(d) and d != 0:
        add(-d)

# Powers of two, each with its neighbours (the asymmetric interval below 2^n).
for e in range(-1074, 1024):
    add_near(math.ldexp(1.0, e))

# Powers of ten, each with its neighbours, and 2..9 times them.
for k in range(-323, 309):
    d = float('1e%d' % k)
    add_near(d)
    if k % 7 == 0:
        for m in range(2, 10):
            v = float('%de%d' % (m, k))
            if math.isfinite(v):
                add(v)

# Subnormals: the smallest ones, the largest ones, random ones.
for m in range(1, 400):
    add_bits(m)
for m in range(2**52 - 200, 2**52):
    add_bits(m)
for _ in range(1000):
    add_bits(rng.getrandbits(52) >> rng.randrange(52))

# Random bit patterns over every exponent and sign (NaNs included).
for _ in range(6000):
    add_bits(rng.getrandbits(64))

# Random "nice" decimals: 1 to 17 significant digits, small and full exponent ranges.
for i in range(5000):
    ndig = rng.randint(1, 17)
    mant = rng.randrange(10**(ndig - 1), 10**ndig)
    exp = rng.randint(-25, 25) if i % 2 else rng.randint(-340, 310)
    d = float('%de%d' % (mant, exp))
    if math.isfinite(d):
        add(d if i % 3 else -d)

# Integers as doubles, and integers plus simple fractions (fixed notation up to 1e16).
for _ in range(1500):
    add(float(rng.getrandbits(rng.randint(1, 64))))
    add(rng.getrandbits(rng.randint(20, 54)) / 2**rng.randint(1, 20))

# Exact ties between two 17-digit candidates, which repr() breaks to even.
ties = 0
while ties < 600:
    d = rng.getrandbits(rng.randint(47, 53)) / 2**rng.randint(1, 8)
    d = math.ldexp(d, rng.choice([0, 0, 0, -10, -20, -30, -40, -60]))
    if is_tie(d):
        add(d)
        ties += 1

# float32 values, as the 'f' format shows them, and binary16 values ('e').
for _ in range(2000):
    f = struct.unpack('<f', struct.pack('<I', rng.getrandbits(32)))[0]
    add(f)
for h in range(0, 65536, 31):
    add(struct.unpack('<e', struct.pack('<H', h))[0])

sys.stdout.write('# %d doubles: IEEE 754 bits (hex), Python %s repr(); tests/gen_float_repr.py\n'
                 % (len(lines), sys.version.split()[0]))
sys.stdout.write('\n'.join(lines) + '\n')
