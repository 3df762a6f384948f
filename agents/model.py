"""A learned tabular world model: what the agent believes P(s' | s, a) and R(s, a) to be.

Two kinds of memory for the outcomes of each (s, a) (``mode``):

- ``"counts"``: maximum-likelihood estimates from all outcomes seen (the stochastic extension of
  Sutton & Barto 2018, §8.4, and of Moore & Atkeson 1993):

      P_hat(s' | s, a) = N(s, a, s') / N(s, a),   R_hat(s, a, s') = mean reward of (s, a, s')

- ``"last"``: only the last outcome (r, s') of each (s, a) is kept, P_hat(s' | s, a) = 1 for
  it. This is exactly the model of tabular Dyna-Q (Sutton & Barto 2018, §8.2, "assuming a
  deterministic environment"); it tracks a world that changes (a wall appears) at once, where
  counts would keep averaging over the old world.

In a deterministic world that never changes both modes give the same model. The
state-prediction error of a transition (the paper's left-TPJ "world semantics" signal, and the
predictive-coding account's error) is its surprise under the model *before* the update:

    spe = 1 - P_hat(s' | s, a)      (1 for a never-tried (s, a))

Besides the dense arrays (``counts``, ``reward_sum``, ``total``), the model keeps sparse
successor and predecessor indices so that sampling, expected backups and predecessor look-ups
cost O(outcomes), not O(states).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from darkcontrol.constants import MODEL_MODES


class WorldModel:
    """Transition counts, reward sums and terminal flags per (s, a, s')."""

    def __init__(self, n_states: int, n_actions: int, mode: str = "counts") -> None:
        if mode not in MODEL_MODES:
            raise ValueError(f"model mode must be one of {MODEL_MODES}, got {mode!r}")
        self.mode = mode
        self.n_states, self.n_actions = int(n_states), int(n_actions)
        S, A = self.n_states, self.n_actions
        self.counts = np.zeros((S, A, S), dtype=np.float64)
        self.reward_sum = np.zeros((S, A, S))
        self.total = np.zeros((S, A))  # sum_s' counts: = visits ("counts"), 1 ("last")
        self.terminal = np.zeros(S, dtype=bool)  # s' seen to end an episode
        self.visits = np.zeros((S, A), dtype=np.int64)  # times (s, a) was tried
        self.last_visit = np.zeros((S, A), dtype=np.int64)  # Dyna-Q+ tau (0 = never tried)
        self.time = 0  # real steps seen
        # sparse indices: successors[s * A + a] = {s': count}, predecessors[s'] = {(s, a): None}
        # (dicts keep insertion order, so iteration, and hence sampling, is reproducible),
        # and Python mirrors of the hot quantities (numpy scalar access costs ~10x more)
        self._succ: list[dict[int, float]] = [{} for _ in range(S * A)]
        self._rsum: list[dict[int, float]] = [{} for _ in range(S * A)]  # reward sums per s'
        self._pred: list[dict[tuple[int, int], None]] = [{} for _ in range(S)]
        self._tot = [0.0] * (S * A)  # = total, flat
        self._rtot = [0.0] * (S * A)  # sum over s' of reward sums, flat
        self._term = [False] * S  # = terminal

    def spe(self, s: int, a: int, s2: int) -> float:
        """1 - P_hat(s2 | s, a) under the current model."""
        k = s * self.n_actions + a
        n = self._tot[k]
        return 1.0 if n == 0 else 1.0 - self._succ[k].get(s2, 0.0) / n

    def update(
        self, s: int, a: int, r: float, s2: int, terminated: bool, *, mode: str | None = None
    ) -> float:
        """Add a real transition; returns its ``spe`` before the update.

        ``mode`` overrides the model's own mode for this update (e.g. "last" to rewrite what
        (s, a) leads to after a violated sure prediction); None uses ``self.mode``."""
        if mode is not None and mode not in MODEL_MODES:
            raise ValueError(f"model mode must be one of {MODEL_MODES}, got {mode!r}")
        err = self.spe(s, a, s2)
        k = s * self.n_actions + a
        succ, rsum = self._succ[k], self._rsum[k]
        if (self.mode if mode is None else mode) == "last" and succ:
            for old in succ:
                self.counts[s, a, old] = 0.0
                self.reward_sum[s, a, old] = 0.0
                del self._pred[old][(s, a)]
            succ.clear()
            rsum.clear()
            self.total[s, a] = self._tot[k] = self._rtot[k] = 0.0
        r = float(r)
        self.counts[s, a, s2] += 1.0
        self.reward_sum[s, a, s2] += r
        self.total[s, a] += 1.0
        succ[s2] = succ.get(s2, 0.0) + 1.0
        rsum[s2] = rsum.get(s2, 0.0) + r
        self._tot[k] += 1.0
        self._rtot[k] += r
        self._pred[s2][(s, a)] = None
        self.visits[s, a] += 1
        self.time += 1
        self.last_visit[s, a] = self.time
        if terminated:
            self.terminal[s2] = True
            self._term[s2] = True
        return err

    def prob(self, s: int, a: int) -> np.ndarray:
        """P_hat(. | s, a), zeros for a never-tried pair."""
        n = self.total[s, a]
        return self.counts[s, a] / n if n else np.zeros(self.n_states)

    def expected_reward(self, s: int, a: int) -> float:
        k = s * self.n_actions + a
        n = self._tot[k]
        return self._rtot[k] / n if n else 0.0

    def reward(self, s: int, a: int, s2: int) -> float:
        k = s * self.n_actions + a
        c = self._succ[k].get(s2, 0.0)
        return self._rsum[k][s2] / c if c else 0.0

    def successors(self, s: int, a: int) -> dict[int, float]:
        """{s': count} of the outcomes the model holds for (s, a) (read-only view)."""
        return self._succ[s * self.n_actions + a]

    def sample(self, s: int, a: int, rng: np.random.Generator) -> tuple[float, int, bool]:
        """Draw (r, s', terminated) from the model; the pair must have been tried.

        A pair with a single known outcome returns it without drawing from ``rng``."""
        succ = self._succ[s * self.n_actions + a]
        if not succ:
            raise ValueError(f"(s={s}, a={a}) was never tried; the model cannot simulate it")
        if len(succ) == 1:
            s2 = next(iter(succ))
        else:
            u = rng.random() * self._tot[s * self.n_actions + a]
            for s2, c in succ.items():  # noqa: B007  (s2 is used after the loop)
                u -= c
                if u < 0.0:
                    break
        return self.reward(s, a, s2), s2, self._term[s2]

    def backup(self, s: int, a: int, value: Callable[[int], float], gamma: float) -> float:
        """Expected one-step target R_hat(s, a) + gamma sum_s' P_hat(s'|s, a) v(s').

        ``value(s')`` is the value of a successor; a successor seen to end an episode has
        value 0. The pair must have been tried."""
        k = s * self.n_actions + a
        n = self._tot[k]
        if n == 0:
            raise ValueError(f"(s={s}, a={a}) was never tried; no expected backup is possible")
        term = self._term
        y = 0.0
        for s2, c in self._succ[k].items():
            if not term[s2]:
                y += c * value(s2)
        return (self._rtot[k] + gamma * y) / n

    def seen_pairs(self) -> np.ndarray:
        """(K, 2) array of the (s, a) pairs tried at least once."""
        return np.argwhere(self.visits > 0)

    def predecessor_pairs(self, s2: int) -> list[tuple[int, int]]:
        """The (s, a) pairs the model predicts to lead to ``s2`` (first-seen order)."""
        return list(self._pred[s2])

    def predecessors(self, s2: int) -> np.ndarray:
        """(K, 2) array of the (s, a) pairs the model predicts to lead to ``s2``."""
        return np.argwhere(self.counts[:, :, s2] > 0)

    def P_hat(self) -> np.ndarray:
        """The whole estimated transition tensor (S, A, S); untried pairs are all-zero rows."""
        n = self.total[:, :, None]
        return np.divide(self.counts, n, out=np.zeros_like(self.counts), where=n > 0)

    def R_hat(self) -> np.ndarray:
        """Estimated expected rewards R_hat(s, a) (S, A); 0 for untried pairs."""
        return np.divide(
            self.reward_sum.sum(axis=2),
            self.total,
            out=np.zeros_like(self.total),
            where=self.total > 0,
        )
