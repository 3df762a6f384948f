"""A dark, predictable room without reward beside a lit, unpredictable region with reward."""

from __future__ import annotations

import numpy as np

from darkcontrol.envs import _render as rr
from darkcontrol.envs._base import TabularEnv
from darkcontrol.envs.mdp import TabularMDP

DARK_ROOM = 0
STAY, FORAGE = 0, 1


class DarkRoom(TabularEnv):
    """The dark-room problem of the free-energy principle: stay where nothing surprises, or go out.

    ## Description
    State 0 is the dark room; states ``1 .. n_lit`` are places of a lit region. Action 0
    (*stay*) keeps the agent in the dark room, or from a lit place takes it back into the dark
    room: always the same outcome. Action 1 (*forage*) takes the agent, from the dark room or a
    lit place, to a lit place drawn uniformly at random: the outcome cannot be predicted
    (P = 1 / n_lit each). The dark room is the only place where every outcome is predictable. A
    purely surprise-minimising agent should seek it and stay; a reward-seeking agent should
    leave it to forage (Friston, Thornton & Clark 2012; Dohmatob, Dumas & Bzdok 2020, "A note on
    the free-energy principle and active inference").

    ## Spaces
    Observation ``Discrete(1 + n_lit)`` (0 the dark room, ``1 + k`` lit place k). Action
    ``Discrete(2)``: 0 stay / go back into the dark, 1 forage.

    ## Reward
    ``food_reward`` (1.0) on arriving at lit place 1 (the food patch), 0 otherwise; so foraging
    earns ``food_reward / n_lit`` per step on average and the dark room nothing. The model
    carries it as ``R_sas`` (the reward of ``s -> s'``) and ``R`` (its expectation).
    ``food_reward=0`` is the same world with nothing to seek.

    ## Episode end
    Never terminated; truncated after ``episode_length`` steps (the env counts them).

    ## Arguments
    ``n_lit=4, food_reward=1.0, episode_length=1000, render_mode=None``. info carries
    ``dark`` (whether the returned state is the dark room).

    ## References
    Friston, K., Thornton, C. & Clark, A. (2012). Free-energy minimization and the dark-room
    problem. Frontiers in Psychology 3:130. Dohmatob, E., Dumas, G. & Bzdok, D. (2020). Dark
    control: the default mode network as a reinforcement learning agent. Human Brain Mapping
    41:3318-3341.

    ## Version history
    v0: initial version.
    """

    def __init__(
        self,
        *,
        n_lit: int = 4,
        food_reward: float = 1.0,
        episode_length: int = 1000,
        render_mode: str | None = None,
    ) -> None:
        for name, v, lo in (("n_lit", n_lit, 2), ("episode_length", episode_length, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
        if isinstance(food_reward, bool) or not np.isfinite(float(food_reward)):
            raise ValueError(f"food_reward must be a finite number, got {food_reward!r}")
        super().__init__(1 + int(n_lit), 2, render_mode)
        self.n_lit = int(n_lit)
        self.food_reward = float(food_reward)
        self.episode_length = int(episode_length)
        self._terminal = np.zeros(self.n_states, dtype=bool)
        self.t = 0

    @property
    def food_state(self) -> int:
        return 1

    def _reward_of(self, s2: int) -> float:
        return self.food_reward if s2 == self.food_state else 0.0

    def _build_mdp(self) -> TabularMDP:
        S, n = self.n_states, self.n_lit
        P = np.zeros((S, 2, S))
        P[:, STAY, DARK_ROOM] = 1.0
        P[:, FORAGE, 1:] = 1.0 / n
        R_sas = np.zeros((S, 2, S))
        R_sas[:, :, self.food_state] = self.food_reward
        R = (P * R_sas).sum(axis=2)
        start = np.zeros(S)
        start[DARK_ROOM] = 1.0
        labels = ("dark", *(f"lit{k}" for k in range(n)))
        angle = 2 * np.pi * np.arange(n) / n
        coords = np.vstack([[0.0, 0.0], np.stack([np.sin(angle), np.cos(angle)], axis=1) + 3.0])
        return TabularMDP(
            P=P,
            R=R,
            terminal=np.zeros(S, dtype=bool),
            start=start,
            R_sas=R_sas,
            labels=labels,
            coords=coords,
        )

    def _info(self) -> dict:
        return {"dark": self._state == DARK_ROOM}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        return self._state, self._info()

    def step(self, action):
        a = self._check_action(action)
        self._require_state()
        if a == STAY:
            s2 = DARK_ROOM
        else:
            s2 = 1 + int(self.np_random.integers(self.n_lit))
        self._state = s2
        self.t += 1
        return s2, self._reward_of(s2), False, self.t >= self.episode_length, self._info()

    def _render_ansi(self) -> str:
        if self._state is None:
            return "(not reset)\n"
        room = "[@]" if self._state == DARK_ROOM else "[ ]"
        lit = "".join(
            "@" if self._state == 1 + k else ("*" if 1 + k == self.food_state else ".")
            for k in range(self.n_lit)
        )
        return f"dark {room}  lit {lit}  t={self.t}\n"

    def _render_rgb(self) -> np.ndarray:
        coords = self.mdp.coords
        edges = [(DARK_ROOM, 1 + k) for k in range(self.n_lit)]
        colors = {DARK_ROOM: rr.BLACK, self.food_state: rr.GREEN}
        colors.update({1 + k: rr.ORANGE for k in range(self.n_lit) if 1 + k != self.food_state})
        return rr.points(coords, edges, self._state, colors=colors)
