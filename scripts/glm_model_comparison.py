"""Which agent quantity does each DMN node carry? Model comparison on synthetic fMRI.

Hypotheses of Dohmatob, Dumas & Bzdok (2020, Hum Brain Mapp 41(12):3318-3341, §4.3): vmPFC
signal follows value estimates Q(s, a); right TPJ follows prediction errors; PMC follows
both (the parameter update). Here the ground truth is planted (vmPFC <- q, rTPJ <- |rpe|,
PMC <- q + |rpe|) in one participant's synthetic BOLD (Q-learning on a two-armed restless
bandit, 2-s trials), and candidate designs "value" (q), "error" (|rpe|) and "both" are
compared per ROI by BIC and cross-validated R^2 (darkcontrol.neuro.glm.compare_regressors).

Prints: per ROI the winning model by BIC and by CV R^2, with delta BIC; writes the full
comparison table to ``--out``/model_comparison.tsv.

    python scripts/glm_model_comparison.py --out glm_comparison --seed 0
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from script_args import parse, script_parser, sized  # noqa: E402

from darkcontrol.clock import Clock
from darkcontrol.simulation import simulate

T_R = 2.0


def main(argv=None) -> int:
    p = script_parser(__doc__, out="glm_model_comparison", quick="60 trials")
    sized(p, "--trials", full=200, quick=60, help="bandit trials (4 s each)")
    args = parse(p, argv)

    from darkcontrol.agents import make_agent
    from darkcontrol.neuro.design import DesignConfig, load_confounds, make_design, task_columns
    from darkcontrol.neuro.events import trace_to_events
    from darkcontrol.neuro.glm import compare_regressors, roi_signals
    from darkcontrol.neuro.synthetic import SyntheticConfig, simulate_bold
    from darkcontrol.regions import RegionMap
    from darkcontrol.simulation import make_env

    env = make_env("darkcontrol/RestlessBandit-v0")
    agent = make_agent("q_learning", env, seed=args.seed, policy="softmax", beta=3.0)
    simulate(
        env,
        agent,
        episodes=1,
        seeds=[args.seed],
        clock=Clock(trial_s=4.0, iti_s=0.0, offline_dt=0.0),
        max_steps=args.trials,
    )[1].runs[0]
    events = trace_to_events(
        agent.recorder.to_frame(),
        region_map=RegionMap.paper(),
        quantities=("vmPFC", "rTPJ"),
        online_duration=2.0,
    )
    n_scans = int(events["onset"].max() // T_R) + 10
    dcfg = DesignConfig(t_r=T_R, n_scans=n_scans)
    truth = make_design(events, dcfg)
    planted = {"vmPFC": {"vmPFC": 3.0}, "rTPJ": {"rTPJ": 3.0}, "PMC": {"vmPFC": 2.0, "rTPJ": 2.0}}
    sim = simulate_bold(truth, planted, SyntheticConfig(t_r=T_R, n_scans=n_scans), seed=args.seed)
    conf = load_confounds(sim.confounds)
    candidates = {}
    for name, keep in {"value": ["vmPFC"], "error": ["rTPJ"], "both": ["vmPFC", "rTPJ"]}.items():
        ev = events[events["trial_type"].isin(["trial", *keep])]
        candidates[name] = make_design(ev, dcfg, confounds=conf)
        assert set(task_columns(candidates[name])) == {"trial", *keep}
    signals = roi_signals(sim.img, sim.atlas, sim.mask_img, T_R)
    table = compare_regressors(signals, candidates)
    for roi in ("vmPFC", "rTPJ", "PMC", "dmPFC"):
        t = table[table["roi"] == roi].set_index("model")
        by_bic, by_cv = t["bic"].idxmin(), t["cv_r2"].idxmax()
        second = t["delta_bic"].drop(by_bic).min()
        truth_models = [k for k, v in planted.get(roi, {}).items() if v]
        print(
            f"{roi:6s} planted {truth_models or '-'}: best BIC {by_bic} (next +{second:.1f}), "
            f"best CV R^2 {by_cv} ({t.loc[by_cv, 'cv_r2']:.2f})"
        )
    from darkcontrol._util import atomic_write_text

    path = atomic_write_text(
        Path(args.out) / "model_comparison.tsv", table.to_csv(sep="\t", index=False)
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
