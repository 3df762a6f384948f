"""``darkcontrol fit``: fit a behavioural model to participants' choices (parse, call, print).

The work is :func:`darkcontrol.neuro.fitrun.run_fit`; reading is
:func:`darkcontrol.neuro.behavior.read_behaviors`."""

from __future__ import annotations

import argparse

HELP = """Fit a learning model to each participant's choices and replay the fitted agent over
the participant's own history. Inputs, any mix of:

  a long table (.csv or .tsv) with one row per trial and a subject column (--columns
      subject=subjID), as hBayesDM and most task software export them;
  BIDS events.tsv files, one per participant (label from the sub-XX entity);
  a BIDS dataset folder (its sub-*/[ses-*/]func/*_events.tsv; --bids-task to pick a task).

Columns are named by role with --columns ROLE=NAME (roles: subject, onset, duration, state,
choice, outcome, state2, choice2, onset2, next_state, terminated, episode, trial_type).
Onsets are optional for behaviour-only fits (time = trial index). Choices are 0-based unless
--choice-base 1; the number of actions is read from the data (largest choice + 1 over all
participants) unless --n-actions. Two-step tables: first-stage choice + either state2 (1/2)
and choice2 (two options), or choice2 alone coding the four second-stage options (base 1:
1, 2 = the choices in state 1; 3, 4 = those in state 2); the common-transition share is
printed as a check (first-stage action a commonly leads to state a + 1).

Outputs in --out (refused if it holds a fit, unless --resume or --force):

  participants/<sub>_fit.json  each participant's fit, written as soon as it is done
  fits.tsv       one row per participant: parameters, SEs on the natural scale (delta method,
                 se_<p>) and unbounded scale (se_u_<p>), at_bound_<p> (lower/upper/no), NLL,
                 AIC, BIC, converged, n_at_best (starts reaching the best optimum) of n_starts
  fit.json       configuration, version, per-participant fits (group prior, iBIC if EM)
  trialwise.parquet / .tsv  the fitted agents' trial-wise Traces (run = participant index)

A killed fit resumes with --resume: finished participants are read back, not refitted. If
only the trial-wise traces fail (e.g. a two-step file without onset2), the fits stay on disk
and rerunning with --resume (and the fix, e.g. --stage2-delay) writes the rest.

examples:
  darkcontrol fit bandit.csv --columns subject=subjID,choice=choice,outcome=outcome \\
      --choice-base 1 --agent q_learning --out fits/
  darkcontrol fit twostep.csv --columns subject=subj,choice=stage1,choice2=stage2 \\
      --choice-base 1 --agent two_step_hybrid --out ts/
  darkcontrol fit sub-*_task-bandit_events.tsv --agent q_persev --hierarchical --out group/
  darkcontrol fit bids_dataset/ --bids-task bandit --agent q_learning --out fits/ --resume
  darkcontrol fit --list
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fit",
        help="fit learning models to participants' choices (long tables, events.tsv, BIDS)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "inputs", nargs="*", metavar="TABLE", help="long tables, events.tsv files, BIDS folders"
    )
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
        metavar="ROLE=NAME[,ROLE=NAME]",
        help="column of a role, repeatable or comma-separated (e.g. subject=subjID,choice=resp)",
    )
    p.add_argument(
        "--choice-base",
        type=int,
        choices=[0, 1],
        default=None,
        help="code of the first action: 0 (default) or 1 (choices 1..K)",
    )
    p.add_argument(
        "--two-step-coding",
        choices=["auto", "state2", "option"],
        default="auto",
        help="two-step second stage: state2 + choice2, or choice2 alone as 4 options "
        "(default auto: state2 if that column exists)",
    )
    p.add_argument("--bids-task", default=None, help="BIDS folders: only task-<NAME> files")
    p.add_argument("--n-actions", type=int, default=None, help="size of the action set")
    p.add_argument("--n-states", type=int, default=None, help="number of states (navigation)")
    p.add_argument("--trial-type", default=None, help="only rows with this trial_type are trials")
    p.add_argument("--allow-missed", action="store_true", help="n/a choices are missed trials")
    p.add_argument("--method", choices=["mle", "map"], default="mle", help="default: mle")
    p.add_argument("--starts", type=int, default=10, help="optimiser starts (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random starts (default 0)")
    p.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="hold a parameter fixed, repeatable (e.g. --fix gamma=0.9)",
    )
    p.add_argument("--hierarchical", action="store_true", help="EM fit with a group prior")
    p.add_argument(
        "--stage2-delay", type=float, default=None, help="two-step without onset2: seconds"
    )
    p.add_argument("--jobs", type=int, default=1, help="processes for per-participant fits")
    p.add_argument("--out", default="fit_output", help="output folder (default fit_output)")
    p.add_argument("--resume", action="store_true", help="finish a killed or failed fit in --out")
    p.add_argument("--force", action="store_true", help="replace a previous fit in --out")
    p.add_argument("--list", action="store_true", help="list models per task, then exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar (stderr)")
    p.set_defaults(run=run)


def _assignments(items: list[str], flag: str) -> dict[str, str | None]:
    """ROLE=NAME pairs from repeated and comma-separated items (kept local and simple)."""
    out: dict[str, str | None] = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ValueError(f"{flag} expects ROLE=NAME, got {part!r}")
            role, name = (x.strip() for x in part.split("=", 1))
            if role in out:
                raise ValueError(f"{flag}: role {role!r} given twice ({out[role]!r}, {name!r})")
            out[role] = name or None
    return out


def _list_models() -> int:
    from darkcontrol.neuro.likelihood import MODELS, make_model, model_task

    for task in ("bandit", "two_step", "navigation"):
        print(f"{task}:")
        for n in (n for n in MODELS if model_task(n) == task):
            m = make_model(n)
            fixed = f"  fixed {m.fixed}" if m.fixed else ""
            print(f"  {n:<15} {', '.join(m.free_names)}{fixed}")
    return 0


def run(args) -> int:
    if args.list:
        return _list_models()
    if not args.inputs:
        raise ValueError("give at least one behaviour table, events.tsv or BIDS folder (or --list)")
    from darkcontrol.cli._args import parse_settings, show_progress
    from darkcontrol.neuro.behavior import EventColumns
    from darkcontrol.neuro.fitrun import run_fit
    from darkcontrol.neuro.fitting import FitConfig

    read = {
        "columns": EventColumns.from_mapping(_assignments(args.columns, "--columns")),
        "n_actions": args.n_actions,
        "n_states": args.n_states,
        "trial_type": args.trial_type,
        "allow_missed": args.allow_missed,
        "choice_base": args.choice_base,
        "two_step_coding": args.two_step_coding,
        "bids_task": args.bids_task,
    }
    run_ = run_fit(
        args.inputs,
        args.agent,
        args.out,
        task=args.task,
        read=read,
        fit_config=FitConfig(method=args.method, starts=args.starts, seed=args.seed),
        fixed=parse_settings(args.fix, flag="--fix") or None,
        hierarchical=args.hierarchical,
        stage2_delay=args.stage2_delay,
        resume=args.resume,
        force=args.force,
        n_jobs=args.jobs,
        progress=show_progress(args),
        record={"inputs": [str(x) for x in args.inputs]},
        on_read=print,
    )
    if run_.reused:
        print(f"resumed: {len(run_.reused)} participant(s) read back, not refitted")
    table = run_.table()
    show = ["participant", *run_.model.free_names, "nll", "bic", "converged", "n_at_best"]
    flagged = [c for c in table.columns if c.startswith("at_bound_")]
    n_bound = int((table[flagged] != "no").to_numpy().sum()) if flagged else 0
    print(table[show].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if n_bound:
        print(f"{n_bound} parameter estimate(s) at a bound (at_bound_* in fits.tsv; SE n/a)")
    if run_.hierarchical is not None:
        h = run_.hierarchical
        print(f"group medians {h.group_params}; iBIC {h.ibic:.2f} ({h.n_iter} EM iterations)")
    print(f"wrote {args.out}/fits.tsv, fit.json, trialwise.parquet, trialwise.tsv, participants/")
    return 0
