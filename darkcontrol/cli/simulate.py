"""``darkcontrol simulate``: run agents on a registered environment and write their Trace."""

from __future__ import annotations

import argparse

from darkcontrol.cli._args import (
    UsageError,
    add_force,
    add_quiet,
    add_set,
    int_at_least,
    parse_settings,
    positive_float,
    refuse_overwrite,
    show_progress,
)

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
    add_set(p, help="agent hyper-parameter, repeatable (e.g. --set alpha=0.1 --set gamma=0.95)")
    add_set(p, "--env-set", "env_params", help="environment keyword argument, repeatable")
    p.add_argument(
        "--episodes", type=int_at_least(1), default=50, help="episodes per seed (default 50)"
    )
    p.add_argument(
        "--seeds", type=int_at_least(1), default=1, help="number of seeds = runs (default 1)"
    )
    p.add_argument("--first-seed", type=int_at_least(0), default=0, help="seed of run 0")
    p.add_argument(
        "--max-steps",
        type=int_at_least(1),
        default=None,
        help="truncate episodes at this length (>= 1; default: the environment's limit)",
    )
    p.add_argument(
        "--record",
        choices=["full", "summary", "online"],
        default="full",
        help="full: every offline row; summary: one row per offline burst; online: none",
    )
    p.add_argument(
        "--trial-duration",
        type=positive_float,
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
    add_force(p, "--out file")
    p.add_argument("--list", action="store_true", help="list environments and agents, then exit")
    add_quiet(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from darkcontrol.simulation import available_agents, available_envs, simulate

    if args.list:
        print("environments:\n  " + "\n  ".join(available_envs()))
        print("agents:\n  " + "\n  ".join(available_agents()))
        return 0
    if args.agent not in available_agents():
        raise UsageError(f"unknown agent {args.agent!r}; available: {available_agents()}")
    if args.env not in available_envs():
        import gymnasium as gym

        if args.env not in gym.registry:
            raise UsageError(
                f"unknown environment {args.env!r}; darkcontrol's are: "
                + ", ".join(available_envs())
            )
    if not str(args.out).endswith(".parquet"):
        raise UsageError(f"--out must be a .parquet file, got {args.out!r}")
    refuse_overwrite([args.out], args.force)
    from darkcontrol.agents import agent_class
    from darkcontrol.clock import Clock

    # a wrapper (the DMN) splits its keys between itself and its learner: no single target
    cls = agent_class(args.agent)
    target = None if cls.wraps_learner else cls.Config
    clock = Clock(args.trial_duration, args.iti, args.rest, args.offline_dt)
    trace, summary = simulate(
        args.env,
        args.agent,
        env_params=parse_settings(args.env_params, flag="--env-set"),
        episodes=args.episodes,
        seeds=args.seeds,
        first_seed=args.first_seed,
        max_steps=args.max_steps,
        record=args.record,
        clock=clock,
        out=args.out,
        progress=show_progress(args),
        **parse_settings(args.params, target),
    )
    print(summary)
    return 0
