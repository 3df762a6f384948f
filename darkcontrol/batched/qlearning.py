"""Batched tabular Q-learning (Watkins 1989; Watkins & Dayan 1992, Machine Learning 8:279-292).

    Q(s, a) += alpha [y - Q(s, a)],   y = r + gamma max_a' Q(s', a')   (y = r at a terminal s')

The batch of :class:`darkcontrol.agents.tabular.QLearning`: same update, same policies, one
uniform per action drawn by inverse CDF like the reference. With float64 and the uniforms of
``CounterRNG`` fed to the reference agent, the two produce identical Q tables step by step
(``tests/test_batched_equivalence.py``). Per-agent arithmetic is element-wise (a max over A is
exact), so agent i's results are bitwise independent of its batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from darkcontrol.batched.base import BatchedLearner
from darkcontrol.hyperparams import TDParams, check_td


@dataclass
class BatchedQConfig(TDParams):
    """Hyper-parameters of batched Q-learning; PER_AGENT fields take a scalar or (B,) values."""

    PER_AGENT: ClassVar[tuple[str, ...]] = ("alpha", "gamma", "epsilon", "beta", "q_init")

    def __post_init__(self) -> None:
        check_td(self)


class BatchedQLearning(BatchedLearner):
    """B Q-learning agents in one tensor program (reference: ``q_learning``)."""

    name = "q_learning"
    reference = "q_learning"
    Config = BatchedQConfig

    def kernel_unsupported(self) -> str | None:
        if self.config.policy == "softmax":
            return "softmax goes through exp, whose last bit differs between torch and numba"
        return None

    def observe(self, s, a, r, s2, term, mask):
        rpe, upd = self.td_update(self.pair_index(s, a), r, s2, term, self.p["alpha"] * mask)
        return rpe, upd, None
