"""The output directory of a sweep: manifest, design, one Parquet file per chunk and table.

Layout::

    OUT/manifest.json            spec, config hash, version, chunk plan, finished chunks
    OUT/design.parquet           one row per agent (ids, experiment, env, seed, parameters)
    OUT/curves/c00000.parquet    agent, episode, steps, return
    OUT/summary/c00000.parquet   design columns + metrics (see darkcontrol.sweep.metrics)
    OUT/regions/c00000.parquet   per-episode (or per-block) region summaries (optional)
    OUT/q/c00000.parquet         final Q tables, flattened (optional, save_q)

Guarantees (what a kill at any moment leaves, and how a resume treats it):

- every file is written atomically (temp file + ``os.replace``): a file is whole or absent;
- the manifest is the first file written, before the design and any chunk; a folder without
  a manifest therefore holds nothing finished, and its leftovers of a killed first write
  (temp files, ``design.parquet``, empty table folders) are recognised and cleared when the
  sweep is started again (with or without ``--resume``);
- a chunk counts as finished once the manifest, rewritten atomically after all its files,
  lists it; a resume recomputes only chunks the manifest does not list (their stray files are
  overwritten) and deletes stale ``.*.tmp`` files of killed writes;
- all chunk files of a table share one Parquet schema (the union of their columns, a column
  missing from a chunk stored as typed nulls, types promoted where they differ), so
  ``pd.read_parquet(OUT / "summary")`` and ``pyarrow.dataset`` return every column; a chunk
  that brings a new column rewrites the earlier files of its table (atomically, each keeps
  its own metadata), and a resume completes such a rewrite if a kill interrupted it.

Every Parquet file carries the spec, config hash, package version and chunk in its schema
metadata under ``b"darkcontrol"``.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import darkcontrol
from darkcontrol._util import atomic_write_bytes, atomic_write_text
from darkcontrol.sweep.plan import Chunk

MANIFEST = "manifest.json"
TABLES = ("curves", "summary", "regions", "q")
FORMAT = 1


class ResumeError(ValueError):
    """The output directory holds another sweep (or resuming was not asked for)."""


@dataclass
class Manifest:
    """What the output directory holds and what is left to do."""

    path: Path
    spec: dict[str, Any]
    config_hash: str
    chunks: list[Chunk]
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: str = darkcontrol.__version__
    created: float = field(default_factory=time.time)

    @property
    def out(self) -> Path:
        return self.path.parent

    def pending(self) -> list[Chunk]:
        return [c for c in self.chunks if c.id not in self.done]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "darkcontrol_version": self.version,
            "created": self.created,
            "config_hash": self.config_hash,
            "spec": self.spec,
            "n_agents": sum(c.n_agents for c in self.chunks),
            "chunks": [c.to_dict() for c in self.chunks],
            "done": self.done,
        }

    def save(self) -> None:
        atomic_write_text(self.path, json.dumps(self.to_dict(), indent=1, default=str))

    @classmethod
    def load(cls, out: str | Path) -> Manifest:
        path = Path(out) / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(f"{str(out)!r} holds no sweep ({MANIFEST} missing)")
        d = json.loads(path.read_text())
        if d.get("format") != FORMAT:
            raise ValueError(f"{path}: unknown manifest format {d.get('format')!r}")
        return cls(
            path=path,
            spec=d["spec"],
            config_hash=d["config_hash"],
            chunks=[Chunk.from_dict(c) for c in d["chunks"]],
            done=d["done"],
            version=d["darkcontrol_version"],
            created=d["created"],
        )

    def files(self, table: str, extra: str | None = None) -> list[Path]:
        """The chunk files of ``table`` the manifest lists (plus chunk ``extra``)."""
        ids = sorted(cid for cid, info in self.done.items() if table in info.get("tables", ()))
        if extra is not None and extra not in ids:
            ids.append(extra)
        return [self.out / table / f"{cid}.parquet" for cid in ids]

    def mark_done(self, chunk_id: str, tables: dict[str, bytes], info: dict[str, Any]) -> None:
        """Write a finished chunk's files (in the table's common schema, see the module
        docstring), then record it in the manifest (in that order)."""
        for name, data in tables.items():
            if name not in TABLES:
                raise ValueError(f"unknown table {name!r}")
            path = self.out / name / f"{chunk_id}.parquet"
            atomic_write_bytes(path, data)
            unify_table(self.files(name, extra=chunk_id))
        self.done[chunk_id] = {**info, "tables": sorted(tables), "written": time.time()}
        self.save()


def _read_table(path: Path) -> pa.Table:
    return pq.read_table(path)


def unify_table(files: list[Path]) -> pa.Schema | None:
    """Rewrite (atomically) the files whose schema is not the union schema of ``files``:
    missing columns become typed nulls, differing types are promoted; each file keeps its
    own schema metadata. Returns the union schema (None without files)."""
    files = [f for f in files if f.exists()]
    if not files:
        return None
    schemas = [pq.read_schema(f) for f in files]
    bare = [sc.remove_metadata() for sc in schemas]
    union = pa.unify_schemas(bare, promote_options="permissive")
    for f, sc, b in zip(files, schemas, bare):
        if b.equals(union):
            continue
        table = _read_table(f)
        cols = []
        for fld in union:
            if fld.name in table.column_names:
                cols.append(table.column(fld.name).cast(fld.type))
            else:
                cols.append(pa.nulls(table.num_rows, type=fld.type))
        new = pa.Table.from_arrays(cols, schema=union).replace_schema_metadata(sc.metadata)
        buf = io.BytesIO()
        pq.write_table(new, buf, compression="zstd")
        atomic_write_bytes(f, buf.getvalue())
    return union


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Delete ``.*.tmp`` files of killed atomic writes in ``out`` and its table folders."""
    removed = []
    for folder in [out, *(out / t for t in TABLES)]:
        if folder.is_dir():
            for f in folder.glob(".*.tmp"):
                f.unlink(missing_ok=True)
                removed.append(f)
    return removed


def _only_leftovers(out: Path) -> bool:
    """True if ``out`` holds nothing but what a sweep killed before its manifest existed
    can leave: temp files, design.parquet, (empty) table folders."""
    for p in out.iterdir():
        if p.name == ".gitkeep" or (p.name.startswith(".") and p.name.endswith(".tmp")):
            continue
        if p.name == "design.parquet" and p.is_file():
            continue
        if p.is_dir() and p.name in TABLES and not any(p.iterdir()):
            continue
        return False
    return True


def open_output(
    out: str | Path,
    spec: dict[str, Any],
    config_hash: str,
    chunks: list[Chunk],
    design: pd.DataFrame,
    *,
    resume: bool,
) -> Manifest:
    """Create the output directory of a new sweep, or reopen it to resume.

    Refuses (``ResumeError``) to write into a directory holding a sweep unless ``resume``,
    and to resume a sweep whose configuration hash differs from ``config_hash``. A resumed
    sweep keeps its stored chunk plan (so chunk ids keep their meaning)."""
    from darkcontrol.sweep.worker import to_parquet_bytes

    out = Path(out)
    path = out / MANIFEST
    meta = {
        "darkcontrol_version": darkcontrol.__version__,
        "config_hash": config_hash,
        "spec": spec,
    }
    if path.exists():
        if not resume:
            raise ResumeError(
                f"{str(out)!r} already holds a sweep; pass --resume (resume=True) to continue "
                "it, or choose another output directory"
            )
        manifest = Manifest.load(out)
        if manifest.config_hash != config_hash:
            raise ResumeError(
                f"cannot resume: {str(out)!r} holds a sweep with another configuration "
                f"(name {manifest.spec.get('name')!r}, hash {manifest.config_hash[:12]}) than "
                f"the one given (name {spec.get('name')!r}, hash {config_hash[:12]}); use a "
                "new output directory or the spec that made this one"
            )
        remove_stale_temporaries(out)
        if not (out / "design.parquet").is_file():  # killed right after the manifest
            atomic_write_bytes(out / "design.parquet", to_parquet_bytes(design, meta))
        for table in TABLES:  # finish a schema rewrite a kill interrupted
            unify_table(manifest.files(table))
        return manifest
    if out.exists() and not out.is_dir():
        raise ResumeError(f"{str(out)!r} is a file; give a directory")
    if out.exists() and not _only_leftovers(out):
        raise ResumeError(
            f"{str(out)!r} exists, is not empty and holds no sweep manifest; choose an empty "
            "or new directory"
        )
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)  # a sweep killed during its first manifest write
    manifest = Manifest(path=path, spec=spec, config_hash=config_hash, chunks=chunks)
    manifest.save()  # first: from now on the folder is recognised as this sweep
    atomic_write_bytes(out / "design.parquet", to_parquet_bytes(design, meta))
    return manifest


@dataclass
class SweepResults:
    """The finished part of a sweep, as DataFrames (read from the chunks the manifest lists)."""

    out: Path
    manifest: Manifest

    @property
    def complete(self) -> bool:
        return not self.manifest.pending()

    def _read(self, table: str) -> pd.DataFrame:
        files = self.manifest.files(table)
        if not files:
            return pd.DataFrame()
        frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        key = [c for c in ("agent", "episode", "block") if c in frame]
        return frame.sort_values(key, kind="stable").reset_index(drop=True)

    @property
    def design(self) -> pd.DataFrame:
        return pd.read_parquet(self.out / "design.parquet")

    @property
    def summary(self) -> pd.DataFrame:
        return self._read("summary")

    @property
    def curves(self) -> pd.DataFrame:
        return self._read("curves")

    @property
    def regions(self) -> pd.DataFrame:
        return self._read("regions")

    @property
    def q(self) -> pd.DataFrame:
        return self._read("q")

    def curves_with_design(self) -> pd.DataFrame:
        """Curves joined with each agent's design row (experiment, env, seed, parameters)."""
        return self.curves.merge(self.design, on="agent", how="left")


def load_sweep(out: str | Path) -> SweepResults:
    """Open the results of a (possibly unfinished) sweep."""
    return SweepResults(out=Path(out), manifest=Manifest.load(out))
