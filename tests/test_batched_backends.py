"""The compiled (numba) CPU kernel and the torch program are one algorithm: for the same seeds,
hyper-parameters and dtype they give bit-identical results (Q tables, episode lengths and
returns, region summaries, lockstep step counts), step by step and in whole runs, in
deterministic and stochastic worlds with one or several start states."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch

import darkcontrol.envs  # noqa: F401
from darkcontrol.batched.dyna import BatchedDynaQ
from darkcontrol.batched.qlearning import BatchedQLearning
from darkcontrol.batched.sweeping import BatchedPrioritizedSweeping
from darkcontrol.envs.mazes import OpenField

DTYPES = ["float32", "float64"]


def _random_start(mdp):
    """The same world with episodes starting anywhere non-terminal (inverse-CDF resets)."""
    start = (~mdp.terminal).astype(np.float64)
    return dataclasses.replace(mdp, start=start / start.sum())


WORLDS = {
    "maze": lambda: gym.make("darkcontrol/DynaMaze-v0").unwrapped.mdp,
    "slippery-random-start": lambda: _random_start(OpenField(4, 4, slip=0.3).mdp),
}


def _assert_same(a, b):
    np.testing.assert_array_equal(a.Q, b.Q)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    np.testing.assert_array_equal(a.returns, b.returns)
    assert a.steps == b.steps
    assert a.regions.keys() == b.regions.keys()
    for k in a.regions:
        np.testing.assert_array_equal(a.regions[k], b.regions[k], err_msg=k)


@pytest.mark.parametrize("world", sorted(WORLDS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "cls, params",
    [
        (BatchedQLearning, {}),
        (BatchedQLearning, {"policy": "greedy"}),
        (BatchedDynaQ, {"n_planning": [0, 2, 7, 3] * 6}),
    ],
)
def test_whole_runs_are_bit_identical(world, dtype, cls, params):
    mdp = WORLDS[world]()
    B = 24
    kw = dict(
        alpha=np.linspace(0.1, 1.0, B),
        epsilon=[0.0, 0.1, 0.3] * 8,
        gamma=0.9,
        q_init=[0.0, 0.5] * 12,
        dtype=dtype,
        **params,
    )
    torch_res = cls(mdp, np.arange(B) * 7919, backend="torch", **kw)
    numba_res = cls(mdp, np.arange(B) * 7919, backend="numba", **kw)
    assert (torch_res.backend, numba_res.backend) == ("torch", "numba")
    a = torch_res.run(4, 60, record_regions=True)
    b = numba_res.run(4, 60, record_regions=True)
    _assert_same(a, b)
    assert (a.lengths > 0).all() and np.abs(a.Q).max() > 0.1  # episodes ended, values learned
    assert b.info["backend"] == "numba"


@pytest.mark.parametrize("dtype", DTYPES)
def test_step_by_step_states_are_identical(dtype):
    """Lockstep ``step()`` calls: same Q tables, states and episode counters after each step."""
    mdp = WORLDS["slippery-random-start"]()
    kw = dict(n_planning=[1, 4, 0], epsilon=0.2, alpha=0.5, dtype=dtype)
    L = {b: BatchedDynaQ(mdp, [3, 4, 5], backend=b, **kw) for b in ("torch", "numba")}
    for learner in L.values():
        learner.start(3, 20)
    for _ in range(70):
        assert L["torch"].step() == L["numba"].step()
        t, n = L["torch"]._run, L["numba"]._run
        torch.testing.assert_close(L["torch"].Q, L["numba"].Q, rtol=0, atol=0)
        act = t.active
        assert torch.equal(act, n.active)
        assert torch.equal(t.ep, n.ep)
        assert torch.equal(t.s[act], n.s[act])  # finished agents are skipped by the kernel
        assert torch.equal(t.ep_len[act], n.ep_len[act])
    torch.testing.assert_close(L["torch"].model.n_pairs, L["numba"].model.n_pairs)
    _assert_same(L["torch"].result(), L["numba"].result())


def test_auto_picks_the_kernel_where_it_applies_and_torch_elsewhere():
    mdp = WORLDS["maze"]()
    assert BatchedQLearning(mdp, [0]).backend == "numba"
    assert BatchedDynaQ(mdp, [0]).backend == "numba"
    assert BatchedQLearning(mdp, [0], policy="softmax").backend == "torch"
    assert BatchedDynaQ(mdp, [0], model="counts").backend == "torch"
    assert BatchedPrioritizedSweeping(mdp, [0]).backend == "torch"


def test_unavailable_or_unknown_backends_are_refused():
    mdp = WORLDS["maze"]()
    with pytest.raises(ValueError, match="softmax"):
        BatchedQLearning(mdp, [0], policy="softmax", backend="numba")
    with pytest.raises(ValueError, match="'last' model"):
        BatchedDynaQ(mdp, [0], model="counts", backend="numba")
    with pytest.raises(ValueError, match="no compiled kernel"):
        BatchedPrioritizedSweeping(mdp, [0], backend="numba")
    with pytest.raises(ValueError, match="backend must be one of"):
        BatchedQLearning(mdp, [0], backend="jax")


@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_advance_is_n_steps(backend):
    mdp = WORLDS["maze"]()
    a = BatchedDynaQ(mdp, [1, 2], n_planning=3, backend=backend)
    b = BatchedDynaQ(mdp, [1, 2], n_planning=3, backend=backend)
    a.start(2, 50)
    b.start(2, 50)
    assert a.advance(37)
    for _ in range(37):
        b.step()
    torch.testing.assert_close(a.Q, b.Q, rtol=0, atol=0)
    assert a._run.t == b._run.t == 37
    assert not a.advance(10_000)  # runs to the end: nothing left
    assert a._run.t == 100
    with pytest.raises(ValueError, match="positive int"):
        a.advance(0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_gpu_check_skips_cleanly_without_cuda():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "no CUDA device" in out.stdout and "skipped" in out.stdout
