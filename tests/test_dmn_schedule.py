"""The DMN's Schedule: validated blocks, BIDS-style events, and the clock of run_schedule."""

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import darkcontrol.envs  # noqa: F401  (registers the environments)
from darkcontrol.clock import Block, Schedule
from darkcontrol.dmn import DMNAgent
from darkcontrol.regions import RegionMap
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder, validate_trace


def test_blocks_are_validated():
    with pytest.raises(ValueError, match="kind"):
        Block("sleep", 10)
    with pytest.raises(ValueError, match="duration"):
        Block.task(0, 1.0)
    with pytest.raises(ValueError, match="trial_s > 0"):
        Block.task(10, 0.0)
    with pytest.raises(ValueError, match="no trials"):
        Block("rest", 10, trial_s=1.0)
    with pytest.raises(ValueError, match="cannot hold one trial"):
        Block.task(2.0, trial_s=2.0, iti_s=1.0)
    with pytest.raises(TypeError, match="seconds"):
        Block.task("10", 1.0)
    with pytest.raises(ValueError, match="at least one block"):
        Schedule(())
    with pytest.raises(ValueError, match="unknown block keys"):
        Schedule.from_blocks([{"kind": "rest", "duration": 3, "tr": 2}])


def test_trials_and_the_last_iti_fill_the_block():
    b = Block.task(10.0, trial_s=2.0, iti_s=1.0)
    assert b.n_trials == 3
    assert b.trial_onsets() == [0.0, 3.0, 6.0]
    assert b.iti_length(0) == 1.0
    assert b.iti_length(2) == pytest.approx(2.0)  # 10 - 6 - 2: the last ITI stretches
    assert Block.rest(5).n_trials == 0


def test_blocked_schedule_and_its_events():
    s = Schedule.blocked(3, task_s=30, rest_s=10, trial_s=2.0, iti_s=1.0)
    assert [b.kind for b in s] == ["task", "rest"] * 3
    assert s.duration == 120.0 and s.n_trials == 30
    ev = s.events()
    assert list(ev.columns) == ["onset", "duration", "trial_type"]
    np.testing.assert_allclose(ev["onset"], [0, 30, 40, 70, 80, 110])
    assert list(ev["trial_type"]) == ["task", "rest"] * 3
    first = Schedule.blocked(2, 30, 10, rest_first=True)
    assert [b.kind for b in first] == ["rest", "task"] * 2
    assert Schedule.from_blocks(s.to_dicts()) == s


def test_run_schedule_stamps_rows_on_the_experiment_clock():
    env = gym.make("darkcontrol/OpenField-v0", n_rows=4, n_cols=4)
    sched = Schedule.from_blocks(
        [Block.task(20.0, trial_s=2.0, iti_s=2.0), Block.rest(10.0), Block.task(8.0, 1.0, 1.0)]
    )
    dmn = DMNAgent(
        "q_learning", env, account="sentinel", seed=1, sentinel=False, engagement="constant"
    )
    trace, summary = simulate(env, dmn, schedule=sched, seeds=[1])
    validate_trace(trace)
    online = trace[trace["phase"] == "online"]
    offline = trace[trace["phase"] == "offline"]
    # one online row per trial, at the trial onsets
    np.testing.assert_allclose(online["time"], [0, 4, 8, 12, 16, 30, 32, 34, 36])
    # ITI offline rows lie inside [onset + trial_s, next onset); 2 s at 10 Hz -> 20 steps
    first_iti = offline[(offline["time"] >= 2.0) & (offline["time"] < 4.0)]
    assert len(first_iti) == 20
    np.testing.assert_allclose(np.diff(first_iti["time"]), 0.1)
    rest = offline[(offline["time"] >= 20.0) & (offline["time"] < 30.0)]
    assert len(rest) == 100  # 10 s of rest at 10 Hz, full engagement
    blocks = pd.DataFrame(summary.runs[0].blocks)
    assert list(blocks["kind"]) == ["task", "rest", "task"]
    assert list(blocks["n_online"]) == [5, 0, 4]
    assert blocks.loc[1, "n_offline"] == 100 and blocks.loc[1, "offline_share"] == 1.0
    assert len(trace) == int(blocks["n_online"].sum() + blocks["n_offline"].sum())
    # the region map bins it: the hippocampus counts offline steps, only during rest and ITIs
    ts = RegionMap.paper().time_series(trace, dt=2.0, t_max=sched.duration)
    np.testing.assert_allclose(ts["HPC"].iloc[10:15], 20.0)
    assert ts["HPC"].iloc[0] == 0.0  # the first trial (0-2 s) is online
    assert trace.attrs["darkcontrol"]["config"]["schedule"] == sched.to_dicts()


def test_salient_trials_skip_their_iti_and_novelty_lowers_engagement():
    env = gym.make("darkcontrol/OpenField-v0", n_rows=4, n_cols=4)
    dmn = DMNAgent("q_learning", env, account="sentinel", seed=0)
    trace, summary = simulate(env, dmn, schedule=Schedule.task_only(60.0, 1.0, 1.0), seeds=[0])
    online = trace[trace["phase"] == "online"].reset_index(drop=True)
    offline_times = trace.loc[trace["phase"] == "offline", "time"].to_numpy()
    salient = online["salience"] >= 1.0
    assert salient.any() and (~salient).any()
    for t, hit in zip(online["time"], salient):
        n_after = ((offline_times >= t + 1.0) & (offline_times < t + 2.0)).sum()
        if hit:
            assert n_after == 0
    assert summary.runs[0].blocks[0]["n_suspended"] == int(salient.sum())
    # a never-tried transition has spe = 1, so a new world starts with engagement < 1
    assert online["engagement"].iloc[0] == 0.0
    assert online["engagement"].iloc[-1] > online["engagement"].iloc[0]


def test_rest_before_any_experience_has_nothing_to_replay():
    env = gym.make("darkcontrol/OpenField-v0", n_rows=3, n_cols=3)
    dmn = DMNAgent("q_learning", env, account="sentinel", seed=0, recorder=TraceRecorder())
    trace, summary = simulate(
        env, dmn, schedule=Schedule.blocked(1, task_s=10, rest_s=5, rest_first=True), seeds=[0]
    )
    assert (
        summary.runs[0].blocks[0]["kind"] == "rest" and summary.runs[0].blocks[0]["n_offline"] == 0
    )
