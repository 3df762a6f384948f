"""The hippocampus: a memory of real transitions, replayed offline.

Dohmatob, Dumas & Bzdok (2020, Hum Brain Mapp 41(12):3318-3341), §3.3 and Figure 4: the
hippocampus stores experiences e = (s, a, r, s') in a memory D and replays them, and the agent
minimises E_{e ~ D}[(Q(s, a | theta) - y)^2 / 2] on replayed batches (experience replay,
Lin 1992; Mnih et al. 2015, Nature). Replay is drawn

- uniformly from D (Lin 1992; Mnih et al. 2015), or
- prioritised, P(i) = p_i^kappa / sum_j p_j^kappa with p_i = |delta_i| + epsilon, the last
  absolute TD error of memory i; a new memory enters with the current maximum priority
  (Schaul, Quan, Antonoglou & Silver 2016, ICLR; cf. Mattar & Daw 2018, Nat Neurosci).

Prioritised draws are made in chunks of ``chunk`` indices from the priorities of the moment
(the same staleness as a minibatch of Schaul et al.), so each replay step costs O(1) Python work
and each chunk one O(|D|) vectorised draw.

Reconsolidation (Nader, Schafe & LeDoux 2000, Nature): a confident prediction that is violated
by real experience (the world changed: a wall appeared, the goal moved) rewrites the memories
concerned with the new outcome (:meth:`ExperienceMemory.reconsolidate` for one (s, a),
:meth:`ExperienceMemory.rewrite_arrivals` for a place whose outcome changed), so that replay
does not keep rehearsing a world that no longer exists.
"""

from __future__ import annotations

import numpy as np

from darkcontrol.agents.replay_memory import TransitionStore


class ExperienceMemory(TransitionStore):
    """The hippocampus' memory D of real transitions (s, a, r, s', terminated), replayed offline
    (Dohmatob et al. 2020, §3.3 and Figure 4: (s, a, r, s') ~ D): a bounded ring buffer (the
    agents' :class:`~darkcontrol.agents.replay_memory.TransitionStore`) drawn one memory at a
    time, uniformly or by priority |delta| + eps (Schaul et al. 2016), rewritten on
    reconsolidation."""

    def __init__(
        self,
        capacity: int,
        *,
        prioritised: bool = False,
        exponent: float = 1.0,
        eps: float = 1e-3,
        chunk: int = 64,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if (
            isinstance(capacity, bool)
            or not isinstance(capacity, (int, np.integer))
            or capacity < 1
        ):
            raise ValueError(f"memory capacity must be >= 1, got {capacity}")
        if exponent < 0:
            raise ValueError(f"priority exponent must be >= 0, got {exponent}")
        if eps <= 0:
            raise ValueError(f"priority eps must be > 0, got {eps}")
        super().__init__(capacity, seed)
        self.prioritised = bool(prioritised)
        self.exponent = float(exponent)
        self.eps = float(eps)
        self.chunk = int(chunk)
        self.priority = np.zeros(self.capacity, dtype=np.float64)
        self._max_priority = 1.0
        self._draws: np.ndarray | list = []
        self._pos = 0

    def add(self, s: int, a: int, r: float, s2: int, terminated: bool) -> int:
        """Store a real transition (with the current maximum priority); returns its slot."""
        i = super().add(s, a, r, s2, terminated)
        self.priority[i] = self._max_priority
        self._draws, self._pos = [], 0  # the new memory must be drawable at once
        return i

    def sample(self) -> int:
        """Slot of one memory to replay (uniform or prioritised)."""
        if len(self) == 0:
            raise ValueError("the memory is empty: nothing to replay")
        if self._pos >= len(self._draws):
            self._refill()
        i = self._draws[self._pos]
        self._pos += 1
        return int(i)

    def _refill(self) -> None:
        n = len(self)
        if self.prioritised:
            p = self.priority[:n] ** self.exponent
            cdf = np.cumsum(p)
            u = self.rng.random(self.chunk) * cdf[-1]
            self._draws = np.minimum(np.searchsorted(cdf, u, side="right"), n - 1).tolist()
        else:
            self._draws = self.rng.integers(0, n, size=self.chunk).tolist()
        self._pos = 0

    def set_priority(self, i: int, abs_td_error: float) -> None:
        """p_i = |delta_i| + eps after replaying memory ``i``."""
        p = abs(abs_td_error) + self.eps
        self.priority[i] = p
        if p > self._max_priority:
            self._max_priority = p

    def rewrite_arrivals(self, s2: int, r: float, terminated: bool) -> int:
        """Rewrite the reward and terminal flag of every memory arriving in ``s2``."""
        n = len(self)
        idx = np.flatnonzero(self.next_states[:n] == s2)
        self.rewards[idx], self.terminated[idx] = r, terminated
        self.priority[idx] = self._max_priority
        self._draws, self._pos = [], 0
        return len(idx)

    def reconsolidate(self, s: int, a: int, r: float, s2: int, terminated: bool) -> int:
        """Rewrite every memory of (s, a) with a new outcome; returns how many were rewritten."""
        n = len(self)
        idx = np.flatnonzero((self.states[:n] == s) & (self.actions[:n] == a))
        self.rewards[idx], self.next_states[idx], self.terminated[idx] = r, s2, terminated
        self.priority[idx] = self._max_priority
        self._draws, self._pos = [], 0
        return len(idx)
