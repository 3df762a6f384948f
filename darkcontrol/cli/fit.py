"""``darkcontrol fit``: fit a behavioural model to participants' events.tsv files."""

from __future__ import annotations

import argparse
import sys

HELP = """Fit a learning model to each participant's choices (BIDS events.tsv, one file per
participant), replay the fitted agent over the participant's own history, and write:

  fits.tsv               one row per participant: parameters, NLL, AIC, BIC, convergence
  trialwise.parquet      the trial-wise Trace (q, rpe, choice_prob, ...; run = participant)
  trialwise.tsv          the same, as TSV
  fit.json               configuration, darkcontrol version, per-participant fits (and the
                         group prior and iBIC with --hierarchical)

Column names are configurable: --columns choice=response --columns outcome=reward.

examples:
  darkcontrol fit sub-*_task-bandit_events.tsv --agent q_learning --n-actions 4 --out fits/
  darkcontrol fit sub-01_events.tsv --task two_step --agent two_step_hybrid --method map
  darkcontrol fit sub-*_events.tsv --agent q_persev --hierarchical --out group/
  darkcontrol fit --list
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fit",
        help="fit learning models to participants' choices (events.tsv), write trial-wise Traces",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("events", nargs="*", help="BIDS events.tsv files, one per participant")
    p.add_argument("--agent", default="q_learning", help="model name (see --list)")
    p.add_argument(
        "--task",
        choices=["bandit", "two_step", "navigation"],
        default=None,
        help="task kind (default: the model's task)",
    )
    p.add_argument(
        "--columns",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="events column of a role (onset, choice, outcome, state, state2, choice2, ...)",
    )
    p.add_argument("--n-actions", type=int, default=None, help="size of the action set")
    p.add_argument("--n-states", type=int, default=None, help="number of states (navigation)")
    p.add_argument("--trial-type", default=None, help="only rows with this trial_type are trials")
    p.add_argument("--allow-missed", action="store_true", help="n/a choices are missed trials")
    p.add_argument("--method", choices=["mle", "map"], default="mle", help="default: mle")
    p.add_argument("--starts", type=int, default=10, help="optimiser starts (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random starts")
    p.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="hold a parameter fixed, repeatable (e.g. --fix gamma=0.9)",
    )
    p.add_argument("--hierarchical", action="store_true", help="EM fit with a group prior")
    p.add_argument("--stage2-delay", type=float, default=None, help="two-step without onset2")
    p.add_argument("--jobs", type=int, default=1, help="processes for per-participant fits")
    p.add_argument("--out", default="fit_output", help="output folder")
    p.add_argument("--list", action="store_true", help="list models per task, then exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args) -> int:
    from darkcontrol.neuro.likelihood import MODELS, make_model, model_task

    if args.list:
        for task in ("bandit", "two_step", "navigation"):
            names = [n for n in MODELS if model_task(n) == task]
            print(f"{task}:")
            for n in names:
                m = make_model(n)
                fixed = f"  fixed {m.fixed}" if m.fixed else ""
                print(f"  {n:<15} {', '.join(m.free_names)}{fixed}")
        return 0
    if not args.events:
        raise ValueError("give at least one events.tsv file (or --list)")
    import json
    from dataclasses import asdict
    from pathlib import Path

    import pandas as pd

    from darkcontrol import __version__
    from darkcontrol._util import atomic_write_text, parse_assignments
    from darkcontrol.neuro.behavior import EventColumns, read_events
    from darkcontrol.neuro.fitting import FitConfig
    from darkcontrol.neuro.pipeline import fit_behaviors
    from darkcontrol.trace import coerce_trace, write_trace

    task = args.task or model_task(args.agent)
    columns = {}
    for item in args.columns:
        if "=" not in item:
            raise ValueError(f"--columns expects ROLE=NAME, got {item!r}")
        role, name = item.split("=", 1)
        columns[role.strip()] = name.strip() or None
    if model_task(args.agent) != task:
        raise ValueError(
            f"model {args.agent!r} is for the {model_task(args.agent)} task, not {task}"
        )
    behaviors = [
        read_events(
            path,
            task,
            columns=EventColumns.from_mapping(columns),
            n_actions=args.n_actions,
            n_states=args.n_states,
            trial_type=args.trial_type,
            allow_missed=args.allow_missed,
        )
        for path in args.events
    ]
    fixed = parse_assignments(args.fix) or None
    options = {"n_actions": behaviors[0].n_actions} if args.agent == "random" else {}
    model = make_model(args.agent, fixed=fixed, **options)
    labels = [b.participant for b in behaviors]
    if len(set(labels)) != len(labels):
        for i, b in enumerate(behaviors):  # keep rows distinguishable
            b.participant = f"{b.participant}#{i}"
    fit_cfg = FitConfig(method=args.method, starts=args.starts, seed=args.seed)
    progress = not args.quiet and sys.stderr.isatty()
    fits = fit_behaviors(
        model,
        behaviors,
        fit_cfg,
        hierarchical=args.hierarchical,
        progress=progress,
        n_jobs=args.jobs,
    )
    traces = fits.traces(behaviors, stage2_delay=args.stage2_delay)
    trace = coerce_trace(pd.concat(traces, ignore_index=True))
    out = Path(args.out)
    table = fits.table()
    table.insert(1, "events", [str(p) for p in args.events])
    config = {
        "agent": args.agent,
        "task": task,
        "model": model.describe(),
        "columns": asdict(EventColumns.from_mapping(columns)),
        "n_actions": args.n_actions,
        "n_states": args.n_states,
        "trial_type": args.trial_type,
        "allow_missed": args.allow_missed,
        "fit": asdict(fit_cfg),
        "hierarchical": args.hierarchical,
        "events": [str(p) for p in args.events],
    }
    tsv = table.to_csv(sep="\t", index=False, na_rep="n/a", lineterminator="\n")
    atomic_write_text(out / "fits.tsv", tsv)
    write_trace(trace, out / "trialwise.parquet", config)
    atomic_write_text(
        out / "trialwise.tsv",
        trace.to_csv(sep="\t", index=False, na_rep="n/a", lineterminator="\n"),
    )
    meta = {
        "darkcontrol_version": __version__,
        "config": config,
        "fits": [f.to_json() for f in fits.fits],
    }
    if fits.hierarchical is not None:
        meta["group"] = fits.hierarchical.summary()
    atomic_write_text(out / "fit.json", json.dumps(meta, indent=2, default=str))
    show = ["participant", *model.free_names, "nll", "bic", "converged", "n_at_best"]
    print(table[show].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if fits.hierarchical is not None:
        h = fits.hierarchical
        print(f"group medians {h.group_params}; iBIC {h.ibic:.2f} ({h.n_iter} EM iterations)")
    print(f"wrote {out}/fits.tsv, trialwise.parquet, trialwise.tsv, fit.json")
    return 0
