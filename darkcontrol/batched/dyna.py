"""Batched Dyna-Q (Sutton 1990, ICML; Sutton & Barto 2018, §8.2).

After each real step (s, a, r, s') every agent updates its model, makes the Q-learning
update, then ``n_planning`` times draws a tried (s, a) uniformly ("random search control"),
simulates (r, s') from its model and makes the same update:

    Q(s, a) += alpha [r + gamma max_a' Q(s', a') - Q(s, a)]        (r alone at a terminal s')

The batch of :class:`darkcontrol.agents.dyna.DynaQ`. ``n_planning`` may differ per agent
(agents with fewer planning steps are masked off in the later ones). The model
(``model``): ``"last"``, the book's (and the reference's default) model for deterministic
worlds, a (B, S, A) next-state/reward table; ``"counts"``, maximum-likelihood counts
(B, S, A, S) for stochastic worlds (see ``darkcontrol.batched.model`` for the memory cost).

Uniforms: slot 0 the action; planning step j uses slot 3 + 2j to choose the pair (the
reference's j-th ``rng.random(n)`` draw) and slot 4 + 2j for a stochastic outcome. With the
"last" model in a deterministic world, float64 and these uniforms fed to the reference in its
order, batched and reference Q tables agree exactly (``tests/test_batched_equivalence.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from darkcontrol._util import check_choice
from darkcontrol.batched.base import SLOT_ALGO, BatchedLearner
from darkcontrol.batched.model import MODEL_MODES, make_model, model_bytes_per_agent
from darkcontrol.batched.params import ArrayLike, check_range
from darkcontrol.hyperparams import TDParams, check_td


@dataclass
class BatchedDynaConfig(TDParams):
    """Hyper-parameters of batched Dyna-Q; PER_AGENT fields take a scalar or (B,) values."""

    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "alpha",
        "gamma",
        "epsilon",
        "beta",
        "q_init",
        "n_planning",
    )
    SPLIT_BY: ClassVar[tuple[str, ...]] = ("n_planning",)  # sweeps: one budget per chunk

    n_planning: ArrayLike = 5  #: simulated backups after each real step (the book's n), >= 0
    model: str = "last"  #: "last" (last outcome per (s, a)) | "counts" (ML, stochastic worlds)

    def __post_init__(self) -> None:
        check_td(self)
        check_range("n_planning", self.n_planning, 0, integer=True)
        check_choice("model", self.model, MODEL_MODES)


class BatchedDynaQ(BatchedLearner):
    """B Dyna-Q agents in one tensor program (reference: ``dyna_q``)."""

    name = "dyna_q"
    reference = "dyna_q"
    Config = BatchedDynaConfig
    has_model = True

    def _setup(self) -> None:
        super()._setup()
        B, S, A = self.n_agents, self.n_states, self.n_actions
        self.model = make_model(self.config.model, B, S, A, self.device, self.dtype)
        n = np.broadcast_to(np.asarray(self.config.n_planning), (B,))
        self.n_max = int(n.max())
        self.n_planning = torch.as_tensor(n.copy(), dtype=torch.int64, device=self.device)
        self._same_n = bool((n == self.n_max).all())

    @classmethod
    def bytes_per_agent(cls, n_states, n_actions, config, itemsize):
        q = n_states * n_actions * itemsize
        return q + model_bytes_per_agent(config.model, n_states, n_actions, itemsize)

    def kernel_unsupported(self) -> str | None:
        if self.config.policy == "softmax":
            return "softmax goes through exp, whose last bit differs between torch and numba"
        if self.config.model != "last":
            return f"the kernel has the 'last' model only, not {self.config.model!r}"
        return None

    def _kernel_model(self) -> tuple:
        m = self.model
        return (
            True,
            m.tried.numpy(),
            m.terminal.numpy(),
            m.pairs.numpy(),
            m.n_pairs.numpy(),
            m.next.numpy(),
            m.reward.numpy(),
        )

    def observe(self, s, a, r, s2, term, mask):
        idx = self.pair_index(s, a)
        spe = self.model.update(idx, s * self.n_actions + a, r, s2, term, mask)
        rpe, upd = self.td_update(idx, r, s2, term, self.p["alpha"] * mask)
        return rpe, upd, spe

    def plan(self, counter, mask, stats=False, done=None):
        if self.n_max == 0:
            return None
        U = self.rng.uniforms(counter, SLOT_ALGO, 2 * self.n_max)
        alpha = self.p["alpha"]
        model = self.model
        if stats:
            z = torch.zeros(self.n_agents, dtype=self.dtype, device=self.device)
            sum_rpe, sum_upd = z, z.clone()
        for j in range(self.n_max):
            m = mask if self._same_n else mask & (j < self.n_planning)
            sa, ok = model.sample_pair(U[:, 2 * j])
            m = m & ok
            idx = self.off_SA + sa
            r, s2, term = model.outcome(idx, U[:, 2 * j + 1])
            rpe, upd = self.td_update(idx, r, s2, term, alpha * m)
            if stats:
                sum_rpe += rpe.abs() * m
                sum_upd += upd
        if not stats:
            return None
        return self.n_planning * mask * (model.n_pairs > 0), sum_rpe, sum_upd
