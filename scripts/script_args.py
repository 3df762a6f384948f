"""The arguments every script takes, defined once: ``--out --seed --quick --quiet``.

Each script builds its parser with :func:`script_parser` (its whole module docstring is the
``--help`` text), declares the sizes that ``--quick`` shrinks with :func:`sized` (the help says
both values), and parses with :func:`parse`. ``--quick`` is a smoke test that runs in seconds
to a minute; its numbers are not the study's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from darkcontrol.cli._args import int_at_least

_SIZES = "_script_sizes"


def script_parser(doc: str, *, out: str, quick: str) -> argparse.ArgumentParser:
    """A parser with the common options; ``quick`` says what ``--quick`` changes."""
    p = argparse.ArgumentParser(
        description=doc.strip(), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    g = p.add_argument_group("options every script takes")
    g.add_argument("--out", default=out, help=f"output folder (default {out})")
    g.add_argument("--seed", type=int, default=0, help="seed of everything (default 0)")
    g.add_argument(
        "--quick", action="store_true", help=f"a short smoke-test run: {quick}".replace("%", "%%")
    )
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(**{_SIZES: {}})
    return p


def sized(
    p: argparse.ArgumentParser,
    flag: str,
    *,
    full: Any,
    quick: Any,
    help: str,
    type: Callable[[str], Any] = int,
) -> None:
    """An option whose default is ``full``, or ``quick`` under ``--quick`` (an explicit value
    wins over both)."""
    dest = flag.lstrip("-").replace("-", "_")
    text = f"{help} (default {full}; --quick: {quick})".replace("%", "%%")
    p.add_argument(flag, type=type, default=None, help=text)
    p.get_default(_SIZES)[dest] = (full, quick)


def parse(p: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse, then fill the sized options left unset from ``--quick``."""
    args = p.parse_args(argv)
    for dest, (full, quick) in getattr(args, _SIZES).items():
        if getattr(args, dest) is None:
            setattr(args, dest, quick if args.quick else full)
    delattr(args, _SIZES)
    return args


def progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal and without ``--quiet``."""
    return not args.quiet and sys.stderr.isatty()


def scale_options(p: argparse.ArgumentParser) -> None:
    """``--jobs N`` and ``--scheduler ADDRESS``: where :func:`map_seeds` runs the seeds."""
    g = p.add_argument_group("scale-out (the seeds are independent; results do not depend on it)")
    g.add_argument(
        "--jobs",
        type=int_at_least(1),
        default=1,
        help="local worker processes, one seed each at a time (default 1: in this process)",
    )
    g.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a Dask distributed scheduler (tcp://host:8786), or 'local' for a LocalCluster "
        "of --jobs workers; needs pip install 'darkcontrol[distributed]'",
    )


def map_seeds(fn: Callable[..., Any], seeds: list[int], args: argparse.Namespace, *extra: Any):
    """``[fn(seed, *extra) for seed in seeds]``, in order, run where ``--jobs/--scheduler`` say.

    ``fn`` must be a module-level function of the script (picklable) and every seed's result
    must depend on that seed alone, so the output is the same wherever it runs. Worker
    processes use one torch/BLAS thread each."""
    jobs = getattr(args, "jobs", 1)
    scheduler = getattr(args, "scheduler", None)
    if scheduler is None and jobs == 1:
        return [fn(s, *extra) for s in seeds]
    if scheduler is not None:
        try:
            from distributed import Client, LocalCluster
        except ModuleNotFoundError:
            raise SystemExit(
                "--scheduler needs dask distributed: pip install 'darkcontrol[distributed]'"
            ) from None
        cluster = (
            LocalCluster(n_workers=jobs, threads_per_worker=1, dashboard_address=None)
            if scheduler == "local"
            else None
        )
        with Client(cluster if cluster is not None else scheduler) as client:
            futures = client.map(fn, seeds, *[[e] * len(seeds) for e in extra], pure=False)
            out = client.gather(futures)
        if cluster is not None:
            cluster.close()
        return out
    import concurrent.futures as cf
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(
        jobs, mp_context=mp.get_context("spawn"), initializer=_one_thread
    ) as pool:
        return list(pool.map(fn, seeds, *[[e] * len(seeds) for e in extra]))


def _one_thread() -> None:
    import os

    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ModuleNotFoundError:  # pragma: no cover - torch is a dependency
        pass
