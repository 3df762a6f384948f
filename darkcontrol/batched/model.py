"""Batched learned world models and experience memories (one per agent, as flat tensors).

The batch of :class:`darkcontrol.agents.model.WorldModel`, in its two modes:

- ``"last"`` (:class:`LastOutcomeModel`): the last (r, s') of each (s, a), Dyna-Q's model for
  deterministic worlds (Sutton & Barto 2018, §8.2). Per agent: next state (int32), reward,
  tried flag per (s, a) -> about S*A*(9 + itemsize) bytes.
- ``"counts"`` (:class:`CountsModel`): maximum-likelihood P_hat(s'|s, a) = N(s, a, s') / N(s, a)
  and mean rewards per (s, a, s') for stochastic worlds (Moore & Atkeson 1993). Per agent two
  (S, A, S) tables: 2 * S*A*S*itemsize bytes (10x10 grid, float32: 320 kB per agent, so 4096
  agents need 1.3 GB): the sweep's chunking keeps a chunk within the memory budget.

Both keep the list of tried pairs in first-tried order (what Dyna-Q's random search control
draws from, ``pairs[floor(u k)]`` as the reference does) and the states seen to end an episode.
``spe = 1 - P_hat(s'|s, a)`` before the update (1 for an untried pair). Sampling an outcome of
the counts model draws s' by inverse CDF over s' in index order (the reference walks the
outcomes in first-seen order: the same distribution, another map from the uniform).

Every table has one extra *sink* entry at the end: writes of masked-off agents go there, so
that a masked update is one ``scatter_`` without a read-modify-write.
"""

from __future__ import annotations

import torch

from darkcontrol.batched.policy import draw
from darkcontrol.constants import MODEL_MODES


class _PairMemory:
    """Tried (s, a) pairs in first-tried order and states seen terminal, per agent."""

    def __init__(self, B: int, S: int, A: int, device, dtype) -> None:
        self.B, self.S, self.A = B, S, A
        self.SA = S * A
        self.dtype = dtype
        ar = torch.arange(B, device=device)
        self.off_SA, self.off_S = ar * self.SA, ar * S
        self.sink_SA, self.sink_S = B * self.SA, B * S
        self.tried = torch.zeros(B * self.SA + 1, dtype=torch.bool, device=device)
        self.terminal = torch.zeros(B * S + 1, dtype=torch.bool, device=device)
        self.pairs = torch.zeros(B * self.SA + 1, dtype=torch.int64, device=device)
        self.n_pairs = torch.zeros(B, dtype=torch.int64, device=device)

    def remember(self, idx, sa, s2, term, mask) -> torch.Tensor:
        """Record pair ``idx`` (flat, with agent offset) as tried; returns whether it was."""
        was = self.tried.index_select(0, idx)
        new = mask & ~was
        self.pairs.scatter_(0, torch.where(new, self.off_SA + self.n_pairs, self.sink_SA), sa)
        self.n_pairs += new
        self.tried.scatter_(0, torch.where(mask, idx, self.sink_SA), True)
        self.terminal.scatter_(0, torch.where(mask & term, self.off_S + s2, self.sink_S), True)
        return was

    def sample_pair(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A tried pair per agent, uniformly (``pairs[floor(u k)]``); (sa, has_any)."""
        k = self.n_pairs
        pos = (u * k.to(u.dtype)).long()
        pos = torch.minimum(pos, (k - 1).clamp(min=0))
        return self.pairs.index_select(0, self.off_SA + pos), k > 0

    def is_terminal_at(self, idx: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
        """Whether s2 was seen to end an episode, for the agent owning flat pair ``idx``."""
        return self.terminal.index_select(0, (idx // self.SA) * self.S + s2)


class LastOutcomeModel(_PairMemory):
    """``mode="last"``: next state and reward of the last outcome of each (s, a)."""

    mode = "last"

    def __init__(self, B, S, A, device, dtype) -> None:
        super().__init__(B, S, A, device, dtype)
        self.next = torch.zeros(B * self.SA + 1, dtype=torch.int32, device=device)
        self.reward = torch.zeros(B * self.SA + 1, dtype=dtype, device=device)

    @staticmethod
    def bytes_per_agent(S: int, A: int, itemsize: int) -> int:
        return S * A * (1 + 8 + 4 + itemsize) + S + 32  # + shares of the sink entries

    def update(self, idx, sa, r, s2, term, mask) -> torch.Tensor:
        """Store outcome (r, s') of pair ``idx``; returns spe before the update."""
        prev = self.next.index_select(0, idx).long()
        was = self.remember(idx, sa, s2, term, mask)
        spe = torch.where(was & (prev == s2), 0.0, 1.0).to(self.dtype)
        w = torch.where(mask, idx, self.sink_SA)
        self.next.scatter_(0, w, s2.to(torch.int32))
        self.reward.scatter_(0, w, r)
        return spe

    def outcome(self, idx, u):
        """(r, s', terminal) the model predicts for pairs ``idx`` (u unused: one outcome)."""
        s2 = self.next.index_select(0, idx).long()
        return self.reward.index_select(0, idx), s2, self.is_terminal_at(idx, s2)

    def expected_target(self, idx, values: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        """R_hat(s, a) + gamma sum_s' P_hat(s'|s, a) V(s') (V = 0 at a terminal s') for flat
        pairs ``idx`` (any agents); ``values`` (B, S) every agent's V, ``gamma`` like ``idx``.
        Computed as the reference's ``WorldModel.backup``."""
        r, s2, term = self.outcome(idx, None)
        v = values.reshape(-1).index_select(0, (idx // self.SA) * self.S + s2)
        return r + torch.where(term, 0.0, gamma * v)


class CountsModel(_PairMemory):
    """``mode="counts"``: counts N(s, a, s') and reward sums per agent."""

    mode = "counts"

    def __init__(self, B, S, A, device, dtype) -> None:
        super().__init__(B, S, A, device, dtype)
        self.counts = torch.zeros(B * self.SA + 1, S, dtype=dtype, device=device)
        self.reward_sum = torch.zeros(B * self.SA + 1, S, dtype=dtype, device=device)
        self.total = torch.zeros(B * self.SA + 1, dtype=dtype, device=device)

    @staticmethod
    def bytes_per_agent(S: int, A: int, itemsize: int) -> int:
        return S * A * (2 * S * itemsize + itemsize + 1 + 8) + S + 32 + 2 * S * itemsize

    def update(self, idx, sa, r, s2, term, mask) -> torch.Tensor:
        S = self.S
        flat = idx * S + s2
        c = self.counts.view(-1).index_select(0, flat)
        n = self.total.index_select(0, idx)
        spe = torch.where(n > 0, 1.0 - c / n.clamp(min=1.0), 1.0).to(self.dtype)
        self.remember(idx, sa, s2, term, mask)
        w = torch.where(mask, flat, self.sink_SA * S)
        self.counts.view(-1).scatter_add_(0, w, torch.ones_like(r))
        self.reward_sum.view(-1).scatter_add_(0, w, r)
        self.total.scatter_add_(0, torch.where(mask, idx, self.sink_SA), torch.ones_like(r))
        return spe

    def outcome(self, idx, u):
        counts = self.counts.index_select(0, idx)
        n = self.total.index_select(0, idx).clamp(min=1.0)
        s2 = draw(counts / n[:, None], u)
        flat = idx * self.S + s2
        c = self.counts.view(-1).index_select(0, flat).clamp(min=1.0)
        r = self.reward_sum.view(-1).index_select(0, flat) / c
        return r, s2, self.is_terminal_at(idx, s2)

    def expected_target(self, idx, values: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        counts = self.counts.index_select(0, idx)
        rsum = self.reward_sum.index_select(0, idx).sum(1)
        b = idx // self.SA
        term = self.terminal[:-1].view(self.B, self.S).index_select(0, b)
        v = torch.where(term, 0.0, values.index_select(0, b))
        n = self.total.index_select(0, idx).clamp(min=1.0)
        return (rsum + gamma * (counts * v).sum(1)) / n


def make_model(mode: str, B: int, S: int, A: int, device, dtype):
    if mode == "last":
        return LastOutcomeModel(B, S, A, device, dtype)
    if mode == "counts":
        return CountsModel(B, S, A, device, dtype)
    raise ValueError(f"model must be one of {MODEL_MODES}, got {mode!r}")


def model_bytes_per_agent(mode: str, S: int, A: int, itemsize: int) -> int:
    cls = LastOutcomeModel if mode == "last" else CountsModel
    return cls.bytes_per_agent(S, A, itemsize)
