"""Model-free and model-based signatures in the two-step task (Daw et al. 2011, Fig. 2).

Simulates participants of the Daw et al. (2011) hybrid learner with w = 0 (model-free), w = 1
(model-based) and the hybrid of their median fits, then shows the probability of repeating the
stage-1 choice by the previous trial's reward x transition type, and the logistic-regression
effects (reward main effect: model-free; reward x transition interaction: model-based) with
95 % confidence intervals (standard errors clustered by participant).

    python scripts/two_step_signatures.py --out two_step_out --seed 0

Writes ``two_step_signatures.png`` and ``summary.json`` (numbers, configuration, package
version) in ``--out``.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import darkcontrol  # noqa: E402
from darkcontrol._util import atomic_write_bytes, atomic_write_text  # noqa: E402
from darkcontrol.agents.two_step import PRESETS, TwoStepConfig  # noqa: E402
from darkcontrol.analysis import (  # noqa: E402
    stay_probabilities,
    stay_regression,
    two_step_trials,
)
from darkcontrol.simulation import simulate  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from script_args import parse, progress, script_parser, sized  # noqa: E402

AGENTS = (("model_free", "model-free (w = 0)"), ("model_based", "model-based (w = 1)"))
AGENTS += (("hybrid", "hybrid (Daw et al. fits)"),)


def parse_args(argv=None):
    p = script_parser(
        __doc__, out="two_step_signatures_output", quick="6 participants x 100 trials per agent"
    )  # participant k uses seed + k
    sized(p, "--participants", full=20, quick=6, help="participants per agent")
    sized(p, "--trials", full=200, quick=100, help="trials per participant")
    return parse(p, argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    bars = progress(args)
    results = {}
    for preset, label in AGENTS:
        trace, _ = simulate(
            "darkcontrol/TwoStep-v0",
            "two_step_hybrid",
            episodes=args.trials,
            seeds=args.participants,
            first_seed=args.seed,
            progress=bars,
            **PRESETS[preset],
        )
        trials = two_step_trials(trace)
        stay = stay_probabilities(trials)
        reg = stay_regression(trials, se="cluster")
        results[preset] = (stay, reg)
        print(f"\n{label}: {args.participants} participants x {args.trials} trials")
        print(stay.to_string(float_format=lambda x: f"{x:.3f}"))
        print(reg.to_string(float_format=lambda x: f"{x:.3f}"))

    fig, axes = plt.subplots(1, len(AGENTS) + 1, figsize=(4 * (len(AGENTS) + 1), 3.6))
    x = np.arange(2)
    for ax, (preset, label) in zip(axes, AGENTS):
        stay = results[preset][0]
        for k, (trans, color) in enumerate((("common", "tab:blue"), ("rare", "tab:red"))):
            rows = [stay.loc[(rew, trans)] for rew in ("rewarded", "unrewarded")]
            ax.bar(
                x + (k - 0.5) * 0.38,
                [r["mean"] for r in rows],
                0.38,
                yerr=[r["sem"] for r in rows],
                color=color,
                label=trans,
                capsize=3,
            )
        ax.set_xticks(x, ["rewarded", "unrewarded"])
        ax.set_ylim(0.4, 1.0)
        ax.set_ylabel("P(stay)")
        ax.set_title(label, fontsize=10)
        ax.legend(frameon=False, title="previous transition", fontsize=8, title_fontsize=8)
    ax = axes[-1]
    for k, (term, name) in enumerate(
        (("reward", "reward"), ("reward_x_transition", "reward x transition"))
    ):
        coef = [results[p][1].loc[term, "coef"] for p, _ in AGENTS]
        lo = [results[p][1].loc[term, "ci_low"] for p, _ in AGENTS]
        hi = [results[p][1].loc[term, "ci_high"] for p, _ in AGENTS]
        pos = np.arange(len(AGENTS)) + (k - 0.5) * 0.38
        err = [np.subtract(coef, lo), np.subtract(hi, coef)]
        ax.bar(pos, coef, 0.38, yerr=err, capsize=3, label=name)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(np.arange(len(AGENTS)), ["MF", "MB", "hybrid"])
    ax.set_ylabel("logistic regression weight (95 % CI)")
    ax.set_title("effects on P(stay)", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    fig.suptitle("Two-step task (Daw et al. 2011): simulated stay probabilities")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)

    config = {"script": "two_step_signatures", **vars(args)}
    summary = {
        "darkcontrol_version": darkcontrol.__version__,
        "config": config,
        "agents": {
            p: {
                "params": {**TwoStepConfig(**PRESETS[p]).__dict__},
                "stay_probabilities": {
                    f"{rew}/{trans}": float(v) for (rew, trans), v in results[p][0]["mean"].items()
                },
                "regression": json.loads(results[p][1].to_json(orient="index")),
            }
            for p, _ in AGENTS
        },
    }
    fig_path = atomic_write_bytes(f"{args.out}/two_step_signatures.png", buf.getvalue())
    atomic_write_text(f"{args.out}/summary.json", json.dumps(summary, indent=2))
    for p, label in AGENTS:
        reg = results[p][1]
        print(
            f"{label}: reward {reg.loc['reward', 'coef']:.3f} (z {reg.loc['reward', 'z']:.1f}), "
            f"reward x transition {reg.loc['reward_x_transition', 'coef']:.3f} "
            f"(z {reg.loc['reward_x_transition', 'z']:.1f})"
        )
    print(f"wrote {fig_path} and {args.out}/summary.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
