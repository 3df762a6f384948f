"""Benchmark: time to fit one participant (200 trials, 10 starts), and cost per likelihood pass.

Prints wall-clock and CPU seconds (the machine may be shared: CPU time is the steadier number).
Target: a few seconds per participant.

    python benchmarks/bench_fitting.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time


def _timed(fn, repeats: int) -> tuple[float, float]:
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - w)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best_wall, best_cpu


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--starts", type=int, default=10)
    args = p.parse_args(argv)

    import gymnasium as gym
    import numpy as np

    import darkcontrol.envs  # noqa: F401
    from darkcontrol.neuro.fitting import FitConfig, fit
    from darkcontrol.neuro.hierarchical import integrated_loglik
    from darkcontrol.neuro.likelihood import make_model

    cases = [
        ("q_learning", "darkcontrol/RestlessBandit-v0", {"alpha": 0.4, "beta": 5.0}),
        ("q_persev", "darkcontrol/RestlessBandit-v0", {"alpha": 0.4, "beta": 5.0, "kappa": 1.0}),
        (
            "two_step_hybrid",
            "darkcontrol/TwoStep-v0",
            dict(alpha1=0.5, alpha2=0.5, beta1=5.0, beta2=4.0, w=0.5, lam=0.6, perseveration=0.1),
        ),
    ]
    print(f"{'model':<12} {'what':<34} {'wall s':>8} {'cpu s':>8}")
    for name, env_id, params in cases:
        model = make_model(name)
        b = model.simulate(params, gym.make(env_id), n_trials=args.trials, seed=0)
        cfg = FitConfig(starts=args.starts, seed=0)
        wall, cpu = _timed(lambda m=model, b=b, c=cfg: fit(m, b, c), args.repeats)
        print(
            f"{name:<12} {f'fit {args.trials} trials x {args.starts} starts':<34} "
            f"{wall:8.3f} {cpu:8.3f}"
        )
        K = 2 * model.n_free + 1
        theta = np.tile(model.theta(params), (K, 1))
        wall, cpu = _timed(lambda m=model, t=theta, b=b: m.loglik(t, b), args.repeats * 10)
        print(f"{'':<12} {f'one likelihood pass, K={K} (f + grad)':<34} {wall:8.4f} {cpu:8.4f}")
        mu, sd = model.prior()
        wall, cpu = _timed(
            lambda m=model, b=b, mu=mu, sd=sd: integrated_loglik(m, [b], mu, sd, 2000), 1
        )
        print(f"{'':<12} {'iBIC term, 2000 samples':<34} {wall:8.3f} {cpu:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
