"""Time to fit one participant (200 trials, 10 starts), against the numpy loop and a minimal fitter.

For each model, side by side in one run (interleaved rounds, medians, 1 thread):

- ``darkcontrol`` — ``neuro.fitting.fit``: compiled likelihood (``neuro.kernels``, numba) with
  its exact forward-mode gradient handed to L-BFGS-B;
- ``numpy loop + FD`` — the same fit with the pure numpy trial loop and finite-difference
  gradients (2P + 1 parameter sets per pass), which is what ``fit`` did before the kernels;
- ``minimal numpy + scipy`` (Q-learning only) — ``benchmarks/baselines.minimal_q_fit``, a
  per-trial loop and L-BFGS-B with scipy's numerical gradients.

All reach the same NLL (printed). Also: one likelihood pass at K = 2P + 1 parameter sets and
the iBIC term at 2000 prior samples.

    python benchmarks/bench_fitting.py [--rounds 3] [--trials 200] [--starts 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

CASES = [
    ("q_learning", "darkcontrol/RestlessBandit-v0", {"alpha": 0.4, "beta": 5.0}),
    ("q_persev", "darkcontrol/RestlessBandit-v0", {"alpha": 0.4, "beta": 5.0, "kappa": 1.0}),
    (
        "two_step_hybrid",
        "darkcontrol/TwoStep-v0",
        dict(alpha1=0.5, alpha2=0.5, beta1=5.0, beta2=4.0, w=0.5, lam=0.6, perseveration=0.1),
    ),
]


def _time(fn) -> tuple[float, object]:
    """CPU seconds of ``fn()`` (steadier than wall time on a shared machine) and its value."""
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--starts", type=int, default=10)
    p.add_argument("--quick", action="store_true", help="one round")
    args = p.parse_args(argv)
    rounds = 1 if args.quick else args.rounds

    import gymnasium as gym
    import numpy as np
    import torch

    torch.set_num_threads(1)
    import baselines

    import darkcontrol.envs  # noqa: F401
    from darkcontrol.neuro import kernels
    from darkcontrol.neuro.fitting import FitConfig, fit, start_points
    from darkcontrol.neuro.hierarchical import integrated_loglik
    from darkcontrol.neuro.likelihood import make_model

    jobs = []
    for name, env_id, params in CASES:
        model = make_model(name)
        b = model.simulate(params, gym.make(env_id), n_trials=args.trials, seed=0)
        cfg = FitConfig(starts=args.starts, seed=0, hessian=False)
        fit(model, b, cfg)  # compile / load the kernels

        def ours(m=model, b=b, c=cfg):
            return fit(m, b, c).nll

        def numpy_fd(m=model, b=b, c=cfg):
            kernels.HAVE_NUMBA = False
            try:
                return fit(m, b, c).nll
            finally:
                kernels.HAVE_NUMBA = True

        jobs.append((name, "darkcontrol (compiled + gradient)", ours))
        jobs.append((name, "numpy loop + FD gradient", numpy_fd))
        if name == "q_learning":
            starts = start_points(model, args.starts, np.random.default_rng(0))

            def minimal(b=b, s=starts):
                return baselines.minimal_q_fit(b.choice, b.outcome, b.n_actions, s)

            jobs.append((name, "minimal numpy + scipy fitter", minimal))
        K = 2 * model.n_free + 1
        theta = np.tile(model.theta(params), (K, 1))
        jobs.append(
            (name, f"one likelihood pass, K = {K}", lambda m=model, t=theta, b=b: m.loglik(t, b))
        )
        mu, sd = model.prior()
        jobs.append(
            (
                name,
                "iBIC term, 2000 samples",
                lambda m=model, b=b, mu=mu, sd=sd: integrated_loglik(m, [b], mu, sd, 2000),
            )
        )
    times: list[list[float]] = [[] for _ in jobs]
    nlls: dict[int, float] = {}
    for _ in range(rounds):
        for i, (_, _, fn) in enumerate(jobs):
            dt, out = _time(fn)
            times[i].append(dt)
            if "pass" not in jobs[i][1] and "iBIC" not in jobs[i][1]:
                nlls[i] = float(out)
    print(
        f"\n### Fitting one participant: {args.trials} trials, {args.starts} starts (medians of "
        f"{rounds} interleaved round(s), 1 thread)\n"
    )
    print("| model | implementation | CPU seconds | vs darkcontrol | NLL reached |")
    print("|---|---|---:|---:|---:|")
    ref = {}
    for i, (name, what, _) in enumerate(jobs):
        med = statistics.median(times[i])
        if what.startswith("darkcontrol"):
            ref[name] = med
        nll = f"{nlls[i]:.4f}" if i in nlls else ""
        ratio_s = f"{med / ref[name]:.1f}x" if i in nlls else ""
        print(f"| {name} | {what} | {med:.4f} | {ratio_s} | {nll} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
