"""The package's named choices, defined once (the bottom layer: imports nothing of its own).

Every validator, single-agent and batched alike, imports these tuples;
``tests/test_architecture.py`` checks that no other module defines them again.
"""

from __future__ import annotations

#: behaviour policies of the value learners (``darkcontrol.agents.policies``)
POLICIES = ("epsilon_greedy", "softmax", "greedy")
#: how a learned world model keeps the outcomes of (s, a): all counts, or the last one only
MODEL_MODES = ("counts", "last")
#: floating-point precisions of the torch learners
DTYPE_NAMES = ("float32", "float64")
#: where an offline Trace row's transition came from (``source``; online rows say "env")
OFFLINE_SOURCES = ("replay", "model", "recombined")
#: the DMN's manipulations: none, or no hippocampus (no replay, simulation or recombination)
LESIONS = ("none", "hippocampus")
#: how the DMN draws memories to replay: uniformly, or by |TD error| (Schaul et al. 2016)
PRIORITIES = ("uniform", "prioritised")
#: what scales the DMN's offline budget: predictability (1 - recent spe) or a constant 1
ENGAGEMENT = ("predictability", "constant")
#: how the DMN recombines experience ("auto": analogy on grids, else association)
RECOMBINE = ("auto", "analogy", "association")
#: the DMN's association graph over states: co-occurrence counts or the successor representation
ASSOCIATION = ("cooccurrence", "sr")
