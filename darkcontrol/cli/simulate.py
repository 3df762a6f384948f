"""``darkcontrol simulate``: run agents on a registered environment and write their Trace."""

from __future__ import annotations

import argparse
import sys

HELP = """Run an agent on a registered environment for N episodes and K seeds, and write the Trace
(one row per online or offline computation step; one `run` per seed) as Parquet, with the
configuration and package version in its metadata.

examples:
  darkcontrol simulate --env darkcontrol/DynaMaze-v0 --agent dyna_q --set n_planning=50 \\
      --episodes 50 --seeds 5 --out trace.parquet
  darkcontrol simulate --list
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "simulate",
        help="run agents on an environment, write the Trace as Parquet",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--env", default="darkcontrol/DynaMaze-v0", help="registered environment id")
    p.add_argument("--agent", default="q_learning", help="agent name (see --list)")
    p.add_argument(
        "--set",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="agent hyper-parameter, repeatable (e.g. --set alpha=0.1 --set gamma=0.95)",
    )
    p.add_argument(
        "--env-set",
        dest="env_params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment keyword argument, repeatable",
    )
    p.add_argument("--episodes", type=int, default=50, help="episodes per seed (default 50)")
    p.add_argument("--seeds", type=int, default=1, help="number of seeds = runs (default 1)")
    p.add_argument("--first-seed", type=int, default=0, help="seed of run 0 (default 0)")
    p.add_argument("--max-steps", type=int, default=None, help="truncate episodes at this length")
    p.add_argument(
        "--record",
        choices=["full", "summary", "online"],
        default="full",
        help="full: every offline row; summary: one row per offline burst; online: none",
    )
    p.add_argument(
        "--trial-duration",
        type=float,
        default=1.0,
        help="seconds per trial (one real step) on the Trace's clock (default 1.0)",
    )
    p.add_argument(
        "--iti",
        type=float,
        default=1.0,
        help="seconds of the inter-trial interval after each trial, offline (default 1.0)",
    )
    p.add_argument(
        "--rest",
        type=float,
        default=0.0,
        help="offline seconds between episodes (default 0)",
    )
    p.add_argument(
        "--offline-dt",
        type=float,
        default=None,
        help="seconds between offline steps (default: spread evenly over each window)",
    )
    p.add_argument("--out", default="trace.parquet", help="output Parquet file")
    p.add_argument("--list", action="store_true", help="list environments and agents, then exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args) -> int:
    from darkcontrol.simulation import available_agents, available_envs, simulate

    if args.list:
        print("environments:\n  " + "\n  ".join(available_envs()))
        print("agents:\n  " + "\n  ".join(available_agents()))
        return 0
    from darkcontrol._util import parse_assignments
    from darkcontrol.clock import Clock

    clock = Clock(args.trial_duration, args.iti, args.rest, args.offline_dt)
    trace, summary = simulate(
        args.env,
        args.agent,
        env_params=parse_assignments(args.env_params),
        episodes=args.episodes,
        seeds=args.seeds,
        first_seed=args.first_seed,
        max_steps=args.max_steps,
        record=args.record,
        clock=clock,
        out=args.out,
        progress=not args.quiet and sys.stderr.isatty(),
        **parse_assignments(args.params),
    )
    print(summary)
    return 0
