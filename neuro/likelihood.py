"""Behavioural models and the log-likelihood of a participant's choices under them.

Every model evaluates ``K`` parameter vectors at once: its learner keeps a ``(K, S, A)`` value
array and each trial costs a handful of numpy operations whatever ``K`` is, so one pass over a
participant's history gives the likelihood at a point *and* its finite-difference gradient or
Hessian (``fitting.py``), or the likelihood at thousands of samples from a group prior (the
integrated BIC of ``hierarchical.py``). The same learner, with ``K = 1``, simulates participants
(:meth:`Model.simulate`) and replays a fitted agent over a participant's history
(:meth:`Model.replay`), so the generative model, the likelihood and the trial-wise regressors
cannot disagree.

Models (Wilson & Collins 2019, eLife 8:e49547, "Ten simple rules", Box 2; Daw 2011, "Trial-by-
trial data analysis using computational models", Attention & Performance XXIII):

``random``          P(a) = softmax(b)_a with biases b (b_0 = 0): choices ignore outcomes
``wsls``            win-stay lose-shift with noise eps: after a win (r > 0) repeat with
                    1 - eps + eps/A; after a loss switch uniformly to another arm with
                    (1 - eps) (each (1 - eps)/(A - 1) + eps/A); first choice uniform
``q_learning``      delta = r - Q(s, a); Q(s, a) += alpha delta;
                    P(a | s) = softmax_a(beta Q(s, a))            (Sutton & Barto 2018)
``q_persev``        P(a | s) = softmax_a(beta Q(s, a) + kappa [a = a_prev(s)])  (choice kernel,
                    Lau & Glimcher 2005, J Exp Anal Behav 84:555)
``q_dual``          alpha_pos if delta >= 0 else alpha_neg (Frank et al. 2007, PNAS 104:16311)
``q_dual_persev``   both
``q_lapse``         epsilon-softmax: P = (1 - eps) softmax(beta Q) + eps / A
``q_eps_greedy``    epsilon-greedy: P = (1 - eps) [a in argmax Q] / |argmax| + eps / A;
                    the likelihood is piecewise constant in alpha (not smooth), fitted without
                    gradients
``q_nav``           Q-learning over a known state sequence: delta = r + gamma (1 - term)
                    max_a' Q(s', a') - Q(s, a), as :class:`darkcontrol.agents.tabular.QLearning`
``q_nav_persev``    with a per-state choice kernel
``two_step_hybrid`` Daw et al. (2011, Neuron 69:1204) two-step hybrid, 7 parameters:
                    Q_MB(a) = sum_s' P(s'|a) max_b Q2(s', b) with the known 0.7/0.3 transitions;
                    Q_net = w Q_MB + (1 - w) Q_MF;
                    P(a1) = softmax(beta1 (Q_net(a) + perseveration [a = a1_prev]));
                    P(a2 | s2) = softmax(beta2 Q2(s2, .));
                    delta1 = Q2(s2, a2) - Q_MF(a1); delta2 = r - Q2(s2, a2);
                    Q_MF(a1) += alpha1 (delta1 + lam delta2); Q2(s2, a2) += alpha2 delta2
``hybrid_1alpha``   alpha1 = alpha2 = alpha (6 parameters)
``model_free``      hybrid_1alpha with w = 0 (SARSA(lambda), Daw's TD model)
``model_based``     hybrid_1alpha with w = 1, lam = 0 (lam has no effect when w = 1)

Parameters are bounded; fitting works on an unbounded scale (:class:`Param`: u = logit((x - lo)
/ (hi - lo)) for rates and weights, u = log x for inverse temperatures, as Huys et al. 2011),
where MAP and hierarchical fits put Gaussian priors. Initial values are
``q_init`` (default 0, as the agents of ``darkcontrol.agents``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.special import expit

from darkcontrol._util import make_rng
from darkcontrol.neuro import kernels
from darkcontrol.neuro.behavior import (
    TWO_STEP_N_ACTIONS,
    TWO_STEP_N_STATES,
    Behavior,
    make_onsets,
)

_EPS_LOG = 1e-300  # floor inside log() so that a zero-probability choice gives a huge finite cost


U_MAX = 10.0  # box of a logit-scaled parameter on the unbounded scale (within 5e-5 of a bound)
LOG_RANGE = 1e-4  # a log-scaled parameter is boxed to [LOG_RANGE * upper, upper]
TRANSFORMS = ("logit", "log")


@dataclass(frozen=True)
class Param:
    """A bounded model parameter, its transform, default prior and simulation range.

    ``transform="logit"``: u = logit((x - lower) / (upper - lower)), boxed to |u| <= U_MAX.
    ``transform="log"`` (positive scale parameters such as inverse temperatures): u = log x,
    boxed to [log(LOG_RANGE upper), log upper]; the logit's plateau near the upper bound would
    otherwise trap optimisers at a huge beta. ``to_natural`` does not clip (group samples may
    leave the box); the box is the optimiser's."""

    name: str  #: identifier
    lower: float  #: lower bound (0 for transform="log")
    upper: float  #: upper bound
    prior_mean: float  #: natural-scale centre of the Gaussian prior on the unbounded scale
    prior_sd: float = 1.5  #: sd of that prior on the unbounded scale
    sim_range: tuple[float, float] = (0.0, 1.0)  #: default U(lo, hi) of true values in recovery
    doc: str = ""  #: one-line meaning
    transform: str = "logit"  #: "logit" | "log"

    def __post_init__(self) -> None:
        if not self.lower < self.upper:
            raise ValueError(f"{self.name}: need lower < upper, got {self.lower}, {self.upper}")
        if not self.lower < self.prior_mean < self.upper:
            raise ValueError(f"{self.name}: prior_mean {self.prior_mean} outside the bounds")
        if self.prior_sd <= 0:
            raise ValueError(f"{self.name}: prior_sd must be > 0, got {self.prior_sd}")
        if self.transform not in TRANSFORMS:
            raise ValueError(f"{self.name}: transform must be one of {TRANSFORMS}")
        if self.transform == "log" and self.lower != 0:
            raise ValueError(f"{self.name}: a log-scaled parameter needs lower = 0")

    def to_unbounded(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.transform == "log":
            return np.log(np.maximum(x, LOG_RANGE * self.upper))
        p = (x - self.lower) / (self.upper - self.lower)
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return np.log(p) - np.log1p(-p)

    def to_natural(self, u: Any) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        if self.transform == "log":
            return np.exp(u)
        return self.lower + (self.upper - self.lower) * expit(u)

    @property
    def u_bounds(self) -> tuple[float, float]:
        """The optimiser's box on the unbounded scale."""
        if self.transform == "log":
            return math.log(LOG_RANGE * self.upper), math.log(self.upper)
        return -U_MAX, U_MAX

    @property
    def prior_mean_u(self) -> float:
        return float(self.to_unbounded(self.prior_mean))


def _alpha(name: str = "alpha", doc: str = "learning rate") -> Param:
    return Param(name, 0.0, 1.0, 0.4, 1.5, (0.1, 0.9), doc)


BETA_MAX = 20.0
BETA = Param("beta", 0.0, BETA_MAX, 3.0, 1.0, (1.0, 10.0), "inverse temperature", "log")
KAPPA = Param("kappa", -5.0, 5.0, 0.0, 1.0, (0.5, 2.5), "perseveration (choice-kernel) weight")
EPSILON = Param("epsilon", 0.0, 1.0, 0.1, 1.5, (0.05, 0.3), "lapse / exploration rate")
GAMMA = Param("gamma", 0.0, 1.0, 0.9, 1.5, (0.5, 0.99), "discount factor")


class Model(ABC):
    """A behavioural model: parameters, vectorised likelihood, replay and simulation.

    ``fixed`` holds parameters at given natural values (they are not fitted and do not count
    in AIC/BIC). Subclasses set ``name``, ``task``, ``params`` and implement ``_learner``-based
    :meth:`_loglik`, :meth:`replay` and :meth:`simulate`.
    """

    name: str
    task: ClassVar[str]
    params: tuple[Param, ...]
    smooth: bool = True  # False: likelihood piecewise constant, fit without gradients

    def __init__(self, name: str, params: tuple[Param, ...], fixed: Mapping[str, float] | None):
        self.name = name
        self.params = tuple(params)
        names = [p.name for p in self.params]
        fixed = dict(fixed or {})
        unknown = sorted(set(fixed) - set(names))
        if unknown:
            raise ValueError(f"cannot fix {unknown}: {name!r} has parameters {names}")
        for key, value in fixed.items():
            p = self.params[names.index(key)]
            if not p.lower <= float(value) <= p.upper:
                raise ValueError(f"fixed {key}={value} outside [{p.lower}, {p.upper}]")
        self.fixed = {k: float(v) for k, v in fixed.items()}
        self._free_idx = np.array([i for i, n in enumerate(names) if n not in self.fixed], int)

    # -- parameters --------------------------------------------------------------------------
    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def free_params(self) -> tuple[Param, ...]:
        return tuple(self.params[i] for i in self._free_idx)

    @property
    def free_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.free_params)

    @property
    def n_free(self) -> int:
        return len(self._free_idx)

    def theta(self, params: Mapping[str, float] | np.ndarray) -> np.ndarray:
        """Full natural parameter vector (P,) from a dict (fixed ones may be omitted)."""
        if not isinstance(params, Mapping):
            arr = np.asarray(params, dtype=np.float64)
            if arr.shape != (len(self.params),):
                raise ValueError(f"expected {len(self.params)} parameters, got {arr.shape}")
            return arr
        unknown = sorted(set(params) - set(self.param_names))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for {self.name!r}")
        out = np.empty(len(self.params))
        for i, p in enumerate(self.params):
            if p.name in self.fixed:
                if p.name in params and float(params[p.name]) != self.fixed[p.name]:
                    raise ValueError(f"{p.name} is fixed at {self.fixed[p.name]} in {self.name}")
                out[i] = self.fixed[p.name]
            elif p.name in params:
                out[i] = float(params[p.name])
            else:
                raise ValueError(f"missing parameter {p.name!r} for {self.name!r}")
            if not p.lower <= out[i] <= p.upper:
                raise ValueError(f"{p.name}={out[i]} outside [{p.lower}, {p.upper}]")
        return out

    def as_dict(self, theta: np.ndarray) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.param_names, np.asarray(theta).reshape(-1))}

    def from_unbounded(self, u: np.ndarray) -> np.ndarray:
        """(K, n_free) unbounded -> (K, P) full natural parameters (fixed ones filled in)."""
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        K = u.shape[0]
        theta = np.empty((K, len(self.params)))
        for j, p in enumerate(self.params):
            theta[:, j] = self.fixed.get(p.name, np.nan)
        for col, i in enumerate(self._free_idx):
            theta[:, i] = self.params[i].to_natural(u[:, col])
        return theta

    def to_unbounded(self, params: Mapping[str, float] | np.ndarray) -> np.ndarray:
        """Free parameters on the unbounded scale (n_free,)."""
        theta = self.theta(params)
        return np.array([self.params[i].to_unbounded(theta[i]) for i in self._free_idx])

    def prior(self) -> tuple[np.ndarray, np.ndarray]:
        """Default Gaussian prior (mean, sd) of the free parameters on the unbounded scale."""
        free = self.free_params
        return np.array([p.prior_mean_u for p in free]), np.array([p.prior_sd for p in free])

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "task": self.task,
            "params": list(self.param_names),
            "fixed": dict(self.fixed),
            "config": self.config(),
        }

    def config(self) -> dict[str, Any]:
        return {}

    # -- the agent this model is the likelihood of -------------------------------------------
    @property
    def agent(self) -> str | None:
        """Registry name (``darkcontrol.agents.make_agent``) of the agent whose choices this
        model scores, with the same parameter names, or None. A fit then builds the agent:
        ``make_agent(model.agent, env, **model.agent_options(), **fit.params)``."""
        return None

    def agent_options(self) -> dict[str, Any]:
        """The agent's non-fitted settings that make it this model (choice rule, q_init...)."""
        if self.agent is None:
            raise ValueError(f"model {self.name!r} is not the likelihood of an agent")
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} free={list(self.free_names)}>"

    # -- likelihood --------------------------------------------------------------------------
    def check(self, behavior: Behavior) -> None:
        if not isinstance(behavior, Behavior):
            raise TypeError(f"expected a Behavior, got {type(behavior).__name__}")
        if behavior.task != self.task:
            raise ValueError(
                f"model {self.name!r} is for the {self.task} task, behaviour "
                f"{behavior.participant} is {behavior.task}"
            )

    def loglik(self, theta: np.ndarray, behavior: Behavior) -> np.ndarray:
        """Sum over observed choices of log P(choice), for K parameter vectors (K, P) -> (K,)."""
        self.check(behavior)
        theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
        if theta.ndim != 2 or theta.shape[1] != len(self.params):
            raise ValueError(
                f"theta must have shape (K, {len(self.params)}) for {self.name}, got {theta.shape}"
            )
        return self._loglik(theta, behavior)

    def nll(self, theta: np.ndarray, behavior: Behavior) -> np.ndarray:
        return -self.loglik(theta, behavior)

    @property
    def has_gradient(self) -> bool:
        """Whether :meth:`loglik_grad` gives exact gradients (compiled forward mode)."""
        return False

    def loglik_grad(self, theta: np.ndarray, behavior: Behavior) -> tuple[np.ndarray, np.ndarray]:
        """Log-likelihoods (K,) and their gradients (K, P) with respect to the natural
        parameters, from one compiled pass (``darkcontrol.neuro.kernels``)."""
        raise NotImplementedError(f"{self.name} has no analytic gradient; use finite differences")

    def nll_and_grad_u(self, u: np.ndarray, behavior: Behavior) -> tuple[float, np.ndarray]:
        """NLL at free parameters ``u`` (n_free,) on the unbounded scale and its gradient
        there: the natural-scale gradient times dtheta/du (logit: (hi - lo) s (1 - s) with
        s = expit(u); log: theta)."""
        self.check(behavior)
        u = np.asarray(u, dtype=np.float64).reshape(-1)
        theta = self.from_unbounded(u[None, :])
        ll, g = self.loglik_grad(theta, behavior)
        jac = np.empty(len(u))
        for col, i in enumerate(self._free_idx):
            p = self.params[i]
            if p.transform == "log":
                jac[col] = theta[0, i]
            else:
                sig = expit(u[col])
                jac[col] = (p.upper - p.lower) * sig * (1.0 - sig)
        return -float(ll[0]), -g[0, self._free_idx] * jac

    @abstractmethod
    def _loglik(self, theta: np.ndarray, behavior: Behavior) -> np.ndarray: ...

    def _loglik_numpy(self, theta: np.ndarray, behavior: Behavior) -> np.ndarray:
        return self._loglik(theta, behavior)

    def loglik_reference(self, theta: np.ndarray, behavior: Behavior) -> np.ndarray:
        """:meth:`loglik` by the numpy trial loop (the reference of the compiled kernels)."""
        self.check(behavior)
        return self._loglik_numpy(np.atleast_2d(np.asarray(theta, dtype=np.float64)), behavior)

    @abstractmethod
    def replay(self, params: Mapping[str, float], behavior: Behavior) -> dict[str, np.ndarray]:
        """Trial-wise quantities of the agent replayed over the participant's own history."""

    @abstractmethod
    def simulate(
        self,
        params: Mapping[str, float],
        env: Any,
        *,
        n_trials: int = 200,
        seed: int | np.random.Generator | None = None,
        participant: str = "sub-01",
        **kw: Any,
    ) -> Behavior:
        """A simulated participant acting with this model in a Gymnasium ``env``."""


def _log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax along ``axis`` (numerically stable; cheaper than scipy's logsumexp)."""
    if z.shape[axis] == 2:
        a, b = np.split(z, 2, axis=axis)
        return z - np.logaddexp(a, b)
    m = z.max(axis=axis, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=axis, keepdims=True)))


def _entropy(logp: np.ndarray) -> np.ndarray:
    p = np.exp(logp)
    return -(np.where(p > 0, p * logp, 0.0)).sum(axis=-1)


def _reset_env(env: Any, rng: np.random.Generator | None) -> tuple[int, dict]:
    """Seeded reset from ``rng`` (the session's first), or an unseeded one (``rng=None``) that
    continues the env's hidden processes (drifting reward probabilities) where they are."""
    seed = None if rng is None else int(rng.integers(2**31 - 1))
    obs, info = env.reset(seed=seed)
    return int(obs), info


def _reward_probs(info: Mapping[str, Any]) -> np.ndarray | None:
    rp = info.get("reward_probs") if isinstance(info, Mapping) else None
    return None if rp is None else np.asarray(rp, dtype=np.float64).reshape(-1)


def _extras(rows: list[np.ndarray | None]) -> dict[str, np.ndarray]:
    """Per-trial reward probabilities from the env's info, as ``reward_prob_<i>`` columns."""
    if not rows or any(r is None for r in rows):
        return {}
    arr = np.vstack(rows)
    return {f"reward_prob_{i}": arr[:, i] for i in range(arr.shape[1])}


# ---------------------------------------------------------------------------------------------
# Bandit / navigation: Q-learning family, WSLS, random
CHOICE_RULES = ("softmax", "epsilon_softmax", "epsilon_greedy")


def _choice_history(b: Behavior, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """For each trial, the previous response in the same state (-1 if none) and whether its
    outcome was a win (> threshold); missed trials do not count as responses. Cached on the
    Behavior (whose arrays are treated as immutable)."""
    key = ("choice_history", threshold)
    if key not in b.cache:
        b.cache[key] = _compute_choice_history(b, threshold)
    return b.cache[key]


def _compute_choice_history(b: Behavior, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    prev = np.full(b.n_trials, -1, dtype=np.int64)
    won = np.zeros(b.n_trials, dtype=bool)
    last: dict[int, tuple[int, bool]] = {}
    for t, (s, a, r) in enumerate(zip(b.state.tolist(), b.choice.tolist(), b.outcome.tolist())):
        if s in last:
            prev[t], won[t] = last[s]
        if a >= 0:
            last[s] = (a, r > threshold)
    return prev, won


def _onehot(idx: np.ndarray, A: int) -> np.ndarray:
    """(N,) indices (-1: none) -> (N, A) indicators."""
    out = np.zeros((len(idx), A))
    ok = idx >= 0
    out[np.flatnonzero(ok), idx[ok]] = 1.0
    return out


class _StepModel(Model):
    """A model of one choice per step (bandit trials, navigation steps).

    The likelihood runs in two parts: a loop over trials that only updates the values and keeps
    a snapshot of Q(s_t, .) before each update ((T, K, A); the participant's choices are known,
    so values do not depend on the policy), then the policy of every trial at once
    (:meth:`_logp`), vectorised over trials and parameter sets."""

    task = "bandit"
    win_threshold = 0.0  # outcome above which a trial counts as a win (choice history)

    def __init__(self, name, params, fixed, task: str) -> None:
        if task not in ("bandit", "navigation"):
            raise ValueError(f"task must be 'bandit' or 'navigation', got {task!r}")
        self.task = task  # type: ignore[misc]
        super().__init__(name, params, fixed)
        self.ix = {p.name: i for i, p in enumerate(self.params)}

    # hooks ----------------------------------------------------------------------------------
    def _new_values(self, K: int, S: int, A: int) -> np.ndarray | None:
        """Initial (K, S, A) values, or None for a model without values."""
        return None

    def _columns(self, theta: np.ndarray) -> Any:
        """Per-parameter-set columns the update needs, extracted once per pass."""
        return None

    def _update(self, Q, cols, s, a, r, s2, terminal):
        """Learn from one transition in place; returns (target, delta, step) or None."""
        return None

    @abstractmethod
    def _logp(self, theta, values, prev, won, A: int) -> np.ndarray:
        """(N, K, A) log pi from values (N, K, A) (or None), previous choice and win (N,)."""

    # likelihood, replay, simulation ---------------------------------------------------------
    def _values(self, theta: np.ndarray, b: Behavior, rec: dict | None = None):
        K = theta.shape[0]
        Q = self._new_values(K, b.n_states, b.n_actions)
        if Q is None:
            return None
        hist = np.empty((b.n_trials, K, b.n_actions))
        update = self._update
        cols = self._columns(theta)
        nav = self.task == "navigation"
        for t, (s, a, r, s2, term) in enumerate(
            zip(
                b.state.tolist(),
                b.choice.tolist(),
                b.outcome.tolist(),
                b.next_state.tolist(),
                b.terminated.tolist(),
            )
        ):
            hist[t] = Q[:, s, :]
            if a < 0:  # missed: no outcome to learn from
                continue
            res = update(Q, cols, s, a, r, s2, term if nav else True)
            if rec is not None:
                rec["q"][t] = hist[t, 0, a]
                rec["target"][t], rec["rpe"][t], rec["update"][t] = (np.ravel(x)[0] for x in res)
        return hist

    def _loglik(self, theta: np.ndarray, b: Behavior) -> np.ndarray:
        return self._loglik_numpy(theta, b)

    def _loglik_numpy(self, theta: np.ndarray, b: Behavior) -> np.ndarray:
        values = self._values(theta, b)
        prev, won = _choice_history(b, self.win_threshold)
        tv = np.flatnonzero((b.choice >= 0) & b.scored)
        if values is not None:
            values = values[tv]
        lp = self._logp(theta, values, prev[tv], won[tv], b.n_actions)
        return lp[np.arange(len(tv)), :, b.choice[tv]].sum(axis=0)

    def replay(self, params: Mapping[str, float], b: Behavior) -> dict[str, np.ndarray]:
        """Per trial: q (Q(s, a) before the update), target, rpe, update (alpha delta),
        choice_prob, policy_entropy, values (T, A) and probs (T, A); NaN on missed trials and
        for quantities the model does not have (WSLS / random: no values)."""
        self.check(b)
        theta = self.theta(params)[None, :]
        T, A = b.n_trials, b.n_actions
        out = {k: np.full(T, np.nan) for k in ("q", "target", "rpe", "update", "choice_prob")}
        values = self._values(theta, b, rec=out)
        prev, won = _choice_history(b, self.win_threshold)
        lp = self._logp(theta, values, prev, won, A)[:, 0, :]
        out["values"] = np.full((T, A), np.nan) if values is None else values[:, 0, :]
        out["probs"] = np.exp(lp)
        out["policy_entropy"] = _entropy(lp)
        tv = np.flatnonzero(b.choice >= 0)
        out["choice_prob"][tv] = out["probs"][tv, b.choice[tv]]
        return out

    def simulate(
        self,
        params: Mapping[str, float],
        env: Any,
        *,
        n_trials: int = 200,
        seed: int | np.random.Generator | None = None,
        participant: str = "sub-01",
        n_episodes: int | None = None,
        max_steps: int = 500,
        trial_duration: float = 2.0,
        iti: tuple[float, float] = (1.0, 4.0),
    ) -> Behavior:
        """Act in a Gymnasium ``env`` with Discrete spaces.

        Bandit: ``n_trials`` pulls (the env's hidden process continues across its own episode
        ends; each pull is a terminal trial for the learner). Navigation: ``n_episodes``
        episodes of at most ``max_steps`` steps (``n_trials`` is ignored). Onsets:
        :func:`darkcontrol.neuro.behavior.make_onsets`."""
        rng = make_rng(seed)
        theta = self.theta(params)[None, :]
        S, A = int(env.observation_space.n), int(env.action_space.n)
        Q = self._new_values(1, S, A)
        qcols = self._columns(theta)
        last: dict[int, tuple[int, bool]] = {}
        cols: dict[str, list] = {k: [] for k in ("s", "a", "r", "s2", "term", "ep", "rp")}
        nav = self.task == "navigation"
        if nav and (n_episodes is None or n_episodes < 1):
            raise ValueError(f"navigation needs n_episodes >= 1, got {n_episodes}")
        if not nav and n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        state, info = _reset_env(env, rng)
        episode, steps = 0, 0
        while True:
            prev, won = last.get(state, (-1, False))
            values = None if Q is None else Q[:, state, :][None]
            lp = self._logp(theta, values, np.array([prev]), np.array([won]), A)[0, 0]
            a = int(rng.choice(A, p=_probs(lp)))
            rp = _reward_probs(info)
            nxt, r, terminated, truncated, info = env.step(a)
            nxt = int(nxt) if nav else state
            term = bool(terminated) if nav else True
            self._update(Q, qcols, state, a, float(r), nxt, term)
            last[state] = (a, float(r) > self.win_threshold)
            for k, v in zip(cols, (state, a, float(r), nxt, term, episode, rp)):
                cols[k].append(v)
            state, steps = nxt, steps + 1
            if not nav:
                if steps >= n_trials:
                    break
                if terminated or truncated:
                    state, info = _reset_env(env, None)
            elif terminated or truncated or steps >= max_steps:
                episode, steps = episode + 1, 0
                if episode >= n_episodes:
                    break
                state, info = _reset_env(env, None)
        T = len(cols["a"])
        return Behavior(
            task=self.task,
            onset=make_onsets(T, rng, trial_duration=trial_duration, iti=iti),
            state=np.array(cols["s"]),
            choice=np.array(cols["a"]),
            outcome=np.array(cols["r"]),
            n_states=S,
            n_actions=A,
            next_state=np.array(cols["s2"]),
            terminated=np.array(cols["term"]),
            episode=np.array(cols["ep"]),
            duration=np.full(T, trial_duration),
            participant=participant,
            source=f"simulated {self.name}",
            extra=_extras(cols["rp"]),
        )


def _probs(logp: np.ndarray) -> np.ndarray:
    p = np.exp(logp - logp.max())
    return p / p.sum()


class QModel(_StepModel):
    """The Q-learning family (see the module docstring for the equations)."""

    def __init__(
        self,
        name: str = "q_learning",
        *,
        task: str = "bandit",
        choice_rule: str = "softmax",
        dual_alpha: bool = False,
        perseveration: bool = False,
        q_init: float = 0.0,
        fixed: Mapping[str, float] | None = None,
    ) -> None:
        if choice_rule not in CHOICE_RULES:
            raise ValueError(f"choice_rule must be one of {CHOICE_RULES}, got {choice_rule!r}")
        if choice_rule == "epsilon_greedy" and perseveration:
            raise ValueError("perseveration needs a softmax choice rule, not epsilon_greedy")
        if not math.isfinite(q_init):
            raise ValueError(f"q_init must be finite, got {q_init}")
        self.choice_rule = choice_rule
        self.dual_alpha = bool(dual_alpha)
        self.perseveration = bool(perseveration)
        self.q_init = float(q_init)
        ps: list[Param] = (
            [_alpha("alpha_pos", "learning rate, delta >= 0"), _alpha("alpha_neg", "delta < 0")]
            if dual_alpha
            else [_alpha()]
        )
        if choice_rule != "epsilon_greedy":
            ps.append(BETA)
        if choice_rule != "softmax":
            ps.append(EPSILON)
        if perseveration:
            ps.append(KAPPA)
        if task == "navigation":
            ps.append(GAMMA)
        self.smooth = choice_rule != "epsilon_greedy"
        super().__init__(name, tuple(ps), fixed, task)

    @property
    def agent(self) -> str | None:
        plain = not self.dual_alpha and not self.perseveration
        return "q_learning" if plain and self.choice_rule != "epsilon_softmax" else None

    def agent_options(self) -> dict[str, Any]:
        super().agent_options()
        out: dict[str, Any] = {"policy": self.choice_rule, "q_init": self.q_init}
        if self.task == "bandit":  # every pull is its own trial: no bootstrapping
            out["gamma"] = 0.0
        return out

    def config(self) -> dict[str, Any]:
        return {
            "choice_rule": self.choice_rule,
            "dual_alpha": self.dual_alpha,
            "perseveration": self.perseveration,
            "q_init": self.q_init,
        }

    def _new_values(self, K, S, A):
        return np.full((K, S, A), self.q_init)

    # compiled likelihood ---------------------------------------------------------------------
    @property
    def has_gradient(self) -> bool:
        return kernels.HAVE_NUMBA and self.choice_rule != "epsilon_greedy"

    def _roles(self) -> np.ndarray:
        ix = dict(self.ix)
        if self.dual_alpha:
            ix["alpha"] = ix["alpha_pos"]
        return np.array([ix.get(r, -1) for r in kernels.Q_ROLES], dtype=np.int64)

    def _kernel(self, theta: np.ndarray, b: Behavior, want_grad: bool):
        key = ("q_kernel", self.win_threshold)
        if key not in b.cache:
            prev, _ = _choice_history(b, self.win_threshold)
            b.cache[key] = (
                np.ascontiguousarray(b.state, dtype=np.int64),
                np.ascontiguousarray(b.choice, dtype=np.int64),
                np.ascontiguousarray(b.outcome, dtype=np.float64),
                np.ascontiguousarray(b.next_state, dtype=np.int64),
                np.ascontiguousarray(b.terminated, dtype=np.bool_),
                np.ascontiguousarray((b.choice >= 0) & b.scored),
                np.ascontiguousarray(prev, dtype=np.int64),
            )
        return kernels.q_loglik(
            np.ascontiguousarray(theta, dtype=np.float64),
            self._roles(),
            kernels.RULE_CODES[self.choice_rule],
            self.task == "navigation",
            b.n_states,
            b.n_actions,
            self.q_init,
            *b.cache[key],
            want_grad,
        )

    def _loglik(self, theta: np.ndarray, b: Behavior) -> np.ndarray:
        if not kernels.HAVE_NUMBA:
            return self._loglik_numpy(theta, b)
        return self._kernel(theta, b, False)[0]

    def loglik_grad(self, theta: np.ndarray, behavior: Behavior) -> tuple[np.ndarray, np.ndarray]:
        if not self.has_gradient:
            return super().loglik_grad(theta, behavior)
        self.check(behavior)
        return self._kernel(np.atleast_2d(theta), behavior, True)

    def _columns(self, theta):
        ix = self.ix
        gamma = theta[:, ix["gamma"]] if "gamma" in ix else None
        if self.dual_alpha:
            return theta[:, ix["alpha_pos"]], theta[:, ix["alpha_neg"]], gamma
        return theta[:, ix["alpha"]], None, gamma

    def _update(self, Q, cols, s, a, r, s2, terminal):
        alpha, alpha_neg, gamma = cols
        q = Q[:, s, a]  # a view: updated in place below
        y = r if terminal else r + gamma * Q[:, s2, :].max(axis=1)
        delta = y - q
        if alpha_neg is not None:
            alpha = np.where(delta >= 0, alpha, alpha_neg)
        step = alpha * delta
        q += step
        return y, delta, step

    def _logp(self, theta, values, prev, won, A):
        ix = self.ix
        if self.choice_rule == "epsilon_greedy":
            best = values >= values.max(axis=2, keepdims=True) - 1e-12
            greedy = best / best.sum(axis=2, keepdims=True)
            eps = theta[:, ix["epsilon"]][None, :, None]
            return np.log(np.maximum((1.0 - eps) * greedy + eps / A, _EPS_LOG))
        z = theta[:, ix["beta"]][None, :, None] * values
        if self.perseveration:
            z = z + theta[:, ix["kappa"]][None, :, None] * _onehot(prev, A)[:, None, :]
        lp = _log_softmax(z)
        if self.choice_rule == "epsilon_softmax":
            eps = theta[:, ix["epsilon"]][None, :, None]
            lp = np.log((1.0 - eps) * np.exp(lp) + eps / A)
        return lp


class WSLSModel(_StepModel):
    """Noisy win-stay lose-shift (Wilson & Collins 2019, model 2); a win is r > win_threshold.

    Choice history is per state; the first choice in a state is uniform."""

    def __init__(
        self,
        name: str = "wsls",
        *,
        task: str = "bandit",
        win_threshold: float = 0.0,
        fixed: Mapping[str, float] | None = None,
    ) -> None:
        self.win_threshold = float(win_threshold)
        eps = Param("epsilon", 0.0, 1.0, 0.2, 1.5, (0.05, 0.4), "noise")
        super().__init__(name, (eps,), fixed, task)

    def config(self) -> dict[str, Any]:
        return {"win_threshold": self.win_threshold}

    def _logp(self, theta, values, prev, won, A):
        if A < 2:
            raise ValueError("win-stay lose-shift needs at least 2 actions")
        eps = theta[:, self.ix["epsilon"]][None, :, None]  # (1, K, 1)
        w = won[:, None, None]
        other = np.where(w, eps / A, (1.0 - eps) / (A - 1) + eps / A)  # (N, K, 1)
        same = np.where(w, 1.0 - eps + eps / A, eps / A)
        rep = _onehot(prev, A)[:, None, :]
        p = rep * same + (1.0 - rep) * other
        p = np.where((prev < 0)[:, None, None], 1.0 / A, p)
        return np.log(np.maximum(p, _EPS_LOG))


class RandomModel(_StepModel):
    """Random responding with bias (Wilson & Collins 2019, model 1): P(a) = softmax(b)_a."""

    def __init__(
        self,
        name: str = "random",
        *,
        task: str = "bandit",
        n_actions: int = 2,
        fixed: Mapping[str, float] | None = None,
    ) -> None:
        if n_actions < 2:
            raise ValueError(f"random needs n_actions >= 2, got {n_actions}")
        self.n_actions = int(n_actions)
        names = ["bias"] if n_actions == 2 else [f"bias_{k}" for k in range(1, n_actions)]
        ps = tuple(
            Param(n, -5.0, 5.0, 0.0, 1.5, (-1.0, 1.0), "choice bias vs arm 0") for n in names
        )
        super().__init__(name, ps, fixed, task)

    def config(self) -> dict[str, Any]:
        return {"n_actions": self.n_actions}

    def _logp(self, theta, values, prev, won, A):
        if A != self.n_actions:
            raise ValueError(f"{self.name} was built for {self.n_actions} actions, data has {A}")
        z = np.zeros((theta.shape[0], A))
        z[:, 1:] = theta
        lp = _log_softmax(z)
        return np.broadcast_to(lp[None], (len(prev), *lp.shape))


# ---------------------------------------------------------------------------------------------
# Two-step task: Daw et al. (2011) hybrid
# ---------------------------------------------------------------------------------------------
class TwoStepModel(Model):
    """Daw et al. (2011) hybrid model-based / model-free learner for the two-step task.

    ``perseveration_form="inside"`` (Daw 2011): softmax(beta1 [Q_net + perseveration rep]);
    ``"outside"``: softmax(beta1 Q_net + perseveration rep) (Otto et al. 2013, PNAS
    110:20941). Names (model, parameters, ``common_prob``) are those of the agent
    :class:`darkcontrol.agents.two_step.TwoStepHybrid`, so fitted parameters build it.
    As for step models, a loop keeps snapshots of Q_MF (stage 1) and Q2 before each trial's
    update; both stages' policies are then computed for all trials at once."""

    task = "two_step"

    def __init__(
        self,
        name: str = "two_step_hybrid",
        *,
        one_alpha: bool = False,
        common_prob: float = 0.7,
        perseveration_form: str = "inside",
        q_init: float = 0.0,
        fixed: Mapping[str, float] | None = None,
    ) -> None:
        if not 0.0 <= common_prob <= 1.0:
            raise ValueError(f"common_prob must be in [0, 1], got {common_prob}")
        if perseveration_form not in ("inside", "outside"):
            raise ValueError(
                f"perseveration_form must be 'inside' or 'outside', got {perseveration_form!r}"
            )
        self.one_alpha = bool(one_alpha)
        self.common_prob = float(common_prob)
        self.perseveration_form = perseveration_form
        self.q_init = float(q_init)
        # rows: actions; columns: second-stage states 1, 2 (action 0 commonly -> state 1)
        c = self.common_prob
        self.transitions = np.array([[c, 1 - c], [1 - c, c]])
        alphas = (
            [_alpha("alpha", "learning rate (both stages)")]
            if one_alpha
            else [_alpha("alpha1", "stage-1 learning rate"), _alpha("alpha2", "stage-2 rate")]
        )
        ps = [
            *alphas,
            Param("beta1", 0.0, BETA_MAX, 4.0, 1.0, (2.0, 8.0), "stage-1 inv. temperature", "log"),
            Param("beta2", 0.0, BETA_MAX, 4.0, 1.0, (2.0, 8.0), "stage-2 inv. temperature", "log"),
            Param("w", 0.0, 1.0, 0.5, 1.5, (0.0, 1.0), "model-based weight"),
            Param("lam", 0.0, 1.0, 0.5, 1.5, (0.0, 1.0), "eligibility trace lambda"),
            Param("perseveration", -2.0, 2.0, 0.0, 1.0, (0.0, 0.3), "stage-1 perseveration"),
        ]
        super().__init__(name, tuple(ps), fixed)
        self.ix = {p.name: i for i, p in enumerate(self.params)}

    @property
    def agent(self) -> str | None:
        inside = self.perseveration_form == "inside"
        return "two_step_hybrid" if inside and not self.one_alpha and not self.fixed else None

    def agent_options(self) -> dict[str, Any]:
        super().agent_options()
        return {"common_prob": self.common_prob, "q_init": self.q_init}

    def config(self) -> dict[str, Any]:
        return {
            "one_alpha": self.one_alpha,
            "common_prob": self.common_prob,
            "perseveration_form": self.perseveration_form,
            "q_init": self.q_init,
        }

    def _alphas(self, theta):
        ix = self.ix
        if self.one_alpha:
            return theta[:, ix["alpha"]], theta[:, ix["alpha"]]
        return theta[:, ix["alpha1"]], theta[:, ix["alpha2"]]

    def _new_values(self, K: int) -> tuple[np.ndarray, np.ndarray]:
        return np.full((K, 2), self.q_init), np.full((K, 3, 2), self.q_init)

    def _update(self, Q1, Q2, alpha1, alpha2, lam, a1, s2, a2, r):
        """Daw (2011): delta1 = Q2(s2,a2) - Q_MF(a1), delta2 = r - Q2(s2,a2);
        Q_MF(a1) += alpha1 (delta1 + lam delta2); Q2(s2,a2) += alpha2 delta2 (in place)."""
        q1 = Q1[:, a1]
        q2 = Q2[:, s2, a2]
        d1 = q2 - q1
        d2 = r - q2
        q1 += alpha1 * (d1 + lam * d2)
        q2 += alpha2 * d2
        return d1, d2

    def _values(self, theta, b: Behavior, rec: dict | None = None):
        K = theta.shape[0]
        Q1, Q2 = self._new_values(K)
        alpha1, alpha2 = self._alphas(theta)
        lam = theta[:, self.ix["lam"]]
        T = b.n_trials
        H1, H2 = np.empty((T, K, 2)), np.empty((T, K, 2, 2))
        for t, (a1, s2, a2, r) in enumerate(
            zip(b.choice.tolist(), b.next_state.tolist(), b.choice2.tolist(), b.outcome.tolist())
        ):
            H1[t] = Q1
            H2[t] = Q2[:, 1:, :]
            if a1 < 0 or a2 < 0:  # missed (either stage): no learning
                continue
            d1, d2 = self._update(Q1, Q2, alpha1, alpha2, lam, a1, s2, a2, r)
            if rec is not None:
                rec["rpe1"][t], rec["rpe2"][t] = d1[0], d2[0]
                rec["update1"][t] = alpha1[0] * (d1[0] + lam[0] * d2[0])
                rec["update2"][t] = alpha2[0] * d2[0]
        return H1, H2

    def _policy(self, theta, H1, H2, prev, s2):
        """Stage-1 and stage-2 log pi (N, K, 2) and Q_net, Q_MB (N, K, 2)."""
        ix = self.ix
        col = lambda n: theta[:, ix[n]][None, :, None]  # noqa: E731
        qmb = H2.max(axis=3) @ self.transitions.T
        w = col("w")
        qnet = w * qmb + (1.0 - w) * H1
        rep = _onehot(prev, 2)[:, None, :] * col("perseveration")
        z1 = (
            col("beta1") * (qnet + rep)
            if self.perseveration_form == "inside"
            else col("beta1") * qnet + rep
        )
        lp1 = _log_softmax(z1)
        z2 = col("beta2") * H2[np.arange(len(s2)), :, np.clip(s2, 1, 2) - 1, :]
        lp2 = _log_softmax(z2)
        return lp1, lp2, qnet, qmb

    @staticmethod
    def _prev(b: Behavior) -> np.ndarray:
        """Previous responded trial's first-stage choice (-1 before the first)."""
        prev = np.full(b.n_trials, -1, dtype=np.int64)
        last = -1
        for t, (a1, ok) in enumerate(zip(b.choice.tolist(), b.valid.tolist())):
            prev[t] = last
            if ok:
                last = a1
        return prev

    @property
    def has_gradient(self) -> bool:
        return kernels.HAVE_NUMBA

    def _kernel(self, theta: np.ndarray, b: Behavior, want_grad: bool):
        ix = dict(self.ix)
        if self.one_alpha:
            ix["alpha1"] = ix["alpha2"] = ix["alpha"]
        roles = np.array([ix[r] for r in kernels.TWO_STEP_ROLES], dtype=np.int64)
        key = "two_step_kernel"
        if key not in b.cache:
            b.cache[key] = (
                np.ascontiguousarray(b.choice, dtype=np.int64),
                np.ascontiguousarray(b.next_state, dtype=np.int64),
                np.ascontiguousarray(b.choice2, dtype=np.int64),
                np.ascontiguousarray(b.outcome, dtype=np.float64),
                np.ascontiguousarray(b.counted),
                np.ascontiguousarray(b.valid),
                self._prev(b),
            )
        return kernels.two_step_loglik(
            np.ascontiguousarray(theta, dtype=np.float64),
            roles,
            self.perseveration_form == "inside",
            self.transitions,
            self.q_init,
            *b.cache[key],
            want_grad,
        )

    def loglik_grad(self, theta: np.ndarray, behavior: Behavior) -> tuple[np.ndarray, np.ndarray]:
        if not self.has_gradient:
            return super().loglik_grad(theta, behavior)
        self.check(behavior)
        return self._kernel(np.atleast_2d(theta), behavior, True)

    def _loglik(self, theta: np.ndarray, b: Behavior) -> np.ndarray:
        if kernels.HAVE_NUMBA:
            return self._kernel(theta, b, False)[0]
        return self._loglik_numpy(theta, b)

    def _loglik_numpy(self, theta: np.ndarray, b: Behavior) -> np.ndarray:
        H1, H2 = self._values(theta, b)
        tv = np.flatnonzero(b.counted)
        lp1, lp2, _, _ = self._policy(theta, H1[tv], H2[tv], self._prev(b)[tv], b.next_state[tv])
        n = np.arange(len(tv))
        return lp1[n, :, b.choice[tv]].sum(axis=0) + lp2[n, :, b.choice2[tv]].sum(axis=0)

    def replay(self, params: Mapping[str, float], b: Behavior) -> dict[str, np.ndarray]:
        """Per trial, stage 1: q1 (Q_net(a1)), q_mf, q_mb, rpe1 (delta1), choice_prob1,
        policy_entropy1, spe (1 - P(s2 | a1)), update1; stage 2: q2, rpe2 (delta2),
        choice_prob2, policy_entropy2, update2; NaN on missed trials (stage-1 entropy is
        given on every trial)."""
        self.check(b)
        theta = self.theta(params)[None, :]
        T = b.n_trials
        keys = ("q1", "q_mf", "q_mb", "rpe1", "choice_prob1", "spe", "update1")
        keys += ("q2", "rpe2", "choice_prob2", "policy_entropy2", "update2")
        out = {k: np.full(T, np.nan) for k in keys}
        H1, H2 = self._values(theta, b, rec=out)
        lp1, lp2, qnet, qmb = self._policy(theta, H1, H2, self._prev(b), b.next_state)
        lp1, lp2, qnet, qmb = lp1[:, 0], lp2[:, 0], qnet[:, 0], qmb[:, 0]
        out["policy_entropy1"] = _entropy(lp1)
        tv = np.flatnonzero(b.valid)
        a1, a2, s2 = b.choice[tv], b.choice2[tv], b.next_state[tv]
        out["q1"][tv] = qnet[tv, a1]
        out["q_mf"][tv] = H1[tv, 0, a1]
        out["q_mb"][tv] = qmb[tv, a1]
        out["q2"][tv] = H2[tv, 0, s2 - 1, a2]
        out["choice_prob1"][tv] = np.exp(lp1[tv, a1])
        out["choice_prob2"][tv] = np.exp(lp2[tv, a2])
        out["policy_entropy2"][tv] = _entropy(lp2[tv])
        out["spe"][tv] = 1.0 - self.transitions[a1, s2 - 1]
        return out

    def simulate(
        self,
        params: Mapping[str, float],
        env: Any,
        *,
        n_trials: int = 200,
        seed: int | np.random.Generator | None = None,
        participant: str = "sub-01",
        trial_duration: float = 3.0,
        stage2_delay: float = 1.5,
        iti: tuple[float, float] = (1.0, 4.0),
    ) -> Behavior:
        """Run ``n_trials`` two-step trials (one env episode each: state 0 -> state 1/2 ->
        terminal). The second-stage screen comes ``stage2_delay`` s after the trial onset."""
        if n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        rng = make_rng(seed)
        theta = self.theta(params)[None, :]
        Q1, Q2 = self._new_values(1)
        alpha1, alpha2 = self._alphas(theta)
        lam = theta[:, self.ix["lam"]]
        rows, rps, prev = [], [], -1
        for t in range(n_trials):
            s0, info = _reset_env(env, rng if t == 0 else None)
            if s0 != 0:
                raise ValueError(f"a two-step episode must start in state 0, env gave {s0}")
            rps.append(_reward_probs(info))
            H1, H2 = Q1[None], Q2[None, :, 1:, :]
            lp1, _, _, _ = self._policy(theta, H1, H2, np.array([prev]), np.array([1]))
            a1 = int(rng.choice(2, p=_probs(lp1[0, 0])))
            s2, _, term, trunc, _ = env.step(a1)
            s2 = int(s2)
            if term or trunc or s2 not in (1, 2):
                raise ValueError(f"stage 1 must lead to state 1 or 2, env gave {s2}")
            _, lp2, _, _ = self._policy(theta, H1, H2, np.array([prev]), np.array([s2]))
            a2 = int(rng.choice(2, p=_probs(lp2[0, 0])))
            _, r, term, trunc, _ = env.step(a2)
            if not term:
                raise ValueError("a two-step episode must end after the second choice")
            self._update(Q1, Q2, alpha1, alpha2, lam, a1, s2, a2, float(r))
            rows.append((a1, s2, a2, float(r)))
            prev = a1
        arr = np.array(rows)
        onset = make_onsets(n_trials, rng, trial_duration=trial_duration, iti=iti)
        return Behavior(
            task="two_step",
            onset=onset,
            state=np.zeros(n_trials, dtype=np.int64),
            choice=arr[:, 0].astype(np.int64),
            outcome=arr[:, 3],
            n_states=TWO_STEP_N_STATES,
            n_actions=TWO_STEP_N_ACTIONS,
            next_state=arr[:, 1].astype(np.int64),
            choice2=arr[:, 2].astype(np.int64),
            onset2=onset + stage2_delay,
            duration=np.full(n_trials, trial_duration),
            participant=participant,
            source=f"simulated {self.name}",
            extra=_extras(rps),
        )


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------
# name -> (class, keyword arguments)
MODELS: dict[str, tuple[type[Model], dict[str, Any]]] = {
    "random": (RandomModel, {}),
    "wsls": (WSLSModel, {}),
    "q_learning": (QModel, {}),
    "q_persev": (QModel, {"perseveration": True}),
    "q_dual": (QModel, {"dual_alpha": True}),
    "q_dual_persev": (QModel, {"dual_alpha": True, "perseveration": True}),
    "q_lapse": (QModel, {"choice_rule": "epsilon_softmax"}),
    "q_eps_greedy": (QModel, {"choice_rule": "epsilon_greedy"}),
    "q_nav": (QModel, {"task": "navigation"}),
    "q_nav_persev": (QModel, {"task": "navigation", "perseveration": True}),
    "two_step_hybrid": (TwoStepModel, {}),
    "hybrid_1alpha": (TwoStepModel, {"one_alpha": True}),
    "model_free": (TwoStepModel, {"one_alpha": True, "fixed": {"w": 0.0}}),
    "model_based": (TwoStepModel, {"one_alpha": True, "fixed": {"w": 1.0, "lam": 0.0}}),
}


def model_task(name: str) -> str:
    """The task a registered model is for."""
    cls, kw = _lookup(name)
    return kw.get("task", cls.task)


def models_for_task(task: str) -> list[str]:
    return [n for n in MODELS if model_task(n) == task]


def _lookup(name: str) -> tuple[type[Model], dict[str, Any]]:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; available: {sorted(MODELS)}")
    return MODELS[name]


def make_model(name: str, *, fixed: Mapping[str, float] | None = None, **options: Any) -> Model:
    """Build a registered model; ``fixed`` adds to its own fixed parameters, ``options`` set
    constructor options (e.g. ``q_init=0.5``, ``n_actions=4`` for ``random``)."""
    cls, kw = _lookup(name)
    kw = {**kw, **options}
    merged = {**kw.pop("fixed", {}), **dict(fixed or {})}
    if cls is RandomModel and "n_actions" not in options:
        kw.setdefault("n_actions", 2)
    return cls(name, fixed=merged or None, **kw)
