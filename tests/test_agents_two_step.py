"""TwoStepHybrid (Daw et al. 2011, Neuron 69:1204-1215): updates and choice rule by hand, the
Trace, and the stay analysis (logistic regression against sklearn and planted effects)."""

import numpy as np
import pandas as pd
import pytest

from darkcontrol.agents import make_agent
from darkcontrol.agents.policies import softmax_probs
from darkcontrol.agents.two_step import (
    PRESETS,
    TwoStepConfig,
    TwoStepHybrid,
)
from darkcontrol.analysis import (
    stay_data,
    stay_probabilities,
    stay_regression,
    two_step_trials,
)
from darkcontrol.clock import Clock
from darkcontrol.envs.two_step import TwoStep
from darkcontrol.simulation import simulate
from darkcontrol.trace import COLUMNS, TraceRecorder, validate_trace


@pytest.mark.parametrize(
    "bad",
    [
        {"alpha1": 0.0},
        {"alpha2": 1.5},
        {"lam": -0.1},
        {"w": 2.0},
        {"beta1": -1.0},
        {"common_prob": 1.2},
    ],
)
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        TwoStepConfig(**bad)


def test_needs_the_two_step_layout_and_known_presets():
    with pytest.raises(ValueError, match="4 states and 2 actions"):
        TwoStepHybrid(5, 2)
    with pytest.raises(ValueError, match="preset"):
        TwoStepHybrid.from_preset("habitual")
    agent = TwoStepHybrid.from_preset("model_based", beta1=2.0, seed=1)
    assert agent.config.w == 1.0 and agent.config.beta1 == 2.0 and agent.seed == 1


def test_one_trial_updates_by_hand():
    cfg = {"alpha1": 0.3, "alpha2": 0.6, "lam": 0.5, "w": 0.4, "common_prob": 0.7}
    agent = TwoStepHybrid(4, 2, cfg, seed=0)
    agent.Q_mf[:3] = [[0.2, 0.1], [0.5, 0.3], [0.4, 0.8]]
    q0 = agent.Q_mf.copy()
    q_mb = np.array([0.7 * 0.5 + 0.3 * 0.8, 0.3 * 0.5 + 0.7 * 0.8])
    np.testing.assert_allclose(agent.q_mb(), q_mb)
    np.testing.assert_allclose(agent.q_net(), 0.4 * q_mb + 0.6 * q0[0])
    agent.reset()
    agent.observe(0, 0, 0.0, 2, False)  # action 0 -> state 2: a rare transition
    agent.observe(2, 1, 1.0, 3, True)
    d1 = q0[2, 1] - q0[0, 0]
    d2 = 1.0 - q0[2, 1]
    q = q0.copy()
    q[0, 0] += 0.3 * d1
    q[2, 1] += 0.6 * d2
    q[0, 0] += 0.3 * 0.5 * d2
    np.testing.assert_allclose(agent.Q_mf, q)
    df = agent.recorder.to_frame()
    s1, s2 = df.iloc[0], df.iloc[1]
    assert (s1["stage"], s2["stage"]) == (1, 2)
    assert s1["q"] == pytest.approx(q0[0, 0]) and s1["rpe"] == pytest.approx(d1)
    assert s1["target"] == pytest.approx(q0[2, 1])
    assert s1["spe"] == pytest.approx(0.7) and not s1["common"] and not s2["common"]
    assert s1["q_mb"] == pytest.approx(q_mb[0])
    assert s2["rpe"] == pytest.approx(d2) and s2["spe"] == 0.0
    assert s2["update_norm"] == pytest.approx(np.hypot(0.6 * d2, 0.15 * d2))


def test_choice_rule_with_perseveration():
    agent = TwoStepHybrid(4, 2, {"beta1": 3.0, "beta2": 2.0, "perseveration": 0.5, "w": 0.6})
    agent.Q_mf[:3] = [[0.1, 0.3], [0.9, 0.2], [0.4, 0.6]]
    np.testing.assert_allclose(agent.policy(0), softmax_probs(agent.q_net(), 3.0))
    agent.prev_choice = 0
    np.testing.assert_allclose(agent.policy(0), softmax_probs(agent.q_net() + [0.5, 0], 3.0))
    np.testing.assert_allclose(agent.policy(2), softmax_probs([0.4, 0.6], 2.0))
    q = agent.q_values()
    np.testing.assert_allclose(q[0], agent.q_net())
    np.testing.assert_allclose(q[1:3], agent.Q_mf[1:3])
    agent.reset()
    assert agent.prev_choice == 0  # perseveration spans trials


def test_runner_trace_and_trials():
    env = TwoStep()
    rec = TraceRecorder()
    agent = make_agent("two_step_hybrid", env, seed=3, recorder=rec)
    assert TwoStepHybrid.default_env == "darkcontrol/TwoStep-v0"
    simulate(env, agent, episodes=30, seeds=[3], clock=Clock(trial_s=1.0, iti_s=0.0))
    df = rec.to_frame()
    validate_trace(df)
    assert len(df) == 60 and (df["phase"] == "online").all()
    for col in COLUMNS:
        if col not in TwoStepHybrid.nan_columns:
            assert df[col].notna().all(), col
    # the stage-1 row (recorded when a2 is known) keeps the clock time of the stage-1 step
    np.testing.assert_allclose(df["time"], np.arange(60.0))
    assert df["stage"].tolist() == [1, 2] * 30
    trials = two_step_trials(df)
    assert len(trials) == 30 and trials["trial"].tolist() == list(range(30))
    # 'common' from the agent's column equals the layout's (action a commonly -> a + 1)
    inferred = two_step_trials(df.drop(columns="common"))
    pd.testing.assert_series_equal(trials["common"], inferred["common"])
    with pytest.raises(ValueError, match="lack a stage-1 or a stage-2"):
        two_step_trials(df.iloc[:-1])


def test_common_matches_the_environment():
    env = TwoStep()
    agent = TwoStepHybrid(4, 2, seed=0)
    env_common, agent_common = [], []
    s, _ = env.reset(seed=0)
    for _ in range(50):
        agent.reset()
        a = agent.act(0)
        s2, r, _, _, info = env.step(a)
        agent.observe(0, a, r, s2, False)
        a2 = agent.act(s2)
        _, r2, term, _, _ = env.step(a2)
        agent.observe(s2, a2, r2, 3, term)
        env_common.append(info["common"])
        env.reset()
    df = agent.recorder.to_frame()
    agent_common = df.loc[df["stage"] == 1, "common"].tolist()
    assert agent_common == env_common


def _trials(choice1, reward, common, participant=0):
    n = len(choice1)
    return pd.DataFrame(
        {
            "participant": participant,
            "trial": np.arange(n),
            "choice1": choice1,
            "reward": reward,
            "common": common,
        }
    )


def test_stay_data_and_probabilities_by_hand():
    t = _trials([0, 0, 1, 1, 1], [1, 0, 1, 1, 0], [True, False, True, False, True])
    d = stay_data(t)
    assert d["stay"].tolist() == [True, False, True, True]
    assert d["prev_reward"].tolist() == [True, False, True, True]
    assert d["prev_common"].tolist() == [True, False, True, False]
    p = stay_probabilities(t)
    assert p.loc[("rewarded", "common"), "mean"] == 1.0
    assert p.loc[("unrewarded", "rare"), "mean"] == 0.0
    assert p.loc[("rewarded", "rare"), "n_trials"] == 1
    with pytest.raises(ValueError, match="consecutive"):
        stay_data(t.drop(index=2))


def _planted(rng, coef, n_participants, n_trials, sd_intercept=0.0):
    """Trials whose stay probability follows the logistic model with coefficients ``coef``."""
    frames = []
    for k in range(n_participants):
        r = rng.random(n_trials) < 0.5
        c = rng.random(n_trials) < 0.7
        x_r, x_t = np.where(r, 1.0, -1.0), np.where(c, 1.0, -1.0)
        logit = coef[0] + sd_intercept * rng.normal() + coef[1] * x_r + coef[2] * x_t
        logit = logit + coef[3] * x_r * x_t
        stay = rng.random(n_trials) < 1.0 / (1.0 + np.exp(-logit))
        # the stay after trial i (driven by its outcome) sets choice i + 1
        choice = np.concatenate([[0], np.cumsum(~stay[:-1]) % 2])
        frames.append(_trials(choice, r.astype(float), c, participant=k))
    return pd.concat(frames, ignore_index=True)


def test_regression_matches_sklearn_and_recovers_planted_effects():
    from sklearn.linear_model import LogisticRegression

    coef = np.array([0.5, 0.8, -0.2, 0.6])
    trials = _planted(np.random.default_rng(0), coef, 10, 1000)
    res = stay_regression(trials, se="model")
    d = stay_data(trials)
    r = np.where(d["prev_reward"], 1.0, -1.0)
    t = np.where(d["prev_common"], 1.0, -1.0)
    X = np.column_stack([r, t, r * t])
    sk = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, d["stay"])
    np.testing.assert_allclose(res["coef"], [sk.intercept_[0], *sk.coef_[0]], atol=1e-5)
    assert (np.abs(res["coef"] - coef) < 4 * res["se"]).all()
    np.testing.assert_allclose(res["ci_high"] - res["ci_low"], 2 * 1.959964 * res["se"])


@pytest.mark.slow
def test_standard_errors_are_calibrated():
    """Over 200 planted data sets the spread of the estimates equals the Hessian SE; with
    participants that differ (random intercepts) the clustered SE follows the true spread."""
    rng = np.random.default_rng(1)
    coef = np.array([0.3, 0.6, 0.0, 0.4])
    est, se_model = [], []
    for _ in range(200):
        res = stay_regression(_planted(rng, coef, 4, 150), se="model")
        est.append(res["coef"].to_numpy())
        se_model.append(res["se"].to_numpy())
    ratio = np.std(est, axis=0) / np.mean(se_model, axis=0)
    assert np.all(np.abs(ratio - 1.0) < 0.15), ratio
    est, se_cl = [], []
    for _ in range(200):
        res = stay_regression(_planted(rng, coef, 20, 40, sd_intercept=1.5), se="cluster")
        est.append(res["coef"].to_numpy())
        se_cl.append(res["se"].to_numpy())
    ratio = np.std(est, axis=0)[0] / np.mean(se_cl, axis=0)[0]  # the intercept varies most
    assert abs(ratio - 1.0) < 0.2, ratio


def test_regression_rejects_bad_input():
    t = _trials([0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0], [True] * 6)
    with pytest.raises(ValueError):
        stay_regression(t)  # always stay: separation (or too few trials)
    with pytest.raises(ValueError, match="se must be"):
        stay_regression(t, se="robust")
    assert PRESETS["model_free"]["w"] == 0.0 and PRESETS["model_based"]["w"] == 1.0


def test_script_runs_and_writes_its_outputs(tmp_path, capsys):
    import json
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "two_step_signatures.py"
    main = runpy.run_path(str(script), run_name="two_step_signatures")["main"]
    args = ["--out", str(tmp_path), "--participants", "5", "--trials", "100", "--quiet"]
    assert main(args) == 0
    assert "reward x transition" in capsys.readouterr().out
    assert (tmp_path / "two_step_signatures.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["agents"]) == {"model_free", "model_based", "hybrid"}
