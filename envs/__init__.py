"""Gymnasium environments; every discrete one also exposes its exact model as ``env.unwrapped.mdp``.

Importing this package registers the ``darkcontrol/<Name>-v0`` ids with Gymnasium (see
``ENV_IDS`` and envs/README.md). Exact solvers live in :mod:`darkcontrol.envs.solvers`.
"""

from darkcontrol.envs._base import TabularEnv
from darkcontrol.envs.bandits import Bandit, RestlessBandit, ReversalBandit
from darkcontrol.envs.cue_maze import CueMaze
from darkcontrol.envs.graph import (
    CommunityGraph,
    GraphEnv,
    LatticeGraph,
    LinearTrack,
    RingGraph,
    TreeGraph,
    community_graph,
    lattice_graph,
    linear_track,
    ring_graph,
    tree_graph,
)
from darkcontrol.envs.gridworld import GridWorld
from darkcontrol.envs.hidden_context import HiddenContext
from darkcontrol.envs.mazes import (
    BlockingMaze,
    DynaMaze,
    FourRooms,
    OpenField,
    ShortcutMaze,
    TMaze,
)
from darkcontrol.envs.mdp import TabularMDP
from darkcontrol.envs.pomdp import HistoryObservation, PartialObservation, TabularPOMDP
from darkcontrol.envs.registration import ENV_IDS, register_all
from darkcontrol.envs.sentinel import Sentinel
from darkcontrol.envs.solvers import (
    SolverResult,
    bellman_residual,
    greedy_path,
    greedy_policy,
    policy_evaluation,
    policy_iteration,
    q_from_v,
    successor_representation,
    value_iteration,
)
from darkcontrol.envs.tabular import MDPEnv, random_mdp
from darkcontrol.envs.two_step import TwoStep

register_all()

__all__ = [
    "ENV_IDS",
    "Bandit",
    "BlockingMaze",
    "CommunityGraph",
    "CueMaze",
    "DynaMaze",
    "FourRooms",
    "GraphEnv",
    "GridWorld",
    "HiddenContext",
    "HistoryObservation",
    "LatticeGraph",
    "LinearTrack",
    "MDPEnv",
    "OpenField",
    "PartialObservation",
    "RestlessBandit",
    "ReversalBandit",
    "RingGraph",
    "Sentinel",
    "ShortcutMaze",
    "SolverResult",
    "TMaze",
    "TabularEnv",
    "TabularMDP",
    "TabularPOMDP",
    "TreeGraph",
    "TwoStep",
    "bellman_residual",
    "community_graph",
    "greedy_path",
    "greedy_policy",
    "lattice_graph",
    "linear_track",
    "policy_evaluation",
    "policy_iteration",
    "q_from_v",
    "random_mdp",
    "ring_graph",
    "successor_representation",
    "tree_graph",
    "value_iteration",
]
