"""Model-based fMRI on simulated participants, from events.tsv files to an HTML report.

Each simulated participant plays a 4-armed restless bandit (Daw et al. 2006) as a Q-learner
with their own learning rate and inverse temperature; their behaviour is written as BIDS
``sub-XX_task-bandit_events.tsv``. Synthetic BOLD (MNI space, 6 mm) carries planted effects of
the *true* agent's quantities: the chosen value ``q`` in vmPFC and the reward-prediction error
``rpe`` in right TPJ, as the paper's map says (Dohmatob, Dumas & Bzdok 2020, Figure 4).

The pipeline then sees only the events files and the images: it fits the model to each
participant's choices, replays the fitted agent over their history, builds parametric-
modulator regressors, fits ROI and voxelwise GLMs and writes ``report.html``. The planted
effects should come out at their nodes and nowhere else.

    python scripts/model_based_fmri.py --out fmri_demo --participants 6 --seed 0
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from script_args import parse, progress, script_parser, sized  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = script_parser(
        __doc__, out="model_based_fmri", quick="3 participants x 60 trials, 2 starts, ROI only"
    )
    sized(p, "--participants", full=6, quick=3, help="number of participants")
    sized(p, "--trials", full=150, quick=60, help="trials per participant")
    p.add_argument("--t-r", type=float, default=2.0, help="repetition time in s (default 2)")
    p.add_argument(
        "--effect", type=float, default=1.5, help="planted effect, %% signal change (default 1.5)"
    )
    sized(p, "--starts", full=5, quick=2, help="optimiser starts per participant")
    p.add_argument(
        "--no-voxelwise", action="store_true", help="ROI tables only (faster; set by --quick)"
    )
    args = parse(p, argv)
    if args.quick:
        args.no_voxelwise = True

    import gymnasium as gym

    import darkcontrol.envs  # noqa: F401
    from darkcontrol.neuro.behavior import write_events
    from darkcontrol.neuro.design import DesignConfig, load_confounds, make_design
    from darkcontrol.neuro.events import EventsConfig, trace_to_events
    from darkcontrol.neuro.likelihood import make_model
    from darkcontrol.neuro.pipeline import PipelineConfig, run_pipeline, trialwise_trace
    from darkcontrol.neuro.synthetic import SyntheticConfig, simulate_bold

    out = Path(args.out)
    bids = out / "bids"
    rng = np.random.default_rng(args.seed)
    model = make_model("q_learning")
    planted = {"vmPFC": {"q": args.effect}, "rTPJ": {"rpe": args.effect}}
    events_paths, imgs, confounds, truth = [], [], [], []
    mask = atlas = None
    bars = progress(args)
    print(f"simulating {args.participants} participants x {args.trials} trials ...")
    for i in range(args.participants):
        label = f"sub-{i + 1:02d}"
        params = {"alpha": float(rng.uniform(0.2, 0.8)), "beta": float(rng.uniform(2.0, 8.0))}
        env = gym.make("darkcontrol/RestlessBandit-v0")
        behavior = model.simulate(
            params, env, n_trials=args.trials, seed=int(rng.integers(2**31)), participant=label
        )
        path = write_events(behavior, bids / label / "func" / f"{label}_task-bandit_events.tsv")
        events_paths.append(path)
        truth.append({"participant": label, **params})
        # the brain follows the TRUE agent; the analysis will only see the events file
        true_trace = trialwise_trace(model, params, behavior)
        n_scans = int(math.ceil((behavior.onset[-1] + 24.0) / args.t_r))
        ev = trace_to_events(true_trace, EventsConfig(quantities=("q", "rpe")))
        design = make_design(ev, DesignConfig(t_r=args.t_r, n_scans=n_scans))
        sim = simulate_bold(
            design,
            planted,
            SyntheticConfig(t_r=args.t_r, n_scans=n_scans),
            atlas=atlas,
            mask_img=mask,
            seed=int(rng.integers(2**31)),
        )
        mask, atlas = sim.mask_img, sim.atlas
        imgs.append(sim.img)
        confounds.append(load_confounds(sim.confounds, "motion6", nan="fill_first_row"))
    config = PipelineConfig(
        model="q_learning",
        task="bandit",
        method="map",
        starts=args.starts,
        seed=args.seed,
        compare=("wsls", "q_persev"),
        quantities=("q", "rpe"),
        t_r=args.t_r,
        voxelwise=not args.no_voxelwise,
        n_actions=4,
    )
    print("fitting, replaying, GLM ...")
    result = run_pipeline(
        events_paths,
        imgs,
        config,
        mask_img=mask,
        atlas=atlas,
        confounds=confounds,
        out=out,
        progress=bars,
    )
    import pandas as pd

    fitted = result.fits.table()[["participant", "alpha", "beta"]]
    print("\ntrue vs fitted parameters:")
    print(pd.DataFrame(truth).merge(fitted, on="participant", suffixes=("_true", "_fit")))
    print("\nmodel comparison (sum over participants):")
    print(result.comparison.to_string(index=False))
    group = result.study.roi_group
    if group is not None:
        print("\nROI group t (planted: vmPFC <- q, rTPJ <- rpe):")
        print(group.pivot(index="roi", columns="regressor", values="t").round(2))
    print(f"\nreport: {result.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
