"""Experience replay memories D (the paper's hippocampus): uniform and prioritised.

A memory stores real transitions e = (s, a, r, s', terminated) in a ring buffer of fixed
capacity and hands out minibatches for replay.

- :class:`ReplayMemory` samples uniformly with replacement (Lin 1992; Mnih et al. 2015, Nature).
- :class:`PrioritizedReplayMemory` is the proportional variant of prioritised experience replay
  (Schaul, Quan, Antonoglou & Silver 2016, ICLR, "Prioritized experience replay"):

      p_i = |delta_i| + eps,     P(i) = p_i^alpha / sum_k p_k^alpha,

  new transitions enter with the largest priority seen so far (so each is replayed at least once
  with high probability), a minibatch of k is drawn by stratified sampling (the total mass is cut
  into k equal segments and one value is drawn uniformly in each; Schaul et al., App. B.2.1),
  and the bias of non-uniform sampling is corrected by importance-sampling weights

      w_i = (N P(i))^-beta / max_j (N P(j))^-beta = (P(i) / P_min)^-beta,

  normalised by the largest weight over the whole memory (P_min: the smallest probability in
  it) so that they only scale updates down. beta is annealed linearly from beta0 to 1 over
  ``beta_steps`` minibatches.

Every sampled transition carries its ``id``: the number of transitions added before it
(0-based), i.e. the index of the real step that produced it, which links replayed minibatches to
the online rows of the Trace. All randomness comes from one ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from darkcontrol._util import check_positive, check_probability, make_rng


@dataclass(frozen=True)
class Batch:
    """A replayed minibatch; ``weights`` are the importance-sampling weights (1 if uniform)."""

    indices: np.ndarray  # slots in the memory (for priority updates)
    ids: np.ndarray  # run-wide index of each transition (the real step that produced it)
    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    terminated: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)


class SumTree:
    """A binary tree whose inner nodes hold the sum of their children's values.

    Leaves are the priorities of ``capacity`` slots; the tree is stored as an array of length
    ``2 L`` (``L`` = ``capacity`` rounded up to a power of two), node ``i`` having children
    ``2i`` and ``2i + 1`` and the root at index 1. ``update`` is O(log L) per leaf, ``find``
    (the leaf where a prefix sum falls) O(log L) per value, both vectorised with numpy.
    """

    def __init__(self, capacity: int) -> None:
        if int(capacity) < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self._n_leaves = 1 << max(0, (self.capacity - 1).bit_length())
        self._depth = self._n_leaves.bit_length() - 1
        self.tree = np.zeros(2 * self._n_leaves, dtype=np.float64)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    @property
    def leaves(self) -> np.ndarray:
        """The values of the ``capacity`` leaves (a view)."""
        return self.tree[self._n_leaves : self._n_leaves + self.capacity]

    def __getitem__(self, index) -> np.ndarray:
        return self.tree[self._n_leaves + np.asarray(index)]

    def update(self, indices, values) -> None:
        """Set leaves ``indices`` to ``values`` (>= 0) and recompute their ancestors.

        Parents are recomputed as the sum of their two children (not incremented by the
        change), so rounding errors do not accumulate."""
        indices = np.atleast_1d(np.asarray(indices, dtype=np.int64))
        values = np.broadcast_to(np.asarray(values, dtype=np.float64), indices.shape)
        if indices.size == 0:
            return
        if indices.min() < 0 or indices.max() >= self.capacity:
            raise IndexError(f"leaf indices must be in [0, {self.capacity}), got {indices}")
        if not np.isfinite(values).all() or (values < 0).any():
            raise ValueError(f"values must be finite and >= 0, got {values}")
        nodes = indices + self._n_leaves
        self.tree[nodes] = values  # a repeated index keeps one of its values
        for _ in range(self._depth):
            nodes = nodes // 2  # duplicates are harmless: they assign the same sum
            self.tree[nodes] = self.tree[2 * nodes] + self.tree[2 * nodes + 1]

    def find(self, values) -> np.ndarray:
        """Leaf index where each prefix-sum ``value`` in [0, total) falls.

        Returns ``i`` with ``sum(leaves[:i]) <= value < sum(leaves[:i + 1])``, the inverse of
        the cumulative distribution; values at or above ``total`` (rounding) give the last
        leaf with a positive value."""
        v = np.array(values, dtype=np.float64, ndmin=1)
        node = np.ones(v.shape, dtype=np.int64)
        for _ in range(self._depth):
            left = 2 * node
            left_sum = self.tree[left]
            go_right = v >= left_sum
            v = np.where(go_right, v - left_sum, v)
            node = np.where(go_right, left + 1, left)
        leaf = node - self._n_leaves
        # Rounding can carry a value just past the last positive leaf onto an empty one.
        empty = self.tree[node] <= 0.0
        if empty.any():
            positive = np.flatnonzero(self.leaves > 0)
            if positive.size == 0:
                raise ValueError("cannot search a sum tree whose leaves are all zero")
            pos = np.searchsorted(positive, leaf[empty], side="right") - 1
            leaf[empty] = positive[np.maximum(pos, 0)]
        return leaf


class TransitionStore:
    """A ring buffer of transitions (s, a, r, s', terminated): the storage shared by the
    agents' replay memories (:class:`ReplayMemory`, :class:`PrioritizedReplayMemory`) and the
    DMN's hippocampus (:class:`darkcontrol.dmn.memory.ExperienceMemory`); they differ in how
    they draw (minibatches with importance weights vs one memory at a time, chunked)."""

    def __init__(self, capacity: int, rng: int | np.random.Generator | None = None) -> None:
        if (
            isinstance(capacity, bool)
            or not isinstance(capacity, (int, np.integer))
            or capacity < 1
        ):
            raise ValueError(f"capacity must be an int >= 1, got {capacity!r}")
        self.capacity = int(capacity)
        self.rng = make_rng(rng)
        self.states = np.zeros(self.capacity, dtype=np.int64)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float64)
        self.next_states = np.zeros(self.capacity, dtype=np.int64)
        self.terminated = np.zeros(self.capacity, dtype=bool)
        self.ids = np.zeros(self.capacity, dtype=np.int64)
        self.n_added = 0  # transitions ever added (the id of the next one)

    def __len__(self) -> int:
        return min(self.n_added, self.capacity)

    def add(self, state: int, action: int, reward: float, next_state: int, terminated: bool) -> int:
        """Store a transition (overwriting the oldest when full); returns its slot."""
        slot = self.n_added % self.capacity
        self.states[slot] = state
        self.actions[slot] = action
        self.rewards[slot] = reward
        self.next_states[slot] = next_state
        self.terminated[slot] = bool(terminated)
        self.ids[slot] = self.n_added
        self.n_added += 1
        return slot

    def get(self, slot: int) -> tuple[int, int, float, int, bool]:
        """The transition in ``slot`` as Python scalars."""
        return (
            int(self.states[slot]),
            int(self.actions[slot]),
            float(self.rewards[slot]),
            int(self.next_states[slot]),
            bool(self.terminated[slot]),
        )


class ReplayMemory(TransitionStore):
    """A ring buffer of transitions with uniform sampling with replacement."""

    prioritized = False

    def _check_sample(self, batch_size: int) -> None:
        if len(self) == 0:
            raise ValueError("cannot sample from an empty replay memory")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")

    def sample(self, batch_size: int) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement; weights are all 1."""
        self._check_sample(batch_size)
        idx = self.rng.integers(0, len(self), size=int(batch_size))
        return self._batch(idx, np.ones(len(idx)))

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        """Uniform replay keeps no priorities: nothing to do."""

    def _batch(self, idx: np.ndarray, weights: np.ndarray) -> Batch:
        return Batch(
            indices=idx,
            ids=self.ids[idx],
            states=self.states[idx],
            actions=self.actions[idx],
            rewards=self.rewards[idx],
            next_states=self.next_states[idx],
            terminated=self.terminated[idx],
            weights=weights,
        )


class PrioritizedReplayMemory(ReplayMemory):
    """Proportional prioritised replay (Schaul et al. 2016, ICLR) on a :class:`SumTree`.

    ``alpha`` shapes the priorities (0 = uniform), ``beta0`` is the initial importance-sampling
    exponent, annealed linearly to 1 over ``beta_steps`` sampled minibatches, and ``eps`` keeps
    every priority positive."""

    prioritized = True

    def __init__(
        self,
        capacity: int,
        rng: int | np.random.Generator | None = None,
        *,
        alpha: float = 0.6,
        beta0: float = 0.4,
        beta_steps: int = 10_000,
        eps: float = 1e-6,
    ) -> None:
        super().__init__(capacity, rng)
        check_positive("alpha", alpha, strict=False)
        check_probability("beta0", beta0)
        check_positive("eps", eps)
        if int(beta_steps) < 1:
            raise ValueError(f"beta_steps must be >= 1, got {beta_steps}")
        self.alpha = float(alpha)
        self.beta0 = float(beta0)
        self.beta_steps = int(beta_steps)
        self.eps = float(eps)
        self.tree = SumTree(self.capacity)
        self.max_priority = 1.0  # the largest p_i seen; new transitions enter with it
        self.n_sampled = 0  # minibatches drawn so far (drives the annealing of beta)

    @property
    def beta(self) -> float:
        """beta_t = beta0 + (1 - beta0) min(1, t / beta_steps), t = minibatches drawn so far."""
        frac = min(1.0, self.n_sampled / self.beta_steps)
        return self.beta0 + (1.0 - self.beta0) * frac

    def add(self, state: int, action: int, reward: float, next_state: int, terminated: bool) -> int:
        slot = super().add(state, action, reward, next_state, terminated)
        self.tree.update(slot, self.max_priority**self.alpha)
        return slot

    def probabilities(self) -> np.ndarray:
        """P(i) for the stored transitions (slot order)."""
        leaves = self.tree.leaves[: len(self)]
        return leaves / leaves.sum()

    def sample(self, batch_size: int) -> Batch:
        """Stratified proportional sampling with normalised importance-sampling weights."""
        self._check_sample(batch_size)
        k = int(batch_size)
        total = self.tree.total
        edges = np.arange(k, dtype=np.float64) / k
        values = (edges + self.rng.random(k) / k) * total
        idx = self.tree.find(values)
        beta = self.beta
        leaves = self.tree.leaves[: len(self)]
        p_min = leaves[leaves > 0].min() / total
        weights = (self.tree[idx] / total / p_min) ** (-beta)
        self.n_sampled += 1
        return self._batch(idx, weights)

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        """p_i = |delta_i| + eps for the replayed slots."""
        p = np.abs(np.asarray(td_errors, dtype=np.float64)) + self.eps
        if not np.isfinite(p).all():
            raise ValueError(f"TD errors must be finite, got {td_errors}")
        self.tree.update(indices, p**self.alpha)
        self.max_priority = max(self.max_priority, float(p.max()))
