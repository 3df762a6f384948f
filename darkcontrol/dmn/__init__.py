"""The DMN process model: online/offline processing, sentinel, the accounts as presets.

Dohmatob, Dumas & Bzdok (2020), "Dark control: The default mode network as a reinforcement
learning agent", Human Brain Mapping 41(12):3318-3341. :class:`DMNAgent` is an Agent
(``make_agent("dmn", env, agent="q_learning", account=...)``), run by
:func:`darkcontrol.simulate` like any other. Four presets (:data:`ACCOUNTS`): ``"full"`` (the
paper's model) and the three earlier accounts it contains, ``"predictive_coding"``,
``"semantic"`` and ``"sentinel"``. See ``darkcontrol/dmn/README.md`` for the map from each
component to the paper's equations and claims.
"""

from __future__ import annotations

from darkcontrol.constants import OFFLINE_SOURCES
from darkcontrol.dmn.agent import DMNAgent
from darkcontrol.dmn.association import AssociationGraph
from darkcontrol.dmn.config import ACCOUNTS, DMNConfig, split_params
from darkcontrol.dmn.memory import ExperienceMemory
from darkcontrol.dmn.recombine import Recombiner
from darkcontrol.dmn.sentinel import Sentinel

__all__ = [
    "ACCOUNTS",
    "OFFLINE_SOURCES",
    "AssociationGraph",
    "DMNAgent",
    "DMNConfig",
    "ExperienceMemory",
    "Recombiner",
    "Sentinel",
    "split_params",
]
