"""Successor-representation agents: SR-TD and SR-Dyna (Russek et al. 2017, PLoS Comput Biol).

The successor representation (SR; Dayan 1993, Neural Comput 5:613-624; review: Gershman 2018,
J Neurosci 38:7193-7200) factors values into expected discounted future occupancies M and
one-step rewards w, so V = M w: a change of reward propagates at once, a change of
transitions only as fast as M is relearned. Russek, Momennejad, Botvinick, Gershman & Daw
(2017, PLoS Comput Biol 13:e1005768) compare SR-TD (M learned online by TD) with SR-Dyna (M
also updated by replaying stored transitions), which solves transition revaluation.

SR-TD (``"sr_td"``), a state SR under the agent's own behaviour policy pi:

    M(s, .) += alpha [1_s + gamma M(s', .) - M(s, .)]      (1_s alone at a terminal s')
    w(s)    += alpha_w [r - w(s)]          (w(s) -> expected immediate reward leaving s)
    V = M w,     Q(s, a) = R_hat(s, a) + gamma sum_s' P_hat(s' | s, a) V(s')

with R_hat, P_hat from a learned ``WorldModel`` (one-step look-ahead to turn state values
into action values; V(s') = 0 at a terminal s'; Q = 0 for an untried (s, a)). M is
initialised to the identity. Its fixed point with an epsilon-greedy pi is Q_eps (the values of
the best epsilon-greedy behaviour, see ``agents/tabular.py``), not Q*. No offline rows.

SR-Dyna (``"sr_dyna"``), a state-action SR H over (s, a) pairs (index s * n_actions + a):

    online, after (s, a, r, s'):   H(sa, .) += alpha [1_sa + gamma sum_a' pi(a'|s') H(s'a', .)
                                                       - H(sa, .)]
                                   w(sa) += alpha_w [r - w(sa)]
    offline, ``n_planning`` times: replay (s, a, r, s') drawn uniformly from the memory of
                                   real transitions and, with a* = argmax_a' Q(s', a'),
                                   H(sa, .) += alpha [1_sa + gamma H(s'a*, .) - H(sa, .)]
    Q(s, a) = H(sa, .) w

(terminal s': target 1_sa). The online update is expected-SARSA-like (it needs no a'); the
replay update is off-policy towards the greedy policy, as in Russek et al. (2017), so that
replay can bring H, and Q, to the SR of the optimal policy. H starts as the identity.

Trace: SR-TD fills every column but ``salience`` (``update_norm`` is the norm of the change of
(M, w); ``spe`` is 1 - P_hat(s' | s, a) of its one-step model). SR-Dyna has no transition
model, so ``spe`` and ``salience`` are NaN; its offline rows (``source = "replay"``) record
the replayed transition, q = Q(s, a), target = r + gamma max Q(s', .), the rpe, and
``update_norm`` = ||Delta H(sa, .)||; their ``choice_prob``/``policy_entropy`` are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from darkcontrol._util import check_positive, check_probability
from darkcontrol.agents.base import Agent, transition_fields
from darkcontrol.agents.model import MODEL_MODES, WorldModel
from darkcontrol.agents.policies import action_probs_list, sample_index
from darkcontrol.agents.tabular import check_count
from darkcontrol.constants import POLICIES


@dataclass
class SRConfig:
    """Hyper-parameters of SR-TD."""

    alpha: float = 0.1  #: learning rate of the successor representation, in (0, 1]
    alpha_w: float = 0.1  #: learning rate of the reward weights w, in (0, 1]
    gamma: float = 0.95  #: discount factor (the horizon of the SR), in [0, 1)
    policy: str = "epsilon_greedy"  #: "epsilon_greedy" | "softmax" | "greedy"
    epsilon: float = 0.1  #: exploration rate of epsilon-greedy
    beta: float = 5.0  #: inverse temperature of softmax
    model: str = "last"  #: one-step model for Q: "last" (last outcome) | "counts" (ML)

    def __post_init__(self) -> None:
        _check_sr_fields(self)
        if self.model not in MODEL_MODES:
            raise ValueError(f"model must be one of {MODEL_MODES}, got {self.model!r}")


@dataclass
class SRDynaConfig:
    """Hyper-parameters of SR-Dyna."""

    alpha: float = 0.1  #: learning rate of the state-action SR H, in (0, 1]
    alpha_w: float = 0.1  #: learning rate of the reward weights w, in (0, 1]
    gamma: float = 0.95  #: discount factor (the horizon of the SR), in [0, 1)
    policy: str = "epsilon_greedy"  #: "epsilon_greedy" | "softmax" | "greedy"
    epsilon: float = 0.1  #: exploration rate of epsilon-greedy
    beta: float = 5.0  #: inverse temperature of softmax
    n_planning: int = 5  #: replayed transitions after each real step
    memory_size: int = 100_000  #: real transitions kept for replay (oldest overwritten)

    def __post_init__(self) -> None:
        _check_sr_fields(self)
        check_count("n_planning", self.n_planning)
        check_count("memory_size", self.memory_size, minimum=1)


def _check_sr_fields(cfg) -> None:
    for name in ("alpha", "alpha_w"):
        check_probability(name, getattr(cfg, name))
        check_positive(name, getattr(cfg, name))
    check_probability("gamma", cfg.gamma)
    if cfg.gamma >= 1.0:
        raise ValueError(f"gamma must be < 1 for a successor representation, got {cfg.gamma}")
    check_probability("epsilon", cfg.epsilon)
    check_positive("beta", cfg.beta, strict=False)
    if cfg.policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {cfg.policy!r}")


class _SRAgent(Agent):
    """Shared acting code: Q rows come from ``_q_row``, the policy rule from the config."""

    def _q_row(self, state: int) -> list[float]:
        raise NotImplementedError

    def _probs(self, state: int) -> list[float]:
        cfg = self.config
        return action_probs_list(self._q_row(state), cfg.policy, beta=cfg.beta, epsilon=cfg.epsilon)

    def policy(self, state: int) -> np.ndarray:
        return np.asarray(self._probs(int(state)))

    def act(self, state: int) -> int:
        probs = self._probs(int(state))
        self._last_probs, self._last_state = probs, int(state)
        return sample_index(probs, self.rng.random())


class SRTD(_SRAgent):
    """SR-TD: state SR learned by TD under the behaviour policy, V = M w, one-step Q.

    Trace: ``salience`` is NaN; no offline rows (``learn_offline`` applies the same TD
    update to a fed transition, without touching the one-step model)."""

    name = "sr_td"
    Config = SRConfig
    nan_columns = ("salience",)
    supports_offline = True

    def __init__(self, n_states, n_actions, config=None, **kw):
        super().__init__(n_states, n_actions, config, **kw)
        S = self.n_states
        self.M = np.eye(S)
        self.w = np.zeros(S)
        self.V = np.zeros(S)  # = M @ w, kept in step incrementally
        self.model = WorldModel(S, self.n_actions, mode=self.config.model)

    def _q_row(self, state: int) -> list[float]:
        model, V, g = self.model, self.V, self.config.gamma
        total = model.total[state].tolist()
        return [
            model.backup(state, a, V.item, g) if total[a] else 0.0 for a in range(self.n_actions)
        ]

    def q_values(self) -> np.ndarray:
        v = np.where(self.model.terminal, 0.0, self.V)
        return self.model.R_hat() + self.config.gamma * self.model.P_hat() @ v

    def _td(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        gamma: float | None = None,
    ) -> dict[str, Any]:
        """The SR and reward-weight updates of one transition; returns its Trace values.
        ``gamma`` (None: ``config.gamma``) discounts both the value target and the SR."""
        cfg, M, w, V = self.config, self.M, self.w, self.V
        g = cfg.gamma if gamma is None else gamma
        q = self._q_row(state)[action]
        v2 = 0.0 if terminated else float(V[next_state])
        y = reward + g * v2
        target = g * M[next_state] if not terminated else np.zeros(self.n_states)
        target[state] += 1.0
        dM = cfg.alpha * (target - M[state])
        M[state] += dM
        V[state] = M[state] @ w
        dw = cfg.alpha_w * (reward - w[state])
        w[state] += dw
        V += M[:, state] * dw
        self.n_updates += 1
        return {
            "state": state,
            "action": action,
            "reward": reward,
            "next_state": next_state,
            "terminated": bool(terminated),
            "q": q,
            "target": y,
            "rpe": y - q,
            "update_norm": math.sqrt(float(dM @ dM) + dw * dw),
        }

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
        row = self._td(state, action, reward, next_state, terminated)
        spe = self.model.update(state, action, reward, next_state, terminated)
        self.recorder.online(fields, **row, spe=spe, **stats)

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
        row = self._td(state, action, reward, next_state, terminated, gamma)
        self.recorder.offline(source, fields, **row, spe=spe)


class SRDyna(_SRAgent):
    """SR-Dyna: state-action SR H learned online and by replay of stored transitions.

    Trace: ``spe`` and ``salience`` are NaN (no transition model); offline rows have
    ``source = "replay"`` and NaN ``choice_prob``/``policy_entropy``."""

    name = "sr_dyna"
    Config = SRDynaConfig
    nan_columns = ("spe", "salience")
    supports_offline = True

    def __init__(self, n_states, n_actions, config=None, **kw):
        super().__init__(n_states, n_actions, config, **kw)
        n = self.n_states * self.n_actions
        self.H = np.eye(n)
        self.w = np.zeros(n)
        self.Qv = np.zeros(n)  # = H @ w, kept in step incrementally
        self.memory: list[tuple[int, int, float, int, bool]] = []
        self._slot = 0  # next memory slot to overwrite once the memory is full

    @property
    def offline_budget(self) -> int:
        return self.config.n_planning

    def _q_row(self, state: int) -> list[float]:
        A = self.n_actions
        return self.Qv[state * A : (state + 1) * A].tolist()

    def q_values(self) -> np.ndarray:
        return (self.H @ self.w).reshape(self.n_states, self.n_actions)

    def _sr_step(self, i: int, target: np.ndarray) -> float:
        """H(i, .) += alpha (target - H(i, .)); returns ||Delta H(i, .)||."""
        dH = self.config.alpha * (target - self.H[i])
        self.H[i] += dH
        self.Qv[i] = self.H[i] @ self.w
        self.n_updates += 1
        return float(np.sqrt(dH @ dH))

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
        cfg, A = self.config, self.n_actions
        i = state * A + action
        q = float(self.Qv[i])
        if terminated:
            v2, target = 0.0, np.zeros(len(self.w))
        else:
            probs = np.asarray(self._probs(next_state))
            rows = slice(next_state * A, (next_state + 1) * A)
            v2 = float(probs @ self.Qv[rows])
            target = cfg.gamma * (probs @ self.H[rows])
        target[i] += 1.0
        y = reward + cfg.gamma * v2
        norm2 = self._sr_step(i, target) ** 2
        dw = cfg.alpha_w * (reward - self.w[i])
        self.w[i] += dw
        self.Qv += self.H[:, i] * dw
        self._store((state, action, reward, next_state, bool(terminated)))
        self.recorder.online(
            fields,
            **transition_fields(
                state, action, reward, next_state, terminated, q, y, math.sqrt(norm2 + dw * dw)
            ),
            **stats,
        )

    def _store(self, transition: tuple) -> None:
        if len(self.memory) < self.config.memory_size:
            self.memory.append(transition)
        else:
            self.memory[self._slot] = transition
            self._slot = (self._slot + 1) % self.config.memory_size

    def _replay(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        source: str,
        gamma: float | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        A, g = self.n_actions, self.config.gamma if gamma is None else gamma
        i = state * A + action
        q = float(self.Qv[i])
        if terminated:
            v2, target = 0.0, np.zeros(len(self.w))
        else:
            q2 = self._q_row(next_state)
            v2 = max(q2)
            best = [b for b, v in enumerate(q2) if v >= v2 - 1e-12]
            b = best[0] if len(best) == 1 else best[int(self.rng.random() * len(best))]
            target = g * self.H[next_state * A + b]
        target[i] += 1.0
        y = reward + g * v2
        norm = self._sr_step(i, target)
        self.recorder.offline(
            source,
            fields,
            **transition_fields(state, action, reward, next_state, terminated, q, y, norm),
        )

    def plan(self, budget: int) -> int:
        memory = self.memory
        if budget <= 0 or not memory:
            return 0
        n = len(memory)
        for u in self.rng.random(budget).tolist():
            self._replay(*memory[int(u * n)], "replay")
        return budget

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
        self._replay(state, action, reward, next_state, terminated, source, gamma, fields)
