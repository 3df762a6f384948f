"""A sweep SIGKILLed at every one of its file writes (the first manifest write included)
resumes to the same results as an uninterrupted run, recomputing no finished chunk, leaving no
temporary file, and with every chunk file of a table in one schema."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pyarrow.dataset as ds
import pytest

from darkcontrol.sweep.runner import run_sweep
from darkcontrol.sweep.spec import SweepSpec
from darkcontrol.sweep.store import load_sweep

SPEC = """
name = "kill-every-write"
episodes = 2
max_steps = 60
seeds = 2
envs = ["darkcontrol/DynaMaze-v0"]

[[experiment]]
name = "q"
algorithm = "q_learning"
grid = { alpha = [0.3] }

[[experiment]]
name = "dyna"
algorithm = "dyna_q"
grid = { n_planning = [2] }
fixed = { alpha = 0.5 }
"""
OPTIONS = {"device": "cpu", "max_chunk_agents": 2, "threads": 1, "progress": False}

# os.replace is the commit point of every atomic write: killing just before the N-th call
# leaves that write's temporary file behind and the target untouched (a kill *during* it)
KILLER = textwrap.dedent(
    """
    import os, signal, sys
    kill_at = int(sys.argv[1])
    calls = [0]
    real_replace = os.replace

    def replace(src, dst, *a, **k):
        calls[0] += 1
        if calls[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(src, dst, *a, **k)

    os.replace = replace
    from darkcontrol.cli import main
    code = main(sys.argv[2:])
    print(f"WRITES {calls[0]}")
    sys.exit(code)
    """
)


def _run(tmp_path, kill_at: int, out) -> subprocess.CompletedProcess:
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    argv = [str(spec), "--out", str(out), "--device", "cpu", "--max-chunk-agents", "2"]
    argv += ["--threads", "1", "--quiet"]
    return subprocess.run(
        [sys.executable, str(script), str(kill_at), "sweep", *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _tables(out) -> dict[str, pd.DataFrame]:
    res = load_sweep(out)
    assert res.complete
    return {
        "curves": res.curves,
        "summary": res.summary.drop(columns=["lockstep_steps"]),
        "regions": res.regions,
    }


def _done(out) -> dict:
    path = out / "manifest.json"
    return json.loads(path.read_text())["done"] if path.exists() else {}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    proc = _run(tmp, 0, tmp / "clean")
    assert proc.returncode == 0, proc.stderr
    n_writes = int(proc.stdout.split("WRITES")[-1])
    return n_writes, _tables(tmp / "clean")


def test_a_kill_at_every_write_resumes_to_the_same_results(tmp_path, reference):
    n_writes, clean = reference
    spec = SweepSpec.from_dict(__import__("tomllib").loads(SPEC))
    assert n_writes >= 10  # manifest, design, 4 chunks x (>= 2 tables + manifest)
    for k in range(1, n_writes + 1):
        out = tmp_path / f"k{k}"
        proc = _run(tmp_path, k, out)
        assert proc.returncode == -signal.SIGKILL, (k, proc.stderr)
        before = _done(out)
        if k == 1:  # killed during the very first write: the manifest's
            assert not (out / "manifest.json").exists()
            assert list(out.glob(".manifest.json.*.tmp"))
        res = run_sweep(spec, out, resume=True, **OPTIONS)
        assert res.complete
        after = _done(out)
        for cid, info in before.items():  # finished chunks are not recomputed
            assert after[cid] == info, (k, cid)
        for name, frame in _tables(out).items():
            pd.testing.assert_frame_equal(frame, clean[name], check_like=True, obj=f"{name} k={k}")
        assert not list(out.rglob("*.tmp")), k
        for table in ("summary", "regions"):
            folder = pd.read_parquet(out / table)
            assert set(folder.columns) == set(clean[table].columns) | (
                {"lockstep_steps"} if table == "summary" else set()
            )
            assert ds.dataset(out / table).schema.names == list(folder.columns)


def test_a_kill_before_the_manifest_also_restarts_without_resume(tmp_path):
    out = tmp_path / "first"
    proc = _run(tmp_path, 1, out)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "manifest.json").exists() and any(out.iterdir())
    proc = _run(tmp_path, 0, out)  # a plain rerun, no --resume
    assert proc.returncode == 0, proc.stderr
    assert load_sweep(out).complete and not list(out.rglob("*.tmp"))
