"""A hippocampal lesion slows learning and blocks planning a new route: beyond fewer updates?

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, sections "The hippocampus:
memory, space, and experience replay" and "Summary and hypotheses for future studies"): the
hippocampus supplies the DMN's vicarious experience (replay, and the imagination of new
scenarios, Hassabis et al. 2007, PNAS); without it the agent learns only from real steps. Is
that deficit about the hippocampus, or only about the number of value updates it supplies?

Task: the Dyna maze (Sutton & Barto 2018, Example 8.1), goal top right; phase 1: 50 episodes
(``--quick``: 15); phase 2: the goal moves to the bottom right corner, 20 episodes (``--quick``:
6); episodes cut at 500 steps (a new route is *planned* when the agent reaches the new goal
within the limit). Agents: the DMN model (``account="full"``, Q-learning inside; 1-s ITIs at
10 Hz), ``engagement="heuristic"`` (1 - running mean of spe). That engagement is kept (as
calibrated): the compute-matched controls match the intact budget window by window from the
lesioned agent's own engagement, which under the allocation (the default since issue 12)
depends on what the lesioned agent has learned, so the budgets would no longer match; with the
heuristic they do (``checks.updates_per_step``).

Conditions: ``intact``; ``lesioned`` (``lesion="hippocampus"``, ``lesion_strength=--strength``,
default 1: memory capacity, replay rate and fidelity scaled by 1 - strength); the lesioned
model compute-matched to the intact budget (``lesion_control``): the removed backups made as
extra passes over the last real transition (``matched_real_passes``) or as backups of random
(s, a) pairs of the DMN's memory-free world model (``matched_random_backups``); and the same
three lesioned conditions at strength 0 (``sham``, ``sham_real_passes``,
``sham_random_backups``: a "lesion" that removes nothing, so every contrast must vanish).

Pre-declared tests (before any reported run; n = seeds, the conditions paired by seed; alpha =
0.05; a claim holds when its 95% interval excludes the threshold on the declared side). Per
seed: L = log of the mean steps per episode in phase-1 episodes 2-10 (learning), R = share of
phase-2 episodes 2-6 that reach the new goal (a new route):

| claim                       | per-seed effect                         | statistic | test |
|-----------------------------|-----------------------------------------|-----------|------|
| lesion_slows_learning       | L(lesioned) - L(intact)                 | paired_t  | > 0  |
| lesion_blocks_new_route     | R(intact) - R(lesioned)                 | paired_t  | > 0  |
| random_backups_restore      | L(lesioned) - L(matched_random_backups) | paired_t  | > 0  |
| real_passes_restore         | L(lesioned) - L(matched_real_passes)    | paired_t  | > 0  |
| lesion_beyond_fewer_updates | L(matched_random_backups) - L(intact)   | paired_t  | > 0  |
| lesion_beyond_rehearsal     | L(matched_real_passes) - L(intact)      | paired_t  | > 0  |

Control (every claim; evaluated with the claim's own test, must fail): ``lesion_strength_0``,
the same contrast with each lesioned condition replaced by its strength-0 version (``intact``
stays ``intact``): the lesion removed, nothing else changed. ``checks.contrasts`` keeps every
contrast in raw steps (phase 1 and 2) with bootstrap CIs and one-sided Mann-Whitney p-values.

Calibration: the maze, phase lengths, the measured episodes and the heuristic engagement were
set on seeds 100-104 (issue 12); reported runs use seeds from ``--seed`` (default 0) on.

Scale: the per-seed work is one module-level function (:func:`run_one_seed`, every condition of
one seed) run through ``script_args.map_seeds`` (``--jobs N`` or ``--scheduler tcp://...``);
each seed's result depends on that seed only. The batched DMN (:mod:`darkcontrol.batched`)
cannot be used: it has no hippocampal lesion or compute-matched control.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``dmn_lesion.png`` and ``dmn_lesion.json``
to ``--out``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dmn_common import mean_ci, parser, save, seeds_of  # noqa: E402
from script_args import map_seeds, parse, scale_options, sized  # noqa: E402

from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.envs import GridWorld  # noqa: E402
from darkcontrol.envs.mazes import DYNA_MAZE  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "dmn_lesion"
GOAL_MOVED = tuple(r.replace("G", ".") for r in DYNA_MAZE[:-1]) + (DYNA_MAZE[-1][:-1] + "G",)
MAX_STEPS = 500
CALIBRATION_SEEDS = [100, 101, 102, 103, 104]
LEARNING = slice(1, 10)  # phase-1 episodes 2-10
NEW_ROUTE = slice(1, 6)  # phase-2 episodes 2-6

CONDITIONS = {  # label -> DMN lesion parameters (strength filled in by --strength)
    "intact": {},
    "lesioned": {"lesion": "hippocampus"},
    "matched_real_passes": {"lesion": "hippocampus", "lesion_control": "real_passes"},
    "matched_random_backups": {"lesion": "hippocampus", "lesion_control": "random_backups"},
}
SHAM = {  # the strength-0 version of each lesioned condition
    "lesioned": "sham",
    "matched_real_passes": "sham_real_passes",
    "matched_random_backups": "sham_random_backups",
}
CONTRASTS = (  # (name, better condition, worse condition): the first learns faster
    ("lesion", "intact", "lesioned"),
    ("real_passes_vs_lesioned", "matched_real_passes", "lesioned"),
    ("random_backups_vs_lesioned", "matched_random_backups", "lesioned"),
    ("intact_vs_real_passes", "intact", "matched_real_passes"),
    ("intact_vs_random_backups", "intact", "matched_random_backups"),
)
#: claim -> (measure, x condition, y condition): effect x - y per seed
DESIGN = {
    "lesion_slows_learning": ("log_steps", "lesioned", "intact"),
    "lesion_blocks_new_route": ("reached", "intact", "lesioned"),
    "random_backups_restore": ("log_steps", "lesioned", "matched_random_backups"),
    "real_passes_restore": ("log_steps", "lesioned", "matched_real_passes"),
    "lesion_beyond_fewer_updates": ("log_steps", "matched_random_backups", "intact"),
    "lesion_beyond_rehearsal": ("log_steps", "matched_real_passes", "intact"),
}
SPECS = {
    "lesion_slows_learning": ClaimSpec(
        "lesion_slows_learning",
        "paired_t",
        description="log mean steps (phase 1, episodes 2-10): lesioned - intact > 0",
    ),
    "lesion_blocks_new_route": ClaimSpec(
        "lesion_blocks_new_route",
        "paired_t",
        description="share of phase-2 episodes 2-6 reaching the moved goal: intact - lesioned",
    ),
    "random_backups_restore": ClaimSpec(
        "random_backups_restore",
        "paired_t",
        description="log mean steps: lesioned - lesioned with the missing backups as random "
        "model backups > 0",
    ),
    "real_passes_restore": ClaimSpec(
        "real_passes_restore",
        "paired_t",
        description="log mean steps: lesioned - lesioned with the missing backups as passes "
        "over the last real transition > 0",
    ),
    "lesion_beyond_fewer_updates": ClaimSpec(
        "lesion_beyond_fewer_updates",
        "paired_t",
        description="log mean steps: compute-matched (random backups) lesioned - intact > 0",
    ),
    "lesion_beyond_rehearsal": ClaimSpec(
        "lesion_beyond_rehearsal",
        "paired_t",
        description="log mean steps: compute-matched (real passes) lesioned - intact > 0",
    ),
}
CONTROL_TEXT = {
    "lesion_strength_0": "the same contrast with every lesion at strength 0 (nothing removed)",
}


def run(seed: int, params: dict, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Steps per episode before and after the goal moves (MAX_STEPS = not reached), the
    number of value updates made and of real steps taken."""
    before, after = GridWorld(DYNA_MAZE), GridWorld(GOAL_MOVED)
    dmn = DMNAgent(
        "q_learning", before, account="full", seed=seed, engagement="heuristic", **params
    )
    l1 = simulate(before, dmn, episodes=n1, seeds=[seed], max_steps=MAX_STEPS)[1].runs[0].lengths
    l2 = (
        simulate(after, dmn, episodes=n2, seeds=[seed + 10_000], max_steps=MAX_STEPS)[1]
        .runs[0]
        .lengths
    )
    return np.array(l1), np.array(l2), int(dmn.n_updates), int(dmn.n_online)


def conditions_of(strength: float) -> dict[str, dict]:
    conds = {k: {**v, "lesion_strength": strength} if v else v for k, v in CONDITIONS.items()}
    for k, sham in SHAM.items():
        conds[sham] = {**CONDITIONS[k], "lesion_strength": 0.0}
    return conds


def run_one_seed(seed: int, strength: float, n1: int, n2: int) -> dict[str, tuple]:
    """Every condition for one seed (module level: map_seeds may run it elsewhere)."""
    return {k: run(seed, v, n1, n2) for k, v in conditions_of(strength).items()}


def _boot_ci(x: np.ndarray, y: np.ndarray, rng, n: int = 2000) -> tuple[float, float]:
    """95 % percentile bootstrap CI of mean(x) - mean(y) (seeds resampled in each group)."""
    d = [rng.choice(x, len(x)).mean() - rng.choice(y, len(y)).mean() for _ in range(n)]
    return float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))


def measures(l1: dict, l2: dict) -> dict[str, dict[str, np.ndarray]]:
    return {
        "log_steps": {k: np.log(v[:, LEARNING].mean(axis=1)) for k, v in l1.items()},
        "reached": {k: (v[:, NEW_ROUTE] < MAX_STEPS).mean(axis=1) for k, v in l2.items()},
    }


def evaluate_claims(m: dict) -> list:
    out = []
    for k, (name, spec) in enumerate(SPECS.items()):
        measure, cx, cy = DESIGN[name]
        v = m[measure]
        ctl = (v[SHAM.get(cx, cx)], v[SHAM.get(cy, cy)])
        c = claim(
            spec,
            v[cx],
            v[cy],
            controls={"lesion_strength_0": ctl},
            descriptions=CONTROL_TEXT,
            seed=1000 * k,
        )
        out.append(c)
    return out


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=10, quick_seeds=4)
    p.add_argument(
        "--strength", type=float, default=1.0, help="lesion strength in [0, 1] (default 1)"
    )
    sized(p, "--episodes1", full=50, quick=15, help="phase-1 episodes (>= 10)")
    sized(p, "--episodes2", full=20, quick=6, help="phase-2 episodes, goal moved (>= 6)")
    scale_options(p)
    args = parse(p, argv)
    if not 0.0 <= args.strength <= 1.0:
        p.error(f"--strength must be in [0, 1], got {args.strength}")
    if args.episodes1 < 10 or args.episodes2 < 6:
        p.error("--episodes1 must be >= 10 and --episodes2 >= 6 (the measured episodes)")
    say = (lambda *a, **k: None) if args.quiet else print
    seeds = seeds_of(args)
    n1, n2 = args.episodes1, args.episodes2
    conditions = conditions_of(args.strength)
    per = map_seeds(run_one_seed, seeds, args, args.strength, n1, n2)
    res = {k: [r[k] for r in per] for k in conditions}
    l1 = {k: np.array([r[0] for r in v]) for k, v in res.items()}
    l2 = {k: np.array([r[1] for r in v]) for k, v in res.items()}
    m = measures(l1, l2)
    claims = evaluate_claims(m)
    numbers: dict = {"strength": args.strength, "n_seeds": len(seeds)}
    for k in res:
        numbers[f"{k}_phase1_steps_ep2_10"] = float(l1[k][:, LEARNING].mean())
        numbers[f"{k}_phase2_steps_ep2_6"] = float(l2[k][:, NEW_ROUTE].mean())
        numbers[f"{k}_phase2_reached_ep2_6"] = float((l2[k][:, NEW_ROUTE] < MAX_STEPS).mean())
        numbers[f"{k}_n_updates"] = float(np.mean([r[2] for r in res[k]]))
        # compute matching is per offline window: updates per real step match, totals need not
        numbers[f"{k}_updates_per_step"] = float(np.mean([r[2] / r[3] for r in res[k]]))
    rng = np.random.default_rng(args.seed)
    contrasts = {}
    from scipy.stats import mannwhitneyu

    for name, good, bad in CONTRASTS:
        for phase, arrs, sl in (("phase1", l1, LEARNING), ("phase2", l2, NEW_ROUTE)):
            x, y = arrs[good][:, sl].mean(1), arrs[bad][:, sl].mean(1)
            row = {"effect_steps": float(x.mean() - y.mean()), "ci95": _boot_ci(x, y, rng)}
            row["p"] = float(mannwhitneyu(x, y, alternative="less").pvalue)
            contrasts[f"{name}_{phase}"] = row
    numbers["contrasts"] = contrasts
    numbers["claims"] = {c.name: c.to_dict() for c in claims}
    checks = {
        "contrasts": contrasts,
        "updates_per_step": {k: numbers[f"{k}_updates_per_step"] for k in res},
        "phase1_steps_ep2_10": {k: numbers[f"{k}_phase1_steps_ep2_10"] for k in res},
        "phase2_reached_ep2_6": {k: numbers[f"{k}_phase2_reached_ep2_6"] for k in res},
    }
    config = {
        "seeds": seeds,
        "calibration_seeds": CALIBRATION_SEEDS,
        "n1": n1,
        "n2": n2,
        "max_steps": MAX_STEPS,
        "account": "full",
        "engagement": "heuristic",
        "conditions": conditions,
        "layout_before": DYNA_MAZE,
        "layout_after": GOAL_MOVED,
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)
    say(
        f"hippocampal lesion (strength {args.strength}), Dyna maze, {len(seeds)} seeds "
        "(steps per episode)"
    )
    for k in res:
        say(
            f"  {k:>22}: learning (ep 2-10) {numbers[f'{k}_phase1_steps_ep2_10']:.1f} steps; "
            f"after the goal moved (ep 2-6) {numbers[f'{k}_phase2_steps_ep2_6']:.1f} steps, "
            f"new goal reached in {100 * numbers[f'{k}_phase2_reached_ep2_6']:.0f}% of "
            f"episodes; {numbers[f'{k}_n_updates']:.0f} value updates "
            f"({numbers[f'{k}_updates_per_step']:.1f} per real step)"
        )
    for c in claims:
        say("  " + c.describe())

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    colors = dict(zip(CONDITIONS, ("C0", "C3", "C2", "C1")))
    for ax, arrs, title in ((axes[0], l1, "learning"), (axes[1], l2, "after the goal moved")):
        for k in CONDITIONS:
            mu, ci = mean_ci(np.log(arrs[k]))  # geometric mean and its CI (log-normal steps)
            x = np.arange(1, len(mu) + 1)
            ax.plot(x, np.exp(mu), color=colors[k], label=k.replace("_", " "), marker=".")
            ax.fill_between(x, np.exp(mu - ci), np.exp(mu + ci), color=colors[k], alpha=0.2)
        ax.set(xlabel="episode", yscale="log", title=title)
    axes[0].set_ylabel(f"steps to goal (cut at {MAX_STEPS}; geometric mean, 95% CI)")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"hippocampal lesion (strength {args.strength:g}) vs compute-matched lesion")
    fig.tight_layout()
    png = save(fig, out, STUDY, numbers, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
