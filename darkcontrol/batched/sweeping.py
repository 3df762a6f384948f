"""Batched prioritised sweeping (Moore & Atkeson 1993, Mach Learn 13:103-130; Sutton & Barto
2018, §8.4).

The batch of :class:`darkcontrol.agents.prioritized_sweeping.PrioritizedSweeping`. After each
real step every agent updates its model, queues (s, a) with priority P = |y(s, a) - Q(s, a)|
if P > theta (the real step changes no value), then up to ``n_planning`` times pops its pair of
highest priority, backs it up, Q(s, a) += alpha (y(s, a) - Q(s, a)), and queues every
predecessor (s-, a-) of s the model knows with its own priority (a queued pair keeps the higher
of its priorities). y is the model's expected target R_hat + gamma sum P_hat max Q (0 at a
terminal s').

The queue is batched as a (B, S, A) priority table (0 = not queued) plus a push stamp per pair:
a pop is an argmax over (S, A) with ties broken by the earliest push, as the reference's heap
(FIFO among equal priorities) does. Within one sweep of predecessors the reference pushes in
the order its model lists them, by the time each pair was last updated ("last" model); the
stamp ``push_round * 2^24 + last_visit`` reproduces that order, so with ``model="last"`` in a
deterministic world, float64 and the same uniforms, batched and reference Q tables agree
exactly. The predecessors a learned model can hold are a subset of the world's own (the world
is stationary), so candidates come from the world's predecessor table (S, D), D the largest
in-degree: a sweep costs O(B D), a pop O(B S A).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from darkcontrol._util import check_choice
from darkcontrol.batched.base import BatchedLearner
from darkcontrol.batched.model import MODEL_MODES, make_model, model_bytes_per_agent
from darkcontrol.batched.params import ArrayLike, check_range
from darkcontrol.hyperparams import TDParams, check_td

_ROUND = 2**24  # real steps that fit under one push round in the stamp
_NEVER = torch.iinfo(torch.int64).max


@dataclass
class BatchedSweepingConfig(TDParams):
    """Hyper-parameters of batched prioritised sweeping (scalar or (B,) PER_AGENT fields)."""

    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "alpha",
        "gamma",
        "epsilon",
        "beta",
        "q_init",
        "n_planning",
        "theta",
    )
    SPLIT_BY: ClassVar[tuple[str, ...]] = ("n_planning",)

    n_planning: ArrayLike = 5  #: at most this many queued backups after each real step, >= 0
    theta: ArrayLike = 1e-4  #: a pair is queued only if its priority exceeds theta, >= 0
    model: str = "last"  #: "last" (last outcome per (s, a)) | "counts" (ML, stochastic worlds)

    def __post_init__(self) -> None:
        check_td(self)
        check_range("n_planning", self.n_planning, 0, integer=True)
        check_range("theta", self.theta, 0.0)
        check_choice("model", self.model, MODEL_MODES)


class BatchedPrioritizedSweeping(BatchedLearner):
    """B prioritised-sweeping agents (reference: ``prioritized_sweeping``)."""

    name = "prioritized_sweeping"
    reference = "prioritized_sweeping"
    Config = BatchedSweepingConfig
    has_model = True

    def _setup(self) -> None:
        super()._setup()
        B, S, A = self.n_agents, self.n_states, self.n_actions
        dev = self.device
        self.model = make_model(self.config.model, B, S, A, dev, self.dtype)
        self.priority = torch.zeros(B * S * A + 1, dtype=self.dtype, device=dev)
        self.stamp = torch.full((B * S * A + 1,), _NEVER, dtype=torch.int64, device=dev)
        self.last_visit = torch.zeros(B * S * A + 1, dtype=torch.int64, device=dev)
        self.sink = B * S * A
        self.preds = torch.as_tensor(self.world.predecessors, device=dev)  # (S, D)
        n = np.broadcast_to(np.asarray(self.config.n_planning), (B,))
        self.n_max = int(n.max())
        self.n_planning = torch.as_tensor(n.copy(), dtype=torch.int64, device=dev)
        self._same_n = bool((n == self.n_max).all())

    def state_tensors(self):
        out = super().state_tensors()
        out.update({k: getattr(self, k) for k in ("priority", "stamp", "last_visit")})
        return out

    @classmethod
    def bytes_per_agent(cls, n_states, n_actions, config, itemsize):
        sa = n_states * n_actions
        own = sa * (2 * itemsize + 16)  # Q, priority, stamp, last visit
        return own + model_bytes_per_agent(config.model, n_states, n_actions, itemsize)

    # -- targets -----------------------------------------------------------------------------
    def _targets(self, idx: torch.Tensor) -> torch.Tensor:
        """Expected target y(s, a) of flat pairs ``idx`` (B,), one per agent, under the model."""
        g = self.p["gamma"]
        if self.model.mode == "last":  # one successor: V at s' only, no (B, S, A) pass
            r, s2, term = self.model.outcome(idx, None)
            return r + torch.where(term, 0.0, g * self.q_rows(s2).amax(1))
        return self.model.expected_target(idx, self.Q.amax(2), g)

    def _push(self, idx, prio, ok, rnd: int) -> None:
        """Queue pairs ``idx`` with priority ``prio`` where ``ok`` and prio beats theta and
        the pair's current priority."""
        cur = self.priority.index_select(0, idx.reshape(-1)).view(idx.shape)
        theta = self.p["theta"].view(-1, *([1] * (idx.dim() - 1)))
        hit = ok & (prio > theta) & (prio > cur)
        w = torch.where(hit, idx, self.sink)
        self.priority.scatter_(0, w.reshape(-1), prio.reshape(-1))
        stamp = rnd * _ROUND + self.last_visit.index_select(0, idx.reshape(-1)).view(idx.shape)
        self.stamp.scatter_(0, w.reshape(-1), stamp.reshape(-1))

    # -- learning ----------------------------------------------------------------------------
    def observe(self, s, a, r, s2, term, mask):
        t = self._run.t + 1 if self._run is not None else 1
        if t >= _ROUND:
            raise RuntimeError(f"prioritised sweeping stamps hold {_ROUND} real steps")
        idx = self.pair_index(s, a)
        spe = self.model.update(idx, s * self.n_actions + a, r, s2, term, mask)
        self.last_visit.scatter_(0, torch.where(mask, idx, self.sink), torch.full_like(idx, t))
        q = self.Q.view(-1).index_select(0, idx)
        y = torch.where(term, r, r + self.p["gamma"] * self.q_rows(s2).amax(1))
        self._push(idx, (self._targets(idx) - q).abs(), mask, t * (self.n_max + 1))
        return y - q, torch.zeros_like(q), spe

    def plan(self, counter, mask, stats=False, done=None):
        if self.n_max == 0:
            return None
        B, SA = self.n_agents, self.n_states * self.n_actions
        A, alpha = self.n_actions, self.p["alpha"]
        pr, st = self.priority[:-1].view(B, SA), self.stamp[:-1].view(B, SA)
        Qf = self.Q.view(-1)
        if stats:
            n_done = torch.zeros(B, dtype=torch.int64, device=self.device)
            sum_rpe = torch.zeros(B, dtype=self.dtype, device=self.device)
            sum_upd = torch.zeros_like(sum_rpe)
        for j in range(self.n_max):
            m = mask if self._same_n else mask & (j < self.n_planning)
            top = pr.amax(1)
            m = m & (top > 0)
            sa = torch.where(pr == top[:, None], st, _NEVER).argmin(1)
            idx = self.off_SA + sa
            # pop: only agents in m (others keep their queue)
            self.priority.scatter_(0, torch.where(m, idx, self.sink), torch.zeros_like(top))
            q = Qf.index_select(0, idx)
            y = self._targets(idx)
            step = (alpha * m) * (y - q)
            Qf.scatter_(0, idx, q + step)
            # queue the predecessors of s the model knows
            s = sa // A
            cand = self.preds.index_select(0, s)  # (B, D) flat (s-, a-), -1 padded
            valid = cand >= 0
            cidx = self.off_SA[:, None] + cand.clamp(min=0)
            known = self.model.tried.index_select(0, cidx.reshape(-1)).view(cidx.shape)
            leads = self._leads_to(cidx, s)
            c_y = self._pred_targets(cidx, s)
            c_q = Qf.index_select(0, cidx.reshape(-1)).view(cidx.shape)
            ok = m[:, None] & valid & known & leads
            self._push(cidx, (c_y - c_q).abs(), ok, counter * (self.n_max + 1) + j + 1)
            if stats:
                n_done += m
                sum_rpe += (y - q).abs() * m
                sum_upd += step.abs()
        return (n_done, sum_rpe, sum_upd) if stats else None

    def _leads_to(self, cidx: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Whether the model predicts pairs ``cidx`` (B, D) to lead to ``s`` (B,)."""
        if self.model.mode == "last":
            nxt = self.model.next.index_select(0, cidx.reshape(-1)).view(cidx.shape)
            return nxt.long() == s[:, None]
        flat = cidx * self.n_states + s[:, None]
        return self.model.counts.view(-1).index_select(0, flat.reshape(-1)).view(cidx.shape) > 0

    def _pred_targets(self, cidx: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Expected targets of candidate predecessors (B, D) of ``s``."""
        B, D = cidx.shape
        if self.model.mode == "last":  # all lead to s: r(s-, a-) + gamma V(s)
            r = self.model.reward.index_select(0, cidx.reshape(-1)).view(B, D)
            term = self.model.terminal.index_select(0, self.off_S + s)[:, None]
            v = (self.p["gamma"] * self.q_rows(s).amax(1))[:, None]
            return r + torch.where(term, 0.0, v)
        gamma = self.p["gamma"][:, None].expand(B, D).reshape(-1)
        return self.model.expected_target(cidx.reshape(-1), self.Q.amax(2), gamma).view(B, D)
