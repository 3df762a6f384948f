"""Agents in partially observed worlds, against the exact POMDP value and a derived bound.

On the cue maze (corridor 2): the history-expanded state (q_learning on the last k = 4
observations and actions) and the belief-state agent reach >= 90 % of the exact optimum
(belief value iteration), while memoryless q_learning, and the history of length 1 (its
control), stay below the memoryless bound gamma^(L+1)/2 (derived in ``CueMaze``) plus a
Hoeffding margin. On the hidden-context task, the belief over the context tracks it above the
chance level 1/2 and below the oracle's 1 - hazard.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import darkcontrol.envs as E
from darkcontrol.agents import make_agent
from darkcontrol.agents.belief import BeliefAgent
from darkcontrol.clock import Clock
from darkcontrol.envs.cue_maze import memoryless_bound
from darkcontrol.envs.pomdp import find_pomdp
from darkcontrol.envs.pomdp_solvers import belief_value_iteration
from darkcontrol.simulation import simulate
from darkcontrol.trace import COLUMNS, TraceRecorder, validate_trace

GAMMA = 0.95
L = 2  # corridor length of the test maze
SEEDS = range(6)
N_EVAL = 100


def cue_maze(**kw):
    return gym.make("darkcontrol/CueMaze-v0", corridor_length=L, **kw)


def evaluate(agent, env, n: int, seed: int, gamma: float = GAMMA) -> np.ndarray:
    """Discounted returns Σ_t gamma^t r_t of ``n`` episodes under the agent's greedy policy
    (the agent keeps observing: the belief agent needs it to filter)."""
    agent.config = dataclasses.replace(agent.config, policy="greedy", epsilon=0.0)
    out = np.zeros(n)
    for ep in range(n):
        obs, _ = env.reset(seed=seed + ep)
        agent.reset()
        done, t = False, 0
        while not done:
            a = agent.act(int(obs))
            obs2, r, term, trunc, _ = env.step(a)
            agent.observe(int(obs), a, float(r), int(obs2), term, trunc)
            out[ep] += gamma**t * r
            obs, t, done = obs2, t + 1, term or trunc
    return out


def train_and_evaluate(name: str, k: int | None, n_train: int, **params) -> np.ndarray:
    returns = []
    for seed in SEEDS:
        env = cue_maze()
        if k is not None:
            env = E.HistoryObservation(env, k, include_actions=k > 1)
        agent = make_agent(name, env, seed=seed, gamma=GAMMA, **params)
        simulate(env, agent, episodes=n_train, seeds=[seed])
        returns.append(evaluate(agent, env, N_EVAL, seed=10_000 * (seed + 1)))
    return np.concatenate(returns)


@pytest.fixture(scope="module")
def optimum() -> float:
    v = belief_value_iteration(find_pomdp(cue_maze()), GAMMA).value
    assert v == pytest.approx(GAMMA ** (L + 1))
    return v


def hoeffding(n: int, span: float, delta: float = 1e-6) -> float:
    """A one-sided Hoeffding margin for the mean of n returns in an interval of width span."""
    return span * np.sqrt(np.log(1 / delta) / (2 * n))


def test_history_expanded_agent_reaches_the_optimum(optimum):
    returns = train_and_evaluate("q_learning", L + 2, 2000, alpha=0.2)
    assert returns.mean() >= 0.9 * optimum, returns.mean() / optimum


def test_belief_agent_reaches_the_optimum(optimum):
    returns = train_and_evaluate("belief", None, 300)
    assert returns.mean() >= 0.9 * optimum, returns.mean() / optimum


@pytest.mark.parametrize("k", [None, 1], ids=["observation", "history_1"])
def test_memoryless_agent_stays_at_chance(optimum, k):
    """Below the bound (half the optimum here) plus a margin; and near it, not stuck at 0."""
    returns = train_and_evaluate("q_learning", k, 2000, alpha=0.2)
    bound = memoryless_bound(cue_maze().unwrapped, GAMMA)
    assert bound == pytest.approx(0.5 * optimum)
    margin = hoeffding(len(returns), optimum)
    assert returns.mean() <= bound + margin
    assert returns.mean() >= 0.5 * bound  # it learned to reach an arm, at chance


def test_qmdp_dithers_at_a_noisy_cue():
    """The documented limit: with cue validity 0.8, QMDP values waiting at the junction as if
    the cue would then be known (gamma g > 0.8 g) and never commits: return 0 in every
    episode, against the exact optimum; the learned linear-Q agent commits to an arm."""
    env = cue_maze(cue_validity=0.8)
    optimum = belief_value_iteration(find_pomdp(env), GAMMA).value
    agent = make_agent("belief", env, seed=0, gamma=GAMMA, values="qmdp")
    returns = evaluate(agent, env, 20, seed=0)
    assert returns.max() == 0.0 and optimum > GAMMA ** (L + 1) * 0.8
    assert agent.n_updates == 0
    learner = make_agent("belief", env, seed=0, gamma=GAMMA)
    simulate(env, learner, episodes=300, seeds=[0])
    assert evaluate(learner, env, 200, seed=1).mean() >= 0.9 * GAMMA ** (L + 1) * 0.8


def test_point_based_values_look_again_at_a_noisy_cue():
    """PBVI values information: its greedy return matches the exact optimum (4 SE), above
    acting on one look."""
    env = cue_maze(cue_validity=0.8)
    optimum = belief_value_iteration(find_pomdp(env), GAMMA).value
    agent = make_agent("belief", env, seed=0, gamma=GAMMA, values="pbvi")
    returns = evaluate(agent, env, 1500, seed=0)
    se = returns.std() / np.sqrt(len(returns))
    assert returns.mean() == pytest.approx(optimum, abs=4 * se)
    assert returns.mean() > GAMMA ** (L + 1) * 0.8 + 4 * se


def test_point_based_agent_on_the_hidden_context_lies_in_the_bracket():
    """Its discounted return from the start lies between the PBVI lower bound and the QMDP
    upper bound (4 SE)."""
    from darkcontrol.envs.pomdp_solvers import point_based_value_iteration, qmdp_value

    gamma = 0.9
    env = gym.make("darkcontrol/HiddenContext-v0", max_episode_steps=120)  # gamma^120 ~ 3e-6
    pomdp = find_pomdp(env)
    agent = make_agent("belief", env, seed=0, gamma=gamma, values="pbvi", n_points=100)
    returns = evaluate(agent, env, 150, seed=0, gamma=gamma)
    se = returns.std() / np.sqrt(len(returns))
    lower = point_based_value_iteration(pomdp, gamma, n_points=100).value
    assert lower - 4 * se <= returns.mean() <= qmdp_value(pomdp, gamma) + 4 * se


@pytest.mark.parametrize("validity", [1.0, 0.7])
def test_belief_is_the_filter_and_spe_its_surprise(validity):
    """The agent's belief follows the filter step by step, spe = 1 - P(o' | b, a) of the
    filter's prediction; with a valid cue the belief is certain of the hidden state."""
    env = cue_maze(cue_validity=validity)
    pomdp = find_pomdp(env)
    rec = TraceRecorder()
    agent = make_agent("belief", env, seed=0, recorder=rec)
    obs, info = env.reset(seed=1)
    agent.act(int(obs))
    b = pomdp.initial_belief(int(obs))
    surprise = []
    for a in (1, 1, 0, 2, 0, 0):
        obs2, r, term, trunc, info = env.step(a)
        agent.observe(int(obs), a, float(r), int(obs2), term, trunc)
        b, z = pomdp.update(b, a, int(obs2))
        surprise.append(1 - z)
        np.testing.assert_allclose(agent.belief, b)
        if validity == 1.0:
            assert agent.belief[info["hidden_state"]] == 1.0
        obs = obs2
        agent.act(int(obs))
    spe = rec.to_frame()["spe"].to_numpy()
    np.testing.assert_allclose(spe, surprise, atol=1e-6)
    assert (spe[:2] > 0).all() == (validity < 1)  # looking again at a noisy cue surprises


def test_belief_tracks_the_hidden_context():
    """Accuracy of argmax P(context | history) against the true context: above the chance
    level 1/2 by many standard errors, and not above the oracle bound 1 - hazard."""
    hazard = 0.05
    hits = []
    for seed in range(3):
        env = gym.make("darkcontrol/HiddenContext-v0", hazard=hazard)
        base = env.unwrapped
        context_of = np.array([base.decode(s)[0] for s in range(base.n_states)])
        agent = make_agent("belief", env, seed=seed, gamma=0.5)
        for ep in range(3):
            obs, info = env.reset(seed=100 * seed + ep)
            agent.reset()
            done = False
            while not done:
                a = agent.act(int(obs))
                p_context1 = float(agent.belief @ context_of)
                hits.append((p_context1 > 0.5) == bool(context_of[info["hidden_state"]]))
                obs2, r, term, trunc, info = env.step(a)
                agent.observe(int(obs), a, float(r), int(obs2), term, trunc)
                obs, done = obs2, term or trunc
    hits = np.asarray(hits, dtype=float)
    se = np.sqrt(0.25 / len(hits))
    assert hits.mean() > 0.5 + 10 * se
    assert hits.mean() < 1 - hazard + 4 * se
    assert hits.mean() > 0.8


def _trace(seed: int, **params) -> pd.DataFrame:
    env = cue_maze(cue_validity=0.9)
    rec = TraceRecorder(run=0)
    agent = make_agent("belief", env, seed=seed, recorder=rec, **params)
    simulate(env, agent, episodes=5, seeds=[seed], clock=Clock(offline_dt=0.01))
    return rec.to_frame(), agent


@pytest.mark.parametrize(
    "params",
    [{}, {"values": "qmdp"}, {"values": "pbvi"}, {"n_planning": 3}, {"policy": "softmax"}],
    ids=str,
)
def test_belief_agent_trace_schema_and_determinism(params):
    df, agent = _trace(3, **params)
    validate_trace(df)
    online = df[df["phase"] == "online"]
    offline = df[df["phase"] == "offline"]
    filled = [c for c in COLUMNS if c not in ("salience",)]
    assert not online[filled].isna().any().any()
    assert df["salience"].isna().all()
    assert (len(offline) > 0) == bool(params.get("n_planning"))
    if len(offline):
        assert (offline["source"] == "replay").all()
        assert len(offline) == 3 * len(online)
        assert offline["spe"].notna().all() and offline["choice_prob"].isna().all()
    assert {"belief_entropy", "belief_state"} <= set(df.columns)
    assert ((online["spe"] >= 0) & (online["spe"] <= 1)).all()
    pd.testing.assert_frame_equal(df, _trace(3, **params)[0])
    assert not df.equals(_trace(4, **params)[0])


def test_belief_agent_validates():
    with pytest.raises(TypeError, match="TabularPOMDP"):
        make_agent("belief", E.DynaMaze())
    env = cue_maze()
    with pytest.raises(ValueError, match="values"):
        make_agent("belief", env, values="sarsop")
    with pytest.raises(ValueError, match="n_planning"):
        make_agent("belief", env, values="qmdp", n_planning=2)
    with pytest.raises(ValueError, match="n_points"):
        make_agent("belief", env, values="pbvi", n_points=0)
    with pytest.raises(ValueError, match="gamma < 1"):
        make_agent("belief", env, values="pbvi", gamma=1.0)
    with pytest.raises(ValueError, match="observations"):
        BeliefAgent(4, 3, pomdp=find_pomdp(env))
    agent = make_agent("belief", env, seed=0)
    with pytest.raises(NotImplementedError):
        agent.learn_offline(0, 0, 0.0, 2, False)


@pytest.mark.slow
def test_memory_study_script_runs_quick(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "pomdp_memory.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path), "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"wrote {tmp_path / 'pomdp_memory'}.png" in proc.stdout
    numbers = json.loads((tmp_path / "pomdp_memory.json").read_text())["numbers"]
    assert numbers["memoryless_bound"] == pytest.approx(0.5 * numbers["optimum"])
    assert numbers["agents"]["belief (linear Q)"]["ratio_mean"] >= 0.9
    bad = subprocess.run(
        [sys.executable, str(script), "--corridor", "0", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "--corridor" in bad.stderr and "Traceback" not in bad.stderr


def test_tabular_agent_on_the_history_state_keeps_the_trace_contract():
    def trace(seed):
        env = gym.make("darkcontrol/HiddenContext-v0", history=2)
        rec = TraceRecorder()
        agent = make_agent("dyna_q", env, seed=seed, recorder=rec, n_planning=2)
        simulate(env, agent, episodes=2, seeds=[seed])
        return rec.to_frame(), env.observation_space.n

    df, n = trace(0)
    validate_trace(df)
    assert df["state"].max() < n and (df["phase"] == "offline").any()
    pd.testing.assert_frame_equal(df, trace(0)[0])
