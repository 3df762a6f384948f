"""Model-free tabular TD learners: Q-learning, SARSA and expected SARSA.

Update rules (Sutton & Barto 2018, ch. 6), with delta = y - Q(s, a) and Q(s, a) += alpha delta:

- Q-learning (Watkins 1989; Watkins & Dayan 1992, Mach Learn):  y = r + gamma max_a' Q(s', a')
- SARSA (Rummery & Niranjan 1994): y = r + gamma Q(s', a'), a' the action taken next
- expected SARSA (van Seijen et al. 2009, IEEE ADPRL): y = r + gamma sum_a' pi(a'|s') Q(s', a')

with y = r at a terminal s'. What each converges to (constant small alpha, fixed epsilon):
Q-learning to Q* (off-policy); SARSA and expected SARSA to the fixed point of the
epsilon-greedy Bellman operator, Q_eps = R + gamma P [(1 - eps) max Q_eps + eps mean Q_eps],
the values of the best epsilon-greedy behaviour, not Q* (tests/test_agents_tabular.py checks
both against exact solutions).

Trace: ``spe`` is NaN (no model of the world); ``salience`` is NaN; no offline rows unless a
caller (the DMN model) feeds transitions through :meth:`QLearning.learn_offline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from numbers import Real
from typing import Any

import numpy as np

from darkcontrol.agents.base import Agent, transition_fields
from darkcontrol.agents.policies import action_probs_list, sample_index
from darkcontrol.hyperparams import TDParams


@dataclass
class TDConfig(TDParams):
    """Hyper-parameters of the tabular TD learners: the TD block
    (:class:`darkcontrol.hyperparams.TDParams`), one number per field."""

    def __post_init__(self) -> None:
        for f in fields(TDParams):
            value = getattr(self, f.name)
            if f.name != "policy" and (isinstance(value, bool) or not isinstance(value, Real)):
                raise TypeError(f"{f.name} must be a number, got {value!r}")
        super().__post_init__()


def check_count(name: str, value, minimum: int = 0) -> None:
    """An integer hyper-parameter (not a bool, not a float) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


class QLearning(Agent):
    """Tabular Q-learning: y = r + gamma max_a' Q(s', a').

    Trace: ``spe``, ``salience`` are NaN; no offline rows."""

    name = "q_learning"
    Config = TDConfig
    nan_columns = ("spe", "salience")
    supports_offline = True

    def __init__(self, n_states: int, n_actions: int, config: Any = None, **kw: Any) -> None:
        super().__init__(n_states, n_actions, config, **kw)
        self.Q = np.full((self.n_states, self.n_actions), self.config.q_init, dtype=np.float64)

    def q_values(self) -> np.ndarray:
        return self.Q

    def policy(self, state: int) -> np.ndarray:
        return np.asarray(self._probs(int(state)))

    def _probs(self, state: int) -> list[float]:
        cfg = self.config
        return action_probs_list(
            self.Q[state].tolist(), cfg.policy, beta=cfg.beta, epsilon=cfg.epsilon
        )

    def act(self, state: int) -> int:
        probs = self._probs(int(state))
        self._last_probs, self._last_state = probs, int(state)
        return sample_index(probs, self.rng.random())

    def bootstrap(self, next_state: int) -> float:
        """The value of s' in the target; Q-learning takes the max."""
        return max(self.Q[next_state].tolist())

    def backup(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        gamma: float | None = None,
    ) -> dict[str, Any]:
        """Q(s, a) += alpha (y - Q(s, a)); returns the Trace values of the step. ``gamma``:
        the discount of this backup (None: ``config.gamma``)."""
        q = float(self.Q[state, action])
        g = self.config.gamma if gamma is None else gamma
        y = reward if terminated else reward + g * self.bootstrap(next_state)
        delta = y - q
        step = self.config.alpha * delta
        self.Q[state, action] = q + step
        self.n_updates += 1
        return transition_fields(state, action, reward, next_state, terminated, q, y, abs(step))

    def observe(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        truncated: bool = False,
        *,
        fields: Mapping[str, Any] | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        stats = self.choice_stats(state, action)
        row = self.backup(state, action, reward, next_state, terminated)
        self.recorder.online(fields, **row, **stats)

    def learn_offline(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        *,
        source: str = "replay",
        gamma: float | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        row = self.backup(state, action, reward, next_state, terminated, gamma)
        self.recorder.offline(source, fields, **row)


class ExpectedSarsa(QLearning):
    """Expected SARSA: y = r + gamma sum_a' pi(a'|s') Q(s', a').

    Converges to Q_eps (the epsilon-greedy fixed point), not Q*, under epsilon-greedy."""

    name = "expected_sarsa"

    def bootstrap(self, next_state: int) -> float:
        probs = self._probs(next_state)
        return sum(p * v for p, v in zip(probs, self.Q[next_state].tolist()))


class Sarsa(QLearning):
    """SARSA (on-policy): y = r + gamma Q(s', a') with a' the next action actually taken.

    The update of (s, a) waits for a'; it is applied at the next ``act`` (or at once when the
    episode ends), so the online row of a step is recorded when its target is known, with the
    clock time of the step it belongs to. When a' is unknown (an episode truncated by a time
    limit; offline transitions fed through ``learn_offline``) the target bootstraps on the
    expected value sum_a' pi(a'|s') Q(s', a') instead."""

    name = "sarsa"

    def __init__(self, n_states: int, n_actions: int, config: Any = None, **kw: Any) -> None:
        super().__init__(n_states, n_actions, config, **kw)
        self._pending: tuple | None = None

    def reset(self) -> None:
        super().reset()
        self._pending = None

    bootstrap = ExpectedSarsa.bootstrap

    def act(self, state: int) -> int:
        action = super().act(state)
        if self._pending is not None:
            s, a, r, s2, stats, time, fields = self._pending
            self._pending = None
            self._update(s, a, r, s2, False, stats, float(self.Q[state, action]), time, fields)
        return action

    def observe(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        truncated: bool = False,
        *,
        fields: Mapping[str, Any] | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        stats = self.choice_stats(state, action)
        t = self.recorder.time
        if terminated or truncated:
            boot = 0.0 if terminated else self.bootstrap(next_state)
            self._update(state, action, reward, next_state, terminated, stats, boot, t, fields)
        else:
            self._pending = (state, action, reward, next_state, stats, t, fields)

    def _update(self, s, a, r, s2, terminated, stats, boot, time, fields=None):
        q = float(self.Q[s, a])
        y = r + (0.0 if terminated else self.config.gamma * boot)
        delta = y - q
        self.Q[s, a] = q + self.config.alpha * delta
        self.n_updates += 1
        self.recorder.online(
            fields,
            time=time,
            **transition_fields(s, a, r, s2, terminated, q, y, abs(self.config.alpha * delta)),
            **stats,
        )
