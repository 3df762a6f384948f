"""The DMNAgent: configuration, accounts, sources, lesion, determinism, wrapping agents."""

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import darkcontrol.envs  # noqa: F401  (registers the environments)
from darkcontrol.agents.base import Agent
from darkcontrol.agents.tabular import QLearning
from darkcontrol.constants import OFFLINE_SOURCES
from darkcontrol.dmn import ACCOUNTS, DMNAgent, DMNConfig, split_params
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder, validate_trace


def _maze():
    return gym.make("darkcontrol/DynaMaze-v0")


def _run(n=3, seed=0, mode="full", **params):
    trace, summary = simulate(
        _maze(), "dmn", episodes=n, seeds=[seed], record=mode, max_steps=300, **params
    )
    return summary.runs[0], trace


def test_presets_fill_the_documented_settings():
    for account, spec in ACCOUNTS.items():
        cfg = DMNConfig.preset(account)
        assert cfg.account == account
        for key, value in spec["settings"].items():
            assert getattr(cfg, key) == value
        assert spec["claim"]
        # the one constructor: a config labelled with an account carries that account's settings
        assert DMNConfig(account=account) == cfg
    assert DMNConfig.preset("sentinel", sentinel=False).sentinel is False
    with pytest.raises(ValueError, match="account must be one of"):
        DMNConfig.preset("psychoanalytic")
    with pytest.raises(ValueError, match="unknown parameter"):
        DMNConfig.preset("full", replay_rate=3)
    with pytest.raises(ValueError, match="lesion must be one of"):
        DMNConfig(lesion="amygdala")
    with pytest.raises(ValueError, match="must be > 0"):
        DMNConfig(w_replay=0, w_model=0, w_recombined=0)
    DMNConfig(w_replay=0, w_model=0, w_recombined=0, lesion="hippocampus")  # nothing to mix


def test_params_split_between_dmn_and_agent():
    dmn, agent = split_params(
        {"replay_hz": 5, "gamma": 0.5, "agent_alpha": 0.2, "agent.epsilon": 0.3},
        QLearning.Config,
    )
    assert dmn == {"replay_hz": 5}
    assert agent == {"gamma": 0.5, "alpha": 0.2, "epsilon": 0.3}
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['bogus'\].*replay_hz.*alpha"):
        split_params({"bogus": 1}, QLearning.Config)

    @dataclass
    class Clash:
        replay_hz: float = 1.0

    with pytest.raises(ValueError, match="both the DMN and the agent"):
        split_params({"replay_hz": 2}, Clash)
    assert split_params({"agent_replay_hz": 2}, Clash) == ({}, {"replay_hz": 2})


def test_agent_parameters_reach_the_agent():
    dmn = DMNAgent("q_learning", _maze(), account="full", gamma=0.5, agent_alpha=0.3, seed=0)
    assert dmn.agent.config.gamma == 0.5 and dmn.agent.config.alpha == 0.3
    assert dmn.gamma == 0.5
    with pytest.raises(ValueError, match="unknown parameter"):
        DMNAgent("q_learning", _maze(), n_planning=3)
    with pytest.raises(ValueError, match="needs env="):
        DMNAgent("q_learning")


@pytest.mark.parametrize(
    "account, sources",
    [
        ("full", {"replay", "model", "recombined"}),
        ("predictive_coding", {"model"}),
        ("semantic", {"replay", "recombined"}),
        ("sentinel", {"replay"}),
    ],
)
def test_each_account_processes_offline_from_its_sources(account, sources):
    log, trace = _run(account=account)
    validate_trace(trace)
    off = trace[trace["phase"] == "offline"]
    assert set(off["source"].unique()) == sources
    online = trace[trace["phase"] == "online"]
    assert len(online) == sum(log.lengths)
    assert online["spe"].between(0, 1).all()
    assert off["spe"].between(0, 1).all()
    if account in ("full", "sentinel"):
        assert online["salience"].notna().all()
    else:
        assert online["salience"].isna().all()
    if "recombined" in sources:
        # a recombined transition is never experienced: the model calls it a surprise
        assert (off.loc[off["source"] == "recombined", "spe"] == 1.0).all()


def test_hippocampal_lesion_and_zero_budget_remove_all_offline_processing():
    for params in ({"lesion": "hippocampus"}, {"replay_hz": 0}):
        _, trace = _run(account="full", **params)
        assert (trace["phase"] == "online").all()
    # the lesioned DMN learns like its agent alone on the same seed
    rec = TraceRecorder()
    dmn = DMNAgent("q_learning", _maze(), account="full", lesion="hippocampus", seed=3)
    log_dmn = simulate(_maze(), dmn, episodes=3, seeds=[3], max_steps=300)[1].runs[0]
    assert dmn.engagement == 0.0
    alone = QLearning(54, 4, seed=dmn.agent.seed, recorder=rec)

    log_alone = simulate(_maze(), alone, episodes=3, seeds=[3], max_steps=300)[1].runs[0]
    assert log_dmn.lengths == log_alone.lengths
    np.testing.assert_array_equal(dmn.q_values(), alone.q_values())


def test_same_seed_same_trace_other_seed_other_trace():
    _, a = _run(seed=7)
    _, b = _run(seed=7)
    _, c = _run(seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_summary_and_online_recording_modes():
    _, full = _run(seed=2, mode="full")
    _, summ = _run(seed=2, mode="summary")
    _, onl = _run(seed=2, mode="online")
    n_off = int((full["phase"] == "offline").sum())
    assert summ.loc[summ["phase"] == "offline", "n_steps"].sum() == n_off
    # "online" mode counts the offline steps before each online row (the last ITI's are lost)
    last_online = np.flatnonzero(full["phase"] == "online")[-1]
    assert onl["n_offline"].sum() == n_off - (len(full) - 1 - last_online)
    assert (onl["phase"] == "online").all()


def test_offline_share_grows_within_a_run_and_counters_add_up():
    dmn = DMNAgent("q_learning", _maze(), account="full", seed=0)
    _, summary = simulate(_maze(), dmn, episodes=15, seeds=[0], max_steps=400)
    hist = pd.DataFrame(summary.runs[0].episodes)
    assert hist["offline_share"].iloc[-5:].mean() > hist["offline_share"].iloc[0]
    c = dmn.counters()
    assert c["n_offline"] == sum(c[f"n_{s}"] for s in OFFLINE_SOURCES)
    assert c["n_offline"] == hist["n_offline"].sum()


class _NoOffline(Agent):
    name = "no_offline"

    @dataclass
    class Config:
        beta: float = 1.0  # no discount factor

    def q_values(self):
        return np.zeros((self.n_states, self.n_actions))

    def observe(self, *args, **kwargs):
        self.recorder.online(state=0)


def test_agents_without_learn_offline_are_refused_unless_lesioned():
    assert not _NoOffline.supports_offline  # the declared capability, not an identity check
    with pytest.raises(TypeError, match="does not implement learn_offline"):
        DMNAgent(_NoOffline(4, 2), account="sentinel")
    DMNAgent(_NoOffline(4, 2), account="sentinel", lesion="hippocampus")
    ag = QLearning(54, 4, seed=0)
    with pytest.raises(ValueError, match="agent instance"):
        DMNAgent(ag, gamma=0.3)
    with pytest.raises(ValueError, match="another recorder"):
        DMNAgent(ag, recorder=TraceRecorder())


@pytest.mark.parametrize("name", ["dyna_q", "expected_sarsa", "prioritized_sweeping", "sr_dyna"])
def test_registry_agents_run_inside_the_dmn(name):
    from darkcontrol.agents.registry import AGENTS

    if name not in AGENTS:
        pytest.skip(f"{name} is not registered")
    trace, summary = simulate(_maze(), "dmn", episodes=3, seeds=[0], agent=name, max_steps=300)
    log = summary.runs[0]
    validate_trace(trace)
    assert len(log.lengths) == 3
    assert (trace["phase"] == "offline").any()


def test_recombination_falls_back_to_replay_when_no_gap_is_left():
    # a random walk on a short track soon tries every action: nothing is left to recombine
    env = gym.make("darkcontrol/LinearTrack-v0", n=3)
    dmn = DMNAgent(
        "q_learning", env, account="full", w_replay=0.0, w_model=0.0, epsilon=1.0, seed=0
    )
    simulate(env, dmn, episodes=30, seeds=[0], max_steps=50)[1].runs[0]
    c = dmn.counters()
    assert dmn.recombiner.n_gaps == 0
    assert c["n_recombine_failed"] > 0 and c["n_replay"] >= c["n_recombine_failed"]


def test_simulate_runs_the_dmn_by_name():
    trace, summary = simulate(
        "darkcontrol/OpenField-v0",
        "dmn",
        account="semantic",
        gamma=0.9,
        replay_hz=5,
        env_params={"n_rows": 3, "n_cols": 3},
        episodes=3,
        seeds=2,
    )
    validate_trace(trace)
    assert sorted(trace["run"].unique()) == [0, 1]
    assert set(trace.loc[trace["phase"] == "offline", "source"]) <= {"replay", "recombined"}
    with pytest.raises(ValueError, match="unknown parameter"):
        simulate("darkcontrol/OpenField-v0", "dmn", replay_rate=5, episodes=1)


def test_the_model_share_can_go_to_the_agents_own_planner():
    rec = TraceRecorder()
    dmn = DMNAgent(
        "dyna_q",
        _maze(),
        account="predictive_coding",
        use_agent_planner=True,
        seed=0,
        recorder=rec,
    )
    simulate(_maze(), dmn, episodes=2, seeds=[0], max_steps=200)[1].runs[0]
    c = dmn.counters()
    assert c["n_planner"] > 0 and c["n_model"] == 0
    off = rec.to_frame().query("phase == 'offline'")
    assert len(off) == c["n_planner"] and set(off["source"]) == {"model"}


def test_prioritised_replay_runs_and_needs_a_discount():
    _, trace = _run(account="sentinel", replay_priority="prioritised")
    assert (trace["source"] == "replay").any()
    with pytest.raises(ValueError, match="has no gamma"):
        DMNAgent(_NoOffline(4, 2), account="sentinel", lesion="hippocampus", w_rpe=1.0)


def test_change_log_matches_the_updates_in_the_trace():
    env = gym.make("darkcontrol/OpenField-v0", n_rows=3, n_cols=3)
    dmn = DMNAgent(
        "q_learning", env, account="full", seed=4, record_changes=True, agent_policy="softmax"
    )
    simulate(env, dmn, episodes=5, seeds=[4], max_steps=200)[1].runs[0]
    log, trace = dmn.change_log(), dmn.recorder.to_frame()
    # one entry per Q-learning backup, in the same order and at the same clock time
    assert len(log) == len(trace)
    np.testing.assert_allclose(log["time"], trace["time"])
    assert (log["phase"].to_numpy() == trace["phase"].astype(str).to_numpy()).all()
    # a backup changes one Q(s, a) by alpha * rpe: V(s) moves by at most that much
    step = trace["update_norm"].to_numpy(float)
    assert (np.abs(log["value_change"]) <= step + 1e-6).all()
    assert log["policy_change"].between(0, 1).all() and (log["policy_change"] > 0).any()
    with pytest.raises(ValueError, match="record_changes=True"):
        DMNAgent("q_learning", _maze(), seed=0).change_log()
