"""Explicit registration of every environment with Gymnasium (versioned ids).

Every id has a spec with ``max_episode_steps`` where an episode can run forever (a learner may
wander a maze or graph without reaching a goal): Gymnasium's ``TimeLimit`` then ends it with
``truncated=True``. The limits are generous (far above an optimal path and the first episodes
of a tabular learner), so they only stop runaway episodes. The two-step task ends after two
steps; the bandits and the sentinel task truncate themselves after their own length.

Each environment class's ``metadata`` carries ``"reference"``: the literature of its
docstring's References section (one source of truth for both).

Version history of the specs: v0 ids got their time limits before the first release.
"""

from __future__ import annotations

import importlib
import inspect

import gymnasium as gym

_E = "darkcontrol.envs"
MAZE_STEPS = 10_000  #: time limit of the grid worlds (Dyna maze optimum: 14 steps)
GRAPH_STEPS = 1_000  #: time limit of the graph worlds with goals or no end

# id -> (entry point, default kwargs, max_episode_steps or None if every episode ends by
# itself). Versioned: behaviour never changes silently under an existing id; a change gets -vN.
_SPECS: dict[str, tuple[str, dict, int | None]] = {
    # grid worlds
    "darkcontrol/DynaMaze-v0": (f"{_E}.mazes:DynaMaze", {}, MAZE_STEPS),
    "darkcontrol/BlockingMaze-v0": (f"{_E}.mazes:BlockingMaze", {"change_at": 1000}, MAZE_STEPS),
    "darkcontrol/ShortcutMaze-v0": (f"{_E}.mazes:ShortcutMaze", {"change_at": 3000}, MAZE_STEPS),
    "darkcontrol/OpenField-v0": (
        f"{_E}.mazes:OpenField",
        {"n_rows": 10, "n_cols": 10},
        MAZE_STEPS,
    ),
    "darkcontrol/TMaze-v0": (f"{_E}.mazes:TMaze", {}, MAZE_STEPS),
    "darkcontrol/FourRooms-v0": (f"{_E}.mazes:FourRooms", {}, MAZE_STEPS),
    "darkcontrol/OpenMaze-v0": (f"{_E}.open_maze:OpenMaze", {"reward_sd": 0.1}, MAZE_STEPS),
    # graphs
    "darkcontrol/CommunityGraph-v0": (f"{_E}.graph:CommunityGraph", {}, 100),
    "darkcontrol/RingGraph-v0": (f"{_E}.graph:RingGraph", {"n": 10}, GRAPH_STEPS),
    "darkcontrol/LinearTrack-v0": (f"{_E}.graph:LinearTrack", {"n": 10}, GRAPH_STEPS),
    "darkcontrol/LatticeGraph-v0": (f"{_E}.graph:LatticeGraph", {"r": 5, "c": 5}, GRAPH_STEPS),
    "darkcontrol/TreeGraph-v0": (
        f"{_E}.graph:TreeGraph",
        {"branching": 2, "depth": 3},
        GRAPH_STEPS,
    ),
    # decision tasks (two steps; bandits end by their own truncation after n_trials)
    "darkcontrol/TwoStep-v0": (f"{_E}.two_step:TwoStep", {}, None),
    "darkcontrol/Bandit-v0": (f"{_E}.bandits:Bandit", {}, None),
    "darkcontrol/RestlessBandit-v0": (f"{_E}.bandits:RestlessBandit", {}, None),
    "darkcontrol/ReversalBandit-v0": (f"{_E}.bandits:ReversalBandit", {}, None),
    # routine with rare salient cues (truncated by the env after episode_length steps)
    "darkcontrol/Sentinel-v0": (f"{_E}.sentinel:Sentinel", {}, None),
    # a dark, predictable room beside a lit, stochastic region with reward (truncated by the env)
    "darkcontrol/DarkRoom-v0": (f"{_E}.dark_room:DarkRoom", {}, None),
    # revaluation vs contingency phases: value and policy changes decorrelated
    "darkcontrol/Dissociation-v0": (f"{_E}.dissociation:Dissociation", {}, None),
    # partially observed tasks (the entry point wraps the world in PartialObservation)
    "darkcontrol/CueMaze-v0": (f"{_E}.cue_maze:cue_maze_task", {}, 50),
    "darkcontrol/HiddenContext-v0": (f"{_E}.hidden_context:hidden_context_task", {}, 200),
}

ENV_IDS: list[str] = sorted(_SPECS)


def docstring_reference(cls: type) -> str:
    """The References section of a class docstring, as one line ("" if it has none)."""
    doc = inspect.getdoc(cls) or ""
    lines, inside = [], False
    for line in doc.splitlines():
        if line.strip().startswith("## "):
            if inside:
                break
            inside = line.strip() == "## References"
            continue
        if inside and line.strip():
            lines.append(line.strip())
    return " ".join(lines)


def _entry_class(entry_point: str) -> type:
    """The environment class behind an entry point; a factory (a task that wraps its world)
    names its class in ``env_class``."""
    module, name = entry_point.split(":")
    entry = getattr(importlib.import_module(module), name)
    return getattr(entry, "env_class", entry)


def register_all() -> None:
    for env_id, (entry_point, kwargs, max_steps) in _SPECS.items():
        cls = _entry_class(entry_point)
        if "reference" not in cls.__dict__.get("metadata", {}):
            cls.metadata = {**cls.metadata, "reference": docstring_reference(cls)}
        if env_id not in gym.registry:
            gym.register(
                id=env_id, entry_point=entry_point, kwargs=kwargs, max_episode_steps=max_steps
            )
