"""The paper's open maze: Sutton's Dyna maze whose goal pays a noisy reward."""

from __future__ import annotations

import math
from typing import Any

from darkcontrol.envs.mazes import DynaMaze


class OpenMaze(DynaMaze):
    """The open maze of Mattar & Daw (2018)'s replay simulations (their Figure 3).

    ## Description
    Sutton's 6x9 Dyna maze (:class:`darkcontrol.envs.mazes.DynaMaze`: start (2, 0), goal
    (0, 8)) whose goal pays a noisy reward, as in the reference code (rewMag = 1,
    rewSTD = 0.1, rewOnlyPositive).

    ## Spaces
    Observation ``Discrete(54)`` (``row * 9 + col``), action ``Discrete(4)`` (up, right, down,
    left).

    ## Reward
    r = max(0, 1 + reward_sd * z), z ~ N(0, 1) drawn from the environment's own generator
    (``reset(seed=...)`` makes a run reproducible) on reaching the goal; 0 otherwise. The
    exact model ``mdp`` holds the mean reward.

    ## Episode end
    Terminated at the goal. No time limit: runners truncate when they need.

    ## Arguments
    ``reward_sd=0.1`` (finite, >= 0); other :class:`DynaMaze` keywords are passed through.

    ## References
    Mattar, M. G. & Daw, N. D. (2018). Prioritized memory access explains planning and
    hippocampal replay. Nature Neuroscience 21, 1609-1617. Sutton, R. S. & Barto, A. G. (2018).
    Reinforcement Learning: An Introduction, 2nd ed., Example 8.1.

    ## Version history
    v0: initial version (the ``open_maze`` wrapper of ``darkcontrol.agents.mattar_daw``).
    """

    def __init__(self, reward_sd: float = 0.1, **kwargs: Any) -> None:
        if isinstance(reward_sd, bool) or not (
            isinstance(reward_sd, (int, float)) and math.isfinite(reward_sd) and reward_sd >= 0
        ):
            raise ValueError(f"reward_sd must be a finite number >= 0, got {reward_sd!r}")
        super().__init__(**kwargs)
        self.reward_sd = float(reward_sd)

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        s2, r, terminated, truncated, info = super().step(action)
        if r != 0.0 and self.reward_sd > 0.0:
            r = max(0.0, float(r) + self.reward_sd * float(self.np_random.standard_normal()))
        return s2, r, terminated, truncated, info
