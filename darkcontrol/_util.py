"""Small helpers shared by every layer: seeding, atomic writes, config parsing, progress bars
and the validation of arguments (the package's one validation module)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np


def progress(
    iterable: Iterable[Any] | None,
    *,
    enabled: bool = True,
    desc: str | None = None,
    unit: str = "it",
    leave: bool = False,
    total: int | None = None,
) -> Iterable[Any]:
    """``iterable`` wrapped in a tqdm progress bar when ``enabled``, else unchanged (with
    ``iterable=None`` and a ``total``, a bar to ``update()`` by hand)."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm  # deferred: tqdm is imported only when a bar is shown

    return tqdm(iterable, desc=desc, unit=unit, leave=leave, total=total)


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """One ``numpy.random.Generator`` per object, from an int seed or an existing Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {type(seed)!r}")
    return np.random.default_rng(seed)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def parse_value(text: str) -> Any:
    """Parse a ``--set key=value`` value: JSON if it parses (numbers, bools, lists), else str."""
    low = text.strip()
    if low.lower() in {"true", "false"}:
        return low.lower() == "true"
    if low.lower() in {"none", "null"}:
        return None
    if low.lower() in {"nan", "inf", "+inf", "-inf"}:  # not JSON, but numbers a user may type
        return float(low)
    try:
        return json.loads(low)
    except json.JSONDecodeError:
        return low


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """Turn ``["alpha=0.1", "n_planning=5"]`` into ``{"alpha": 0.1, "n_planning": 5}``."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"expected key=value, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip()
        if not key.isidentifier():
            raise ValueError(f"parameter name must be an identifier, got {key!r} in {item!r}")
        out[key] = parse_value(value)
    return out


def build_config(cls: type, overrides: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """Build a dataclass config, rejecting unknown keys with the list of allowed ones."""
    if not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    values = dict(overrides or {})
    values.update(kwargs)
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {unknown} for {cls.__name__}; allowed: {sorted(allowed)}"
        )
    return cls(**values)


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """``value`` must be one of ``allowed``; the message names both."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def check_probability(name: str, value: float) -> None:
    if not (0.0 <= float(value) <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


def check_positive(name: str, value: float, strict: bool = True) -> None:
    ok = float(value) > 0 if strict else float(value) >= 0
    if not ok:
        raise ValueError(f"{name} must be {'> 0' if strict else '>= 0'}, got {value!r}")


# -- validation of numeric fields: scalars or one value per agent (batched configs) ---------
def as_array(name: str, value: Any, *, integer: bool = False) -> np.ndarray:
    """A field as a 0-d or 1-d float64 (or int64) array; rejects bools, strings, NaN."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor (no torch import)
        value = value.detach().cpu().numpy()
    if isinstance(value, (bool, np.bool_)) or isinstance(value, str):
        raise TypeError(f"{name} must be a number (or one per agent), got {value!r}")
    arr = np.asarray(value)
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        shown = repr(arr.tolist()) if arr.ndim else repr(arr.item())
        raise TypeError(f"{name} must be a number (or one per agent), got {shown:.80}")
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or 1-d (one value per agent), got {arr.shape}")
    if integer:
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise TypeError(f"{name} must hold integers, got {value!r:.80}")
        return arr.astype(np.int64)
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0].item()
        raise ValueError(f"{name} must be finite, got {bad!r}")
    return arr


def _num(x: float | None, none: str) -> str:
    """A bound or value as a user would write it: 0, 1, 0.5 (never 0.0 or np.float64(1))."""
    if x is None:
        return none
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


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
        first = arr[bad].ravel()[0].item()  # a Python number: no numpy repr in the message
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        allowed = f"{left}{_num(lo, '-inf')}, {_num(hi, 'inf')}{right}"
        which = f" ({int(bad.sum())} of {arr.size} agents)" if arr.ndim else ""
        raise ValueError(f"{name} must be in {allowed}, got {first!r}{which}")
    return arr
