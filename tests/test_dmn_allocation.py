"""Offline processing allocated by a mechanism (issue 12, item 1): darkcontrol.dmn.allocation.

Unit tests check each term against hand-computed ground truth. The claim tests run a
Q-learner with hippocampal replay in the Dyna maze: after each real step the allocator's share
of a 1-s interval at 10 Hz is spent on replay; after 2000 steps the world changes (the action
mapping is mirrored, up <-> down, left <-> right, so every learnt transition fails). Seeds 0-9
are reported; the defaults prior=0.5, w_stake=0.3 were chosen on seeds 100-104.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import darkcontrol.envs  # noqa: F401  (registers the environments)
from darkcontrol.agents.registry import make_agent
from darkcontrol.dmn.allocation import (
    AllocationConfig,
    Allocator,
    expected_backup_value,
    softmax_rows,
)
from darkcontrol.dmn.memory import ExperienceMemory
from darkcontrol.trace import TraceRecorder

MIRROR = (2, 3, 0, 1)
N_TRIALS, CHANGE, WINDOW = 3000, 2000, 100
SEEDS = range(10)


def allocator(S=3, A=2, **kw) -> Allocator:
    return Allocator(S, A, AllocationConfig(**kw), rng=np.random.default_rng(0))


# -- the terms against ground truth -----------------------------------------------------------
def test_predictive_distribution_with_forgetting():
    al = allocator(S=4, A=1, prior=0.4, forgetting=0.5)
    np.testing.assert_allclose(al.predictive(0, 0), np.full(4, 0.25))  # never tried: uniform
    assert al.pair_uncertainty(0, 0) == pytest.approx(1 - 4 * 0.25**2)
    al.observe(0, 0, 0.0, 1, False)
    al.observe(0, 0, 0.0, 1, False)  # counts: 1 * 0.5 + 1 = 1.5 on state 1
    p = np.full(4, 0.1) / 1.9
    p[1] += 1.5 / 1.9
    np.testing.assert_allclose(al.predictive(0, 0), p)
    assert al.pair_uncertainty(0, 0) == pytest.approx(1 - (p**2).sum())
    ent = allocator(S=4, A=1, prior=0.4, forgetting=0.5, uncertainty="entropy")
    for _ in range(2):
        ent.observe(0, 0, 0.0, 1, False)
    assert ent.pair_uncertainty(0, 0) == pytest.approx(-(p * np.log(p)).sum() / math.log(4))


def test_uncertainty_falls_with_practice_and_rises_when_an_outcome_changes():
    al = allocator(S=10, A=1)
    u = [al.pair_uncertainty(0, 0)]
    for _ in range(30):
        al.observe(0, 0, 0.0, 1, False)
        u.append(al.pair_uncertainty(0, 0))
    assert np.all(np.diff(u) < 0) and u[-1] < 0.2
    after = []
    for _ in range(30):
        al.observe(0, 0, 0.0, 2, False)  # the world changed: (0, 0) now leads to 2
        after.append(al.pair_uncertainty(0, 0))
    assert max(after) > 4 * u[-1]  # a failed prediction raises the predicted uncertainty
    assert after[-1] < 0.5 * max(after)  # ... until the old outcome is forgotten
    # without forgetting the old outcome is never forgotten: the rise does not resolve
    rigid = allocator(S=10, A=1, forgetting=0.0)
    for s2 in [1] * 30 + [2] * 30:
        rigid.observe(0, 0, 0.0, s2, False)
    assert rigid.pair_uncertainty(0, 0) > 0.4


def test_stake_is_the_look_ahead_spread_of_tried_actions():
    al = allocator(S=3, A=3, forgetting=0.0)
    Q = np.array([[0.0, 0.0, 9.0], [1.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    al.observe(0, 0, 1.0, 1, False)  # q = 1 + 0.5 * 2
    al.observe(0, 1, -1.0, 2, True)  # q = -1 (2 ends the episode)
    assert al.stake(0, Q, 0.5) == pytest.approx(3.0)  # untried action 2 (Q = 9) does not count
    assert al.stake(1, Q, 0.5) == 0.0  # nothing tried in 1


def test_gain_is_mattar_daw_policy_improvement():
    Q = np.array([[0.0, 0.5], [1.0, 0.0]])
    gain = expected_backup_value(
        Q, np.array([0, 0]), np.array([0, 1]), np.array([1.0, 0.5]),
        np.array([1, 1]), np.array([True, True]), 0.9, 2.0,
    )  # fmt: skip
    q_new = np.array([1.0, 0.5])  # memory 0: Q(0, 0) <- 1
    p_old, p_new = softmax_rows(Q[0], 2.0), softmax_rows(q_new, 2.0)
    assert gain[0] == pytest.approx(float((p_new - p_old) @ q_new))
    assert gain[1] == 0.0  # the backup changes nothing


def test_share_is_the_sigmoid_of_value_minus_demand():
    al = allocator(S=3, A=2, need="uniform", beta=4.0, bias=0.2, w_stake=0.5, w_voc=2.0)
    mem = ExperienceMemory(10, seed=0)
    mem.add(0, 1, 1.0, 2, True)
    al.observe(0, 1, 1.0, 2, True)
    al.observe(0, 0, 0.0, 1, False)
    Q = np.zeros((3, 2))
    policy = np.array([0.5, 0.5])
    res = al.allocate(0, Q, policy, mem, 0.9)
    u = 0.5 * (al.pair_uncertainty(0, 0) + al.pair_uncertainty(0, 1))
    k = 1.0 - 0.0  # look-ahead: r = 1 into a terminal state vs 0 + 0.9 max Q(1, .) = 0
    v = 2.0 * float(expected_backup_value(Q, [0], [1], [1.0], [2], [True], 0.9, 5.0)[0])
    d = u + 0.5 * k
    assert (res.uncertainty, res.stake, res.voc, res.demand) == pytest.approx((u, k, v, d))
    assert res.share == pytest.approx(1 / (1 + math.exp(-4.0 * (v - d + 0.2))))
    end = al.allocate(2, Q, policy, mem, 0.9, idle=True)
    assert end.demand == 0.0  # no action required at the end of an episode
    flat = allocator(S=3, A=2, demand="constant", constant_demand=0.7, need="uniform")
    assert flat.allocate(0, Q, policy, mem, 0.9).demand == 0.7


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"beta": 0}, r"beta must be in \(0.0, inf\), got 0"),
        ({"forgetting": 1.0}, r"forgetting must be in \[0.0, 1.0\), got 1.0"),
        ({"prior": -1}, r"prior must be in \(0.0, inf\), got -1"),
        ({"w_stake": -0.1}, r"w_stake must be in \[0.0, inf\), got -0.1"),
        ({"candidates": 0}, r"candidates must be an int >= 1, got 0"),
        ({"demand": "none"}, r"demand must be one of \('learned', 'constant'\), got 'none'"),
        ({"need": "x"}, r"need must be one of"),
        ({"uncertainty": "x"}, r"uncertainty must be one of"),
        ({"sr_alpha": 0}, r"sr_alpha must be in \(0.0, 1.0\], got 0"),
    ],
)
def test_bad_parameters_are_refused_with_their_range(kw, msg):
    with pytest.raises(ValueError, match=msg):
        AllocationConfig(**kw)


# -- the claims ---------------------------------------------------------------------------------
def practise(seed: int, *, demand: str = "learned", constant_demand: float = 0.3):
    """Per trial: the allocated offline share, the demand, and the running mean of spe."""
    base = gym.make("darkcontrol/DynaMaze-v0")
    mirrored = gym.wrappers.TransformAction(base, lambda a: MIRROR[a], base.action_space)
    seeds = [int(x.generate_state(1)[0]) for x in np.random.SeedSequence(seed).spawn(3)]
    agent = make_agent("q_learning", base, seed=seeds[0], recorder=TraceRecorder(), gamma=0.95)
    memory = ExperienceMemory(100_000, seed=seeds[1])
    cfg = AllocationConfig(demand=demand, constant_demand=constant_demand)
    al = Allocator(54, 4, cfg, rng=np.random.default_rng(seeds[2]))
    seen = np.zeros((54, 4, 54))
    env, (s, _) = base, base.reset(seed=seed)
    agent.reset()
    share, demand_, spe_bar = np.zeros(N_TRIALS), np.zeros(N_TRIALS), np.zeros(N_TRIALS)
    bar, carry = 1.0, 0.0
    for t in range(N_TRIALS):
        if t == CHANGE:
            env = mirrored
        a = agent.act(s)
        s2, r, term, trunc, _ = env.step(a)
        n = seen[s, a].sum()
        spe = 1.0 if n == 0 else 1.0 - seen[s, a, s2] / n  # the DMN's spe (counts model)
        seen[s, a, s2] += 1
        bar += 0.1 * (spe - bar)
        memory.add(s, a, r, s2, term)
        al.observe(s, a, r, s2, term)
        agent.observe(s, a, r, s2, term, trunc)
        res = al.allocate(s2, agent.q_values(), agent.policy(s2), memory, 0.95, idle=term)
        share[t], demand_[t], spe_bar[t] = res.share, res.demand, bar
        x = 10.0 * res.share + carry  # a 1-s interval at 10 Hz
        k = int(x)
        carry = x - k
        for _ in range(k):
            agent.learn_offline(*memory.get(memory.sample()), source="replay")
        s = s2
        if term:
            s, _ = env.reset()
            agent.reset()
    return share, demand_, spe_bar


def phases(share: np.ndarray) -> dict[str, float]:
    return {
        "early": share[:WINDOW].mean(),
        "late": share[CHANGE - WINDOW : CHANGE].mean(),
        "after": share[CHANGE : CHANGE + WINDOW].mean(),
    }


@pytest.mark.slow
def test_allocation_rises_with_practice_falls_after_a_change_and_not_by_a_rule():
    intact, ablated, corr = [], [], []
    for seed in SEEDS:
        share, demand, spe_bar = practise(seed)
        intact.append(phases(share))
        corr.append(np.corrcoef(share, spe_bar)[0, 1])
        # ablation: the demand held at the intact run's mean demand
        flat, _, _ = practise(seed, demand="constant", constant_demand=float(demand.mean()))
        ablated.append(phases(flat))
    rise = np.array([p["late"] - p["early"] for p in intact])
    fall = np.array([p["after"] - p["late"] for p in intact])
    assert rise.mean() >= 0.4 and (rise > 0.1).all(), rise
    assert fall.mean() <= -0.2 and (fall < 0).mean() >= 0.8, fall
    assert np.max(np.abs(corr)) < 0.9, corr  # not a function of spe's running mean
    rise0 = np.array([p["late"] - p["early"] for p in ablated])
    fall0 = np.array([p["after"] - p["late"] for p in ablated])
    assert abs(rise0.mean()) < 0.1, rise0  # the rise disappears with the demand ablated
    assert fall0.mean() > -0.05, fall0  # and so does the fall
