"""torch helpers shared by the torch learners (``agents.approx``) and ``darkcontrol.batched``.

Imported only by modules that need torch (it imports torch).
"""

from __future__ import annotations

import torch

from darkcontrol.constants import DTYPE_NAMES

#: torch dtypes by name (the names are :data:`darkcontrol.constants.DTYPE_NAMES`)
DTYPES: dict[str, torch.dtype] = {name: getattr(torch, name) for name in DTYPE_NAMES}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """A ``torch.device``: "auto" or None -> cuda when available, else cpu; otherwise the
    device asked for. Raises ValueError for a name torch does not know and for CUDA asked for
    where torch sees none."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device, got {device!r}"
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA device")
    return dev


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """A torch float dtype from its name (:data:`DTYPES`) or itself."""
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPES.values():
            raise ValueError(f"dtype must be one of {DTYPE_NAMES}, got {dtype}")
        return dtype
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPE_NAMES}, got {dtype!r}")
    return DTYPES[dtype]
