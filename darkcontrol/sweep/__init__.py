"""Parameter sweeps: specification, chunking, atomic resumable output, distribution.

See ``darkcontrol/sweep/README.md``. Entry points: :func:`run_sweep` (or ``darkcontrol
sweep SPEC --out DIR``), :class:`SweepSpec`, :func:`load_sweep`.
"""

from darkcontrol.sweep.plan import Chunk, parse_bytes, plan_chunks
from darkcontrol.sweep.runner import plan_only, run_sweep
from darkcontrol.sweep.spec import Experiment, SweepEnv, SweepSpec
from darkcontrol.sweep.store import Manifest, ResumeError, SweepResults, load_sweep
from darkcontrol.sweep.worker import ChunkTask, read_metadata, run_chunk

__all__ = [
    "Chunk",
    "ChunkTask",
    "SweepEnv",
    "Experiment",
    "Manifest",
    "ResumeError",
    "SweepResults",
    "SweepSpec",
    "load_sweep",
    "parse_bytes",
    "plan_chunks",
    "plan_only",
    "read_metadata",
    "run_chunk",
    "run_sweep",
]
