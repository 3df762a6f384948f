"""How many participants and scans detect a prediction-error effect in right TPJ?

Power by simulation (darkcontrol.neuro.power): regressors from a Q-learning agent's Trace on a
restless bandit (|rpe| at each 2-s choice, mean-centred, the paper's right-TPJ signal; Dohmatob,
Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, Figure 4); per participant an ROI signal
with beta ~ N(effect, subject_sd^2), AR(1) noise and drifts, fitted by the first-level GLM; a
one-sample t-test across participants. Power = share of simulated studies with p < alpha.

Prints the power table and the smallest group reaching 80 % power per scan count; writes CSV
and a PNG of the power curves.
"""

from __future__ import annotations

import sys
from pathlib import Path

from darkcontrol.clock import Clock
from darkcontrol.simulation import simulate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from script_args import parse, progress, script_parser, sized  # noqa: E402


def main(argv=None) -> int:
    p = script_parser(
        __doc__, out="power_analysis", quick="20 simulated studies of 8 or 16 x 150 scans"
    )
    p.add_argument(
        "--effect", type=float, default=0.5, help="population beta, %% signal (default 0.5)"
    )
    p.add_argument(
        "--subject-sd",
        type=float,
        default=0.5,
        help="between-participant sd of beta, %% signal (default 0.5)",
    )
    p.add_argument(
        "--noise-sd", type=float, default=1.0, help="ROI noise sd, %% signal (default 1)"
    )
    sized(p, "--participants", full="8,12,16,24,32,48", quick="8,16", type=str,
          help="group sizes, comma-separated")  # fmt: skip
    sized(p, "--scans", full="150,300,450", quick="150", type=str, help="run lengths in scans")
    sized(p, "--sims", full=300, quick=20, help="simulated studies per cell")
    p.add_argument("--tr", type=float, default=2.0, help="repetition time in s (default 2)")
    args = parse(p, argv)

    from darkcontrol.agents import make_agent
    from darkcontrol.neuro.design import DesignConfig
    from darkcontrol.neuro.events import trace_to_events
    from darkcontrol.neuro.power import PowerConfig, power_analysis, required_participants
    from darkcontrol.regions import RegionMap
    from darkcontrol.simulation import make_env

    scans = [int(s) for s in args.scans.split(",")]
    env = make_env("darkcontrol/RestlessBandit-v0")
    agent = make_agent("q_learning", env, seed=args.seed, policy="softmax", beta=3.0)
    n_trials = int(max(scans) * args.tr / 5.0) + 1
    simulate(
        env,
        agent,
        episodes=1,
        seeds=[args.seed],
        clock=Clock(trial_s=5.0, iti_s=0.0, offline_dt=0.0),
        max_steps=n_trials,
    )[1].runs[0]
    events = trace_to_events(
        agent.recorder.to_frame(),
        region_map=RegionMap.paper(),
        quantities=("rTPJ",),
        online_duration=2.0,
    )
    cfg = PowerConfig(
        effect=args.effect, subject_sd=args.subject_sd, noise_sd=args.noise_sd, n_sims=args.sims
    )
    table = power_analysis(
        events,
        "rTPJ",
        DesignConfig(t_r=args.tr, n_scans=max(scans)),
        n_participants=[int(n) for n in args.participants.split(",")],
        n_scans=scans,
        config=cfg,
        seed=args.seed,
        progress=progress(args),
    )
    print(table.round(3).to_string(index=False))
    print(required_participants(table, 0.8).to_string())

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from darkcontrol._util import atomic_write_text

    out = Path(args.out)
    atomic_write_text(out / "power.csv", table.to_csv(index=False))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for n_scans, g in table.groupby("n_scans"):
        ax.plot(g["n_participants"], g["power"], marker="o", label=f"{n_scans} scans")
        ax.fill_between(g["n_participants"], g["ci_low"], g["ci_high"], alpha=0.2)
    ax.axhline(0.8, color="grey", ls="--", lw=1)
    ax.set(xlabel="participants", ylabel="power", ylim=(0, 1), title="rTPJ |rpe| effect")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "power.png", dpi=100)
    print(f"wrote {out / 'power.csv'} and {out / 'power.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
