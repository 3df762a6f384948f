"""Exact values and bounds for a :class:`~darkcontrol.envs.pomdp.TabularPOMDP`.

A POMDP is an MDP over beliefs (Kaelbling, Littman & Cassandra 1998, Artif. Intell. 101:99):
with rho(b, a) = Σ_s b(s) R(s, a) and the filter b' = SE(b, a, o) of
:class:`~darkcontrol.envs.pomdp.TabularPOMDP`,

    V*(b) = max_a [ rho(b, a) + gamma Σ_o P(o | b, a) V*(SE(b, a, o)) ].

- :func:`belief_value_iteration` solves this exactly on the *reachable* beliefs when they are
  finitely many (deterministic worlds with deterministic or finitely branching observations,
  such as the cue maze: a finite belief tree with loops), by value iteration on the finite
  belief MDP; it refuses (ValueError) when the reachable set grows past ``max_beliefs``
  (stochastic hidden dynamics, such as a switching context, reach infinitely many beliefs).
- :func:`point_based_value_iteration` (PBVI; Pineau, Gordon & Thrun 2003, IJCAI) backs up
  alpha vectors at a finite set of belief points (by default the first ``n_points`` reachable
  beliefs in breadth-first order). Started from the constant vector R_min / (1 - gamma), every
  vector is a lower bound on the value of a conditional plan, so V_PBVI(b) <= V*(b) at every
  belief; on *all* reachable beliefs of a finite belief MDP it converges to V*.
- :func:`qmdp_value` is the QMDP upper bound (Littman, Cassandra & Kaelbling 1995, ICML;
  Hauskrecht 2000, JAIR 13:33): V_QMDP(b) = max_a Σ_s b(s) Q*_MDP(s, a) >= V*(b), as if the
  hidden state became known after one step; :func:`mdp_value` the looser full-observation
  bound Σ_s b(s) V*_MDP(s) >= V_QMDP(b).

Values are of the start of an episode: Σ_o P(o_0 = o) V(b_0(o)), the expected discounted
return from the first observation. Terminal states are absorbing with zero reward in the model,
so beliefs that put mass on them need no special case.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from darkcontrol.envs.pomdp import TabularPOMDP
from darkcontrol.envs.solvers import value_iteration


@dataclass(frozen=True)
class BeliefSolution:
    """The exact solution of a POMDP on its finite set of reachable beliefs."""

    value: float  #: V*(start) = Σ_o P(o_0 = o) V*(b_0(o)), the optimal expected return
    beliefs: np.ndarray  #: (n_beliefs, S) the reachable beliefs
    V: np.ndarray  #: (n_beliefs,) optimal values
    Q: np.ndarray  #: (n_beliefs, A) optimal action values
    initial: dict[int, int]  #: first observation -> index of its belief b_0(o)
    iterations: int
    converged: bool

    def index_of(self, belief: np.ndarray, atol: float = 1e-9) -> int:
        """The index of a reachable belief (ValueError if ``belief`` is not one of them)."""
        d = np.abs(self.beliefs - np.asarray(belief, dtype=np.float64)[None]).max(axis=1)
        i = int(np.argmin(d))
        if d[i] > atol:
            raise ValueError(f"belief is not reachable (nearest differs by {d[i]:.3g})")
        return i


def _check_pomdp(pomdp) -> TabularPOMDP:
    if not isinstance(pomdp, TabularPOMDP):
        raise TypeError(f"pomdp must be a TabularPOMDP, got {type(pomdp).__name__}")
    return pomdp


def _check_gamma(gamma) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.floating)):
        raise TypeError(f"gamma must be a float, got {type(gamma).__name__}")
    if not 0.0 <= float(gamma) < 1.0:
        raise ValueError(f"gamma must be in [0, 1), got {gamma!r}")
    return float(gamma)


def reachable_beliefs(
    pomdp: TabularPOMDP, max_beliefs: int = 10_000, decimals: int = 12, on_limit: str = "raise"
) -> tuple[np.ndarray, list, dict[int, int]]:
    """Breadth-first enumeration of the beliefs reachable from the start.

    Returns ``(beliefs (n, S), transitions, initial)``: ``transitions[i][a]`` lists
    ``(P(o | b_i, a), j)`` over observations of positive probability, ``initial`` maps each
    possible first observation to its belief. Beliefs equal after rounding to ``decimals``
    are merged. Past ``max_beliefs`` beliefs: ValueError (``on_limit="raise"``), or stop adding
    beliefs (``"stop"``: the first ``max_beliefs`` in breadth-first order are returned, and
    the transitions to the others are left out)."""
    pomdp = _check_pomdp(pomdp)
    if isinstance(max_beliefs, bool) or not isinstance(max_beliefs, int) or max_beliefs < 1:
        raise ValueError(f"max_beliefs must be an int >= 1, got {max_beliefs!r}")
    if on_limit not in ("raise", "stop"):
        raise ValueError(f"on_limit must be 'raise' or 'stop', got {on_limit!r}")
    index: dict[bytes, int] = {}
    beliefs: list[np.ndarray] = []
    queue: deque[int] = deque()

    def intern(b: np.ndarray) -> int | None:
        key = np.round(b, decimals).tobytes()
        j = index.get(key)
        if j is None:
            if len(beliefs) == max_beliefs:
                if on_limit == "stop":
                    return None
                raise ValueError(
                    f"more than max_beliefs={max_beliefs} reachable beliefs: the belief MDP is "
                    "not (small and) finite; use the bounds qmdp_value / mdp_value (upper) and "
                    "point_based_value_iteration (lower) instead"
                )
            j = index[key] = len(beliefs)
            beliefs.append(b)
            queue.append(j)
        return j

    p0 = pomdp.first_obs_probs()
    initial = {int(o): intern(pomdp.initial_belief(int(o))) for o in np.flatnonzero(p0 > 0)}
    if None in initial.values():
        raise ValueError(f"max_beliefs={max_beliefs} cannot hold the {len(initial)} first beliefs")
    transitions: dict[int, list[list[tuple[float, int]]]] = {}
    while queue:
        i = queue.popleft()
        b = beliefs[i]
        rows = []
        for a in range(pomdp.n_actions):
            joint = pomdp.predict(b, a)[:, None] * pomdp.O  # (S', n_obs)
            p_obs = joint.sum(axis=0)
            outs = np.flatnonzero(p_obs > 0)
            pairs = ((float(p_obs[o]), intern(joint[:, o] / p_obs[o])) for o in outs)
            rows.append([(p, j) for p, j in pairs if j is not None])
        transitions[i] = rows
    return np.array(beliefs), [transitions[i] for i in range(len(beliefs))], initial


def belief_value_iteration(
    pomdp: TabularPOMDP,
    gamma: float,
    *,
    tol: float = 1e-10,
    max_iter: int = 100_000,
    max_beliefs: int = 10_000,
) -> BeliefSolution:
    """Exact optimal values of a POMDP with finitely many reachable beliefs: value iteration
    ``V(b) <- max_a [rho(b, a) + gamma Σ_o P(o | b, a) V(b')]`` on the reachable belief MDP
    until the sup-change is below ``tol`` (the error of V is then below tol gamma/(1-gamma))."""
    gamma = _check_gamma(gamma)
    beliefs, transitions, initial = reachable_beliefs(pomdp, max_beliefs)
    n, A = len(beliefs), pomdp.n_actions
    rho = beliefs @ pomdp.R  # (n, A)
    # sparse belief transition matrix as COO arrays, one block per action
    rows, cols, probs = [], [], []
    for i, per_action in enumerate(transitions):
        for a, outs in enumerate(per_action):
            for p, j in outs:
                rows.append(i * A + a)
                cols.append(j)
                probs.append(p)
    rows_a, cols_a, probs_a = np.array(rows), np.array(cols), np.array(probs)

    def bellman(V: np.ndarray) -> np.ndarray:  # Q(b, a) = rho(b, a) + gamma E_o[V(b')]
        ev = np.zeros(n * A)
        np.add.at(ev, rows_a, probs_a * V[cols_a])
        return rho + gamma * ev.reshape(n, A)

    V = np.zeros(n)
    converged, iterations = False, 0
    while iterations < max_iter and not converged:
        V_new = bellman(V).max(axis=1)
        converged = bool(n == 0 or np.abs(V_new - V).max() < tol)
        V, iterations = V_new, iterations + 1
    Q = bellman(V)
    p0 = pomdp.first_obs_probs()
    value = float(sum(p0[o] * V[j] for o, j in initial.items()))
    return BeliefSolution(value, beliefs, V, Q, initial, iterations, converged)


def qmdp_value(pomdp: TabularPOMDP, gamma: float) -> float:
    """The QMDP upper bound on V*(start): Σ_o P(o_0 = o) max_a Σ_s b_0(s) Q*_MDP(s, a)."""
    pomdp = _check_pomdp(pomdp)
    Q = value_iteration(pomdp.hidden_mdp, _check_gamma(gamma)).Q
    p0 = pomdp.first_obs_probs()
    return float(
        sum(p0[o] * (pomdp.initial_belief(int(o)) @ Q).max() for o in np.flatnonzero(p0 > 0))
    )


def mdp_value(pomdp: TabularPOMDP, gamma: float) -> float:
    """The full-observation upper bound Σ_s mu(s) V*_MDP(s) >= qmdp_value >= V*(start)."""
    pomdp = _check_pomdp(pomdp)
    return float(pomdp.start @ value_iteration(pomdp.hidden_mdp, _check_gamma(gamma)).V)


@dataclass(frozen=True)
class PointBasedSolution:
    """Alpha vectors of point-based value iteration: V(b) = max_i alpha_i . b (a lower bound)."""

    value: float  #: Σ_o P(o_0 = o) V(b_0(o)), a lower bound on the optimal expected return
    alphas: np.ndarray  #: (n_alphas, S) alpha vectors
    actions: np.ndarray  #: (n_alphas,) the first action of each vector's plan
    points: np.ndarray  #: (n_points, S) the belief points backed up
    iterations: int
    converged: bool

    def values(self, beliefs: np.ndarray) -> np.ndarray:
        """V(b) = max_i alpha_i . b for beliefs (..., S)."""
        return (np.asarray(beliefs, dtype=np.float64) @ self.alphas.T).max(axis=-1)


def observation_backprojection(pomdp: TabularPOMDP, alphas: np.ndarray) -> np.ndarray:
    """G[a, o, i, s] = Σ_s' P(s' | s, a) O(o | s') alpha_i(s'): the value of alpha_i after
    action a and observation o, seen from s (the term of the point-based backup)."""
    return np.einsum("sat,to,it->aois", pomdp.P, pomdp.O, np.asarray(alphas, dtype=np.float64))


def lookahead_q(pomdp: TabularPOMDP, G: np.ndarray, belief: np.ndarray, gamma: float) -> np.ndarray:
    """Q(b, a) = Σ_s b(s) R(s, a) + gamma Σ_o max_i b . G[a, o, i] (one-step lookahead on the
    alpha vectors whose backprojection is ``G``)."""
    b = np.asarray(belief, dtype=np.float64)
    return b @ pomdp.R + gamma * (G @ b).max(axis=2).sum(axis=1)


def point_based_value_iteration(
    pomdp: TabularPOMDP,
    gamma: float,
    points: np.ndarray | None = None,
    *,
    n_points: int = 500,
    tol: float = 1e-8,
    max_iter: int = 10_000,
) -> PointBasedSolution:
    """PBVI backups at fixed belief points until the values at the points change by < tol.

    For each point b and action a: alpha_a^b = R(·, a) + gamma Σ_o G[a, o, i*(a, o)] with
    i*(a, o) = argmax_i b . G[a, o, i]; the new vector at b is the alpha_a^b of largest
    b . alpha_a^b. ``points`` default: the first ``n_points`` reachable beliefs."""
    pomdp = _check_pomdp(pomdp)
    gamma = _check_gamma(gamma)
    if points is None:
        points = reachable_beliefs(pomdp, n_points, on_limit="stop")[0]
    B = np.asarray(points, dtype=np.float64)
    if B.ndim != 2 or B.shape[1] != pomdp.n_states or len(B) == 0:
        raise ValueError(f"points must have shape (n >= 1, {pomdp.n_states}), got {B.shape}")
    R = pomdp.R
    alphas = np.full((1, pomdp.n_states), min(R.min(), 0.0) / (1.0 - gamma))
    actions = np.zeros(1, dtype=int)
    V = B @ alphas[0]
    converged, iterations = False, 0
    while iterations < max_iter and not converged:
        G = observation_backprojection(pomdp, alphas)  # (A, O, I, S)
        scores = G @ B.T  # (A, O, I, n)
        best = scores.argmax(axis=2)  # (A, O, n)
        A, n_obs = G.shape[:2]
        chosen = G[np.arange(A)[:, None, None], np.arange(n_obs)[None, :, None], best]
        cand = R.T[:, None, :] + gamma * chosen.sum(axis=1)  # (A, n, S)
        vals = np.einsum("ans,ns->an", cand, B)
        a_best = vals.argmax(axis=0)
        new = cand[a_best, np.arange(len(B))]
        new_alphas, keep = np.unique(np.round(new, 12), axis=0, return_index=True)
        V_new = vals.max(axis=0)
        converged = bool(np.abs(V_new - V).max() < tol)
        alphas, actions, V = new[keep], a_best[keep], V_new
        iterations += 1
    p0 = pomdp.first_obs_probs()
    b0 = np.array([pomdp.initial_belief(int(o)) for o in np.flatnonzero(p0 > 0)])
    value = float(p0[p0 > 0] @ (b0 @ alphas.T).max(axis=1))
    return PointBasedSolution(value, alphas, actions, B, iterations, converged)
