"""Social networks: graph construction, word of mouth over ties, and diffusion shapes."""

from __future__ import annotations

import numpy as np
import pytest

from sim.customers import network, rules
from sim.errors import ScenarioError
from sim.experiments.runs import run_replication
from sim.scenario import Network, scenario_from_dict


@pytest.mark.parametrize(
    ("kind", "expected", "tolerance"),
    [
        # G(n, p) with p = 8/1999: the edge count is binomial, so the mean degree has sd
        # 2·√(C(2000, 2)·p·(1 − p))/2000 = 0.089; allow four of them.
        ("erdos_renyi", 8.0, 0.36),
        # A ring lattice of degree 8 keeps its 8000 edges when ties are rewired.
        ("watts_strogatz", 8.0, 0.0),
        # Preferential attachment with m = 4 ties per newcomer: m·(n − m) edges.
        ("barabasi_albert", 2 * 4 * 1996 / 2000, 0.0),
    ],
)
def test_graphs_have_the_requested_size_and_mean_degree(kind, expected, tolerance):
    graph = network.build_graph(Network(kind=kind, mean_degree=8), 2000, seed=4)
    assert graph.number_of_nodes() == 2000
    mean_degree = 2 * graph.number_of_edges() / 2000
    assert mean_degree == pytest.approx(expected, abs=tolerance)
    again = network.build_graph(Network(kind=kind, mean_degree=8), 2000, seed=4)
    assert sorted(graph.edges()) == sorted(again.edges())


def test_complete_mixing_has_no_graph():
    assert network.build_graph(Network(), 100, seed=1) is None
    assert network.adjacency(None, 100) is None


def test_informed_share_is_the_net_voice_of_ones_ties():
    graph = network.build_graph(Network(kind="watts_strogatz", mean_degree=2, rewiring=0.0), 5, 1)
    ties = network.adjacency(graph, 5)  # a ring: 0-1-2-3-4-0
    np.testing.assert_allclose(ties.sum(axis=1), 1.0)
    voice = np.array([1.0, 0.0, -1.0, 0.5, 0.0])
    heard = network.informed_share(ties, voice)
    # person 1 hears 0 (+1) and 2 (−1); person 3 hears 2 (−1) and 4 (0): a net warning;
    # person 4 hears 3 (+0.5) and 0 (+1)
    np.testing.assert_allclose(heard, [0.0, 0.0, 0.25, -0.5, 0.75])


def diffusion(kind: str, months: int = 36, size: int = 20_000):
    scenario = scenario_from_dict(
        {
            "name": "diffusion",
            "months": months,
            "market": {
                "size": size,
                "initial_customers": 0.0,
                "segments": [{"name": "all", "churn_per_month": 0.0}],
                "network": {"kind": kind, "mean_degree": 6, "rewiring": 0.01},
            },
            "acquisition": {
                "advertising_per_month": 0.005,
                "imitation_per_month": 0.3,
                "word_of_mouth": "customers",
            },
            "behaviour": {
                "churn": {"satisfaction_effect": 0, "effort_effect": 0, "renewal_max_leave": 0}
            },
        }
    )
    ts, _ = run_replication(scenario, seed=2, replication=0)
    return ts["active"].to_numpy() / size, ts["acquired"].to_numpy()


@pytest.mark.slow
def test_clustered_network_diffuses_slower_and_peaks_later_than_mixing():
    """Rahmandad & Sterman (2008): on lattice-like small worlds adoption is slower and
    peaks later than under complete mixing (the differential-equation Bass model)."""
    mixed, mixed_new = diffusion("complete")
    lattice, lattice_new = diffusion("watts_strogatz")
    np.testing.assert_allclose(
        mixed, rules.bass_cumulative(np.arange(1, 37), 0.005, 0.3), atol=0.01
    )
    assert lattice[11] < 0.7 * mixed[11] and lattice[23] < mixed[23] - 0.2
    assert np.argmax(lattice_new) > np.argmax(mixed_new)
    assert lattice[-1] > 0.8  # still reaches most of the market


@pytest.mark.parametrize(
    ("settings", "path", "message"),
    [
        (
            {"kind": "erdos_renyi", "mean_degree": 50},
            "market.network.mean_degree",
            "below the market size",
        ),
        ({"kind": "watts_strogatz", "mean_degree": 5}, "market.network.mean_degree", "even"),
        (
            {"kind": "watts_strogatz", "rewiring": 1.5},
            "market.network.rewiring",
            "less than or equal to 1",
        ),
        ({"kind": "hyperbolic"}, "market.network.kind", "barabasi_albert"),
    ],
)
def test_bad_network_input(settings, path, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"name": "x", "market": {"size": 40, "network": settings}})
    assert info.value.path == path
    assert message in str(info.value)
