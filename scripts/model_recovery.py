"""Model recovery (Wilson & Collins 2019, rule 6): simulate participants from each candidate
model, fit every model to every participant, and tabulate which model BIC (or AIC) picks.

    python scripts/model_recovery.py --models random wsls q_learning q_persev --out recovery
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from script_args import parse, progress, script_parser, sized  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = script_parser(__doc__, out="model_recovery", quick="3 participants per model x 60 trials")
    p.add_argument(
        "--models",
        nargs="+",
        default=["random", "wsls", "q_learning", "q_persev"],
        help="candidate models (all for one task)",
    )
    sized(p, "--per-model", full=30, quick=3, help="participants per model")
    sized(p, "--trials", full=200, quick=60, help="trials per participant")
    p.add_argument(
        "--criterion", choices=["bic", "aic"], default="bic", help="model choice (default bic)"
    )
    sized(p, "--starts", full=3, quick=2, help="optimiser starts")
    p.add_argument("--n-arms", type=int, default=4, help="arms of the restless bandit (4)")
    p.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    args = parse(p, argv)

    from darkcontrol import __version__
    from darkcontrol._util import atomic_write_text
    from darkcontrol.neuro.fitting import FitConfig
    from darkcontrol.neuro.likelihood import make_model, model_task
    from darkcontrol.neuro.recovery import model_recovery, plot_confusion

    tasks = {model_task(m) for m in args.models}
    bandit = tasks == {"bandit"}
    models = [
        make_model(m, n_actions=args.n_arms) if m == "random" and bandit else make_model(m)
        for m in args.models
    ]
    res = model_recovery(
        models,
        args.per_model,
        n_trials=args.trials,
        criterion=args.criterion,
        fit_config=FitConfig(starts=args.starts, seed=args.seed, hessian=False),
        seed=args.seed,
        env_kwargs={"n_arms": args.n_arms} if bandit else None,
        progress=progress(args),
        n_jobs=args.jobs,
    )
    out = Path(args.out)
    print(f"model recovery by {args.criterion.upper()}: {args.per_model} participants per model")
    print("counts (rows: generating, columns: chosen)")
    print(res.confusion.to_string())
    print(f"accuracy {res.accuracy:.3f}")
    png = plot_confusion(res, out / "model_recovery.png")
    atomic_write_text(out / "fits.tsv", res.table.to_csv(sep="\t", index=False))
    meta = {
        "darkcontrol_version": __version__,
        "args": vars(args),
        "confusion": res.confusion.to_dict(),
        "accuracy": res.accuracy,
    }
    atomic_write_text(out / "model_recovery.json", json.dumps(meta, indent=2))
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
