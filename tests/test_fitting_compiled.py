"""The compiled likelihoods (neuro.kernels) are today's numpy likelihoods: the same
log-likelihood within 1e-8 for every registered model (missed and unscored trials included),
exact gradients (against central differences of the numpy pass), fits that reach the same
optimum; and a fitted parameter set builds the agent the model is the likelihood of."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.agents.registry import make_agent
from darkcontrol.neuro.behavior import Behavior
from darkcontrol.neuro.fitting import FitConfig, fit
from darkcontrol.neuro.likelihood import MODELS, make_model
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder

ENVS = {
    "bandit": ("darkcontrol/RestlessBandit-v0", {"n_trials": 150}),
    "two_step": ("darkcontrol/TwoStep-v0", {"n_trials": 150}),
    "navigation": ("darkcontrol/LinearTrack-v0", {"n_episodes": 6, "max_steps": 60}),
}


def _model(name):
    return make_model(name, n_actions=4) if name == "random" else make_model(name)


def _behaviour(model, seed=0):
    """Simulated choices with some missed and some unscored trials."""
    env_id, kw = ENVS[model.task]
    rng = np.random.default_rng(seed)
    params = {p.name: float(rng.uniform(*p.sim_range)) for p in model.free_params}
    b = model.simulate(params, gym.make(env_id), seed=seed, **kw)
    T = b.n_trials
    choice = b.choice.copy()
    missed = rng.random(T) < 0.05
    choice[missed] = -1
    outcome = np.where(missed, np.nan, b.outcome)
    scored = rng.random(T) > 0.1
    extra = {"choice2": np.where(missed, -1, b.choice2)} if b.task == "two_step" else {}
    return dataclasses.replace(b, choice=choice, outcome=outcome, scored=scored, cache={}, **extra)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_compiled_loglik_equals_the_numpy_loop(name):
    model = _model(name)
    b = _behaviour(model)
    assert (b.choice < 0).any() and not b.scored.all()
    rng = np.random.default_rng(1)
    U = model.prior()[0] + rng.normal(size=(6, model.n_free))
    theta = model.from_unbounded(U)
    got, ref = model.loglik(theta, b), model.loglik_reference(theta, b)
    assert np.all(np.isfinite(ref)) and np.ptp(ref) > 0 or model.n_free == 0
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", [n for n in sorted(MODELS) if _model(n).has_gradient])
def test_gradients_equal_central_differences_of_the_numpy_loop(name):
    model = _model(name)
    b = _behaviour(model, seed=2)
    rng = np.random.default_rng(3)
    theta = model.from_unbounded(model.prior()[0] + 0.5 * rng.normal(size=(3, model.n_free)))
    ll, g = model.loglik_grad(theta, b)
    np.testing.assert_allclose(ll, model.loglik_reference(theta, b), rtol=0, atol=1e-8)
    h = 1e-6
    for j, p in enumerate(model.params):  # fixed ones too: their column is still a slope
        up, down = theta.copy(), theta.copy()
        up[:, j] += h
        down[:, j] -= h
        fd = (model.loglik_reference(up, b) - model.loglik_reference(down, b)) / (2 * h)
        np.testing.assert_allclose(g[:, j], fd, rtol=1e-5, atol=1e-5, err_msg=p.name)
    assert np.abs(g).max() > 0.1  # the data carry information: a gradient that is not zero


@pytest.mark.parametrize("name", ["q_learning", "q_dual_persev", "two_step_hybrid"])
def test_fits_with_exact_gradients_reach_the_finite_difference_optimum(name, monkeypatch):
    model = _model(name)
    b = _behaviour(model, seed=4)
    cfg = FitConfig(starts=4, seed=0, hessian=False)
    exact = fit(model, b, cfg)
    monkeypatch.setattr(type(model), "has_gradient", property(lambda self: False))
    fd = fit(model, b, cfg)
    assert exact.nll == pytest.approx(fd.nll, abs=1e-4)
    for k in model.free_names:
        assert exact.params[k] == pytest.approx(fd.params[k], rel=1e-2, abs=1e-2)


# -- one name per model: a fit builds its agent, an agent's parameters score its choices -----
WITH_AGENT = [n for n in sorted(MODELS) if make_model(n).agent is not None]


def test_the_models_that_have_an_agent_share_its_name_and_parameter_names():
    assert set(WITH_AGENT) == {"q_learning", "q_eps_greedy", "q_nav", "two_step_hybrid"}
    assert make_model("two_step_hybrid").agent == "two_step_hybrid"
    assert "perseveration" in make_model("two_step_hybrid").param_names
    with pytest.raises(ValueError, match="not the likelihood of an agent"):
        make_model("q_persev").agent_options()


def _trace_behaviour(model, agent, env, episodes):
    simulate(env, agent, episodes=episodes, seeds=[7], max_steps=80)
    tr = agent.recorder.to_frame()
    tr = tr[tr["phase"] == "online"].reset_index(drop=True)
    if model.task == "two_step":
        s1 = tr[tr["state"] == 0].reset_index(drop=True)
        s2 = tr[tr["state"] > 0].reset_index(drop=True)
        b = Behavior(
            task="two_step",
            onset=np.arange(len(s1), dtype=float),
            state=np.zeros(len(s1), int),
            choice=s1["action"].to_numpy(int),
            next_state=s1["next_state"].to_numpy(int),
            choice2=s2["action"].to_numpy(int),
            outcome=s2["reward"].to_numpy(float),
            n_states=4,
            n_actions=2,
        )
    else:
        b = Behavior(
            task=model.task,
            onset=np.arange(len(tr), dtype=float),
            state=tr["state"].to_numpy(int),
            choice=tr["action"].to_numpy(int),
            outcome=tr["reward"].to_numpy(float),
            next_state=tr["next_state"].to_numpy(int),
            terminated=tr["terminated"].to_numpy(bool),
            episode=tr["episode"].to_numpy(int),
            n_states=env.observation_space.n,
            n_actions=env.action_space.n,
        )
    return b, np.log(tr["choice_prob"].to_numpy(np.float64)).sum()


@pytest.mark.parametrize("name", WITH_AGENT)
def test_round_trip_fit_to_agent_to_likelihood(name):
    """fit -> make_agent(model.agent, env, **options, **fit.params) -> the agent's own choice
    probabilities are the model's likelihood at those parameters."""
    model = make_model(name)
    env_id, _ = ENVS[model.task]
    env = gym.make(env_id)
    res = fit(model, _behaviour(model, seed=5), FitConfig(starts=2, seed=0, hessian=False))
    agent = make_agent(
        model.agent, env, seed=3, recorder=TraceRecorder(), **model.agent_options(), **res.params
    )
    for k, v in res.params.items():
        assert getattr(agent.config, k) == v
    episodes = 120 if model.task == "two_step" else (1 if model.task == "bandit" else 3)
    b, expected = _trace_behaviour(model, agent, env, episodes)
    got = model.loglik(model.theta(res.params), b)[0]
    assert b.n_trials > 50
    assert got == pytest.approx(expected, abs=2e-3)  # the Trace stores float32 probabilities
