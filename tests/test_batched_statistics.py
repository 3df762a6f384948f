"""Batched learners against their single-agent references, statistically: mean learning
curves of many independent runs agree within their confidence intervals (per-episode Welch z),
and the comparison has the power to see a real difference (a planted effect)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.agents.dyna import DynaQ
from darkcontrol.agents.successor import SRTD
from darkcontrol.batched.dmn import BatchedDMN
from darkcontrol.batched.dyna import BatchedDynaQ
from darkcontrol.batched.successor import BatchedSRTD
from darkcontrol.batched.testing import curve_z
from darkcontrol.clock import Schedule
from darkcontrol.dmn import DMNAgent
from darkcontrol.envs.mazes import OpenField
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder

Z_MAX = 4.0  # over <= 12 episodes, P(max |z| > 4) < 1e-3 under the null
pytestmark = pytest.mark.slow


def _reference(make_env, cls, n_runs, episodes, max_steps, **params):
    out = []
    for i in range(n_runs):
        env = make_env()
        agent = cls(
            env.observation_space.n,
            env.action_space.n,
            seed=10_000 + i,
            recorder=TraceRecorder(mode="online"),
            **params,
        )
        out.append(
            simulate(env, agent, episodes=episodes, seeds=[i], max_steps=max_steps)[1]
            .runs[0]
            .lengths
        )
    return np.array(out)


def test_dyna_q_learning_curves_match_reference_on_dyna_maze():
    make = lambda: gym.make("darkcontrol/DynaMaze-v0")  # noqa: E731
    mdp = make().unwrapped.mdp
    kw = dict(alpha=0.5, gamma=0.95, epsilon=0.1)
    E, T = 8, 800
    ref = _reference(make, DynaQ, 100, E, T, n_planning=5, **kw)
    batched = BatchedDynaQ(mdp, np.arange(200), n_planning=5, **kw).run(E, T).lengths
    z = curve_z(batched, ref)
    assert np.abs(z).max() < Z_MAX, z
    # power: without planning the batched curve is clearly slower than the reference's
    no_plan = BatchedDynaQ(mdp, np.arange(200), n_planning=0, **kw).run(E, T).lengths
    assert curve_z(no_plan, ref)[1:].max() > 6.0


def test_dyna_q_counts_model_matches_reference_in_a_slippery_world():
    make = lambda: OpenField(5, 5, slip=0.2)  # noqa: E731
    mdp = make().mdp
    kw = dict(alpha=0.3, gamma=0.9, epsilon=0.1, n_planning=5, model="counts")
    E, T = 12, 300
    ref = _reference(make, DynaQ, 150, E, T, **kw)
    batched = BatchedDynaQ(mdp, np.arange(200), **kw).run(E, T).lengths
    assert np.abs(curve_z(batched, ref)).max() < Z_MAX


def test_sr_td_learning_curves_match_reference():
    make = lambda: gym.make("darkcontrol/DynaMaze-v0")  # noqa: E731
    mdp = make().unwrapped.mdp
    kw = dict(alpha=0.3, alpha_w=0.3, gamma=0.95, epsilon=0.1)
    E, T = 8, 800
    ref = _reference(make, SRTD, 80, E, T, **kw)
    batched = BatchedSRTD(mdp, np.arange(200), **kw).run(E, T).lengths
    assert np.abs(curve_z(batched, ref)).max() < Z_MAX


def test_dmn_schedule_block_summaries_match_reference():
    """Predictability engagement and the sentinel on: offline steps, replay/model split,
    suspensions and surprise per block agree with DMNAgent (account 'sentinel', no
    recombination, no reconsolidation)."""
    make = lambda: gym.make("darkcontrol/DynaMaze-v0")  # noqa: E731
    mdp = make().unwrapped.mdp
    kw = dict(replay_hz=5.0, w_replay=0.7, w_model=0.3, alpha=0.5)
    sched = Schedule.blocked(3, task_s=100, rest_s=30, trial_s=1.0, iti_s=1.0)
    rows = []
    for i in range(80):
        env = make()
        dmn = DMNAgent(
            "q_learning",
            env,
            account="sentinel",
            seed=i,
            w_recombined=0.0,
            reconsolidate=False,
            # the rules the batched DMN implements (it has no allocation or relevance yet)
            engagement="heuristic",
            salience="rarity",
            recorder=TraceRecorder(mode="online"),
            **kw,
        )
        rows.append(
            pd.DataFrame(
                simulate(env, dmn, schedule=sched, seeds=[0], max_steps=300)[1].runs[0].blocks
            )
        )
    res = BatchedDMN(mdp, np.arange(200), **kw).run_schedule(sched, max_steps=300)
    for key in ("n_offline", "n_replay", "n_model", "n_suspended", "mean_spe"):
        ref = np.stack([r[key].to_numpy(np.float64) for r in rows])
        got = res.regions[key]
        keep = np.isfinite(ref).all(0)
        z = curve_z(got[:, keep], ref[:, keep])
        assert np.abs(z).max() < Z_MAX, (key, z)
