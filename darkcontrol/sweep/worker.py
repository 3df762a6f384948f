"""Run one chunk of a sweep and return its tables as Parquet bytes.

:func:`run_chunk` is a pure, picklable top-level function of a :class:`ChunkTask`, so any
executor can run it (in process, a process pool, Dask, submitit); the driver alone writes files,
so workers need no shared file system.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

METADATA_KEY = b"darkcontrol"


@dataclass
class ChunkTask:
    """Everything a worker needs to run one chunk."""

    chunk: dict[str, Any]  #: Chunk.to_dict()
    experiment: dict[str, Any]  #: Experiment.to_dict() of the chunk's experiment
    design: pd.DataFrame  #: the chunk's design rows
    params: list[str]  #: per-agent parameter columns of the design
    dtype: str  #: "float32" | "float64"
    device: str  #: "cpu", "cuda", "cuda:1" or "auto" (resolved on the worker)
    record_regions: bool  #: write region summaries
    save_q: bool  #: write final Q tables
    metadata: dict[str, Any] = field(default_factory=dict)  #: spec, hash, version
    threads: int | None = None  #: torch CPU threads on the worker (None: leave as is)


@dataclass
class ChunkOutput:
    """Parquet bytes per table name, and how the chunk ran."""

    chunk_id: str
    tables: dict[str, bytes]
    info: dict[str, Any]


def to_parquet_bytes(frame: pd.DataFrame, metadata: dict[str, Any]) -> bytes:
    """A DataFrame as Parquet bytes with ``metadata`` (JSON) under the key b"darkcontrol"."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(metadata, default=str).encode()
    table = table.replace_schema_metadata(meta)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def read_metadata(path) -> dict[str, Any]:
    """The darkcontrol metadata of a Parquet file written by a sweep."""
    meta = pq.read_schema(path).metadata or {}
    if METADATA_KEY not in meta:
        raise ValueError(f"{path} carries no darkcontrol metadata")
    return json.loads(meta[METADATA_KEY])


def run_chunk(task: ChunkTask) -> ChunkOutput:
    """Build the chunk's learner, run it, summarise; returns Parquet bytes per table."""
    import torch

    from darkcontrol.batched.registry import batched_class
    from darkcontrol.sweep.metrics import summarise
    from darkcontrol.sweep.spec import SweepEnv, column_values

    if task.threads is not None:
        torch.set_num_threads(int(task.threads))
    t0 = time.perf_counter()
    chunk, exp = task.chunk, task.experiment
    env = next(SweepEnv.parse(e) for e in exp["envs"] if e["label"] == chunk["env"])
    mdp, limit = env.build()
    max_steps = exp["max_steps"] if exp["max_steps"] is not None else limit
    design = task.design.reset_index(drop=True)
    cls = batched_class(exp["algorithm"])
    params = {p: column_values(design[p]) for p in task.params}
    learner = cls(
        mdp,
        design["seed"].to_numpy(np.int64),
        {**chunk["static"], **params},
        device=task.device,
        dtype=task.dtype,
    )
    if exp["schedule"] is not None:
        from darkcontrol.dmn.schedule import Schedule

        result = learner.run_schedule(
            Schedule.from_blocks(exp["schedule"]),
            max_steps=max_steps,
            record_regions=task.record_regions,
        )
    else:
        if max_steps is None:
            raise ValueError(
                f"experiment {exp['name']!r}: env {env.label!r} has no time limit; set "
                "max_steps in the sweep spec"
            )
        result = learner.run(exp["episodes"], int(max_steps), record_regions=task.record_regions)
    ids = design["agent"].to_numpy(np.int64)
    gamma = learner.p["gamma"].double().cpu().numpy()
    seconds = time.perf_counter() - t0
    info = {
        "chunk": chunk["id"],
        "device": str(learner.device),
        "n_agents": len(design),
        "lockstep_steps": int(result.steps),
        "run_seconds": float(result.seconds),
        "seconds": seconds,
        "torch_threads": torch.get_num_threads(),
    }
    meta = {**task.metadata, "chunk": chunk, "run": info}
    summary = pd.concat([design, summarise(result, mdp, gamma)], axis=1)
    summary["lockstep_steps"] = int(result.steps)
    tables = {
        "curves": to_parquet_bytes(result.curves(ids), meta),
        "summary": to_parquet_bytes(summary, meta),
    }
    if task.record_regions and result.regions:
        tables["regions"] = to_parquet_bytes(result.region_frame(ids), meta)
    if task.save_q:
        S, A = mdp.n_states, mdp.n_actions
        q = pd.DataFrame(
            {
                "agent": ids,
                "q": list(result.Q.reshape(len(ids), S * A).astype(np.float32)),
            }
        )
        tables["q"] = to_parquet_bytes(q, {**meta, "q_shape": [S, A]})
    info["seconds"] = time.perf_counter() - t0
    return ChunkOutput(chunk_id=chunk["id"], tables=tables, info=info)
