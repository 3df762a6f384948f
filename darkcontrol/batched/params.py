"""Per-agent hyper-parameters: a scalar (shared) or one value per agent, validated at once.

A batched config is a dataclass whose ``PER_AGENT`` fields accept a number or a sequence /
array of length B; the other fields are static (one value for the whole batch: a policy name,
a model kind, a memory size), because they change the tensor program. :func:`per_agent`
turns a field into a (B,) tensor after elementwise validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import torch

ArrayLike = float | int | Sequence[float] | np.ndarray


def as_array(name: str, value: Any, *, integer: bool = False) -> np.ndarray:
    """A field as a 0-d or 1-d float64 (or int64) array; rejects bools, strings, NaN."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (bool, np.bool_)) or isinstance(value, str):
        raise TypeError(f"{name} must be a number or a sequence of numbers, got {value!r}")
    arr = np.asarray(value)
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be numeric, got {arr.dtype} ({value!r:.80})")
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or 1-d (one value per agent), got {arr.shape}")
    if integer:
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise TypeError(f"{name} must hold integers, got {value!r:.80}")
        return arr.astype(np.int64)
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r:.80}")
    return arr


def check_range(
    name: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    integer: bool = False,
) -> np.ndarray:
    """Validate every entry of a field against [lo, hi] (open ends optional)."""
    arr = as_array(name, value, integer=integer)
    bad = np.zeros(arr.shape, dtype=bool)
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if bad.any():
        first = arr[bad].ravel()[0]
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        allowed = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
        raise ValueError(f"{name} must be in {allowed}, got {first!r} ({int(bad.sum())} bad)")
    return arr


def batch_size_of(config: Any) -> int | None:
    """The B implied by the per-agent fields of ``config`` (None if all are scalars)."""
    sizes = {}
    for name in config.PER_AGENT:
        arr = np.asarray(getattr(config, name))
        if arr.ndim == 1:
            sizes[name] = len(arr)
    if len(set(sizes.values())) > 1:
        raise ValueError(f"per-agent fields have different lengths: {sizes}")
    return next(iter(sizes.values()), None)


def per_agent(config: Any, name: str, B: int, device, dtype) -> torch.Tensor:
    """Field ``name`` of ``config`` as a (B,) tensor (a scalar is broadcast)."""
    arr = np.asarray(getattr(config, name))
    if arr.ndim == 1 and len(arr) != B:
        raise ValueError(f"{name} has {len(arr)} values for a batch of {B} agents")
    return torch.as_tensor(np.broadcast_to(arr, (B,)).copy(), dtype=dtype, device=device)


def static_fields(config: Any) -> dict[str, Any]:
    """The fields of ``config`` that are one value for the whole batch."""
    return {
        f.name: getattr(config, f.name) for f in fields(config) if f.name not in config.PER_AGENT
    }
