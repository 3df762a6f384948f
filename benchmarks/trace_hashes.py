"""Trace hashes before/after issue 11 (works on both APIs; see bench_runner.py for running the
tree before it): sha256 of pandas.util.hash_pandas_object of each Trace, fixed seeds and envs.

    .venv/bin/python benchmarks/trace_hashes.py hashes.json

Plain agents run on the old plain-agent clock, Clock(iti_s=0.0, offline_dt=0.05); the DMN on
the default clock (1-s trials, 1-s ITIs: the DMN's old defaults)."""

import hashlib
import json
import sys

import pandas as pd

import darkcontrol.simulation as sim


def h(df):
    df = df.reset_index(drop=True)
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=True).values.tobytes()).hexdigest()[
        :16
    ]


new = "schedule" in sim.simulate.__code__.co_varnames
out = {}
cases = [
    ("q_learning", "darkcontrol/DynaMaze-v0", {}),
    ("dyna_q", "darkcontrol/DynaMaze-v0", {}),
    ("mattar_daw", "darkcontrol/DynaMaze-v0", {}),
]
for name, env, p in cases:
    if new:
        from darkcontrol.clock import Clock

        tr, _ = sim.simulate(
            env, name, episodes=5, seeds=2, clock=Clock(iti_s=0.0, offline_dt=0.05), **p
        )
    else:
        tr, _ = sim.simulate(env, name, params=p, episodes=5, seeds=2)
    out[name] = (h(tr), len(tr))
for acc in ("full", "predictive_coding", "semantic", "sentinel"):
    p = {"account": acc}
    if new:
        tr, _ = sim.simulate("darkcontrol/DynaMaze-v0", "dmn", episodes=5, seeds=2, **p)
    else:
        tr, _ = sim.simulate("darkcontrol/DynaMaze-v0", "dmn", params=p, episodes=5, seeds=2)
    out["dmn_" + acc] = (h(tr), len(tr))
# a schedule through the DMN
if new:
    from darkcontrol.clock import Schedule

    tr, _ = sim.simulate(
        "darkcontrol/DynaMaze-v0",
        "dmn",
        schedule=Schedule.blocked(2, 20.0, 10.0, trial_s=2.0, iti_s=1.0),
        seeds=[0],
        account="full",
    )
else:
    from darkcontrol.dmn import DMNAgent, Schedule, run_schedule

    env = sim.make_env("darkcontrol/DynaMaze-v0")
    from darkcontrol.trace import TraceRecorder

    dmn = DMNAgent("q_learning", env, account="full", seed=0, recorder=TraceRecorder(run=0))
    tr, _ = run_schedule(dmn, env, Schedule.blocked(2, 20.0, 10.0, trial_s=2.0, iti_s=1.0), seed=0)
out["dmn_full_schedule"] = (h(tr), len(tr))
json.dump(out, open(sys.argv[1], "w"), indent=1)
for k, v in out.items():
    print(f"{k:24s} {v[0]} {v[1]}")
