"""Sutton & Barto (2018), chapter 8, reproduced: Dyna maze, blocking and shortcut mazes, and
prioritised sweeping's efficiency (Figures 8.2, 8.4, 8.5 and Example 8.4).

Settings: epsilon = 0.1, gamma = 0.95 throughout; Figure 8.2 as in the book (alpha = 0.1,
30 runs of 50 episodes, n = 0, 5, 50). The book gives no alpha / n / kappa for Figures 8.4-8.5
and Example 8.4; we use those of the widely used reproduction (S. Zhang,
github.com/ShangtongZhang/reinforcement-learning-an-introduction, chapter08/maze.py):
alpha = 1, n = 10, kappa = 1e-4 (blocking); alpha = 1, n = 50, kappa = 1e-3 (shortcut);
alpha = 0.5, n = 5, theta = 1e-4 (Example 8.4), with the book's world changes after 1000 /
3000 steps and horizons of 3000 / 6000 steps. Statistical claims use one-sided Mann-Whitney U
tests over independent seeds.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from scipy.stats import mannwhitneyu

import darkcontrol.envs  # noqa: F401  (registers the environment ids)
from darkcontrol.agents import make_agent
from darkcontrol.envs.gridworld import GridWorld
from darkcontrol.envs.mazes import DYNA_MAZE
from darkcontrol.envs.solvers import greedy_path, value_iteration
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder

pytestmark = pytest.mark.slow
GAMMA, EPS = 0.95, 0.1


def _agent(name, env, seed, **params):
    rec = TraceRecorder(mode="online")  # offline steps are only counted: keep it cheap
    return make_agent(name, env, seed=seed, recorder=rec, gamma=GAMMA, epsilon=EPS, **params)


def _greedy_len(env, Q, max_len=500) -> int:
    """Steps of the greedy path from the start (max_len + 1 if it does not reach the goal)."""
    mdp = env.unwrapped.mdp
    path = greedy_path(mdp, Q, int(np.flatnonzero(mdp.start)[0]), max_len=max_len)
    return len(path) - 1 if mdp.terminal[path[-1]] else max_len + 1


def _model_shortest_path(agent, start: int, goal_states) -> int:
    """Shortest path from ``start`` to a goal through the transitions the agent has tried."""
    frontier, seen, d = [start], {start}, 0
    while frontier:
        if any(s in goal_states for s in frontier):
            return d
        nxt = []
        for s in frontier:
            for a in range(agent.n_actions):
                for s2 in agent.model.successors(s, a):
                    if s2 not in seen:
                        seen.add(s2)
                        nxt.append(s2)
        frontier, d = nxt, d + 1
    return -1


# -- Figure 8.2: the Dyna maze ---------------------------------------------------------------------
def first_settled(mean_steps: np.ndarray, level: float = 20.0) -> int:
    """First episode (1-based) from which the mean steps per episode stay <= level."""
    above = np.flatnonzero(mean_steps > level)
    return 1 if len(above) == 0 else int(above[-1]) + 2


def test_figure_8_2_dyna_maze():
    """Mean steps per episode over 30 runs settle at <= 20 (optimal path 14, plus epsilon
    exploration) from episode <= 4 with n = 50, episodes 5-8 with n = 5, and only episodes
    20-40 with n = 0 (the book: about 3, 6 and 25). After 50 episodes with n = 50, the
    greedy path is the shortest path in the agent's own model in every run, and that is
    the true shortest path (14 steps) in most runs (an epsilon-greedy agent may never have
    tried the 14-step route and settle on a 16-step one)."""
    runs, episodes = 30, 50
    steps, greedy, in_model = {}, [], []
    for n in (0, 5, 50):
        lengths = []
        for seed in range(runs):
            env = gym.make("darkcontrol/DynaMaze-v0")
            agent = _agent("dyna_q", env, seed, alpha=0.1, n_planning=n)
            lengths.append(simulate(env, agent, episodes=episodes, seeds=[seed])[1].runs[0].lengths)
            if n == 50:
                u = env.unwrapped
                greedy.append(_greedy_len(env, agent.Q))
                in_model.append(_model_shortest_path(agent, u.start_states[0], u.goal_states))
        steps[n] = np.mean(lengths, axis=0)
    assert first_settled(steps[50]) <= 4
    assert 5 <= first_settled(steps[5]) <= 8
    assert 20 <= first_settled(steps[0]) <= 40
    assert steps[50][1] < steps[5][1] < steps[0][1]  # episode 2: more planning, shorter
    assert greedy == in_model
    assert min(greedy) == 14 and np.mean(np.array(greedy) == 14) >= 0.6


# -- Figures 8.4 and 8.5: changing mazes ----------------------------------------------------------
def run_steps(name, env_id, total, seed, **params):
    """Run for ``total`` real steps (episodes cut at the end); return the agent, the env, the
    cumulative reward after each step and the online Trace rows (one per step)."""
    env = gym.make(env_id)
    agent = _agent(name, env, seed, **params)
    cum = np.zeros(total)
    done, reward = 0, 0.0
    while done < total:
        log = simulate(
            env, agent, episodes=1, seeds=[seed if done == 0 else None], max_steps=total - done
        )[1].runs[0]
        n = log.lengths[0]
        cum[done : done + n] = reward
        done, reward = done + n, reward + log.returns[0]
        cum[done - 1] = reward
    return agent, env, cum, agent.recorder.to_frame()


def through(online, cell: int, after: int) -> float:
    """Fraction of the episodes begun after step ``after`` that pass through ``cell``."""
    late = online.iloc[after:]
    first, last = online["episode"].iloc[after], online["episode"].iloc[-1]
    late = late[(late["episode"] > first) & (late["episode"] < last)]  # whole episodes only
    visits = [bool((ep == cell).any()) for _, ep in late.groupby("episode")["next_state"]]
    return float(np.mean(visits)) if visits else 0.0  # no finished episode: never got through


def _changing(env_id, total, runs, n, kappa, gap_cell, change):
    out = {}
    for name in ("dyna_q", "dyna_q_plus"):
        params = {"alpha": 1.0, "n_planning": n}
        if name == "dyna_q_plus":
            params["kappa"] = kappa
        res = [run_steps(name, env_id, total, seed, **params) for seed in range(runs)]
        out[name] = (
            np.array([r[2][-1] for r in res]),  # cumulative reward at the end
            np.array([_greedy_len(r[1], r[0].Q) for r in res]),  # greedy path at the end
            np.array([through(r[3], gap_cell, change) for r in res]),  # new path taken
        )
    return out


def test_figure_8_4_blocking_maze():
    """The short path (10 steps, through the gap at the right end of the wall) is blocked
    after 1000 steps; the new one (gap at the left end, cell (3, 0)) is 16 steps. Over 20
    runs: Dyna-Q+ collects more reward by step 3000 than Dyna-Q; in every run it takes the
    new path in most episodes after the change and ends with a greedy path through it of
    16-20 steps (its Q includes exploration bonuses, so a few greedy detours remain)."""
    out = _changing("darkcontrol/BlockingMaze-v0", 3000, 20, 10, 1e-4, gap_cell=27, change=1000)
    (rq, _, _), (rqp, gqp, new_qp) = out["dyna_q"], out["dyna_q_plus"]
    assert mannwhitneyu(rqp, rq, alternative="greater").pvalue < 0.01
    assert ((gqp >= 16) & (gqp <= 20)).all()
    assert (new_qp > 0.8).all()


def test_figure_8_5_shortcut_maze():
    """A shortcut (10 steps instead of 16, gap at cell (3, 8)) opens after 3000 steps. Over
    10 runs: Dyna-Q+ finds it in every run (most episodes after the change go through it)
    and collects more reward; Dyna-Q keeps the old path in every run (greedy path 16-20
    steps at step 6000, the shortcut in at most a few exploratory episodes). Dyna-Q+'s greedy
    path is not checked: by step 6000 the bonus kappa sqrt(tau) / (1 - gamma) of long-untried
    actions can exceed the goal's value, so its greedy policy may loop (the book's Q+ is meant
    for acting with epsilon-greedy exploration, which it does)."""
    out = _changing("darkcontrol/ShortcutMaze-v0", 6000, 10, 50, 1e-3, gap_cell=35, change=3000)
    (rq, gq, new_q), (rqp, _, new_qp) = out["dyna_q"], out["dyna_q_plus"]
    assert mannwhitneyu(rqp, rq, alternative="greater").pvalue < 0.01
    assert (new_qp > 0.5).all()
    assert (new_q < 0.1).all()
    assert ((gq >= 16) & (gq <= 20)).all()


# -- Example 8.4: prioritised sweeping vs Dyna-Q ---------------------------------------------------
def scaled_maze(layout, k: int) -> list[str]:
    """Each cell becomes k x k cells (Example 8.4's finer resolutions); S and G stay single
    cells at the top-left corner of their block."""
    rows = []
    for row in layout:
        for i in range(k):
            rows.append(
                "".join("." if ch in "SG" and (i or j) else ch for ch in row for j in range(k))
            )
    return rows


def updates_to_near_optimal(name, env, seed, max_steps=100_000, **params):
    """Value updates until the greedy path reaches the goal within 1.2 x the optimum,
    checked after every real step."""
    mdp = env.mdp
    start = env.start_states[0]
    optimal = len(greedy_path(mdp, value_iteration(mdp, GAMMA).Q, start)) - 1
    limit = int(1.2 * optimal)
    succ = mdp.P.argmax(axis=2).tolist()  # deterministic maze: the successor table
    terminal = mdp.terminal.tolist()
    agent = _agent(name, env, seed, **params)
    Q = agent.Q

    def near_optimal() -> bool:  # greedy_path's walk (lowest index among ties), in Python
        s = start
        for _ in range(limit):
            row = Q[s].tolist()
            s = succ[s][row.index(max(row))]
            if terminal[s]:
                return True
        return False

    steps = 0
    while steps < max_steps:
        state, _ = env.reset(seed=seed if steps == 0 else None)
        agent.reset()
        agent.recorder.begin_episode()
        done = False
        while not done:
            action = agent.act(state)
            nxt, reward, term, trunc, _ = env.step(action)
            agent.observe(state, action, reward, nxt, term, trunc)
            agent.plan(agent.offline_budget)
            steps += 1
            state, done = nxt, term or trunc
            if near_optimal():
                return agent.n_updates
    raise AssertionError(f"{name} found no near-optimal path in {max_steps} steps")


@pytest.mark.parametrize("k", [1, 2])
def test_example_8_4_prioritized_sweeping_needs_fewer_updates(k):
    """On the Dyna maze and on its 2x finer version, prioritised sweeping reaches a
    near-optimal greedy path with several times fewer value updates than Dyna-Q (median
    over 10 runs; Mann-Whitney p < 0.01)."""
    ps, dq = [], []
    for seed in range(10):
        ps.append(
            updates_to_near_optimal(
                "prioritized_sweeping",
                GridWorld(scaled_maze(DYNA_MAZE, k)),
                seed,
                alpha=0.5,
                n_planning=5,
                theta=1e-4,
            )
        )
        dq.append(
            updates_to_near_optimal(
                "dyna_q", GridWorld(scaled_maze(DYNA_MAZE, k)), seed, alpha=0.5, n_planning=5
            )
        )
    assert np.median(dq) >= 3 * np.median(ps), (k, np.median(dq), np.median(ps))
    assert mannwhitneyu(dq, ps, alternative="greater").pvalue < 0.01
