"""Random streams organised for common random numbers.

A run draws every random number from a stream named by its purpose (``churn``,
``touchpoint:onboarding:noise``…) and the month. Each stream is a fresh PCG64 generator
seeded by a `numpy.random.SeedSequence` whose spawn key is (replication, month, purpose), and
it draws one number per person in the market. So two scenarios run with the same seed give
person i the same number for the same purpose in the same month, whatever else differs —
adding a touchpoint or a segment does not shift anyone's other draws. No global random state
is used anywhere.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.special import ndtri


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

    def generator(self, purpose: str, month: int) -> np.random.Generator:
        """The generator of one purpose in one month (a fresh, independent stream)."""
        key = (*self._key, month, purpose_key(purpose))
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(self._entropy, spawn_key=key))
        )

    def uniform(self, purpose: str, month: int, who: np.ndarray | None = None) -> np.ndarray:
        """One U(0,1) float32 per person (or for the people indexed by `who`)."""
        u = self.generator(purpose, month).random(self.size, dtype=np.float32)
        return u if who is None else u[who]

    def normal(self, purpose: str, month: int, who: np.ndarray | None = None) -> np.ndarray:
        """One N(0,1) float32 per person (or for the people indexed by `who`).

        Drawn by inversion of the person's uniform, so only the people needed pay for the
        transformation while each person's number stays the same whoever else is drawn.
        """
        u = self.uniform(purpose, month, who)
        return ndtri(np.clip(u, _TINY, 1.0 - _TINY)).astype(np.float32, copy=False)


_TINY = np.float32(2.0**-25)
