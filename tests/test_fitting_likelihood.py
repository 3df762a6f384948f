"""Likelihoods against independent ground truth: the package's own agents (their recorded
choice probabilities), hand-computed probabilities, closed-form MLEs, and the vectorisation."""

import math

import gymnasium as gym
import numpy as np
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.agents.tabular import QLearning
from darkcontrol.agents.two_step import TwoStepHybrid
from darkcontrol.neuro.behavior import Behavior
from darkcontrol.neuro.fitting import FitConfig, Objective, fit
from darkcontrol.neuro.likelihood import MODELS, make_model, models_for_task
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder


def _agent_trace(agent, env, episodes, seed):
    simulate(env, agent, episodes=episodes, seeds=[seed])[1].runs[0]
    return agent.recorder.to_frame()


def test_q_learning_matches_the_tabular_agent_on_a_bandit():
    """Sum of log choice_prob recorded by agents.tabular.QLearning (softmax, gamma = 0: each
    pull is its own trial) equals our vectorised likelihood at the same parameters."""
    env = gym.make("darkcontrol/RestlessBandit-v0", n_arms=3)
    agent = QLearning(
        1, 3, alpha=0.35, beta=4.0, gamma=0.0, policy="softmax", seed=3, recorder=TraceRecorder()
    )
    tr = _agent_trace(agent, env, 1, seed=3)
    b = Behavior(
        task="bandit",
        onset=np.arange(len(tr), dtype=float),
        state=tr["state"].to_numpy(int),
        choice=tr["action"].to_numpy(int),
        outcome=tr["reward"].to_numpy(float),
        n_states=1,
        n_actions=3,
    )
    model = make_model("q_learning")
    expected = np.log(tr["choice_prob"].to_numpy(np.float64)).sum()
    got = model.loglik(model.theta({"alpha": 0.35, "beta": 4.0}), b)[0]
    assert got == pytest.approx(expected, abs=1e-3)  # the Trace stores float32
    rep = model.replay({"alpha": 0.35, "beta": 4.0}, b)
    np.testing.assert_allclose(rep["rpe"], tr["rpe"].to_numpy(float), atol=1e-5)
    np.testing.assert_allclose(rep["q"], tr["q"].to_numpy(float), atol=1e-5)


def test_navigation_q_learning_matches_the_tabular_agent_with_bootstrapping():
    env = gym.make("darkcontrol/FourRooms-v0")
    S, A = env.observation_space.n, env.action_space.n
    params = {"alpha": 0.5, "beta": 3.0, "gamma": 0.9}
    agent = QLearning(S, A, policy="softmax", seed=1, recorder=TraceRecorder(), **params)
    tr = _agent_trace(agent, env, 3, seed=1)
    b = Behavior(
        task="navigation",
        onset=np.arange(len(tr), dtype=float),
        state=tr["state"].to_numpy(int),
        choice=tr["action"].to_numpy(int),
        outcome=tr["reward"].to_numpy(float),
        next_state=tr["next_state"].to_numpy(int),
        terminated=tr["terminated"].to_numpy(bool),
        episode=tr["episode"].to_numpy(int),
        n_states=S,
        n_actions=A,
    )
    model = make_model("q_nav")
    expected = np.log(tr["choice_prob"].to_numpy(np.float64)).sum()
    assert model.loglik(model.theta(params), b)[0] == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("w", [0.0, 0.4, 1.0])
def test_two_step_hybrid_matches_the_agent(w):
    """agents.two_step.TwoStepHybrid (Daw 2011) and our hybrid give the same probabilities of
    both stages' choices; the agent is run on TwoStep-v0, one trial per episode."""
    params = dict(alpha1=0.6, alpha2=0.3, beta1=4.0, beta2=3.0, lam=0.7, w=w)
    env = gym.make("darkcontrol/TwoStep-v0")
    agent = TwoStepHybrid(4, 2, perseveration=0.2, seed=5, recorder=TraceRecorder(), **params)
    tr = _agent_trace(agent, env, 150, seed=5)
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
    model = make_model("two_step_hybrid")
    expected = np.log(tr["choice_prob"].to_numpy(np.float64)).sum()
    got = model.loglik(model.theta({**params, "perseveration": 0.2}), b)[0]
    assert got == pytest.approx(expected, abs=2e-3)
    rep = model.replay({**params, "perseveration": 0.2}, b)
    np.testing.assert_allclose(rep["rpe2"], s2["rpe"].to_numpy(float), atol=1e-5)
    np.testing.assert_allclose(rep["rpe1"], s1["rpe"].to_numpy(float), atol=1e-5)
    np.testing.assert_allclose(rep["q_mb"], s1["q_mb"].to_numpy(float), atol=1e-5)


def _bandit(choice, outcome, A=2):
    T = len(choice)
    return Behavior(
        task="bandit",
        onset=np.arange(T, dtype=float),
        state=np.zeros(T, int),
        choice=np.asarray(choice),
        outcome=np.asarray(outcome, float),
        n_states=1,
        n_actions=A,
    )


def test_hand_computed_q_learning_with_perseveration_and_lapse():
    b = _bandit([0, 0, 1], [1, 0, 1])
    a, beta, k, eps = 0.5, 2.0, 1.0, 0.2
    # trial 0: Q = (0, 0) -> 1/2; Q0 <- 0.5
    # trial 1: logits (2*0.5 + k, 0) ; Q0 <- 0.5 + 0.5 (0 - 0.5) = 0.25
    # trial 2: logits (2*0.25 + k, 0), choose 1
    p1 = 1 / (1 + math.exp(-(1.0 + k)))
    p2 = 1 / (1 + math.exp(0.5 + k))
    m = make_model("q_persev")
    got = m.loglik(m.theta({"alpha": a, "beta": beta, "kappa": k}), b)[0]
    assert got == pytest.approx(math.log(0.5) + math.log(p1) + math.log(p2), rel=1e-12)
    lapse = make_model("q_lapse")
    q1 = 1 / (1 + math.exp(-1.0))
    q2 = 1 / (1 + math.exp(0.5))
    exp_l = sum(math.log((1 - eps) * p + eps / 2) for p in (0.5, q1, q2))
    assert lapse.loglik(lapse.theta({"alpha": a, "beta": beta, "epsilon": eps}), b)[
        0
    ] == pytest.approx(exp_l, rel=1e-12)


def test_hand_computed_wsls_and_epsilon_greedy():
    b = _bandit([1, 1, 0, 2, 2], [1, 0, 0, 1, 0], A=3)
    eps = 0.3
    # t0 uniform; t1 after a win: stay (1 - eps + eps/3); t2 after a loss: shift to one of
    # two others ((1 - eps)/2 + eps/3); t3 after a loss at 0: shift to 2; t4 after win: stay? no
    win_stay, lose_shift, win_shift = 1 - eps + eps / 3, (1 - eps) / 2 + eps / 3, eps / 3
    expected = math.log(1 / 3) + math.log(win_stay) + 2 * math.log(lose_shift)
    expected += math.log(win_stay)  # t4 = 2 after a win at 2: stayed
    m = make_model("wsls")
    assert m.loglik(m.theta({"epsilon": eps}), b)[0] == pytest.approx(expected, rel=1e-12)
    assert win_shift < win_stay
    g = make_model("q_eps_greedy")
    # greedy arm with ties split: t0 all tied; t1 Q=(0,.5,0) arm 1 greedy; t2 Q=(0,.25,0)
    # arm 0 not greedy; t3 Q=(0,.25,0) arm 2 not greedy; t4 Q=(0,.25,.5) arm 2 greedy
    e = 0.1
    ps = [1 / 3, (1 - e) + e / 3, e / 3, e / 3, (1 - e) + e / 3]
    got = g.loglik(g.theta({"alpha": 0.5, "epsilon": e}), b)[0]
    assert got == pytest.approx(sum(map(math.log, ps)), rel=1e-12)


def test_missed_trials_neither_count_nor_teach():
    full = _bandit([0, 1, 1, 0], [1, 0, 1, 1])
    with_missed = _bandit([0, -1, 1, 1, 0], [1, np.nan, 0, 1, 1])
    for name in ("q_learning", "q_persev", "wsls", "random"):
        m = make_model(name)
        theta = np.array([[p.prior_mean for p in m.params]])
        assert m.loglik(theta, with_missed)[0] == pytest.approx(m.loglik(theta, full)[0])


def test_vectorised_rows_equal_single_evaluations():
    rng = np.random.default_rng(0)
    b = _bandit(rng.integers(0, 3, 60), rng.integers(0, 2, 60), A=3)
    for name in models_for_task("bandit"):
        m = make_model(name, **({"n_actions": 3} if name == "random" else {}))
        U = rng.normal(0, 1, size=(7, m.n_free))
        theta = m.from_unbounded(U)
        many = m.loglik(theta, b)
        single = [m.loglik(theta[k : k + 1], b)[0] for k in range(7)]
        np.testing.assert_allclose(many, single, rtol=1e-12, err_msg=name)


def test_gradient_matches_a_finer_difference():
    rng = np.random.default_rng(1)
    b = _bandit(rng.integers(0, 2, 80), rng.integers(0, 2, 80))
    m = make_model("q_dual_persev")
    obj = Objective(m, b, prior=m.prior())
    u = np.array([0.3, -0.2, 1.1, 0.4])
    f, g = obj.value_and_grad(u)
    for i in range(len(u)):
        e = np.zeros(len(u))
        e[i] = 1e-6
        num = (obj.value(u + e) - obj.value(u - e)) / 2e-6
        assert g[i] == pytest.approx(num, rel=1e-4, abs=1e-6)
    H = obj.hessian(u)
    assert np.allclose(H, H.T)


def test_random_model_mle_is_the_choice_frequency():
    """Closed form: the MLE of P(choice = 1) is the observed frequency."""
    choice = np.r_[np.ones(30, int), np.zeros(70, int)]
    b = _bandit(choice, np.zeros(100))
    res = fit("random", b, starts=3)
    p1 = 1 / (1 + math.exp(-res.params["bias"]))
    assert p1 == pytest.approx(0.3, abs=1e-4)
    expected_nll = -(30 * math.log(0.3) + 70 * math.log(0.7))
    assert res.nll == pytest.approx(expected_nll, abs=1e-6)
    assert res.bic == pytest.approx(2 * expected_nll + math.log(100))
    assert res.aic == pytest.approx(2 * expected_nll + 2)


def test_fit_finds_the_global_optimum_and_is_seeded():
    model = make_model("q_learning")
    env = gym.make("darkcontrol/RestlessBandit-v0")
    b = model.simulate({"alpha": 0.4, "beta": 5.0}, env, n_trials=200, seed=11)
    r1 = fit(model, b, FitConfig(starts=6, seed=2))
    r2 = fit(model, b, FitConfig(starts=6, seed=2))
    assert r1.params == r2.params and r1.nll == r2.nll
    # a dense grid on the natural scale finds no better point
    A, B = np.meshgrid(np.linspace(0.01, 0.99, 60), np.geomspace(0.1, 20, 60))
    grid = model.nll(np.column_stack([A.ravel(), B.ravel()]), b)
    assert r1.nll <= grid.min() + 1e-9
    assert r1.converged and r1.n_at_best >= 2
    # MAP pulls towards the prior and costs at least the MLE's NLL
    rm = fit(model, b, method="map", starts=6)
    assert rm.nll >= r1.nll - 1e-9 and np.isfinite(rm.log_evidence)


def test_fixed_parameters_and_validation():
    m = make_model("model_free")
    assert m.fixed == {"w": 0.0} and "w" not in m.free_names and m.n_free == 5
    with pytest.raises(ValueError, match="cannot fix"):
        make_model("q_learning", fixed={"gamma": 0.9})
    with pytest.raises(ValueError, match="outside"):
        make_model("q_learning").theta({"alpha": 1.5, "beta": 1.0})
    with pytest.raises(ValueError, match="is for the two_step task"):
        make_model("two_step_hybrid").loglik(np.ones((1, 7)) * 0.5, _bandit([0], [1]))
    with pytest.raises(ValueError, match="unknown model"):
        make_model("nope")
    assert set(MODELS) >= {"q_learning", "q_persev", "wsls", "random", "two_step_hybrid"}


def test_unscored_transitions_update_values_but_are_not_scored():
    """A forced / replayed transition (scored=False) changes Q like a chosen one, and only
    scored choices enter the likelihood: equal to the sum of the agent's log choice_prob."""
    from darkcontrol.agents.tabular import QLearning
    from darkcontrol.neuro.behavior import Behavior
    from darkcontrol.neuro.likelihood import make_model

    rng = np.random.default_rng(3)
    agent = QLearning(1, 2, alpha=0.3, beta=4.0, policy="softmax", gamma=0.0, seed=5)
    rows, logp = [], 0.0
    for t in range(120):
        if t % 3 == 2:  # forced trial: the learner updates, the participant did not choose
            a = int(rng.integers(2))
            r = float(rng.random() < (0.8 if a else 0.2))
            agent.learn_offline(0, a, r, 0, True)
            rows.append((a, r, False))
        else:
            a = agent.act(0)
            logp += np.log(agent.policy(0)[a])
            r = float(rng.random() < (0.8 if a else 0.2))
            agent.observe(0, a, r, 0, True)
            rows.append((a, r, True))
    a, r, scored = (np.array(x) for x in zip(*rows))
    b = Behavior(
        task="bandit",
        onset=np.arange(len(a), dtype=float),
        state=np.zeros(len(a), int),
        choice=a,
        outcome=r,
        n_states=1,
        n_actions=2,
        scored=scored.astype(bool),
    )
    model = make_model("q_learning")
    ll = model.loglik(model.theta({"alpha": 0.3, "beta": 4.0})[None, :], b)[0]
    assert ll == pytest.approx(logp, abs=1e-8)
    assert b.n_choices == int(scored.sum())
    # dropping the forced trials instead gives a different (wrong) likelihood
    keep = scored.astype(bool)
    b2 = Behavior(
        task="bandit",
        onset=np.arange(keep.sum(), dtype=float),
        state=np.zeros(keep.sum(), int),
        choice=a[keep],
        outcome=r[keep],
        n_states=1,
        n_actions=2,
    )
    assert model.loglik(model.theta({"alpha": 0.3, "beta": 4.0})[None, :], b2)[0] != pytest.approx(
        logp, abs=1e-3
    )
    with pytest.raises(ValueError, match="scored must be a boolean"):
        Behavior(
            task="bandit",
            onset=[0.0, 1.0],
            state=[0, 0],
            choice=[0, 1],
            outcome=[0, 1],
            n_states=1,
            n_actions=2,
            scored=[1, 0],
        )
