"""Hyper-parameter blocks shared by the single-agent and the batched learners, declared once.

:class:`TDParams` is the temporal-difference block (learning rate, discount, behaviour policy)
of the tabular TD learners (:class:`darkcontrol.agents.tabular.TDConfig` and its subclasses) and
of the batched configs of :mod:`darkcontrol.batched` (Q-learning, Dyna-Q, prioritised sweeping,
the DMN). In a batched config a numeric field may hold one value per agent (a sequence or an
array of length B); the checks are elementwise either way.

Not built on it, on purpose: the SR learners (their ``alpha`` is the SR's learning rate and they
have no ``q_init``) and ``agents.approx.ReplayQConfig`` (its ``alpha`` is an SGD step size, any
value > 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from darkcontrol._util import check_choice, check_range
from darkcontrol.constants import POLICIES

#: a scalar hyper-parameter, or one value per agent of a batch
ArrayLike = float | int | Sequence[float] | np.ndarray


@dataclass
class TDParams:
    """The TD block: Q(s, a) += alpha (y - Q(s, a)), y = r + gamma V(s'), and the policy.

    Sutton & Barto (2018), ch. 6; the policies are :data:`darkcontrol.constants.POLICIES`."""

    alpha: Any = 0.1  #: learning rate, in (0, 1]
    gamma: Any = 0.95  #: discount factor (the agent's horizon), in [0, 1]
    policy: str = "epsilon_greedy"  #: "epsilon_greedy" | "softmax" | "greedy"
    epsilon: Any = 0.1  #: exploration rate of epsilon-greedy, in [0, 1]
    beta: Any = 5.0  #: inverse temperature of softmax, >= 0
    q_init: Any = 0.0  #: initial action value (finite)

    def __post_init__(self) -> None:
        check_td(self)


def check_td(cfg: Any) -> None:
    """Validate the TD fields of ``cfg`` (elementwise for per-agent values)."""
    check_range("alpha", cfg.alpha, 0.0, 1.0, lo_open=True)
    check_range("gamma", cfg.gamma, 0.0, 1.0)
    check_range("epsilon", cfg.epsilon, 0.0, 1.0)
    check_range("beta", cfg.beta, 0.0)
    check_range("q_init", cfg.q_init)
    check_choice("policy", cfg.policy, POLICIES)
