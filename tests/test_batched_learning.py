"""Batched learners learn what the exact solver says, agent i's results do not depend on its
batch, per-agent hyper-parameters are honoured, and the memory estimate covers what is used."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import darkcontrol.envs  # noqa: F401
from darkcontrol.batched.base import BatchedLearner
from darkcontrol.batched.dmn import BatchedDMN
from darkcontrol.batched.dyna import BatchedDynaQ
from darkcontrol.batched.qlearning import BatchedQLearning
from darkcontrol.batched.registry import BATCHED, batched_class
from darkcontrol.batched.successor import BatchedSRTD
from darkcontrol.batched.sweeping import BatchedPrioritizedSweeping
from darkcontrol.batched.testing import curve_z
from darkcontrol.envs.mazes import OpenField
from darkcontrol.envs.solvers import value_iteration
from darkcontrol.sweep.metrics import greedy_start_values

ALL = [BatchedQLearning, BatchedDynaQ, BatchedPrioritizedSweeping, BatchedSRTD, BatchedDMN]
EXACT = [BatchedQLearning, BatchedDynaQ, BatchedPrioritizedSweeping, BatchedDMN]


@pytest.fixture(scope="module")
def maze():
    return gym.make("darkcontrol/DynaMaze-v0").unwrapped.mdp


def test_registry_lists_every_batched_learner():
    assert {batched_class(n) for n in BATCHED} == set(ALL)
    for cls in ALL:
        assert issubclass(cls, BatchedLearner) and cls.reference


@pytest.mark.slow
@pytest.mark.parametrize(
    "cls, params",
    [
        (BatchedDynaQ, dict(n_planning=10, alpha=0.5)),
        (BatchedPrioritizedSweeping, dict(n_planning=10, alpha=1.0, theta=1e-6)),
    ],
)
def test_planning_agents_find_the_optimal_policy(maze, cls, params):
    """Ground truth: value iteration. Off-policy planners exploring at random (epsilon = 1)
    learn Q*: the greedy policy of the learned Q is optimal from the start (the 14-step
    shortest path of Sutton & Barto's Example 8.1)."""
    res = cls(maze, np.arange(8), gamma=0.95, epsilon=1.0, dtype="float64", **params)
    res = res.run(8, 400)
    greedy = greedy_start_values(maze, res.Q, np.full(8, 0.95))
    optimal = value_iteration(maze, 0.95).V @ maze.start
    assert np.allclose(greedy, optimal, atol=1e-9), greedy
    assert np.isclose(optimal, 0.95**13)


@pytest.mark.slow
def test_q_learning_converges_to_q_star_in_a_small_slippery_world():
    mdp = OpenField(3, 3, slip=0.2).mdp
    res = BatchedQLearning(
        mdp, np.arange(16), alpha=0.1, epsilon=1.0, gamma=0.9, dtype="float64"
    ).run(500, 100)
    q_star = value_iteration(mdp, 0.9).Q
    free = ~mdp.terminal
    err = np.abs(res.Q.mean(0)[free] - q_star[free]).max()
    assert err < 0.05, err


BACKEND_CASES = [(cls, "torch") for cls in ALL] + [
    (BatchedQLearning, "numba"),
    (BatchedDynaQ, "numba"),
]


@pytest.mark.parametrize("cls, backend", BACKEND_CASES)
def test_agent_results_do_not_depend_on_the_batch(maze, cls, backend):
    """Agent with seed 7 and alpha 0.4 alone, and in a batch among others."""
    kw = dict(dtype="float64", backend=backend)
    alone = cls(maze, [7], alpha=[0.4], **kw).run(3, 100)
    crowd = cls(maze, [1, 7, 3, 99], alpha=[0.2, 0.4, 0.9, 0.1], **kw).run(3, 100)
    np.testing.assert_array_equal(alone.lengths[0], crowd.lengths[1])
    if cls in EXACT:
        np.testing.assert_array_equal(alone.Q[0], crowd.Q[1])
    else:  # SR-TD: reductions over S round differently with the batch layout
        np.testing.assert_allclose(alone.Q[0], crowd.Q[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_finished_agents_are_frozen(maze, backend):
    """An agent that finished its episodes keeps its values while the others run on."""
    L = BatchedDynaQ(maze, [0, 1, 2, 3], n_planning=5, dtype="float64", backend=backend)
    L.start(3, 300)
    while bool(L._run.active.all()):
        L.step()
    first = int(torch.nonzero(~L._run.active)[0])
    frozen = L.Q[first].clone()
    while L.step():
        pass
    assert not bool(L._run.active.any())
    torch.testing.assert_close(L.Q[first], frozen, rtol=0, atol=0)
    assert L._run.t > 0


def test_region_summaries_count_planning_steps(maze):
    res = BatchedDynaQ(maze, [0, 1], n_planning=[0, 7]).run(3, 100, record_regions=True)
    np.testing.assert_array_equal(res.regions["n_offline"][0], 0)
    np.testing.assert_array_equal(res.regions["n_offline"][1], 7 * res.lengths[1])
    assert np.all(res.regions["spe_online"] <= 1.0)
    frame = res.region_frame([10, 11])
    assert list(frame["agent"].unique()) == [10, 11] and len(frame) == 6


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("model", ["last", "counts"])
def test_memory_estimate_covers_the_allocated_state(maze, cls, model):
    params = {} if cls is BatchedQLearning else {"model": model}
    if cls is BatchedQLearning and model == "counts":
        pytest.skip("no model")
    B = 16
    learner = cls(maze, np.arange(B), **params)
    per_agent = cls.bytes_per_agent(maze.n_states, maze.n_actions, learner.config, 4)
    used = learner.nbytes() / B
    assert used <= per_agent <= 1.6 * used + 64, (used, per_agent)
    tensors = learner.state_tensors()
    assert all(t.shape[0] >= B for t in tensors.values())  # per-agent state only


def test_per_agent_arrays_are_validated(maze):
    with pytest.raises(ValueError, match="alpha must be in"):
        BatchedQLearning(maze, [0, 1], alpha=[0.5, 1.5])
    with pytest.raises(ValueError, match="3 values for 2 seeds"):
        BatchedQLearning(maze, [0, 1], alpha=[0.1, 0.2, 0.3])
    with pytest.raises(TypeError, match="max_steps"):
        BatchedQLearning(maze, [0]).run(3, None)
    with pytest.raises(ValueError, match="unknown parameter"):
        BatchedQLearning(maze, [0], n_planning=3)
    with pytest.raises(TypeError, match="n_planning must hold integers"):
        BatchedDynaQ(maze, [0], n_planning=2.5)


def test_float32_and_float64_runs_agree_in_distribution(maze):
    a = BatchedDynaQ(maze, np.arange(48), n_planning=5, dtype="float32").run(4, 200).lengths
    b = BatchedDynaQ(maze, np.arange(48), n_planning=5, dtype="float64").run(4, 200).lengths
    assert abs(a.mean() - b.mean()) < 0.2 * b.mean()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cls", ALL)
def test_cuda_runs_match_cpu(maze, cls):
    """Same code on CUDA: same seeds give the same runs up to float rounding (a fused
    multiply-add may flip a near-tie, so most, not all, curves are identical)."""
    cpu = cls(maze, np.arange(64), device="cpu", dtype="float64").run(4, 200)
    gpu = cls(maze, np.arange(64), device="cuda", dtype="float64").run(4, 200)
    same = (cpu.lengths == gpu.lengths).all(1)
    assert same.mean() > 0.9
    np.testing.assert_allclose(cpu.Q[same], gpu.Q[same], rtol=1e-9, atol=1e-12)
    assert np.abs(curve_z(gpu.lengths, cpu.lengths)).max() < 4.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_device_picks_cuda(maze):
    assert BatchedQLearning(maze, [0], device="auto").device.type == "cuda"
