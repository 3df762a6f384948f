"""Agents by name, for ``darkcontrol simulate --agent NAME`` and for sweeps.

Entries are ``"module:Class"`` entry points, imported on demand (as Gymnasium's registry does)
so that asking for a tabular agent does not import torch or stable-baselines3, and so that the
DMN model (``"dmn"``, a layer above the agents) is an agent like any other without the agent
layer importing it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from darkcontrol.agents.base import Agent
    from darkcontrol.trace import TraceRecorder

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
    "dmn": "darkcontrol.dmn.agent:DMNAgent",
}


def agent_class(name: str) -> type[Agent]:
    """The class registered as ``name``."""
    if not isinstance(name, str) or name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; available: {sorted(AGENTS)}")
    module, cls = AGENTS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_agent(
    name: str,
    env: Any,
    *,
    seed: int | np.random.Generator | None = None,
    recorder: TraceRecorder | None = None,
    **params: Any,
) -> Agent:
    """Build agent ``name`` for ``env`` (see each class's ``from_env``); ``params`` are its
    hyper-parameters, e.g. ``make_agent("dmn", env, agent="q_learning", account="sentinel")``."""
    return agent_class(name).from_env(env, seed=seed, recorder=recorder, **params)
