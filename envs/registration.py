"""Explicit registration of every environment with Gymnasium (versioned ids)."""

from __future__ import annotations

import gymnasium as gym

_E = "darkcontrol.envs"

# id -> (entry point, default kwargs, max_episode_steps). Versioned: behaviour never changes
# silently under an existing id; a change gets a new -vN.
_SPECS: dict[str, tuple[str, dict, int | None]] = {
    # grid worlds (no time limit: agents and runners truncate when they need)
    "darkcontrol/DynaMaze-v0": (f"{_E}.mazes:DynaMaze", {}, None),
    "darkcontrol/BlockingMaze-v0": (f"{_E}.mazes:BlockingMaze", {"change_at": 1000}, None),
    "darkcontrol/ShortcutMaze-v0": (f"{_E}.mazes:ShortcutMaze", {"change_at": 3000}, None),
    "darkcontrol/OpenField-v0": (f"{_E}.mazes:OpenField", {"n_rows": 10, "n_cols": 10}, None),
    "darkcontrol/TMaze-v0": (f"{_E}.mazes:TMaze", {}, None),
    "darkcontrol/FourRooms-v0": (f"{_E}.mazes:FourRooms", {}, None),
    # graphs
    "darkcontrol/CommunityGraph-v0": (f"{_E}.graph:CommunityGraph", {}, 100),
    "darkcontrol/RingGraph-v0": (f"{_E}.graph:RingGraph", {"n": 10}, None),
    "darkcontrol/LinearTrack-v0": (f"{_E}.graph:LinearTrack", {"n": 10}, None),
    "darkcontrol/LatticeGraph-v0": (f"{_E}.graph:LatticeGraph", {"r": 5, "c": 5}, None),
    "darkcontrol/TreeGraph-v0": (f"{_E}.graph:TreeGraph", {"branching": 2, "depth": 3}, None),
    # decision tasks (bandits end by their own truncation after n_trials)
    "darkcontrol/TwoStep-v0": (f"{_E}.two_step:TwoStep", {}, None),
    "darkcontrol/Bandit-v0": (f"{_E}.bandits:Bandit", {}, None),
    "darkcontrol/RestlessBandit-v0": (f"{_E}.bandits:RestlessBandit", {}, None),
    "darkcontrol/ReversalBandit-v0": (f"{_E}.bandits:ReversalBandit", {}, None),
    # routine with rare salient cues (truncated by the env after episode_length steps)
    "darkcontrol/Sentinel-v0": (f"{_E}.sentinel:Sentinel", {}, None),
    # revaluation vs contingency phases: value and policy changes decorrelated
    "darkcontrol/Dissociation-v0": (f"{_E}.dissociation:Dissociation", {}, None),
    # partially observed tasks (the entry point wraps the world in PartialObservation)
    "darkcontrol/CueMaze-v0": (f"{_E}.cue_maze:cue_maze_task", {}, 50),
    "darkcontrol/HiddenContext-v0": (f"{_E}.hidden_context:hidden_context_task", {}, 200),
}

ENV_IDS: list[str] = sorted(_SPECS)


def register_all() -> None:
    for env_id, (entry_point, kwargs, max_steps) in _SPECS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id, entry_point=entry_point, kwargs=kwargs, max_episode_steps=max_steps
            )
