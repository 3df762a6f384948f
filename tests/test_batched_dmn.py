"""The batched DMN loop: its offline budget arithmetic is the reference's, exactly; lesions,
the sentinel and engagement do what the paper says they do."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.batched.dmn import BatchedDMN
from darkcontrol.batched.testing import curve_z
from darkcontrol.clock import Schedule
from darkcontrol.dmn import DMNAgent
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder


@pytest.fixture(scope="module")
def maze():
    return gym.make("darkcontrol/DynaMaze-v0").unwrapped.mdp


SCHED = Schedule.blocked(2, task_s=20, rest_s=7.5, trial_s=1.0, iti_s=0.5)


def test_schedule_offline_counts_equal_reference_exactly(maze):
    """Constant engagement, no sentinel: floor(T hz + carry) per window, carried across
    windows; a lesion or replay_hz = 0 gives none."""
    hz = [3.7, 3.7, 0.0, 1.3]
    lesion = ["none", "hippocampus", "none", "none"]
    kw = dict(engagement="constant", sentinel=False, w_replay=1.0, w_model=0.0)
    res = BatchedDMN(maze, [0, 1, 2, 3], replay_hz=hz, lesion=lesion, **kw).run_schedule(SCHED)
    for i in (0, 3):
        env = gym.make("darkcontrol/DynaMaze-v0")
        dmn = DMNAgent(
            "q_learning",
            env,
            account="sentinel",
            seed=i,
            replay_hz=hz[i],
            reconsolidate=False,
            recorder=TraceRecorder(mode="online"),
            **kw,
        )
        blocks = pd.DataFrame(simulate(env, dmn, schedule=SCHED, seeds=[0])[1].runs[0].blocks)
        np.testing.assert_array_equal(res.regions["n_offline"][i], blocks["n_offline"])
        np.testing.assert_array_equal(res.regions["n_online"][i], blocks["n_online"])
    assert np.all(res.regions["n_offline"][[1, 2]] == 0)
    assert res.regions["n_offline"][0].sum() > 100


def test_episodic_offline_counts_follow_the_carry_arithmetic(maze):
    iti, rest, hz = 0.7, 2.0, 2.5
    L = BatchedDMN(
        maze,
        [4, 5],
        replay_hz=hz,
        iti_s=iti,
        rest_s=rest,
        engagement="constant",
        sentinel=False,
        lesion=["none", "hippocampus"],
    )
    res = L.run(4, 60, record_regions=True)
    carry, want = 0.0, []
    for e, n_steps in enumerate(res.lengths[0]):
        total = 0
        for _ in range(n_steps):
            x = iti * hz + carry
            total += int(x)
            carry = x - int(x)
        if e < len(res.lengths[0]) - 1:  # rest before the next episode
            x = rest * hz + carry
            total += int(x)
            carry = x - int(x)
        want.append(total)
    np.testing.assert_array_equal(res.regions["n_offline"][0], want)
    assert np.all(res.regions["n_offline"][1] == 0)


def test_sentinel_suspends_every_iti_after_salient_steps(maze):
    sched = Schedule.blocked(1, task_s=10, rest_s=5, trial_s=1.0, iti_s=1.0)
    res = BatchedDMN(
        maze, [0], salience_threshold=-1.0, replay_hz=4.0, engagement="constant"
    ).run_schedule(sched)
    assert res.regions["n_suspended"][0, 0] == res.regions["n_online"][0, 0] == 5
    assert res.regions["n_offline"][0, 0] == 0  # every ITI suspended
    assert res.regions["n_offline"][0, 1] == 20  # rest is not


def test_engagement_grows_as_the_world_becomes_predictable(maze):
    sched = Schedule.blocked(4, task_s=100, rest_s=10, trial_s=1.0, iti_s=1.0)
    res = BatchedDMN(maze, np.arange(40), replay_hz=2.0, sentinel=False).run_schedule(sched)
    eng = res.regions["engagement"][:, ::2].mean(0)  # end of each task block
    spe = res.regions["mean_spe"][:, ::2].mean(0)
    assert np.all(np.diff(eng) > 0) and np.all(np.diff(spe) < 0)


@pytest.mark.slow
def test_hippocampal_lesion_impairs_learning(maze):
    """Paper (§3.3, §4.2): without replay the agent learns from real experience only, slower."""
    n = 40
    lesion = ["none"] * n + ["hippocampus"] * n
    res = BatchedDMN(
        maze,
        np.concatenate([np.arange(n), np.arange(n)]),
        lesion=lesion,
        replay_hz=10.0,
        iti_s=1.0,
        alpha=0.5,
        sentinel=False,
    ).run(6, 400)
    z = curve_z(res.lengths[n:], res.lengths[:n])  # lesioned minus intact
    assert z[1:].mean() > 3.0, z


def test_rejects_unsupported_settings(maze):
    with pytest.raises(ValueError, match="lesion"):
        BatchedDMN(maze, [0], lesion="amygdala")
    with pytest.raises(ValueError, match="w_replay"):
        BatchedDMN(maze, [0], w_replay=0.0, w_model=0.0)
    with pytest.raises(ValueError, match="unknown parameter"):
        BatchedDMN(maze, [0], w_recombined=0.2)
    assert math.isfinite(BatchedDMN.bytes_per_agent(54, 4, BatchedDMN.Config(), 4))
