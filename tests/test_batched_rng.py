"""The counter-based generator: numpy and torch agree, uniforms look uniform and independent,
and an agent's stream depends only on its seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from darkcontrol.batched.rng import CounterRNG, check_seeds, uniforms_numpy


def test_torch_and_numpy_give_the_same_uniforms():
    seeds = [0, 1, 2**40 + 7, 2**63 - 1]
    rng = CounterRNG(seeds, dtype=torch.float64)
    for counter in (0, 1, 12345, 2**32 - 1):
        U = rng.uniforms(counter, 3, 5).numpy()
        for i, seed in enumerate(seeds):
            np.testing.assert_array_equal(U[i], uniforms_numpy(seed, counter, range(3, 8)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_int32_hash_has_the_bits_of_the_uint32_reference(dtype):
    """The torch hash runs in wrapping int32 arithmetic; every bit must match numpy's."""
    seeds = np.random.default_rng(1).integers(0, 2**63 - 1, size=300)
    rng = CounterRNG(seeds, dtype=dtype)
    for counter in (0, 3, 2**31 - 1, 2**31, 2**32 - 1):
        U = rng.uniforms(counter, 0, 12).numpy()
        for i, seed in enumerate(seeds):
            ref = uniforms_numpy(int(seed), counter, range(12))
            if dtype == torch.float32:  # the top 24 of the 32 bits
                ref = np.floor(ref * 2**24) * 2.0**-24
            np.testing.assert_array_equal(U[i], ref)


def test_float32_uniforms_are_in_unit_interval_on_a_24_bit_grid():
    U = CounterRNG(np.arange(1000), dtype=torch.float32).uniforms(7, 0, 50)
    assert U.dtype == torch.float32
    assert float(U.min()) >= 0.0 and float(U.max()) < 1.0
    assert torch.all(U * 2**24 == torch.round(U * 2**24))


def test_uniformity_and_independence():
    rng = CounterRNG(np.arange(4000), dtype=torch.float64)
    U = torch.cat([rng.uniforms(c, 0, 8) for c in range(1, 6)], dim=1).numpy()  # (4000, 40)
    # marginal: Kolmogorov-Smirnov against U(0, 1) on 160 000 draws
    assert stats.kstest(U.ravel(), "uniform").pvalue > 1e-3
    # neighbouring slots, neighbouring counters and neighbouring seeds are uncorrelated
    n = U.shape[0]
    for a, b in [(U[:, 0], U[:, 1]), (U[:, 0], U[:, 8]), (U[:-1, 0], U[1:, 0])]:
        r = np.corrcoef(a, b)[0, 1]
        assert abs(r) < 4.0 / np.sqrt(n)  # ~4 standard errors
    # pairs (u_t, u_t+1) fill the unit square evenly: chi-square on a 10 x 10 grid
    h, _, _ = np.histogram2d(U[:, :-1].ravel(), U[:, 1:].ravel(), bins=10, range=[[0, 1]] * 2)
    assert stats.chisquare(h.ravel()).pvalue > 1e-3


def test_an_agents_stream_does_not_depend_on_its_batch():
    alone = CounterRNG([42], dtype=torch.float64).uniforms(9, 0, 6)
    crowd = CounterRNG([5, 6, 42, 7], dtype=torch.float64).uniforms(9, 0, 6)
    torch.testing.assert_close(alone[0], crowd[2], rtol=0, atol=0)


@pytest.mark.parametrize("bad", [[-1], [1.5], [], [[1, 2]]])
def test_bad_seeds_are_rejected(bad):
    with pytest.raises((ValueError, TypeError)):
        check_seeds(bad)
