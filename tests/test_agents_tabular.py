"""Tabular agents converge to the exact solution their algorithm targets, on small MDPs.

Ground truth (``darkcontrol.envs.solvers`` and the epsilon-greedy operator below):

- off-policy control (Q-learning, Dyna-Q, prioritised sweeping, SR-Dyna after replay) -> Q*;
- on-policy control with a fixed epsilon-greedy policy (SARSA, expected SARSA, Monte Carlo
  rollouts, SR-TD) -> Q_eps, the fixed point of
  T_eps Q = R + gamma P [(1 - eps) max_a Q + eps mean_a Q], which is *not* Q*.

The world is a 2x3 grid with a goal (+1) and a hazard (-1) side by side, every free cell a
start (so that all pairs are visited often), gamma = 0.9 and epsilon = 0.5: Q* and Q_eps then
differ by 0.38 (deterministic) / 0.33 (slip 0.2), far more than the tolerances, so each test
also shows the agent did *not* converge to the other target. Agents whose updates are noisy
(constant alpha, random targets) are compared through their Polyak average (the mean of Q
over the second half of training), the standard estimate of a stochastic approximation's
limit.
"""

from __future__ import annotations

import numpy as np
import pytest

from darkcontrol.agents import make_agent
from darkcontrol.agents.model import WorldModel
from darkcontrol.agents.policies import (
    action_probs,
    action_probs_list,
    entropy,
    entropy_list,
    sample_index,
)
from darkcontrol.clock import Clock
from darkcontrol.envs.gridworld import GridWorld
from darkcontrol.envs.solvers import value_iteration
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder

LAYOUT = ("SSG", "SSH")
GAMMA, EPS = 0.9, 0.5


def q_eps(mdp, gamma: float, eps: float, tol: float = 1e-12) -> np.ndarray:
    """Fixed point of the epsilon-greedy Bellman operator (a gamma-contraction)."""
    Q = np.zeros((mdp.n_states, mdp.n_actions))
    while True:
        v = (1.0 - eps) * Q.max(axis=1) + eps * Q.mean(axis=1)
        new = mdp.R + gamma * mdp.P @ v
        if np.abs(new - Q).max() < tol:
            return new
        Q = new


def targets(slip: float):
    env = GridWorld(LAYOUT, slip=slip)
    mdp = env.mdp
    mask = ~mdp.terminal & ~env.walls.ravel()
    return value_iteration(mdp, GAMMA).Q, q_eps(mdp, GAMMA, EPS), mask


def train(name: str, slip: float, episodes: int, seed: int, polyak: bool = False, **params):
    """Train on a fresh env; return the agent and its final (or Polyak-averaged) Q."""
    env = GridWorld(LAYOUT, slip=slip)
    agent = make_agent(
        name,
        env,
        seed=seed,
        recorder=TraceRecorder(mode="online"),
        gamma=GAMMA,
        epsilon=EPS,
        **params,
    )
    if not polyak:
        simulate(env, agent, episodes=episodes, seeds=[seed])[1].runs[0]
        return agent, agent.q_values().copy()
    half = episodes // 2
    simulate(env, agent, episodes=half, seeds=[seed])[1].runs[0]
    acc = np.zeros((env.n_states, env.n_actions))
    for _ in range(half):
        # a fresh recorder per call: simulate returns an instance's whole Trace, and 3,000
        # calls on one growing recorder would cost O(n^2) (noted for the runner's API)
        agent.recorder = TraceRecorder(mode="online")
        simulate(env, agent, episodes=1, seeds=[None])[1].runs[0]
        acc += agent.q_values()
    return agent, acc / half


def max_err(Q, ref, mask) -> float:
    return float(np.abs(Q - ref)[mask].max())


def test_targets_differ():
    for slip in (0.0, 0.2):
        q_star, q_e, mask = targets(slip)
        assert max_err(q_star, q_e, mask) > 0.3


# -- deterministic world: off-policy learners reach Q* ------------------------------------------
@pytest.mark.parametrize(
    ("name", "episodes", "params"),
    [
        ("q_learning", 400, {"alpha": 0.5}),
        ("dyna_q", 300, {"alpha": 0.5, "n_planning": 10}),
        ("prioritized_sweeping", 200, {"alpha": 1.0, "n_planning": 10, "theta": 1e-9}),
    ],
)
def test_off_policy_reaches_q_star_deterministic(name, episodes, params):
    q_star, q_e, mask = targets(0.0)
    for seed in range(3):
        agent, Q = train(name, 0.0, episodes, seed, **params)
        if name == "prioritized_sweeping":
            agent.plan(10_000)  # drain the queue
            assert agent.queue_size() == 0
            Q = agent.q_values()
        assert max_err(Q, q_star, mask) < 0.01, (name, seed)
        assert max_err(Q, q_e, mask) > 0.3


def test_sr_dyna_replay_reaches_q_star_deterministic():
    """SR-Dyna's greedy replay turns H into the SR of the optimal policy: Q = H w = Q*."""
    q_star, _, mask = targets(0.0)
    for seed in range(2):
        agent, _ = train("sr_dyna", 0.0, 300, seed, alpha=0.2, alpha_w=0.5)
        agent.plan(20_000)
        assert max_err(agent.q_values(), q_star, mask) < 0.01


# -- deterministic world: on-policy learners reach Q_eps ---------------------------------------
@pytest.mark.parametrize(
    ("name", "episodes", "params", "polyak", "tol"),
    [
        ("expected_sarsa", 400, {"alpha": 0.5}, False, 0.01),  # deterministic update: exact
        ("sarsa", 4000, {"alpha": 0.02}, True, 0.08),
        ("mc_rollout", 600, {"alpha": 0.02, "n_planning": 10, "start": "visited"}, True, 0.08),
        ("sr_td", 1200, {"alpha": 0.05, "alpha_w": 0.05}, True, 0.08),
    ],
)
def test_on_policy_reaches_q_eps_deterministic(name, episodes, params, polyak, tol):
    q_star, q_e, mask = targets(0.0)
    for seed in range(2):
        _, Q = train(name, 0.0, episodes, seed, polyak=polyak, **params)
        assert max_err(Q, q_e, mask) < tol, (name, seed, max_err(Q, q_e, mask))
        assert max_err(Q, q_star, mask) > 0.25


# -- stochastic world (slip 0.2) -----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "episodes", "params", "target", "tol"),
    [
        ("q_learning", 6000, {"alpha": 0.02}, "star", 0.08),
        ("dyna_q", 1000, {"alpha": 0.05, "n_planning": 10, "model": "counts"}, "star", 0.2),
        ("expected_sarsa", 6000, {"alpha": 0.02}, "eps", 0.08),
        ("sarsa", 6000, {"alpha": 0.02}, "eps", 0.08),
        ("sr_td", 3000, {"alpha": 0.05, "alpha_w": 0.05, "model": "counts"}, "eps", 0.12),
        (
            "mc_rollout",
            1000,
            {"alpha": 0.02, "n_planning": 10, "start": "visited", "model": "counts"},
            "eps",
            0.12,
        ),
    ],
)
def test_converges_stochastic(name, episodes, params, target, tol):
    q_star, q_e, mask = targets(0.2)
    ref, other = (q_star, q_e) if target == "star" else (q_e, q_star)
    for seed in range(3):
        _, Q = train(name, 0.2, episodes, seed, polyak=True, **params)
        assert max_err(Q, ref, mask) < tol, (name, seed, max_err(Q, ref, mask))
        assert max_err(Q, other, mask) > 0.2


@pytest.mark.slow
def test_prioritized_sweeping_stochastic_solves_its_model_and_approaches_q_star():
    """With the counts model, expected backups and alpha = 1, prioritised sweeping computes
    Q* of its learned model exactly (value iteration on P_hat, R_hat), and that model
    approaches the world: the greedy policy is optimal and Q is near Q*."""
    from darkcontrol.envs.mdp import TabularMDP

    q_star, q_e, mask = targets(0.2)
    env = GridWorld(LAYOUT, slip=0.2)
    for seed in range(3):
        agent, _ = train(
            "prioritized_sweeping",
            0.2,
            1500,
            seed,
            alpha=1.0,
            model="counts",
            theta=1e-9,
            n_planning=1,  # planning is drained below; keep training cheap
        )
        agent.plan(1_000_000)
        assert agent.queue_size() == 0
        m = agent.model
        P = m.P_hat()
        untried = m.total == 0
        P[untried] = np.eye(env.n_states)[np.nonzero(untried)[0]]  # (walls/terminals) self-loop
        learned = TabularMDP(P=P, R=m.R_hat(), terminal=m.terminal, start=env.mdp.start)
        q_model = value_iteration(learned, GAMMA).Q
        assert max_err(agent.Q, q_model, mask) < 1e-5
        assert max_err(agent.Q, q_star, mask) < 0.1
        assert max_err(agent.Q, q_e, mask) > 0.2
        greedy = agent.Q.argmax(axis=1)
        assert np.all(q_star[mask, greedy[mask]] >= q_star[mask].max(axis=1) - 1e-9)


# -- building blocks -------------------------------------------------------------------------------
def test_world_model_counts_and_last():
    rng = np.random.default_rng(0)
    m = WorldModel(3, 2, mode="counts")
    assert m.spe(0, 1, 2) == 1.0
    assert m.update(0, 1, 1.0, 2, False) == 1.0
    assert m.update(0, 1, 0.0, 1, False) == 1.0
    assert m.update(0, 1, 1.0, 2, True) == pytest.approx(0.5)
    np.testing.assert_allclose(m.prob(0, 1), [0, 1 / 3, 2 / 3])
    assert m.expected_reward(0, 1) == pytest.approx(2 / 3)
    assert m.reward(0, 1, 2) == 1.0 and m.terminal[2] and not m.terminal[1]
    assert m.backup(0, 1, lambda s: 10.0, 0.5) == pytest.approx(2 / 3 + 0.5 * 10 / 3)
    draws = [m.sample(0, 1, rng)[1] for _ in range(3000)]
    assert abs(np.mean(np.array(draws) == 2) - 2 / 3) < 0.03  # binomial sd 0.009
    assert sorted(map(tuple, m.predecessors(2))) == [(0, 1)] == m.predecessor_pairs(2)

    last = WorldModel(3, 2, mode="last")
    last.update(0, 1, 1.0, 2, False)
    assert last.update(0, 1, 0.0, 1, False) == 1.0  # surprise: the world changed
    np.testing.assert_allclose(last.prob(0, 1), [0, 1, 0])
    assert last.sample(0, 1, rng) == (0.0, 1, False)
    assert last.predecessor_pairs(2) == [] and last.predecessor_pairs(1) == [(0, 1)]
    assert last.visits[0, 1] == 2 and last.total[0, 1] == 1
    with pytest.raises(ValueError, match="never tried"):
        last.sample(1, 0, rng)
    with pytest.raises(ValueError, match="mode"):
        WorldModel(3, 2, mode="recent")


@pytest.mark.parametrize("policy", ["epsilon_greedy", "softmax", "greedy"])
def test_list_policies_match_numpy(policy):
    rng = np.random.default_rng(1)
    for q in (rng.normal(size=4), np.array([1.0, 0.0, 1.0, -2.0]), np.zeros(3)):
        p_list = action_probs_list(q.tolist(), policy, beta=2.0, epsilon=0.2)
        p_np = action_probs(q, policy, beta=2.0, epsilon=0.2)
        np.testing.assert_allclose(p_list, p_np, atol=1e-12)
        assert entropy_list(p_list) == pytest.approx(float(entropy(p_np)))
    probs = [0.1, 0.0, 0.6, 0.3]
    draws = np.array([sample_index(probs, u) for u in rng.random(20_000)])
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 20_000, probs, atol=0.012)
    assert sample_index([0.5, 0.5, 0.0], 1.0 - 1e-17) == 1  # never a zero-probability action


@pytest.mark.parametrize(
    ("name", "bad", "err"),
    [
        ("q_learning", {"alpha": 0.0}, ValueError),
        ("q_learning", {"policy": "boltzmann"}, ValueError),
        ("dyna_q", {"n_planning": -1}, ValueError),
        ("dyna_q", {"n_planning": 2.5}, TypeError),
        ("dyna_q", {"model": "recent"}, ValueError),
        ("dyna_q_plus", {"kappa": -1.0}, ValueError),
        ("prioritized_sweeping", {"theta": -0.1}, ValueError),
        ("mc_rollout", {"horizon": 0}, ValueError),
        ("mc_rollout", {"start": "random"}, ValueError),
        ("sr_td", {"gamma": 1.0}, ValueError),
        ("sr_dyna", {"memory_size": 0}, ValueError),
        ("sr_dyna", {"nonsense": 1}, ValueError),
    ],
)
def test_config_validation(name, bad, err):
    with pytest.raises(err):
        make_agent(name, GridWorld(LAYOUT), **bad)


def test_sarsa_rows_keep_their_step_time():
    """SARSA records a step's row one act() later, with that step's clock time."""
    env = GridWorld(LAYOUT)
    rec = TraceRecorder()
    agent = make_agent("sarsa", env, seed=0, recorder=rec)
    simulate(
        env, agent, episodes=5, seeds=[0], clock=Clock(trial_s=2.0, iti_s=0.0, offline_dt=0.0)
    )[1].runs[0]
    df = rec.to_frame()
    for _, ep in df.groupby("episode"):
        np.testing.assert_allclose(np.diff(ep["time"].to_numpy()), 2.0)
        assert ep["step"].tolist() == list(range(len(ep)))
