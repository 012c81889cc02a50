"""Random streams organised for common random numbers.

A run draws every random number from a stream named by its purpose (``churn``,
``touchpoint:onboarding:noise``…) and the month. Each stream has a 64-bit key taken from a
`numpy.random.SeedSequence` whose spawn key is (replication, month, purpose), and person i's
number in it is the i-th output of SplitMix64 started at that key (Steele, Lea & Flood 2014):
a counter-based generator, so a person's number is computed directly from their index,
without drawing anyone else's. Two scenarios run with the same seed therefore give person i
the same number for the same purpose in the same month, whatever else differs (adding a
touchpoint or a segment does not shift anyone's other draws), and a month costs only the
draws of the people who need them. No global random state is used anywhere.

Uniforms have 24 random bits (float32 resolution) in [0, 1). A normal is the inverse normal
CDF of the midpoint of the same 24-bit cell, (k + ½)·2⁻²⁴, by Wichura's (1988) algorithm
AS 241 (within about 1e-15 of SciPy's ``ndtri``), so it is finite (|z| < 5.5) and each
person's normal is the same whoever else is drawn.

Anything that draws a variable count of numbers (a yes/no event of the month) takes a whole
PCG64 generator of its own (`Streams.generator`). What is a function of its inputs alone,
whatever the replication or month (the contact centre's representative period at a load),
takes a generator keyed by the seed, a purpose and those inputs (`Streams.shared_generator`),
so every run of the seed that needs it computes the same thing and may reuse it.
"""

from __future__ import annotations

import copy
import hashlib
import zlib

import numba
import numpy as np

from sim.threads import on_pool, spread


def purpose_key(purpose: str) -> int:
    """Stable 32-bit key of a purpose name (CRC-32, identical across runs and machines)."""
    return zlib.crc32(purpose.encode())


class Streams:
    """Per-purpose, per-month random numbers for one replication.

    Args:
        seed_sequence: the replication's seed sequence, ``SeedSequence(seed, spawn_key=(r,))``.
        size: how many people draw (one number each per purpose and month).
    """

    def __init__(self, seed_sequence: np.random.SeedSequence, size: int) -> None:
        self._entropy = seed_sequence.entropy
        self._key = tuple(seed_sequence.spawn_key)
        self.size = size
        if seed_sequence.pool_size != _POOL_SIZE:
            raise ValueError(f"seed_sequence: pool_size must be {_POOL_SIZE}")
        entropy = _uint32_words(self._entropy)
        entropy += [0] * (_POOL_SIZE - len(entropy))
        entropy += [word for part in self._key for word in _uint32_words(part)]
        # The seed sequence's pool after the seed and the replication: each stream's key
        # goes on from it with the month and the purpose.
        self._pool = np.array(_mixed(np.array(entropy, dtype=np.uint64)), dtype=np.uint64)
        self._purposes: dict[str, int] = {}
        self._firm = 0

    def for_firm(self, firm: int) -> Streams:
        """The streams as firm `firm` of a market draws them: the same per-person numbers
        (a person draws the same number whichever firm they are with), and generators of
        their own (`generator`) for firms after the first, so that two firms' privacy
        incidents or staff leavers are independent. Firm 0's are the market's."""
        view = copy.copy(self)
        view._firm = int(firm)
        return view

    def _sequence(self, purpose: str, month: int) -> np.random.SeedSequence:
        key = (*self._key, month, purpose_key(purpose))
        return np.random.SeedSequence(self._entropy, spawn_key=key)

    def generator(self, purpose: str, month: int) -> np.random.Generator:
        """The generator of one purpose in one month (a fresh, independent PCG64 stream),
        for draws whose count varies."""
        if self._firm:
            purpose = f"{purpose}@firm{self._firm}"
        return np.random.Generator(np.random.PCG64(self._sequence(purpose, month)))

    @property
    def entropy(self) -> int:
        """The seed's entropy: what every replication of the seed shares."""
        return int(self._entropy)

    def shared_generator(self, purpose: str, detail: str) -> np.random.Generator:
        """A generator of the seed for one purpose and one `detail` (a text naming the
        inputs it serves), the same in every replication and month: a fresh PCG64 stream
        keyed by the seed's entropy, the purpose and a 128-bit BLAKE2b digest of `detail`."""
        digest = hashlib.blake2b(detail.encode(), digest_size=16).digest()
        words = np.frombuffer(digest, dtype="<u4").tolist()
        sequence = np.random.SeedSequence(self._entropy, spawn_key=(purpose_key(purpose), *words))
        return np.random.Generator(np.random.PCG64(sequence))

    def key(self, purpose: str, month: int) -> np.uint64:
        """The 64-bit key of one purpose's per-person stream in one month: the first 64-bit
        word of ``SeedSequence(entropy, spawn_key=(*replication, month, purpose))``'s
        state, computed without building one (`_mixed`, `_stream_key`; the same number)."""
        code = self._purposes.get(purpose)
        if code is None:
            code = self._purposes[purpose] = purpose_key(purpose)
        if not 0 <= month <= 0xFFFFFFFF:
            raise ValueError(f"month: got {month}; must be a whole number in [0, 2**32)")
        return np.uint64(_stream_key(self._pool, month, code))

    def uniform(self, purpose: str, month: int, who: np.ndarray | None = None) -> np.ndarray:
        """One U(0,1) float32 per person (or for the people `who` indexes or masks)."""
        return _draw(self.key(purpose, month), self._people(who), False)

    def normal(self, purpose: str, month: int, who: np.ndarray | None = None) -> np.ndarray:
        """One N(0,1) float32 per person (or for the people `who` indexes or masks)."""
        return _draw(self.key(purpose, month), self._people(who), True)

    def _people(self, who: np.ndarray | None) -> np.ndarray:
        if who is None:
            return np.arange(self.size, dtype=np.int64)
        who = np.asarray(who)
        return np.flatnonzero(who) if who.dtype == np.bool_ else who


_POOL_SIZE = 4
"""numpy's `SeedSequence` pool size (32-bit words), the default."""
_MASK32 = np.uint64(0xFFFFFFFF)
_INIT_A = np.uint64(0x43B0D7E5)
_MULT_A = np.uint64(0x931E8875)
_INIT_B = np.uint64(0x8B51F9DD)
_MULT_B = np.uint64(0x58F38DED)
_MIX_MULT_L = np.uint64(0xCA01F9DD)
_MIX_MULT_R = np.uint64(0x4973F715)
_XSHIFT = np.uint64(16)


def _uint32_words(value: object) -> list[int]:
    """A non-negative integer, or a sequence of them, as numpy's `SeedSequence` splits it
    into 32-bit words (least significant first; 0 is one word)."""
    if isinstance(value, (int, np.integer)):
        number = int(value)
        if number < 0:
            raise ValueError(f"seed: got {number}; must be a whole number >= 0")
        words = [number & 0xFFFFFFFF]
        while number > 0xFFFFFFFF:
            number >>= 32
            words.append(number & 0xFFFFFFFF)
        return words
    return [word for part in value for word in _uint32_words(part)]  # type: ignore[attr-defined]


@numba.njit(cache=True, nogil=True)
def _hashmix(value: np.uint64, hash_const: np.uint64) -> tuple[np.uint64, np.uint64]:
    value = (value ^ hash_const) & _MASK32
    hash_const = (hash_const * _MULT_A) & _MASK32
    value = (value * hash_const) & _MASK32
    return value ^ (value >> _XSHIFT), hash_const


@numba.njit(cache=True, nogil=True)
def _mix(x: np.uint64, y: np.uint64) -> np.uint64:
    result = (_MIX_MULT_L * x - _MIX_MULT_R * y) & _MASK32
    return result ^ (result >> _XSHIFT)


@numba.njit(cache=True, nogil=True)
def _mixed(entropy: np.ndarray) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64, np.uint64]:
    """numpy `SeedSequence`'s pool (four 32-bit words) and running hash constant after
    mixing in the assembled entropy `entropy` (the seed's words padded to the pool size,
    then the spawn key's): the hash and mix of O'Neill's ``seed_seq`` alternative as numpy
    does it, in 64-bit arithmetic masked to 32 bits. tests/test_streams.py checks the keys
    it leads to against numpy's."""
    pool = np.zeros(_POOL_SIZE, dtype=np.uint64)
    hash_const = _INIT_A
    for i in range(_POOL_SIZE):
        pool[i], hash_const = _hashmix(entropy[i], hash_const)
    for i_src in range(_POOL_SIZE):
        for i_dst in range(_POOL_SIZE):
            if i_src != i_dst:
                hashed, hash_const = _hashmix(pool[i_src], hash_const)
                pool[i_dst] = _mix(pool[i_dst], hashed)
    for i_src in range(_POOL_SIZE, entropy.size):
        for i_dst in range(_POOL_SIZE):
            hashed, hash_const = _hashmix(entropy[i_src], hash_const)
            pool[i_dst] = _mix(pool[i_dst], hashed)
    return pool[0], pool[1], pool[2], pool[3], hash_const


@numba.njit(cache=True, nogil=True)
def _stream_key(mixed: np.ndarray, month: np.uint64, purpose: np.uint64) -> np.uint64:
    """The first 64-bit word of ``generate_state`` of the seed sequence whose pool after
    its seed and replication is ``mixed[:4]`` (with hash constant ``mixed[4]``, as `_mixed`
    returns them) and whose spawn key goes on with `month` and `purpose` (one 32-bit word
    each)."""
    pool = mixed[:4].copy()
    hash_const = mixed[4]
    for word in (np.uint64(month), np.uint64(purpose)):
        for i_dst in range(_POOL_SIZE):
            hashed, hash_const = _hashmix(word, hash_const)
            pool[i_dst] = _mix(pool[i_dst], hashed)
    hash_const = _INIT_B
    key = np.uint64(0)
    for i in range(2):
        value = (pool[i] ^ hash_const) & _MASK32
        hash_const = (hash_const * _MULT_B) & _MASK32
        value = (value * hash_const) & _MASK32
        key |= (value ^ (value >> _XSHIFT)) << np.uint64(32 * i)
    return key


def _draw(key: np.uint64, who: np.ndarray, normal: bool) -> np.ndarray:
    out = np.empty(who.shape, dtype=np.float32)
    if who.size:
        if spread(who.size):
            on_pool(_normals_spread if normal else _uniforms_spread, key, who.ravel(), out.ravel())
        else:
            (_normals if normal else _uniforms)(key, who.ravel(), out.ravel())
    return out


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)
_BITS = np.uint64(40)  # 64 - 24: keep the top 24 bits
_CELL = 2.0**-24


@numba.njit(cache=True, nogil=True)
def splitmix64(key: np.uint64, index: np.uint64) -> np.uint64:
    """Output number `index` (0-based) of SplitMix64 seeded with `key`."""
    z = key + (index + _ONE) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def _cell(key: np.uint64, index: np.int64) -> np.int32:
    """The top 24 bits of person `index`'s number in the stream of `key`."""
    return np.int32(splitmix64(key, np.uint64(index)) >> _BITS)


@numba.njit(cache=True, nogil=True)
def uniform_at(key: np.uint64, index: np.int64) -> np.float32:
    """Person `index`'s U(0,1) number in the stream of `key` (as `Streams.uniform`)."""
    return np.float32(_cell(key, index) * _CELL)


@numba.njit(cache=True, nogil=True)
def normal_at(key: np.uint64, index: np.int64) -> np.float32:
    """Person `index`'s N(0,1) number in the stream of `key` (as `Streams.normal`)."""
    return np.float32(inverse_normal_cdf((_cell(key, index) + 0.5) * _CELL))


@numba.njit(cache=True, nogil=True)
def _uniforms(key: np.uint64, who: np.ndarray, out: np.ndarray) -> None:
    for j in range(who.size):
        out[j] = uniform_at(key, who[j])


@numba.njit(cache=True, nogil=True, parallel=True)
def _uniforms_spread(key: np.uint64, who: np.ndarray, out: np.ndarray) -> None:
    for j in numba.prange(who.size):  # `_uniforms` over the threads (`sim.threads`)
        out[j] = uniform_at(key, who[j])


@numba.njit(cache=True, nogil=True)
def _normals(key: np.uint64, who: np.ndarray, out: np.ndarray) -> None:
    for j in range(who.size):
        out[j] = normal_at(key, who[j])


@numba.njit(cache=True, nogil=True, parallel=True)
def _normals_spread(key: np.uint64, who: np.ndarray, out: np.ndarray) -> None:
    for j in numba.prange(who.size):  # `_normals` over the threads (`sim.threads`)
        out[j] = normal_at(key, who[j])


@numba.njit(cache=True, nogil=True)
def inverse_normal_cdf(p: float) -> float:
    """The standard normal quantile of `p` in (0, 1): Wichura (1988), algorithm AS 241
    (PPND16), accurate to about 1e-15 relative."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (
            ((((((2509.0809287301226727 * r + 33430.575583588128105) * r
            + 67265.770927008700853) * r + 45921.953931549871457) * r
            + 13731.693765509461125) * r + 1971.5909503065514427) * r
            + 133.14166789178437745) * r + 3.387132872796366608
        )  # fmt: skip
        den = (
            ((((((5226.495278852545561 * r + 28729.085735721942674) * r
            + 39307.89580009271061) * r + 21213.794301586595867) * r
            + 5394.1960214247511077) * r + 687.1870074920579083) * r
            + 42.313330701600911252) * r + 1.0
        )  # fmt: skip
        return q * num / den
    r = np.sqrt(-np.log(p if q < 0.0 else 1.0 - p))
    if r <= 5.0:
        r -= 1.6
        num = (
            ((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r
            + 0.24178072517745061177) * r + 1.27045825245236838258) * r
            + 3.64784832476320460504) * r + 5.7694972214606914055) * r
            + 4.6303378461565452959) * r + 1.42343711074968357734
        )  # fmt: skip
        den = (
            ((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r
            + 0.0151986665636164571966) * r + 0.14810397642748007459) * r
            + 0.68976733498510000455) * r + 1.6763848301838038494) * r
            + 2.05319162663775882187) * r + 1.0
        )  # fmt: skip
    else:
        r -= 5.0
        num = (
            ((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
            + 0.0012426609473880784386) * r + 0.026532189526576123093) * r
            + 0.29656057182850489123) * r + 1.7848265399172913358) * r
            + 5.4637849111641143699) * r + 6.6579046435011037772
        )  # fmt: skip
        den = (
            ((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r
            + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r
            + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
            + 0.59983220655588793769) * r + 1.0
        )  # fmt: skip
    z = num / den
    return -z if q < 0.0 else z
