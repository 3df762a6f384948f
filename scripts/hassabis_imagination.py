"""Hippocampal damage impairs imagining new experiences more than recalling experienced ones.

Claim (Hassabis, Kumaran, Vann & Maguire 2007, PNAS 104:1726, "Patients with hippocampal
amnesia cannot imagine new experiences": patients with bilateral hippocampal damage constructed
fragmented, impoverished imagined scenes); in the DMN model of Dohmatob, Dumas & Bzdok (2020,
Hum Brain Mapp 41(12):3318-3341, sections "The hippocampus: memory, space, and experience
replay" and "Summary and hypotheses for future studies") the hippocampus supplies both replay
of what happened and the recombination of experience into scenarios never lived. The model's
version: a lesion should take away the values of never-tried (s, a) pairs ("imagination")
more than the values of experienced pairs ("recall"), because real experience still teaches
the latter online while only offline recombination reaches the former.

Task and agents: the open field of ``dmn_deja_vu.py`` (7 x 11, reward +1 at the goal, gamma
0.9), the DMN model (``account="full"``, learned recombination ``recombine="stitch"``,
epsilon-greedy Q-learning, epsilon 0.05, ``engagement="constant"``), 10 episodes. Conditions:
``intact``; ``lesioned`` (``lesion="hippocampus"``, strength 1: no replay, no simulation, no
recombination); the control ``no_recombination`` (intact with ``w_recombined=0``: the same
offline budget, replay and rollouts only). Ground truth: Q* of the exact MDP (value iteration).
Per agent: recall R = Spearman rho(Q, Q*) over the (s, a) pairs it tried in visited
non-terminal states; imagination I = the same over the pairs it never tried there (0 when
those values carry no ranking, e.g. all still at their initial 0).

Pre-declared tests (before any reported run; n = seeds, conditions paired by seed; alpha =
0.05; a claim holds when its 95% interval excludes the threshold on the declared side):

| claim                      | per-seed effect                       | statistic | test |
|----------------------------|---------------------------------------|-----------|------|
| lesion_impairs_imagination | I(intact) - I(lesioned)               | paired_t  | > 0  |
| imagination_over_recall    | [I(int) - I(les)] - [R(int) - R(les)] | paired_t  | > 0  |

The interaction is on the raw rho scale: I and R are the same statistic (Spearman rho with Q*,
in [-1, 1]), so their drops are commensurate; the drops normalised by the intact means
(1 - lesioned / intact) are reported under ``checks.normalised_drops``.

Control (both claims, evaluated with the claim's own test; must fail): ``no_recombination``,
the contrasts with the intact condition replaced by the intact DMN without recombination. The
claim rests on the lesion removing recombination (what makes values for never-tried pairs);
in a DMN that never recombines there is no imagination for the lesion to take away, so the
lesion can only cost recall. A compute-matched lesion (``lesion_control``) would *not* remove
that mechanism - its extra backups are of tried pairs only - so it is reported as a check
(``checks.compute_matched``: lesioned + random model backups), not as the control. A partial
lesion (strength 0.5, whose replay confabulates outcomes) is reported under
``checks.partial_lesion`` (default run only).

Calibration: the field, epsilon, episodes and the full-strength lesion were fixed on seeds
100-109 (issue 13, with ``dmn_deja_vu.py``); on those seeds a partial lesion lowered recall
more than imagination (confabulated replay corrupts experienced values), so the declared lesion
is the complete one, ``lesion="hippocampus"``. Reported runs use seeds from ``--seed`` (0) on;
``--quick`` runs the same 20 seeds without the checks' conditions, so its claims are the
default run's.

Scale: the per-seed work is one module-level function (:func:`run_one_seed`) run through
``script_args.map_seeds`` (``--jobs N`` or ``--scheduler tcp://...``); each seed's result
depends on that seed only. The batched DMN (:mod:`darkcontrol.batched`) cannot be used:
recombination is not batched there.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``hassabis_imagination.png`` and
``hassabis_imagination.json`` to ``--out``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dmn_common import parser, save, seeds_of  # noqa: E402
from dmn_deja_vu import EPISODES, EPSILON, FIELD, GAMMA, value_quality  # noqa: E402
from script_args import map_seeds, scale_options  # noqa: E402

from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402

STUDY = "hassabis_imagination"
CALIBRATION_SEEDS = list(range(100, 110))
CONDITIONS = {
    "intact": {"recombine": "stitch"},
    "lesioned": {"recombine": "stitch", "lesion": "hippocampus"},
    "no_recombination": {"w_recombined": 0.0},
}
CHECK_CONDITIONS = {
    "compute_matched": {
        "recombine": "stitch",
        "lesion": "hippocampus",
        "lesion_control": "random_backups",
    },
    "partial_lesion": {"recombine": "stitch", "lesion": "hippocampus", "lesion_strength": 0.5},
}
SPECS = {
    "lesion_impairs_imagination": ClaimSpec(
        "lesion_impairs_imagination",
        "paired_t",
        description="imagination (rho(Q, Q*) over never-tried pairs): intact - lesioned > 0",
    ),
    "imagination_over_recall": ClaimSpec(
        "imagination_over_recall",
        "paired_t",
        description="drop in imagination minus drop in recall (rho over tried pairs) > 0",
    ),
}
CONTROL_TEXT = {
    "no_recombination": "intact replaced by the intact DMN with w_recombined=0 (same budget)",
}


def run_one_seed(seed: int, with_checks: bool) -> dict:
    """Every condition for one seed (module level: map_seeds may run it elsewhere)."""
    conds = {**CONDITIONS, **(CHECK_CONDITIONS if with_checks else {})}
    out = {}
    for k, v in conds.items():
        q = value_quality(seed, v)
        q.pop("pairs")
        out[k] = q
    return out


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=20, quick_seeds=20)
    scale_options(p)
    args = p.parse_args(argv)
    say = (lambda *a, **k: None) if args.quiet else print
    seeds = seeds_of(args)
    with_checks = not args.quick
    say(
        f"imagination vs recall after a hippocampal lesion: {len(seeds)} seeds x "
        f"{EPISODES} episodes on a {len(FIELD)} x {len(FIELD[0])} field"
    )
    per = map_seeds(run_one_seed, seeds, args, with_checks)

    def col(cond: str, key: str) -> np.ndarray:
        return np.array([r[cond][key] for r in per], dtype=float)

    def drops(base: str, lesion: str = "lesioned") -> tuple[np.ndarray, np.ndarray]:
        return (
            col(base, "untried") - col(lesion, "untried"),
            col(base, "tried") - col(lesion, "tried"),
        )

    d_i, d_r = drops("intact")
    c_i, c_r = drops("no_recombination")
    claims = [
        claim(
            SPECS["lesion_impairs_imagination"],
            col("intact", "untried"),
            col("lesioned", "untried"),
            controls={
                "no_recombination": (col("no_recombination", "untried"), col("lesioned", "untried"))
            },
            descriptions=CONTROL_TEXT,
            seed=0,
        ),
        claim(
            SPECS["imagination_over_recall"],
            d_i,
            d_r,
            controls={"no_recombination": (c_i, c_r)},
            descriptions=CONTROL_TEXT,
            seed=1000,
        ),
    ]
    summary = {
        k: {m: float(col(k, m).mean()) for m in ("untried", "tried", "n_untried")} for k in per[0]
    }

    def normalised(lesion: str) -> dict[str, float]:
        s = summary
        return {
            "imagination": 1 - s[lesion]["untried"] / s["intact"]["untried"],
            "recall": 1 - s[lesion]["tried"] / s["intact"]["tried"],
        }

    checks = {
        "conditions": summary,
        "normalised_drops": {"lesioned": normalised("lesioned")},
    }
    for k in CHECK_CONDITIONS if with_checks else ():
        ii, rr = drops("intact", k)
        checks[k] = {
            "imagination_drop": float(ii.mean()),
            "recall_drop": float(rr.mean()),
            "interaction": float((ii - rr).mean()),
            "normalised": normalised(k),
        }
    config = {
        "seeds": seeds,
        "calibration_seeds": CALIBRATION_SEEDS,
        "episodes": EPISODES,
        "gamma": GAMMA,
        "epsilon": EPSILON,
        "engagement": "constant",
        "account": "full",
        "layout": FIELD,
        "conditions": {**CONDITIONS, **(CHECK_CONDITIONS if with_checks else {})},
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)
    for k, v in summary.items():
        say(
            f"  {k:>17}: recall rho {v['tried']:+.2f}, imagination rho {v['untried']:+.2f} "
            f"({v['n_untried']:.0f} never-tried pairs)"
        )
    for c in claims:
        say("  " + c.describe())
    fig = figure(summary, per, claims)
    numbers = {"claims": {c.name: c.to_dict() for c in claims}, "per_agent": per, **checks}
    png = save(fig, out, STUDY, numbers, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(summary, per, claims):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    conds = list(summary)
    x = np.arange(len(conds))
    for off, key, label, color in (
        (-0.2, "tried", "recall", "C0"),
        (0.2, "untried", "imagination", "C3"),
    ):
        vals = np.array([[r[k][key] for k in conds] for r in per])
        ax1.bar(x + off, vals.mean(0), 0.4, color=color, label=label)
        ax1.errorbar(
            x + off,
            vals.mean(0),
            yerr=vals.std(0, ddof=1) / np.sqrt(len(vals)) * 1.96,
            fmt="none",
            color="k",
            capsize=3,
        )
    ax1.set_xticks(x, [c.replace("_", " ") for c in conds], rotation=20, fontsize=8)
    ax1.axhline(0, color="k", lw=0.5)
    ax1.set(ylabel="Spearman rho(Q, Q*), mean (95% CI)", title="recall vs imagination")
    ax1.legend(fontsize=8)
    names = [c.name for c in claims]
    eff = [c.effect for c in claims]
    err = np.array([[c.effect - c.ci[0], c.ci[1] - c.effect] for c in claims]).T
    ax2.bar(np.arange(len(claims)) - 0.2, eff, 0.4, yerr=err, capsize=3, label="intact vs lesioned")
    ctl = [c.control("no_recombination") for c in claims]
    ax2.bar(
        np.arange(len(claims)) + 0.2,
        [c.effect for c in ctl],
        0.4,
        yerr=np.array([[c.effect - c.ci[0], c.ci[1] - c.effect] for c in ctl]).T,
        capsize=3,
        color="C7",
        label="control: no recombination",
    )
    ax2.set_xticks(np.arange(len(claims)), names, fontsize=8)
    ax2.axhline(0, color="k", lw=0.5)
    ax2.set(ylabel="effect (95% CI)", title="claims and their control")
    ax2.legend(fontsize=8)
    fig.suptitle("Hassabis et al. 2007 in the DMN model: a hippocampal lesion and imagination")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
