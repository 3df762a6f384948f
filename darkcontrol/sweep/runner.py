"""Run a sweep: plan chunks, fan them out, write each finished chunk at once, resume.

Execution backends (the results do not depend on which one, nor on the chunk size: every
agent's random stream is a function of its seed, see ``darkcontrol.batched.rng``):

- in process, one chunk after another (default);
- ``workers=N``: a local process pool (spawned processes, ``threads`` torch threads each);
- ``executor=``: any ``concurrent.futures``-style executor (``submit(fn, arg)`` returning
  futures with ``result()``), e.g. a ``ProcessPoolExecutor`` or a submitit ``AutoExecutor``
  for SLURM arrays, or a ``distributed.Client``;
- ``scheduler=ADDRESS``: a Dask distributed scheduler (``"tcp://host:8786"``), or ``"local"``
  for a ``LocalCluster`` of ``workers`` processes on this machine.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import darkcontrol
from darkcontrol.sweep.plan import parse_bytes, plan_chunks
from darkcontrol.sweep.spec import DESIGN_COLUMNS, SweepSpec
from darkcontrol.sweep.store import Manifest, SweepResults, open_output
from darkcontrol.sweep.worker import ChunkOutput, ChunkTask, run_chunk

DEFAULT_BUDGET = "1GB"


def default_threads(workers: int) -> int:
    """torch threads per worker: the machine's cores shared among the workers."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def check_device(device: str) -> None:
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; a CUDA device must exist."""
    import re

    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device):
        raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {device!r}")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asked for, but torch sees no CUDA device")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device!r}: torch sees {torch.cuda.device_count()} CUDA device(s)"
            )


def _init_worker(threads: int | None) -> None:
    if threads is not None:
        import torch

        torch.set_num_threads(int(threads))


def build_tasks(
    spec: SweepSpec,
    manifest: Manifest,
    design,
    *,
    device: str,
    threads: int | None,
) -> list[ChunkTask]:
    """One task per chunk the manifest has not finished, in chunk order."""
    experiments = {e.name: e for e in spec.experiments}
    meta = {
        "darkcontrol_version": darkcontrol.__version__,
        "config_hash": manifest.config_hash,
        "spec": manifest.spec,
    }
    tasks = []
    for chunk in manifest.pending():
        exp = experiments[chunk.experiment]
        params = [p for p in exp.params if p not in chunk.static]
        cols = [*DESIGN_COLUMNS, *exp.params]
        part = design.iloc[chunk.start : chunk.stop][cols].reset_index(drop=True)
        tasks.append(
            ChunkTask(
                chunk=chunk.to_dict(),
                experiment=exp.to_dict(),
                design=part,
                params=params,
                dtype=spec.dtype,
                device=device,
                record_regions=spec.record_regions,
                save_q=spec.save_q,
                metadata=meta,
                threads=threads,
            )
        )
    return tasks


def run_sweep(
    spec: SweepSpec | str | os.PathLike,
    out: str | os.PathLike,
    *,
    device: str = "auto",
    resume: bool = False,
    memory_budget: str | int = DEFAULT_BUDGET,
    max_chunk_agents: int = 65536,
    workers: int = 1,
    scheduler: str | None = None,
    executor: Any = None,
    threads: int | None = None,
    max_chunks: int | None = None,
    progress: bool = True,
) -> SweepResults:
    """Run (or resume) ``spec`` into directory ``out``; returns its :class:`SweepResults`.

    ``memory_budget`` bounds the device memory of one chunk ("2GB", "512MiB", bytes);
    ``max_chunks`` stops after that many more chunks (the rest stays pending for a resume);
    ``threads``: torch CPU threads per worker (default: cores / workers; 1 is best on a
    machine shared with other jobs)."""
    if not isinstance(spec, SweepSpec):
        spec = SweepSpec.from_file(spec)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    check_device(device)
    if sum(x is not None for x in (scheduler, executor)) > 1:
        raise ValueError("give at most one of scheduler= and executor=")
    budget = parse_bytes(memory_budget)
    design = spec.design()
    chunks = plan_chunks(spec, design, budget, max_chunk_agents)
    manifest = open_output(out, spec.to_dict(), spec.config_hash(), chunks, design, resume=resume)
    if threads is None and (workers > 1 or scheduler == "local"):
        threads = default_threads(workers)
    tasks = build_tasks(spec, manifest, design, device=device, threads=threads)
    if max_chunks is not None:
        if max_chunks < 0:
            raise ValueError(f"max_chunks must be >= 0, got {max_chunks}")
        tasks = tasks[:max_chunks]
    total = sum(c.n_agents for c in manifest.chunks)
    done_agents = total - sum(c.n_agents for c in manifest.pending())
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=done_agents, unit="agent", desc=spec.name)
    try:
        for output in _execute(tasks, workers, scheduler, executor, threads):
            manifest.mark_done(output.chunk_id, output.tables, output.info)
            if bar is not None:
                bar.update(output.info["n_agents"])
    finally:
        if bar is not None:
            bar.close()
    return SweepResults(out=Path(out), manifest=manifest)


def _execute(
    tasks: list[ChunkTask], workers: int, scheduler, executor, threads
) -> Iterator[ChunkOutput]:
    if not tasks:
        return
    if executor is not None:
        yield from _fan_out(executor, tasks)
    elif scheduler is not None:
        yield from _dask(scheduler, tasks, workers, threads)
    elif workers > 1:
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(
            workers,
            mp_context=mp.get_context("spawn"),
            initializer=_init_worker,
            initargs=(threads,),
        ) as pool:
            yield from _fan_out(pool, tasks)
    else:
        for task in tasks:
            yield run_chunk(task)


def _dask(scheduler: str, tasks, workers: int, threads) -> Iterator[ChunkOutput]:
    try:
        from distributed import Client, LocalCluster
    except ModuleNotFoundError as exc:  # pragma: no cover - dask is a declared extra
        raise ModuleNotFoundError(
            "scheduler= needs dask distributed: pip install 'darkcontrol[distributed]'"
        ) from exc
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        cluster = None
        client = Client(scheduler)
    try:
        yield from _fan_out(client, tasks)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _fan_out(executor, tasks: list[ChunkTask]) -> Iterator[ChunkOutput]:
    """Submit every task to ``executor``; yield outputs as they finish. On an error the
    futures not yet finished are cancelled (finished chunks are already written)."""
    if type(executor).__module__.startswith("distributed"):
        futures = [executor.submit(run_chunk, t, pure=False) for t in tasks]
    else:
        futures = [executor.submit(run_chunk, t) for t in tasks]
    try:
        for fut in _as_completed(futures):
            yield fut.result()
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise


def _as_completed(futures: list) -> Iterable:
    if all(isinstance(f, cf.Future) for f in futures):
        return cf.as_completed(futures)
    if type(futures[0]).__module__.startswith("distributed"):
        from distributed import as_completed

        return as_completed(futures)
    return _poll(futures)


def _poll(futures: list, interval: float = 1.0) -> Iterator:
    """Completion order for futures with ``done()`` only (e.g. submitit jobs)."""
    left = list(futures)
    while left:
        ready = [f for f in left if f.done()]
        for f in ready:
            left.remove(f)
            yield f
        if not ready:
            time.sleep(interval)


def plan_only(spec: SweepSpec, memory_budget: str | int = DEFAULT_BUDGET, max_chunk_agents=65536):
    """(design, chunks) of ``spec`` without running anything (``--dry-run``)."""
    design = spec.design()
    return design, plan_chunks(spec, design, parse_bytes(memory_budget), max_chunk_agents)


__all__ = ["plan_only", "run_sweep"]
