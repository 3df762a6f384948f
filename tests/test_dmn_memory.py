"""Hippocampal memory, association graph and recombination: their sampling and bookkeeping."""

import numpy as np
import pytest
from scipy import stats

from darkcontrol.agents.model import WorldModel
from darkcontrol.dmn import AssociationGraph, ExperienceMemory, Recombiner


def _filled(prioritised=False, n=5, **kw):
    mem = ExperienceMemory(100, prioritised=prioritised, seed=0, **kw)
    for i in range(n):
        mem.add(i, 0, float(i), i + 1, False)
    return mem


def test_uniform_replay_draws_every_memory_equally_often():
    mem = _filled(n=5)
    counts = np.bincount([mem.sample() for _ in range(20_000)], minlength=5)
    assert stats.chisquare(counts).pvalue > 0.001
    assert mem.get(3) == (3, 0, 3.0, 4, False)


def test_prioritised_replay_draws_in_proportion_to_priority():
    mem = _filled(prioritised=True, n=4, exponent=1.0, eps=1e-6)
    for i, p in enumerate([1.0, 2.0, 3.0, 4.0]):
        mem.set_priority(i, p)
    counts = np.bincount([mem.sample() for _ in range(40_000)], minlength=4)
    expected = np.array([1, 2, 3, 4]) / 10 * counts.sum()
    assert stats.chisquare(counts, expected).pvalue > 0.001
    # a new memory enters with the maximum priority so far
    i = mem.add(9, 1, 0.0, 9, True)
    assert mem.priority[i] == pytest.approx(4.0 + 1e-6)


def test_memory_is_a_ring_buffer_and_reconsolidation_rewrites_a_pair():
    mem = ExperienceMemory(3, seed=0)
    for i in range(5):
        mem.add(i, 0, 0.0, i, False)
    assert len(mem) == 3 and sorted(mem.states.tolist()) == [2, 3, 4]
    mem.add(7, 1, 0.0, 8, False)
    mem.add(7, 1, 0.0, 8, False)
    assert mem.reconsolidate(7, 1, -1.0, 7, True) == 2
    rows = [mem.get(i) for i in range(3) if mem.states[i] == 7]
    assert rows == [(7, 1, -1.0, 7, True)] * 2
    assert mem.rewrite_arrivals(7, 5.0, False) == 2
    with pytest.raises(ValueError, match="empty"):
        ExperienceMemory(3).sample()


def test_successor_representation_converges_to_its_closed_form():
    # a deterministic ring 0 -> 1 -> 2 -> 0: M = (I - gamma P)^-1
    g = AssociationGraph(3, "sr", sr_gamma=0.5, sr_alpha=0.2)
    for _ in range(400):
        for s in range(3):
            g.update(s, (s + 1) % 3)
    P = np.roll(np.eye(3), 1, axis=1)
    np.testing.assert_allclose(g.M, np.linalg.inv(np.eye(3) - 0.5 * P), atol=1e-6)
    W = g.weights()
    assert (W >= 0).all() and np.allclose(W, W.T) and (np.diag(W) == 0).all()


def test_cooccurrence_graph_is_the_experienced_graph():
    g = AssociationGraph(4)
    for s, s2 in [(0, 1), (1, 2), (2, 1), (3, 3)]:
        g.update(s, s2)
    G = g.graph()
    assert sorted(G.edges) == [(0, 1), (1, 2)]
    assert G[1][2]["weight"] == 2.0
    with pytest.raises(ValueError, match="no edges"):
        AssociationGraph(3).communities()


def _corridor_model():
    # states on a line at x = 0..4; action 0 moves +1 (tried in 0, 1, 2), action 1 moves -1
    m = WorldModel(5, 2)
    for s in (0, 1, 2):
        m.update(s, 0, 0.0, s + 1, False)
    m.update(3, 1, 0.0, 2, False)
    m.update(3, 0, 1.0, 4, True)
    return m


def test_analogy_carries_a_move_to_a_state_where_it_was_never_tried():
    m = _corridor_model()
    rng = np.random.default_rng(0)
    features = np.arange(5, dtype=float)[:, None]
    rec = Recombiner(m, "analogy", features=features, rng=rng)
    for s, a, r, s2, t in [(0, 0, 0, 1, 0), (1, 0, 0, 2, 0), (2, 0, 0, 3, 0), (3, 1, 0, 2, 0)]:
        rec.observe(s, a, r, s2, bool(t))
    rec.observe(3, 0, 1.0, 4, True)
    # gaps: (1, 1), (2, 1) and (0, 1); action 1 (-1) was only tried in state 3
    built = {rec.sample() for _ in range(200)} - {None}
    assert (1, 1, 0.0, 0, False) in built and (2, 1, 0.0, 1, False) in built
    # state 0 moving -1 would leave the known states: no transition is built
    assert not any(b[0] == 0 for b in built)
    assert rec.n_gaps == 3  # 0, 1, 2 each miss action 1


def test_association_recombination_leads_to_associated_unreached_states():
    m = WorldModel(4, 2)
    g = AssociationGraph(4)
    rec = Recombiner(m, "association", association=g, rng=np.random.default_rng(0))
    for s, a, s2, r in [(0, 0, 1, 0.0), (1, 0, 2, 0.0), (2, 1, 0, 0.0), (2, 0, 3, 1.0)]:
        m.update(s, a, r, s2, s2 == 3)
        g.update(s, s2, s2 == 3)
        rec.observe(s, a, r, s2, s2 == 3)
    built = {rec.sample() for _ in range(200)} - {None}
    # gaps (0, 1) and (1, 1): 0's untried action goes to 0's other associate (2), 1's to 0
    assert built == {(0, 1, 0.0, 2, False), (1, 1, 0.0, 0, False)}
    with pytest.raises(ValueError, match="needs state features"):
        Recombiner(m, "analogy", rng=np.random.default_rng(0))
