"""MDP agents that estimate values from real and simulated experience, recording a Trace.

Every agent implements one protocol (:class:`Agent`) and is run by
:func:`darkcontrol.simulate`. See ``agents/README.md`` for the table of algorithms, update rules
and citations.
"""

from __future__ import annotations

from darkcontrol.agents.base import Agent, EpisodeLog
from darkcontrol.agents.registry import AGENTS, agent_class, make_agent

__all__ = ["AGENTS", "Agent", "EpisodeLog", "agent_class", "make_agent"]
