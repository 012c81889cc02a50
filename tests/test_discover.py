"""Scenario discovery: PRIM (the EMA Workbench's) finds known boxes; `cxm discover` on a sweep.

Every box's coverage, density and mass are checked against a count with numpy of the cases
inside its limits, and its limits against the box the synthetic data were drawn from.
"""

from __future__ import annotations

import inspect
import json
import logging
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.errors import CXMError
from sim.experiments.discover import Condition, discover, parse_condition, prim
from sim.experiments.sweep import run_sweep
from sim.results import PROJECT_ROOT

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"


def uniform_inputs(n=2000, d=3, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.random((n, d)), columns=[f"x{i}" for i in range(1, d + 1)]), rng


def inside(x, limits):
    """Which rows of `x` lie inside `limits` (input → (low, high), inclusive, None = open)."""
    mask = np.ones(len(x), dtype=bool)
    for name, (low, high) in limits.items():
        values = x[name].to_numpy()
        if low is not None:
            mask &= values >= low
        if high is not None:
            mask &= values <= high
    return mask


def assert_figures_match_a_count(box, x, y):
    """The box's coverage, density, mass and counts, recounted with numpy from its limits."""
    y = np.asarray(y, dtype=bool)
    mask = inside(x, box.limits)
    assert (box.cases, box.of_interest) == (mask.sum(), y[mask].sum())
    assert box.coverage == pytest.approx(y[mask].sum() / y.sum(), abs=1e-12)
    assert box.density == pytest.approx(y[mask].mean(), abs=1e-12)
    assert box.mass == pytest.approx(mask.mean(), abs=1e-12)


def test_prim_finds_the_true_box():
    x, _ = uniform_inputs()
    y = (x["x1"] > 0.6) & (x["x2"] < 0.3)
    result = prim(x, y, max_boxes=3)
    assert len(result.boxes) == 1  # nothing else is denser than the data as a whole
    box = result.boxes[0]
    assert set(box.limits) == {"x1", "x2"}
    low, high = box.limits["x1"]
    assert low == pytest.approx(0.6, abs=0.01) and high is None
    low, high = box.limits["x2"]
    assert low is None and high == pytest.approx(0.3, abs=0.01)
    assert box.density == 1.0 and box.coverage > 0.97
    assert box.mass == pytest.approx(0.4 * 0.3, abs=0.01)
    assert_figures_match_a_count(box, x, y)
    assert box.describe().startswith("x1 >= 0.60")
    trajectory = result.trajectories[0]
    assert trajectory["mass"].iloc[0] == 1.0 and trajectory["coverage"].iloc[0] == 1.0
    peeled = trajectory["mass"].iloc[: int(trajectory["mass"].idxmin()) + 1]
    assert peeled.is_monotonic_decreasing and peeled.iloc[-1] >= 0.05
    chosen = trajectory[trajectory["cases"] == box.cases]
    assert chosen["of_interest"].tolist()[0] == box.of_interest
    assert chosen["coverage"].tolist()[0] == pytest.approx(box.coverage)


def test_prim_recovers_a_known_box_from_noisy_labels():
    # 1,000 uniform points, the true box x1 > 0.6 and x2 < 0.3, 5 % of the labels flipped.
    x, rng = uniform_inputs(n=1000, seed=7)
    truth = ((x["x1"] > 0.6) & (x["x2"] < 0.3)).to_numpy()
    y = truth ^ (rng.random(len(x)) < 0.05)
    box = prim(x, y).boxes[0]
    assert set(box.limits) == {"x1", "x2"}
    assert box.limits["x1"][0] == pytest.approx(0.6, abs=0.05) and box.limits["x1"][1] is None
    assert box.limits["x2"][0] is None and box.limits["x2"][1] == pytest.approx(0.3, abs=0.01)
    assert_figures_match_a_count(box, x, y)
    # As dense as the true box, and most of it.
    assert box.density >= y[truth].mean() - 0.02
    found = inside(x, box.limits)
    assert (found & truth).sum() / (found | truth).sum() > 0.8
    assert box.coverage == pytest.approx(0.671, abs=0.01)


def test_prim_with_label_noise_still_finds_the_box():
    x, rng = uniform_inputs(seed=2)
    truth = (x["x1"] > 0.6) & (x["x2"] < 0.3)
    y = truth.to_numpy() ^ (rng.random(len(x)) < 0.03)
    box = prim(x, y).boxes[0]
    assert box.limits["x1"][0] == pytest.approx(0.6, abs=0.05)
    assert box.limits["x2"][1] == pytest.approx(0.3, abs=0.05)
    assert box.density > 0.85 and box.coverage > 0.6
    assert_figures_match_a_count(box, x, y)


def test_covering_finds_two_separate_boxes():
    x, _ = uniform_inputs(n=3000, d=2, seed=3)
    y = ((x["x1"] < 0.25) & (x["x2"] < 0.25)) | ((x["x1"] > 0.75) & (x["x2"] > 0.75))
    result = prim(x, y, max_boxes=3, min_mass=0.03)
    assert len(result.boxes) >= 2
    corners = sorted(result.boxes[:2], key=lambda b: b.limits["x1"][0] or 0.0)
    assert corners[0].limits["x1"][1] == pytest.approx(0.25, abs=0.03)
    assert corners[1].limits["x1"][0] == pytest.approx(0.75, abs=0.03)
    assert sum(b.coverage for b in corners) > 0.9
    # Covering takes the first box's cases out; the corners do not overlap, so each box's
    # figures are a count over all cases.
    assert not (inside(x, corners[0].limits) & inside(x, corners[1].limits)).any()
    for box in corners:
        assert_figures_match_a_count(box, x, y)


def test_threshold_picks_a_larger_box_of_lower_density():
    x, rng = uniform_inputs(seed=4)
    y = rng.random(len(x)) < np.where(x["x1"] > 0.5, 0.9, 0.1)
    loose = prim(x, y, threshold=0.5).boxes[0]
    strict = prim(x, y, threshold=0.9).boxes[0]
    assert loose.coverage >= strict.coverage and loose.density <= strict.density
    assert loose.density >= 0.5 and strict.density >= 0.9
    for box in (loose, strict):
        assert_figures_match_a_count(box, x, y)
    # A density no box reaches: the densest box of the trajectory.
    result = prim(x, y, threshold=1.0)
    assert result.boxes[0].density == pytest.approx(result.trajectories[0]["density"].max())


def test_integer_and_boolean_inputs_get_whole_number_limits():
    rng = np.random.default_rng(5)
    x = pd.DataFrame(
        {
            "agents": rng.integers(1, 11, 600),
            "share": rng.random(600),
            "open": rng.random(600) < 0.5,
        }
    )
    y = (x["agents"] >= 6) & (x["share"] < 0.4) & x["open"]
    box = prim(x, y).boxes[0]
    assert box.limits["agents"] == (6.0, None)
    assert box.limits["open"] == (1.0, None)
    assert box.limits["share"][1] == pytest.approx(0.4, abs=0.05)
    assert box.coverage > 0.95
    assert box.describe().startswith("agents >= 6 and share <= 0.")
    assert box.density == 1.0
    assert_figures_match_a_count(box, x, y)


def test_many_peeling_steps_do_not_hit_the_recursion_limit():
    # The workbench peels by recursion, one call per step; here every step peels one case.
    x, _ = uniform_inputs(n=300, d=1, seed=5)
    y = x["x1"] > 0.8
    limit = sys.getrecursionlimit()
    low_limit = len(inspect.stack(0)) + 100
    sys.setrecursionlimit(low_limit)
    try:
        result = prim(x, y, peel_alpha=0.001, min_mass=0.01)
        assert sys.getrecursionlimit() == low_limit
    finally:
        sys.setrecursionlimit(limit)
    assert len(result.trajectories[0]) > 200
    box = result.boxes[0]
    assert box.limits["x1"][0] == pytest.approx(0.8, abs=0.01) and box.density == 1.0
    assert_figures_match_a_count(box, x, y)


def test_prim_prints_warns_and_logs_nothing(capfd, caplog):
    x, _ = uniform_inputs(n=300, seed=6)
    level = logging.getLogger("EMA").level
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        prim(x, x["x1"] > 0.5, max_boxes=2)
    assert caught == []
    assert not [record for record in caplog.records if record.name.startswith("EMA")]
    assert capfd.readouterr() == ("", "")
    assert logging.getLogger("EMA").level == level


@pytest.mark.slow
def test_first_use_in_a_fresh_interpreter_is_quiet():
    code = (
        "import pandas as pd; from sim.experiments.discover import prim; "
        "r = prim(pd.DataFrame({'a': [0.0, 1.0, 2.0, 3.0]}), [False, False, True, True]); "
        "assert r.boxes[0].limits == {'a': (1.5, None)}, r.boxes"
    )
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_conditions_parse_and_reject_nonsense():
    condition = parse_condition("profit_npv > 1e7")
    assert condition == Condition("profit_npv", ">", 1e7)
    frame = pd.DataFrame({"profit_npv": [2e7, 1e7, np.nan]})
    assert list(condition.holds(frame)) == [True, False, False]
    assert str(parse_condition(" retention_of_initial>=0.5 ")) == "retention_of_initial >= 0.5"
    for text in ("retention", "x >= high", "x => 1", ">= 1"):
        with pytest.raises(CXMError, match="where"):
            parse_condition(text)


@pytest.mark.slow
def test_cxm_discover_on_a_sweep_prints_boxes_and_writes_json(tmp_path, capsys):
    spec = {
        "name": "disc", "base": str(BASELINE), "design": "latin_hypercube", "samples": 60,
        "seed": 3, "months": 4, "set": {"market.size": 400, "support.mode": "service_level"},
        "parameters": {
            "behaviour.churn.satisfaction_effect": {"range": [0.0, 30.0]},
            "economics.gross_margin": {"range": [0.2, 0.8]},
        },
        "outcomes": ["retention_of_initial", "profit_total"],
    }  # fmt: skip
    (tmp_path / "disc.yaml").write_text(yaml.safe_dump(spec))
    out = tmp_path / "sweep"
    runs = run_sweep(tmp_path / "disc.yaml", workers=1, out=out).runs
    cut = float(runs["profit_total"].median())
    capsys.readouterr()
    assert main(["discover", str(out), "--where", f"profit_total > {cut}"]) == 0
    printed, errors = capsys.readouterr()
    assert errors == ""
    assert "box 1: " in printed and "economics.gross_margin >=" in printed
    found = json.loads((out / "discovery.json").read_text())
    assert found["cases"] == 60 and found["of_interest"] == 30
    box = found["boxes"][0]
    assert box["limits"]["economics.gross_margin"]["high"] is None
    assert box["density"] > 0.8 and 0 < box["coverage"] <= 1
    result = discover(out, [f"profit_total > {cut}", "retention_of_initial >= 0"])
    assert result.conditions[1] == "retention_of_initial >= 0"


def test_cxm_discover_bad_input_exits_2(tmp_path, capsys):
    assert main(["discover", str(tmp_path), "--where", "x > 1"]) == 2
    assert "not a finished sweep" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, message",
    [
        (["--min-mass", "1.5"], "--min-mass: got 1.5; must lie strictly between 0 and 1"),
        (["--min-mass", "0"], "--min-mass: got 0.0; must lie strictly between 0 and 1"),
        (["--min-mass", "nan"], "--min-mass: got nan; must lie strictly between 0 and 1"),
        (["--peel-alpha", "-0.1"], "--peel-alpha: got -0.1; must lie strictly between 0 and 1"),
        (["--peel-alpha", "inf"], "--peel-alpha: got inf; must lie strictly between 0 and 1"),
        (["--threshold", "5"], "--threshold: got 5.0; must lie between 0 and 1 (a density)"),
        (["--threshold", "-0.5"], "--threshold: got -0.5; must lie between 0 and 1 (a density)"),
        (["--threshold", "nan"], "--threshold: got nan; must lie between 0 and 1 (a density)"),
        (["--max-boxes", "1000"], "--max-boxes: got 1000; must be a whole number from 1 to 100"),
        (["--where", "x > inf"], "--where: got 'x > inf'; expected OUTCOME OP NUMBER"),
        (["--where", "x > nan"], "--where: got 'x > nan'; expected OUTCOME OP NUMBER"),
        (["--where", "x > 1\nrm"], "--where: got 'x > 1\\nrm'; expected OUTCOME OP NUMBER"),
    ],
)
def test_discover_options_are_checked_first_and_named(tmp_path, capsys, options, message):
    # RUNS_DIR is not a sweep: the options are checked before the sweep is read.
    argv = ["discover", str(tmp_path), "--where", "profit_total > 0", *options]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_discover_checks_its_options_before_reading_anything(tmp_path):
    with pytest.raises(CXMError, match=r"^threshold: got 5.0; must lie between 0 and 1"):
        discover(tmp_path / "missing", ["x > 1"], threshold=5.0)
    with pytest.raises(CXMError, match=r"^max_boxes: got 0; must be a whole number from 1"):
        discover(tmp_path / "missing", ["x > 1"], max_boxes=0)


def test_prim_names_the_bad_argument():
    x, _ = uniform_inputs(n=100)
    y = x["x1"] > 0.5
    for argument, value in (("paste_alpha", 1.0), ("peel_alpha", 0.0), ("min_mass", 2.0)):
        with pytest.raises(CXMError, match=rf"^{argument}: got {value}; must lie strictly"):
            prim(x, y, **{argument: value})
    with pytest.raises(CXMError, match=r"^threshold: got 1.5; must lie between 0 and 1"):
        prim(x, y, threshold=1.5)
    with pytest.raises(CXMError, match=r"^of_interest: got 99 values for 100 cases"):
        prim(x, y[:99])
    with pytest.raises(CXMError, match=r"^inputs: columns x2 hold missing or infinite values"):
        prim(x.assign(x2=np.inf), y)
    with pytest.raises(CXMError, match=r"^inputs: columns level are not numeric"):
        prim(x.assign(level="high"), y)
    with pytest.raises(CXMError, match=r"^inputs: need a DataFrame with at least one case"):
        prim(x.iloc[:0], y[:0])


def test_runs_dir_that_is_not_a_readable_sweep_is_one_line(tmp_path, capsys):
    assert main(["discover", str(tmp_path / "missing"), "--where", "x > 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(tmp_path / "missing") in err
    assert err.count("\n") == 1
    with pytest.raises(CXMError, match=r"missing: not a finished sweep directory \(no runs"):
        discover(tmp_path / "missing", ["x > 1"])
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text(json.dumps({"kind": "sweep", "outcomes": ["x"]}))
    (broken / "runs.parquet").write_text("not parquet\n")
    assert main(["discover", str(broken), "--where", "x > 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {broken}: not a readable sweep result (")
    assert err.count("\n") == 1
