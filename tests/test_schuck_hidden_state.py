"""scripts/schuck_hidden_state.py's parts, and the DMN around the belief agent it needs (fast).

The study itself (claims, controls, README agreement) is run by tests/test_claim_studies.py."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.dmn import DMNAgent
from darkcontrol.simulation import simulate


@pytest.fixture(scope="module")
def study(load_script):
    return load_script("schuck_hidden_state")


def test_the_dmn_runs_the_belief_agent_with_its_own_planner_as_the_offline_source():
    env = gym.make("darkcontrol/HiddenContext-v0")
    dmn = DMNAgent(
        "belief",
        env,
        account="full",
        seed=3,
        use_agent_planner=True,
        w_replay=0.0,
        w_model=1.0,
        w_recombined=0.0,
        agent_n_planning=1,
        agent_gamma=0.5,
    )
    trace, _ = simulate(env, dmn, episodes=1, seeds=[3])
    off = trace[trace["phase"] == "offline"]
    assert len(off) > 0 and set(off["source"].astype(str)) == {"replay"}  # belief replay
    assert dmn.n_planner == len(off)
    assert trace["belief_state"].notna().all()  # the belief agent's columns, offline too


def test_the_dmn_still_refuses_an_agent_without_learn_offline_for_its_own_sources():
    env = gym.make("darkcontrol/HiddenContext-v0")
    with pytest.raises(TypeError, match="own planner only"):
        DMNAgent("belief", env, account="full", seed=0)
    with pytest.raises(TypeError, match="learn_offline"):  # replay of stored transitions
        DMNAgent("belief", env, account="full", seed=0, use_agent_planner=True, w_recombined=0.0)


def test_logistic_regression_matches_sklearn(study):
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=300) > 0).astype(np.int64)
    w = study.fit_logistic(X, y, C=1.0)
    ref = sklearn.LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(w[:-1], ref.coef_[0], atol=1e-5)
    np.testing.assert_allclose(w[-1], ref.intercept_[0], atol=1e-5)


def test_the_decoder_is_at_chance_without_information_and_high_with_it(study):
    rng = np.random.default_rng(1)
    n = 1200
    y = rng.integers(0, 2, n)
    cells = rng.integers(0, 3, n)
    groups = np.repeat(np.arange(6), n // 6)
    constant = np.ones((n, 2))
    assert study.decode(constant, y, cells, groups) <= 0.5 + 1e-12  # majority guesses
    noise = rng.normal(size=(n, 2))
    assert abs(study.decode(noise, y, cells, groups) - 0.5) < 0.06
    signal = np.column_stack([y + 0.3 * rng.normal(size=n), rng.normal(size=n)])
    assert study.decode(signal, y, cells, groups) > 0.9
    assert study.balanced_accuracy(np.array([0, 0, 0, 1]), np.array([0, 0, 0, 0])) == 0.5


def test_trials_align_the_exact_belief_with_the_agents_own(study):
    env = study.make_env("belief")
    dmn = study.make_dmn("belief", env, seed=5)
    trace, _ = simulate(env, dmn, episodes=2, seeds=[5])
    t = study.trials(trace)
    assert len(t) == 2 * (200 - 1)  # trials t >= 1 of two 200-trial episodes
    beliefs, agree = study.exact_beliefs(trace, env.unwrapped.mdp)
    assert beliefs.shape == (len(t), 12)
    assert agree["argmax_agreement"] == 1.0 and agree["max_entropy_error"] < 1e-9
    # the belief puts all its mass on states that emit the trial's observation
    O = env.unwrapped.mdp.O
    np.testing.assert_allclose((beliefs * O[:, t["state"].to_numpy()].T).sum(axis=1), 1.0)
    # and the hidden state shown on trial t emits that observation
    assert (O[t["hidden"].to_numpy(), t["state"].to_numpy()] == 1.0).all()
