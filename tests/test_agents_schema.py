"""The Trace contract, checked for every agent in ``darkcontrol.agents.registry.AGENTS``.

One test generated over the registry, so an agent added to it is covered automatically (the DMN
model, ``"dmn"``, once per account preset). Each agent runs a few episodes through
:func:`darkcontrol.simulate` on a small grid world (or on its ``default_env``), and:

- its Trace passes ``validate_trace``; online rows have ``source == "env"``;
- online rows fill every column the agent does not list in ``nan_columns``;
- the columns in ``nan_columns`` are missing in every row;
- offline rows exist iff the agent processes offline (``offline_budget > 0``), and the
  return values of ``offline`` (the runner's one call per window) account for them (the
  DMN's decision-time rollouts, ``purpose == "decision"``, are made at choices, not in
  windows);
- ``supports_offline`` is declared truthfully: such agents learn from a fed transition (one
  offline row, with the Trace fields handed over), the others refuse;
- it counted its value updates (``n_updates > 0``);
- the same seed gives an identical Trace.

Agents with ``slow = True`` are marked slow (see ``agents/base.py``).
"""

from __future__ import annotations

import gymnasium as gym
import pandas as pd
import pytest

import darkcontrol.envs  # noqa: F401  (registers the environment ids)
from darkcontrol.agents import AGENTS, agent_class, make_agent
from darkcontrol.dmn import ACCOUNTS
from darkcontrol.envs.gridworld import GridWorld
from darkcontrol.simulation import simulate
from darkcontrol.trace import COLUMNS, TraceRecorder, validate_trace

SMALL_WORLD = ("S..#", ".#..", "...G")
EPISODES, MAX_STEPS, SEED = 3, 200, 7
RECORDER_COLUMNS = ("run", "episode", "step", "time", "phase", "source")
AGENT_COLUMNS = [c for c in COLUMNS if c not in RECORDER_COLUMNS]
#: the DMN's options beyond the presets (issue 12 items 3, 5, 6), one contract run each
DMN_OPTIONS = {
    "replay_q-batch": {"agent": "replay_q", "batch_size": 4, "online_update": False},
    "lesion-graded": {"lesion": "hippocampus", "lesion_strength": 0.5},
    "lesion-real_passes": {"lesion": "hippocampus", "lesion_control": "real_passes"},
    "lesion-random_backups": {
        "lesion": "hippocampus",
        "lesion_strength": 0.7,
        "lesion_control": "random_backups",
    },
    "decision": {"decision_rollouts": 2, "decision_depth": 2},
}


def _cases() -> list:
    out = []
    for name in sorted(AGENTS):
        cls = agent_class(name)
        marks = [pytest.mark.slow] if getattr(cls, "slow", False) else []
        if name == "dmn":  # the DMN model: once per preset (full + the three accounts)
            out += [pytest.param(name, {"account": a}, id=f"dmn-{a}") for a in sorted(ACCOUNTS)]
            out += [pytest.param(name, p, id=f"dmn-{i}") for i, p in DMN_OPTIONS.items()]
        else:
            out.append(pytest.param(name, {}, marks=marks, id=name))
    return out


def _run(name: str, params: dict) -> tuple[pd.DataFrame, object, int]:
    cls = agent_class(name)
    env = gym.make(cls.default_env) if cls.default_env else GridWorld(SMALL_WORLD)
    rec = TraceRecorder(run=0)
    agent = make_agent(name, env, seed=SEED, recorder=rec, **params)
    counted = 0
    offline = agent.offline

    def counting_offline(seconds, **kw):  # the runner's calls, to account for every offline row
        nonlocal counted
        done = offline(seconds, **kw)
        counted += done
        return done

    agent.offline = counting_offline
    simulate(env, agent, episodes=EPISODES, seeds=[SEED], max_steps=MAX_STEPS)
    env.close()
    return rec.to_frame(), agent, counted


@pytest.mark.parametrize(("name", "params"), _cases())
def test_agent_trace_contract(name, params):
    cls = agent_class(name)
    assert cls.name == name, f"registry name {name!r} != class name {cls.name!r}"

    df, agent, counted = _run(name, params)
    nan_columns = agent.nan_columns  # the DMN's depend on its account (sentinel on or off)
    unknown = set(nan_columns) - set(AGENT_COLUMNS)
    assert not unknown, f"nan_columns names unknown Trace columns {sorted(unknown)}"
    validate_trace(df)
    online = df[df["phase"] == "online"]
    offline = df[df["phase"] == "offline"]
    assert len(online) > 0
    assert (online["source"] == "env").all()
    assert sorted(online["episode"].unique()) == list(range(EPISODES))

    for col in AGENT_COLUMNS:
        if col in nan_columns:
            assert df[col].isna().all(), f"{name}: {col!r} is in nan_columns but has values"
        else:
            missing = int(online[col].isna().sum())
            assert missing == 0, f"{name}: {missing} online rows miss {col!r}"

    if "purpose" in offline:  # decision-time rollouts are offline rows but not learning
        offline = offline[offline["purpose"] != "decision"]
        assert (offline["purpose"].isin(["learning", "control"])).all()
    plans = agent.offline_budget > 0
    assert (len(offline) > 0) == plans, f"{name}: offline rows {len(offline)}, plans {plans}"
    assert len(offline) == counted
    if plans:
        assert offline["source"].isin(["replay", "model", "recombined"]).all()
    assert agent.n_updates > 0

    again, _, _ = _run(name, params)
    pd.testing.assert_frame_equal(df, again)


@pytest.mark.parametrize(("name", "params"), _cases())
def test_offline_capability_is_declared(name, params):
    cls = agent_class(name)
    assert isinstance(cls.supports_offline, bool)
    env = gym.make(cls.default_env) if cls.default_env else GridWorld(SMALL_WORLD)
    rec = TraceRecorder(run=0)
    agent = make_agent(name, env, seed=SEED, recorder=rec, **params)
    state, _ = env.reset(seed=SEED)
    action = agent.act(int(state))
    s2, r, term, trunc, _ = env.step(action)
    # truncated: agents that defer their online row (SARSA, the two-step stage 1) write it now
    agent.observe(int(state), action, float(r), int(s2), term, True, fields={"cue": 1.0})
    before = len(rec)
    if not cls.supports_offline:
        with pytest.raises(NotImplementedError):
            agent.learn_offline(int(state), action, float(r), int(s2), term, source="replay")
        return
    agent.learn_offline(
        int(state), action, float(r), int(s2), term, source="replay", fields={"cue": 2.0}
    )
    df = rec.to_frame()
    assert len(df) == before + 1 and df["phase"].iloc[-1] == "offline"
    # the fields a wrapper hands over land in the rows
    assert df["cue"].tolist()[-2:] == [1.0, 2.0]
    env.close()
