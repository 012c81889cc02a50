"""How many threads the per-person passes of the vector engine use.

The compiled passes over people (the month's touchpoints, survey, ratings, memory, churn
considerations and decisions, the per-person random streams) loop over a range of people on
the calling thread;
spread, the same loop runs on blocks of `BLOCK` people over numba's thread pool (``prange``
over the blocks). Each person's numbers come from their own counter-based stream and each
pass writes only that person's entries, so the order in which threads take people does not
matter; what a pass adds up over people is added afterwards, in people order, on one thread.
A run therefore gives the same numbers, bit for bit, on 1, 2 or 4 threads
(tests/test_threads.py).

Passes written in numpy rather than compiled (a phase's elementwise arithmetic over the
month's customers) spread the same way with `blocks`: the people are cut into one
consecutive range per thread and each range runs the phase's own code on a Python thread
(numpy leaves the interpreter's lock while it loops over an array, and the compiled rules
are built ``nogil``); what each range returns comes back in people order, so the numbers
are those of one range over everyone. Inside a range the compiled passes stay on their
thread (`spread` is False there). Gathers over the customers are one compiled pass
(`gather`), positions two (`positions`; numpy's ``flatnonzero`` where they are not spread,
which is faster on one thread).

Markets of `PARALLEL_FROM` people or more also keep freed memory for their next arrays
(`reuse_freed_memory`), so that the threads do not wait for each other's page faults.

A pass over fewer than `PARALLEL_FROM` people stays on one thread: waking the pool costs
more than it saves there (small runs, the agents engine's one customer at a time). The
thread count is the process's (numba's ``set_num_threads``): `set_threads` sets it, the
commands' ``--threads`` option calls it, and by default it is every core numba sees
(``NUMBA_NUM_THREADS``). Worker processes of a Dask sweep run one thread each, so that two
workers on two cores do not each start two threads.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numba
import numpy as np

PARALLEL_FROM = 50_000
"""Fewest people a pass spreads over the threads (below it: one thread)."""
BLOCK = 8_192
"""People per block of a pass spread over the threads: each block is the one-thread loop
over its people, so the threads share the work in blocks and the rule is written once."""


@numba.njit(cache=True, nogil=True)
def block_count(people: int) -> int:
    """How many blocks of `BLOCK` people cover `people` people (the last one may be
    short): the ``prange`` of every pass spread in blocks, and the rows of their tallies."""
    return (people + BLOCK - 1) // BLOCK


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
    """Whether a pass over `people` people runs on the thread pool (never inside one of
    `blocks`' ranges, which already share the threads)."""
    return (
        people >= PARALLEL_FROM
        and numba.get_num_threads() > 1
        and not getattr(_RANGE, "inside", False)
    )


_RANGE = threading.local()
"""``inside`` is True on a thread while it runs one of `blocks`' ranges."""
_POOLS: dict[int, ThreadPoolExecutor] = {}
"""Python threads of `blocks`, by their count (made when first needed, kept for the
process; a forked child, which has none of its parent's threads, makes its own)."""
os.register_at_fork(after_in_child=_POOLS.clear)
_RUN_BEFORE: set[object] = set()
"""The code of every pass `blocks` has spread in this process. A pass's first spread runs
its ranges one after the other on the calling thread: the numba ufuncs it calls compile for
new argument types on first use, and two threads compiling the same one at once would both
do it (numba warns)."""


def blocks[T](people: int, part: Callable[[slice], T]) -> list[T]:
    """``part(range)`` for consecutive ranges of people (slices) that cover 0 to `people`
    − 1 in order, and what each returned, in that order: one range on this thread when the
    pass is not spread (`spread`), else one range per thread, run at once (one after the
    other the first time, `_RUN_BEFORE`). `part` must write only its own people's entries
    and leave sums over people to its caller."""
    if not spread(people):
        return [part(slice(0, people))]
    count = threads()
    bounds = [people * i // count for i in range(count + 1)]
    ranges = [slice(bounds[i], bounds[i + 1]) for i in range(count)]
    code = getattr(part, "__code__", part)
    if code not in _RUN_BEFORE:  # the first time: rules compiled on first use compile once
        _RUN_BEFORE.add(code)
        return [_inside(part, people_range) for people_range in ranges]
    return _at_once(ranges, part)


def count(people: int, test: Callable[[slice], np.ndarray]) -> int:
    """How many of 0 to `people` − 1 pass ``test(range)`` (booleans of the range), counted
    by `blocks`' ranges (a whole number: the same in any order; `test` uses numpy only, as
    the ranges share one first spread, `_RUN_BEFORE`)."""
    return sum(blocks(people, lambda range_: int(np.count_nonzero(test(range_)))))


def _at_once[A, T](each: list[A], task: Callable[[A], T]) -> list[T]:
    """``task(item)`` for every item of `each` at once: the first on this thread, the
    others on the pool's threads; what they returned, in order."""
    pool = _POOLS.get(len(each))
    if pool is None:
        pool = _POOLS[len(each)] = ThreadPoolExecutor(len(each) - 1, thread_name_prefix="cxm")
    others = [pool.submit(_inside, task, item) for item in each[1:]]
    try:
        first = _inside(task, each[0])
    finally:  # nothing outlives the call, even when one task fails
        wait(others)
    return [first, *(future.result() for future in others)]


def _inside[A, T](task: Callable[[A], T], item: A) -> T:
    """`task` of `item`, marked as inside a range of `blocks` (`spread` is False)."""
    _RANGE.inside = True
    try:
        return task(item)
    finally:
        _RANGE.inside = False


MMAP_THRESHOLD_BYTES = 32 * 2**20
"""Allocations from this size up get pages of their own from the system (glibc's largest
threshold; its default starts at 128 kB and grows only as such blocks are freed)."""
TRIM_THRESHOLD_BYTES = 2**30
"""Free memory at the top of the heap kept for later allocations, up to this much."""
TOP_PAD_BYTES = 256 * 2**20
"""Extra memory the heap asks the system for whenever it grows."""
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
"""glibc's numbers for the ``mallopt`` parameters set (malloc.h)."""
_MALLOPT = {
    _M_MMAP_THRESHOLD: MMAP_THRESHOLD_BYTES,
    _M_TRIM_THRESHOLD: TRIM_THRESHOLD_BYTES,
    _M_TOP_PAD: TOP_PAD_BYTES,
}


@functools.cache
def reuse_freed_memory() -> bool:
    """Have the C library keep freed memory for the process's next arrays instead of
    handing it back to the system and asking for it again (glibc only; once per process).

    A month of a big market makes and frees arrays of the whole market over and over. By
    default glibc gives each array of more than about 128 kB pages of its own and returns
    them when it is freed, so the next one takes a page fault per 4 kB page again, and page
    faults from two threads wait for each other in the kernel. From here on arrays below
    `MMAP_THRESHOLD_BYTES` come from the heap, which keeps up to `TRIM_THRESHOLD_BYTES`
    free and grows by `TOP_PAD_BYTES` at a time: the same numbers, fewer page faults (a
    million customers about 15 % faster on two threads and 3 % on one, peak memory about
    the same). Nothing is changed when the environment sets glibc's malloc itself
    (``MALLOC_*`` variables or ``GLIBC_TUNABLES``) or elsewhere than glibc. Returns whether
    the settings are in force."""
    if platform.libc_ver()[0] != "glibc":
        return False
    if "GLIBC_TUNABLES" in os.environ or any(name.startswith("MALLOC_") for name in os.environ):
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(option, value) == 1 for option, value in _MALLOPT.items())


_LAUNCH = threading.Lock()


def on_pool(kernel: Callable[..., Any], *args: Any) -> Any:
    """Run the parallel `kernel` on the thread pool, one launch at a time in this process:
    numba's fallback threading layer (``workqueue``, where neither OpenMP nor TBB is
    installed) stops the process if two Python threads launch parallel code at once."""
    with _LAUNCH:
        return kernel(*args)


def compiled_pass(
    people: int, one: Callable[..., Any], spread_out: Callable[..., Any], *args: Any
) -> None:
    """A compiled pass over `people` people: ``spread_out(*args)`` (its ``prange`` over
    blocks of `BLOCK` people, each block ``one(start, stop, *args)``) on the thread pool
    when the pass is spread (`spread`), else ``one(0, people, *args)`` on this thread."""
    if spread(people):
        on_pool(spread_out, *args)
    else:
        one(0, people, *args)


def compiled_blocks(
    people: int, one: Callable[..., Any], spread_out: Callable[..., Any], *args: Any
) -> None:
    """A compiled pass over `people` people whose kernels take the blocks of `BLOCK` people
    themselves (a block's results go to its own row of a tally, or after those of the
    blocks before it): ``spread_out(*args)`` (its ``prange`` over the blocks) on the thread
    pool when the pass is spread (`spread`), else ``one(*args)`` (the blocks in order) on
    this thread."""
    if spread(people):
        on_pool(spread_out, *args)
    else:
        one(*args)


def gather(source: np.ndarray, index: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[i] = source[index[i]]`` for every i (numpy's ``take``, cast to `out`'s type)
    in one compiled pass, spread over the threads in blocks when there are many; returns
    `out`."""
    compiled_pass(index.size, _gather, _gather_blocks, source, index, out)
    return out


@numba.njit(cache=True, nogil=True)
def _gather(start, stop, source, index, out) -> None:  # noqa: ANN001
    for i in range(start, stop):
        out[i] = source[index[i]]


@numba.njit(cache=True, nogil=True, parallel=True)
def _gather_blocks(source, index, out) -> None:  # noqa: ANN001
    n = index.size
    for block in numba.prange(block_count(n)):
        start = block * BLOCK
        _gather(start, min(start + BLOCK, n), source, index, out)


def positions(values: np.ndarray, value: Any = True) -> np.ndarray:
    """Where `values` equals `value`, ascending (``np.flatnonzero(values == value)``, int64).

    Spread (`spread`), two compiled passes over blocks of `BLOCK`: each block counts its
    matches, then writes their positions after the blocks before it; otherwise numpy's,
    which is faster on one thread. Whole numbers: the same either way."""
    if not spread(values.size):
        marked = values.dtype == np.bool_ and value is True
        return np.flatnonzero(values if marked else values == value)
    return on_pool(_positions_blocks, values, values.dtype.type(value))


@numba.njit(cache=True, nogil=True)
def _matches(values, value) -> int:  # noqa: ANN001
    """How many of `values` equal `value`."""
    found = 0
    for i in range(values.size):  # from 0: a loop from a start given at run time vectorises badly
        found += values[i] == value
    return found


@numba.njit(cache=True, nogil=True)
def _write_positions(values, value, out, first) -> None:  # noqa: ANN001
    """``first`` plus the positions in `values` of its matches of `value`, into `out`, from
    its start. Written at every position up to the last match, kept only at matches: no
    branch, and nothing written past this block's own matches."""
    last = values.size - 1
    while last >= 0 and values[last] != value:
        last -= 1
    kept = 0
    for i in range(last + 1):
        out[kept] = first + i
        kept += values[i] == value


@numba.njit(cache=True, nogil=True, parallel=True)
def _positions_blocks(values, value):  # noqa: ANN001
    n = values.size
    found = np.empty(block_count(n), dtype=np.int64)
    for block in numba.prange(block_count(n)):
        start = block * BLOCK
        found[block] = _matches(values[start : min(start + BLOCK, n)], value)
    after = np.zeros(block_count(n) + 1, dtype=np.int64)
    for block in range(block_count(n)):
        after[block + 1] = after[block] + found[block]
    out = np.empty(after[-1], dtype=np.int64)
    for block in numba.prange(block_count(n)):
        start = block * BLOCK
        part = values[start : min(start + BLOCK, n)]
        _write_positions(part, value, out[after[block] : after[block + 1]], start)
    return out
