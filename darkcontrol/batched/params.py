"""Per-agent hyper-parameters: a scalar (shared) or one value per agent, validated at once.

A batched config is a dataclass whose ``PER_AGENT`` fields accept a number or a sequence /
array of length B; the other fields are static (one value for the whole batch: a policy name,
a model kind, a memory size), because they change the tensor program. :func:`per_agent`
turns a field into a (B,) tensor after elementwise validation.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import torch

from darkcontrol._util import as_array, check_range
from darkcontrol.hyperparams import ArrayLike

__all__ = ["ArrayLike", "as_array", "batch_size_of", "check_range", "per_agent", "static_fields"]


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
