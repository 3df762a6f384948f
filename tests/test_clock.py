"""The one clock (darkcontrol.clock.Clock) and the one runner's use of it."""

from __future__ import annotations

import numpy as np
import pytest

import darkcontrol
from darkcontrol.agents import make_agent
from darkcontrol.clock import Block, Clock, Schedule
from darkcontrol.envs.gridworld import GridWorld
from darkcontrol.simulation import make_env, simulate

WORLD = ("S..", "...", "..G")


def test_clock_is_validated_and_coerced():
    assert Clock() == Clock(trial_s=1.0, iti_s=1.0, rest_s=0.0, offline_dt=None)
    with pytest.raises(ValueError, match="trial_s must be > 0"):
        Clock(trial_s=0.0)
    with pytest.raises(ValueError, match="iti_s must be >= 0"):
        Clock(iti_s=-1.0)
    with pytest.raises(ValueError, match="finite"):
        Clock(rest_s=float("inf"))
    with pytest.raises(TypeError, match="number of seconds"):
        Clock(offline_dt="fast")
    with pytest.raises(ValueError, match="unknown clock keys"):
        Clock.coerce({"trial_duration": 2.0})
    assert Clock.coerce({"trial_s": 2.0}) == Clock(trial_s=2.0)
    assert Clock.coerce(None) == Clock()
    # offline steps of a window: spread evenly (None) or fixed apart, overrunning if need be
    assert Clock().spacing(2.0, 8) == 0.25
    assert Clock(offline_dt=0.1).spacing(2.0, 8) == 0.1
    assert Clock(offline_dt=0.5).window_end(10.0, 2.0, now=14.0) == 14.0
    assert Clock().window_end(10.0, 2.0, now=14.0) == 12.0


def test_trials_and_itis_follow_the_clock_for_a_planning_agent():
    env = GridWorld(WORLD)
    clock = Clock(trial_s=2.0, iti_s=3.0)
    trace, summary = simulate(env, "dyna_q", episodes=2, seeds=[0], clock=clock, n_planning=6)
    online = trace[trace["phase"] == "online"]
    np.testing.assert_allclose(online["time"], 5.0 * np.arange(len(online)))
    off = trace[trace["phase"] == "offline"]
    # 6 planning steps per ITI, spread evenly over its 3 s: 0.5 s apart from trial end
    assert len(off) == 6 * len(online)
    since = off["time"].to_numpy() % 5.0
    np.testing.assert_allclose(
        since.reshape(-1, 6), np.tile(2.0 + 0.5 * np.arange(6), (len(online), 1))
    )
    assert summary.runs[0].lengths == online.groupby("episode", observed=True).size().tolist()


def test_rest_between_episodes_plain_rule_and_dmn():
    """Plain agents at rest: offline_budget steps per trial period of rest (the task's rate);
    the DMN: replay_hz x engagement per second. Neither rests before the first episode."""
    env = GridWorld(WORLD)
    clock = Clock(trial_s=1.0, iti_s=1.0, rest_s=10.0)
    trace, _ = simulate(env, "dyna_q", episodes=3, seeds=[1], clock=clock, n_planning=4)
    ep1 = trace[trace["episode"] == 1]
    first_online = ep1.index[ep1["phase"] == "online"][0]
    rest_rows = ep1.loc[: first_online - 1]
    assert (rest_rows["phase"] == "offline").all() and len(rest_rows) == 4 * 5  # 10 s / 2 s
    ep0_end = trace.loc[trace["episode"] == 0, "time"].max()
    assert trace.loc[first_online, "time"] >= ep0_end + 10.0
    dmn, _ = simulate(
        env, "dmn", episodes=3, seeds=[1], clock=clock, engagement="constant", sentinel=False
    )
    ep1 = dmn[dmn["episode"] == 1]
    start = ep1.index[ep1["phase"] == "online"][0]
    assert len(ep1.loc[: start - 1]) == 100  # 10 s at 10 Hz, full engagement


def test_fixed_offline_spacing_overruns_the_iti():
    env = GridWorld(WORLD)
    clock = Clock(trial_s=1.0, iti_s=0.0, offline_dt=0.05)
    trace, _ = simulate(env, "dyna_q", episodes=1, seeds=[0], clock=clock, n_planning=10)
    online = trace[trace["phase"] == "online"]["time"].to_numpy()
    np.testing.assert_allclose(np.diff(online), 1.0 + 10 * 0.05)  # the old plain-agent clock


def test_a_schedule_runs_any_agent():
    sched = Schedule.from_blocks([Block.task(10.0, trial_s=1.0, iti_s=1.0), Block.rest(4.0)])
    trace, summary = simulate(GridWorld(WORLD), "dyna_q", schedule=sched, seeds=[0])
    blocks = summary.runs[0].blocks
    assert [b["kind"] for b in blocks] == ["task", "rest"]
    assert blocks[0]["n_online"] == 5
    # Dyna-Q's n = 5 per ITI; at rest 5 per 2-s trial period of the default clock: 4 s -> 10
    assert blocks[0]["n_offline"] == 25 and blocks[1]["n_offline"] == 10
    assert len(trace) == sum(b["n_online"] + b["n_offline"] for b in blocks)
    with pytest.raises(ValueError, match="only clock.offline_dt"):
        simulate(GridWorld(WORLD), "dyna_q", schedule=sched, clock=Clock(trial_s=2.0))


def test_runner_arguments_are_validated_before_work():
    env = make_env("darkcontrol/DynaMaze-v0")
    with pytest.raises(ValueError, match="exactly one of episodes"):
        simulate(env, "q_learning")
    with pytest.raises(ValueError, match="exactly one of episodes"):
        simulate(env, "q_learning", episodes=2, schedule=Schedule.task_only(4.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        simulate(env, "q_learning", episodes=0)
    with pytest.raises(ValueError, match="unknown agent"):
        simulate(env, "nonesuch", episodes=1)
    agent = make_agent("q_learning", env, seed=0)
    with pytest.raises(ValueError, match="one run"):
        simulate(env, agent, episodes=1, seeds=2)
    with pytest.raises(ValueError, match="given with an Agent instance"):
        simulate(env, agent, episodes=1, alpha=0.3)
    with pytest.raises(ValueError, match="env_params are for an environment id"):
        simulate(env, "q_learning", episodes=1, env_params={"slip": 0.1})
    with pytest.raises(ValueError, match="first_seed goes with"):
        simulate(env, "q_learning", episodes=1, seeds=[3], first_seed=2)
    with pytest.raises(ValueError, match="record must be one of"):
        simulate(env, "q_learning", episodes=1, record="everything")


def test_same_seeds_same_trace_and_the_package_entry_point():
    a, sa = darkcontrol.simulate("darkcontrol/DynaMaze-v0", "dyna_q", episodes=2, seeds=2)
    b, _ = simulate("darkcontrol/DynaMaze-v0", "dyna_q", episodes=2, seeds=[0, 1])
    assert a.equals(b) and sorted(a["run"].unique()) == [0, 1]
    assert [r.seed for r in sa.runs] == [0, 1] and "Trace rows" in str(sa)
