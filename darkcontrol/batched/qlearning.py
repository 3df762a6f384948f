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

from darkcontrol._util import check_choice
from darkcontrol.batched.base import BatchedLearner
from darkcontrol.batched.params import ArrayLike, check_range
from darkcontrol.constants import POLICIES


@dataclass
class BatchedQConfig:
    """Hyper-parameters of batched Q-learning; PER_AGENT fields take a scalar or (B,) values."""

    PER_AGENT: ClassVar[tuple[str, ...]] = ("alpha", "gamma", "epsilon", "beta", "q_init")

    alpha: ArrayLike = 0.1  #: learning rate, in (0, 1]
    gamma: ArrayLike = 0.95  #: discount factor (the agent's horizon), in [0, 1]
    epsilon: ArrayLike = 0.1  #: exploration rate of epsilon-greedy, in [0, 1]
    beta: ArrayLike = 5.0  #: inverse temperature of softmax, >= 0
    q_init: ArrayLike = 0.0  #: initial action value
    policy: str = "epsilon_greedy"  #: "epsilon_greedy" | "softmax" | "greedy" (whole batch)

    def __post_init__(self) -> None:
        check_td_fields(self)


def check_td_fields(cfg) -> None:
    """Validate the TD fields shared by the batched configs (as ``TDConfig`` does)."""
    check_range("alpha", cfg.alpha, 0.0, 1.0, lo_open=True)
    check_range("gamma", cfg.gamma, 0.0, 1.0)
    check_range("epsilon", cfg.epsilon, 0.0, 1.0)
    check_range("beta", cfg.beta, 0.0)
    check_range("q_init", getattr(cfg, "q_init", 0.0))
    check_choice("policy", cfg.policy, POLICIES)


class BatchedQLearning(BatchedLearner):
    """B Q-learning agents in one tensor program (reference: ``q_learning``)."""

    name = "q_learning"
    reference = "q_learning"
    Config = BatchedQConfig

    def observe(self, s, a, r, s2, term, mask):
        rpe, upd = self.td_update(self.pair_index(s, a), r, s2, term, self.p["alpha"] * mask)
        return rpe, upd, None
