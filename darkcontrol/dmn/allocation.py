"""Offline processing as a resource allocation the agent computes from what it has learned.

Dohmatob, Dumas & Bzdok (2020, Hum Brain Mapp 41(12):3318-3341), "Reinforcement learning
control: a process model for DMN function", subsection "Putting everything together" (in the
published article: "Summary and hypotheses for future studies"): the more familiar and
predictable the environment, the more resources remain for DMN processing beyond the present;
that processing is partly suspended when novelty is met or immediate action is required. Here
that sentence is a computation, not a rule. At each moment (the interval after a real step,
with the agent in state s and about to act again) a fixed capacity of 1 is shared between
attending to the world and computing offline:

    share = sigmoid(beta * (V - D + bias))          offline share of the capacity, in (0, 1)

- **Attention demand** D(s): what the next decision needs from the world,

      D(s) = w_uncertainty * U(s) + w_stake * K(s)
      U(s) = sum_a pi(a|s) H[P~(. | s, a)] / log S       (predicted uncertainty of what comes next)
      K(s) = (max_a q(s, a) - min_a q(s, a)) / value_scale  (urgency: what is at stake in s)
      q(s, a) = r~(s, a) + gamma sum_s' p~(s' | s, a) max_a' Q(s', a')   (tried actions only)

  P~ is the agent's own predictive distribution of the next state, a Dirichlet-multinomial with
  concentration ``prior`` spread uniformly over the S states and *forgetting* counts
  (a volatility term, Behrens et al. 2007, Nat Neurosci): at each real visit of (s, a),
  n(s, a, .) <- (1 - forgetting) n(s, a, .) + 1_{s'}, so

      P~(s' | s, a) = (n(s, a, s') + prior / S) / (sum_x n(s, a, x) + prior).

  A never-tried pair predicts uniformly (U = 1); a pair that always led to one place predicts
  it sharply (U falls to a floor set by ``prior * forgetting``); a pair whose outcome changed
  mixes old and new outcomes until the old ones are forgotten (U rises after a change). U of a
  pair is its expected prediction error 1 - sum_s' P~(s'|s, a)^2 (the agent's forecast of its
  own spe; ``uncertainty="entropy"``: H[P~] / log S instead). The stake uses the agent's
  one-step look-ahead q (p~ the normalised forgetting counts, r~ the rewards averaged with the
  same forgetting), so that actions never or rarely tried, whose Q has not been learnt, do not
  inflate it. When no action is required (the episode ended, a rest block) D = 0.
- **Value of offline computation** V: the worth of the best backup on offer, the expected
  value of backup of Mattar & Daw (2018, Nat Neurosci 21:1609), Gain x Need, over
  ``candidates`` memories drawn from the hippocampal memory D,

      V = w_voc * max_i Gain(e_i) * Need(s_i)
      Gain(e_i) = sum_a pi_new(a|s_i) Q_new(s_i, a) - sum_a pi_old(a|s_i) Q_new(s_i, a)
      Need(s_i) = (1 - gamma_M) M[s, s_i]

  with Q_new the values of s_i after the full backup Q(s_i, a_i) <- y_i = r_i + gamma
  max_a' Q(s'_i, a') (r_i at a terminal s'_i), pi a softmax of inverse temperature
  ``gain_beta`` and M the agent's successor representation learnt by TD from real steps
  (Dayan 1993), M[s, .] += sr_alpha (1_s + gamma_M M[s', .] - M[s, .]) (no bootstrap at a
  terminal s'). ``need="uniform"`` sets Need = 1 (for very large state spaces).

The comparison V - D is the arbitration of Keramati, Dezfouli & Piray (2011, PLoS Comput
Biol 7:e1002055) between deliberation and acting, by the value of the information deliberation
brings against the cost of the time it takes; the cost side is the opportunity cost of time
(Niv, Daw, Joel & Dayan 2007, Psychopharmacology 191:507): capacity withdrawn from the world is
worth what attending would have secured, here the demand D. ``bias`` is the worth of offline
processing beyond the best single backup (house-keeping, consolidation), in capacity units;
``beta`` how sharply the capacity goes to the larger claim (beta -> infinity: all or nothing).

Rise with practice, fall after a change and suspension by high stakes are then consequences:
U falls as the model learns, rises when predictions fail; K is large where values diverge.
``demand="constant"`` replaces D by ``constant_demand`` (the ablation that removes attention
demand: the share then moves with V only).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from darkcontrol.dmn.association import sr_update

DEMAND_MODES = ("learned", "constant")
NEED_MODES = ("sr", "uniform")
UNCERTAINTY_MODES = ("expected_error", "entropy")


def _in_range(name: str, value: float, lo: float, hi: float, *, lo_open=False, hi_open=False):
    v = float(value)
    ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok or math.isnan(v):
        lb, rb = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must be in {lb}{lo}, {hi}{rb}, got {value!r}")


@dataclass(frozen=True)
class AllocationConfig:
    """Parameters of :class:`Allocator` (one line each; see the module docstring)."""

    demand: str = "learned"  #: "learned" (D from uncertainty and stake) | "constant" (ablation)
    uncertainty: str = "expected_error"  #: U of a pair: "expected_error" | "entropy"
    beta: float = 10.0  #: sensitivity of the share to V - D (inverse temperature), > 0
    bias: float = 0.3  #: worth of offline processing beyond the best backup, capacity units
    w_uncertainty: float = 1.0  #: weight of predicted uncertainty U in the demand, >= 0
    w_stake: float = 0.3  #: weight of the stake K in the demand, >= 0
    value_scale: float = 1.0  #: reward units dividing the stake, > 0
    w_voc: float = 10.0  #: capacity units per reward unit of the value of computation, >= 0
    forgetting: float = 0.1  #: volatility: decay of the outcome counts per visit, in [0, 1)
    prior: float = 0.5  #: Dirichlet concentration of the predictive distribution, > 0
    constant_demand: float = 0.3  #: the demand under demand="constant", >= 0
    candidates: int = 32  #: memories scored for the value of computation per allocation, >= 1
    gain_beta: float = 5.0  #: inverse temperature of the softmax policy in Gain, > 0
    need: str = "sr"  #: "sr" (Need from the learnt successor representation) | "uniform"
    sr_gamma: float = 0.9  #: discount gamma_M of the successor representation, in [0, 1)
    sr_alpha: float = 0.1  #: learning rate of the successor representation, in (0, 1]

    def __post_init__(self) -> None:
        if self.demand not in DEMAND_MODES:
            raise ValueError(f"demand must be one of {DEMAND_MODES}, got {self.demand!r}")
        if self.uncertainty not in UNCERTAINTY_MODES:
            raise ValueError(
                f"uncertainty must be one of {UNCERTAINTY_MODES}, got {self.uncertainty!r}"
            )
        if self.need not in NEED_MODES:
            raise ValueError(f"need must be one of {NEED_MODES}, got {self.need!r}")
        inf = math.inf
        _in_range("beta", self.beta, 0.0, inf, lo_open=True, hi_open=True)
        _in_range("bias", self.bias, -inf, inf, lo_open=True, hi_open=True)
        for name in ("w_uncertainty", "w_stake", "constant_demand", "w_voc"):
            _in_range(name, getattr(self, name), 0.0, inf, hi_open=True)
        for name in ("value_scale", "prior", "gain_beta"):
            _in_range(name, getattr(self, name), 0.0, inf, lo_open=True, hi_open=True)
        _in_range("forgetting", self.forgetting, 0.0, 1.0, hi_open=True)
        _in_range("sr_gamma", self.sr_gamma, 0.0, 1.0, hi_open=True)
        _in_range("sr_alpha", self.sr_alpha, 0.0, 1.0, lo_open=True)
        c = self.candidates
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1:
            raise ValueError(f"candidates must be an int >= 1, got {c!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class Allocation(NamedTuple):
    """What one allocation computed (the Trace columns of the same names)."""

    share: float  #: offline share of the capacity, in (0, 1) (column ``allocation``)
    demand: float  #: attention demand D
    uncertainty: float  #: predicted uncertainty U(s)
    stake: float  #: stake K(s)
    voc: float  #: value of offline computation V


def softmax_rows(Q: np.ndarray, beta: float) -> np.ndarray:
    """Row-wise softmax exp(beta Q) / Z, stable."""
    z = beta * (Q - Q.max(axis=-1, keepdims=True))
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def expected_backup_value(
    Q: np.ndarray,
    s: np.ndarray,
    a: np.ndarray,
    r: np.ndarray,
    s2: np.ndarray,
    term: np.ndarray,
    gamma: float,
    beta: float,
) -> np.ndarray:
    """Mattar & Daw's Gain of the full backup of each memory (s_i, a_i, r_i, s'_i), vectorised:
    sum_a pi_new(a|s_i) Q_new(s_i, a) - sum_a pi_old(a|s_i) Q_new(s_i, a), >= 0."""
    s, a = np.asarray(s, dtype=np.int64), np.asarray(a, dtype=np.int64)
    y = np.asarray(r, dtype=np.float64) + np.where(term, 0.0, gamma * Q[s2].max(axis=1))
    q_old = Q[s]
    q_new = q_old.copy()
    q_new[np.arange(len(s)), a] = y
    p_old, p_new = softmax_rows(q_old, beta), softmax_rows(q_new, beta)
    return np.maximum(((p_new - p_old) * q_new).sum(axis=1), 0.0)


class Allocator:
    """Offline processing allocated by the agent (Dohmatob et al. 2020, "Reinforcement
    learning control: a process model for DMN function", "Putting everything together"):
    share = sigmoid(beta (V - D + bias)), V Mattar & Daw's gain x need of the best backup on
    offer, D the demand of attending (predicted uncertainty under forgetting, plus the stake);
    see the module docstring for the equations."""

    def __init__(
        self,
        n_states: int,
        n_actions: int,
        config: AllocationConfig | None = None,
        *,
        rng: np.random.Generator,
    ) -> None:
        for name, v in (("n_states", n_states), ("n_actions", n_actions)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        self.config = config if config is not None else AllocationConfig()
        if not isinstance(self.config, AllocationConfig):
            raise TypeError(f"config must be an AllocationConfig, got {type(config)!r}")
        self.n_states, self.n_actions = int(n_states), int(n_actions)
        self.rng = rng
        S, A = self.n_states, self.n_actions
        self._counts: list[dict[int, float]] = [{} for _ in range(S * A)]
        self._total = [0.0] * (S * A)
        self._rbar = [0.0] * (S * A)  # reward of each pair, averaged with the same forgetting
        self.terminal = np.zeros(S, dtype=bool)  # states seen to end an episode
        self._log_s = math.log(S) if S > 1 else 1.0
        self.M = np.eye(S) if self.config.need == "sr" else None
        self.last = Allocation(float("nan"), float("nan"), float("nan"), float("nan"), 0.0)

    # -- learning from real steps ----------------------------------------------------------
    def observe(self, s: int, a: int, r: float, s2: int, terminated: bool) -> None:
        """Learn from one real transition: forgetting outcome counts and rewards, the SR."""
        k = s * self.n_actions + a
        keep = 1.0 - self.config.forgetting
        c = self._counts[k]
        if keep < 1.0:
            for x in list(c):
                v = c[x] * keep
                if v < 1e-9:
                    del c[x]
                else:
                    c[x] = v
        c[s2] = c.get(s2, 0.0) + 1.0
        self._total[k] = sum(c.values())
        self._rbar[k] += (float(r) - self._rbar[k]) / self._total[k]
        if terminated:
            self.terminal[s2] = True
        if self.M is not None:
            sr_update(self.M, s, s2, terminated, self.config.sr_alpha, self.config.sr_gamma)

    # -- the terms ---------------------------------------------------------------------------
    def predictive(self, s: int, a: int) -> np.ndarray:
        """P~(. | s, a), the Dirichlet-multinomial prediction with forgetting (sums to 1)."""
        S, alpha0 = self.n_states, self.config.prior
        k = s * self.n_actions + a
        p = np.full(S, alpha0 / S)
        for x, n in self._counts[k].items():
            p[x] += n
        return p / (self._total[k] + alpha0)

    def pair_uncertainty(self, s: int, a: int) -> float:
        """U(s, a) in [0, 1]: 1 - sum_s' P~(s'|s, a)^2 ("expected_error") or
        H[P~(. | s, a)] / log S ("entropy"); O(outcomes seen)."""
        S, alpha0 = self.n_states, self.config.prior
        if S == 1:
            return 0.0
        k = s * self.n_actions + a
        c = self._counts[k]
        z = self._total[k] + alpha0
        base = alpha0 / S / z
        if self.config.uncertainty == "expected_error":
            sq = (S - len(c)) * base * base
            for n in c.values():
                p = n / z + base
                sq += p * p
            return min(1.0, max(0.0, 1.0 - sq))
        h = 0.0
        for n in c.values():
            p = n / z + base
            h -= p * math.log(p)
        h -= (S - len(c)) * base * math.log(base)
        return min(1.0, max(0.0, h / self._log_s))

    def uncertainty(self, s: int, policy: np.ndarray) -> float:
        """U(s) = sum_a pi(a|s) H[P~(. | s, a)] / log S."""
        return float(
            sum(p * self.pair_uncertainty(s, a) for a, p in enumerate(policy.tolist()) if p > 0)
        )

    def lookahead(self, s: int, Q: np.ndarray, gamma: float) -> np.ndarray:
        """One-step look-ahead values of the tried actions of ``s`` in the agent's own model,
        r~(s, a) + gamma sum_s' p~(s'|s, a) max_a' Q(s', a') (p~ the forgetting counts
        normalised, 0 beyond a state seen to end an episode); NaN for untried actions."""
        A = self.n_actions
        out = np.full(A, np.nan)
        for a in range(A):
            k = s * A + a
            tot = self._total[k]
            if tot <= 0:
                continue
            v = 0.0
            for x, n in self._counts[k].items():
                if not self.terminal[x]:
                    v += n * float(Q[x].max())
            out[a] = self._rbar[k] + gamma * v / tot
        return out

    def stake(self, s: int, Q: np.ndarray, gamma: float) -> float:
        """K(s) = (max_a q(s, a) - min_a q(s, a)) / value_scale over the tried actions, q the
        one-step look-ahead (:meth:`lookahead`); 0 with fewer than two tried actions."""
        q = self.lookahead(s, Q, gamma)
        q = q[~np.isnan(q)]
        if len(q) < 2:
            return 0.0
        return float(q.max() - q.min()) / self.config.value_scale

    def value_of_computation(self, state: int, Q: np.ndarray, memory, gamma: float) -> float:
        """V = w_voc max_i Gain(e_i) Need(s_i) over ``candidates`` memories of
        ``memory`` (a :class:`~darkcontrol.agents.replay_memory.TransitionStore`: ``states,
        actions, rewards, next_states, terminated`` arrays and ``len``), drawn uniformly
        with this allocator's generator; 0 with an empty memory."""
        n = len(memory)
        if n == 0:
            return 0.0
        cfg = self.config
        k = min(cfg.candidates, n)
        idx = self.rng.integers(0, n, size=k) if k < n else np.arange(n)
        s = memory.states[idx]
        gain = expected_backup_value(
            Q, s, memory.actions[idx], memory.rewards[idx], memory.next_states[idx],
            memory.terminated[idx], gamma,
            cfg.gain_beta,
        )  # fmt: skip
        if self.M is None:
            need = np.ones(k)
        else:
            need = (1.0 - cfg.sr_gamma) * np.maximum(self.M[state, s], 0.0)
        return cfg.w_voc * float((gain * need).max())

    # -- the allocation ----------------------------------------------------------------------
    def allocate(
        self,
        state: int,
        Q: np.ndarray,
        policy: np.ndarray,
        memory,
        gamma: float,
        *,
        idle: bool = False,
    ) -> Allocation:
        """The allocation with the agent in ``state`` about to act with ``policy`` (pi(.|s));
        ``idle``: no action is required (the episode just ended, or a rest block): U = K = 0."""
        cfg = self.config
        if idle:
            u = k = 0.0
        else:
            u = self.uncertainty(state, np.asarray(policy, dtype=np.float64))
            k = self.stake(state, Q, gamma)
        if cfg.demand == "constant":
            d = cfg.constant_demand
        else:
            d = cfg.w_uncertainty * u + cfg.w_stake * k
        v = self.value_of_computation(state, Q, memory, gamma)
        x = cfg.beta * (v - d + cfg.bias)
        share = 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0
        self.last = Allocation(share, d, u, k, v)
        return self.last
