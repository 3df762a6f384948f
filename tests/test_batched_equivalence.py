"""Batched learners are their single-agent references: exactly where the random streams can be
matched (float64, the batched agent's uniforms fed to the reference), statistically elsewhere."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import darkcontrol.envs  # noqa: F401  (registers the environments)
from darkcontrol.agents.dyna import DynaQ
from darkcontrol.agents.prioritized_sweeping import PrioritizedSweeping
from darkcontrol.agents.tabular import QLearning
from darkcontrol.batched.dyna import BatchedDynaQ
from darkcontrol.batched.qlearning import BatchedQLearning
from darkcontrol.batched.sweeping import BatchedPrioritizedSweeping
from darkcontrol.batched.testing import UniformFeed


def _lockstep_compare(batched, refs, env_id, n_episodes, max_steps, n_steps):
    """Step the batched learner and each reference (the runner's loop by hand) side by side;
    assert identical Q tables after every step and identical episode lengths/returns."""
    envs = [gym.make(env_id) for _ in refs]
    states = [int(env.reset(seed=0)[0]) for env in envs]
    steps = [0] * len(refs)
    totals = [0.0] * len(refs)
    lengths = [[] for _ in refs]
    returns = [[] for _ in refs]
    batched.start(n_episodes, max_steps)
    compared = 0
    for _ in range(n_steps):
        if not batched.step():
            break
        for i, (agent, env) in enumerate(zip(refs, envs)):
            if len(lengths[i]) >= n_episodes:
                continue
            s = states[i]
            a = agent.act(s)
            s2, r, term, trunc, _ = env.step(a)
            steps[i] += 1
            trunc = trunc or steps[i] >= max_steps
            agent.observe(s, a, float(r), int(s2), term, trunc)
            agent.plan(agent.offline_budget)
            totals[i] += float(r)
            states[i] = int(s2)
            if term or trunc:
                lengths[i].append(steps[i])
                returns[i].append(totals[i])
                states[i], steps[i], totals[i] = int(env.reset()[0]), 0, 0.0
                agent.reset()
            np.testing.assert_array_equal(batched.Q[i].numpy(), agent.Q)
            compared += 1
    res = batched.result()
    for i in range(len(refs)):
        k = len(lengths[i])
        np.testing.assert_array_equal(res.lengths[i, :k], lengths[i])
        np.testing.assert_array_equal(res.returns[i, :k], returns[i])
        assert (res.lengths[i, k:] == -1).all()
    return compared


BACKENDS = ["torch", "numba"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_q_learning_identical_q_tables_step_by_step(backend):
    env = gym.make("darkcontrol/DynaMaze-v0")
    mdp = env.unwrapped.mdp
    seeds = [3, 17, 123456789012]
    alphas = [0.1, 0.5, 1.0]
    eps = [0.1, 0.3, 0.0]  # eps = 0: greedy with random tie-breaking
    batched = BatchedQLearning(
        mdp, seeds, alpha=alphas, epsilon=eps, gamma=0.9, dtype="float64", backend=backend
    )
    refs = []
    for seed, al, ep in zip(seeds, alphas, eps):
        agent = QLearning(mdp.n_states, mdp.n_actions, alpha=al, epsilon=ep, gamma=0.9)
        agent.rng = UniformFeed(seed, lambda t: [0])
        refs.append(agent)
    n = _lockstep_compare(batched, refs, "darkcontrol/DynaMaze-v0", 6, 150, 3000)
    assert n > 1500  # many steps really were compared
    assert np.abs(batched.Q.numpy()).max() > 0.1  # and learning happened


@pytest.mark.parametrize("backend", BACKENDS)
def test_dyna_q_identical_q_tables_step_by_step(backend):
    env = gym.make("darkcontrol/DynaMaze-v0")
    mdp = env.unwrapped.mdp
    seeds = [5, 6, 7]
    n_plan = [0, 3, 10]
    batched = BatchedDynaQ(
        mdp,
        seeds,
        alpha=0.5,
        gamma=0.95,
        epsilon=0.1,
        n_planning=n_plan,
        dtype="float64",
        backend=backend,
    )
    refs = []
    for seed, n in zip(seeds, n_plan):
        agent = DynaQ(mdp.n_states, mdp.n_actions, alpha=0.5, gamma=0.95, n_planning=n)
        agent.rng = UniformFeed(seed, lambda t, n=n: [0] + [3 + 2 * j for j in range(n)])
        refs.append(agent)
    n = _lockstep_compare(batched, refs, "darkcontrol/DynaMaze-v0", 4, 200, 700)
    assert n > 500


def test_prioritized_sweeping_identical_q_tables_step_by_step():
    """Exact down to the queue's tie-breaking (FIFO among equal priorities)."""
    env = gym.make("darkcontrol/DynaMaze-v0")
    mdp = env.unwrapped.mdp
    seeds = [8, 9]
    n_plan = [3, 8]
    batched = BatchedPrioritizedSweeping(
        mdp,
        seeds,
        alpha=1.0,
        gamma=0.9,
        epsilon=0.2,
        n_planning=n_plan,
        theta=[0.0, 1e-3],
        dtype="float64",
    )
    refs = []
    for seed, n, th in zip(seeds, n_plan, [0.0, 1e-3]):
        agent = PrioritizedSweeping(
            mdp.n_states,
            mdp.n_actions,
            alpha=1.0,
            gamma=0.9,
            epsilon=0.2,
            n_planning=n,
            theta=th,
        )
        agent.rng = UniformFeed(seed, lambda t: [0])
        refs.append(agent)
    n = _lockstep_compare(batched, refs, "darkcontrol/DynaMaze-v0", 4, 200, 600)
    assert n > 400
    assert (batched.Q.numpy() > 0).sum() > 20  # sweeps spread value backwards
