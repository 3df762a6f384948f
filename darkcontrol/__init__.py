"""darkcontrol: the default mode network as a reinforcement-learning agent.

A runnable process model of Dohmatob, Dumas & Bzdok (2020), "Dark control: The default
mode network as a reinforcement learning agent", Human Brain Mapping 41(12):3318-3341,
doi:10.1002/hbm.25019.

Subpackages (import them explicitly; this module stays light):

- ``darkcontrol.envs``     Gymnasium environments, each discrete one with its exact MDP
- ``darkcontrol.agents``   learners from real and vicarious experience, recording a Trace
- ``darkcontrol.dmn``      the DMN process model: online/offline schedule, the three accounts
- ``darkcontrol.batched``  torch-batched learners (many agents as one tensor program)
- ``darkcontrol.sweep``    parameter sweeps, chunked, resumable, distributed
- ``darkcontrol.neuro``    Trace -> regressors -> nilearn GLMs; fitting agents to behaviour
- ``darkcontrol.trace``    the Trace schema shared by all of them
- ``darkcontrol.regions``  the paper's map from agent quantities to DMN nodes
- ``darkcontrol.clock``    the experiment's clock: Clock, Block, Schedule

The one way to run any agent is :func:`darkcontrol.simulate` (imported on first use).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("darkcontrol")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

CITATION = (
    "Dohmatob, E., Dumas, G., & Bzdok, D. (2020). Dark control: The default mode network "
    "as a reinforcement learning agent. Human Brain Mapping, 41(12), 3318-3341. "
    "https://doi.org/10.1002/hbm.25019"
)

__all__ = ["CITATION", "__version__", "simulate"]


def __getattr__(name: str):
    # lazy: ``import darkcontrol`` stays light; the runner imports the agents and gymnasium
    # (by name: a static import would make every module that reads __version__ depend, for
    # the layers contract, on the runner at the top of the package)
    if name == "simulate":
        return importlib.import_module("darkcontrol.simulation").simulate
    raise AttributeError(f"module 'darkcontrol' has no attribute {name!r}")
