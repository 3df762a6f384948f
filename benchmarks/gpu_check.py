"""GPU check: the batched learners on CUDA against the CPU, then their speed at large B.

For whoever has an NVIDIA GPU (nothing here runs without one; it exits 0 with a message):

1. equivalence: every learner of ``darkcontrol.batched`` (float64, the same seeds) on ``cuda``
   against ``cpu`` with both CPU backends (the torch program and, where it applies, the numba
   kernel): episode lengths, returns and Q tables (a fused multiply-add on the GPU may flip a
   near-tie, so the check asks >= 90 % of agents bitwise identical and the rest statistically
   alike, as ``tests/test_batched_learning.py::test_cuda_runs_match_cpu``); then the ``gpu``
   tests of the suite (``pytest -m gpu``);
2. throughput: agent-steps/s of Q-learning and Dyna-Q (n = 10) on the 10x10 open field at
   B = 2^16 ... 2^22 (float32), with peak device memory (``torch.cuda.max_memory_allocated``)
   per agent; a size that does not fit stops its series.

    python benchmarks/gpu_check.py [--max-log2 22] [--seconds 2] [--no-tests]

Exit status 1 if an equivalence check fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_ID = "darkcontrol/OpenField-v0"


def equivalence() -> list[str]:
    """Failures (empty: all equivalent) of every learner, cuda against cpu."""
    import gymnasium as gym
    import numpy as np

    import darkcontrol.envs  # noqa: F401
    from darkcontrol.batched.registry import BATCHED, batched_class
    from darkcontrol.batched.testing import curve_z

    maze = gym.make("darkcontrol/DynaMaze-v0").unwrapped.mdp
    failures = []
    for name in BATCHED:
        cls = batched_class(name)
        gpu = cls(maze, np.arange(64), device="cuda", dtype="float64").run(4, 200)
        for backend in ("torch", "numba"):
            try:
                cpu_learner = cls(maze, np.arange(64), dtype="float64", backend=backend)
            except ValueError:  # no kernel for this learner
                continue
            cpu = cpu_learner.run(4, 200)
            same = (cpu.lengths == gpu.lengths).all(1)
            z = float(np.abs(curve_z(gpu.lengths, cpu.lengths)).max())
            q_ok = np.allclose(cpu.Q[same], gpu.Q[same], rtol=1e-9, atol=1e-12)
            ok = same.mean() > 0.9 and q_ok and z < 4.0
            print(
                f"  {name:22s} cuda vs cpu/{backend:5s}: {same.mean():6.1%} agents identical, "
                f"Q equal on those: {q_ok}, max |z| of curves {z:.2f}  {'ok' if ok else 'FAIL'}"
            )
            if not ok:
                failures.append(f"{name} ({backend})")
    return failures


def throughput(max_log2: int, seconds: float) -> None:
    import gymnasium as gym
    import numpy as np
    import torch

    import darkcontrol.envs  # noqa: F401
    from darkcontrol.batched.registry import batched_class

    mdp = gym.make(ENV_ID).unwrapped.mdp
    q_bytes = mdp.n_states * mdp.n_actions * 4
    print("\n| algorithm | agents | agent-steps/s | peak memory / agent | vs Q table |")
    print("|---|---:|---:|---:|---:|")
    for name, params in (("q_learning", {}), ("dyna_q", {"n_planning": 10})):
        for k in range(16, max_log2 + 1):
            B = 2**k
            try:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
                learner = batched_class(name)(mdp, np.arange(B), device="cuda", alpha=0.5, **params)
                learner.start(20, 500)
                learner.advance(5)
                torch.cuda.synchronize()
                steps, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < seconds:
                    learner.advance(10)
                    steps += 10
                    torch.cuda.synchronize()
                rate = B * steps / (time.perf_counter() - t0)
                peak = torch.cuda.max_memory_allocated() / B
                print(f"| {name} | {B:,} | {rate:,.0f} | {peak:,.0f} B | {peak / q_bytes:.2f}x |")
                del learner
            except torch.cuda.OutOfMemoryError:
                print(f"| {name} | {B:,} | out of device memory | | |")
                break


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-log2", type=int, default=22, help="largest B = 2^k (default 22)")
    ap.add_argument("--seconds", type=float, default=2.0, help="seconds per throughput size")
    ap.add_argument("--no-tests", action="store_true", help="skip `pytest -m gpu`")
    args = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("gpu_check: torch sees no CUDA device; nothing to check (skipped).")
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"gpu_check on {torch.cuda.get_device_name()} (torch {torch.__version__})\n")
    print("equivalence, float64, 64 agents x 4 episodes on the Dyna maze:")
    failures = equivalence()
    if not args.no_tests:
        pytest = Path(sys.executable).with_name("pytest")
        cmd = [str(pytest), "-q", "-p", "no:xdist", "-m", "gpu", str(ROOT / "tests")]
        print(f"\n$ {' '.join(cmd)}", flush=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        if subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode != 0:
            failures.append("pytest -m gpu")
    throughput(args.max_log2, args.seconds)
    if failures:
        print(f"\nFAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    print("\nall equivalence checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
