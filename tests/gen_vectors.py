#!/usr/bin/env python3
"""Generate tests/data/vectors.txt: memoryview conformance vectors, CPython 3.13 as the oracle.

Run with CPython 3.13 (e.g. /root/.pyenv/versions/3.13.0/bin/python3 tests/gen_vectors.py).
The script is deterministic (fixed seed) and re-executes itself with PYTHONHASHSEED=0 so that
hash(memoryview) equals memview's mv_view_hash_bytes().  tests/check_conformance.c replays the file
through memview's public C API.

File format (line oriented, tokens separated by single spaces):

    # comment
    case N FAMILY          starts case N (FAMILY names the op family, for grouping)
    OP ARGS...             one operation, followed by exactly one expectation line:
    ok                       success without a value
    = TEXT                   success with a value (TEXT is the rest of the line, may be empty)
    ! CLASS MESSAGE          CPython raised CLASS (e.g. TypeError) with str(exc) MESSAGE
    end N                  last line: N cases in the file

Registers: D (data objects), V (views), X (buffers exported from views) are small integers,
numbered by the generator; an operation that creates a register names it first.  A register
whose creation failed is never used again.

    data D rw|ro HEX       D = bytearray / bytes of the hex bytes ("-" for empty); always "ok"
    from V D               V = memoryview(data D)
    mview V S              V = memoryview(view S)
    cast V S FMT SHAPE     V = S.cast(FMT) when SHAPE is "-", S.cast(FMT, []) when "()",
                           else S.cast(FMT, [a, b, ...]) for SHAPE "a,b,..."; FMT "~" is ""
    slice V S A:B:C        V = S[A:B:C]; "None" for omitted parts
    ro V S                 V = S.toreadonly()
    release S              S.release()
    export X S             X = S.__buffer__(inspect.BufferFlags.FULL_RO)
    unexport X             X.release()
    resize D N             resize bytearray D to N bytes (new bytes zero)
    bytes D                = hex of the current content of data D (never fails)
    get S I                = repr(S[I])
    getm S I,J,...|()      = repr(S[(I, J, ...)]) ; "()" is S[()]
    set S I VALUE          S[I] = VALUE
    setm S I,J,..|() VALUE S[(I, J, ...)] = VALUE
                           VALUE: "int N" | "float HEX16" (IEEE double bits, big-endian hex) |
                                  "bool 0|1" | "bytes HEX|-"
    assign S A:B:C R       S[A:B:C] = view R
    tobytes S O            = S.tobytes(O).hex(); O is C, F, A, N (None) or another letter
    hex S                  = S.hex()
    hex S SEPHEX BPS       = S.hex(sep, BPS) with sep the latin-1 text of SEPHEX
    eq A B                 = repr(A == B)
    eqb A HEX              = repr(A == bytes.fromhex(HEX))
    hash S                 = hash(S)
    len S                  = len(S)
    tolist S               = repr(S.tolist())
    attrs S                = "format=F itemsize=I nbytes=N ndim=D shape=a,b strides=x,y
                              readonly=0|1 c=0|1 f=0|1 contig=0|1"

Not generated, because the CPython behaviour comes from Python-only argument types or object
model details that memview's C API cannot express: str/float indices, slice bounds or shape
entries outside ssize_t, ints outside [-2**63, 2**64), non-str formats, casts with the '<', '>',
'=' and '!' prefixes (CPython refuses them; memview accepts them as an extension), multi-char
tobytes orders, bytes_per_sep outside C int, an empty or bytes sep (memview takes "" as "no
separator"), NUL as sep, and hash() of a readonly view of a bytearray (CPython raises TypeError
"unhashable type: 'bytearray'" because it hashes the exporter object first).
"""

import inspect
import os
import random
import struct
import sys

SEED = 20250613
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "vectors.txt")

if os.environ.get("PYTHONHASHSEED") != "0":
    env = dict(os.environ, PYTHONHASHSEED="0")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

assert sys.version_info[:2] == (3, 13), "the oracle is CPython 3.13"
assert hash(b"") == 0

CODES = "cbB?hHiIlLqQnNfdeP"
ITEMSIZE = {c: struct.calcsize(c) for c in CODES}
INT_RANGE = {}
for _c in "bhilqn":
    _bits = 8 * ITEMSIZE[_c]
    INT_RANGE[_c] = (-(1 << (_bits - 1)), (1 << (_bits - 1)) - 1)
for _c in "BHILQN":
    INT_RANGE[_c] = (0, (1 << (8 * ITEMSIZE[_c])) - 1)
INT_RANGE["P"] = (-(1 << 63), (1 << 64) - 1)
C_MIN, C_MAX = -(1 << 63), (1 << 64) - 1  # what an mv_value can carry

BAD_FORMATS = ["~", "x", "ii", "Z", "@", "2B", "s", "@@B", "B@", "BB", "bx", "?@", "p", "w",
               "u", "O", "T{B}", "Bq", "1", "@x", "@2i", "d@", "Q0", "bB", "3s", "ee"]

KNOWN_EXC = {"TypeError", "ValueError", "IndexError", "NotImplementedError", "BufferError",
             "OverflowError"}

# ------------------------------------------------------------------ interesting contents


def d_bits(x):
    return struct.pack("<d", x)


D8 = [bytes.fromhex(h)[::-1] for h in [
    "7ff8000000000000", "fff8000000000000", "7ff0000000000001", "fff0000000000001",
    "7ff4000000000000", "7ff8dead0000beef", "fffdeadbeefcafe1", "7ff0000000000000",
    "fff0000000000000", "8000000000000000", "0000000000000000", "0000000000000001",
    "000fffffffffffff", "0010000000000000", "7fefffffffffffff", "ffefffffffffffff",
    "800fffffffffffff", "7fffffffffffffff", "ffffffffffffffff", "0000000000000080",
    "00000000000000ff"]] + [d_bits(x) for x in [
        0.1, 1.0, -1.0, 1e-05, 1e16, 1e22, 1.5, -2.5, 65504.0, 65520.0, 3.4028234663852886e38,
        1e39, 1.401298464324817e-45, 5.960464477539063e-08, 2.0 ** 53 + 2, 1 / 3, 123456.789,
        6.103515625e-05, -0.0, 2.0 ** 63, 1e300]] + [
    struct.pack("<q", v) for v in [-(1 << 63), (1 << 63) - 1, -1, 1, 256, -129]]

F4 = [bytes.fromhex(h)[::-1] for h in [
    "7fc00000", "ffc00000", "7f800001", "ff800001", "7fa00000", "7fbfffff", "7f800000",
    "ff800000", "00000001", "007fffff", "00800000", "7f7fffff", "ff7fffff", "80000000",
    "00000000", "3dcccccd", "3f800000", "bf800000", "7fffffff", "ffffffff", "80000001",
    "477fe000", "4b800001"]] + [struct.pack("<i", v) for v in [-(1 << 31), (1 << 31) - 1, -1]]

H2 = [bytes.fromhex(h)[::-1] for h in [
    "7c00", "fc00", "7e00", "fe00", "7c01", "7d00", "fd01", "7fff", "ffff", "0001", "03ff",
    "0400", "7bff", "fbff", "8000", "0000", "3c00", "3555", "c000", "8001", "7f00", "0080"]]

B1 = [0, 1, 2, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x27, 0x22, 0x5c, 0x0a, 0x0d, 0x09, 0x20, 0x41,
      0x61, 0x7e, 0x1f, 0x00]


def rand_content(n):
    size = random.choice([1, 2, 4, 8, 8, 4, 2])
    out = bytearray()
    while len(out) < n:
        r = random.random()
        if r < 0.2:
            out += random.randbytes(size)
        elif size == 8 and r < 0.85:
            out += random.choice(D8)
        elif size == 4 and r < 0.85:
            out += random.choice(F4)
        elif size == 2 and r < 0.85:
            out += random.choice(H2)
        elif size == 1 and r < 0.85:
            out.append(random.choice(B1))
        else:
            out += bytes(size)
    return bytes(out[:n])


def rand_len():
    r = random.random()
    if r < 0.015:
        return random.randint(65, 300)
    if r < 0.08:
        return random.choice([0, 1, 2, 3])
    if r < 0.65:
        s = random.choice([1, 2, 4, 8, 8, 12, 16, 24])
        return s * random.randint(0, 64 // s)
    return random.randint(0, 64)


# ------------------------------------------------------------------ the case recorder


def hexs(b):
    return b.hex() if b else "-"


def is_released(m):
    return repr(m).startswith("<released")


def fmt_slice(a, b, c):
    return "%s:%s:%s" % (a, b, c)


class Case:
    def __init__(self, num, family):
        self.lines = ["case %d %s" % (num, family)]
        self.datas = []
        self.views = []
        self.exports = []
        self.fmt = None

    # one op line and its expectation
    def emit(self, op, fn):
        try:
            r = fn()
        except Exception as e:  # noqa: BLE001 - every CPython error is an observation
            cls = type(e).__name__
            msg = str(e)
            if cls not in KNOWN_EXC or "\n" in msg:
                raise RuntimeError("unexpected %s %r for %s" % (cls, msg, op))
            self.lines.append(op)
            self.lines.append("! %s %s" % (cls, msg))
            return False, None
        assert r is None or ("\n" not in r), (op, r)
        self.lines.append(op)
        self.lines.append("ok" if r is None else "= " + r)
        return True, r

    def data(self, ro=None, content=None):
        if ro is None:
            ro = random.random() < 0.35
        if content is None:
            content = rand_content(rand_len())
        d = len(self.datas)
        self.datas.append(bytes(content) if ro else bytearray(content))
        self.lines.append("data %d %s %s" % (d, "ro" if ro else "rw", hexs(content)))
        self.lines.append("ok")
        return d

    def derive(self, text, fn):
        """An op that makes a new view register; returns its number or None."""
        v = len(self.views)
        assert v < 60
        box = []

        def run():
            box.append(fn())

        ok, _ = self.emit(text % v, run)
        self.views.append(box[0] if ok else None)
        return v if ok else None

    def from_data(self, d):
        return self.derive("from %%d %d" % d, lambda: memoryview(self.datas[d]))

    def mview(self, s):
        return self.derive("mview %%d %d" % s, lambda: memoryview(self.views[s]))

    def cast(self, s, fmt, shape):
        if shape is None:
            sh = "-"
        elif len(shape) == 0:
            sh = "()"
        else:
            sh = ",".join(str(x) for x in shape)
        pyfmt = "" if fmt == "~" else fmt
        m = self.views[s]
        if shape is None:
            return self.derive("cast %%d %d %s %s" % (s, fmt, sh), lambda: m.cast(pyfmt))
        return self.derive("cast %%d %d %s %s" % (s, fmt, sh), lambda: m.cast(pyfmt, list(shape)))

    def slice(self, s, a, b, c):
        m = self.views[s]
        return self.derive("slice %%d %d %s" % (s, fmt_slice(a, b, c)), lambda: m[a:b:c])

    def ro(self, s):
        m = self.views[s]
        return self.derive("ro %%d %d" % s, lambda: m.toreadonly())

    def release(self, s):
        m = self.views[s]
        return self.emit("release %d" % s, lambda: m.release())

    def export(self, s):
        x = len(self.exports)
        m = self.views[s]
        box = []

        def run():
            box.append(m.__buffer__(inspect.BufferFlags.FULL_RO))

        ok, _ = self.emit("export %d %d" % (x, s), run)
        self.exports.append(box[0] if ok else None)
        return x if ok else None

    def unexport(self, x):
        e = self.exports[x]
        self.exports[x] = None
        return self.emit("unexport %d" % x, lambda: e.release())

    def resize(self, d, n):
        data = self.datas[d]
        assert isinstance(data, bytearray) and n != len(data)

        def run():
            if n > len(data):
                data.extend(bytes(n - len(data)))
            else:
                del data[n:]

        return self.emit("resize %d %d" % (d, n), run)

    def bytes_(self, d):
        return self.emit("bytes %d" % d, lambda: bytes(self.datas[d]).hex())

    def get(self, s, i):
        m = self.views[s]
        return self.emit("get %d %d" % (s, i), lambda: repr(m[i]))

    def getm(self, s, idx):
        m = self.views[s]
        t = ",".join(str(i) for i in idx) if idx else "()"
        return self.emit("getm %d %s" % (s, t), lambda: repr(m[tuple(idx)]))

    def set(self, s, i, val):
        m = self.views[s]
        text, obj = val

        def run():
            m[i] = obj

        return self.emit("set %d %d %s" % (s, i, text), run)

    def setm(self, s, idx, val):
        m = self.views[s]
        text, obj = val
        t = ",".join(str(i) for i in idx) if idx else "()"

        def run():
            m[tuple(idx)] = obj

        return self.emit("setm %d %s %s" % (s, t, text), run)

    def assign(self, s, a, b, c, r):
        m = self.views[s]
        src = self.views[r]

        def run():
            m[a:b:c] = src

        return self.emit("assign %d %s %d" % (s, fmt_slice(a, b, c), r), run)

    def tobytes(self, s, order):
        m = self.views[s]
        o = None if order == "N" else order
        return self.emit("tobytes %d %s" % (s, order), lambda: m.tobytes(o).hex())

    def hex(self, s, sep=None, bps=None):
        m = self.views[s]
        if sep is None:
            return self.emit("hex %d" % s, lambda: m.hex())
        return self.emit("hex %d %s %d" % (s, sep.encode("latin-1").hex(), bps),
                         lambda: m.hex(sep, bps))

    def eq(self, a, b):
        return self.emit("eq %d %d" % (a, b), lambda: repr(self.views[a] == self.views[b]))

    def eqb(self, a, data):
        return self.emit("eqb %d %s" % (a, hexs(data)), lambda: repr(self.views[a] == data))

    def hash(self, s):
        m = self.views[s]
        return self.emit("hash %d" % s, lambda: str(hash(m)))

    def len(self, s):
        m = self.views[s]
        return self.emit("len %d" % s, lambda: str(len(m)))

    def tolist(self, s):
        m = self.views[s]
        return self.emit("tolist %d" % s, lambda: repr(m.tolist()))

    def attrs(self, s):
        m = self.views[s]

        def run():
            return ("format=%s itemsize=%d nbytes=%d ndim=%d shape=%s strides=%s readonly=%d "
                    "c=%d f=%d contig=%d" % (
                        m.format, m.itemsize, m.nbytes, m.ndim,
                        ",".join(str(x) for x in m.shape), ",".join(str(x) for x in m.strides),
                        m.readonly, m.c_contiguous, m.f_contiguous, m.contiguous))

        return self.emit("attrs %d" % s, run)

    # helpers
    def live(self):
        return [i for i, m in enumerate(self.views) if m is not None and not is_released(m)]

    def view(self, i):
        return self.views[i]

    def cleanup(self):
        for x in self.exports:
            if x is not None:
                x.release()
        for m in self.views:
            if m is not None:
                m.release()


# ------------------------------------------------------------------ random choices


def rand_code():
    return random.choice(CODES)


def rand_fmt(nbytes=None):
    """A cast format; given nbytes, usually one whose itemsize divides it."""
    codes = CODES
    if nbytes is not None and random.random() < 0.85:
        codes = [x for x in CODES if nbytes % ITEMSIZE[x] == 0]
    c = random.choice(codes)
    return "@" + c if random.random() < 0.15 else c


def factorize(n, ndim):
    """Random list of ndim positive factors whose product is n (n >= 1)."""
    shape = [1] * ndim
    rest = n
    p = 2
    primes = []
    while p * p <= rest:
        while rest % p == 0:
            primes.append(p)
            rest //= p
        p += 1
    if rest > 1:
        primes.append(rest)
    for q in primes:
        shape[random.randrange(ndim)] *= q
    return shape


def rand_shape(nbytes, itemsize):
    """A shape for cast: usually valid, sometimes not."""
    r = random.random()
    n = nbytes // itemsize if itemsize else 0
    if r < 0.04:
        return []
    if r < 0.07:
        return [1] * random.choice([63, 64, 65, 66, 70])
    if r < 0.10:
        return [random.choice([0, -1, -5, 2, 1 << 62]) for _ in range(random.randint(1, 3))]
    if r < 0.12:
        return [1 << 62, 1 << 62] if random.random() < 0.5 else [(1 << 62) - 1, 4]
    if r < 0.18:
        return [random.randint(1, 6) for _ in range(random.randint(1, 4))]
    if n == 0:
        return [0] if random.random() < 0.5 else [1]
    ndim = random.choice([1, 1, 2, 2, 2, 3, 3, 4, 5]) if n > 1 else random.choice([0, 1, 2, 3, 9])
    if ndim == 0:
        return []
    return factorize(n, ndim)


BIG = [1 << 62, -(1 << 62), (1 << 63) - 1, -((1 << 63) - 1), 1 << 40]


def rand_bound(n):
    r = random.random()
    if r < 0.25:
        return None
    if r < 0.33:
        return random.choice(BIG)
    if r < 0.45:
        return random.choice([0, -1, n, -n, n - 1, n + 1, -n - 1])
    return random.randint(-n - 4, n + 4)


def rand_step(n):
    r = random.random()
    if r < 0.2:
        return None
    if r < 0.23:
        return 0
    if r < 0.3:
        return random.choice(BIG)
    if r < 0.55:
        return random.choice([1, -1, 2, -2, 3, -3])
    if r < 0.6:
        return random.choice([n, -n, n + 1, -(n + 1), n - 1]) or 1
    return random.choice([1, -1]) * random.randint(1, max(1, n + 2))


def rand_slice(n):
    return rand_bound(n), rand_bound(n), rand_step(n)


def rand_index(n, good=0.6):
    r = random.random()
    if r < good and n > 0:
        return random.randint(-n, n - 1)
    r = good + (r - good) * (1.0 - 0.6) / (1.0 - good) if good < 1.0 else r
    if r < 0.75:
        return random.choice([n, -n - 1, n + 1, -n - 2, 0, -1])
    if r < 0.85:
        return random.choice(BIG)
    return random.randint(-n - 3, n + 3)


def view_shape(m):
    try:
        return list(m.shape)
    except ValueError:
        return []


def rand_multi_index(m, good=0.6):
    shape = view_shape(m)
    r = random.random()
    if r < 0.8:
        return [rand_index(s, good) for s in shape]
    if r < 0.9 and shape:
        return [rand_index(s, good) for s in shape[:random.randint(0, len(shape) - 1)]]
    return [rand_index(s, good) for s in shape] + [rand_index(2) for _ in range(random.randint(1, 2))]


def float_val(x_bits):
    b = bytes.fromhex(x_bits)
    return ("float " + x_bits, struct.unpack(">d", b)[0])


def float_of(x):
    return float_val(struct.pack(">d", x).hex())


INTERESTING_DOUBLES = [b[::-1].hex() for b in D8[:21]] + [
    struct.pack(">d", x).hex() for x in [
        0.1, 1.0, -1.0, 2.5, 65504.0, 65519.99, 65520.0, -65520.0, 65536.0, 1e5, 3.4028234663852886e38,
        3.4028235677973366e38, 3.4028235677973362e38, 1e39, -1e39, 1e308, 1.401298464324817e-45,
        7.006492321624085e-46, 7.0064923216240862e-46, 5.960464477539063e-08, 2.9802322387695312e-08,
        2.9802322387695315e-08, 6.097555160522461e-05, 6.103515625e-05, 1e-300, 255.0, 0.5,
        1.0000000000000002, 2.0 ** 64, -2.0 ** 63, 3.0, 1e16]]


def rand_int_for(code):
    if code in INT_RANGE:
        lo, hi = INT_RANGE[code]
        if random.random() < 0.5:
            return random.choice([lo, hi, 0, random.randint(lo, hi)])
        return random.choice([lo, hi, lo - 1, hi + 1, 0, 1, -1, random.randint(lo, hi),
                              random.randint(lo, hi), random.randint(C_MIN, C_MAX),
                              C_MIN, C_MAX, (1 << 63) - 1, 1 << 63, -(1 << 63) + 1])
    return random.choice([0, 1, -1, 2, 255, 256, -129, 65504, 65520, 1 << 53, (1 << 53) + 1,
                          C_MAX, C_MIN, random.randint(C_MIN, C_MAX), 70000, -70000])


def rand_value(code):
    r = random.random()
    if code in "fde":
        pick = "float" if r < 0.6 else ("int" if r < 0.8 else ("bool" if r < 0.88 else "bytes"))
    elif code == "c":
        pick = "bytes" if r < 0.65 else ("int" if r < 0.8 else ("bool" if r < 0.88 else "float"))
    elif code == "?":
        pick = random.choice(["bool", "bool", "int", "float", "bytes"])
    else:
        pick = "int" if r < 0.7 else ("bool" if r < 0.8 else ("float" if r < 0.9 else "bytes"))
    if pick == "int":
        v = rand_int_for(code)
        v = max(C_MIN, min(C_MAX, v))
        return ("int %d" % v, v)
    if pick == "float":
        if random.random() < 0.7:
            return float_val(random.choice(INTERESTING_DOUBLES))
        return float_of(random.uniform(-1e6, 1e6))
    if pick == "bool":
        b = random.random() < 0.5
        return ("bool %d" % b, b)
    n = random.choice([1, 1, 1, 1, 0, 2])
    b = rand_content(n)
    return ("bytes " + hexs(b), b)


# ------------------------------------------------------------------ building views


def make_view(c, base, allow_cast=True, allow_shape=True, slice_p=0.3, fmt=None):
    """From view base, derive a random view by slices and casts; return the last good one."""
    v = base
    fmt = fmt or c.fmt
    if random.random() < slice_p * 0.5 and c.view(v).ndim >= 1:
        m = c.view(v)
        nv = c.slice(v, *(rand_slice(m.shape[0]) if random.random() < 0.5 else
                          (None, None, random.choice([1, 1, 2, -1]))))
        if nv is not None:
            v = nv
    if allow_cast and random.random() < (0.95 if fmt else 0.8):
        m = c.view(v)
        if fmt is None or random.random() < 0.1:
            fmt = rand_fmt(m.nbytes) if random.random() < 0.97 else random.choice(BAD_FORMATS)
        code = fmt[-1] if fmt not in BAD_FORMATS else "B"
        shape = None
        if allow_shape and random.random() < 0.4:
            shape = rand_shape(m.nbytes, ITEMSIZE.get(code, 1))
        nv = c.cast(v, fmt, shape)
        if nv is not None:
            v = nv
        elif shape is not None and random.random() < 0.7:
            nv = c.cast(v, fmt, None)
            if nv is not None:
                v = nv
    if random.random() < slice_p:
        m = c.view(v)
        if m.ndim >= 1:
            nv = c.slice(v, *rand_slice(m.shape[0]))
            if nv is not None:
                v = nv
    return v


def make_nd_view(c, base):
    """A multi-dimensional view, maybe strided on the first dimension."""
    v = base
    m = c.view(v)
    if c.fmt and random.random() < 0.8:
        fmt = c.fmt
    else:
        fmt = rand_fmt() if random.random() < 0.6 else random.choice("BbcB")
    code = fmt[-1]
    if m.nbytes % ITEMSIZE[code] or m.nbytes == 0:
        fmt, code = "B", "B"
    n = m.nbytes // ITEMSIZE[code]
    if n == 0:
        return v
    shape = factorize(n, random.choice([2, 2, 3, 4]))
    nv = c.cast(v, fmt, shape)
    if nv is None:
        return v
    v = nv
    if random.random() < 0.5:
        nv = c.slice(v, *rand_slice(shape[0]))
        if nv is not None:
            v = nv
    return v


def start(num, family, ro=None, pick_fmt=False):
    """A case with data 0 and view 0 = memoryview(data 0). With pick_fmt, c.fmt is a format
    drawn uniformly and the data's length is usually a multiple of its itemsize."""
    c = Case(num, family)
    c.fmt = None
    content = None
    if pick_fmt:
        c.fmt = rand_fmt()
        if random.random() < 0.85:
            size = ITEMSIZE[c.fmt[-1]]
            n = size * random.randint(0, 64 // size) if random.random() < 0.97 else \
                size * random.randint(8, 300 // size)
            content = rand_content(n)
    d = c.data(ro, content)
    v = c.from_data(d)
    return c, d, v


def observe(c, v, k=2):
    ops = [c.attrs, c.tolist, c.len, lambda s: c.tobytes(s, "C")]
    for f in random.sample(ops, k):
        f(v)


# ------------------------------------------------------------------ families


def fam_cast(num):
    c, d, v = start(num, "cast")
    if random.random() < 0.3:
        m = c.view(v)
        nv = c.slice(v, *rand_slice(len(m)))
        if nv is not None:
            v = nv
    m = c.view(v)
    r = random.random()
    if r < 0.06:
        fmt = random.choice(BAD_FORMATS)
    else:
        fmt = rand_fmt(m.nbytes)
    code = fmt[-1] if fmt[-1] in CODES else "B"
    shape = None if random.random() < 0.45 else rand_shape(m.nbytes, ITEMSIZE[code])
    nv = c.cast(v, fmt, shape)
    if nv is None:
        nv = c.cast(v, fmt, None)
        if nv is None:
            return c
    v = nv
    observe(c, v, random.randint(1, 3))
    # second cast: back to bytes, to another format, or with a shape
    m = c.view(v)
    r = random.random()
    if r < 0.4:
        fmt2 = random.choice(["B", "b", "c", "@B"])
        nv = c.cast(v, fmt2, None if random.random() < 0.6 else
                    rand_shape(m.nbytes, 1))
    elif r < 0.7:
        fmt2 = rand_fmt()
        nv = c.cast(v, fmt2, None if random.random() < 0.5 else
                    rand_shape(m.nbytes, ITEMSIZE[fmt2[-1]]))
    else:
        nv = c.cast(v, rand_fmt(), [] if random.random() < 0.3 else None)
    if nv is not None:
        observe(c, nv, random.randint(1, 2))
        if random.random() < 0.4:
            m2 = c.view(nv)
            nv2 = c.cast(nv, rand_fmt(), None if random.random() < 0.5 else
                         rand_shape(m2.nbytes, 1))
            if nv2 is not None:
                observe(c, nv2, 1)
    return c


def fam_slice(num):
    c, d, v = start(num, "slice")
    if random.random() < 0.25:
        v = make_nd_view(c, v)
    else:
        v = make_view(c, v, allow_shape=random.random() < 0.2, slice_p=0.0)
    for _ in range(random.randint(1, 3)):
        m = c.view(v)
        if m.ndim == 0:
            c.slice(v, *rand_slice(1))
            break
        nv = c.slice(v, *rand_slice(m.shape[0]))
        if nv is None:
            continue
        v = nv
        observe(c, v, random.randint(1, 3))
    return c


def fam_index(num):
    c, d, v = start(num, "index", pick_fmt=True)
    r = random.random()
    if r < 0.3:
        v = make_nd_view(c, v)
    elif r < 0.4:
        m = c.view(v)
        code = random.choice([x for x in CODES if m.nbytes == ITEMSIZE[x]] or ["B"])
        nv = c.cast(v, code, [] if m.nbytes == ITEMSIZE[code] else None)
        if nv is not None:
            v = nv
    else:
        v = make_view(c, v, allow_shape=False)
    m = c.view(v)
    for _ in range(random.randint(2, 6)):
        if random.random() < 0.5 and m.ndim == 1:
            c.get(v, rand_index(len(m)))
        elif random.random() < 0.15:
            c.get(v, rand_index(view_shape(m)[0] if m.ndim else 1))
        else:
            c.getm(v, rand_multi_index(m))
    return c


def fam_setitem(num):
    c, d, v = start(num, "setitem", ro=random.random() < 0.12, pick_fmt=True)
    r = random.random()
    if r < 0.2:
        v = make_nd_view(c, v)
    elif r < 0.3:
        m = c.view(v)
        code = random.choice([x for x in CODES if m.nbytes == ITEMSIZE[x]] or ["B"])
        nv = c.cast(v, code, [] if m.nbytes == ITEMSIZE[code] else None)
        if nv is not None:
            v = nv
    else:
        v = make_view(c, v, allow_shape=False)
    m = c.view(v)
    code = m.format[-1]
    for _ in range(random.randint(1, 4)):
        val = rand_value(code if random.random() < 0.9 else rand_code())
        if m.ndim == 1 and random.random() < 0.6:
            i = rand_index(len(m), 0.85)
            ok, _ = c.set(v, i, val)
            idx = None
        else:
            idx = rand_multi_index(m, 0.85)
            ok, _ = c.setm(v, idx, val)
        if random.random() < 0.3:
            c.bytes_(d)
        if ok and random.random() < 0.4:
            if idx is None:
                c.get(v, i)
            else:
                c.getm(v, idx)
    if not c.lines[-2].startswith("bytes "):
        c.bytes_(d)
    return c


def fam_assign(num):
    c, d, v = start(num, "assign", ro=random.random() < 0.1, pick_fmt=True)
    m = c.view(v)
    fmt = c.fmt if random.random() < 0.8 else rand_fmt(m.nbytes)
    if m.nbytes % ITEMSIZE[fmt[-1]] == 0 and random.random() < 0.8:
        nv = c.cast(v, fmt, None)
        if nv is not None:
            v = nv
    if random.random() < 0.1:
        v = make_nd_view(c, v)
    m = c.view(v)
    n = len(m) if m.ndim else 1
    for _ in range(random.randint(1, 3)):
        a, b, s = rand_slice(n)
        if s == 0 and random.random() < 0.7:
            s = None
        try:
            target = len(range(*slice(a, b, s).indices(n)))
        except ValueError:
            target = 0
        # the rvalue: a view of the same data (overlap) or of another data
        r = random.random()
        if r < 0.4:
            src = v
            sm = c.view(src)
            k = len(sm) if sm.ndim else 1
            start_ = random.randint(0, max(0, k - target)) if random.random() < 0.8 else 0
            st = random.choice([1, 1, 1, -1, 2])
            if st == 1:
                rv = c.slice(src, start_, start_ + target, 1)
            elif st == -1:
                rv = c.slice(src, start_ + target - 1 if target else 0, (start_ - 1) if start_ else None, -1)
            else:
                rv = c.slice(src, start_, None, 2)
        else:
            content = rand_content(target * m.itemsize + random.choice([0, 0, 0, 0, m.itemsize, -m.itemsize, 1]))
            d2 = c.data(random.random() < 0.5, content[:max(0, len(content))])
            rv = c.from_data(d2)
            fmt2 = m.format if random.random() < 0.8 else rand_fmt()
            nv = c.cast(rv, fmt2, None) if fmt2 not in ("B",) else rv
            if nv is not None:
                rv = nv
            if random.random() < 0.15:
                rv2 = c.slice(rv, None, None, random.choice([2, -1]))
                if rv2 is not None:
                    rv = rv2
        if rv is None:
            continue
        if random.random() < 0.05:
            c.release(rv)
        ok, _ = c.assign(v, a, b, s, rv)
        if ok or random.random() < 0.2:
            c.bytes_(d)
    if random.random() < 0.3:
        c.tolist(v)
    return c


def fam_tobytes(num):
    c, d, v = start(num, "tobytes", pick_fmt=True)
    if random.random() < 0.6:
        v = make_nd_view(c, v)
    else:
        v = make_view(c, v)
    for _ in range(random.randint(1, 3)):
        o = random.choice("CFACFACFANNXcf")
        c.tobytes(v, o)
    if random.random() < 0.3:
        c.attrs(v)
    return c


def fam_hex(num):
    c, d, v = start(num, "hex", pick_fmt=True)
    r = random.random()
    if r < 0.3:
        v = make_nd_view(c, v)
    elif r < 0.7:
        v = make_view(c, v)
    for _ in range(random.randint(1, 3)):
        if random.random() < 0.2:
            c.hex(v)
            continue
        r = random.random()
        if r < 0.8:
            sep = random.choice(":-_ .|,#=~^xAz0")
        elif r < 0.9:
            sep = random.choice(["ab", "::", "\xe9", "\x80", "\xff", "\x7f", "\x01", "é:"])
        else:
            sep = random.choice([":", "\t"])
        r = random.random()
        if r < 0.7:
            bps = random.choice([1, 2, 3, 4, -1, -2, -3, -4, 0, 5, 8, -8])
        elif r < 0.9:
            bps = random.randint(-70, 70)
        else:
            bps = random.choice([(1 << 31) - 1, -(1 << 31), -(1 << 31) + 1, 1 << 20])
        c.hex(v, sep, bps)
    return c


def fam_eq(num):
    c, d, v = start(num, "eq", pick_fmt=True)
    a = make_view(c, v, allow_shape=random.random() < 0.2)
    r = random.random()
    if r < 0.4:
        b = make_view(c, v, allow_shape=random.random() < 0.2)
    elif r < 0.75:
        ma = c.view(a)
        content = ma.tobytes() if random.random() < 0.6 else rand_content(ma.nbytes)
        if random.random() < 0.3:
            content = bytes(bytearray(content)) + rand_content(random.choice([0, 1, 2, 4]))
        d2 = c.data(None, content)
        v2 = c.from_data(d2)
        fmt = ma.format if random.random() < 0.5 else rand_fmt()
        b = c.cast(v2, fmt, None)
        if b is None:
            b = v2
        if random.random() < 0.2 and ma.ndim > 1:
            nb = c.cast(b, fmt, list(ma.shape))
            if nb is not None:
                b = nb
    else:
        b = a
    if random.random() < 0.06:
        c.release(random.choice([a, b]))
    c.eq(a, b)
    c.eq(b, a)
    if random.random() < 0.4:
        c.eq(a, a)
    if random.random() < 0.5:
        ma = c.view(a)
        try:
            content = ma.tobytes()
        except ValueError:
            content = b"x"
        if random.random() < 0.3:
            content = rand_content(len(content) + random.choice([0, 0, 1, -1]))
        c.eqb(a, content)
    return c


def fam_hash(num):
    c, d, v = start(num, "hash", ro=random.random() < 0.8)
    r = random.random()
    if r < 0.6:
        fmt = random.choice(["B", "b", "c", "@B", "@b", "@c"]) if random.random() < 0.8 else rand_fmt()
        m = c.view(v)
        shape = None
        if random.random() < 0.2 and m.nbytes:
            shape = factorize(m.nbytes // ITEMSIZE[fmt[-1]] or 1, random.choice([1, 2, 3]))
        nv = c.cast(v, fmt, shape)
        if nv is None:
            nv = c.cast(v, fmt, None)
        if nv is not None:
            v = nv
    if random.random() < 0.4:
        m = c.view(v)
        if m.ndim >= 1:
            nv = c.slice(v, *rand_slice(m.shape[0]))
            if nv is not None:
                v = nv
    if random.random() < 0.5:
        c.hash(v)
    elif random.random() < 0.5:
        nv = c.ro(v)
        if nv is not None and isinstance(c.datas[d], bytes):
            v = nv
            c.hash(v)
        else:
            c.hash(v)
    else:
        c.hash(v)
        c.hash(v)
    if random.random() < 0.15:
        c.release(v)
        c.hash(v)
    return c


def on_released(c, s):
    """Any op on a released view."""
    m = c.view(s)
    op = random.choice(["get", "getm", "set", "setm", "slice", "cast", "tobytes", "hex",
                        "tolist", "len", "attrs", "hash", "ro", "mview", "export", "assign",
                        "eq", "eqself", "eqb", "release"])
    if op == "get":
        c.get(s, random.choice([0, -1, 5]))
    elif op == "getm":
        c.getm(s, random.choice([[], [0], [0, 0]]))
    elif op == "set":
        c.set(s, 0, ("int 1", 1))
    elif op == "setm":
        c.setm(s, random.choice([[], [0]]), ("int 1", 1))
    elif op == "slice":
        c.slice(s, *rand_slice(4))
    elif op == "cast":
        c.cast(s, random.choice(["B", "i", "x"]), random.choice([None, [], [2]]))
    elif op == "tobytes":
        c.tobytes(s, random.choice("CFAX"))
    elif op == "hex":
        c.hex(s) if random.random() < 0.5 else c.hex(s, ":", 2)
    elif op == "tolist":
        c.tolist(s)
    elif op == "len":
        c.len(s)
    elif op == "attrs":
        c.attrs(s)
    elif op == "hash":
        c.hash(s)
    elif op == "ro":
        c.ro(s)
    elif op == "mview":
        c.mview(s)
    elif op == "export":
        c.export(s)
    elif op == "assign":
        live = c.live()
        if live:
            if random.random() < 0.5:
                c.assign(s, None, None, None, random.choice(live))
            else:
                c.assign(random.choice(live), 0, 1, None, s)
    elif op == "eq":
        live = c.live()
        if live:
            c.eq(s, random.choice(live))
    elif op == "eqself":
        c.eq(s, s)
    elif op == "eqb":
        c.eqb(s, b"")
    elif op == "release":
        c.release(s)
    del m


def fam_life(num):
    c, d, v = start(num, "life", ro=random.random() < 0.4)
    views = [v]
    for _ in range(random.randint(3, 9)):
        live = c.live()
        r = random.random()
        if r < 0.15 and live:
            nv = c.ro(random.choice(live))
            if nv is not None:
                views.append(nv)
                if random.random() < 0.6:
                    m = c.view(nv)
                    if m.ndim == 1 and len(m):
                        c.set(nv, 0, rand_value(m.format[-1]))
                    elif m.ndim == 0:
                        c.setm(nv, [], rand_value(m.format[-1]))
                    else:
                        c.setm(nv, [0] * m.ndim, rand_value(m.format[-1]))
        elif r < 0.25 and live:
            nv = c.mview(random.choice(live))
            if nv is not None:
                views.append(nv)
        elif r < 0.35 and live:
            nv = make_view(c, random.choice(live))
            views.append(nv)
        elif r < 0.5 and live:
            c.release(random.choice(live))
        elif r < 0.6 and live:
            c.export(random.choice(live))
        elif r < 0.67:
            xs = [i for i, x in enumerate(c.exports) if x is not None]
            if xs:
                c.unexport(random.choice(xs))
        elif r < 0.75 and isinstance(c.datas[d], bytearray):
            n = len(c.datas[d])
            choices = [k for k in (0, n + 1, n + 8, max(0, n - 1), n // 2) if k != n]
            if choices:
                c.resize(d, random.choice(choices))
                if random.random() < 0.5:
                    c.bytes_(d)
        elif r < 0.82 and live:
            s = random.choice(live)
            m = c.view(s)
            if m.ndim == 1 and len(m) and not m.readonly:
                c.set(s, rand_index(len(m)), rand_value(m.format[-1]))
            else:
                observe(c, s, 1)
        else:
            dead = [i for i, m in enumerate(c.views) if m is not None and is_released(m)]
            if dead:
                on_released(c, random.choice(dead))
            elif live:
                c.release(random.choice(live))
    # finally: try to release everything, then resize
    if isinstance(c.datas[d], bytearray) and random.random() < 0.5:
        for x in [i for i, x in enumerate(c.exports) if x is not None]:
            c.unexport(x)
        for s in c.live():
            c.release(s)
        n = len(c.datas[d])
        c.resize(d, n + 3 if random.random() < 0.5 or n == 0 else n - 1)
        c.bytes_(d)
    return c


def fam_misc(num):
    c, d, v = start(num, "misc", pick_fmt=True)
    r = random.random()
    if r < 0.35:
        v = make_nd_view(c, v)
    elif r < 0.5:
        m = c.view(v)
        code = random.choice([x for x in CODES if m.nbytes == ITEMSIZE[x]] or ["B"])
        nv = c.cast(v, code, [] if m.nbytes == ITEMSIZE[code] else None)
        if nv is not None:
            v = nv
    else:
        v = make_view(c, v)
    c.attrs(v)
    c.len(v)
    c.tolist(v)
    if random.random() < 0.3:
        c.tobytes(v, random.choice("CFA"))
    return c


FAMILIES = [
    (fam_cast, 3100),
    (fam_slice, 2500),
    (fam_index, 2500),
    (fam_setitem, 3100),
    (fam_assign, 1900),
    (fam_tobytes, 1800),
    (fam_hex, 1300),
    (fam_eq, 2200),
    (fam_hash, 1300),
    (fam_life, 2200),
    (fam_misc, 900),
]


def main():
    random.seed(SEED)
    out = ["# memview conformance vectors, generated by tests/gen_vectors.py from CPython %s" %
           sys.version.split()[0], "# seed %d; see the script for the format" % SEED]
    num = 0
    for fn, count in FAMILIES:
        for _ in range(count):
            c = fn(num)
            c.cleanup()
            out.extend(c.lines)
            num += 1
    out.append("end %d" % num)
    text = "\n".join(out) + "\n"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="ascii") as f:
        f.write(text)
    print("%s: %d cases, %d bytes" % (OUT, num, len(text)), file=sys.stderr)


if __name__ == "__main__":
    main()
