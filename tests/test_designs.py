"""Designs and sensitivity indices, checked on closed forms (Ishigami, linear models)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.experiments.designs import Parameter, design_size, make_design, to_values
from sim.experiments.sensitivity import analyse, morris_indices, sobol_indices

PI = float(np.pi)
ISHIGAMI = {f"x{i}": Parameter(range=[-PI, PI]) for i in (1, 2, 3)}


def ishigami(design, a=7.0, b=0.1):
    """The Ishigami function, a plain Python model of the design's samples."""
    x = np.array([[s[n] for n in design.names] for s in design.samples])
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_truth(a=7.0, b=0.1):
    """Analytic first-order and total Sobol' indices of the Ishigami function."""
    v1 = 0.5 * (1 + b * PI**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * PI**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_ishigami_truth_matches_the_published_values():
    s1, st = ishigami_truth()
    np.testing.assert_allclose(s1, [0.314, 0.442, 0.0], atol=1e-3)
    np.testing.assert_allclose(st, [0.558, 0.442, 0.244], atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("second_order", [False, True])
def test_sobol_pipeline_recovers_ishigami_indices(second_order):
    design = make_design(ISHIGAMI, "sobol", 2048, seed=11, second_order=second_order)
    assert len(design) == 2048 * (8 if second_order else 5)
    indices = analyse(design, pd.DataFrame({"y": ishigami(design)}), seed=3)
    assert list(indices.columns) == ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    s1, st = ishigami_truth()
    np.testing.assert_allclose(indices["S1"], s1, atol=0.04)
    np.testing.assert_allclose(indices["ST"], st, atol=0.04)
    assert (indices["S1_conf"] > 0).all() and (indices["S1_conf"] < 0.1).all()


def test_sobol_indices_are_reproducible_and_nan_when_outcome_is_flat():
    design = make_design(ISHIGAMI, "sobol", 64, seed=2)
    y = ishigami(design)
    a = sobol_indices(design.names, y, seed=9)
    b = sobol_indices(design.names, y, seed=9)
    pd.testing.assert_frame_equal(a, b)
    flat = sobol_indices(design.names, np.ones(len(design)))
    assert flat[["S1", "ST"]].isna().all().all()


def test_design_sizes_follow_saltelli_and_morris():
    three = {k: Parameter(range=[0.0, 1.0]) for k in "abc"}
    assert len(make_design(three, "sobol", 16)) == 16 * (3 + 2) == design_size("sobol", 3, 16)
    assert len(make_design(three, "sobol", 16, second_order=True)) == 16 * (2 * 3 + 2)
    assert design_size("sobol", 3, 16, second_order=True) == 128
    assert len(make_design(three, "morris", 7, morris_levels=6)) == 7 * (3 + 1)
    assert design_size("morris", 3, 7) == 28
    assert len(make_design(three, "random", 13)) == 13
    grid = make_design(
        {"a": Parameter(levels=[1, 2]), "b": Parameter(levels=["x", "y", "z"])}, "grid"
    )
    assert [tuple(s.values()) for s in grid.samples[:4]] == [(1, "x"), (1, "y"), (1, "z"), (2, "x")]
    assert len(grid) == 6 and grid.unit is None


def test_latin_hypercube_puts_one_sample_in_each_stratum():
    params = {"a": Parameter(range=[0.0, 10.0]), "b": Parameter(range=[-1.0, 1.0])}
    design = make_design(params, "latin_hypercube", 20, seed=4)
    strata = np.floor(design.unit * 20).astype(int)
    for column in strata.T:
        assert sorted(column) == list(range(20))
    values = np.array([s["a"] for s in design.samples])
    assert values.min() >= 0 and values.max() <= 10


def test_same_seed_same_design_other_seed_other_design():
    a = make_design(ISHIGAMI, "latin_hypercube", 10, seed=1).samples
    b = make_design(ISHIGAMI, "latin_hypercube", 10, seed=1).samples
    c = make_design(ISHIGAMI, "latin_hypercube", 10, seed=2).samples
    assert a == b and a != c


def test_morris_ranks_a_linear_model_and_finds_the_inert_parameter():
    params = {k: Parameter(range=[0.0, 2.0]) for k in ("strong", "weak", "inert")}
    design = make_design(params, "morris", 20, seed=3)
    x = np.array([[s[n] for n in design.names] for s in design.samples])
    y = 10 * x[:, 0] + 2 * x[:, 1]
    table = morris_indices(design.names, design.unit, y, seed=1).set_index("parameter")
    # Effects are per full range (2.0) of each parameter in unit coordinates.
    assert table.loc["strong", "mu_star"] == pytest.approx(20.0)
    assert table.loc["weak", "mu_star"] == pytest.approx(4.0)
    assert table.loc["inert", "mu_star"] == 0.0
    assert table.loc["strong", "sigma"] == pytest.approx(0.0, abs=1e-9)


def test_distributions_map_unit_coordinates_to_values():
    u = np.linspace(0.0, 1.0, 10_001)
    whole = to_values(Parameter(range=[1.0, 4.0], integer=True), u)
    assert set(whole) == {1, 2, 3, 4}
    assert np.allclose(np.bincount(whole)[1:] / len(u), 0.25, atol=1e-3)
    assert all(isinstance(v, int) for v in whole)
    tri = np.array(to_values(Parameter(range=[0.0, 10.0], distribution="triangular", mode=2.0), u))
    assert (
        tri.min() == 0.0
        and tri.max() == 10.0
        and np.median(tri) == pytest.approx(10 - np.sqrt(0.5 * 10 * 8), abs=0.01)
    )
    normal = np.array(to_values(Parameter(range=[0.0, 6.0], distribution="normal"), u[1:-1]))
    assert normal.min() > 0.0 and normal.max() < 6.0
    # A normal truncated at ±3 sd (sd 1 here): mean 3, variance 1 − 2·3·φ(3)/(2Φ(3) − 1),
    # sd 0.98658. The evenly spaced quantiles miss a little of the tails: 5e-4 covers it.
    phi3 = math.exp(-4.5) / math.sqrt(2 * math.pi)
    truncated_sd = math.sqrt(1 - 6 * phi3 / math.erf(3 / math.sqrt(2)))
    assert np.mean(normal) == pytest.approx(3.0, abs=1e-9)
    assert np.std(normal) == pytest.approx(truncated_sd, abs=5e-4)
    assert to_values(Parameter(levels=["a", "b"]), np.array([0.0, 0.49, 0.5, 1.0])) == [
        "a",
        "a",
        "b",
        "b",
    ]


def test_bad_design_requests_raise():
    with pytest.raises(ValueError, match="power of two"):
        make_design(ISHIGAMI, "sobol", 12)
    with pytest.raises(ValueError, match="even number"):
        make_design(ISHIGAMI, "morris", 4, morris_levels=3)
    with pytest.raises(ValueError, match="levels for every parameter"):
        make_design(ISHIGAMI, "grid")
    with pytest.raises(ValueError, match="unknown design"):
        make_design(ISHIGAMI, "factorial", 4)
