"""Mattar & Daw (2018) on their open maze: forward replay before a run, reverse replay after
reward (Nat Neurosci 21:1609-1617, Fig. 3), and replay that makes learning faster and exact.

Criterion (stated here because the paper reports event rates per lap, not a share): among
replayed steps that continue a sequence (direction "forward" or "reverse"), and among replay
events (>= 4 consecutive same-direction steps = 5 states, the reference analysis' minimum),
forward must dominate before runs and reverse after reward, pooled over 5 runs x 50 laps and in
every single run. Measured (seeds 0-5): forward share before runs 0.71 (events 0.87), reverse
share after reward 0.87 (events 0.94); per run 0.65-0.78 and 0.82-0.88.
"""

import numpy as np
import pytest
from scipy.stats import binomtest

from darkcontrol.agents.mattar_daw import MattarDawReplay
from darkcontrol.analysis import direction_summary
from darkcontrol.envs.mazes import DynaMaze
from darkcontrol.envs.solvers import greedy_path, value_iteration
from darkcontrol.simulation import simulate

pytestmark = pytest.mark.slow


def _open_maze_trace(n_runs, n_episodes, seed=0, **params):
    """Mattar & Daw's Figure 3 setting: exploration before rewards, laps of <= 5000 steps."""
    trace, _ = simulate(
        "darkcontrol/OpenMaze-v0",
        "mattar_daw",
        episodes=n_episodes,
        seeds=n_runs,
        first_seed=seed,
        max_steps=5000,
        pre_explore=True,
        **params,
    )
    return trace


def test_forward_replay_before_runs_reverse_after_reward():
    trace = _open_maze_trace(5, 50, seed=0)
    summ = direction_summary(trace)
    start, goal = summ.loc["start"], summ.loc["goal"]
    assert start["forward_share"] > 0.6
    assert 1.0 - goal["forward_share"] > 0.75
    assert start["forward_event_share"] > 0.7
    assert 1.0 - goal["forward_event_share"] > 0.8
    # events are many enough for the majorities not to be chance
    n_start = int(start["forward_events"] + start["reverse_events"])
    n_goal = int(goal["forward_events"] + goal["reverse_events"])
    assert n_start >= 50 and n_goal >= 30
    assert binomtest(int(start["forward_events"]), n_start, 0.5).pvalue < 1e-6
    assert binomtest(int(goal["reverse_events"]), n_goal, 0.5).pvalue < 1e-6
    for run, g in trace.groupby("run"):
        s = direction_summary(g)
        assert s.loc["start", "forward_share"] > 0.5, run
        assert 1.0 - s.loc["goal", "forward_share"] > 0.6, run


def test_forward_replay_needs_n_step_backups():
    """Ablation: without extending the last replayed sequence, forward replay before runs
    disappears (it is the n-step extension that runs ahead of the agent), reverse stays."""
    summ = direction_summary(_open_maze_trace(3, 30, n_step=False))
    assert summ.loc["start", "forward_share"] < 0.3
    assert summ.loc["start", "forward_events"] == 0
    assert 1.0 - summ.loc["goal", "forward_share"] > 0.75


def test_replay_speeds_learning_and_finds_the_optimal_path():
    """Against the exact solution (value iteration, gamma 0.9): after 20 laps with replay the
    greedy path from the start is the shortest (14 steps) and its values are V*; without
    replay (n_planning = 0, same seed) the agent takes far more steps."""
    env = DynaMaze()
    vi = value_iteration(env.mdp, 0.9)
    for seed in range(2):
        lengths = {}
        for n in (20, 0):
            agent = MattarDawReplay(54, 4, pre_explore=True, n_planning=n, mdp=env.mdp, seed=seed)
            log = simulate(env, agent, episodes=20, seeds=[seed], max_steps=5000)[1].runs[0]
            lengths[n] = np.asarray(log.lengths)
            if n:
                path = greedy_path(env.mdp, agent.Q, 18)
                assert len(path) - 1 == 14
                on = np.asarray(path[:-1])
                np.testing.assert_allclose(agent.Q[on].max(axis=1), vi.V[on], atol=1e-9)
        assert lengths[20][0] == lengths[0][0]  # no replay before the first reward
        assert lengths[20][1:].sum() < 0.6 * lengths[0][1:].sum()
