"""Model-based and successor-representation agents: their mechanics, step by step.

Fast checks of what each algorithm does with a transition, against hand-computed values;
the maze reproductions (Sutton & Barto 2018, ch. 8) are in ``test_agents_dyna_mazes.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from darkcontrol.agents import make_agent
from darkcontrol.agents.dyna import DynaQ, DynaQPlus
from darkcontrol.agents.monte_carlo import MCRollout
from darkcontrol.agents.prioritized_sweeping import PrioritizedSweeping
from darkcontrol.agents.successor import SRTD, SRDyna
from darkcontrol.envs.gridworld import GridWorld
from darkcontrol.envs.solvers import policy_evaluation, successor_representation, value_iteration
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder

SMALL = ("S..#", ".#..", "...G")


def test_dyna_q_without_planning_is_q_learning():
    """n = 0: the same seed gives the same Q table and the same choices as Q-learning."""
    out = {}
    for name in ("q_learning", "dyna_q"):
        env = GridWorld(SMALL)
        rec = TraceRecorder()
        params = {"n_planning": 0} if name == "dyna_q" else {}
        agent = make_agent(name, env, seed=3, recorder=rec, **params)
        simulate(env, agent, episodes=10, seeds=[3])[1].runs[0]
        out[name] = (agent.Q.copy(), rec.to_frame())
    np.testing.assert_array_equal(out["q_learning"][0], out["dyna_q"][0])
    a, b = out["q_learning"][1], out["dyna_q"][1]
    pd.testing.assert_frame_equal(a.drop(columns="spe"), b.drop(columns="spe"))
    assert b["spe"].notna().all() and a["spe"].isna().all()


def test_dyna_q_plans_from_its_model():
    agent = DynaQ(3, 2, seed=0, alpha=1.0, gamma=0.5, n_planning=4)
    agent.observe(0, 1, 0.0, 1, False)
    agent.observe(1, 0, 1.0, 2, True)
    assert agent.Q[1, 0] == 1.0 and agent.Q[0, 1] == 0.0  # online: terminal first, no chain
    assert agent.plan(20) == 20
    assert agent.Q[0, 1] == 0.5  # planning propagated the goal back: r + gamma max Q(1, .)
    assert agent.n_updates == 22
    df = agent.recorder.to_frame()
    off = df[df["phase"] == "offline"]
    assert len(off) == 20 and (off["source"] == "model").all()
    assert set(zip(off["state"], off["action"])) == {(0, 1), (1, 0)}  # only tried pairs
    assert (off["spe"] == 0.0).all()  # a "last" model is never surprised by its own samples
    assert off["choice_prob"].isna().all()


def test_dyna_q_last_model_tracks_a_changed_world():
    agent = DynaQ(3, 2, seed=0, alpha=1.0, gamma=0.5, n_planning=1)
    agent.observe(0, 0, 1.0, 1, True)
    agent.observe(0, 0, 0.0, 0, False)  # the door closed: (0, 0) now bumps
    agent.plan(10)
    # planning uses the last outcome only: Q(0, 0) = gamma Q(0, 0), halving at every backup
    assert agent.Q[0, 0] == pytest.approx(0.5**11)
    counts = DynaQ(3, 2, seed=0, alpha=0.1, gamma=0.5, model="counts")
    counts.observe(0, 0, 1.0, 1, True)
    counts.observe(0, 0, 0.0, 0, False)
    np.testing.assert_allclose(counts.model.prob(0, 0), [0.5, 0.5, 0.0])


def test_dyna_q_plus_bonus_and_untried_actions():
    """Planning reward r + kappa sqrt(tau); untried actions of visited states: r = 0, s' = s."""
    kappa = 0.1
    agent = DynaQPlus(4, 2, seed=0, alpha=0.5, gamma=0.9, kappa=kappa, n_planning=1)
    agent.observe(0, 0, 0.0, 1, False)  # time 1
    agent.observe(1, 0, 1.0, 2, False)  # time 2
    agent.observe(2, 1, 0.0, 3, True)  # time 3
    agent.plan(400)
    off = agent.recorder.to_frame().query("phase == 'offline'")
    pairs = set(zip(off["state"], off["action"]))
    assert pairs == {(s, a) for s in (0, 1, 2) for a in (0, 1)}  # all actions of visited states
    expect = {  # (s, a): (reward incl. bonus, s'); tau = 3 - last tried (0 = never)
        (0, 0): (kappa * math.sqrt(2), 1),
        (0, 1): (kappa * math.sqrt(3), 0),
        (1, 0): (1.0 + kappa * 1.0, 2),
        (1, 1): (kappa * math.sqrt(3), 1),
        (2, 0): (kappa * math.sqrt(3), 2),
        (2, 1): (0.0, 3),
    }
    for (s, a), (r, s2) in expect.items():
        rows = off[(off["state"] == s) & (off["action"] == a)]
        np.testing.assert_allclose(rows["reward"], r, rtol=1e-6)  # float32 column
        assert (rows["next_state"] == s2).all()
    untried = off[(off["state"] == 0) & (off["action"] == 1)]
    assert (untried["spe"] == 1.0).all()


def test_prioritized_sweeping_backs_up_from_the_goal():
    """On a corridor, the first planned backup is the pair that reached the goal, and the
    sweep then solves the learned model with about one backup per tried pair (S&B 2018,
    §8.4), where random (Dyna) backups need many times more."""
    env = GridWorld(("S...G",))
    agent = make_agent(
        "prioritized_sweeping", env, seed=1, alpha=1.0, gamma=0.9, n_planning=0, theta=1e-9
    )
    simulate(env, agent, episodes=1, seeds=[1])[1].runs[0]  # no planning: a random walk to the goal
    assert np.all(agent.Q == 0.0)  # the real steps changed no value
    assert (agent.recorder.to_frame()["update_norm"] == 0.0).all()
    assert agent.queue_size() == 1  # only the goal pair had an error
    agent.plan(1)
    first = agent.recorder.to_frame().query("phase == 'offline'").iloc[0]
    assert (first["state"], first["action"], first["target"]) == (3, 1, 1.0)
    agent.plan(10_000)
    assert agent.queue_size() == 0
    np.testing.assert_allclose(agent.Q[:4, 1], [0.9**3, 0.9**2, 0.9, 1.0])
    tried = int((agent.model.visits > 0).sum())
    assert agent.n_updates <= tried + 2, (agent.n_updates, tried)


def test_prioritized_sweeping_queue_keeps_the_highest_priority():
    agent = PrioritizedSweeping(3, 2, seed=0, theta=0.01)
    agent._push(0, 0, 0.5)
    agent._push(0, 0, 0.2)  # lower: ignored
    agent._push(1, 1, 0.005)  # below theta: ignored
    agent._push(2, 1, 0.7)
    agent._push(0, 0, 0.9)  # higher: replaces
    assert agent.queue_size() == 2
    assert [agent._pop(), agent._pop(), agent._pop()] == [(0, 0), (2, 1), None]


def test_mc_rollout_targets_are_discounted_returns():
    """One rollout in a known corridor model: the recorded trajectory is a chain starting at
    the agent's state, and each target is the every-visit return G_t, bootstrapped on
    V(s_T) = sum_a pi(a|s_T) Q(s_T, a) (values before the rollout) where it was cut."""
    gamma, eps, alpha = 0.9, 0.3, 0.5
    agent = MCRollout(5, 4, seed=2, gamma=gamma, epsilon=eps, alpha=alpha, horizon=6)
    for s in range(4):  # corridor 0-1-2-3-G(4); up/down bump, left/right move
        for a, s2 in ((0, s), (1, s + 1), (2, s), (3, max(s - 1, 0))):
            agent.observe(s, a, float(s2 == 4), s2, s2 == 4)
    agent._current = 0
    Q0 = agent.Q.copy()
    n_before = len(agent.recorder.to_frame())
    n = agent._rollout(6)
    rows = agent.recorder.to_frame().iloc[n_before:]
    assert len(rows) == n > 0 and (rows["phase"] == "offline").all()
    fwd = rows.iloc[::-1]  # recorded from the last step back
    states, nexts = fwd["state"].to_numpy(int), fwd["next_state"].to_numpy(int)
    assert states[0] == 0 and np.array_equal(states[1:], nexts[:-1])
    last = fwd.iloc[-1]
    if last["terminated"]:
        g = 0.0
    else:
        q = Q0[int(last["next_state"])]
        g = (1 - eps) * q.max() + eps * q.mean()
    expect = []
    for r in fwd["reward"].to_numpy(float)[::-1]:
        g = r + gamma * g
        expect.append(g)
    np.testing.assert_allclose(rows["target"].to_numpy(float), expect, rtol=1e-5, atol=1e-6)
    Q = Q0.copy()
    for (_, row), y in zip(rows.iterrows(), expect):
        s, a = int(row["state"]), int(row["action"])
        Q[s, a] += alpha * (y - Q[s, a])
    np.testing.assert_allclose(agent.Q, Q)


def test_mc_rollout_starts_where_the_agent_is():
    env = GridWorld(("S...G",))
    agent = MCRollout(env.n_states, 4, seed=0, n_planning=30, horizon=30)
    simulate(env, agent, episodes=3, seeds=[0])[1].runs[0]
    df = agent.recorder.to_frame()
    off = df[df["phase"] == "offline"]
    assert len(off) and (off["source"] == "model").all()
    assert off["choice_prob"].notna().all() and off["spe"].notna().all()
    # every rollout of a burst starts at the agent's state (after a terminal step: at the
    # episode's start); rollouts are recorded backwards, so a burst ends with that state
    bursts = df.assign(burst=(df["phase"] == "online").cumsum())
    for _, b in bursts.groupby("burst"):
        on, off_b = b.iloc[0], b.iloc[1:]
        if len(off_b):
            assert off_b["state"].iloc[-1] == (0 if on["terminated"] else on["next_state"])


def test_sr_td_learns_the_successor_representation_of_its_policy():
    """Greedy SR-TD on a corridor settles on "always right"; its M is then exactly that
    policy's SR (I - gamma P_pi)^-1 (Dayan 1993) and V = M w its value, to 1e-6 (a
    deterministic world and policy leave no noise). M counts occupancy up to, not
    including, the terminal state, i.e. the solver's episodic SR without the terminal column."""
    env = GridWorld(("S..G",))
    mdp = env.mdp
    gamma = 0.8
    agent = SRTD(
        env.n_states,
        4,
        seed=0,
        gamma=gamma,
        alpha=0.5,
        alpha_w=0.5,
        policy="greedy",
        recorder=TraceRecorder(mode="online"),
    )
    simulate(env, agent, episodes=200, seeds=[0])[1].runs[0]
    right = np.zeros((env.n_states, 4))
    right[:, 1] = 1.0
    live = ~mdp.terminal
    assert np.all(agent.q_values()[live].argmax(axis=1) == 1)
    M_true = successor_representation(mdp, right, gamma, terminal="episodic")
    np.testing.assert_allclose(agent.M[np.ix_(live, live)], M_true[np.ix_(live, live)], atol=1e-6)
    np.testing.assert_allclose(agent.V[live], policy_evaluation(mdp, right, gamma)[live], atol=1e-6)
    tried = agent.model.total > 0  # Q of an untried pair is 0 (nothing to look ahead with)
    q_star = value_iteration(mdp, gamma).Q
    np.testing.assert_allclose(agent.q_values()[tried], q_star[tried], atol=1e-6)


def test_sr_dyna_replay_updates_only_the_sr():
    agent = SRDyna(3, 2, seed=0, alpha=0.5, alpha_w=0.5, gamma=0.9, n_planning=3)
    agent.observe(0, 0, 0.0, 1, False)
    agent.observe(1, 1, 1.0, 2, True)
    w = agent.w.copy()
    H = agent.H.copy()
    assert agent.plan(50) == 50
    np.testing.assert_array_equal(agent.w, w)
    assert not np.array_equal(agent.H, H)
    # replay makes (0, 0) predict (1, 1), the greedy action at s' = 1: H(00, 11) -> gamma
    assert agent.H[0, 1 * 2 + 1] == pytest.approx(0.9, abs=1e-6)
    np.testing.assert_allclose(agent.q_values().ravel(), agent.H @ agent.w)
    off = agent.recorder.to_frame().query("phase == 'offline'")
    assert (off["source"] == "replay").all() and off["spe"].isna().all()
