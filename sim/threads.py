"""How many threads the per-person passes of the vector engine use.

The compiled passes over people (a touchpoint's interactions, survey ratings, peak-end
memory, the per-person random streams) loop over a range of people on the calling thread;
spread, the same loop runs on blocks of `BLOCK` people over numba's thread pool (``prange``
over the blocks). Each person's numbers come from their own counter-based stream and each
pass writes only that person's entries, so the order in which threads take people does not
matter; what a pass adds up over people is added afterwards, in people order, on one thread.
A run therefore gives the same numbers, bit for bit, on 1, 2 or 4 threads
(tests/test_threads.py).

A pass over fewer than `PARALLEL_FROM` people stays on one thread: waking the pool costs
more than it saves there (small runs, the agents engine's one customer at a time). The
thread count is the process's (numba's ``set_num_threads``): `set_threads` sets it, the
commands' ``--threads`` option calls it, and by default it is every core numba sees
(``NUMBA_NUM_THREADS``). Worker processes of a Dask sweep run one thread each, so that two
workers on two cores do not each start two threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numba

PARALLEL_FROM = 50_000
"""Fewest people a pass spreads over the threads (below it: one thread)."""
BLOCK = 8_192
"""People per block of a pass spread over the threads: each block is the one-thread loop
over its people, so the threads share the work in blocks and the rule is written once."""


def available() -> int:
    """The most threads this process can use: numba's ``NUMBA_NUM_THREADS`` (by default
    the machine's cores)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def set_threads(count: int | None = None) -> int:
    """Use `count` threads for the per-person passes (None: every core, `available`);
    returns the count. Raises ValueError if `count` is not between 1 and `available`."""
    most = available()
    chosen = most if count is None else count
    if not isinstance(chosen, int) or isinstance(chosen, bool) or not 1 <= chosen <= most:
        raise ValueError(f"threads: got {count!r}; must be a whole number from 1 to {most}")
    numba.set_num_threads(chosen)
    return chosen


def threads() -> int:
    """The threads the per-person passes use now."""
    return int(numba.get_num_threads())


def spread(people: int) -> bool:
    """Whether a pass over `people` people runs on the thread pool."""
    return people >= PARALLEL_FROM and numba.get_num_threads() > 1


_LAUNCH = threading.Lock()


def on_pool(kernel: Callable[..., Any], *args: Any) -> Any:
    """Run the parallel `kernel` on the thread pool, one launch at a time in this process:
    numba's fallback threading layer (``workqueue``, where neither OpenMP nor TBB is
    installed) stops the process if two Python threads launch parallel code at once."""
    with _LAUNCH:
        return kernel(*args)
