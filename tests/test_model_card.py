"""tools/model_card.py, the command that re-measures the model card, run as a person runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sim import PROJECT_ROOT


@pytest.mark.slow
def test_the_card_tool_measures_its_blocks_and_docks_the_contact_centre(tmp_path):
    out = tmp_path / "card.json"
    command = [sys.executable, str(PROJECT_ROOT / "tools" / "model_card.py"), "--quick",
               "--section", "baseline", "erlang", "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "QUICK SMOKE RUN, NOT CARD FIGURES" in done.stdout
    report = json.loads(out.read_text())
    assert report["quick"] is True
    blocks = {block["name"]: block for block in report["blocks"]}
    assert set(blocks) == {"baseline", "erlang"}
    figures = {f["key"]: f for block in blocks.values() for f in block["figures"]}
    active = figures["baseline.active"]
    assert active["ci_low"] <= active["value"] <= active["ci_high"] and active["value"] > 0
    # the simulated centre against the closed form of the same staffed day
    for metric in ("service_level", "abandon_rate", "occupancy"):
        model = figures[f"erlang.erlang_a.{metric}.model"]["value"]
        closed = figures[f"erlang.erlang_a.{metric}.closed_form"]["value"]
        assert model == pytest.approx(closed, abs=0.03)
