"""Batched SR-TD: the successor representation learned by TD (Dayan 1993, Neural Comput
5:613-624; Russek, Momennejad, Botvinick, Gershman & Daw 2017, PLoS Comput Biol 13:e1005768).

The batch of :class:`darkcontrol.agents.successor.SRTD`. Per agent a state SR M (S, S), reward
weights w (S,) and V = M w (kept incrementally), with a one-step model for action values:

    M(s, .) += alpha [1_s + gamma M(s', .) - M(s, .)]      (1_s alone at a terminal s')
    w(s)    += alpha_w [r - w(s)]
    V = M w,     Q(s, a) = R_hat(s, a) + gamma sum_s' P_hat(s'|s, a) V(s')   (0 if untried)

M starts as the identity. Memory: S*S*itemsize per agent (10x10 grid, float32: 40 kB).
The updates of V involve dot products over S (``M[s] @ w``), whose summation order differs
between numpy and torch and between batch layouts: batched and reference agree to rounding
(~1e-15 relative in float64), not bitwise, so they are compared statistically; the same holds
for agent i across chunkings (its choices agree unless two action values tie within rounding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from darkcontrol._util import check_choice
from darkcontrol.batched.base import BatchedLearner
from darkcontrol.batched.model import MODEL_MODES, make_model, model_bytes_per_agent
from darkcontrol.batched.params import ArrayLike, check_range
from darkcontrol.constants import POLICIES


@dataclass
class BatchedSRConfig:
    """Hyper-parameters of batched SR-TD (scalar or (B,) PER_AGENT fields)."""

    PER_AGENT: ClassVar[tuple[str, ...]] = ("alpha", "alpha_w", "gamma", "epsilon", "beta")

    alpha: ArrayLike = 0.1  #: learning rate of the successor representation, in (0, 1]
    alpha_w: ArrayLike = 0.1  #: learning rate of the reward weights w, in (0, 1]
    gamma: ArrayLike = 0.95  #: discount factor (the horizon of the SR), in [0, 1)
    epsilon: ArrayLike = 0.1  #: exploration rate of epsilon-greedy, in [0, 1]
    beta: ArrayLike = 5.0  #: inverse temperature of softmax, >= 0
    policy: str = "epsilon_greedy"  #: "epsilon_greedy" | "softmax" | "greedy" (whole batch)
    model: str = "last"  #: one-step model for Q: "last" | "counts"

    def __post_init__(self) -> None:
        check_range("alpha", self.alpha, 0.0, 1.0, lo_open=True)
        check_range("alpha_w", self.alpha_w, 0.0, 1.0, lo_open=True)
        check_range("gamma", self.gamma, 0.0, 1.0, hi_open=True)
        check_range("epsilon", self.epsilon, 0.0, 1.0)
        check_range("beta", self.beta, 0.0)
        check_choice("policy", self.policy, POLICIES)
        check_choice("model", self.model, MODEL_MODES)


class BatchedSRTD(BatchedLearner):
    """B SR-TD agents in one tensor program (reference: ``sr_td``)."""

    name = "sr_td"
    reference = "sr_td"
    Config = BatchedSRConfig
    has_model = True

    def _setup(self) -> None:
        B, S, A = self.n_agents, self.n_states, self.n_actions
        dev, dt = self.device, self.dtype
        self.M = torch.eye(S, dtype=dt, device=dev).repeat(B, 1, 1)
        self.w = torch.zeros((B, S), dtype=dt, device=dev)
        self.V = torch.zeros((B, S), dtype=dt, device=dev)
        self.model = make_model(self.config.model, B, S, A, dev, dt)
        self._actions = torch.arange(A, device=dev)

    def state_tensors(self):
        out = {"M": self.M, "w": self.w, "V": self.V}
        out.update(
            {
                f"model.{k}": v
                for k, v in vars(self.model).items()
                if isinstance(v, torch.Tensor) and v.numel() > self.n_agents
            }
        )
        return out

    @classmethod
    def bytes_per_agent(cls, n_states, n_actions, config, itemsize):
        own = (n_states * n_states + 2 * n_states + 2 * n_states * n_actions) * itemsize
        return own + model_bytes_per_agent(config.model, n_states, n_actions, itemsize)

    def q_rows(self, s: torch.Tensor) -> torch.Tensor:
        """Q(s, .) = one-step look-ahead on V through the model; 0 for untried actions."""
        B, A = self.n_agents, self.n_actions
        idx = (self.off_SA + s * A)[:, None] + self._actions[None, :]  # (B, A)
        flat = idx.reshape(-1)
        gamma = self.p["gamma"][:, None].expand(B, A).reshape(-1)
        y = self.model.expected_target(flat, self.V, gamma).view(B, A)
        tried = self.model.tried.index_select(0, flat).view(B, A)
        return torch.where(tried, y, 0.0)

    def q_table(self) -> torch.Tensor:
        B, S = self.n_agents, self.n_states
        return torch.stack(
            [self.q_rows(torch.full((B,), s, device=self.device)) for s in range(S)], dim=1
        )

    def observe(self, s, a, r, s2, term, mask):
        B, S = self.n_agents, self.n_states
        q = self.q_rows(s).gather(1, a[:, None])[:, 0]
        g, al = self.p["gamma"], self.p["alpha"] * mask
        v2 = torch.where(term, 0.0, self.V.gather(1, s2[:, None])[:, 0])
        y = r + g * v2
        rows = self.M.view(B * S, S)
        m_s = rows.index_select(0, self.off_S + s)
        m_s2 = rows.index_select(0, self.off_S + s2)
        target = torch.where(term[:, None], 0.0, g[:, None] * m_s2)
        target.scatter_add_(1, s[:, None], torch.ones_like(r)[:, None])
        dM = al[:, None] * (target - m_s)
        new = m_s + dM
        rows.scatter_(0, (self.off_S + s)[:, None].expand(B, S), new)
        v_s = self.V.gather(1, s[:, None])[:, 0]
        self.V.scatter_(1, s[:, None], torch.where(mask, (new * self.w).sum(1), v_s)[:, None])
        w_s = self.w.gather(1, s[:, None])[:, 0]
        dw = self.p["alpha_w"] * mask * (r - w_s)
        self.w.scatter_(1, s[:, None], (w_s + dw)[:, None])
        col = self.M.gather(2, s[:, None, None].expand(B, S, 1))[:, :, 0]
        self.V += col * dw[:, None]
        spe = self.model.update(self.pair_index(s, a), s * self.n_actions + a, r, s2, term, mask)
        norm = torch.sqrt((dM * dM).sum(1) + dw * dw)
        return y - q, norm, spe
