"""The per-person passes spread over threads give the same numbers, bit for bit, whatever the
thread count (`sim.threads`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from sim.cli.main import main
from sim.results import PROJECT_ROOT

PROBE = """
import hashlib, json, sys, warnings
import numba
import pandas as pd
import sim, sim.threads as threads
from sim.scenario import load_scenario, with_overrides
threads.PARALLEL_FROM = int(sys.argv[1])
scenario = with_overrides(
    load_scenario("scenarios/baseline.yaml"), {"market.size": 12000, "months": 4}
)
digests = {}
for count in map(int, sys.argv[2:]):
    threads.set_threads(count)
    model = sim.CXModel(scenario, seed=7, replication=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", numba.NumbaWarning)
        while model.running:
            model.step()
    assert not caught, [str(warning.message) for warning in caught]
    tables = (
        model.recorder.timeseries(),
        model.recorder.touchpoint_table(),
        model.recorder.segment_table(),
    )
    text = "".join(table.to_csv(float_format="%.17g") for table in tables)
    spreads = threads.spread(len(model.population.status))
    digests[count] = [threads.threads(), spreads, hashlib.sha256(text.encode()).hexdigest()]
print(json.dumps(digests))
"""


def digests(parallel_from: int, *counts: int) -> dict[str, list]:
    """Each thread count's threads in use, whether a pass over the market spreads, and the
    digest of a run's tables, in a fresh interpreter that may use four threads."""
    env = os.environ | {"NUMBA_NUM_THREADS": "4"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(parallel_from), *map(str, counts)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.slow
def test_a_run_is_the_same_on_one_two_or_four_threads():
    # Every pass over more than 100 people spreads over the threads (a market of 12,000
    # people has some 3,600 customers, so every per-person pass does), against the same
    # run with every pass on one thread.
    spread = digests(100, 1, 2, 4)
    alone = digests(10**9, 2)
    # two threads from the start of a fresh interpreter: numba warns of nothing (a pass's
    # first spread runs its ranges one after the other, so each rule compiles once)
    first = digests(100, 2)
    assert [spread[n][:2] for n in ("1", "2", "4")] == [[1, False], [2, True], [4, True]]
    assert alone["2"][:2] == [2, False]
    assert spread["1"][2] == spread["2"][2] == spread["4"][2] == alone["2"][2] == first["2"][2]


def test_threads_out_of_range_are_refused(capsys):
    assert main(["bench", "--runs", "1", "--threads", "0"]) == 2
    assert "--threads: got 0; must be a whole number from 1 to" in capsys.readouterr().err


def test_ranges_cover_the_people_in_order_one_thread_each(monkeypatch):
    import numpy as np

    import sim.threads as threads

    if threads.available() < 2:
        pytest.skip("one core: nothing to spread over")
    monkeypatch.setattr(threads, "PARALLEL_FROM", 10)
    before = threads.threads()
    seen: list[tuple[int, int]] = []
    on: list[int] = []

    def part(people: slice) -> tuple[np.ndarray, bool]:
        seen.append((people.start, people.stop))
        on.append(threading.get_ident())
        # a compiled pass inside a range stays on the range's thread
        return np.arange(people.start, people.stop) * 2, threads.spread(10**6)

    try:
        threads.set_threads(2)
        first = threads.blocks(25, part)  # its first spread: the ranges in turn, here
        assert seen == [(0, 12), (12, 25)] and on == [threading.get_ident()] * 2
        seen.clear()
        on.clear()
        two = threads.blocks(25, part)  # then at once, one range on another thread
        assert sorted(seen) == [(0, 12), (12, 25)] and len(set(on)) == 2
        threads.set_threads(1)
        one = threads.blocks(25, part)
    finally:
        threads.set_threads(before)
    assert seen[-1] == (0, 25) and len(one) == 1 and len(two) == 2
    for ranges in (first, two):  # in people order, whichever thread ran them
        np.testing.assert_array_equal(np.concatenate([got for got, _ in ranges]), one[0][0])
    assert not any(inner for _, inner in (*first, *two))  # spread is False inside a range
    assert one[0][1] is False  # and on one thread


def test_counts_by_ranges_are_those_of_the_whole_market(monkeypatch):
    import numpy as np

    import sim.threads as threads

    if threads.available() < 2:
        pytest.skip("one core: nothing to spread over")
    monkeypatch.setattr(threads, "PARALLEL_FROM", 10)
    status = np.random.default_rng(3).integers(0, 3, 1001).astype(np.int8)
    before = threads.threads()
    found = {}
    try:
        for count in (1, 2):
            threads.set_threads(count)
            for _ in range(2):  # the first spread in turn, the next at once
                found[count] = threads.count(len(status), lambda people: status[people] == 2)
    finally:
        threads.set_threads(before)
    for counted in found.values():
        assert counted == int((status == 2).sum()) and 300 < counted < 370
    assert threads.count(0, lambda people: status[people] == 1) == 0


MMAP_PROBE = """
import ctypes, json, sys
import numpy as np
import sim.threads as threads

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = MallInfo2
applied = threads.reuse_freed_memory() if sys.argv[1] == "reuse" else None
before = mallinfo2().hblks
array = np.ones(20 * 2**20 // 8)  # 20 MB, touched
during = mallinfo2().hblks
del array
print(json.dumps({"applied": applied, "own_pages": during - before,
                  "again": threads.reuse_freed_memory() if applied else None}))
"""


def mapped_blocks(mode: str) -> dict:
    """Whether a 20 MB array got pages of its own from the system (glibc's ``mallinfo2``), in
    a fresh interpreter, with the malloc settings of `sim.threads.reuse_freed_memory` or
    without them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("GLIBC_TUNABLES", None)
    done = subprocess.run(
        [sys.executable, "-c", MMAP_PROBE, mode], capture_output=True, text=True,
        cwd=PROJECT_ROOT, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_big_markets_keep_freed_memory_for_their_next_arrays():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the settings are glibc's")
    # by default glibc maps a 20 MB array into pages of its own (returned when it is freed);
    # with the settings it comes from the heap, which keeps freed memory for the next one
    assert mapped_blocks("default") == {"applied": None, "own_pages": 1, "again": None}
    assert mapped_blocks("reuse") == {"applied": True, "own_pages": 0, "again": True}


def test_the_vector_engine_keeps_freed_memory_from_markets_that_spread(monkeypatch):
    import sim
    import sim.engines.vector as vector
    import sim.threads as threads
    from sim.scenario import load_scenario, with_overrides

    asked: list[int] = []
    monkeypatch.setattr(vector, "reuse_freed_memory", lambda: asked.append(1))
    base = load_scenario(PROJECT_ROOT / "scenarios" / "baseline.yaml")
    for size in (threads.PARALLEL_FROM - 1, threads.PARALLEL_FROM):
        sim.CXModel(with_overrides(base, {"market.size": size, "months": 1}), seed=1)
    assert asked == [1]  # only the market of PARALLEL_FROM people


def customers_of(seed: int, market: int = 40_000, n: int = 30_000) -> tuple:
    """`n` customers of a market of `market` people (ascending market indices) and their
    segments (three), drawn from `seed`, with the generator for the rest of a test."""
    import numpy as np

    rng = np.random.default_rng(seed)
    who = np.sort(rng.choice(market, n, replace=False))
    return rng, who, rng.integers(0, 3, n).astype(np.intp)


def test_decisions_of_many_blocks_keep_the_customers_order_on_any_threads(on_each_thread_count):
    # 30,000 customers: four blocks of the compiled passes, each writing its stayers and
    # leavers after those of the blocks before it. Against the same decisions worked out
    # with numpy over everyone at once.
    import numpy as np

    from sim.customers import journeys, rules
    from sim.customers.population import ACTIVE, LAPSED
    from sim.engines import kernels
    from sim.streams import Streams

    market, n = 40_000, 30_000
    rng, who, segment = customers_of(5, market, n)
    would_leave, flagged = rng.random(n) < 0.1, rng.random(n) < 0.2
    streams = Streams(np.random.SeedSequence(9), market)
    keys = tuple(streams.key(purpose, 4) for purpose in ("success", "repeat", "upsell"))
    settings = kernels.floats(0.4, 0.05, 0.1, 0.05, 2.0, 0.7, 3, 0.3, 1.2)
    by_segment = (np.array([40.0, 90.0, 25.0]), np.array([12.0, 30.0, 8.0]))

    def market_state() -> tuple[np.ndarray, ...]:
        state = np.random.default_rng(6)
        return (
            state.random(market).astype(np.float32),
            np.full(market, ACTIVE, dtype=np.int8),
            state.integers(1, 4, market).astype(np.int8),
            state.random(market).astype(np.float32) * 500,
            state.integers(0, 60, market).astype(np.int32),
        )

    def decide() -> tuple:
        people = market_state()
        out = kernels.decide(who, segment, would_leave, flagged, people, by_segment, settings, keys)
        return out, people

    runs = on_each_thread_count(decide)
    # numpy over everyone, as the vector engine computed the decisions before
    satisfaction, status, products, revenue_to_date, tenure = people = market_state()
    succeeded = flagged & (streams.uniform("success", 4, who) < 0.4)
    kept = succeeded & would_leave
    lifted = who[succeeded]
    satisfaction[lifted] = journeys.lifted(satisfaction[lifted], 0.05)
    leaves = would_leave & ~kept
    stay, left = who[~leaves], who[leaves]
    status[left], products[left] = LAPSED, 0
    liked = satisfaction[stay]
    p_repeat = rules.purchase_probability(0.1, liked, 2.0, 0.7)
    p_upsell = rules.purchase_probability(0.05, liked, 2.0, 0.7)
    repeat = streams.uniform("repeat", 4, stay) < p_repeat
    upsell = (streams.uniform("upsell", 4, stay) < p_upsell) & (products[stay] < 3)
    products[stay] += upsell.astype(np.int8)
    seg = segment[~leaves]
    extra = 0.3 * (products[stay] - 1)
    revenue = (by_segment[0][seg] * (1.0 + extra) + repeat * by_segment[1][seg]) * 1.2
    revenue_to_date[stay] += revenue.astype(np.float32)
    tenure[stay] += 1
    expected = (leaves, kept, left, repeat, upsell, revenue, liked)
    assert 2_000 < len(left) < 3_500 and kept.sum() > 50 and repeat.sum() > 1_000
    for out, state in runs.values():
        for got, want in zip((*out, *state), (*expected, *people), strict=True):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_memory_and_churn_passes_are_the_one_customer_rules_on_any_threads(
    on_each_thread_count,
):
    # 30,000 customers in four blocks, tenures up to past the memory pass's table of
    # weights, contracts due and not: the compiled memory and churn passes against the
    # rules the agents engine applies one customer at a time (`journeys.remember`) and
    # numpy over everyone (the churn and renewal chances, the draws).
    import numpy as np

    from sim.customers import journeys, rules
    from sim.engines import kernels
    from sim.scenario.schema import SatisfactionRules
    from sim.streams import Streams

    market, n, k = 40_000, 30_000, 4
    rng, who, segment = customers_of(8, market, n)
    tenure = rng.integers(0, kernels.TENURE_WEIGHTS + 300, market).astype(np.int32)
    met = rng.random((n, k)) < 0.5
    satisfaction = np.where(met, rng.random((n, k)), np.nan).astype(np.float32)
    perceived = np.where(met, rng.random((n, k)), np.nan).astype(np.float32)
    effort_sum, interactions = met.sum(axis=1) * 0.2, met.sum(axis=1).astype(np.float64)
    service = np.where(rng.random(n) < 0.1, rng.random(n), np.nan)
    rules_ = SatisfactionRules()
    settings = journeys.memory_settings(rules_)

    def market_state() -> tuple[np.ndarray, ...]:
        state = np.random.default_rng(9)
        return tuple(state.random(market).astype(np.float32) for _ in range(4))

    def passes() -> tuple:
        cumulative, effort, expectation, frailty = market_state()
        out = np.empty(n), np.empty(n)
        met_ = (satisfaction, perceived, effort_sum, interactions, service)
        people = (cumulative, effort, expectation, tenure)
        kernels.evaluate(who, met_, people, rules_.peak_end_weight, settings, 0.01, out)
        leaving = tuple(np.empty(n, dtype=dtype) for dtype in (float, bool, bool, bool))
        kernels.consider_leaving(
            who, segment, (cumulative, effort, frailty * 2, tenure), (base, contract),
            kernels.floats(6.0, 2.0, 0.75, 0.25, 0.1, 0.4, 0.6, 20.0, 1.0), keys, leaving,
        )  # fmt: skip
        return out, (cumulative, effort, expectation), leaving

    base, contract = np.array([0.01, 0.02, 0.04]), np.array([0, 12, 24])
    streams = Streams(np.random.SeedSequence(3), market)
    keys = (streams.key("hazard", 2), streams.key("renewal", 2))
    runs = on_each_thread_count(passes)
    cumulative, effort, expectation, frailty = market_state()
    (episode, felt), _, _ = next(iter(runs.values()))
    for i in range(n):
        person, rated = who[i], perceived[i][~np.isnan(perceived[i])]
        mean = sum(float(x) for x in rated) / len(rated) if len(rated) else np.nan
        memory = journeys.remember(
            rules_, int(tenure[person]),
            journeys.Memory(cumulative[person], effort[person], expectation[person]),
            episode[i], felt[i], service[i], mean, 0.01,
        )  # fmt: skip
        cumulative[person], effort[person], expectation[person] = memory
    liked, tired = cumulative[who], effort[who]
    p_churn = rules.churn_probability(
        base[segment], liked, tired, 6.0, 2.0, 0.75, 0.25, 0.1, frailty[who] * 2
    )
    due = journeys.renewing(contract[segment], tenure[who])
    p_leave = rules.renewal_leave_probability(liked, 0.4, 0.6, 20.0)
    by_hazard = streams.uniform("hazard", 2, who) < p_churn
    renewing_not = due & ~by_hazard & (streams.uniform("renewal", 2, who) < p_leave)
    expected = (p_churn + due * p_leave, by_hazard | renewing_not, due, by_hazard)
    assert (tenure[who] >= kernels.TENURE_WEIGHTS).sum() > 5_000 and due.sum() > 500
    assert by_hazard.sum() > 300 and renewing_not.sum() > 50
    for _, state, leaving in runs.values():
        for got, want in zip(state, (cumulative, effort, expectation), strict=True):
            np.testing.assert_array_equal(got, want)
        for got, want in zip(leaving, expected, strict=True):
            np.testing.assert_array_equal(got, want)


def test_the_month_of_touchpoints_is_the_rules_touchpoint_by_touchpoint_on_any_threads(
    on_each_thread_count,
):
    # 30,000 customers in four blocks, five touchpoints (every month, at random, on
    # joining, at renewal, and one waiting for support), segments whose journeys differ:
    # the compiled pass against the rules applied one touchpoint at a time over everyone.
    import numpy as np

    from sim.customers import journeys
    from sim.engines import kernels
    from sim.streams import normal_at, uniform_at

    market, n, count = 40_000, 30_000, 5
    rng, who, segment = customers_of(8, market, n)
    tenure = rng.integers(0, 30, market).astype(np.int16)
    expectation = rng.uniform(0.5, 0.95, market).astype(np.float32)
    contract = np.array([0, 12, 6], dtype=np.int32)
    tolerance = np.array([0.05, 0.1, 0.02])
    in_journey = np.ones((3, count), dtype=bool)
    in_journey[2, 1] = in_journey[0, 3] = False
    when = np.array(
        [kernels.EVERY_MONTH, kernels.AT_RANDOM, kernels.ON_JOIN, kernels.AT_RENEWAL,
         kernels.WAITS], dtype=np.int8,
    )  # fmt: skip
    chance = np.array([1.0, 0.3, 1.0, 1.0, 1.0], dtype=np.float32)
    effort = np.array([0.2, 0.1, 0.3, 0.25, 0.4])
    delivery = (
        np.array([0.8, 0.7, 0.75, 0.72, 0.7]),
        np.array([0.0, 0.02, 0.0, 0.01, 0.0]),
        np.full(count, 0.1),
        np.array([0.05, 0.1, 0.02, 0.08, 0.0]),
    )
    keys = rng.integers(0, 2**63, (count, 3), dtype=np.uint64)
    settings = (0.2, 1.0, 2.0)

    def experience() -> tuple:
        out = (
            np.empty((n, count), np.float32), np.empty((n, count), np.float32),
            np.empty((n, count), bool), np.empty(n, bool), np.empty(n), np.empty(n),
            np.empty((2, count, n)),
        )  # fmt: skip
        tallies = kernels.experience(
            who, segment, (tenure, expectation), (contract, tolerance, in_journey),
            (when, chance, effort), delivery, keys, settings, out,
        )  # fmt: skip
        return tallies, out[:6]

    runs = on_each_thread_count(experience)

    def draws(draw, key, people) -> np.ndarray:
        return np.array([draw(key, person) for person in who[people]], dtype=np.float32)

    perceived, satisfaction = np.full((n, count), np.nan), np.full((n, count), np.nan)
    problem_at = np.zeros((n, count), bool)
    spent, touches = np.zeros(n), np.zeros(n)
    expected = []
    renewal = journeys.renewing(contract[segment], tenure[who])
    for k in range(count - 1):
        due = {
            kernels.EVERY_MONTH: np.ones(n, bool),
            kernels.AT_RANDOM: draws(uniform_at, keys[k, 2], slice(None)) < 0.3,
            kernels.ON_JOIN: tenure[who] == 0,
            kernels.AT_RENEWAL: renewal,
        }[when[k]]
        rows = np.flatnonzero(due & in_journey[segment, k])
        problem = draws(uniform_at, keys[k, 1], rows) < delivery[3][k]
        raw = journeys.touchpoint_quality(
            delivery[0][k], delivery[1][k], delivery[2][k], draws(normal_at, keys[k, 0], rows),
            problem, settings[0],
        )  # fmt: skip
        p, s = journeys.interaction(
            raw, expectation[who[rows]], tolerance[segment[rows]], settings[1], settings[2]
        )
        perceived[rows, k], satisfaction[rows, k], problem_at[rows, k] = p, s, problem
        spent[rows] += effort[k]
        touches[rows] += 1
        total_p = total_s = 0.0
        for value_p, value_s in zip(p.tolist(), s.tolist(), strict=True):  # in customer order
            total_p += value_p
            total_s += value_s
        expected.append((len(rows), total_p, total_s, int(problem.sum())))
    had = problem_at.any(axis=1)
    assert [e[0] for e in expected][2] > 0 and 5_000 < expected[1][0] < 12_000
    for (interactions, sum_p, sum_s, problems, with_problem), month in runs.values():
        columns = (interactions, sum_p, sum_s, problems)
        got = list(zip(*(column.tolist() for column in columns), strict=True))
        assert got[:-1] == expected and got[-1] == (0, 0.0, 0.0, 0)
        assert with_problem == int(had.sum())
        for array, want in zip(
            month, (perceived, satisfaction, problem_at, had, spent, touches), strict=True
        ):
            np.testing.assert_array_equal(array, want.astype(array.dtype))


def test_who_speaks_and_who_adopts_are_the_rules_over_the_market_on_any_threads(
    on_each_thread_count,
):
    # 40,000 people in five blocks: the compiled passes of word of mouth and adoption
    # against the rules over the market's arrays with numpy, as the vector engine worked
    # them out before (speakers and adopters in market order, whatever the threads).
    import numpy as np

    from sim.customers import rules
    from sim.customers.population import ACTIVE, LAPSED, PROSPECT
    from sim.engines import kernels
    from sim.streams import Streams

    rng = np.random.default_rng(12)
    market = 40_000
    status = rng.choice(np.array([PROSPECT, ACTIVE, LAPSED], dtype=np.int8), market)
    satisfaction = rng.uniform(0.2, 1.0, market).astype(np.float32)
    left = np.sort(rng.choice(np.flatnonzero(status == LAPSED), 900, replace=False))
    streams = Streams(np.random.SeedSequence(9), market)
    key = streams.key("adopt", 4)

    def acquire() -> tuple:
        net = kernels.speak(status, satisfaction, (True, 1.2, 0.8))
        alike = kernels.speak(status, satisfaction, (False, 1.2, 0.8))
        return net, alike, kernels.adopters(status, left, 0.05, 0.5, key)

    runs = on_each_thread_count(acquire)
    speakers = np.flatnonzero(status == ACTIVE)
    promoter, detractor = rules.nps_shares(10.0 * satisfaction[speakers], 1.2)
    voice = promoter - 0.8 * detractor
    lapsed = status == LAPSED
    lapsed[left] = False
    pool = np.flatnonzero((status == PROSPECT) | lapsed)
    u = streams.uniform("adopt", 4, pool)
    new = pool[u < 0.05 * np.where(lapsed[pool], 0.5, 1.0)]
    assert 250 < lapsed[new].sum() < 380 and 580 < (~lapsed[new]).sum() < 760
    assert np.isin(left, new).sum() == 0 and voice.min() < 0 < voice.max()
    # The network path's pool is the same rule: prospects, and the lapsed but not leavers.
    in_pool, was_lapsed_anyone = kernels.adoption_pool(status, left)
    np.testing.assert_array_equal(np.flatnonzero(in_pool), pool)
    np.testing.assert_array_equal(was_lapsed_anyone, lapsed)
    for net, alike, (adopted, was_lapsed) in runs.values():
        for got, want in zip((*net, *alike, adopted, was_lapsed),
                             (speakers, voice, speakers, np.ones(len(speakers)), new,
                              lapsed[new]), strict=True):  # fmt: skip
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_gathers_holdings_and_column_counts_are_numpys_on_any_threads(on_each_thread_count):
    # 40,000 people in five blocks: a compiled gather (cast to the output's type) against
    # numpy's indexing, and the products, initial customers and customers of one firm or
    # of all against numpy's counts.
    import numpy as np

    from sim.customers.population import ACTIVE, INITIAL
    from sim.engines import kernels
    from sim.threads import gather

    rng = np.random.default_rng(13)
    market = 40_000
    status = rng.integers(0, 3, market).astype(np.int8)
    firms = rng.integers(0, 2, market).astype(np.int8)
    products = np.where(status == ACTIVE, rng.integers(1, 4, market), 0).astype(np.int8)
    source = rng.integers(0, 5, market).astype(np.int8)
    values = rng.random(market).astype(np.float32)
    who = np.flatnonzero(status == ACTIVE)

    def run() -> tuple:
        wide = gather(values, who, np.empty(who.size))
        same = gather(values, who, np.empty(who.size, dtype=np.float32))
        index = gather(status, who, np.empty(who.size, dtype=np.intp))
        held = [kernels.holdings(status, firms, firm, products, source) for firm in (-1, 0, 1)]
        return wide, same, index, held

    for wide, same, index, held in on_each_thread_count(run).values():
        np.testing.assert_array_equal(wide, values[who].astype(np.float64))
        np.testing.assert_array_equal(same, values[who])
        assert index.dtype == np.intp and (index == ACTIVE).all()
        for firm, counted in zip((-1, 0, 1), held, strict=True):
            mine = (status == ACTIVE) & ((firm < 0) | (firms == firm))
            expected = (
                int(products[mine].sum()),
                int((mine & (source == INITIAL)).sum()),
                int(mine.sum()),
            )
            assert counted == expected and 2_000 < expected[2] < 14_000
    # the problems the month's callers report, per touchpoint: numpy's sum down the columns
    marks = rng.random((market, 8)) < 0.05
    counts = kernels.column_counts(marks, who)
    assert counts.dtype == np.int64 and counts.min() > 500
    np.testing.assert_array_equal(counts, marks[who].sum(axis=0))
    assert kernels.column_counts(marks, who[:0]).tolist() == [0] * 8


def test_positions_are_numpys_on_any_threads(on_each_thread_count):
    # 60,000 entries in eight blocks: statuses against one value and marks (booleans), from
    # none to all of them, with blocks of no match, a match only at a block's first or last
    # place, and matches up to the end or not: numpy's flatnonzero, whole-number positions.
    import numpy as np

    from sim.customers.population import ACTIVE
    from sim.threads import BLOCK, positions

    rng = np.random.default_rng(17)
    n = 60_000
    status = rng.integers(0, 3, n).astype(np.int8)
    sparse = rng.random(n) < 0.002
    sparse[BLOCK : 3 * BLOCK] = False  # two blocks of no match
    sparse[3 * BLOCK] = sparse[4 * BLOCK - 1] = True  # a block's first and last place
    sparse[-50:] = False  # the last block ends with places that do not match
    dense = rng.random(n) < 0.7
    dense[-1] = True
    cases = [
        (status, ACTIVE),
        (status, 7),  # no match
        (sparse, True),
        (dense, True),
        (np.ones(n, dtype=np.bool_), True),
        (np.zeros(n, dtype=np.bool_), True),
    ]

    def run() -> list:
        return [positions(values, value) for values, value in cases]

    for found in on_each_thread_count(run).values():
        for (values, value), got in zip(cases, found, strict=True):
            want = np.flatnonzero(values == value)
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, want)
        assert found[0].size > 15_000 and 50 < found[2].size < 1_000 and found[4].size == n


def test_the_support_touchpoint_written_into_the_month_is_numpys():
    # 3,000 callers of a month of 20,000 customers, the touchpoint due for two in three,
    # service effort NaN (none yet) for half of them and below or above the contact's for
    # the others: numpy's scatter, fmax and float32 casts as the month had them.
    import numpy as np

    from sim.engines import kernels

    rng = np.random.default_rng(23)
    n, callers, column = 20_000, 3_000, 5
    rows = np.sort(rng.choice(n, callers, replace=False))
    due = rng.random(callers) < 2 / 3
    met = (rng.random(callers), rng.random(callers), rng.random(callers))

    def month() -> tuple:
        service = np.where(rng.random(n) < 0.5, np.nan, rng.random(n))
        state = np.random.default_rng(29)
        return (
            state.random((n, 8)).astype(np.float32),
            state.random((n, 8)).astype(np.float32),
            state.random(n),
            service,
            state.integers(0, 5, n).astype(np.float64),
        )

    rng_state = rng.bit_generator.state
    got = month()
    rng.bit_generator.state = rng_state
    want = month()
    kernels.met_at_support(rows, due, column, met, got)
    perceived, satisfaction, effort = met
    at = rows[due]
    want[0][at, column] = perceived[due]
    want[1][at, column] = satisfaction[due]
    want[2][at] += effort[due]
    want[3][at] = np.fmax(want[3][at], effort[due])
    want[4][at] += 1
    for mine, numpys in zip(got, want, strict=True):
        np.testing.assert_array_equal(mine, numpys)
    assert np.isnan(want[3][at]).sum() == 0 and np.isnan(want[3]).sum() > 5_000
