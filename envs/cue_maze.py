"""A T-maze whose rewarded arm is signalled by a cue seen only at the start (a memory task)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from darkcontrol.envs import _render as rr
from darkcontrol.envs._base import TabularEnv
from darkcontrol.envs.pomdp import TabularPOMDP, observe_partially

FORWARD, LEFT, RIGHT = 0, 1, 2
OBS_LABELS = ("cue_left", "cue_right", "corridor", "junction", "end")
CUE_LEFT, CUE_RIGHT, CORRIDOR, JUNCTION, END = range(5)


class CueMaze(TabularEnv):
    """A cue at the start of a T-maze tells which arm is rewarded at the end.

    ## Description
    A corridor of ``corridor_length`` cells between a start cell and a junction, with a hidden
    cue ``c`` (0: left, 1: right, drawn uniformly at each reset). Action 0 (*forward*) moves
    one cell towards the junction; 1 (*left*) and 2 (*right*) bump into the corridor walls
    (stay). At the junction, *left* / *right* enter the left / right arm, which ends the
    episode, and *forward* bumps. The registered id ``darkcontrol/CueMaze-v0`` wraps this world
    in :class:`~darkcontrol.envs.pomdp.PartialObservation`: the agent sees the cue only in the
    start cell (correctly with probability ``cue_validity``), every corridor cell looks the
    same and the junction looks the same under both cues, so a memoryless agent is at chance
    at the junction and an agent must carry the cue in memory (the T-maze of Bakker 2002,
    after Olton 1979; the partially observable setting of Dohmatob et al. 2020, "Reinforcement
    learning control: a process model for DMN function", Figure 3). Unwrapped (this class),
    the world is fully observed, with its exact model as ``mdp``.

    Memoryless bound: any policy that maps the current observation to action probabilities
    (a memoryless one, stochastic or not) enters the left arm with the same probability q under
    both cues, because the junction looks the same under both and its choice there does not
    depend on when it arrived. Only the arrival time T >= corridor_length + 1 may depend on the
    cue (through the start cell), and it can at best bring a positive arm outcome forward or
    push a negative one back. With ``step_reward <= 0`` the expected discounted return is
    therefore at most ``gamma^(L+1) / 2 max_q [max(0, q g + (1-q) w) + max(0, (1-q) g + q w)]
    = gamma^(L+1) (max(0, g) + max(0, w)) / 2`` (g = ``goal_reward``, w = ``wrong_reward``,
    L = ``corridor_length``; the maximum of a convex function of q is at q in {0, 1}):
    :func:`memoryless_bound`. With a valid cue (``cue_validity = 1``) the optimum is
    ``gamma^(L+1) g``. With a noisy cue (validity v < 1) each step spent bumping in the start
    cell shows the cue again, so information can be bought with time: the exact optimum
    (:func:`darkcontrol.envs.pomdp_solvers.belief_value_iteration`) then exceeds
    ``gamma^(L+1) (v g + (1 - v) w)``, the value of acting on one look. QMDP, which values the
    next step as if the hidden state then became known, fails here: at the junction bumping
    looks worth ``gamma g`` > ``v g``, so it waits there for ever (return 0).

    ## Spaces
    Unwrapped: observation ``Discrete(2 corridor_length + 6)``, the hidden state
    ``c (corridor_length + 2) + position`` (position 0 start, 1..corridor_length corridor,
    ``corridor_length + 1`` junction), then the two arm ends (correct, wrong; terminal).
    Registered id: observation ``Discrete(5)``: 0 cue_left, 1 cue_right, 2 corridor,
    3 junction, 4 end (``mdp.O`` is the observation matrix). Action ``Discrete(3)``: 0 forward,
    1 left, 2 right.

    ## Reward
    ``goal_reward`` (1.0) on entering the arm the cue signals, ``wrong_reward`` (0.0) on
    entering the other arm, ``step_reward`` (0.0) on every other step.

    ## Episode end
    Terminated on entering an arm; the registered id truncates after 50 steps.

    ## Arguments
    ``corridor_length=3`` (int >= 1), ``cue_validity=1.0`` (in [0.5, 1]),
    ``goal_reward=1.0, wrong_reward=0.0, step_reward=0.0``, ``render_mode=None``. info carries
    ``cue`` (0 left, 1 right) and ``position``. The registered id also takes ``history=None``
    (an int k: the agent's state is the last k observations, with the k - 1 actions between
    them if ``include_actions=True``; :class:`~darkcontrol.envs.pomdp.HistoryObservation`).

    ## References
    Olton, D. S. (1979). Mazes, maps, and memory. American Psychologist 34:583-596.
    Bakker, B. (2002). Reinforcement learning with long short-term memory. NIPS 14:1475-1482.
    Dohmatob, E., Dumas, G. & Bzdok, D. (2020). Dark control: the default mode network as a
    reinforcement learning agent. Human Brain Mapping 41:3318-3341.

    ## Version history
    v0: initial version.
    """

    def __init__(
        self,
        *,
        corridor_length: int = 3,
        cue_validity: float = 1.0,
        goal_reward: float = 1.0,
        wrong_reward: float = 0.0,
        step_reward: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        L = corridor_length
        if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
            raise ValueError(f"corridor_length must be an int >= 1, got {L!r}")
        if isinstance(cue_validity, bool) or not 0.5 <= float(cue_validity) <= 1.0:
            raise ValueError(f"cue_validity must be in [0.5, 1], got {cue_validity!r}")
        for name, v in (
            ("goal_reward", goal_reward),
            ("wrong_reward", wrong_reward),
            ("step_reward", step_reward),
        ):
            if isinstance(v, bool) or not np.isfinite(float(v)):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        self.corridor_length = int(L)
        self.n_positions = int(L) + 2
        super().__init__(2 * self.n_positions + 2, 3, render_mode)
        self.cue_validity = float(cue_validity)
        self.goal_reward = float(goal_reward)
        self.wrong_reward = float(wrong_reward)
        self.step_reward = float(step_reward)
        self.correct_end = 2 * self.n_positions
        self.wrong_end = self.correct_end + 1
        self._terminal = np.zeros(self.n_states, dtype=bool)
        self._terminal[[self.correct_end, self.wrong_end]] = True

    def cue_position(self, state: int) -> tuple[int | None, int | None]:
        """(cue, position) of a non-terminal state; (None, None) for an arm end."""
        s = self._check_state(state)
        if self._terminal[s]:
            return None, None
        return divmod(s, self.n_positions)

    def _outcome(self, s: int, a: int) -> tuple[int, float]:
        """The deterministic next state and reward of action ``a`` in non-terminal ``s``."""
        c, pos = divmod(s, self.n_positions)
        junction = self.n_positions - 1
        if pos < junction:
            return (s + 1 if a == FORWARD else s), self.step_reward
        if a == FORWARD:
            return s, self.step_reward
        correct = (a == LEFT) == (c == 0)
        return (
            (self.correct_end, self.goal_reward) if correct else (self.wrong_end, self.wrong_reward)
        )

    def _build_mdp(self) -> TabularPOMDP:
        S, n = self.n_states, self.n_positions
        P = np.zeros((S, 3, S))
        R = np.zeros((S, 3))
        O = np.zeros((S, len(OBS_LABELS)))
        for s in range(S):
            if self._terminal[s]:
                P[s, :, s] = 1.0
                O[s, END] = 1.0
                continue
            for a in range(3):
                s2, r = self._outcome(s, a)
                P[s, a, s2] = 1.0
                R[s, a] = r
            c, pos = divmod(s, n)
            if pos == 0:
                O[s, CUE_LEFT + c] = self.cue_validity
                O[s, CUE_RIGHT - c] += 1.0 - self.cue_validity
            else:
                O[s, JUNCTION if pos == n - 1 else CORRIDOR] = 1.0
        start = np.zeros(S)
        start[[0, n]] = 0.5
        labels = tuple(f"cue{s // n}@{s % n}" for s in range(2 * n)) + ("correct_end", "wrong_end")
        coords = np.array(
            [(0.0 if s < n else 2.0, s % n) for s in range(2 * n)] + [(0.5, n), (1.5, n)]
        )
        return TabularPOMDP(
            P=P,
            R=R,
            terminal=self._terminal.copy(),
            start=start,
            labels=labels,
            coords=coords,
            O=O,
            obs_labels=OBS_LABELS,
        )

    def _reset_info(self) -> dict:
        return self._info()

    def _info(self) -> dict:
        c, pos = self.cue_position(self._state)
        return {"cue": c, "position": pos}

    def step(self, action):
        a = self._check_action(action)
        s = self._require_state()
        s2, reward = self._outcome(s, a)
        info = {"cue": s // self.n_positions, "position": self.cue_position(s2)[1]}
        self._state = s2
        return s2, float(reward), bool(self._terminal[s2]), False, info

    def _render_ansi(self) -> str:
        if self._state is None:
            return "(not reset)\n"
        s = self._state
        if self._terminal[s]:
            return "correct arm\n" if s == self.correct_end else "wrong arm\n"
        c, pos = divmod(s, self.n_positions)
        cells = ["S"] + ["."] * self.corridor_length + ["T"]
        cells[pos] = "@"
        return f"{''.join(cells)}  cue={'left' if c == 0 else 'right'}\n"

    def _render_rgb(self) -> np.ndarray:
        n, cell = self.n_positions, 24
        img = rr.canvas(3 * cell, n * cell, rr.DARK)
        rr.fill_rect(img, cell, 0, 2 * cell, n * cell, rr.WHITE)  # corridor
        rr.fill_rect(img, 0, (n - 1) * cell, 3 * cell, n * cell, rr.WHITE)  # the T's bar
        if self._state is None:
            return img
        s = self._state
        if self._terminal[s]:
            rr.fill_rect(img, 0, (n - 1) * cell, cell, n * cell, rr.GREEN)
            return img
        c, pos = divmod(s, n)
        arm_y = 0 if c == 0 else 2 * cell
        rr.fill_rect(img, arm_y, (n - 1) * cell, arm_y + cell, n * cell, rr.LIGHT_BLUE)
        rr.fill_disc(img, 1.5 * cell, (pos + 0.5) * cell, cell / 3, rr.RED)
        return img


def memoryless_bound(env: CueMaze, gamma: float) -> float:
    """An upper bound on the expected discounted return of any memoryless policy on the
    partially observed cue maze: ``gamma^(L+1) (max(0, g) + max(0, w)) / 2`` (derived in
    :class:`CueMaze`; valid for ``step_reward <= 0``)."""
    if not 0.0 <= float(gamma) <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    if env.step_reward > 0:
        raise ValueError(f"the bound needs step_reward <= 0, got {env.step_reward}")
    half = 0.5 * (max(0.0, env.goal_reward) + max(0.0, env.wrong_reward))
    return float(gamma) ** (env.corridor_length + 1) * half


def cue_maze_task(*, history: int | None = None, include_actions: bool = True, **kwargs) -> gym.Env:
    """The registered task: :class:`CueMaze` seen through its ``O``; with ``history=k`` the
    agent's state is the last k observations (and actions), see
    :func:`~darkcontrol.envs.pomdp.observe_partially`."""
    return observe_partially(CueMaze(**kwargs), history, include_actions)


cue_maze_task.env_class = CueMaze  # type: ignore[attr-defined]  (the registry reads its docstring)
