"""A task in which value changes and policy changes are decorrelated (revaluation vs contingency).

Dohmatob, Dumas & Bzdok (2020), "Reinforcement learning control: a process model for DMN
function" ("Summary and hypotheses for future studies") predict a functional dissociation:
right-TPJ signals relate to changes of the policy driven by non-value prediction errors,
ventromedial-PFC signals to changes of stimulus-value associations, the posteromedial cortex to
both. In navigation tasks the two kinds of change go together (a new goal changes values and
routes at once), so the prediction cannot be tested there. :class:`Dissociation` separates them
by construction: its world alternates between *reward revaluations*, which change values but
never the greedy action, and *contingency swaps*, which change the greedy action through a
surprising transition but leave every optimal value as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from darkcontrol.envs import _render as rr
from darkcontrol.envs._base import TabularEnv
from darkcontrol.envs.mdp import TabularMDP

#: (r_X, r_Y, swapped) of the default phases, cycled: better outcome inflated, deflated,
#: contingency swapped, inflated, deflated, swapped back (4 revaluations, 2 swaps per cycle).
DEFAULT_PHASES: tuple[tuple[float, float, bool], ...] = (
    (1.0, 0.8, False),
    (2.0, 0.8, False),
    (1.0, 0.8, False),
    (1.0, 0.8, True),
    (2.0, 0.8, True),
    (1.0, 0.8, True),
)
GO, QUIT = 0, 1  # corridor actions; at an outcome state: 0 collect, 1 quit


class Dissociation(TabularEnv):
    """Revaluation and contingency phases: value changes without policy changes and back.

    ## Description
    A corridor of ``corridor`` states leads to a choice state C, from which the two actions
    lead to the outcome states X and Y; from an outcome state the episode ends. States:
    ``0 .. corridor-1`` the corridor (0 is the start), ``corridor`` C, ``corridor+1`` X,
    ``corridor+2`` Y, ``corridor+3`` the terminal state. In a corridor state action 0 ("go")
    moves on (the last one to C) and action 1 ("quit") ends the episode with reward 0. In C,
    action 0 leads to X and action 1 to Y, or the reverse while the phase is *swapped*. In an
    outcome state action 0 ("collect") ends the episode with the outcome's reward and action 1
    ("quit") ends it with 0. Every transition is deterministic.

    The world moves through ``phases``, each a triple ``(r_X, r_Y, swapped)``, one phase per
    ``phase_steps`` steps of the environment's lifetime (counted across episodes, like the
    changing mazes; ``reset`` does not restart the clock), cycling back to the first phase after
    the last. With rewards > 0 the optimal values are V*(X) = r_X, V*(Y) = r_Y,
    V*(C) = gamma max(r_X, r_Y) and V*(corridor i) = gamma^(corridor - i) V*(C) for every
    gamma in (0, 1). Hence a *revaluation* (a change of rewards that keeps their order) changes
    V* of X or Y, and of C and the corridor when the better outcome changes, while the greedy
    action stays the same everywhere; a *contingency swap* (``swapped`` flips, rewards equal)
    changes the greedy action in C and no value of V*. The default phases alternate both kinds
    of change (:data:`DEFAULT_PHASES`: inflate the better outcome 1 -> 2, deflate it back, swap,
    inflate, deflate, swap back), so that over a cycle the sizes of the value and the policy
    changes are anti-correlated across changes (-1 on the exact MDPs;
    ``scripts/dmn_node_hypotheses.py`` reports it with value iteration before and after each
    change).

    ## Spaces
    Observation ``Discrete(corridor + 4)``, action ``Discrete(2)``.

    ## Reward
    ``r_X`` (``r_Y``) of the current phase for "collect" in X (Y); 0 for every other step.

    ## Episode end
    Terminated after an outcome state or a "quit"; an episode lasts at most ``corridor + 2``
    steps, so there is no time limit.

    ## Arguments
    ``corridor=2`` (>= 0 states before C), ``phases=DEFAULT_PHASES`` (a non-empty sequence of
    ``(r_X, r_Y, swapped)`` with finite rewards), ``phase_steps=120`` (>= 1 steps per phase),
    ``render_mode=None``. Attributes ``total_steps``, ``phase`` (index into ``phases``);
    ``phase_mdp(k)`` is the exact model of phase ``k``; ``info`` carries ``phase``.

    ## References
    Dohmatob, E., Dumas, G. & Bzdok, D. (2020). Dark control: The default mode network as a
    reinforcement learning agent. Human Brain Mapping 41(12), 3318-3341 (section "Reinforcement
    learning control: a process model for DMN function"). Dickinson, A. & Balleine, B. (1994).
    Motivational control of goal-directed action. Animal Learning & Behavior 22, 1-18
    (revaluation). Glascher, J., Daw, N., Dayan, P. & O'Doherty, J. P. (2010). States versus
    rewards: dissociable neural prediction error signals underlying model-based and model-free
    reinforcement learning. Neuron 66, 585-595 (state- vs reward-prediction errors).

    ## Version history
    v0: initial version.
    """

    def __init__(
        self,
        corridor: int = 2,
        phases: Sequence[tuple[float, float, bool]] = DEFAULT_PHASES,
        phase_steps: int = 120,
        *,
        render_mode: str | None = None,
    ) -> None:
        if (
            isinstance(corridor, bool)
            or not isinstance(corridor, (int, np.integer))
            or corridor < 0
        ):
            raise ValueError(f"corridor must be an int >= 0, got {corridor!r}")
        if not _is_int(phase_steps) or phase_steps < 1:
            raise ValueError(f"phase_steps must be an int >= 1, got {phase_steps!r}")
        checked = []
        for k, ph in enumerate(tuple(phases)):
            if not (isinstance(ph, Sequence) and len(ph) == 3):
                raise ValueError(f"phase {k} must be (r_X, r_Y, swapped), got {ph!r}")
            r_x, r_y, swapped = ph
            if not (np.isfinite(r_x) and np.isfinite(r_y)) or not isinstance(
                swapped, (bool, np.bool_)
            ):
                raise ValueError(
                    f"phase {k} must be (finite r_X, finite r_Y, bool swapped), got {ph!r}"
                )
            checked.append((float(r_x), float(r_y), bool(swapped)))
        if not checked:
            raise ValueError("phases must hold at least one (r_X, r_Y, swapped)")
        self.corridor = int(corridor)
        self.phases = tuple(checked)
        self.phase_steps = int(phase_steps)
        self.choice, self.x, self.y = self.corridor, self.corridor + 1, self.corridor + 2
        self.end = self.corridor + 3
        super().__init__(self.corridor + 4, 2, render_mode)
        self._terminal = np.zeros(self.n_states, dtype=bool)
        self._terminal[self.end] = True
        self.total_steps = 0
        self._last: tuple[int, int] | None = None

    # -- the phase clock --------------------------------------------------------------------
    @property
    def phase(self) -> int:
        """Index into ``phases`` of the current phase."""
        return (self.total_steps // self.phase_steps) % len(self.phases)

    def next_state(self, s: int, a: int, phase: int | None = None) -> int:
        """The (deterministic) successor of ``(s, a)`` in phase ``phase`` (default: now)."""
        _, _, swapped = self.phases[self.phase if phase is None else phase]
        if s == self.end or s in (self.x, self.y) or (a == QUIT and s < self.choice):
            return self.end
        if s == self.choice:
            return self.x if (a == GO) != swapped else self.y
        return s + 1

    def reward(self, s: int, a: int, phase: int | None = None) -> float:
        r_x, r_y, _ = self.phases[self.phase if phase is None else phase]
        if a == GO and s == self.x:
            return r_x
        if a == GO and s == self.y:
            return r_y
        return 0.0

    def phase_mdp(self, phase: int) -> TabularMDP:
        """The exact model of phase ``phase`` (an index into ``phases``)."""
        if not 0 <= int(phase) < len(self.phases):
            raise ValueError(f"phase must be in [0, {len(self.phases)}), got {phase}")
        S, A = self.n_states, self.n_actions
        P, R = np.zeros((S, A, S)), np.zeros((S, A))
        for s in range(S):
            for a in range(A):
                P[s, a, self.next_state(s, a, phase)] = 1.0
                R[s, a] = 0.0 if s == self.end else self.reward(s, a, phase)
        start = np.zeros(S)
        start[0] = 1.0
        labels = (
            *(f"corridor{i}" for i in range(self.corridor)),
            "C",
            "X",
            "Y",
            "end",
        )
        return TabularMDP(P=P, R=R, terminal=self._terminal.copy(), start=start, labels=labels)

    def _build_mdp(self) -> TabularMDP:
        return self.phase_mdp(self.phase)

    # -- episodes -----------------------------------------------------------------------------
    def step(self, action):
        a = self._check_action(action)
        s = self._require_state()
        phase = self.phase
        s2, r = self.next_state(s, a, phase), self.reward(s, a, phase)
        self._state, self._last = s2, (s, a)
        self.total_steps += 1
        if self.phase != phase:
            self._invalidate_mdp()
        return s2, r, s2 == self.end, False, {"phase": phase}

    def _reset_info(self) -> dict:
        return {"phase": self.phase}

    # -- rendering ----------------------------------------------------------------------------
    def _render_ansi(self) -> str:
        r_x, r_y, swapped = self.phases[self.phase]
        where = "(not reset)" if self._state is None else self.mdp.labels[self._state]
        return (
            f"state {where}; phase {self.phase} (r_X={r_x:g}, r_Y={r_y:g}, "
            f"{'swapped' if swapped else 'normal'}); step {self.total_steps}\n"
        )

    def _render_rgb(self) -> np.ndarray:
        onehot = np.zeros(self.n_states)
        if self._state is not None:
            onehot[self._state] = 1.0
        return rr.bars(onehot, highlight=self._state, bar=10)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)
