"""The paper's node hypotheses on simulated region time series: rTPJ, vmPFC and PMC.

Claims (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, §5, with the map of
Figure 4): the right TPJ signal (prediction error |Q(s, a) - y|) relates to policy changes; the
vmPFC signal (the value Q(s, a)) relates to changes of value estimates; the PMC signal (the
update ||delta theta||) relates to both.

Study: DMN agents (``account="full"``, softmax Q-learning inside, ``record_changes=True``) run a
blocked design (task blocks of trials with 1-s ITIs, rest blocks) in a 5x5 open field. The
paper's region map (``darkcontrol.regions.RegionMap.paper()``) turns each Trace into one time
series per node (TR = 2 s bins); the DMN's change log gives, per bin, the summed policy change
(total variation of pi(.|s) across each update) and value change (|Delta max_a Q(s, .)|).
Correlations are computed per agent (seed) over the bins from its first value change on (before
the first reward every signal is flat); we report their mean and 95% t-interval across seeds,
and, as a check of specificity, partial correlations (each controlling for the other change).

Prints: the mean correlation and its CI for rTPJ~policy, vmPFC~value, PMC~policy, PMC~value,
the cross pairs, and the partial correlations.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dmn_common import mean_ci, parser, save, seeds_of  # noqa: E402

import darkcontrol.envs  # noqa: E402, F401  (registers the environments)
from darkcontrol.clock import Schedule
from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.regions import RegionMap  # noqa: E402
from darkcontrol.simulation import simulate

TR = 2.0
HYPOTHESES = (("rTPJ", "policy"), ("vmPFC", "value"), ("PMC", "policy"), ("PMC", "value"))
CROSS = (("rTPJ", "value"), ("vmPFC", "policy"))
CHANGES = RegionMap.from_dict(
    {
        "policy": {"column": "policy_change", "agg": "sum"},
        "value": {"column": "value_change", "transform": "abs", "agg": "sum"},
    }
)


def series(seed: int, n_blocks: int, size: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Region time series and change regressors (one row per TR) of one simulated agent."""
    env = gym.make("darkcontrol/OpenField-v0", n_rows=size, n_cols=size)
    dmn = DMNAgent(
        "q_learning",
        env,
        account="full",
        seed=seed,
        record_changes=True,
        agent_policy="softmax",
        agent_beta=5.0,
    )
    sched = Schedule.blocked(n_blocks, task_s=60, rest_s=20, trial_s=1.0, iti_s=1.0)
    trace, _ = simulate(env, dmn, schedule=sched, seeds=[seed])
    regions = RegionMap.paper().time_series(trace, dt=TR, t_max=sched.duration)
    log = dmn.change_log()
    log["run"] = 0
    log["phase"] = pd.Categorical(log["phase"], categories=["online", "offline"])
    changes = CHANGES.time_series(log, dt=TR, t_max=sched.duration)
    # before the first reward nothing is learnt and every signal is flat: leave it out, or it
    # would make any two signals correlate
    moved = np.flatnonzero(changes["value"].to_numpy() > 0)
    if len(moved) == 0:
        raise RuntimeError(f"seed {seed}: the agent never learnt anything; run more blocks")
    return regions.iloc[moved[0] :], changes.iloc[moved[0] :]


def partial(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Correlation of x and y after regressing z out of both."""
    Z = np.column_stack([np.ones_like(z), z])

    def resid(v):
        return v - Z @ np.linalg.lstsq(Z, v, rcond=None)[0]

    return float(np.corrcoef(resid(x), resid(y))[0, 1])


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    seeds = seeds_of(args)
    n_blocks, size = (4, 4) if args.quick else (8, 5)
    rows = []
    for s in seeds:
        reg, ch = series(s, n_blocks, size)
        row = {}
        for node, change in HYPOTHESES + CROSS:
            row[f"{node}~{change}"] = float(np.corrcoef(reg[node], ch[change])[0, 1])
        row["rTPJ~policy|value"] = partial(
            reg["rTPJ"].values, ch["policy"].values, ch["value"].values
        )
        row["vmPFC~value|policy"] = partial(
            reg["vmPFC"].values, ch["value"].values, ch["policy"].values
        )
        row["policy~value"] = float(np.corrcoef(ch["policy"], ch["value"])[0, 1])
        rows.append(row)
    table = pd.DataFrame(rows)
    m, ci = mean_ci(table.to_numpy())
    numbers = {k: {"mean": float(a), "ci95": float(b)} for k, a, b in zip(table.columns, m, ci)}
    print(
        f"node hypotheses: correlations across TR = {TR} s bins, {len(seeds)} agents "
        "(mean [95% CI])"
    )
    for k, v in numbers.items():
        tag = "hypothesis" if tuple(k.split("~")) in HYPOTHESES else ""
        print(
            f"  {k:>20}: {v['mean']:+.3f} [{v['mean'] - v['ci95']:+.3f}, "
            f"{v['mean'] + v['ci95']:+.3f}] {tag}"
        )

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 1.4]})
    keys = [f"{n}~{c}" for n, c in HYPOTHESES + CROSS]
    colors = ["C0"] * len(HYPOTHESES) + ["C7"] * len(CROSS)
    ax1.bar(
        range(len(keys)),
        [numbers[k]["mean"] for k in keys],
        yerr=[numbers[k]["ci95"] for k in keys],
        color=colors,
        capsize=3,
    )
    ax1.set_xticks(range(len(keys)), keys, rotation=30, ha="right", fontsize=8)
    ax1.axhline(0, color="k", lw=0.5)
    ax1.set(ylabel="correlation across TRs", title="hypotheses (blue) and cross pairs (grey)")
    reg, ch = series(seeds[0], n_blocks, size)
    t = reg.index.to_numpy(dtype=float)
    for name, y, color in (
        ("rTPJ", reg["rTPJ"], "C1"),
        ("vmPFC", reg["vmPFC"], "C2"),
        ("PMC", reg["PMC"], "C0"),
        ("policy change", ch["policy"], "k"),
    ):
        y = np.asarray(y, dtype=float)
        ax2.plot(t, (y - y.mean()) / (y.std() or 1.0), label=name, color=color, lw=0.8)
    ax2.set(xlabel="time (s)", ylabel="z-score", title=f"one agent (seed {seeds[0]})")
    ax2.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    config = {
        "seeds": seeds,
        "n_blocks": n_blocks,
        "tr": TR,
        "env": f"OpenField-v0 {size}x{size}",
        "account": "full",
        "policy": "softmax",
        "beta": 5.0,
    }
    png = save(fig, Path(args.out), "dmn_node_hypotheses", numbers, config)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
