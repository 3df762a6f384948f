"""Parameter recovery (Wilson & Collins 2019, rule 5): simulate participants with known
parameters on the restless bandit (or the two-step task), fit them, correlate true and fitted.

    python scripts/parameter_recovery.py --model q_learning --participants 50 --out recovery
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from script_args import parse, progress, script_parser, sized  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = script_parser(__doc__, out="parameter_recovery", quick="8 participants x 60 trials")
    p.add_argument(
        "--model", default="q_learning", help="generating and fitted model (default q_learning)"
    )
    sized(p, "--participants", full=50, quick=8, help="simulated participants")
    sized(p, "--trials", full=200, quick=60, help="trials per participant")
    p.add_argument(
        "--method", choices=["mle", "map"], default="map", help="fit method (default map)"
    )
    sized(p, "--starts", full=5, quick=2, help="optimiser starts")
    p.add_argument("--env", default=None, help="environment id (default: the task's)")
    p.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    args = parse(p, argv)

    from darkcontrol import __version__
    from darkcontrol._util import atomic_write_text
    from darkcontrol.neuro.fitting import FitConfig
    from darkcontrol.neuro.recovery import parameter_recovery, plot_parameter_recovery

    res = parameter_recovery(
        args.model,
        args.participants,
        n_trials=args.trials,
        fit_config=FitConfig(method=args.method, starts=args.starts, seed=args.seed),
        seed=args.seed,
        env_id=args.env,
        progress=progress(args),
        n_jobs=args.jobs,
    )
    out = Path(args.out)
    print(
        f"parameter recovery of {args.model}: {args.participants} participants x "
        f"{args.trials} trials, {args.method.upper()}"
    )
    print(res.stats.round(3).to_string())
    png = plot_parameter_recovery(res, out / f"parameter_recovery_{args.model}.png")
    table = res.true.add_prefix("true_").join(res.fitted.add_prefix("fit_"))
    atomic_write_text(out / "parameters.tsv", table.to_csv(sep="\t", index=False))
    meta = {"darkcontrol_version": __version__, "args": vars(args), "stats": res.stats.to_dict()}
    atomic_write_text(out / "parameter_recovery.json", json.dumps(meta, indent=2))
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
