"""The fitted agent replayed as a Trace, the ``darkcontrol fit`` CLI, and the model-based fMRI
pipeline from events.tsv + synthetic BOLD to planted effects at their nodes."""

import json
import math

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.cli import main
from darkcontrol.neuro.behavior import write_events
from darkcontrol.neuro.likelihood import make_model
from darkcontrol.neuro.pipeline import trialwise_trace
from darkcontrol.trace import read_trace, validate_trace


def _participant(model="q_learning", params=None, seed=0, n=80, env="RestlessBandit-v0"):
    m = make_model(model)
    params = params or {"alpha": 0.4, "beta": 5.0}
    return m.simulate(
        params, gym.make(f"darkcontrol/{env}"), n_trials=n, seed=seed, participant=f"sub-{seed:02d}"
    )


def test_trialwise_trace_is_a_trace_on_the_onsets():
    b = _participant()
    b.choice[10] = -1  # a missed trial stays in the timeline
    b.outcome[10] = np.nan
    m = make_model("q_learning")
    params = {"alpha": 0.4, "beta": 5.0}
    tr = trialwise_trace(m, params, b, run=3)
    validate_trace(tr)
    assert len(tr) == b.n_trials and (tr["run"] == 3).all() and (tr["phase"] == "online").all()
    np.testing.assert_array_equal(tr["time"].to_numpy(), b.onset)
    assert tr["missed"].sum() == 1 and pd.isna(tr.loc[10, "rpe"]) and pd.isna(tr.loc[10, "action"])
    ok = ~tr["missed"].to_numpy(bool)
    # log-likelihood = sum of log choice_prob over responded trials
    ll = m.loglik(m.theta(params), b)[0]
    assert np.log(tr["choice_prob"].to_numpy(float)[ok]).sum() == pytest.approx(ll, abs=1e-3)
    # rpe = reward - q, update_norm = alpha |rpe|; q equals the chosen value column
    rpe = tr["rpe"].to_numpy(float)[ok]
    np.testing.assert_allclose(rpe, (tr["reward"] - tr["q"]).to_numpy(float)[ok], atol=1e-5)
    np.testing.assert_allclose(tr["update_norm"].to_numpy(float)[ok], 0.4 * np.abs(rpe), atol=1e-5)
    chosen = np.array([tr.loc[i, f"value_{int(a)}"] for i, a in enumerate(b.choice) if a >= 0])
    np.testing.assert_allclose(chosen, tr["q"].to_numpy(float)[ok], atol=1e-6)
    H = tr["policy_entropy"].to_numpy(float)
    assert (H > 0).all() and (H <= math.log(4) + 1e-6).all()


def test_two_step_trace_has_two_rows_per_trial_and_transition_surprise():
    params = dict(alpha1=0.5, alpha2=0.5, beta1=4.0, beta2=4.0, w=0.5, lam=0.5, perseveration=0.1)
    b = _participant("two_step_hybrid", params, n=40, env="TwoStep-v0")
    tr = trialwise_trace("two_step_hybrid", params, b)
    validate_trace(tr)
    assert len(tr) == 80
    s1, s2 = tr[tr["state"] == 0], tr[tr["state"] > 0]
    np.testing.assert_allclose(s1["time"].to_numpy(), b.onset)
    np.testing.assert_allclose(s2["time"].to_numpy(), b.onset2)
    common = s1["spe"].to_numpy(float)
    assert set(np.round(common, 6)) <= {0.3, 0.7}  # 1 - P(s2 | a1): common 0.3, rare 0.7
    rare = (b.next_state - 1) != b.choice
    np.testing.assert_allclose(common, np.where(rare, 0.7, 0.3), atol=1e-6)
    b.onset2 = None
    with pytest.raises(ValueError, match="stage2_delay"):
        trialwise_trace("two_step_hybrid", params, b)
    tr2 = trialwise_trace("two_step_hybrid", params, b, stage2_delay=2.0)
    np.testing.assert_allclose(tr2[tr2["state"] > 0]["time"].to_numpy(), b.onset + 2.0)


def test_cli_fit_writes_tables_traces_and_config(tmp_path, capsys):
    paths = []
    for i in range(3):
        b = _participant(seed=i, n=100)
        paths.append(str(write_events(b, tmp_path / f"sub-{i:02d}_task-bandit_events.tsv")))
    out = tmp_path / "out"
    code = main(["fit", *paths, "--agent", "q_learning", "--n-actions", "4", "--starts", "3",
                 "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    fits = pd.read_csv(out / "fits.tsv", sep="\t")
    assert list(fits["participant"]) == ["sub-00", "sub-01", "sub-02"]
    assert {"alpha", "beta", "nll", "aic", "bic", "n_trials"} <= set(fits.columns)
    assert (fits["n_trials"] == 100).all()
    tr = read_trace(out / "trialwise.parquet")
    assert sorted(tr["run"].unique()) == [0, 1, 2] and len(tr) == 300
    meta = json.loads((out / "fit.json").read_text())
    assert meta["config"]["agent"] == "q_learning" and "darkcontrol_version" in meta
    assert len(meta["fits"]) == 3
    # bad input: the error names the row, exit code 2
    bad = tmp_path / "sub-09_task-bandit_events.tsv"
    text = (tmp_path / "sub-00_task-bandit_events.tsv").read_text().splitlines()
    cols = text[0].split("\t")
    row = text[5].split("\t")
    row[cols.index("choice")] = "7"
    text[5] = "\t".join(row)
    bad.write_text("\n".join(text) + "\n")
    assert main(["fit", str(bad), "--n-actions", "4", "--out", str(out), "--quiet"]) == 2
    assert "line 6 (row 4), column 'choice': 7 is outside" in capsys.readouterr().err


def test_cli_fit_hierarchical_and_random_model(tmp_path, capsys):
    paths = [
        str(write_events(_participant(seed=i, n=60), tmp_path / f"sub-{i:02d}_events.tsv"))
        for i in range(3)
    ]
    out = tmp_path / "h"
    args = ["fit", *paths, "--agent", "wsls", "--n-actions", "4", "--hierarchical"]
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    meta = json.loads((out / "fit.json").read_text())
    assert meta["group"]["free"] == ["epsilon"] and np.isfinite(meta["group"]["ibic"])
    args = ["fit", *paths, "--agent", "random", "--n-actions", "4", "--starts", "2"]
    assert main([*args, "--out", str(tmp_path / "r"), "--quiet"]) == 0
    fits = pd.read_csv(tmp_path / "r" / "fits.tsv", sep="\t")
    assert {"bias_1", "bias_2", "bias_3"} <= set(fits.columns)
    assert main(["fit", "--list"]) == 0
    assert "two_step_hybrid" in capsys.readouterr().out


@pytest.mark.slow
def test_pipeline_recovers_planted_effects(tmp_path, monkeypatch):
    """Events files + synthetic BOLD with rpe planted in rTPJ (and q in vmPFC) generated from
    the TRUE agent: after fitting and replaying, the group ROI t of rpe is large in rTPJ and
    small elsewhere."""
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn"))
    from darkcontrol.neuro.design import DesignConfig, load_confounds, make_design
    from darkcontrol.neuro.events import EventsConfig, trace_to_events
    from darkcontrol.neuro.pipeline import PipelineConfig, run_pipeline
    from darkcontrol.neuro.synthetic import SyntheticConfig, simulate_bold

    rng = np.random.default_rng(0)
    model = make_model("q_learning")
    paths, imgs, confs, mask, atlas = [], [], [], None, None
    for i in range(5):
        params = {"alpha": float(rng.uniform(0.3, 0.7)), "beta": float(rng.uniform(3, 7))}
        b = _participant(params=params, seed=i, n=120)
        paths.append(write_events(b, tmp_path / f"sub-{i:02d}_task-bandit_events.tsv"))
        n_scans = int(math.ceil((b.onset[-1] + 24) / 2.0))
        ev = trace_to_events(trialwise_trace(model, params, b), EventsConfig(quantities=("rpe",)))
        design = make_design(ev, DesignConfig(t_r=2.0, n_scans=n_scans))
        sim = simulate_bold(
            design,
            {"rTPJ": {"rpe": 2.0}},
            SyntheticConfig(t_r=2.0, n_scans=n_scans),
            atlas=atlas,
            mask_img=mask,
            seed=i,
        )
        mask, atlas = sim.mask_img, sim.atlas
        imgs.append(sim.img)
        confs.append(load_confounds(sim.confounds, "motion6", nan="fill_first_row"))
    config = PipelineConfig(
        quantities=("rpe",), voxelwise=False, n_actions=4, starts=3, compare=("wsls",)
    )
    res = run_pipeline(
        paths, imgs, config, mask_img=mask, atlas=atlas, confounds=confs, out=tmp_path / "o"
    )
    g = res.study.roi_group.set_index(["roi", "regressor"])["t"]
    assert g[("rTPJ", "rpe")] > 4.0, g
    others = [g[(r, "rpe")] for r in atlas.names if r != "rTPJ"]
    assert max(abs(t) for t in others) < g[("rTPJ", "rpe")] / 2, g
    assert res.comparison.iloc[0]["model"] == "q_learning"
    for f in ("fits", "trace", "report", "roi"):
        assert (tmp_path / "o" / res.files[f].split("/")[-1]).exists()
    assert json.loads((tmp_path / "o" / "config.json").read_text())["config"]["model"] == (
        "q_learning"
    )
