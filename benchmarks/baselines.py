"""Minimal single-agent baselines of the benchmarked algorithms, on a deterministic TabularMDP.

Fair baselines, not straw men: each is the shortest loop a competent programmer would write for
one agent, with nothing recorded (or, ``record=True``, one tuple per step appended to a list):

- ``plain_q`` / ``plain_dyna``: plain Python (lists, ``random.Random``), tabular Q-learning
  (Watkins & Dayan 1992) and Dyna-Q with the last-outcome model and random search control
  (Sutton & Barto 2018, §8.2), epsilon-greedy with random tie-breaking;
- ``numba_q`` / ``numba_dyna``: the same loops compiled with numba (numpy arrays, numba's own
  generator), one agent at a time.

Each ``run_*`` runs whole episodes (truncated at ``max_steps``) until ``n_steps`` real steps
have been taken and returns the number of real steps (an agent-step includes its planning).
"""

# numba-compiled code draws from numba's own per-thread generator through the legacy API:
# ruff: noqa: NPY002

from __future__ import annotations

import random

import numba
import numpy as np


def tables(mdp) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(next state (S, A), reward (S, A), terminal (S,), start state) of a deterministic MDP."""
    if not np.allclose(mdp.P.max(axis=2), 1.0):
        raise ValueError("the baselines need a deterministic world")
    nxt = mdp.P.argmax(axis=2)
    if mdp.R_sas is not None:
        S, A = nxt.shape
        rew = mdp.R_sas[np.arange(S)[:, None], np.arange(A)[None, :], nxt]
    else:
        rew = mdp.R
    return (
        nxt.astype(np.int64),
        rew.astype(np.float64),
        mdp.terminal.copy(),
        int(mdp.start.argmax()),
    )


# -- plain Python --------------------------------------------------------------------------------
def plain_q(mdp, n_steps, *, alpha=0.5, gamma=0.95, eps=0.1, max_steps=500, seed=0, record=False):
    nxt, rew, term, start = tables(mdp)
    nxt, rew, term = nxt.tolist(), rew.tolist(), term.tolist()
    A = len(nxt[0])
    acts = range(A)
    Q = [[0.0] * A for _ in nxt]
    rand = random.Random(seed)
    rows = [] if record else None
    done_steps = 0
    while done_steps < n_steps:
        s = start
        for _ in range(max_steps):
            q = Q[s]
            if rand.random() < eps:
                a = rand.randrange(A)
            else:
                m = max(q)
                best = [b for b in acts if q[b] == m]
                a = best[0] if len(best) == 1 else rand.choice(best)
            s2, r = nxt[s][a], rew[s][a]
            end = term[s2]
            y = r if end else r + gamma * max(Q[s2])
            delta = y - q[a]
            q[a] += alpha * delta
            if rows is not None:
                rows.append((s, a, r, s2, delta))
            done_steps += 1
            if end:
                break
            s = s2
    return done_steps


def plain_dyna(
    mdp, n_steps, *, n_planning=10, alpha=0.5, gamma=0.95, eps=0.1, max_steps=500, seed=0
):
    nxt, rew, term, start = tables(mdp)
    nxt, rew, term = nxt.tolist(), rew.tolist(), term.tolist()
    A = len(nxt[0])
    acts = range(A)
    Q = [[0.0] * A for _ in nxt]
    model: dict[tuple[int, int], tuple[float, int, bool]] = {}
    pairs: list[tuple[int, int]] = []
    rand = random.Random(seed)
    done_steps = 0
    while done_steps < n_steps:
        s = start
        for _ in range(max_steps):
            q = Q[s]
            if rand.random() < eps:
                a = rand.randrange(A)
            else:
                m = max(q)
                best = [b for b in acts if q[b] == m]
                a = best[0] if len(best) == 1 else rand.choice(best)
            s2, r = nxt[s][a], rew[s][a]
            end = term[s2]
            q[a] += alpha * ((r if end else r + gamma * max(Q[s2])) - q[a])
            if (s, a) not in model:
                pairs.append((s, a))
            model[(s, a)] = (r, s2, end)
            for _ in range(n_planning):
                ps, pa = pairs[int(rand.random() * len(pairs))]
                pr, ps2, pend = model[(ps, pa)]
                pq = Q[ps]
                pq[pa] += alpha * ((pr if pend else pr + gamma * max(Q[ps2])) - pq[pa])
            done_steps += 1
            if end:
                break
            s = s2
    return done_steps


# -- numba ---------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _greedy(q, eps):
    A = q.shape[0]
    if np.random.random() < eps:
        return np.random.randint(A)
    m = q.max()
    k = 0
    for b in range(A):
        if q[b] == m:
            k += 1
    pick = 0 if k == 1 else np.random.randint(k)
    for b in range(A):
        if q[b] == m:
            if pick == 0:
                return b
            pick -= 1
    return A - 1


@numba.njit(cache=True)
def _numba_q(nxt, rew, term, start, n_steps, alpha, gamma, eps, max_steps, seed):
    np.random.seed(seed)
    Q = np.zeros(nxt.shape)
    done_steps = 0
    while done_steps < n_steps:
        s = start
        for _ in range(max_steps):
            a = _greedy(Q[s], eps)
            s2, r = nxt[s, a], rew[s, a]
            y = r if term[s2] else r + gamma * Q[s2].max()
            Q[s, a] += alpha * (y - Q[s, a])
            done_steps += 1
            if term[s2]:
                break
            s = s2
    return done_steps


@numba.njit(cache=True)
def _numba_dyna(nxt, rew, term, start, n_steps, n_planning, alpha, gamma, eps, max_steps, seed):
    np.random.seed(seed)
    S, A = nxt.shape
    Q = np.zeros((S, A))
    m_next = np.zeros((S, A), dtype=np.int64)
    m_rew = np.zeros((S, A))
    tried = np.zeros((S, A), dtype=np.bool_)
    seen_end = np.zeros(S, dtype=np.bool_)
    pairs = np.zeros(S * A, dtype=np.int64)
    n_pairs = 0
    done_steps = 0
    while done_steps < n_steps:
        s = start
        for _ in range(max_steps):
            a = _greedy(Q[s], eps)
            s2, r = nxt[s, a], rew[s, a]
            y = r if term[s2] else r + gamma * Q[s2].max()
            Q[s, a] += alpha * (y - Q[s, a])
            if not tried[s, a]:
                tried[s, a] = True
                pairs[n_pairs] = s * A + a
                n_pairs += 1
            m_next[s, a], m_rew[s, a] = s2, r
            if term[s2]:
                seen_end[s2] = True
            for _ in range(n_planning):
                sa = pairs[int(np.random.random() * n_pairs)]
                ps, pa = sa // A, sa % A
                ps2 = m_next[ps, pa]
                y = m_rew[ps, pa] if seen_end[ps2] else m_rew[ps, pa] + gamma * Q[ps2].max()
                Q[ps, pa] += alpha * (y - Q[ps, pa])
            done_steps += 1
            if term[s2]:
                break
            s = s2
    return done_steps


def numba_q(mdp, n_steps, *, alpha=0.5, gamma=0.95, eps=0.1, max_steps=500, seed=0):
    nxt, rew, term, start = tables(mdp)
    return _numba_q(nxt, rew, term, start, n_steps, alpha, gamma, eps, max_steps, seed)


def numba_dyna(
    mdp, n_steps, *, n_planning=10, alpha=0.5, gamma=0.95, eps=0.1, max_steps=500, seed=0
):
    nxt, rew, term, start = tables(mdp)
    return _numba_dyna(
        nxt, rew, term, start, n_steps, n_planning, alpha, gamma, eps, max_steps, seed
    )


# -- the machine ---------------------------------------------------------------------------------
@numba.njit(cache=True)
def _lockstep_touch(Q, s_pool, s2_pool, a_pool, n_rounds):
    """The memory traffic of one lockstep Q-learning step per agent and round, and nothing
    else: read Q[b, s], read Q[b, s'] (max), write Q[b, s, a], for random s, s', a."""
    B = Q.shape[0]
    K = s_pool.shape[0]
    acc = 0.0
    for t in range(n_rounds):
        ss, ss2, aa = s_pool[t % K], s2_pool[t % K], a_pool[t % K]
        for b in range(B):
            row2 = Q[b, ss2[b]]
            m = row2[0]
            for j in range(1, row2.shape[0]):
                m = max(m, row2[j])
            Q[b, ss[b], aa[b]] += np.float32(0.5) * m
        acc += Q[0, 0, 0]
    return acc


def random_access_bound(B: int, S: int, A: int, seconds: float) -> float:
    """Agent-steps/s of :func:`_lockstep_touch` on a float32 (B, S, A) table: an upper bound
    for any lockstep (all agents, one step at a time) tabular Q-learner on this machine."""
    import time

    rng = np.random.default_rng(0)
    Q = np.zeros((B, S, A), dtype=np.float32)
    K = 8
    s_pool = rng.integers(S, size=(K, B))
    s2_pool = rng.integers(S, size=(K, B))
    a_pool = rng.integers(A, size=(K, B))
    _lockstep_touch(Q, s_pool, s2_pool, a_pool, 1)
    rounds, t0 = 0, time.process_time()
    chunk = max(1, 2_000_000 // B)
    while time.process_time() - t0 < seconds:
        _lockstep_touch(Q, s_pool, s2_pool, a_pool, chunk)
        rounds += chunk
    return B * rounds / (time.process_time() - t0)


def copy_bandwidth(seconds: float, nbytes: int = 1 << 28) -> float:
    """Bytes per second of ``np.copyto`` between two 256 MiB arrays (read + write counted)."""
    import time

    a = np.ones(nbytes // 8)
    b = np.empty_like(a)
    np.copyto(b, a)
    n, t0 = 0, time.process_time()
    while time.process_time() - t0 < seconds:
        np.copyto(b, a)
        n += 1
    return 2 * nbytes * n / (time.process_time() - t0)


# -- fitting -------------------------------------------------------------------------------------
def minimal_q_fit(choice, reward, n_arms: int, starts: np.ndarray) -> float:
    """A minimal numpy + scipy fitter of softmax Q-learning on a bandit (what one writes in an
    afternoon): a per-trial loop for the NLL, L-BFGS-B with numerical gradients from each of
    ``starts`` ((n, 2): logit alpha, log beta). Returns the best NLL."""
    from scipy.optimize import minimize
    from scipy.special import expit

    choice = np.asarray(choice)
    reward = np.asarray(reward, dtype=np.float64)

    def nll(u):
        alpha, beta = expit(u[0]), np.exp(u[1])
        q = np.zeros(n_arms)
        total = 0.0
        for a, r in zip(choice, reward):
            z = beta * q
            z = z - z.max()
            total -= z[a] - np.log(np.exp(z).sum())
            q[a] += alpha * (r - q[a])
        return total

    bounds = [(-10, 10), (np.log(2e-3), np.log(20.0))]
    return min(minimize(nll, u0, method="L-BFGS-B", bounds=bounds).fun for u0 in starts)
