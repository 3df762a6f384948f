"""Dyna-Q and Dyna-Q+: Q-learning plus planning from a learned model (S&B 2018, §8.2-8.3).

After each real step (s, a, r, s') the agent

1. updates its model (``darkcontrol.agents.model.WorldModel``) and records the transition's
   state-prediction error ``spe = 1 - P_hat(s' | s, a)`` (before the update),
2. makes a Q-learning update (direct RL), one *online* Trace row,
3. plans: ``n_planning`` times, draws a previously tried (s, a) uniformly at random ("random
   search control"), simulates (r, s') from the model and makes the same Q-learning update,
   one *offline* Trace row with ``source = "model"`` (Sutton 1990, ICML; 1991 SIGART Bull).

Dyna-Q+ (Sutton & Barto 2018, §8.3) adds an exploration bonus to the *simulated* reward,
r + kappa sqrt(tau), with tau the number of real steps since (s, a) was last tried, and lets
the untried actions of visited states be planned, with the model "they lead back to the same
state with reward 0" (the book's footnote to Example 8.2). The bonus is not used when acting.

The model (``model`` field): ``"last"`` keeps the last outcome of each (s, a), the book's model
for deterministic worlds, which adapts at once when the world changes (blocking and shortcut
mazes); ``"counts"`` keeps maximum-likelihood estimates for stochastic worlds. With ``"counts"``
in a stochastic world, Dyna-Q's sample backups with a constant alpha hover around Q* with a
spread of order sqrt(alpha).

Trace: online rows fill every column but ``salience``. Offline rows fill state, action, reward
(for Dyna-Q+ the bonus-augmented reward the backup used), next_state, terminated, q, target,
rpe, update_norm and ``spe`` (the surprise of the simulated outcome under the model: 0 in
"last" mode, 1 for an untried pair planned by Dyna-Q+); their ``choice_prob`` and
``policy_entropy`` are NaN (no action is chosen by the policy when planning).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from darkcontrol._util import check_positive
from darkcontrol.agents.base import transition_fields
from darkcontrol.agents.model import MODEL_MODES, WorldModel
from darkcontrol.agents.tabular import QLearning, TDConfig, check_count


@dataclass
class DynaConfig(TDConfig):
    """Hyper-parameters of Dyna-Q (the TD fields as :class:`TDConfig`)."""

    n_planning: int = 5  #: simulated backups after each real step (the book's n)
    model: str = "last"  #: "last" (last outcome per (s, a); S&B's model) | "counts" (ML)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("n_planning", self.n_planning)
        if self.model not in MODEL_MODES:
            raise ValueError(f"model must be one of {MODEL_MODES}, got {self.model!r}")


@dataclass
class DynaQPlusConfig(DynaConfig):
    """Hyper-parameters of Dyna-Q+ (as :class:`DynaConfig`, plus the bonus weight)."""

    kappa: float = 1e-4  #: bonus weight: simulated reward r + kappa sqrt(tau), >= 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("kappa", self.kappa, strict=False)


class DynaQ(QLearning):
    """Tabular Dyna-Q: Q-learning on real steps + ``n_planning`` model backups per step.

    Backup (online and offline): Q(s, a) += alpha [r + gamma max_a' Q(s', a') - Q(s, a)].
    Trace: ``salience`` is NaN; offline rows have NaN ``choice_prob``/``policy_entropy``."""

    name = "dyna_q"
    Config = DynaConfig
    nan_columns = ("salience",)
    supports_offline = True

    def __init__(self, n_states, n_actions, config=None, **kw):
        super().__init__(n_states, n_actions, config, **kw)
        self.model = WorldModel(self.n_states, self.n_actions, mode=self.config.model)
        # the pairs planning draws from, in first-seen order (reproducible draws by index)
        self._plan_pairs: list[tuple[int, int]] = []

    @property
    def offline_budget(self) -> int:
        return self.config.n_planning

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
        self._remember(state, action)
        spe = self.model.update(state, action, reward, next_state, terminated)
        row = self.backup(state, action, reward, next_state, terminated)
        self.recorder.online(fields, **row, spe=spe, **stats)

    def _remember(self, state: int, action: int) -> None:
        if self.model.visits[state, action] == 0:
            self._plan_pairs.append((state, action))

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
        spe = self.model.spe(state, action, next_state)
        row = self.backup(state, action, reward, next_state, terminated, gamma)
        self.recorder.offline(source, fields, **row, spe=spe)

    def plan(self, budget: int) -> int:
        pairs = self._plan_pairs
        if budget <= 0 or not pairs:
            return 0
        # the backup of QLearning.backup, inlined: this loop is the cost of Dyna
        model, Q, offline = self.model, self.Q, self.recorder.offline
        gamma, alpha, simulate = self.config.gamma, self.config.alpha, self._simulate
        k = len(pairs)
        for u in self.rng.random(budget).tolist():
            s, a = pairs[int(u * k)]
            r, s2, term = simulate(s, a)
            q = Q.item(s, a)
            y = r if term else r + gamma * max(Q[s2].tolist())
            step = alpha * (y - q)
            Q[s, a] = q + step
            offline(
                "model",
                **transition_fields(s, a, r, s2, term, q, y, abs(step)),
                spe=model.spe(s, a, s2),
            )
        self.n_updates += budget
        return budget

    def _simulate(self, s: int, a: int) -> tuple[float, int, bool]:
        return self.model.sample(s, a, self.rng)


class DynaQPlus(DynaQ):
    """Dyna-Q+: Dyna-Q whose planning reward is r + kappa sqrt(tau) (S&B 2018, §8.3).

    tau = real steps since (s, a) was last tried; for a never-tried action of a visited state
    tau counts from the agent's first step (``WorldModel.last_visit`` is 0), and the model
    of such an action is (r = 0, s' = s, not terminal). Trace as :class:`DynaQ`."""

    name = "dyna_q_plus"
    Config = DynaQPlusConfig

    def __init__(self, n_states, n_actions, config=None, **kw):
        super().__init__(n_states, n_actions, config, **kw)
        self._visited = [False] * self.n_states

    def _remember(self, state: int, action: int) -> None:
        # all actions of a newly visited state become plannable, tried or not
        if not self._visited[state]:
            self._visited[state] = True
            self._plan_pairs.extend((state, b) for b in range(self.n_actions))

    def _simulate(self, s: int, a: int) -> tuple[float, int, bool]:
        model = self.model
        tau = model.time - int(model.last_visit[s, a])
        bonus = self.config.kappa * math.sqrt(tau)
        if model.visits[s, a] == 0:
            return bonus, s, False
        r, s2, term = model.sample(s, a, self.rng)
        return r + bonus, s2, term
