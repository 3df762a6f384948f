"""Recombination from learned representations (issue 12, item 4).

Ground truth: never-tried (s, a) pairs are planted (one non-optimal action per state is never
taken in the real world); after practice their learnt values are compared with Q* of the exact
solver. The worlds are given to the agent as ``MDPEnv``s built from MDPs *without* coordinates,
so nothing but experienced transitions can inform the recombination. Control: the same number
of offline backups, all plain replay (compute-matched), which cannot reach untried pairs.
Seeds 0-9 are reported; the settings (5 feature dims, 4 analogues, best-fit destination,
noise 1.0, 5000 steps on the lattice) were chosen on seeds 100-107.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import spearmanr

from darkcontrol.agents.model import WorldModel
from darkcontrol.agents.registry import make_agent
from darkcontrol.dmn.association import AssociationGraph
from darkcontrol.dmn.memory import ExperienceMemory
from darkcontrol.dmn.recombine import LearnedFeatures, Recombiner
from darkcontrol.envs import value_iteration
from darkcontrol.envs.graph import LatticeGraph
from darkcontrol.envs.mazes import DynaMaze
from darkcontrol.envs.tabular import MDPEnv
from darkcontrol.trace import TraceRecorder

GAMMA = 0.9
SEEDS = range(10)


def coordless(env) -> MDPEnv:
    mdp = dataclasses.replace(env.unwrapped.mdp, coords=None)
    assert mdp.coords is None
    return MDPEnv(mdp)


def held_out_pairs(mdp, seed: int) -> np.ndarray:
    """One non-optimal action per state (-1: none) that the agent never takes for real."""
    q = value_iteration(mdp, GAMMA).Q
    rng = np.random.default_rng(10_000 + seed)
    out = np.full(q.shape[0], -1)
    for s in range(q.shape[0]):
        worse = np.flatnonzero(q[s] < q[s].max() - 1e-9)
        if len(worse) and not mdp.terminal[s]:
            out[s] = rng.choice(worse)
    return out


def practise(env, seed: int, mode: str | None, *, n_steps: int, k: int = 10, noise: float = 1.0):
    """Real steps with k offline backups after each: half recombined (``mode``) and half
    replayed, or all replayed (``mode=None``, the compute-matched control). Returns the
    untried pairs' (Q, Q*) and the number of recombined backups."""
    mdp = env.mdp
    S, A = mdp.P.shape[:2]
    seeds = [int(x.generate_state(1)[0]) for x in np.random.SeedSequence(seed).spawn(3)]
    agent = make_agent(
        "q_learning", env, seed=seeds[0], recorder=TraceRecorder(), gamma=GAMMA, epsilon=0.1
    )
    memory = ExperienceMemory(100_000, seed=seeds[1])
    rng = np.random.default_rng(seeds[2])
    model, assoc = WorldModel(S, A), AssociationGraph(S)
    rec = None
    if mode is not None:
        rec = Recombiner(model, mode, association=assoc, rng=rng, noise=noise)
    held = held_out_pairs(mdp, seed)
    s, _ = env.reset(seed=seed)
    agent.reset()
    n_rec = 0
    for _ in range(n_steps):
        a = agent.act(s)
        while a == held[s]:
            a = agent.act(s)
        s2, r, term, trunc, _ = env.step(a)
        model.update(s, a, r, s2, term)
        memory.add(s, a, r, s2, term)
        assoc.update(s, s2, term)
        if rec is not None:
            rec.observe(s, a, r, s2, term)
        agent.observe(s, a, r, s2, term, trunc)
        for _ in range(k):
            built = rec.sample(memory) if rec is not None and rng.random() < 0.5 else None
            if built is None:
                agent.learn_offline(*memory.get(memory.sample()), source="replay")
            else:
                n_rec += 1
                agent.learn_offline(*built, source="recombined")
        s = s2
        if term:
            s, _ = env.reset()
            agent.reset()
    q_star = value_iteration(mdp, GAMMA).Q
    visited = model.visits.sum(axis=1) > 0
    mask = (model.visits == 0) & (visited & ~mdp.terminal)[:, None]
    return agent.q_values()[mask], q_star[mask], n_rec


def rank_correlation(q: np.ndarray, q_star: np.ndarray) -> float:
    """Spearman rho; 0 when the learnt values carry no ranking (all equal)."""
    if len(q) < 3 or np.ptp(q) == 0:
        return 0.0
    return float(spearmanr(q, q_star).statistic)


WORLDS = {
    "dyna_maze": (lambda: coordless(DynaMaze()), 3000),
    "lattice_graph": (lambda: coordless(LatticeGraph(6, 6)), 5000),
}


@pytest.mark.slow
@pytest.mark.parametrize("world", sorted(WORLDS))
def test_stitching_gives_untried_pairs_values_ranked_like_q_star(world):
    make, n_steps = WORLDS[world]
    rho, rho_control = [], []
    for seed in SEEDS:
        q, q_star, n_rec = practise(make(), seed, "stitch", n_steps=n_steps)
        assert n_rec > 0.3 * 5 * n_steps  # recombination found destinations most of the time
        rho.append(rank_correlation(q, q_star))
        if seed < 3:  # the control's values of untried pairs stay exactly at their start
            q0, q0_star, _ = practise(make(), seed, None, n_steps=n_steps)
            assert len(q0) > 10
            assert np.all(q0 == 0.0)  # replay never reaches a pair that was never tried
            rho_control.append(rank_correlation(q0, q0_star))
    rho, rho_control = np.array(rho), np.array(rho_control)
    assert rho.mean() >= 0.5, rho
    assert (rho > 0).mean() >= 0.9, rho
    assert np.all(rho_control == 0.0)


@pytest.mark.slow
def test_perturbed_replay_reaches_untried_pairs_and_noise_zero_is_plain_replay():
    env = coordless(DynaMaze())
    rho = []
    for seed in range(5):
        q, q_star, n_rec = practise(env, seed, "perturb", n_steps=3000)
        rho.append(rank_correlation(q, q_star))
    assert np.mean(rho) > 0.2, rho  # weaker than stitching (a single fragment carried over)
    # noise 0: exactly the stored memory, in the memory's order
    S, A = 4, 2
    model, assoc = WorldModel(S, A), AssociationGraph(S)
    mem = ExperienceMemory(10, seed=1)
    for s, a, r, s2 in ((0, 0, 0.0, 1), (1, 0, 0.0, 2), (2, 0, 1.0, 3)):
        model.update(s, a, r, s2, s2 == 3)
        mem.add(s, a, r, s2, s2 == 3)
        assoc.update(s, s2, s2 == 3)
    rec = Recombiner(model, "perturb", association=assoc, rng=np.random.default_rng(0), noise=0)
    for s, a, r, s2, t in ((0, 0, 0.0, 1, False), (1, 0, 0.0, 2, False), (2, 0, 1.0, 3, True)):
        rec.observe(s, a, r, s2, t)
    mem2 = ExperienceMemory(10, seed=1)
    for i in range(3):
        mem2.add(*mem.get(i))
    for _ in range(20):
        assert rec.sample(mem) == mem2.get(mem2.sample())


def test_learned_features_recover_a_chain_order_without_coordinates():
    """The first Laplacian eigenvector of an experienced chain is monotone along it."""
    assoc = AssociationGraph(7)
    chain = [3, 1, 5, 0, 6, 2, 4]  # states named out of order: the order must be learnt
    for u, v in zip(chain, chain[1:]):
        assoc.update(u, v)
    phi = LearnedFeatures(assoc, dims=1).get()[:, 0]
    along = phi[chain]
    d = np.diff(along)
    assert np.all(d > 0) or np.all(d < 0)


def test_stitch_destination_by_learned_analogy():
    """A 3 x 3 grid (actions right, down, left, up), everything tried but 'right' and 'up' in
    the centre: both untried moves have two unreached experienced neighbours to choose from
    (1 above, 5 to the right); the learnt features' displacement analogy picks the right one
    for each."""
    n = 3
    S, A = n * n, 4
    moves = ((0, 1), (1, 0), (0, -1), (-1, 0))
    model, assoc = WorldModel(S, A), AssociationGraph(S)
    rec = Recombiner(
        model, "stitch", association=assoc, rng=np.random.default_rng(0), feature_dims=2
    )

    def step(s, a):
        r_, c_ = divmod(s, n)
        r_ = min(max(r_ + moves[a][0], 0), n - 1)
        c_ = min(max(c_ + moves[a][1], 0), n - 1)
        return r_ * n + c_

    for s in range(S):
        for a in range(A):
            if s == 4 and a in (0, 3):
                continue
            s2 = step(s, a)
            model.update(s, a, 0.0, s2, False)
            assoc.update(s, s2)
            rec.observe(s, a, 0.0, s2, False)
    got = {}
    for _ in range(40):
        s, a, r, s2, t = rec.sample()
        got.setdefault(a, set()).add(s2)
        assert (s, r, t) == (4, 0.0, False)
    assert got == {0: {5}, 3: {1}}


def test_learned_modes_refuse_given_features_and_bad_noise():
    model, assoc = WorldModel(4, 2), AssociationGraph(4)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="features= is"):
        Recombiner(model, "stitch", association=assoc, rng=rng, features=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="noise must be a finite number >= 0, got -1"):
        Recombiner(model, "perturb", association=assoc, rng=rng, noise=-1)
    with pytest.raises(ValueError, match="needs an AssociationGraph"):
        Recombiner(model, "stitch", rng=rng)
    with pytest.raises(
        ValueError, match=r"analogy_beta must be >= 0 \(inf: the best fit\), got -1"
    ):
        Recombiner(model, "stitch", association=assoc, rng=rng, analogy_beta=-1)
    with pytest.raises(ValueError, match="analogues must be an int >= 1, got 0"):
        Recombiner(model, "stitch", association=assoc, rng=rng, analogues=0)
    with pytest.raises(ValueError, match="feature dims must be an int >= 1, got 0"):
        LearnedFeatures(assoc, dims=0)
