"""Decision-time Monte Carlo evaluation in the DMN's learned model (issue 12 item 6).

Paper section "Reinforcement learning control: a process model for DMN function": the
hippocampus simulates trajectories to evaluate candidate actions (tree search). Ground truth:
with an exact learned model and a cached Q that is deliberately wrong at the state of choice,
the rollout returns recover Q*(s, .) (value iteration) and the evaluation picks an optimal
action where the cached Q does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import darkcontrol
from darkcontrol.agents import make_agent
from darkcontrol.envs import GridWorld
from darkcontrol.envs.mazes import DYNA_MAZE
from darkcontrol.envs.solvers import value_iteration

GAMMA = 0.95


def _exact_model(dmn, mdp, n: int = 60) -> None:
    """Fill the DMN's world model with n outcomes of every (s, a), in the MDP's proportions
    (exact for probabilities that are multiples of 1/n); reward 1 on reaching the goal."""
    for s in range(mdp.n_states):
        if mdp.terminal[s]:
            continue
        for a in range(mdp.n_actions):
            for s2 in np.flatnonzero(mdp.P[s, a] > 0):
                k = round(n * float(mdp.P[s, a, s2]))
                assert abs(k - n * mdp.P[s, a, s2]) < 1e-9
                for _ in range(k):
                    dmn.model.update(s, a, float(mdp.terminal[s2]), int(s2), bool(mdp.terminal[s2]))


def _corrupt(Q: np.ndarray, s: int) -> np.ndarray:
    """Q with the best and the worst action of s swapped (under-trained there)."""
    out = Q.copy()
    best, worst = int(Q[s].argmax()), int(Q[s].argmin())
    out[s, best], out[s, worst] = Q[s, worst], Q[s, best]
    return out


def _decider(env, **params):
    return make_agent(
        "dmn", env, agent="q_learning", policy="greedy", gamma=GAMMA, seed=0, **params
    )


def _states_with_a_wrong_cached_choice(mdp, Q):
    """Non-terminal states with one optimal action (so that _corrupt makes it look worst)."""
    out = []
    for s in range(mdp.n_states):
        top = np.sort(Q[s])
        if mdp.terminal[s] or top[-1] - top[-2] < 1e-6:  # a unique optimal action only
            continue
        out.append(s)
    return out


def test_decision_rollouts_pick_the_optimal_action_where_the_cached_q_does_not():
    env = GridWorld(DYNA_MAZE)
    mdp = env.unwrapped.mdp
    q_star = value_iteration(mdp, GAMMA).Q
    dmn = _decider(env, decision_rollouts=2, decision_depth=4)
    _exact_model(dmn, mdp, n=1)
    states = _states_with_a_wrong_cached_choice(mdp, q_star)
    assert len(states) > 20
    n_fixed = 0
    for s in states:
        Qc = _corrupt(q_star, s)
        dmn.agent.Q[:] = Qc
        optimal = set(np.flatnonzero(q_star[s] >= q_star[s].max() - 1e-9).tolist())
        cached = int(dmn.agent.act(s))
        chosen = dmn.act(s)
        assert chosen in optimal, (s, chosen, optimal)
        # deterministic world: the rollout returns of the optimal actions are Q*(s, a) exactly
        for a in optimal:
            assert dmn.decision_values[a] == pytest.approx(q_star[s, a], abs=1e-9)
        n_fixed += cached not in optimal
    assert n_fixed == len(states)  # the cached choice was wrong in every one of them


def test_decision_rollouts_estimate_q_in_a_stochastic_world():
    """slip 0.2 (4/60 to each other direction): depth-1 rollouts with the exact leaf value
    are unbiased estimates of Q*(s, a) (20 states); K = 400 rollouts put each within 3.5 SE
    of it, and the choice is optimal wherever the gap to the second best action exceeds
    that tolerance."""
    env = GridWorld(DYNA_MAZE, slip=0.2)
    mdp = env.unwrapped.mdp
    q_star = value_iteration(mdp, GAMMA).Q
    dmn = _decider(env, decision_rollouts=400, decision_depth=1)
    _exact_model(dmn, mdp, n=60)
    rng = np.random.default_rng(1)
    states = rng.choice(_states_with_a_wrong_cached_choice(mdp, q_star), 20, replace=False)
    checked = 0
    for s in states.tolist():
        dmn.agent.Q[:] = _corrupt(q_star, s)
        chosen = dmn.act(s)
        vals = dmn.decision_values
        # SE of one return: at most the spread of gamma max Q over successors
        spread = GAMMA * np.ptp(q_star.max(1)[np.flatnonzero(mdp.P[s].sum(0) > 0)])
        tol = 3.5 * spread / np.sqrt(400) + 1e-9
        np.testing.assert_allclose(vals, q_star[s], atol=tol)
        top = np.sort(q_star[s])
        if top[-1] - top[-2] > 2 * tol:
            assert chosen == int(q_star[s].argmax())
            checked += 1
    assert checked >= 5


def test_decision_rows_in_the_trace_and_the_choice_rule():
    env = GridWorld(DYNA_MAZE)
    trace, summary = darkcontrol.simulate(
        env, "dmn", episodes=3, seeds=[0], max_steps=200, decision_rollouts=3, decision_depth=2
    )
    dec = trace[trace["purpose"] == "decision"]
    assert len(dec) > 0
    assert (dec["phase"] == "offline").all() and (dec["source"] == "model").all()
    assert (dec["update_norm"] == 0).all()
    assert (dec["rollout_steps"].between(1, 2)).all()
    np.testing.assert_allclose(dec["rpe"], dec["target"] - dec["q"], atol=1e-5)
    other = trace[(trace["phase"] == "offline") & (trace["purpose"] != "decision")]
    assert (other["purpose"] == "learning").all()
    # the rollouts of a choice sit at the onset of its trial; K rows per tried action
    online = trace[trace["phase"] == "online"]
    assert set(dec["time"].round(9)) <= set(online["time"].round(9))
    per_choice = dec.groupby(["episode", "step"]).size()
    assert (per_choice % 3 == 0).all()
    # greedy choice: the chosen action had the best mean return (choice_prob > 0)
    assert (online["choice_prob"] > 0).all()
    # decision rollouts are not learning steps
    n_learn = int((trace["phase"] == "offline").sum()) - len(dec)
    assert summary.runs[0].episodes[0]["n_decision"] > 0
    assert sum(e["n_offline"] for e in summary.runs[0].episodes) == n_learn
    # determinism
    again, _ = darkcontrol.simulate(
        GridWorld(DYNA_MAZE),
        "dmn",
        episodes=3,
        seeds=[0],
        max_steps=200,
        decision_rollouts=3,
        decision_depth=2,
    )
    pd.testing.assert_frame_equal(trace, again)


def test_softmax_choice_follows_the_mean_returns():
    env = GridWorld(DYNA_MAZE)
    mdp = env.unwrapped.mdp
    q_star = value_iteration(mdp, GAMMA).Q
    dmn = _decider(env, decision_rollouts=1, decision_choice="softmax", decision_beta=50.0)
    _exact_model(dmn, mdp, n=1)
    s = int(np.flatnonzero(~mdp.terminal)[0])
    dmn.agent.Q[:] = _corrupt(q_star, s)
    counts = np.bincount([dmn.act(s) for _ in range(300)], minlength=mdp.n_actions)
    z = 50.0 * (dmn.decision_values - dmn.decision_values.max())
    p = np.exp(z) / np.exp(z).sum()
    assert np.abs(counts / 300 - p).max() < 0.1
    stats = dmn.choice_stats(s, int(np.argmax(p)))
    assert stats["choice_prob"] == pytest.approx(p.max())


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"decision_rollouts": -1}, "decision_rollouts must be an int >= 0"),
        ({"decision_rollouts": 2.5}, "decision_rollouts must be an int >= 0"),
        ({"decision_depth": 0}, "decision_depth must be an int >= 1"),
        ({"decision_choice": "argmax"}, "decision_choice must be one of"),
        ({"decision_beta": -1.0}, "decision_beta must be >= 0"),
    ],
)
def test_decision_options_are_validated(params, match):
    with pytest.raises(ValueError, match=match):
        make_agent("dmn", GridWorld(DYNA_MAZE), **params)
