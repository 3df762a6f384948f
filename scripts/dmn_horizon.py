"""gamma as the DMN's horizon: short- and far-sighted agents choose different rewards.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, §4.1): the discount
factor gamma in y = r + gamma max_a' Q(s', a') sets how far ahead the DMN's value estimates
look (temporal discounting); gamma -> 0 leaves only the immediate outcome (the predictive-coding
limit, §5.1).

Study: a corridor with a small reward (``r_near``) at its left end and a large one (``r_far``) at
its right end; episodes start anywhere in between. At the choice cell, 2 steps from the small
reward and 8 from the large one, the values of the two routes are
gamma * r_near and gamma^7 * r_far, so an exact solver prefers the far reward iff
gamma > gamma* = (r_near / r_far)^(1/6). DMN agents (``account="full"``, Q-learning inside,
epsilon = 0.5 to sample both routes, alpha = 0.5 in this deterministic world) with gammas on
both sides of gamma* learn for ``episodes`` episodes; their choice is the greedy move at the
choice cell.

Prints: per gamma, the share of agents choosing the far reward and the exact solver's choice;
a Fisher exact test between the most short- and far-sighted groups.
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
from dmn_common import parser, save, seeds_of  # noqa: E402

from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.envs import GridWorld, value_iteration  # noqa: E402

LAYOUT = ("GSSSSSSSSSG",)  # episodes start anywhere on the corridor (both ends get found)
CHOICE_CELL = (0, 2)  # the choice point: near goal 2 steps left, far goal 8 steps right
R_NEAR, R_FAR = 1.0, 4.0
LEFT, RIGHT = 3, 1


def corridor() -> GridWorld:
    return GridWorld(LAYOUT, goal_reward={(0, 0): R_NEAR, (0, 10): R_FAR})


def choice(seed: int, gamma: float, episodes: int) -> int:
    """1 if the trained agent's greedy first move heads for the far reward, else 0."""
    env = corridor()
    dmn = DMNAgent(
        "q_learning", env, account="full", seed=seed, gamma=gamma, epsilon=0.5, alpha=0.5
    )
    simulate(env, dmn, episodes=episodes, seeds=[seed], max_steps=100)[1].runs[0]
    q = dmn.q_values()[env.state_of(*CHOICE_CELL)]
    return int(q[RIGHT] > q[LEFT])


def exact_choice(gamma: float) -> int:
    env = corridor()
    q = value_iteration(env.mdp, gamma).Q[env.state_of(*CHOICE_CELL)]
    return int(q[RIGHT] > q[LEFT])


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    seeds = seeds_of(args)
    gammas = (0.3, 0.6, 0.95) if args.quick else (0.1, 0.3, 0.5, 0.6, 0.7, 0.75, 0.85, 0.9, 0.95)
    episodes = 30 if args.quick else 50
    gamma_star = (R_NEAR / R_FAR) ** (1 / 6)
    chose_far = np.array([[choice(s, g, episodes) for s in seeds] for g in gammas])
    exact = [exact_choice(g) for g in gammas]
    numbers = {
        "gamma_star": gamma_star,
        "gammas": list(gammas),
        "share_far": chose_far.mean(1).tolist(),
        "exact_far": exact,
    }
    print(
        f"horizon: small-near ({R_NEAR}, 2 steps) vs large-far ({R_FAR}, 8 steps), "
        f"{len(seeds)} agents per gamma; exact indifference at gamma* = {gamma_star:.3f}"
    )
    for g, share, ex in zip(gammas, chose_far.mean(1), exact):
        print(f"  gamma {g:.2f}: {100 * share:5.1f}% choose far (exact: {'far' if ex else 'near'})")
    lo, hi = chose_far[0], chose_far[-1]
    if len(seeds) >= 5:
        from scipy.stats import fisher_exact

        table = [[hi.sum(), len(hi) - hi.sum()], [lo.sum(), len(lo) - lo.sum()]]
        numbers["p_fisher"] = float(fisher_exact(table, alternative="greater").pvalue)
        print(f"  Fisher exact (gamma {gammas[-1]} vs {gammas[0]}): p = {numbers['p_fisher']:.2g}")

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(gammas, chose_far.mean(1), marker="o", label="DMN agents (share choosing far)")
    ax.step(gammas, exact, where="mid", color="k", ls=":", label="exact solver")
    ax.axvline(gamma_star, color="grey", ls="--", lw=1)
    ax.text(gamma_star, 0.5, r" $\gamma^*$", color="grey")
    ax.set(
        xlabel=r"discount factor $\gamma$ (horizon)",
        ylabel="P(choose large-far reward)",
        ylim=(-0.05, 1.05),
        title="short-sighted agents take the near reward",
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    config = {
        "seeds": seeds,
        "episodes": episodes,
        "layout": LAYOUT,
        "r_near": R_NEAR,
        "r_far": R_FAR,
        "epsilon": 0.5,
        "alpha": 0.5,
        "account": "full",
    }
    png = save(fig, Path(args.out), "dmn_horizon", numbers, config)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
