"""The fast paths of issue 15 give the same results as the paths they replace: the interleaved
Q-learning kernel (many agents, per-agent epsilon, more agents than a group), the design with
confounds added to an existing design, the demo's parallel map; and the command line starts
without numpy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.batched import kernels
from darkcontrol.batched.qlearning import BatchedQLearning
from darkcontrol.envs.mazes import OpenField


@pytest.mark.parametrize("slip", [0.0, 0.2])
def test_interleaved_kernel_matches_torch_with_ragged_groups(slip):
    """B = 11 (groups of 4 with a ragged last one), per-agent epsilon and alpha, agents that
    finish at different steps (some while their group mates go on)."""
    mdp = OpenField(4, 4, slip=slip).mdp
    B = 11
    kw = dict(alpha=np.linspace(0.2, 0.9, B), epsilon=[0.05, 0.2, 0.0, 0.5] * 2 + [0.1] * 3)
    res = {}
    for backend in ("torch", "numba"):
        learner = BatchedQLearning(mdp, np.arange(B) * 31 + 5, backend=backend, **kw)
        res[backend] = learner.run(3, 40, record_regions=True)
    a, b = res["torch"], res["numba"]
    np.testing.assert_array_equal(a.Q, b.Q)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    np.testing.assert_array_equal(a.returns, b.returns)
    assert a.steps == b.steps
    for k in a.regions:
        np.testing.assert_array_equal(a.regions[k], b.regions[k], err_msg=k)
    assert len(set(a.lengths.sum(1))) > 1  # agents did finish at different steps


def test_q_learning_runs_on_the_interleaved_kernel():
    learner = BatchedQLearning(OpenField(3, 3).mdp, np.arange(5), backend="numba")
    learner.start(2, 20)
    assert learner._run.kernel.fn is kernels.advance_q


def test_policy_table_matches_the_per_step_probabilities():
    """Every tie pattern's inverse-CDF sums: the float64 running sum of the epsilon-greedy
    probabilities, rounded to float32 (what the kernel computed at every step before)."""
    A, eps = 4, np.float32(0.3)
    k = np.maximum(np.arange(A + 1), 1)
    greedy = ((1 - eps) / k + eps / A).astype(np.float32)
    cum = np.empty((1 << A, A), np.float32)
    last = np.empty(1 << A, np.int64)
    kernels._policy_table(greedy, np.float32(eps / A), A, cum, last)
    for best in range(1, 1 << A):
        ties = [(best >> j) & 1 for j in range(A)]
        p = [greedy[sum(ties)] if t else np.float32(eps / A) for t in ties]
        np.testing.assert_array_equal(cum[best], np.cumsum(np.float64(p)).astype(np.float32))
        assert last[best] == A - 1


def test_add_confounds_equals_make_design_with_confounds():
    from darkcontrol.neuro.design import DesignConfig, add_confounds, make_design

    events = pd.DataFrame(
        {
            "onset": [10.0, 30.0, 50.0, 70.0, 90.0],
            "duration": [1.0] * 5,
            "trial_type": ["a", "b", "a", "b", "a"],
            "modulation": [1.0] * 5,
        }
    )
    cfg = DesignConfig(t_r=2.0, n_scans=60)
    rng = np.random.default_rng(0)
    conf = pd.DataFrame(rng.standard_normal((60, 2)), columns=["trans_x", "rot_z"])
    want = make_design(events, cfg, confounds=conf)
    got = add_confounds(make_design(events, cfg), conf)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs
    with pytest.raises(ValueError, match="without confounds"):
        add_confounds(want, conf)
    with pytest.raises(ValueError, match="rows"):
        add_confounds(make_design(events, cfg), conf.iloc[:10])


def _square(x, y):
    return x * x + y


def test_parallel_map_is_the_serial_map_in_order():
    from darkcontrol.demo.study import parallel_map

    items = [(i, 10 * i) for i in range(7)]
    serial = list(parallel_map(_square, items, 1))
    assert serial == [i * i + 10 * i for i in range(7)]
    assert list(parallel_map(_square, items, 2)) == serial


def test_cli_starts_without_numpy():
    code = (
        "import sys; from darkcontrol.cli import build_parser; build_parser(); "
        "print('numpy' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
