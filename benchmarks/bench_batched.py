"""Agent-steps per second of batched learners against single-agent and vectorised baselines.

Side by side, in one run, on the 10x10 open field (``darkcontrol/OpenField-v0``):

- the single-agent reference loop: ``darkcontrol.agents.tabular.QLearning`` (or ``DynaQ``
  with n = 10) driven by ``darkcontrol.agents.runner.run_episodes`` (its default recorder);
- gymnasium vector environments: ``gymnasium.vector.SyncVectorEnv`` of N OpenField envs with a
  numpy-vectorised Q-learning on top (one Python ``env.step`` per agent and step);
- batched torch learners (``darkcontrol.batched``) with B = 1 ... 65536 agents.

An agent-step is one real step of one agent (with its planning, for Dyna-Q). Every
measurement runs in its own subprocess, so that peak memory is its own: on CPU the growth of
the peak resident set size (``resource.getrusage``) over the process's state before the
measurement, on CUDA ``torch.cuda.max_memory_allocated``. Prints a markdown table with ratios
to the single-agent reference of the same algorithm.

    python benchmarks/bench_batched.py [--device cpu|cuda|auto] [--threads 1] [--quick]

``--threads`` sets torch's CPU threads (default 1: on a small or shared machine the per-op
thread hand-off costs more than it saves; try the core count on an idle many-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from darkcontrol.simulation import simulate

ENV_ID = "darkcontrol/OpenField-v0"
SIZES = (1, 16, 256, 4096, 16384, 65536)
QUICK_SIZES = (1, 256, 4096)
VECTOR_SIZES = (16, 256)
DYNA_N = 10


def _rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _warm_imports() -> None:
    import gymnasium  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401

    import darkcontrol.envs  # noqa: F401


# -- the measurements (each runs in a fresh subprocess) ---------------------------------------
def measure_reference(algorithm: str, seconds: float) -> dict:
    import gymnasium as gym

    from darkcontrol.agents.dyna import DynaQ
    from darkcontrol.agents.tabular import QLearning

    env = gym.make(ENV_ID)
    S, A = env.observation_space.n, env.action_space.n
    before = _rss_bytes()
    steps, seed, t0 = 0, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        if algorithm == "q_learning":
            agent = QLearning(S, A, seed=seed, alpha=0.5)
        else:
            agent = DynaQ(S, A, seed=seed, alpha=0.5, n_planning=DYNA_N)
        log = simulate(env, agent, episodes=5, seeds=[seed], max_steps=500)[1].runs[0]
        steps += sum(log.lengths)
        seed += 1
    dt = time.perf_counter() - t0
    return {"steps_per_s": steps / dt, "peak_bytes": max(0, _rss_bytes() - before)}


def measure_vector(n_envs: int, seconds: float) -> dict:
    import gymnasium as gym
    import numpy as np

    import darkcontrol.envs  # noqa: F401

    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make(ENV_ID, max_episode_steps=500) for _ in range(n_envs)],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    S, A = envs.single_observation_space.n, envs.single_action_space.n
    before = _rss_bytes()
    rng = np.random.default_rng(0)
    Q = np.zeros((n_envs, S, A))
    alpha, gamma, eps = 0.5, 0.95, 0.1
    idx = np.arange(n_envs)
    s, _ = envs.reset(seed=0)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        q = Q[idx, s]
        best = q >= q.max(1, keepdims=True) - 1e-12
        greedy = np.argmax(best * rng.random((n_envs, A)), axis=1)  # random tie-break
        a = np.where(rng.random(n_envs) < eps, rng.integers(A, size=n_envs), greedy)
        s2, r, term, trunc, info = envs.step(a)
        nxt = s2.copy()
        if "final_obs" in info:
            done = info["_final_obs"]
            nxt[done] = np.asarray(info["final_obs"][done], dtype=nxt.dtype)
        y = r + np.where(term, 0.0, gamma * Q[idx, nxt].max(1))
        Q[idx, s, a] += alpha * (y - Q[idx, s, a])
        s = s2
        steps += n_envs
    dt = time.perf_counter() - t0
    return {"steps_per_s": steps / dt, "peak_bytes": max(0, _rss_bytes() - before)}


def measure_batched(algorithm: str, B: int, seconds: float, device: str) -> dict:
    import gymnasium as gym
    import numpy as np
    import torch

    import darkcontrol.envs  # noqa: F401
    from darkcontrol.batched.registry import batched_class

    mdp = gym.make(ENV_ID).unwrapped.mdp
    cls = batched_class(algorithm)
    params = {"alpha": 0.5}
    if algorithm == "dyna_q":
        params["n_planning"] = DYNA_N
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    before = _rss_bytes()
    learner = cls(mdp, np.arange(B), device=device, **params)
    learner.start(50, 500)  # finished agents keep stepping (masked): same cost per step

    def sync():
        if cuda:
            torch.cuda.synchronize()

    with torch.inference_mode():
        for _ in range(5):
            learner.step()
        sync()
        steps, t0 = 0, time.perf_counter()
        while True:
            for _ in range(10):
                learner.step()
            steps += 10
            sync()
            if time.perf_counter() - t0 >= seconds:
                break
    dt = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() if cuda else max(0, _rss_bytes() - before)
    return {"steps_per_s": B * steps / dt, "peak_bytes": peak}


def _child(spec: dict) -> dict:
    import torch

    torch.set_num_threads(spec["threads"])
    _warm_imports()
    kind = spec["kind"]
    if kind == "reference":
        return measure_reference(spec["algorithm"], spec["seconds"])
    if kind == "vector":
        return measure_vector(spec["n"], spec["seconds"])
    return measure_batched(spec["algorithm"], spec["n"], spec["seconds"], spec["device"])


def run_one(spec: dict) -> dict:
    """Measure ``spec`` in a fresh interpreter; returns its JSON answer."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto", help="cpu | cuda | auto (default)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    ap.add_argument("--quick", action="store_true", help="fewer batch sizes, 1 s each")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    import torch

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    seconds = 1.0 if args.quick else args.seconds
    sizes = QUICK_SIZES if args.quick else SIZES
    common = {"threads": args.threads, "seconds": seconds, "device": device}
    rows = []
    for algorithm, label in (("q_learning", "Q-learning"), ("dyna_q", f"Dyna-Q (n = {DYNA_N})")):
        ref = run_one({**common, "kind": "reference", "algorithm": algorithm})
        rows.append((label, "single-agent reference loop", 1, ref, ref))
        if algorithm == "q_learning":
            for n in VECTOR_SIZES:
                res = run_one({**common, "kind": "vector", "n": n})
                rows.append((label, "gymnasium SyncVectorEnv + numpy", n, res, ref))
        for B in sizes:
            res = run_one({**common, "kind": "batched", "algorithm": algorithm, "n": B})
            rows.append((label, f"darkcontrol.batched ({device})", B, res, ref))
    print(
        f"\n### Batched learners, 10x10 open field ({ENV_ID}), torch {torch.__version__}, "
        f"{os.cpu_count()} CPU cores, torch threads {args.threads}, device {device}\n"
    )
    print("| algorithm | implementation | agents | agent-steps/s | vs reference | peak memory |")
    print("|---|---|---:|---:|---:|---:|")
    for label, impl, n, res, ref in rows:
        if "error" in res:
            print(f"| {label} | {impl} | {n} | error: {res['error']} | | |")
            continue
        ratio = res["steps_per_s"] / ref["steps_per_s"] if "error" not in ref else float("nan")
        mem = res["peak_bytes"] / 2**20
        print(
            f"| {label} | {impl} | {n:,} | {res['steps_per_s']:,.0f} | {ratio:,.1f}x | "
            f"{mem:,.1f} MiB |"
        )
    print(
        "\nagent-steps/s: real steps of all agents per wall-clock second (Dyna-Q: with its "
        "planning); vs reference: ratio to the single-agent loop of the same algorithm; peak "
        "memory: growth of the peak RSS (CPU) or torch.cuda.max_memory_allocated (CUDA)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
