"""A hippocampal lesion slows learning and prevents planning a new route after the world changes.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, §3.3 and §5.2): the
hippocampus supplies the DMN's vicarious experience (replay, and the imagination of new
scenarios, Hassabis et al. 2007, PNAS); without it the agent learns only from real steps.

Study: the DMN model (``account="full"``, Q-learning inside; 1-s ITIs at 10 Hz) vs the same
model with ``lesion="hippocampus"`` (no replay, no model simulation, no recombination).
Phase 1: the Dyna maze (Sutton & Barto 2018, Example 8.1), goal top right. Phase 2: the goal
moves to the bottom right corner (the world changes; the old goal is now an ordinary place);
episodes are cut at ``max_steps``. A new route is *planned* when the agent reaches the new goal
within the step limit; the intact agent does so within a few episodes of finding it once, the
lesioned one keeps failing.

Prints: mean steps per episode in phase 1 (episodes 2-10) and in phase 2 (episodes 2-6), the
share of phase-2 episodes 2-6 that reach the new goal, with Mann-Whitney tests over seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import numpy as np

from darkcontrol.simulation import simulate

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dmn_common import mean_ci, parser, save, seeds_of  # noqa: E402

from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.envs import GridWorld  # noqa: E402
from darkcontrol.envs.mazes import DYNA_MAZE  # noqa: E402

GOAL_MOVED = tuple(r.replace("G", ".") for r in DYNA_MAZE[:-1]) + (DYNA_MAZE[-1][:-1] + "G",)
MAX_STEPS = 500


def run(seed: int, lesion: str, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps per episode before and after the goal moves (MAX_STEPS = not reached)."""
    before, after = GridWorld(DYNA_MAZE), GridWorld(GOAL_MOVED)
    dmn = DMNAgent("q_learning", before, account="full", lesion=lesion, seed=seed)
    l1 = simulate(before, dmn, episodes=n1, seeds=[seed], max_steps=MAX_STEPS)[1].runs[0].lengths
    l2 = (
        simulate(after, dmn, episodes=n2, seeds=[seed + 10_000], max_steps=MAX_STEPS)[1]
        .runs[0]
        .lengths
    )
    return np.array(l1), np.array(l2)


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    seeds = seeds_of(args)
    n1, n2 = (15, 6) if args.quick else (50, 20)
    res = {lesion: [run(s, lesion, n1, n2) for s in seeds] for lesion in ("none", "hippocampus")}
    l1 = {k: np.array([r[0] for r in v]) for k, v in res.items()}
    l2 = {k: np.array([r[1] for r in v]) for k, v in res.items()}
    numbers = {}
    for k in res:
        numbers[f"{k}_phase1_steps_ep2_10"] = float(l1[k][:, 1:10].mean())
        numbers[f"{k}_phase2_steps_ep2_6"] = float(l2[k][:, 1:6].mean())
        numbers[f"{k}_phase2_reached_ep2_6"] = float((l2[k][:, 1:6] < MAX_STEPS).mean())
    if len(seeds) >= 5:
        from scipy.stats import mannwhitneyu

        for name, arrs, sl in (("phase1", l1, slice(1, 10)), ("phase2", l2, slice(1, 6))):
            p = mannwhitneyu(
                arrs["none"][:, sl].mean(1),
                arrs["hippocampus"][:, sl].mean(1),
                alternative="less",
            ).pvalue
            numbers[f"p_{name}"] = float(p)
    print(f"hippocampal lesion, Dyna maze, {len(seeds)} seeds (steps per episode)")
    for k, label in (("none", "intact"), ("hippocampus", "lesioned")):
        print(
            f"  {label:>8}: learning (ep 2-10) {numbers[f'{k}_phase1_steps_ep2_10']:.1f} steps; "
            f"after the goal moved (ep 2-6) {numbers[f'{k}_phase2_steps_ep2_6']:.1f} steps, "
            f"new goal reached in {100 * numbers[f'{k}_phase2_reached_ep2_6']:.0f}% of episodes"
        )
    for k in ("p_phase1", "p_phase2"):
        if k in numbers:
            print(f"  {k} (Mann-Whitney, intact < lesioned): {numbers[k]:.2g}")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, arrs, title in ((axes[0], l1, "learning"), (axes[1], l2, "after the goal moved")):
        for k, color, label in (("none", "C0", "intact"), ("hippocampus", "C3", "lesioned")):
            m, ci = mean_ci(np.log(arrs[k]))  # geometric mean and its CI (log-normal steps)
            x = np.arange(1, len(m) + 1)
            ax.plot(x, np.exp(m), color=color, label=label, marker=".")
            ax.fill_between(x, np.exp(m - ci), np.exp(m + ci), color=color, alpha=0.25)
        ax.set(xlabel="episode", yscale="log", title=title)
    axes[0].set_ylabel(f"steps to goal (cut at {MAX_STEPS}; geometric mean, 95% CI)")
    axes[0].legend()
    fig.suptitle("hippocampal lesion: no replay, no imagination")
    fig.tight_layout()
    config = {
        "seeds": seeds,
        "n1": n1,
        "n2": n2,
        "max_steps": MAX_STEPS,
        "account": "full",
        "layout_before": DYNA_MAZE,
        "layout_after": GOAL_MOVED,
    }
    png = save(fig, Path(args.out), "dmn_lesion", numbers, config)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
