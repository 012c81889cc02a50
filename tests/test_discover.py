"""Scenario discovery: PRIM finds known boxes; `cxm discover` on a real sweep."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.discover import Condition, discover, parse_condition, prim
from sim.errors import CXMError
from sim.results import PROJECT_ROOT
from sim.sweep import run_sweep

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"


def uniform_inputs(n=2000, d=3, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.random((n, d)), columns=[f"x{i}" for i in range(1, d + 1)]), rng


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
    assert box.describe().startswith("x1 >= 0.6")
    trajectory = result.trajectories[0]
    assert trajectory["mass"].is_monotonic_decreasing and trajectory["mass"].iloc[0] == 1.0


def test_prim_with_label_noise_still_finds_the_box():
    x, rng = uniform_inputs(seed=2)
    truth = (x["x1"] > 0.6) & (x["x2"] < 0.3)
    y = truth.to_numpy() ^ (rng.random(len(x)) < 0.03)
    box = prim(x, y).boxes[0]
    assert box.limits["x1"][0] == pytest.approx(0.6, abs=0.05)
    assert box.limits["x2"][1] == pytest.approx(0.3, abs=0.05)
    assert box.density > 0.85 and box.coverage > 0.6


def test_covering_finds_two_separate_boxes():
    x, _ = uniform_inputs(n=3000, d=2, seed=3)
    y = ((x["x1"] < 0.25) & (x["x2"] < 0.25)) | ((x["x1"] > 0.75) & (x["x2"] > 0.75))
    result = prim(x, y, max_boxes=3, min_mass=0.03)
    assert len(result.boxes) >= 2
    corners = sorted(result.boxes[:2], key=lambda b: b.limits["x1"][0] or 0.0)
    assert corners[0].limits["x1"][1] == pytest.approx(0.25, abs=0.03)
    assert corners[1].limits["x1"][0] == pytest.approx(0.75, abs=0.03)
    assert sum(b.coverage for b in corners) > 0.9


def test_threshold_picks_a_larger_box_of_lower_density():
    x, rng = uniform_inputs(seed=4)
    y = rng.random(len(x)) < np.where(x["x1"] > 0.5, 0.9, 0.1)
    loose = prim(x, y, threshold=0.5).boxes[0]
    strict = prim(x, y, threshold=0.9).boxes[0]
    assert loose.coverage >= strict.coverage and loose.density <= strict.density


def test_conditions_parse_and_reject_nonsense():
    condition = parse_condition("profit_npv > 1e7")
    assert condition == Condition("profit_npv", ">", 1e7)
    frame = pd.DataFrame({"profit_npv": [2e7, 1e7, np.nan]})
    assert list(condition.holds(frame)) == [True, False, False]
    assert str(parse_condition(" retention_of_initial>=0.5 ")) == "retention_of_initial >= 0.5"
    for text in ("retention", "x >= high", "x => 1", ">= 1"):
        with pytest.raises(CXMError, match="--where"):
            parse_condition(text)


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
    assert main(["discover", str(out), "--where", f"profit_total > {cut}"]) == 0
    printed = capsys.readouterr().out
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
