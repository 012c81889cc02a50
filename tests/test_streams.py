"""Random streams: the generator against its published definition, the normal quantile
against SciPy, and the properties common random numbers rely on."""

from __future__ import annotations

import os
import zlib

import numba
import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

from sim import compiled
from sim.streams import Streams, inverse_normal_cdf, normal_at, splitmix64, uniform_at


def streams(size: int, seed: int = 42, replication: int = 0) -> Streams:
    return Streams(np.random.SeedSequence(seed, spawn_key=(replication,)), size)


def test_splitmix64_gives_the_reference_outputs():
    # The first outputs of Vigna's splitmix64.c seeded with 1234567.
    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423]
    got = [int(splitmix64(np.uint64(1234567), np.uint64(i))) for i in range(3)]
    assert got == expected


@pytest.mark.parametrize(
    "seed", [0, 1, 7, 2**32 - 1, 2**32 + 5, 2**63 + 11, 2**100 + 3, 2**200 + 12345, None]
)
def test_a_streams_key_is_numpys_seed_sequence_state(seed):
    """A stream's key is the first 64-bit word of the state of
    ``SeedSequence(seed, spawn_key=(replication, month, purpose))``, computed without numpy's
    object: the same number for any seed (one to seven words, or fresh entropy), replication,
    month (warm-up months included) and purpose."""
    draws = np.random.default_rng(5)
    for replication in (0, 1, 37, 2**33 + 1):
        sequence = np.random.SeedSequence(seed, spawn_key=(replication,))
        streams = Streams(sequence, 10)
        for month in (0, 1, 2, 599, 1_000_003, int(draws.integers(0, 2**32))):
            for purpose in ("churn", "touchpoint:onboarding:noise", f"p{draws.integers(9**9)}"):
                code = zlib.crc32(purpose.encode())
                spawned = np.random.SeedSequence(
                    sequence.entropy, spawn_key=(replication, month, code)
                )
                expected = spawned.generate_state(1, np.uint64)[0]
                assert streams.key(purpose, month) == expected
                # the same for a firm's view of the streams (a person draws alike at any firm)
                assert streams.for_firm(2).key(purpose, month) == expected
    with pytest.raises(ValueError, match="month"):
        streams.key("churn", 2**32)


def test_inverse_normal_cdf_matches_scipy_to_double_precision():
    p = np.concatenate(
        [np.logspace(-300, -1, 400), np.linspace(0.01, 0.99, 999), 1.0 - np.logspace(-15, -1, 200)]
    )
    mine = np.array([inverse_normal_cdf(x) for x in p])
    reference = ndtri(p)
    assert np.max(np.abs(mine - reference) / np.abs(reference).clip(1e-300)) < 1e-14
    # Both branch boundaries of AS 241 (|p - 1/2| = 0.425 and r = 5) are continuous.
    for edge in (0.075, 0.925, np.exp(-25.0)):
        below, above = np.nextafter(edge, 0.0), np.nextafter(edge, 1.0)
        assert abs(inverse_normal_cdf(above) - inverse_normal_cdf(below)) < 1e-12


def test_uniforms_and_normals_have_their_distributions():
    s = streams(1_000_000)
    u, z = s.uniform("a", 3), s.normal("b", 3)
    assert u.dtype == np.float32 and z.dtype == np.float32
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 0.01
    assert stats.kstest(z, "norm").pvalue > 0.01
    # Standard errors over 10⁶ draws: 0.001 for the mean, 0.0007 for the sd; allow 5 and 7.
    assert abs(z.mean()) < 5 / 1000 and abs(z.std() - 1.0) < 5 / 1000
    # 24 random bits: every uniform is a multiple of 2⁻²⁴, and the cells drawn are as many
    # as 10⁶ independent draws from 2²⁴ cells give: N·(1 − e^(−n/N)) on average, the
    # shortfall (about 29,000 repeats) being roughly Poisson; allow 5 sd of it.
    cells = u.astype(np.float64) * 2**24
    assert (cells == np.floor(cells)).all()
    n, cells_total = len(u), 2.0**24
    distinct = cells_total * -np.expm1(-n / cells_total)
    assert len(np.unique(cells)) == pytest.approx(distinct, abs=5 * np.sqrt(n - distinct))
    assert np.abs(z).max() < 5.5


def test_streams_of_purposes_months_and_replications_are_uncorrelated():
    s, other = streams(200_000), streams(200_000, replication=1)
    base = s.uniform("churn", 5)
    for u in (s.uniform("repeat", 5), s.uniform("churn", 6), other.uniform("churn", 5)):
        assert abs(np.corrcoef(base, u)[0, 1]) < 4 / np.sqrt(len(u))
    # Neighbouring people are independent too (lag-1 autocorrelation).
    assert abs(np.corrcoef(base[:-1], base[1:])[0, 1]) < 4 / np.sqrt(len(base))


def test_a_persons_number_does_not_depend_on_who_else_draws():
    small, large = streams(1_000), streams(50_000)
    who = np.array([3, 17, 999])
    for draw in ("uniform", "normal"):
        everyone = getattr(large, draw)("touchpoint:x", 7)
        assert np.array_equal(getattr(small, draw)("touchpoint:x", 7)[who], everyone[who])
        assert np.array_equal(getattr(large, draw)("touchpoint:x", 7, who), everyone[who])
    # The same seed gives the same numbers; another seed does not.
    assert np.array_equal(streams(1_000).uniform("a", 1), streams(1_000).uniform("a", 1))
    assert not np.array_equal(streams(1_000).uniform("a", 1), streams(1_000, 7).uniform("a", 1))


def test_a_normal_is_the_quantile_of_its_uniforms_cell():
    s = streams(10_000)
    u, z = s.uniform("a", 2), s.normal("a", 2)
    cell = np.round(u.astype(np.float64) * 2**24)
    assert np.allclose(z, ndtri((cell + 0.5) / 2**24), rtol=1e-6, atol=1e-6)


def test_compiled_code_is_cached_per_version_of_the_source(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    compiled.use_cache_for_this_source()
    expected = tmp_path / "cxm-lab" / "numba" / compiled.code_digest()[:16]
    assert os.environ["NUMBA_CACHE_DIR"] == str(expected)
    assert str(expected) == numba.config.CACHE_DIR  # numba was imported first: set in place
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/somewhere/else")
    compiled.use_cache_for_this_source()
    assert os.environ["NUMBA_CACHE_DIR"] == "/somewhere/else"


def test_compiled_code_falls_back_to_a_private_temporary_folder(monkeypatch, tmp_path):
    blocked = tmp_path / "a-file"  # no folder can be made inside a file, even by root
    blocked.write_text("")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    monkeypatch.setenv("HOME", str(blocked))
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(compiled.tempfile, "gettempdir", lambda: str(temporary))
    compiled.use_cache_for_this_source()
    private = temporary / f"cxm-lab-{os.getuid()}"
    assert os.environ["NUMBA_CACHE_DIR"].startswith(str(private))
    assert private.stat().st_mode & 0o777 == 0o700
    # A folder of that name that others may write is not used.
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    private.chmod(0o777)
    compiled.use_cache_for_this_source()
    assert "NUMBA_CACHE_DIR" not in os.environ


def test_bulk_and_single_normal_draws_are_the_same_numbers():
    s = streams(3_000_000)
    key = s.key("a", 4)
    who = np.arange(0, 3_000_000, 7)
    bulk = s.normal("a", 4, who)
    single = np.array([normal_at(key, i) for i in who[:20_000]])
    assert np.array_equal(bulk[:20_000], single)
    uniform = np.array([uniform_at(key, i) for i in who[:20_000]])
    assert np.array_equal(s.uniform("a", 4, who)[:20_000], uniform)
    # A boolean mask picks the same people as their indices.
    mask = np.zeros(3_000_000, dtype=bool)
    mask[who] = True
    assert np.array_equal(s.normal("a", 4, mask), bulk)
