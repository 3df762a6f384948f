"""Speed of the one runner: q_learning on DynaMaze, agent-steps per CPU second (best of 5).

``loop``: the episode loop alone (``darkcontrol.simulation._run_episodes``); ``simulate()``:
end to end, Trace frame included. The clock is the old plain-agent one (no ITI, offline steps
50 ms apart), so the work is the same as before issue 11. CPU time (``time.process_time``), not
wall time, because the machine is shared.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_runner.py

To compare with the tree before issue 11 (commit 9e1cfff), extract it and put it first on the
path with the agents/envs/neuro folders linked under darkcontrol/ (the package-dir layout):

    git archive 9e1cfff | tar -x -C /tmp/old/src; cp -r /tmp/old/src/darkcontrol /tmp/old/pkg/
    for d in agents envs neuro; do ln -s /tmp/old/src/$d /tmp/old/pkg/darkcontrol/$d; done
    PYTHONPATH=/tmp/old/pkg .venv/bin/python benchmarks/bench_runner.py   # (run from /tmp)
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import darkcontrol.simulation as sim  # noqa: E402
from darkcontrol.agents import make_agent  # noqa: E402

NEW = "schedule" in sim.simulate.__code__.co_varnames
EPISODES = 300


def loop() -> float:
    env = sim.make_env("darkcontrol/DynaMaze-v0")
    agent = make_agent("q_learning", env, seed=0)
    t = time.process_time()
    if NEW:
        from darkcontrol.clock import Clock

        log = sim._run_episodes(agent, env, EPISODES, 0, None, Clock(iti_s=0.0, offline_dt=0.05))
    else:  # the API before issue 11
        from darkcontrol.agents import run_episodes

        log = run_episodes(agent, env, EPISODES, seed=0, offline_dt=0.05)
    return sum(log.lengths) / (time.process_time() - t)


def full() -> float:
    t = time.process_time()
    if NEW:
        clock = {"iti_s": 0.0, "offline_dt": 0.05}
        trace, _ = sim.simulate(
            "darkcontrol/DynaMaze-v0", "q_learning", episodes=EPISODES, clock=clock
        )
    else:
        trace, _ = sim.simulate("darkcontrol/DynaMaze-v0", "q_learning", episodes=EPISODES)
    return len(trace) / (time.process_time() - t)


if __name__ == "__main__":
    a, b = max(loop() for _ in range(5)), max(full() for _ in range(5))
    when = "after" if NEW else "before"
    print(f"{when} issue 11: loop {a / 1e3:.1f} k/s, simulate() {b / 1e3:.1f} k/s")
