"""Compiled CPU kernels (numba): the batched Q-learning / Dyna-Q step, one agent at a time.

The torch program steps all B agents in lockstep, one tensor op per line of the algorithm: on a
CPU every op streams (B,)-sized intermediates through memory, so the step is bound by memory
traffic (about 80 ops and 1.9 KB per agent-step). Agents are independent (each has its own
seed, counter-based uniforms, Q table and model), so the same computation may run
*agent-major*: agent 0 for T steps, then agent 1, ..., with the agent's Q table (1.6 KB on a
10x10 grid) in L1 cache and no intermediates at all. :func:`advance` does that for the
``q_learning`` and ``dyna_q`` (``model="last"``) learners, on the learner's own CPU tensors
(numpy views share their memory), and gives the torch step's results bit for bit.
:func:`advance_q` is the same for learners without a model (Q-learning, up to
:data:`MAX_TABLE_ACTIONS` actions), with the agents of a group of :data:`GROUP` interleaved step
by step: one agent's step is a chain of dependent loads (state -> Q row -> action -> next
state), the chains of different agents are independent, so the CPU overlaps them. Per call, the
counter half of the hash is computed once for all agents, and pi(.|s) is looked up by tie
pattern (which actions are within ATOL of the max) instead of being built at every step.

- uniforms: the same lowbias32 counter hash as ``darkcontrol.batched.rng`` (uint32 arithmetic);
- epsilon-greedy / greedy probabilities are the torch-computed values of
  ``(1 - eps) / k + eps / A`` for every tie count k (a (B, A + 1) table built once), the
  inverse-CDF cumulative sums accumulate in float64 and round to the learner's dtype, as torch's
  CPU ``cumsum`` does;
- every other operation is the same IEEE operation in the same dtype and order (float32 values
  stay float32: integer-to-float conversions go through the ``as_float`` table).

Agents that have finished their episodes are skipped (the torch step keeps them stepping with
every update masked off: nothing they compute reaches the result). Softmax (``exp`` differs in
its last bit between libraries), the ``counts`` model and the other learners run on torch.
"""

from __future__ import annotations

import numpy as np

try:  # numba is a dependency; the torch backend still works without it
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None
    HAVE_NUMBA = False

M32 = 0xFFFFFFFF
GROUP = 4  #: agents interleaved step by step in :func:`advance_q`
MAX_TABLE_ACTIONS = 8  #: up to this many actions pi(.|s) is looked up per tie pattern
_K1, _K2 = 0x21F0AAAD, 0x735A2D97
_C_COUNTER, _C_SLOT = 0x85EBCA6B, 0xC2B2AE35


def _njit(fn):
    if not HAVE_NUMBA:
        return fn
    return numba.njit(cache=True, nogil=True)(fn)


@_njit
def _mix(x):
    """lowbias32 on an int64 holding a value in [0, 2^32)."""
    x = x ^ (x >> 16)
    x = (x * _K1) & M32
    x = x ^ (x >> 15)
    x = (x * _K2) & M32
    return x ^ (x >> 15)


@_njit
def _uniform(key, base, slot_mix, shift, scale):
    """u(seed, counter, slot) given key(seed), base = mix(key ^ mix(counter ^ C1)) and
    mix(slot ^ C2): a multiple of 2^-24 (``shift`` 8) or 2^-32 (``shift`` 0), exact in float64
    and in the learner's dtype alike."""
    x = _mix(((base ^ slot_mix) + key) & M32)
    return (x >> shift) * scale


@_njit
def _draw(cum, u):
    """Inverse-CDF index: number of cumulative sums <= u (``policy.draw``)."""
    n = 0
    for j in range(cum.shape[0]):
        if cum[j] <= u:
            n += 1
    return n


@_njit
def advance(  # noqa: PLR0913 - the state of a run, as flat arrays
    t0,
    n_steps,
    t_max,
    max_steps,
    n_episodes,
    # learner
    Q,
    alpha,
    gamma,
    greedy_p,
    uniform_p,
    atol,
    n_planning,
    key,
    shift,
    scale,
    slot_mix,
    as_float,
    # world
    deterministic,
    next_state,
    reward,
    cdf,
    last_pos,
    reward_sas,
    terminal,
    single_start,
    start_cdf,
    start_last,
    # run state
    s_now,
    ep,
    ep_len,
    ep_ret,
    active,
    lengths,
    returns,
    # model ("last"); has_model False for Q-learning
    has_model,
    m_tried,
    m_terminal,
    m_pairs,
    m_npairs,
    m_next,
    m_reward,
    # region sums (record False: unused)
    record,
    sums,
    done_at,
):
    """Steps ``t0 .. t0 + n_steps - 1`` (capped at ``t_max``) of every active agent.

    ``sums`` rows: abs_rpe_online, update_norm_online, abs_rpe_offline, update_norm_offline,
    n_offline, spe_online (the order of ``base._RunState.sums``). ``done_at[b]`` receives the
    lockstep step count at which agent b finished its episodes."""
    B, S, A = Q.shape
    SA = S * A
    zero, one = as_float[0], as_float[1]  # of the learner's dtype
    fbuf = np.empty(1, dtype=Q.dtype)  # rounds a float64 value to the learner's dtype
    t_end = min(t0 + n_steps, t_max)
    n_t = max(t_end - t0, 0)
    # the counter half of every step's hash is the same for all agents: once per call
    cmix = np.empty(n_t, dtype=np.int64)
    for i in range(n_t):
        cmix[i] = _mix(((t0 + i + 1) ^ _C_COUNTER) & M32)
    # pi(.|s) depends on s only through which actions tie for the max: the inverse-CDF
    # cumulative sums (float64 accumulation rounded to the learner's dtype, as torch's
    # cumsum) and the last action of positive probability, per tie pattern ``best`` (bit j:
    # action j within ATOL of the max), rebuilt when an agent's epsilon differs from the last
    use_tab = A <= MAX_TABLE_ACTIONS  # else pi(.|s) is built at every step
    n_best = (1 << A) if use_tab else 1
    cum_tab = np.empty((n_best, A), dtype=Q.dtype)
    cum = np.empty(A, dtype=Q.dtype)
    last_tab = np.empty(n_best, dtype=np.int64)
    built = -1
    sm_action, sm_world, sm_reset = slot_mix[0], slot_mix[1], slot_mix[2]
    for b in range(B):
        if not active[b]:
            continue
        if use_tab and (
            built < 0 or uniform_p[b] != uniform_p[built] or _row_differs(greedy_p, b, built)
        ):
            _policy_table(greedy_p[b], uniform_p[b], A, cum_tab, last_tab)
            built = b
        k_b = key[b]
        Qb = Q[b]
        s = s_now[b]
        e_b, len_b, ret_b = ep[b], ep_len[b], ep_ret[b]
        al, ga = alpha[b], gamma[b]
        n_plan = n_planning[b]
        for t in range(t0, t_end):
            counter = t + 1
            base = _mix(k_b ^ cmix[t - t0])
            # act: epsilon-greedy / greedy, inverse CDF over pi(.|s)
            m = Qb[s, 0]
            for j in range(1, A):
                if Qb[s, j] > m:
                    m = Qb[s, j]
            thr = m - atol
            u = _uniform(k_b, base, sm_action, shift, scale)
            if use_tab:
                best = 0
                for j in range(A):
                    if Qb[s, j] >= thr:
                        best |= 1 << j
                n = 0
                for j in range(A):
                    if cum_tab[best, j] <= u:
                        n += 1
                a = min(n, last_tab[best])
            else:
                k = 0
                for j in range(A):
                    if Qb[s, j] >= thr:
                        k += 1
                pg, pu = greedy_p[b, k], uniform_p[b]
                acc = 0.0
                last = -1
                for j in range(A):
                    pj = pg if Qb[s, j] >= thr else pu
                    if pj > 0:
                        last = j
                    acc += pj
                    cum[j] = acc
                a = min(_draw(cum, u), last)
            # world
            sa = s * A + a
            if deterministic:
                s2 = next_state[sa]
                r = reward[sa]
            else:
                u = _uniform(k_b, base, sm_world, shift, scale)
                n = 0
                for j in range(S):
                    if cdf[sa, j] <= u:
                        n += 1
                s2 = min(n, last_pos[sa])
                r = reward_sas[sa * S + s2]
            term = terminal[s2]
            len_b += 1
            done = term or len_b >= max_steps
            col = e_b
            # model bookkeeping (Dyna-Q "last"): spe before the update
            if has_model:
                i = b * SA + sa
                was = m_tried[i]
                spe = zero if (was and m_next[i] == s2) else one
                if not was:
                    m_pairs[b * SA + m_npairs[b]] = sa
                    m_npairs[b] += 1
                m_tried[i] = True
                if term:
                    m_terminal[b * S + s2] = True
                m_next[i] = s2
                m_reward[i] = r
            # online Q-learning backup
            q = Qb[s, a]
            boot = Qb[s2, 0]
            for j in range(1, A):
                if Qb[s2, j] > boot:
                    boot = Qb[s2, j]
            y = r if term else r + ga * boot
            delta = y - q
            step = al * delta
            Qb[s, a] = q + step
            if record:
                sums[0, b, col] += abs(delta)
                sums[1, b, col] += abs(step)
                if has_model:
                    sums[5, b, col] += spe
            # planning: n_plan draws of a tried pair from the model
            if has_model and n_plan > 0:
                k_pairs = m_npairs[b]
                kf = as_float[k_pairs]
                s_rpe = zero
                s_upd = zero
                for jp in range(n_plan):
                    u = _uniform(k_b, base, slot_mix[3 + 2 * jp], shift, scale)
                    fbuf[0] = u * kf  # exact in float64, rounded once as torch's u * k
                    pos = min(int(fbuf[0]), max(k_pairs - 1, 0))
                    psa = m_pairs[b * SA + pos]
                    i = b * SA + psa
                    ps, pa = psa // A, psa % A
                    ps2 = m_next[i]
                    pr = m_reward[i]
                    q = Qb[ps, pa]
                    boot = Qb[ps2, 0]
                    for j in range(1, A):
                        if Qb[ps2, j] > boot:
                            boot = Qb[ps2, j]
                    y = pr if m_terminal[b * S + ps2] else pr + ga * boot
                    delta = y - q
                    step = al * delta
                    Qb[ps, pa] = q + step
                    s_rpe += abs(delta)
                    s_upd += abs(step)
                if record:
                    sums[4, b, col] += as_float[n_plan]
                    sums[2, b, col] += s_rpe
                    sums[3, b, col] += s_upd
            ret_b += r
            if done:
                lengths[b, col] = len_b
                returns[b, col] = ret_b
                e_b += 1
                len_b = 0
                ret_b = zero
                if single_start >= 0:
                    s = single_start
                else:
                    u = _uniform(k_b, base, sm_reset, shift, scale)
                    s = min(_draw(start_cdf, u), start_last)
                if e_b >= n_episodes:
                    active[b] = False
                    done_at[b] = counter
                    break
            else:
                s = s2
        s_now[b] = s
        ep[b], ep_len[b], ep_ret[b] = e_b, len_b, ret_b


@_njit
def advance_q(  # noqa: PLR0913, PLR0912, PLR0915 - the state of a run, as flat arrays
    t0,
    n_steps,
    t_max,
    max_steps,
    n_episodes,
    Q,
    alpha,
    gamma,
    greedy_p,
    uniform_p,
    atol,
    key,
    shift,
    scale,
    slot_mix,
    deterministic,
    next_state,
    reward,
    cdf,
    last_pos,
    reward_sas,
    terminal,
    single_start,
    start_cdf,
    start_last,
    s_now,
    ep,
    ep_len,
    ep_ret,
    active,
    lengths,
    returns,
    record,
    sums,
    done_at,
):
    """:func:`advance` for learners without a model (Q-learning), up to 8 actions: the same
    steps, with the agents of a group of :data:`GROUP` interleaved step by step (their chains
    state -> Q row -> action -> next state are independent, so the CPU overlaps them)."""
    B, S, A = Q.shape
    G = GROUP
    zero = Q.dtype.type(0)
    t_end = min(t0 + n_steps, t_max)
    n_t = max(t_end - t0, 0)
    cmix = np.empty(n_t, dtype=np.int64)
    for i in range(n_t):
        cmix[i] = _mix(((t0 + i + 1) ^ _C_COUNTER) & M32)
    n_best = 1 << A
    cum_tab = np.empty((G, n_best, A), dtype=Q.dtype)
    last_tab = np.empty((G, n_best), dtype=np.int64)
    tab_of = np.full(G, -1, dtype=np.int64)
    sm_action, sm_world, sm_reset = slot_mix[0], slot_mix[1], slot_mix[2]
    ids = np.empty(G, dtype=np.int64)
    g_s = np.empty(G, dtype=np.int64)
    g_ep = np.empty(G, dtype=np.int64)
    g_len = np.empty(G, dtype=np.int64)
    g_ret = np.empty(G, dtype=Q.dtype)
    g_on = np.zeros(G, dtype=np.bool_)
    b_next = 0
    while b_next < B:
        n_g = 0
        while n_g < G and b_next < B:
            b = b_next
            b_next += 1
            if not active[b]:
                continue
            c = tab_of[n_g]
            if c < 0 or uniform_p[b] != uniform_p[c] or _row_differs(greedy_p, b, c):
                _policy_table(greedy_p[b], uniform_p[b], A, cum_tab[n_g], last_tab[n_g])
                tab_of[n_g] = b
            ids[n_g] = b
            g_s[n_g], g_ep[n_g], g_len[n_g], g_ret[n_g] = s_now[b], ep[b], ep_len[b], ep_ret[b]
            g_on[n_g] = True
            n_g += 1
        n_on = n_g
        for t in range(t0, t_end):
            if n_on == 0:
                break
            c_mix = cmix[t - t0]
            for g in range(n_g):
                if not g_on[g]:
                    continue
                b = ids[g]
                k_b = key[b]
                s = g_s[g]
                base = _mix(k_b ^ c_mix)
                m = Q[b, s, 0]
                for j in range(1, A):
                    if Q[b, s, j] > m:
                        m = Q[b, s, j]
                thr = m - atol
                best = 0
                for j in range(A):
                    if Q[b, s, j] >= thr:
                        best |= 1 << j
                u = _uniform(k_b, base, sm_action, shift, scale)
                n = 0
                for j in range(A):
                    if cum_tab[g, best, j] <= u:
                        n += 1
                a = min(n, last_tab[g, best])
                sa = s * A + a
                if deterministic:
                    s2 = next_state[sa]
                    r = reward[sa]
                else:
                    u = _uniform(k_b, base, sm_world, shift, scale)
                    n = 0
                    for j in range(S):
                        if cdf[sa, j] <= u:
                            n += 1
                    s2 = min(n, last_pos[sa])
                    r = reward_sas[sa * S + s2]
                term = terminal[s2]
                q = Q[b, s, a]
                boot = Q[b, s2, 0]
                for j in range(1, A):
                    if Q[b, s2, j] > boot:
                        boot = Q[b, s2, j]
                y = r if term else r + gamma[b] * boot
                delta = y - q
                step = alpha[b] * delta
                Q[b, s, a] = q + step
                col = g_ep[g]
                if record:
                    sums[0, b, col] += abs(delta)
                    sums[1, b, col] += abs(step)
                len_b = g_len[g] + 1
                ret_b = g_ret[g] + r
                if term or len_b >= max_steps:
                    lengths[b, col] = len_b
                    returns[b, col] = ret_b
                    g_ep[g] = col + 1
                    g_len[g] = 0
                    g_ret[g] = zero
                    if single_start >= 0:
                        g_s[g] = single_start
                    else:
                        u = _uniform(k_b, base, sm_reset, shift, scale)
                        g_s[g] = min(_draw(start_cdf, u), start_last)
                    if col + 1 >= n_episodes:
                        active[b] = False
                        done_at[b] = t + 1
                        g_on[g] = False
                        n_on -= 1
                else:
                    g_len[g] = len_b
                    g_ret[g] = ret_b
                    g_s[g] = s2
        for g in range(n_g):
            b = ids[g]
            s_now[b], ep[b], ep_len[b], ep_ret[b] = g_s[g], g_ep[g], g_len[g], g_ret[g]


@_njit
def _row_differs(table, b, c):
    for j in range(table.shape[1]):
        if table[b, j] != table[c, j]:
            return True
    return False


@_njit
def _policy_table(greedy_row, pu, A, cum_tab, last_tab):
    """Inverse-CDF sums and last positive action of pi(.|s) for every tie pattern ``best``:
    the epsilon-greedy probabilities of ``PolicySampler.probs``, accumulated as
    ``policy.draw`` does (float64 sums, each rounded to the learner's dtype)."""
    for best in range(1, 1 << A):
        k = 0
        for j in range(A):
            if (best >> j) & 1:
                k += 1
        pg = greedy_row[k]
        acc = 0.0
        last = -1
        for j in range(A):
            pj = pg if (best >> j) & 1 else pu
            if pj > 0:
                last = j
            acc += pj
            cum_tab[best, j] = acc
        last_tab[best] = last
    cum_tab[0, :] = 0  # no tie pattern is empty (the max ties with itself)
    last_tab[0] = 0


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernels once, e.g. before timing them."""
    if HAVE_NUMBA:
        import darkcontrol.batched.kernels as k  # noqa: F401  (compiled on first call)
