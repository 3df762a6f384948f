"""Compiled likelihood loops (numba) with forward-mode gradients, for ``neuro.likelihood``.

The numpy likelihoods of ``neuro.likelihood`` loop over trials in Python, a few array
operations per trial; here the same loops run compiled, one parameter vector at a time, and
carry the derivatives of every value with respect to every parameter alongside the values
(forward-mode differentiation by hand: dQ has one (S, A) slice per parameter). The gradient of
the log-likelihood comes out of the same pass, exactly (no finite differences), so an
optimiser needs one pass per step instead of 2P + 1 stencil points.

Q-learning family (Sutton & Barto 2018; Daw 2011), per trial t with state s, choice a:

    z_j = beta Q(s, j) + kappa [j = a_prev(s)],  log pi(a) = z_a - logsumexp(z)
    dz_j = dbeta Q(s, j) + beta dQ(s, j) + dkappa [j = a_prev(s)]
    d log pi(a) = dz_a - sum_j pi(j) dz_j
    lapse: P(a) = (1 - eps) pi(a) + eps / A, dP = (1/A - pi(a)) deps + (1 - eps) dpi(a)
    delta = y - Q(s, a), y = r (+ gamma max_b Q(s', b) while navigating)
    Q(s, a) += alpha delta,  dQ(s, a) += dalpha delta + alpha (dy - dQ(s, a))

(the derivative of a max is taken at its first maximiser; at ties it is one subgradient).
Two-step hybrid (Daw et al. 2011, Neuron 69:1204): the same rules through
Q_MB(a) = sum_k T(a, k) max_b Q2(k, b), Q_net = w Q_MB + (1 - w) Q_MF, stage-1 and stage-2
softmaxes and the SARSA(lambda) updates of ``TwoStepModel._update``.

``roles`` map each role of a model (alpha, beta, ...) to its column in theta (-1: absent), so
one kernel serves every variant (dual rates, perseveration, lapses, one learning rate for both
stages); two roles on one column (``hybrid_1alpha``) add their derivatives.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None
    HAVE_NUMBA = False

EPS_LOG = 1e-300
#: QModel choice rules, as kernel codes
RULE_CODES = {"softmax": 0, "epsilon_softmax": 1, "epsilon_greedy": 2}
#: QModel roles, in the order of the ``roles`` array
Q_ROLES = ("alpha", "alpha_neg", "beta", "epsilon", "kappa", "gamma")
#: TwoStepModel roles
TWO_STEP_ROLES = ("alpha1", "alpha2", "beta1", "beta2", "w", "lam", "perseveration")


def _njit(fn):
    return numba.njit(cache=True, nogil=True)(fn) if HAVE_NUMBA else fn


@_njit
def _seed(roles, r, P):
    """d(role r)/d theta as a (P,) one-hot (zeros for an absent role)."""
    out = np.zeros(P)
    if roles[r] >= 0:
        out[roles[r]] = 1.0
    return out


@_njit
def q_loglik(
    theta,
    roles,
    rule,
    nav,
    S,
    A,
    q_init,
    state,
    choice,
    outcome,
    next_state,
    terminated,
    counted,
    prev,
    want_grad,
):
    """log-likelihoods (K,) and, if ``want_grad``, their gradients (K, P) of a QModel."""
    K, P = theta.shape
    T = state.shape[0]
    ll = np.zeros(K)
    grad = np.zeros((K, P))
    z = np.empty(A)
    pr = np.empty(A)
    for k in range(K):
        th = theta[k]
        alpha = th[roles[0]]
        alpha_neg = th[roles[1]] if roles[1] >= 0 else alpha
        beta = th[roles[2]] if roles[2] >= 0 else 0.0
        eps = th[roles[3]] if roles[3] >= 0 else 0.0
        kappa = th[roles[4]] if roles[4] >= 0 else 0.0
        gamma = th[roles[5]] if roles[5] >= 0 else 0.0
        d_alpha = _seed(roles, 0, P)
        d_alpha_neg = _seed(roles, 1, P) if roles[1] >= 0 else d_alpha
        d_beta = _seed(roles, 2, P)
        d_eps = _seed(roles, 3, P)
        d_kappa = _seed(roles, 4, P)
        d_gamma = _seed(roles, 5, P)
        Q = np.full((S, A), q_init)
        dQ = np.zeros((S, A, P)) if want_grad else np.zeros((1, 1, P))
        dz = np.zeros((A, P))
        g = grad[k]
        total = 0.0
        for t in range(T):
            s = state[t]
            a = choice[t]
            if counted[t]:
                if rule == 2:  # epsilon-greedy: piecewise constant, no gradient
                    m = Q[s, 0]
                    for j in range(1, A):
                        m = max(m, Q[s, j])
                    n_best = 0
                    for j in range(A):
                        if Q[s, j] >= m - 1e-12:
                            n_best += 1
                    greedy = (1.0 if Q[s, a] >= m - 1e-12 else 0.0) / n_best
                    total += math.log(max((1.0 - eps) * greedy + eps / A, EPS_LOG))
                else:
                    pv = prev[t]
                    for j in range(A):
                        z[j] = beta * Q[s, j]
                    if pv >= 0:
                        z[pv] += kappa
                    m = z[0]
                    for j in range(1, A):
                        m = max(m, z[j])
                    tot = 0.0
                    for j in range(A):
                        tot += math.exp(z[j] - m)
                    lse = m + math.log(tot)
                    for j in range(A):
                        pr[j] = math.exp(z[j] - lse)
                    lp = z[a] - lse
                    if rule == 0:
                        total += lp
                    else:
                        pa = (1.0 - eps) * math.exp(lp) + eps / A
                        total += math.log(pa)
                    if want_grad:
                        for j in range(A):
                            for q in range(P):
                                dz[j, q] = d_beta[q] * Q[s, j] + beta * dQ[s, j, q]
                        if pv >= 0:
                            for q in range(P):
                                dz[pv, q] += d_kappa[q]
                        for q in range(P):
                            mean = 0.0
                            for j in range(A):
                                mean += pr[j] * dz[j, q]
                            dlp = dz[a, q] - mean
                            if rule == 0:
                                g[q] += dlp
                            else:
                                dpa = (1.0 / A - pr[a]) * d_eps[q] + (1.0 - eps) * pr[a] * dlp
                                g[q] += dpa / pa
            if a < 0:  # missed: nothing to learn from
                continue
            q_sa = Q[s, a]
            end = terminated[t] if nav else True
            y = outcome[t]
            best = 0
            if not end:
                s2 = next_state[t]
                for j in range(1, A):
                    if Q[s2, j] > Q[s2, best]:
                        best = j
                y = outcome[t] + gamma * Q[s2, best]
            delta = y - q_sa
            neg = roles[1] >= 0 and delta < 0
            rate = alpha_neg if neg else alpha
            if want_grad:
                for q in range(P):
                    dy = 0.0
                    if not end:
                        s2 = next_state[t]
                        dy = d_gamma[q] * Q[s2, best] + gamma * dQ[s2, best, q]
                    d_rate = d_alpha_neg[q] if neg else d_alpha[q]
                    dQ[s, a, q] += d_rate * delta + rate * (dy - dQ[s, a, q])
            Q[s, a] = q_sa + rate * delta
        ll[k] = total
    return ll, grad


@_njit
def _log_softmax2(z0, z1):
    """(log p0, log p1, p0, p1) of a two-way softmax, as numpy's logaddexp."""
    m = max(z0, z1)
    lse = m + math.log(math.exp(z0 - m) + math.exp(z1 - m))
    return z0 - lse, z1 - lse, math.exp(z0 - lse), math.exp(z1 - lse)


@_njit
def two_step_loglik(
    theta,
    roles,
    inside,
    transitions,
    q_init,
    choice,
    next_state,
    choice2,
    outcome,
    counted,
    valid,
    prev,
    want_grad,
):
    """log-likelihoods (K,) and gradients (K, P) of the two-step hybrid (both stages)."""
    K, P = theta.shape
    T = choice.shape[0]
    ll = np.zeros(K)
    grad = np.zeros((K, P))
    qmb = np.zeros(2)
    dqmb = np.zeros((2, P))
    z1 = np.zeros(2)
    dz1 = np.zeros((2, P))
    for k in range(K):
        th = theta[k]
        a1r, a2r, b1r, b2r, wr, lr, pr_ = (
            roles[0],
            roles[1],
            roles[2],
            roles[3],
            roles[4],
            roles[5],
            roles[6],
        )
        alpha1, alpha2 = th[a1r], th[a2r]
        beta1, beta2, w, lam, pers = th[b1r], th[b2r], th[wr], th[lr], th[pr_]
        d_a1, d_a2 = _seed(roles, 0, P), _seed(roles, 1, P)
        d_b1, d_b2 = _seed(roles, 2, P), _seed(roles, 3, P)
        d_w, d_lam, d_p = _seed(roles, 4, P), _seed(roles, 5, P), _seed(roles, 6, P)
        Q1 = np.full(2, q_init)
        Q2 = np.full((3, 2), q_init)
        dQ1 = np.zeros((2, P))
        dQ2 = np.zeros((3, 2, P))
        g = grad[k]
        total = 0.0
        for t in range(T):
            a1, s2, a2 = choice[t], next_state[t], choice2[t]
            if counted[t]:
                # stage 1: Q_MB(a) = sum_k T(a, k) max_b Q2(k + 1, b)
                b_1 = 0 if Q2[1, 0] >= Q2[1, 1] else 1
                b_2 = 0 if Q2[2, 0] >= Q2[2, 1] else 1
                v1, v2 = Q2[1, b_1], Q2[2, b_2]
                pv = prev[t]
                for a in range(2):
                    qmb[a] = v1 * transitions[a, 0] + v2 * transitions[a, 1]
                    qnet = w * qmb[a] + (1.0 - w) * Q1[a]
                    rep = pers if a == pv else 0.0
                    z1[a] = beta1 * (qnet + rep) if inside else beta1 * qnet + rep
                    if want_grad:
                        for q in range(P):
                            dqmb[a, q] = (
                                dQ2[1, b_1, q] * transitions[a, 0]
                                + dQ2[2, b_2, q] * transitions[a, 1]
                            )
                            dqnet = (
                                d_w[q] * (qmb[a] - Q1[a]) + w * dqmb[a, q] + (1.0 - w) * dQ1[a, q]
                            )
                            drep = d_p[q] if a == pv else 0.0
                            if inside:
                                dz1[a, q] = d_b1[q] * (qnet + rep) + beta1 * (dqnet + drep)
                            else:
                                dz1[a, q] = d_b1[q] * qnet + beta1 * dqnet + drep
                l0, l1, p0, p1 = _log_softmax2(z1[0], z1[1])
                total += l0 if a1 == 0 else l1
                # stage 2 (the state index is clipped to 1..2 as in TwoStepModel._policy)
                sc = min(max(s2, 1), 2)
                m0, m1, r0, r1 = _log_softmax2(beta2 * Q2[sc, 0], beta2 * Q2[sc, 1])
                total += m0 if a2 == 0 else m1
                if want_grad:
                    for q in range(P):
                        g[q] += dz1[a1, q] - (p0 * dz1[0, q] + p1 * dz1[1, q])
                        dz20 = d_b2[q] * Q2[sc, 0] + beta2 * dQ2[sc, 0, q]
                        dz21 = d_b2[q] * Q2[sc, 1] + beta2 * dQ2[sc, 1, q]
                        g[q] += (dz20 if a2 == 0 else dz21) - (r0 * dz20 + r1 * dz21)
            if not valid[t]:
                continue
            q1, q2 = Q1[a1], Q2[s2, a2]
            d1 = q2 - q1
            d2 = outcome[t] - q2
            if want_grad:
                for q in range(P):
                    dd1 = dQ2[s2, a2, q] - dQ1[a1, q]
                    dd2 = -dQ2[s2, a2, q]
                    dQ1[a1, q] += d_a1[q] * (d1 + lam * d2) + alpha1 * (
                        dd1 + d_lam[q] * d2 + lam * dd2
                    )
                    dQ2[s2, a2, q] += d_a2[q] * d2 + alpha2 * dd2
            Q1[a1] = q1 + alpha1 * (d1 + lam * d2)
            Q2[s2, a2] = q2 + alpha2 * d2
        ll[k] = total
    return ll, grad
