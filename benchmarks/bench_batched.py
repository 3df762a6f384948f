"""Agent-steps per second of the batched learners against fair baselines, in one run.

On the 10x10 open field (``darkcontrol/OpenField-v0``, deterministic, 100 states, 4 actions),
Q-learning and Dyna-Q (n = 10), side by side:

- baselines (``benchmarks/baselines.py``): a minimal plain-Python loop of the same algorithm
  (nothing recorded, and one tuple per step recorded) and the same loop compiled with numba,
  one agent at a time; gymnasium's ``SyncVectorEnv`` with numpy Q-learning on top;
- the package's single-agent reference loop (``darkcontrol.simulate``, Trace recorder
  in its ``full`` and ``summary`` modes), shown separately: it records a Trace row per step;
- ``darkcontrol.batched`` on both backends (``torch``: the lockstep tensor program;
  ``numba``: the compiled agent-major CPU kernel) at B = 1 ... 65,536, recording nothing and
  with per-episode region summaries;
- the machine: a measured random-access memory bound for lockstep Q-learning (the traffic of
  reading Q(s, .), Q(s', .) and writing Q(s, a) for every agent, and nothing else) and the
  copy bandwidth.

Method: every timing runs in one worker process with 1 torch thread and OMP_NUM_THREADS=1, in
``--rounds`` interleaved rounds (all measurements once per round, in a rotated order, so that
load on a shared machine hits all of them alike); the table shows medians. Each measurement
warms up (compiles) first, then counts real agent-steps for ``--seconds`` of the process's CPU
time (steadier than wall time on a shared machine; the same on an idle one). Peak memory of the
batched learners is measured in a fresh process each (growth of the peak RSS).

    python benchmarks/bench_batched.py [--quick] [--rounds 3] [--seconds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from darkcontrol.simulation import simulate

ENV_ID = "darkcontrol/OpenField-v0"
SIZES = (1, 16, 256, 4096, 16384, 65536)
QUICK_SIZES = (256, 4096, 65536)
DYNA_SIZES = (256, 4096, 16384)
DYNA_N = 10
ALPHA = 0.5
E, T = 20, 500  # episodes per start() and truncation of the batched runs


def _mdp():
    import gymnasium as gym

    import darkcontrol.envs  # noqa: F401

    return gym.make(ENV_ID).unwrapped.mdp


def _timed(fn, seconds: float) -> float:
    """Agent-steps per CPU second of repeated ``fn()`` calls (each returns its agent-steps).

    CPU time of the (single-threaded) process, not wall time: on a shared machine it leaves
    out the time the process waits for a core, so the ratios are steadier; on an idle machine
    the two agree."""
    fn()  # warm up: compile, fill caches
    steps, t0 = 0, time.process_time()
    while True:
        steps += fn()
        dt = time.process_time() - t0
        if dt >= seconds:
            return steps / dt


# -- measurements ------------------------------------------------------------------------------
def m_baseline(spec: dict, seconds: float) -> float:
    import baselines

    mdp = _mdp()
    fn = getattr(baselines, spec["impl"])
    kw = {"alpha": ALPHA}
    if spec["algorithm"] == "dyna_q":
        kw["n_planning"] = DYNA_N
    if spec.get("record"):
        kw["record"] = True
    n = 20_000 if spec["impl"].startswith("plain") else 2_000_000
    if spec["algorithm"] == "dyna_q":
        n //= 10
    seed = [0]

    def once():
        seed[0] += 1
        return fn(mdp, n, seed=seed[0], **kw)

    return _timed(once, seconds)


def m_reference(spec: dict, seconds: float) -> float:
    import gymnasium as gym

    from darkcontrol.agents.dyna import DynaQ
    from darkcontrol.agents.tabular import QLearning
    from darkcontrol.trace import TraceRecorder

    env = gym.make(ENV_ID)
    S, A = env.observation_space.n, env.action_space.n
    seed = [0]

    def once():
        seed[0] += 1
        rec = TraceRecorder(mode=spec["record"])
        if spec["algorithm"] == "q_learning":
            agent = QLearning(S, A, seed=seed[0], alpha=ALPHA, recorder=rec)
        else:
            agent = DynaQ(S, A, seed=seed[0], alpha=ALPHA, n_planning=DYNA_N, recorder=rec)
        return sum(
            simulate(env, agent, episodes=5, seeds=[seed[0]], max_steps=T)[1].runs[0].lengths
        )

    return _timed(once, seconds)


def m_vector(spec: dict, seconds: float) -> float:
    import gymnasium as gym
    import numpy as np

    import darkcontrol.envs  # noqa: F401

    n_envs = spec["n"]
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make(ENV_ID, max_episode_steps=T) for _ in range(n_envs)],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    S, A = envs.single_observation_space.n, envs.single_action_space.n
    rng = np.random.default_rng(0)
    Q = np.zeros((n_envs, S, A))
    gamma, eps = 0.95, 0.1
    idx = np.arange(n_envs)
    state = {"s": envs.reset(seed=0)[0]}

    def once():
        s = state["s"]
        for _ in range(50):
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
            Q[idx, s, a] += ALPHA * (y - Q[idx, s, a])
            s = s2
        state["s"] = s
        return 50 * n_envs

    return _timed(once, seconds)


def _learner(spec: dict):
    import numpy as np

    from darkcontrol.batched.registry import batched_class

    params = {"alpha": ALPHA}
    if spec["algorithm"] == "dyna_q":
        params["n_planning"] = spec.get("n_planning", DYNA_N)
    cls = batched_class(spec["algorithm"])
    return cls(_mdp(), np.arange(spec["n"]), backend=spec["backend"], **params)


def _real_steps(run) -> int:
    done = run.lengths[:, : run.E]
    return int(done[done > 0].sum()) + int(run.ep_len[run.active].sum())


def m_batched(spec: dict, seconds: float) -> float:
    """Real agent-steps/s; a run whose first agent finishes is restarted (values kept), so
    that finished agents (skipped by the kernel, masked by torch) do not count."""
    learner = _learner(spec)
    B = spec["n"]
    cost = spec.get("n_planning", DYNA_N) + 1 if spec["algorithm"] == "dyna_q" else 1
    # steps per advance() call: the kernel runs them agent by agent (an agent's tables stay in
    # cache for the whole call, as in run()); the torch program one lockstep step at a time
    budget = 20_000_000 if learner.backend == "numba" else 500_000
    chunk = max(1, min(T, budget // (B * cost)))
    regions = spec.get("regions", False)
    learner.start(E, T, record_regions=regions)

    def once():
        run = learner._run
        if not bool(run.active.all()):
            learner.start(E, T, record_regions=regions)
            run = learner._run
        before = _real_steps(run)
        learner.advance(chunk)
        return _real_steps(run) - before

    return _timed(once, seconds)


def m_bound(spec: dict, seconds: float) -> float:
    import baselines

    mdp = _mdp()
    return baselines.random_access_bound(spec["n"], mdp.n_states, mdp.n_actions, seconds)


def m_copy(spec: dict, seconds: float) -> float:
    import baselines

    return baselines.copy_bandwidth(seconds)


MEASURE = {
    "baseline": m_baseline,
    "reference": m_reference,
    "vector": m_vector,
    "batched": m_batched,
    "bound": m_bound,
    "copy": m_copy,
}


def worker(specs: list[dict], rounds: int, seconds: float) -> list[list[float]]:
    import torch

    torch.set_num_threads(1)
    out: list[list[float]] = [[] for _ in specs]
    for r in range(rounds):
        order = list(range(len(specs)))
        order = order[r % len(order) :] + order[: r % len(order)]
        for i in order:
            try:
                out[i].append(MEASURE[specs[i]["kind"]](specs[i], seconds))
            except Exception as exc:  # report, keep measuring the others
                out[i].append(f"{type(exc).__name__}: {exc}")
            print(f"  round {r + 1}/{rounds}: {label(specs[i])}", file=sys.stderr, flush=True)
    return out


def peak_memory(spec: dict) -> int:
    """Growth of the peak RSS while building the learner and running 20 lockstep steps."""
    import torch

    torch.set_num_threads(1)
    import darkcontrol.batched.kernels  # noqa: F401

    warm = _learner({**spec, "n": 1})  # load the compiled kernel, torch's first allocations
    warm.start(1, 5)
    warm.advance(5)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    learner = _learner(spec)
    learner.start(E, T)
    learner.advance(20)
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    return [peak, learner.nbytes()]


def _subprocess(flag: str, payload) -> object:
    cmd = [sys.executable, os.path.abspath(__file__), flag, json.dumps(payload)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=False, stdout=subprocess.PIPE, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{flag} failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the plan and the table ---------------------------------------------------------------------
def label(spec: dict) -> str:
    k = spec["kind"]
    if k == "baseline":
        rec = ", per-step recording" if spec.get("record") else ""
        return f"{spec['impl'].split('_')[0]} single-agent loop{rec}"
    if k == "reference":
        return f"reference loop (Trace {spec['record']})"
    if k == "vector":
        return "gymnasium SyncVectorEnv + numpy"
    if k == "batched":
        rec = ", region summaries" if spec.get("regions") else ""
        return f"darkcontrol.batched ({spec['backend']}{rec})"
    if k == "bound":
        return "random-access memory bound (lockstep)"
    return "copy bandwidth"


def plan(quick: bool) -> list[dict]:
    sizes = QUICK_SIZES if quick else SIZES
    dyna_sizes = (4096,) if quick else DYNA_SIZES
    specs: list[dict] = []
    for alg in ("q_learning", "dyna_q"):
        plain = "plain_q" if alg == "q_learning" else "plain_dyna"
        compiled = "numba_q" if alg == "q_learning" else "numba_dyna"
        specs.append({"kind": "baseline", "algorithm": alg, "impl": plain, "n": 1})
        if alg == "q_learning":
            specs.append(
                {"kind": "baseline", "algorithm": alg, "impl": plain, "n": 1, "record": True}
            )
        specs.append({"kind": "baseline", "algorithm": alg, "impl": compiled, "n": 1})
        for mode in ("full", "summary"):
            specs.append({"kind": "reference", "algorithm": alg, "record": mode, "n": 1})
        if alg == "q_learning":
            for n in (16, 256):
                specs.append({"kind": "vector", "algorithm": alg, "n": n})
        for B in sizes if alg == "q_learning" else dyna_sizes:
            for backend in ("torch", "numba"):
                specs.append({"kind": "batched", "algorithm": alg, "n": B, "backend": backend})
        for backend in ("torch", "numba"):
            specs.append(
                {
                    "kind": "batched",
                    "algorithm": alg,
                    "n": 4096,
                    "backend": backend,
                    "regions": True,
                }
            )
            if alg == "dyna_q":  # the model's bookkeeping alone, against Q-learning
                specs.append(
                    {"kind": "batched", "algorithm": alg, "n": 4096, "backend": backend}
                    | {"n_planning": 0}
                )
    for B in (4096, 65536):
        specs.append({"kind": "bound", "algorithm": "q_learning", "n": B})
    specs.append({"kind": "copy", "algorithm": "", "n": 0})
    return specs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--seconds", type=float, default=1.0, help="seconds per measurement")
    ap.add_argument("--quick", action="store_true", help="fewer sizes, 1 round of 0.5 s")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--memory", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        job = json.loads(args.worker)
        print(json.dumps(worker(job["specs"], job["rounds"], job["seconds"])))
        return 0
    if args.memory:
        print(json.dumps(peak_memory(json.loads(args.memory))))
        return 0

    import numba
    import torch

    rounds, seconds = (1, 0.5) if args.quick else (args.rounds, args.seconds)
    specs = plan(args.quick)
    t0 = time.perf_counter()
    results = _subprocess("--worker", {"specs": specs, "rounds": rounds, "seconds": seconds})
    rate = {}
    for spec, vals in zip(specs, results):
        nums = [v for v in vals if not isinstance(v, str)]
        rate[json.dumps(spec, sort_keys=True)] = statistics.median(nums) if nums else vals[-1]

    def get(**kw):
        for spec in specs:
            if all(spec.get(k) == v for k, v in kw.items()):
                return rate[json.dumps(spec, sort_keys=True)]
        return float("nan")

    memory = {}
    if not args.no_memory:
        for spec in specs:
            if spec["kind"] == "batched" and not spec.get("regions") and spec["n"] >= 4096:
                memory[json.dumps(spec, sort_keys=True)] = _subprocess("--memory", spec)

    mdp = _mdp()
    q_bytes = mdp.n_states * mdp.n_actions * 4
    print(
        f"\n### Agent-steps per CPU second, 10x10 open field ({ENV_ID}); "
        f"{os.cpu_count()} CPU cores, 1 thread; torch {torch.__version__}, "
        f"numba {numba.__version__}; medians of "
        f"{rounds} interleaved round(s) of {seconds:g} s\n"
    )
    print(
        "| algorithm | implementation | agents | agent-steps/s | vs plain Python | vs numba "
        "single agent | peak memory / agent |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for spec in specs:
        if spec["kind"] in ("bound", "copy"):
            continue
        alg = spec["algorithm"]
        name = (
            "Q-learning"
            if alg == "q_learning"
            else f"Dyna-Q (n = {spec.get('n_planning', DYNA_N)})"
        )
        v = rate[json.dumps(spec, sort_keys=True)]
        if isinstance(v, str):
            print(f"| {name} | {label(spec)} | {spec['n']:,} | error: {v} | | | |")
            continue
        plain = get(
            kind="baseline",
            algorithm=alg,
            impl="plain_q" if alg == "q_learning" else "plain_dyna",
            record=None,
        )
        fast = get(
            kind="baseline", algorithm=alg, impl="numba_q" if alg == "q_learning" else "numba_dyna"
        )
        mem = memory.get(json.dumps(spec, sort_keys=True))
        mem_s = ""
        if mem:  # peak RSS growth against the learner's persistent tables (Q, + model)
            per, tables = mem[0] / spec["n"], mem[1] / spec["n"]
            what = "Q" if alg == "q_learning" else "Q + model"
            mem_s = f"{per:,.0f} B ({per / tables:.2f}x {what})"
        ratios = f"{v / plain:,.1f}x | {v / fast:,.2f}x"
        if "n_planning" in spec:  # no baseline of the same algorithm
            ratios = " | "
        print(f"| {name} | {label(spec)} | {spec['n']:,} | {v:,.0f} | {ratios} | {mem_s} |")
    print()
    for B in (4096, 65536):
        bound = get(kind="bound", n=B)
        tq = get(kind="batched", algorithm="q_learning", n=B, backend="torch", regions=None)
        nq = get(kind="batched", algorithm="q_learning", n=B, backend="numba", regions=None)
        if B == 4096:
            for be in ("torch", "numba"):
                d0 = get(kind="batched", algorithm="dyna_q", n=B, backend=be, n_planning=0)
                q0 = get(kind="batched", algorithm="q_learning", n=B, backend=be, regions=None)
                print(
                    f"- Dyna-Q (n = 0) / Q-learning at B = 4,096, {be}: {d0 / q0:.2f} "
                    "(the cost of the model's bookkeeping)"
                )
        print(
            f"- random-access memory bound for lockstep Q-learning at B = {B:,}: "
            f"{bound:,.0f} agent-steps/s; torch lockstep reaches {tq / bound:.0%} of it, the "
            f"numba kernel {nq / bound:.0%} (agent-major, each agent's table in cache: the "
            "lockstep bound does not bind it)"
        )
    print(f"- copy bandwidth: {get(kind='copy') / 1e9:.1f} GB/s (read + write)")
    print(
        f"- Q table: {q_bytes:,} B per agent (float32); peak memory: growth of the peak RSS "
        "building the learner and running 20 steps, in a fresh process"
    )
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
