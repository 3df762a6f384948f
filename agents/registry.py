"""Agents by name, for ``darkcontrol simulate --agent NAME`` and for sweeps.

Entries are ``"module:Class"`` strings, imported on demand so that asking for a tabular agent
does not import torch or stable-baselines3.
"""

from __future__ import annotations

import importlib
from typing import Any

AGENTS: dict[str, str] = {
    "q_learning": "darkcontrol.agents.tabular:QLearning",
    "sarsa": "darkcontrol.agents.tabular:Sarsa",
    "expected_sarsa": "darkcontrol.agents.tabular:ExpectedSarsa",
    "replay_q": "darkcontrol.agents.approx:ReplayQAgent",
    "sb3_dqn": "darkcontrol.agents.sb3:SB3DQNAgent",
    "dyna_q": "darkcontrol.agents.dyna:DynaQ",
    "dyna_q_plus": "darkcontrol.agents.dyna:DynaQPlus",
    "prioritized_sweeping": "darkcontrol.agents.prioritized_sweeping:PrioritizedSweeping",
    "mc_rollout": "darkcontrol.agents.monte_carlo:MCRollout",
    "sr_td": "darkcontrol.agents.successor:SRTD",
    "sr_dyna": "darkcontrol.agents.successor:SRDyna",
    "mattar_daw": "darkcontrol.agents.mattar_daw:MattarDawReplay",
    "two_step_hybrid": "darkcontrol.agents.two_step:TwoStepHybrid",
    "belief": "darkcontrol.agents.belief:BeliefAgent",
}


def agent_class(name: str) -> type:
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; available: {sorted(AGENTS)}")
    module, cls = AGENTS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_agent(name: str, env, *, seed=None, recorder=None, **params: Any):
    """Build agent ``name`` for a Gymnasium env with Discrete observation and action spaces."""
    import gymnasium as gym

    obs, act = env.observation_space, env.action_space
    if not isinstance(obs, gym.spaces.Discrete) or not isinstance(act, gym.spaces.Discrete):
        raise TypeError(
            f"tabular agents need Discrete observation and action spaces, got {obs} and {act}"
        )
    mdp = getattr(env.unwrapped, "mdp", None)
    cls = agent_class(name)
    return cls(int(obs.n), int(act.n), seed=seed, recorder=recorder, mdp=mdp, **params)
