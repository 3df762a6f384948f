"""MattarDawReplay: gain and need against their definitions and exact solvers, the Trace, replay
after the first reward (Mattar & Daw 2018, Nat Neurosci 21:1609-1617)."""

import numpy as np
import pandas as pd
import pytest

from darkcontrol.agents import make_agent
from darkcontrol.agents.mattar_daw import MattarDawConfig, MattarDawReplay
from darkcontrol.agents.policies import softmax_probs
from darkcontrol.analysis import direction_summary, replay_events
from darkcontrol.envs.mazes import DynaMaze
from darkcontrol.envs.open_maze import OpenMaze
from darkcontrol.envs.solvers import successor_representation
from darkcontrol.simulation import simulate
from darkcontrol.trace import COLUMNS, TraceRecorder, validate_trace

START, PRE_GOAL = 18, 17  # DynaMaze: start (2, 0), the cell below the goal (1, 8)


def _trained(seed=0, episodes=3, **params):
    env = OpenMaze(0.1)
    rec = TraceRecorder()
    agent = MattarDawReplay(
        54, 4, {"pre_explore": True, **params}, seed=seed, recorder=rec, mdp=env.unwrapped.mdp
    )
    simulate(env, agent, episodes=episodes, seeds=[seed], max_steps=5000)[1].runs[0]
    return agent, rec.to_frame()


@pytest.mark.parametrize(
    "bad",
    [
        {"need": "sometimes"},
        {"need_model": "oracle"},
        {"plan_at": "never"},
        {"target": "min"},
        {"tie_break": "first"},
        {"gamma": 1.0},
        {"alpha": 0.0},
        {"beta": -1.0},
        {"baseline_gain": -1e-3},
        {"transition_lr": 1.5},
        {"evb_threshold": float("nan")},
    ],
)
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        MattarDawConfig(**bad)


def test_config_rejects_non_integer_budget():
    with pytest.raises(TypeError):
        MattarDawConfig(n_planning=2.5)


def test_pre_explore_needs_the_exact_model():
    with pytest.raises(ValueError, match="mdp"):
        MattarDawReplay(54, 4, pre_explore=True)


def test_pre_explore_remembers_every_action_of_every_reachable_state():
    env = DynaMaze()
    agent = MattarDawReplay(54, 4, pre_explore=True, mdp=env.mdp, seed=0)
    reachable = ~env.walls.ravel() & ~env.mdp.terminal
    assert (agent.mem_next[reachable] >= 0).all()
    assert (agent.mem_next[~reachable] == -1).all()  # walls and the goal: nothing to try
    s, a = np.nonzero(agent.mem_next >= 0)
    np.testing.assert_array_equal(env.mdp.P[s, a, agent.mem_next[s, a]], 1.0)
    assert (agent.mem_reward == 0).all()  # exploration happens before rewards are introduced


def test_gain_matches_its_definition_for_every_candidate():
    rng = np.random.default_rng(3)
    agent = MattarDawReplay(6, 3, beta=2.0, alpha=0.7, seed=0)
    agent.Q[:] = rng.normal(size=(6, 3))
    s = rng.integers(0, 6, size=40)
    a = rng.integers(0, 3, size=40)
    y = rng.normal(size=40)
    gains, q_new = agent._gains(s, a, y)
    for k in range(40):
        old = agent.Q[s[k]].copy()
        new = old.copy()
        new[a[k]] += 0.7 * (y[k] - old[a[k]])
        pi_old, pi_new = softmax_probs(old, 2.0), softmax_probs(new, 2.0)
        assert gains[k] == pytest.approx(pi_new @ new - pi_old @ new, abs=1e-12)
        assert q_new[k] == pytest.approx(new[a[k]])
    # a backup that changes nothing gains nothing; improving the best action gains > 0
    zero, _ = agent._gains(s[:1], a[:1], agent.Q[s[:1], a[:1]])
    assert zero[0] == pytest.approx(0.0, abs=1e-15)


def test_need_is_the_successor_representation_of_the_policy():
    """need_model="policy", no wrap: M[loc] of the exact SR under the agent's softmax policy."""
    env = DynaMaze()
    agent = MattarDawReplay(
        54, 4, pre_explore=True, need_model="policy", wrap_to_start=False, mdp=env.mdp, seed=0
    )
    agent.Q[:] = np.random.default_rng(0).uniform(0, 1, size=(54, 4))
    pi = softmax_probs(agent.Q, agent.config.beta)
    M = successor_representation(env.mdp, pi, 0.9, terminal="episodic")
    for loc in (START, 40, PRE_GOAL):
        np.testing.assert_allclose(agent.need_vector(loc, "sr"), M[loc], atol=1e-10)


def test_experienced_transitions_and_wrap_to_start():
    agent = MattarDawReplay(4, 2, seed=0, transition_lr=0.9)
    agent.reset()
    agent.observe(0, 1, 0.0, 1, False)
    agent.observe(1, 1, 0.0, 2, False)
    agent.observe(1, 0, 0.0, 0, False)  # row 1 moves towards state 0: 0.1 * e_2 + 0.9 * e_0
    agent.observe(0, 1, 1.0, 3, True)  # row 0: 0.1 * e_1 + 0.9 * e_3
    agent.reset()
    agent.observe(0, 0, 0.0, 2, False)  # row 0: 0.01 e_1 + 0.9 e_2 + 0.09 e_3
    agent.observe(2, 0, 0.0, 1, False)
    np.testing.assert_allclose(agent.T_exp[1], [0.9, 0, 0.1, 0])
    np.testing.assert_allclose(agent.T_exp[2], [0, 1, 0, 0])
    np.testing.assert_allclose(agent.T_exp[0], [0, 0.01, 0.9, 0.09])
    T = agent.transition_matrix()
    np.testing.assert_allclose(T[3], [1, 0, 0, 0])  # the terminal state leads to the start
    need = agent.need_vector(0, "sr")
    np.testing.assert_allclose(need, np.linalg.inv(np.eye(4) - 0.9 * T)[0])
    d = agent.need_vector(None, "stationary")
    np.testing.assert_allclose(d @ T, d, atol=1e-12)
    assert d.sum() == pytest.approx(1.0)


def test_first_reward_is_replayed_backwards_from_the_goal():
    """After the first reward only the predecessors of changed values have gain: the bout starts
    one step behind the goal and runs in reverse (the paper's Fig. 1)."""
    for seed in range(5):
        env = OpenMaze(0.0)
        rec = TraceRecorder()
        agent = MattarDawReplay(
            54, 4, pre_explore=True, seed=seed, recorder=rec, mdp=env.unwrapped.mdp
        )
        simulate(env, agent, episodes=1, seeds=[seed], max_steps=5000)[1].runs[0]
        df = rec.to_frame()
        off = df[df["phase"] == "offline"]
        assert (off["replay_at"] == "goal").all()
        assert len(off) == agent.config.n_planning  # no replay before the reward
        assert int(off["next_state"].iloc[0]) == PRE_GOAL
        assert off["direction"].iloc[1:7].tolist() == ["reverse"] * 6
        assert (off["gain"].iloc[:7] > 1e-3).all()


def test_trace_rows_and_extra_columns():
    agent, df = _trained(seed=1, episodes=4)
    validate_trace(df)
    on, off = df[df["phase"] == "online"], df[df["phase"] == "offline"]
    for col in COLUMNS:
        if col not in MattarDawReplay.nan_columns:
            assert on[col].notna().all(), col
    assert on["salience"].isna().all()
    assert (off["source"] == "replay").all()
    assert off["choice_prob"].isna().all() and off["policy_entropy"].isna().all()
    assert set(off["direction"]) <= {"forward", "reverse", "none"}
    assert set(off["replay_at"]) == {"start", "goal"}
    np.testing.assert_allclose(off["evb"], off["gain"] * off["need"], rtol=1e-12)
    assert (off["evb"] > agent.config.evb_threshold).all()
    for _, bout in off.groupby("replay_bout"):
        assert bout["replay_order"].tolist() == list(range(len(bout)))
        assert bout["direction"].iloc[0] == "none"
        assert bout["replay_at"].nunique() == 1
    assert off["n_step"].min() == 1 and off["n_step"].max() > 1  # n-step extensions happen
    np.testing.assert_allclose(off["rpe"], off["target"] - off["q"], atol=1e-6)
    # the extra columns stay None/NaN on online rows
    assert on["replay_bout"].isna().all() and on["direction"].isna().all()


def test_replay_happens_only_at_start_and_goal():
    agent, df = _trained(seed=2, episodes=4)
    off = df[df["phase"] == "offline"]
    on = df[df["phase"] == "online"]
    first_steps = on.groupby("episode")["step"].min()
    last_steps = on.groupby("episode")["step"].max()
    for (ep, step), g in off.groupby(["episode", "step"]):
        where = g["replay_at"].iloc[0]
        # an offline row carries the number of online steps before it in the episode
        if where == "start":
            assert step == first_steps[ep] + 1
        else:
            assert where == "goal" and step == last_steps[ep] + 1


def test_every_step_and_rest_replay():
    agent, df = _trained(seed=0, episodes=2, plan_at="every_step", n_planning=3)
    off = df[df["phase"] == "offline"]
    assert "step" in set(off["replay_at"])
    done = agent.rest(5)
    assert 0 < done <= 5
    rest = agent.recorder.to_frame()
    rest = rest[rest["replay_at"] == "rest"]
    assert len(rest) == done and rest["need"].between(0, 1).all()  # a probability
    with pytest.raises(ValueError, match="location"):
        MattarDawReplay(4, 2, need="sr").rest(3)


def test_same_seed_same_trace_and_summary_mode():
    _, a = _trained(seed=4, episodes=3)
    _, b = _trained(seed=4, episodes=3)
    pd.testing.assert_frame_equal(a, b)
    env = OpenMaze(0.1)
    rec = TraceRecorder(mode="summary")
    agent = make_agent("mattar_daw", env, seed=4, recorder=rec, pre_explore=True)
    simulate(env, agent, episodes=3, seeds=[4], max_steps=5000)[1].runs[0]
    s = rec.to_frame()
    validate_trace(s)
    assert s.loc[s["phase"] == "offline", "n_steps"].sum() == (a["phase"] == "offline").sum()


def test_direction_summary_and_events_count_runs():
    df = pd.DataFrame(
        {
            "run": 0,
            "episode": 0,
            "phase": "offline",
            "replay_bout": [0] * 7 + [1] * 6,
            "replay_order": list(range(7)) + list(range(6)),
            "replay_at": ["start"] * 7 + ["goal"] * 6,
            "direction": ["none"] + ["forward"] * 4 + ["reverse"] * 2 + ["none"] + ["reverse"] * 5,
        }
    )
    ev = replay_events(df, min_length=4)
    assert ev[["replay_at", "direction", "length"]].values.tolist() == [
        ["start", "forward", 4],
        ["goal", "reverse", 5],
    ]
    summ = direction_summary(df)
    assert summ.loc["start", "forward_share"] == pytest.approx(4 / 6)
    assert summ.loc["goal", "forward_share"] == 0.0
    assert summ.loc["goal", "reverse_events"] == 1
    with pytest.raises(ValueError, match="replay_bout"):
        direction_summary(df.drop(columns="replay_bout"))


def test_script_runs_and_writes_its_outputs(tmp_path, capsys):
    import json
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "replay_forward_reverse.py"
    main = runpy.run_path(str(script), run_name="replay_forward_reverse")["main"]
    assert main(["--out", str(tmp_path), "--runs", "1", "--episodes", "6", "--quiet"]) == 0
    assert "forward share before runs" in capsys.readouterr().out
    assert (tmp_path / "replay_forward_reverse.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["runs"] == 1 and "darkcontrol_version" in summary
    assert (tmp_path / "trace.parquet").exists()
