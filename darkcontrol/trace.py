"""The Trace: one row per computation step of an agent, online or offline.

The Trace is the seam between agents, the DMN process model and the brain side. Every agent
records the same columns with the same meaning (see ``COLUMNS``); a quantity an agent cannot
compute is NaN (floats) or <NA> (integers), and the agent's docstring says which.

Columns
-------
run, episode, step      integers; ``step`` is the index of an online step within its episode;
                        an offline row carries the number of online steps taken before it
                        in the episode (so rest before the first step has step 0)
time                    seconds on the experiment's clock (assigned by the runner / Schedule)
phase                   "online" (acting in the world) | "offline" (replay, simulation)
source                  "env" | "replay" (stored experience) | "model" (simulated from a learned
                        model) | "recombined" (never-experienced transitions built from parts)
state, action, next_state, reward, terminated
                        the transition the step processed, e = (s, a, r, s')
q                       Q(s, a | theta) before the update (vmPFC)
target                  y = r + gamma max_a' Q(s', a' | theta) (or the agent's own target)
rpe                     y - Q(s, a | theta), the reward-prediction error (right TPJ)
spe                     state-prediction error / transition surprise, 1 - P_hat(s' | s, a)
                        under the agent's learned model (left TPJ)
update_norm             ||delta theta||_2 of the parameter update (PMC)
choice_prob             pi(a | s) of the action taken, online rows (dmPFC)
policy_entropy          H[pi(. | s)] in nats (dmPFC)
salience                the sentinel's relevance signal (NaN without a sentinel)

Recording modes: ``"full"`` keeps every row; ``"summary"`` collapses each burst of offline
rows that follows one online step (per source) into one row of means with an ``n_steps``
column, so that Dyna with n = 50 costs 2 rows per step instead of 51; ``"online"`` keeps online
rows only and counts offline steps in ``n_offline``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol.constants import OFFLINE_SOURCES

PHASES = ("online", "offline")
SOURCES = ("env", *OFFLINE_SOURCES)
INT_COLUMNS = ("run", "episode", "step")
STATE_COLUMNS = ("state", "action", "next_state")
FLOAT_COLUMNS = (
    "reward",
    "q",
    "target",
    "rpe",
    "spe",
    "update_norm",
    "choice_prob",
    "policy_entropy",
    "salience",
)
COLUMNS: dict[str, Any] = {
    "run": "int32",
    "episode": "int32",
    "step": "int32",
    "time": "float64",
    "phase": pd.CategoricalDtype(PHASES),
    "source": pd.CategoricalDtype(SOURCES),
    "state": "Int32",
    "action": "Int32",
    "reward": "float32",
    "next_state": "Int32",
    "terminated": "boolean",
    "q": "float32",
    "target": "float32",
    "rpe": "float32",
    "spe": "float32",
    "update_norm": "float32",
    "choice_prob": "float32",
    "policy_entropy": "float32",
    "salience": "float32",
}
RECORD_MODES = ("full", "summary", "online")
SCHEMA_VERSION = 1
METADATA_KEY = b"darkcontrol"


def empty_trace() -> pd.DataFrame:
    """A Trace with no rows and the schema's dtypes."""
    return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in COLUMNS.items()})


class TraceRecorder:
    """Accumulates Trace rows cheaply (column lists) and builds a typed DataFrame.

    The runner that drives an agent owns the clock: it sets ``time`` (and calls
    ``begin_episode``); agents call :meth:`online` and :meth:`offline` with what they computed.
    """

    def __init__(self, run: int = 0, mode: str = "full") -> None:
        if mode not in RECORD_MODES:
            raise ValueError(f"record mode must be one of {RECORD_MODES}, got {mode!r}")
        self.run = int(run)
        self.mode = mode
        self.time = 0.0
        self.offline_dt = 0.0  # seconds the clock advances per offline step (set by a Schedule)
        # constant values of the whole recording (e.g. a participant id) for every row the
        # agent leaves empty; per-row values of a wrapper go through ``fields=`` instead
        self.context: dict[str, Any] = {}
        self.episode = 0
        self.step = 0
        self._started = False
        self._cols: dict[str, list] = {c: [] for c in COLUMNS}
        self._extra: dict[str, list] = {}
        self._n = 0
        self._burst: dict[str, dict[str, Any]] = {}  # source -> running sums (summary mode)
        self._n_offline = 0  # online mode: offline steps since the last online row

    def __len__(self) -> int:
        return self._n + len(self._burst)

    # -- clock -------------------------------------------------------------------------------
    def begin_episode(self, episode: int | None = None) -> None:
        self._flush_burst()
        if self._started:
            self.episode = self.episode + 1 if episode is None else int(episode)
        elif episode is not None:
            self.episode = int(episode)
        self._started = True
        self.step = 0

    # -- rows --------------------------------------------------------------------------------
    def online(self, fields: Mapping[str, Any] | None = None, **values: Any) -> None:
        """Record one online (acting in the world) step; advances ``step`` afterwards.

        ``fields``: values a wrapper computed for the row (e.g. the DMN's ``spe``); the
        agent's own ``values`` win where they are not None."""
        self._flush_burst()
        if fields:
            values = _merge(fields, values)
        values.setdefault("source", "env")
        if self.mode == "online":
            values.setdefault("n_offline", self._n_offline)
            self._n_offline = 0
        self._append("online", values)
        self.step += 1

    def offline(
        self, source: str = "replay", fields: Mapping[str, Any] | None = None, **values: Any
    ) -> None:
        """Record one offline (replayed / simulated / recombined) step (``fields`` as in
        :meth:`online`)."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if fields:
            values = _merge(fields, values)
        self._offline(source, values)
        self.time += self.offline_dt

    def _offline(self, source: str, values: dict[str, Any]) -> None:
        if self.mode == "full":
            values["source"] = source
            self._append("offline", values)
        elif self.mode == "online":
            self._n_offline += 1
        else:
            acc = self._burst.setdefault(source, {"n_steps": 0, "time": self.time})
            acc["n_steps"] += 1
            for key, val in values.items():
                if key in FLOAT_COLUMNS or (key not in COLUMNS and _is_number(val)):
                    if val is not None and not (isinstance(val, float) and math.isnan(val)):
                        acc[key] = acc.get(key, 0.0) + float(val)
                        acc[f"#{key}"] = acc.get(f"#{key}", 0) + 1

    def _flush_burst(self) -> None:
        if not self._burst:
            return
        bursts, self._burst = self._burst, {}
        for source, acc in bursts.items():
            row: dict[str, Any] = {"source": source, "n_steps": acc.pop("n_steps")}
            time = acc.pop("time")
            for key in [k for k in acc if not k.startswith("#")]:
                row[key] = acc[key] / acc[f"#{key}"]
            self._append("offline", row, time=time)

    def _append(self, phase: str, values: Mapping[str, Any], time: float | None = None) -> None:
        if self.context:
            values = _merge(self.context, values)
        unknown_core = {"run", "episode", "step", "phase"} & set(values)
        if unknown_core:
            raise ValueError(f"{sorted(unknown_core)} are set by the recorder, not by agents")
        cols = self._cols
        cols["run"].append(self.run)
        cols["episode"].append(self.episode)
        cols["step"].append(self.step)
        cols["time"].append(values.get("time", self.time) if time is None else time)
        cols["phase"].append(phase)
        for c in COLUMNS:
            if c in ("run", "episode", "step", "time", "phase"):
                continue
            cols[c].append(values.get(c))
        for key, val in values.items():
            if key not in COLUMNS:
                lst = self._extra.get(key)
                if lst is None:
                    lst = self._extra[key] = [None] * self._n
                lst.append(val)
        self._n += 1
        for lst in self._extra.values():
            if len(lst) < self._n:
                lst.append(None)

    # -- output ------------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        self._flush_burst()
        data: dict[str, Any] = {}
        for c, dtype in COLUMNS.items():
            data[c] = _typed(self._cols[c], dtype)
        for key, lst in self._extra.items():
            data[key] = _extra_column(lst)
        return pd.DataFrame(data)


def _merge(fields: Mapping[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {**fields, **{k: v for k, v in values.items() if v is not None}}


def _is_number(val: Any) -> bool:
    return isinstance(val, (int, float, np.integer, np.floating)) and not isinstance(val, bool)


def _typed(values: list, dtype: Any) -> pd.Series:
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical(values, dtype=dtype))
    if dtype in ("Int32", "boolean"):
        return pd.Series(pd.array(values, dtype=dtype))
    arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return pd.Series(arr.astype(dtype))


def _extra_column(values: list) -> pd.Series:
    present = [v for v in values if v is not None]
    if present and all(_is_number(v) for v in present):
        return pd.Series(np.array([np.nan if v is None else v for v in values], dtype=np.float64))
    if present and all(isinstance(v, (bool, np.bool_)) for v in present):
        return pd.Series(pd.array(values, dtype="boolean"))
    return pd.Series(values, dtype=object)


def coerce_trace(df: pd.DataFrame) -> pd.DataFrame:
    """Give a frame with the Trace's columns the schema's dtypes (e.g. after concat)."""
    out = df.copy()
    for c, dtype in COLUMNS.items():
        if c in out and out[c].dtype != dtype:
            out[c] = out[c].astype(dtype)
    return out


def validate_trace(df: pd.DataFrame) -> pd.DataFrame:
    """Check columns, dtypes and categorical values; raise ``ValueError`` listing all problems."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"a Trace is a pandas DataFrame, got {type(df).__name__}")
    problems = []
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        problems.append(f"missing columns {missing}")
    for c, dtype in COLUMNS.items():
        if c in df.columns and str(df[c].dtype) != str(dtype):
            problems.append(f"column {c!r} has dtype {df[c].dtype}, expected {dtype}")
    if "phase" in df and df["phase"].isna().any():
        problems.append("column 'phase' has missing values")
    if "source" in df and df["source"].isna().any():
        problems.append("column 'source' has missing values")
    if "time" in df and len(df) and not np.isfinite(df["time"].to_numpy(float)).all():
        problems.append("column 'time' has non-finite values")
    if problems:
        raise ValueError("invalid Trace: " + "; ".join(problems))
    return df


def write_trace(
    df: pd.DataFrame,
    path: str | os.PathLike,
    config: Mapping[str, Any] | None = None,
) -> Path:
    """Write a Trace as Parquet, atomically, with configuration and version in its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from darkcontrol import __version__
    from darkcontrol._util import atomic_write_bytes

    validate_trace(df)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(
        {
            "darkcontrol_version": __version__,
            "schema_version": SCHEMA_VERSION,
            "config": dict(config or {}),
        },
        default=str,
    ).encode()
    table = table.replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return atomic_write_bytes(path, sink.getvalue().to_pybytes())


def read_trace(path: str | os.PathLike) -> pd.DataFrame:
    """Read a Trace written by :func:`write_trace`; its metadata lands in ``df.attrs``."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no Trace at {path}")
    table = pq.read_table(path)
    df = coerce_trace(table.to_pandas())
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    df.attrs["darkcontrol"] = json.loads(raw) if raw else {}
    return validate_trace(df)
