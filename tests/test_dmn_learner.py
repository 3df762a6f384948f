"""The paper's learner inside the DMN (issue 12 item 3): replayed minibatches, one SGD step each.

Dohmatob, Dumas & Bzdok (2020), section "Reinforcement learning control: a process model for
DMN function" ("Self-training and the loss function", "Optimal control via stochastic gradient
descent"): y_k = r_k + gamma max_a' Q(s'_k, a' | theta), L = E_D[1/2 (Q - y)^2], SGD. Checked:
one DMN replay step is one SGD step over a minibatch of ``batch_size`` memories (against a
hand computation of delta theta), the DMN learns the Dyna maze to within 10 % of the optimal
return (value iteration), and its PMC (||delta theta||) and rTPJ (|delta|) regressors are no
longer collinear, while they are for the tabular learner (the control).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import darkcontrol
from darkcontrol.agents import make_agent
from darkcontrol.envs import GridWorld
from darkcontrol.envs.mazes import DYNA_MAZE
from darkcontrol.envs.solvers import policy_evaluation, value_iteration
from darkcontrol.regions import RegionMap

torch.set_num_threads(1)
GAMMA = 0.95
#: the paper's learner: learns from replayed minibatches only (Mnih et al. 2015), SGD with a
#: Robbins-Monro step size
PAPER_LEARNER = {
    "agent": "replay_q",
    "features": "onehot",
    "batch_size": 16,
    "alpha": 0.5,
    "online_update": False,
    "step_size": "robbins_monro",
    "rm_tau": 2000.0,
}
#: one computation step per bin (offline steps are >= 0.1 s apart at replay_hz = 10)
STEP_DT = 0.05


def _greedy_return_ratio(mdp, Q: np.ndarray) -> float:
    """E_start V^pi(s) / E_start V*(s) for the greedy policy of Q (exact policy evaluation)."""
    pi = np.zeros_like(Q)
    pi[np.arange(len(Q)), Q.argmax(1)] = 1.0
    v_pi = policy_evaluation(mdp, pi, GAMMA)
    v_star = value_iteration(mdp, GAMMA).V
    return float(mdp.start @ v_pi) / float(mdp.start @ v_star)


def _pmc_rtpj_corr(trace) -> float:
    ts = RegionMap.paper().time_series(trace, dt=STEP_DT)
    return float(np.corrcoef(ts["PMC"], ts["rTPJ"])[0, 1])


def test_a_replay_step_is_one_sgd_step_over_a_minibatch():
    env = GridWorld(DYNA_MAZE)
    dmn = make_agent("dmn", env, seed=0, account="sentinel", **PAPER_LEARNER)
    assert dmn.batch_size == 16 and dmn._learn_batch is not None
    darkcontrol.simulate(env, dmn, episodes=1, seeds=[0], max_steps=30)
    learner = dmn.agent
    theta = learner.parameters_vector()
    W = theta.reshape(dmn.n_actions, dmn.n_states)  # one-hot linear: Q(s, a) = W[a, s]
    n_before, rows_before = learner.n_updates, len(dmn.recorder)
    # the memories the step will draw: the DMN memory's next draws
    mem = dmn.memory
    mem_state = (mem._draws, mem._pos, mem.rng.bit_generator.state)
    idx = [mem.sample() for _ in range(16)]
    mem._draws, mem._pos = mem_state[0], mem_state[1]
    mem.rng.bit_generator.state = mem_state[2]
    assert dmn.plan(1) == 1
    assert learner.n_updates == n_before + 1  # ONE SGD step
    assert len(dmn.recorder) == rows_before + 1  # ONE offline row
    s, a, r, s2, t = (np.array(c) for c in zip(*(mem.get(i) for i in idx)))
    q = W[a, s]
    y = r + GAMMA * (1 - t) * W[:, s2].max(axis=0)
    step = learner.step_size(n_before)
    grad = np.zeros_like(W)
    np.add.at(grad, (a, s), (q - y) / 16)
    expected = -step * grad
    after = learner.parameters_vector().reshape(W.shape)
    np.testing.assert_allclose(after - W, expected, atol=1e-6)
    row = dmn.recorder.to_frame().iloc[-1]
    assert row["phase"] == "offline" and row["source"] == "replay"
    np.testing.assert_allclose(row["update_norm"], np.linalg.norm(expected), rtol=1e-4)
    np.testing.assert_allclose(row["rpe"], (y - q).mean(), atol=1e-6)
    np.testing.assert_allclose(row["abs_rpe"], np.abs(y - q).mean(), atol=1e-6)


def test_tabular_learner_pmc_and_rtpj_are_collinear():
    """The control: Q-learning's ||delta theta|| = alpha |delta| makes the two nodes one
    regressor (correlation 1 at one step per bin), whatever the seed."""
    for seed in range(3):
        trace, _ = darkcontrol.simulate(
            "darkcontrol/DynaMaze-v0", "dmn", episodes=20, seeds=[seed], max_steps=500
        )
        assert _pmc_rtpj_corr(trace) > 0.999


@pytest.mark.slow
def test_paper_learner_in_the_dmn_learns_the_maze_and_separates_pmc_from_rtpj():
    """4 seeds x 25 episodes. Measured (4 seeds): return ratio 0.90-1.00 (mean 0.98), PMC-rTPJ
    correlation 0.75-0.82."""
    ratios, corrs = [], []
    for seed in range(4):
        env = GridWorld(DYNA_MAZE)
        dmn = make_agent("dmn", env, seed=seed, account="full", **PAPER_LEARNER)
        trace, _ = darkcontrol.simulate(env, dmn, episodes=25, seeds=[seed], max_steps=500)
        ratios.append(_greedy_return_ratio(env.unwrapped.mdp, dmn.q_values()))
        corrs.append(_pmc_rtpj_corr(trace))
    ratios, corrs = np.array(ratios), np.array(corrs)
    assert ratios.mean() >= 0.9 and ratios.min() >= 0.85, ratios
    assert corrs.max() < 0.9, corrs


def test_batch_learner_options_are_validated():
    env = GridWorld(DYNA_MAZE)
    with pytest.raises(ValueError, match="rm_power must be in"):
        make_agent("dmn", env, agent="replay_q", step_size="robbins_monro", rm_power=0.3)
    with pytest.raises(ValueError, match="step_size must be one of"):
        make_agent("dmn", env, agent="replay_q", step_size="adagrad")
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        make_agent("dmn", env, agent="replay_q", batch_size=0)
    with pytest.raises(ValueError, match="record_changes"):
        make_agent("dmn", env, agent="replay_q", record_changes=True)
    with pytest.raises(ValueError, match="features must be one of"):
        make_agent("dmn", env, agent="replay_q", features="tile")


def test_robbins_monro_schedule():
    env = GridWorld(DYNA_MAZE)
    agent = make_agent(
        "replay_q", env, alpha=0.4, step_size="robbins_monro", rm_tau=10.0, rm_power=1.0
    )
    assert agent.step_size(0) == pytest.approx(0.4)
    assert agent.step_size(10) == pytest.approx(0.2)
    assert agent.step_size(30) == pytest.approx(0.1)
    assert make_agent("replay_q", env, alpha=0.4).step_size(1000) == 0.4
