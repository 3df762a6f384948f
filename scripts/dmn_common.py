"""Shared plumbing of the scripts/dmn_*.py studies: arguments, outputs, statistics."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from script_args import script_parser


def parser(
    description: str,
    default_seeds: int = 10,
    quick_seeds: int = 3,
    *,
    min_seeds: int = 2,
    why: str = "the claims are tested across seeds",
):
    """The common script options (``--out --seed --quick --quiet``, see script_args) and
    ``--seeds K`` (quick: fewer seeds and trials), refused below ``min_seeds`` (``why`` says
    why) with exit status 2. ``description``: the module docstring."""
    p = script_parser(description, out="dmn_output", quick=f"{quick_seeds} seeds and fewer trials")

    def n_seeds(text: str) -> int:
        n = int(text)
        if n < 1:
            raise argparse.ArgumentTypeError(f"--seeds must be >= 1, got {n}")
        if n < min_seeds:
            raise argparse.ArgumentTypeError(f"--seeds must be >= {min_seeds} ({why}), got {n}")
        return n

    p.add_argument(
        "--seeds",
        type=n_seeds,
        default=None,
        help=f"number of seeds, the first is --seed (default {default_seeds}; --quick: "
        f"{quick_seeds}; at least {min_seeds})",
    )
    p.set_defaults(_default_seeds=default_seeds, _quick_seeds=quick_seeds)
    return p


def seeds_of(args) -> list[int]:
    n = (
        args.seeds
        if args.seeds is not None
        else (args._quick_seeds if args.quick else args._default_seeds)
    )
    return list(range(args.seed, args.seed + n))


def mean_ci(x, axis=0, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean and half-width of the t confidence interval over ``axis`` (NaNs propagate)."""
    from scipy import stats

    x = np.asarray(x, dtype=np.float64)
    n = x.shape[axis]
    m = np.mean(x, axis=axis)
    if n < 2:
        return m, np.full_like(m, np.nan)
    se = np.std(x, axis=axis, ddof=1) / np.sqrt(n)
    return m, se * stats.t.ppf(0.5 + level / 2, n - 1)


def save(fig, out: Path, name: str, numbers: dict[str, Any], config: dict[str, Any]) -> Path:
    """Write ``name``.png and ``name``.json (numbers, config, version) atomically."""
    from darkcontrol import __version__
    from darkcontrol._util import atomic_write_bytes, atomic_write_text

    out = Path(out)
    meta = {"darkcontrol_version": __version__, "config": config}
    buf = io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=110,
        metadata={
            "Software": f"darkcontrol {__version__}",
            "Description": json.dumps(meta, default=str),
        },
    )
    png = atomic_write_bytes(out / f"{name}.png", buf.getvalue())
    atomic_write_text(
        out / f"{name}.json",
        json.dumps({**meta, "numbers": numbers}, indent=2, default=_jsonable),
    )
    return png


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)
