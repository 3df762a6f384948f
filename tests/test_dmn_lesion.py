"""Graded, compute-matched hippocampal lesions (issue 12 item 5).

Strength lam in [0, 1] scales the memory capacity (1 - lam), the replay rate (1 - lam) and the
replay fidelity (a replayed outcome is another memory's with probability lam); lam = 1 is
``lesion="hippocampus"``. The compute-matched control gives the lesioned DMN the backups its
lesion removed from the intact budget, as passes over the last real transition or as backups
of random model transitions.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import darkcontrol
from darkcontrol.agents import make_agent
from darkcontrol.dmn import DMNConfig
from darkcontrol.envs import GridWorld
from darkcontrol.envs.mazes import DYNA_MAZE

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _run(episodes=3, **params):
    env = GridWorld(DYNA_MAZE)
    dmn = make_agent("dmn", env, seed=2, engagement="constant", sentinel=False, **params)
    trace, summary = darkcontrol.simulate(env, dmn, episodes=episodes, seeds=[2], max_steps=300)
    return dmn, trace, summary


def test_strength_one_is_the_full_lesion():
    a = _run(lesion="hippocampus")[1]
    b = _run(lesion="hippocampus", lesion_strength=1.0)[1]
    pd.testing.assert_frame_equal(a, b)
    assert (a["phase"] == "online").all()
    assert DMNConfig(lesion="hippocampus").lesion_level == 1.0
    assert DMNConfig().lesion_level == 0.0
    # strength 0 is the intact model, exactly
    pd.testing.assert_frame_equal(_run()[1], _run(lesion="hippocampus", lesion_strength=0.0)[1])


def test_strength_scales_capacity_rate_and_fidelity():
    lam = 0.6
    dmn, trace, _ = _run(lesion="hippocampus", lesion_strength=lam, memory_size=1000)
    assert dmn.memory.capacity == 400
    # rate: (1 - lam) x 10 Hz x 1 s = 4 offline steps per ITI (constant engagement)
    online = trace[trace["phase"] == "online"]
    n_off = (trace["phase"] == "offline").sum()
    assert n_off == pytest.approx(4 * len(online), abs=2)
    # fidelity: in a deterministic world a replayed (s, a) -> s' that was never experienced is
    # a confabulation; they occur at a rate lam x P(another memory's outcome differs)
    real = set(zip(online["state"], online["action"], online["next_state"]))
    rep = trace[(trace["phase"] == "offline") & (trace["source"] == "replay")]
    wrong = np.mean([t not in real for t in zip(rep["state"], rep["action"], rep["next_state"])])
    assert 0.5 * lam < wrong <= lam + 0.05
    _, intact, _ = _run(memory_size=1000)
    on = intact[intact["phase"] == "online"]
    real = set(zip(on["state"], on["action"], on["next_state"]))
    rep = intact[(intact["phase"] == "offline") & (intact["source"] == "replay")]
    assert all(t in real for t in zip(rep["state"], rep["action"], rep["next_state"]))


@pytest.mark.parametrize("lam", [1.0, 0.5])
@pytest.mark.parametrize("control", ["real_passes", "random_backups"])
def test_compute_matched_control_restores_the_intact_budget(control, lam):
    dmn, trace, summary = _run(lesion="hippocampus", lesion_strength=lam, lesion_control=control)
    online = trace[trace["phase"] == "online"]
    off = trace[trace["phase"] == "offline"]
    # intact budget at constant engagement: 10 backups per 1-s ITI, however they are made
    assert len(off) == 10 * len(online)
    ctl = off[off["purpose"] == "control"]
    assert len(ctl) == round(lam * 10) * len(online) == dmn.n_control
    assert (off.loc[off["purpose"] != "control", "purpose"] == "learning").all()
    if control == "real_passes":
        assert (ctl["source"] == "replay").all()
        # each pass re-learns the transition of the trial it follows
        trial = online.set_index(["episode", "step"])[["state", "action", "next_state"]]
        for (ep, st), rows in ctl.groupby(["episode", "step"]):
            s, a, s2 = trial.loc[(ep, st - 1)]
            assert (rows["state"] == s).all() and (rows["action"] == a).all()
            assert (rows["next_state"] == s2).all()
    else:
        assert (ctl["source"] == "model").all()
        tried = set(zip(online["state"], online["action"]))
        assert set(zip(ctl["state"], ctl["action"])) <= tried
        assert ctl.groupby(["state", "action"]).ngroups > 20  # spread over the model
    # updates: the intact agent's count on the same real steps
    assert dmn.n_updates == 11 * len(online)
    assert sum(e["n_offline"] for e in summary.runs[0].episodes) == len(off)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"lesion_strength": 0.5}, "needs lesion='hippocampus'"),
        ({"lesion": "hippocampus", "lesion_strength": 1.5}, r"lesion_strength must be in \[0, 1\]"),
        ({"lesion": "hippocampus", "lesion_strength": -0.1}, r"must be in \[0, 1\], got -0.1"),
        ({"lesion_control": "real_passes"}, "needs lesion='hippocampus'"),
        ({"lesion": "hippocampus", "lesion_control": "sham"}, "lesion_control must be one of"),
    ],
)
def test_lesion_options_are_validated(params, match):
    with pytest.raises(ValueError, match=match):
        DMNConfig(**params)


@pytest.mark.slow  # ~10 CPU-s (4 conditions x 3 seeds); tests/test_dmn_scripts runs it too
def test_lesion_study_quick_reports_both_contrasts(tmp_path):
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, str(SCRIPTS / "dmn_lesion.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    numbers = json.loads((out / "dmn_lesion.json").read_text())["numbers"]
    contrasts = numbers["contrasts"]
    for name in ("lesion", "real_passes_vs_lesioned", "random_backups_vs_lesioned"):
        for phase in ("phase1", "phase2"):
            row = contrasts[f"{name}_{phase}"]
            lo, hi = row["ci95"]
            assert lo <= row["effect_steps"] <= hi
    # the lesion slows learning (phase 1), and the control has the intact updates per step
    assert contrasts["lesion_phase1"]["ci95"][1] < 0
    for k in ("matched_real_passes", "matched_random_backups"):
        assert numbers[f"{k}_updates_per_step"] == pytest.approx(
            numbers["intact_updates_per_step"], rel=0.25
        )
    assert numbers["lesioned_updates_per_step"] < 0.5 * numbers["intact_updates_per_step"]
    assert res.returncode == 0 and "wrote" in res.stdout
    bad = subprocess.run(
        [sys.executable, str(SCRIPTS / "dmn_lesion.py"), "--strength", "2", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
