"""Counter-based uniforms: agent i's random numbers depend only on (seed_i, counter, slot).

Why not one ``torch.Generator`` per chunk: a generator's stream is shared by all agents of a
chunk, so agent i's numbers would depend on how many agents sit before it and on the chunk
size; a sweep re-chunked on another machine (or resumed with another memory budget) would give
other results. Instead every uniform is a hash of three integers (Salmon, Moraes, Dror & Shaw
2011, "Parallel random numbers: as easy as 1, 2, 3", SC'11, the counter-based idea):

    u(seed, counter, slot) = H(H(key(seed) ^ H(counter ^ C1)) ^ H(slot ^ C2) + key(seed)) / 2^32

with H the 32-bit integer finaliser "lowbias32" (C. Wellons, hash-prospector, 2018:
x ^= x >> 16; x *= 0x21f0aaad; x ^= x >> 15; x *= 0x735a2d97; x ^= x >> 15, all mod 2^32),
a bijection of [0, 2^32). ``counter`` is the lockstep step (or offline-window) index, which is
the same for every agent of a batch, and ``slot`` numbers the draws within it (action, world
transition, reset, planning draws, ...). Consequences:

- **per-agent reproducibility**: agent i's trajectory depends only on its seed, its
  hyper-parameters and the MDP, never on its batch neighbours, the chunk size or the device's
  batch layout (bitwise for the learners whose per-agent arithmetic is element-wise; see each
  learner's docstring for the ones with reductions);
- **no stream consumption**: a draw that an algorithm does not need (a transition in a
  deterministic world) costs nothing and shifts nothing;
- the same numbers are computable in numpy (:func:`uniforms_numpy`), which is how the tests
  feed a single-agent reference exactly the uniforms the batched learner used.

Resolution: float64 uniforms are multiples of 2^-32, float32 ones multiples of 2^-24, in
[0, 1). The hash passes the uniformity and independence checks in ``tests/test_batched_rng.py``;
it is not a cryptographic generator and is not meant for more than ~2^32 draws per agent slot.
The torch version hashes in int32 tensors: two's-complement products wrap modulo 2^32 and
right shifts are masked to be logical, so the bits are those of the uint32 algorithm (checked
against the int64/numpy reference in ``tests/test_batched_rng.py``) at half the memory traffic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

M32 = 0xFFFFFFFF
_K1, _K2 = 0x21F0AAAD, 0x735A2D97  # lowbias32 multipliers (both < 2^31: int64 products exact)
_C_SEED, _C_COUNTER, _C_SLOT = 0x9E3779B9, 0x85EBCA6B, 0xC2B2AE35


def _mix(x: torch.Tensor) -> torch.Tensor:
    """lowbias32 on int64 tensors holding values in [0, 2^32)."""
    x = x ^ (x >> 16)
    x = (x * _K1) & M32
    x = x ^ (x >> 15)
    x = (x * _K2) & M32
    return x ^ (x >> 15)


def _signed32(x: int) -> int:
    """The int32 with the bits of ``x`` in [0, 2^32)."""
    x &= M32
    return x - (1 << 32) if x >= 1 << 31 else x


_K1_32, _K2_32 = _signed32(_K1), _signed32(_K2)


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """lowbias32 on int32 tensors (bit patterns of uint32 values): products wrap mod 2^32,
    shifts are made logical by masking the sign-extended bits."""
    x = x ^ ((x >> 16) & 0xFFFF)
    x = x * _K1_32
    x = x ^ ((x >> 15) & 0x1FFFF)
    x = x * _K2_32
    return x ^ ((x >> 15) & 0x1FFFF)


def _mix_int(x: int) -> int:
    """lowbias32 on a Python int (no device transfer for per-step constants)."""
    x &= M32
    x ^= x >> 16
    x = (x * _K1) & M32
    x ^= x >> 15
    x = (x * _K2) & M32
    return x ^ (x >> 15)


def _mix_np(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(_K1)) & np.uint64(M32)
    x = x ^ (x >> np.uint64(15))
    x = (x * np.uint64(_K2)) & np.uint64(M32)
    return x ^ (x >> np.uint64(15))


def check_seeds(seeds: Sequence[int] | np.ndarray | torch.Tensor) -> np.ndarray:
    """Seeds as an int64 array of non-negative integers below 2^63."""
    arr = seeds.cpu().numpy() if isinstance(seeds, torch.Tensor) else np.asarray(seeds)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"seeds must be a non-empty 1-d sequence of ints, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"seeds must be integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "i" and (arr < 0).any():
        raise ValueError(f"seeds must be >= 0, got {int(arr.min())}")
    if arr.dtype.kind == "u" and (arr >= 2**63).any():
        raise ValueError("seeds must be < 2^63")
    return arr.astype(np.int64)


def agent_keys_numpy(seeds: Sequence[int] | np.ndarray) -> np.ndarray:
    """The 32-bit key of each seed (mixes both halves of a 64-bit seed)."""
    s = check_seeds(seeds).astype(np.uint64)
    lo, hi = s & np.uint64(M32), s >> np.uint64(32)
    return _mix_np(lo ^ _mix_np(hi ^ np.uint64(_C_SEED)))


def uniforms_numpy(seed: int, counter: int, slots: Sequence[int] | np.ndarray) -> np.ndarray:
    """float64 uniforms of one agent at one counter for the given slots (reference impl.)."""
    key = agent_keys_numpy([seed])[0]
    slots = np.asarray(slots, dtype=np.uint64)
    base = _mix_np(np.asarray([key ^ _mix_np(np.uint64(counter) ^ np.uint64(_C_COUNTER))]))[0]
    x = _mix_np(((base ^ _mix_np(slots ^ np.uint64(_C_SLOT))) + key) & np.uint64(M32))
    return x.astype(np.float64) * 2.0**-32


class CounterRNG:
    """Uniforms for a batch of agents, one independent stream per agent seed.

    ``uniforms(counter, slots)`` returns a (B, len(slots)) tensor of the agents' uniforms at
    ``counter``; ``slots`` is a range (``slot0, n``) of consecutive slots."""

    def __init__(self, seeds, device: torch.device | str = "cpu", dtype=torch.float64) -> None:
        self.seeds = check_seeds(seeds)
        self.device = torch.device(device)
        self.dtype = dtype
        self.key = torch.as_tensor(
            agent_keys_numpy(self.seeds).astype(np.int64), device=self.device
        )
        self._key32 = torch.as_tensor(
            agent_keys_numpy(self.seeds).astype(np.uint32).view(np.int32), device=self.device
        )
        self._slot_cache: dict[tuple[int, int], torch.Tensor] = {}
        self._slot_cache32: dict[tuple[int, int], torch.Tensor] = {}
        self._scale = 2.0**-32 if dtype == torch.float64 else 2.0**-24
        self._shift = 0 if dtype == torch.float64 else 8

    def _slot_mix(self, slot0: int, n: int) -> torch.Tensor:
        key = (slot0, n)
        if key not in self._slot_cache:
            slots = torch.arange(slot0, slot0 + n, dtype=torch.int64, device=self.device)
            self._slot_cache[key] = _mix(slots ^ _C_SLOT)
        return self._slot_cache[key]

    def _slot_mix32(self, slot0: int, n: int) -> torch.Tensor:
        key = (slot0, n)
        if key not in self._slot_cache32:
            mixed = self._slot_mix(slot0, n).cpu().numpy().astype(np.uint32).view(np.int32)
            self._slot_cache32[key] = torch.as_tensor(mixed, device=self.device)
        return self._slot_cache32[key]

    def uniforms(self, counter: int, slot0: int, n: int) -> torch.Tensor:
        """(B, n) uniforms in [0, 1) for slots ``slot0 .. slot0 + n - 1`` at ``counter``."""
        if counter < 0 or counter > M32:
            raise ValueError(f"counter must be in [0, 2^32), got {counter}")
        key = self._key32
        base = _mix32(key ^ _signed32(_mix_int(counter ^ _C_COUNTER)))  # (B,)
        x = _mix32((base[:, None] ^ self._slot_mix32(slot0, n)[None, :]) + key[:, None])
        if self._shift:  # float32: the top 24 bits
            return ((x >> self._shift) & 0xFFFFFF).to(self.dtype) * self._scale
        return (x.to(torch.int64) & M32).to(self.dtype) * self._scale
