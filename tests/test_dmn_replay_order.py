"""DMNAgent's sequential replay (``replay_order="sequence"``) and offline-reward hook
(``offline_reward=``), issue 13: off by default, validated, and doing what they say."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import darkcontrol
import darkcontrol.envs  # noqa: F401  (registers the environments)
from darkcontrol.dmn import DMNAgent

TRACK = "darkcontrol/LinearTrack-v0"


def _dmn(env_id=TRACK, agent="q_learning", env_kwargs=None, **kw):
    env = gym.make(env_id, **(env_kwargs or {}))
    base = {"account": "sentinel", "sentinel": False, "engagement": "constant", "seed": 0}
    return env, DMNAgent(agent, env, **{**base, **kw})


def _walk(dmn, path, reward_at_end=1.0):
    """Feed the DMN a run along ``path`` (real transitions, action 1 = right)."""
    for k, (s, s2) in enumerate(zip(path[:-1], path[1:])):
        last = k == len(path) - 2
        dmn.observe(s, 1, reward_at_end if last else 0.0, s2, last)


def test_defaults_leave_the_trace_unchanged():
    runs = []
    for kw in ({}, {"replay_order": "independent", "offline_reward": None}):
        env = gym.make("darkcontrol/DynaMaze-v0")
        dmn = DMNAgent("q_learning", env, seed=3, **kw)
        trace, _ = darkcontrol.simulate(env, dmn, episodes=2, seeds=[3], max_steps=200)
        runs.append(trace)
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert "replay_kind" not in runs[0] and "stimulation" not in runs[0]


@pytest.mark.parametrize(
    "kw, err",
    [
        ({"replay_order": "backwards"}, ValueError),
        ({"sweep_threshold": 0.0}, ValueError),
        ({"sweep_threshold": -1.0}, ValueError),
        ({"sweep_threshold": float("nan")}, ValueError),
        ({"sweep_threshold": True}, ValueError),
        ({"replay_ahead": "yes"}, TypeError),
        ({"offline_reward": 1.0}, TypeError),
    ],
)
def test_bad_options_are_refused(kw, err):
    with pytest.raises(err):
        _dmn(**kw)


def test_offline_reward_refused_with_the_agents_own_planner():
    with pytest.raises(ValueError, match="use_agent_planner"):
        _dmn(
            "darkcontrol/DynaMaze-v0",
            agent="dyna_q",
            account="predictive_coding",
            use_agent_planner=True,
            offline_reward=lambda s, a, s2: 0.0,
        )


def test_sequence_refused_for_a_minibatch_learner():
    with pytest.raises(ValueError, match="minibatch"):
        _dmn(agent="replay_q", features="onehot", batch_size=4, replay_order="sequence")


def test_reverse_sweep_after_reward_then_forward_sweep_from_the_agent():
    env, dmn = _dmn(env_kwargs={"n": 5}, replay_order="sequence", agent_alpha=1.0, agent_gamma=0.9)
    _walk(dmn, [0, 1, 2, 3, 4])  # the reward at 4 sets Q(3, right) = 1 online
    dmn.offline(0.3)  # 3 replay steps
    off = dmn.recorder.to_frame()
    off = off[off["phase"] == "offline"]
    # the value change at 3 sweeps backwards: 2 -> 3, then 1 -> 2, then 0 -> 1
    assert off["state"].tolist() == [2, 1, 0]
    assert off["replay_kind"].tolist() == ["sweep"] * 3
    q = dmn.q_values()
    assert q[0, 1] == pytest.approx(0.9**3) and q[2, 1] == pytest.approx(0.9)
    # nothing left to sweep: replay runs ahead of the agent, from its place (the start)
    dmn._last_state = 0
    dmn.offline(0.3)
    off = dmn.recorder.to_frame()
    off = off[off["phase"] == "offline"].iloc[3:]
    assert off["replay_kind"].tolist() == ["ahead"] * 3
    assert off["state"].tolist() == [0, 1, 2]
    assert dmn.n_sweep == 3 and dmn.n_ahead == 3


def test_without_sweeps_or_lookahead_replay_is_drawn():
    env, dmn = _dmn(
        env_kwargs={"n": 5},
        replay_order="sequence",
        sweep_threshold=float("inf"),
        replay_ahead=False,
        agent_alpha=1.0,
    )
    _walk(dmn, [0, 1, 2, 3, 4])
    dmn.offline(1.0)
    assert dmn.n_draw == 10 and dmn.n_sweep == dmn.n_ahead == 0


def test_offline_reward_is_added_to_offline_backups_only():
    target = 3
    env = gym.make(TRACK, n=5)
    dmn = DMNAgent(
        "q_learning",
        env,
        account="sentinel",
        sentinel=False,
        engagement="constant",
        seed=1,
        offline_reward=lambda s, a, s2: 2.0 if s2 == target else 0.0,
    )
    trace, _ = darkcontrol.simulate(env, dmn, episodes=3, seeds=[1], max_steps=100)
    on, off = trace[trace["phase"] == "online"], trace[trace["phase"] == "offline"]
    assert set(on["reward"].unique()) <= {0.0, 1.0}  # the world's own rewards
    assert on["stimulation"].isna().all()
    hit = off["next_state"] == target
    assert (off.loc[hit, "stimulation"] == 2.0).all() and (off.loc[~hit, "stimulation"] == 0).all()
    assert (off.loc[hit, "reward"] >= 2.0).all()
    assert dmn.n_stimulated == int(hit.sum()) > 0


def test_offline_reward_must_return_a_finite_number():
    cases = ((lambda s, a, s2: float("nan"), ValueError), (lambda s, a, s2: "x", TypeError))
    for bad, err in cases:
        env, dmn = _dmn(env_kwargs={"n": 5}, offline_reward=bad)
        _walk(dmn, [0, 1, 2])
        with pytest.raises(err):
            dmn.offline(1.0)


def test_stimulated_rest_replay_raises_the_value_of_the_paired_place():
    # replay only at rest; pairing arrivals in 2 with reward makes the path to 2 valuable
    env, dmn = _dmn(env_kwargs={"n": 5}, offline_reward=lambda s, a, s2: float(s2 == 2))
    for _ in range(3):
        _walk(dmn, [0, 1, 2, 3, 4], reward_at_end=0.0)
    before = dmn.q_values().copy()
    dmn.offline(30.0, kind="rest")
    after = dmn.q_values()
    assert after[1, 1] > before[1, 1] + 0.1 and after[1, 1] > after[3, 1]
    assert np.isfinite(after).all()
