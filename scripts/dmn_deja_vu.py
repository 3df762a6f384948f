"""Deja vu: values for never-visited state-action pairs, learnt from recombined experience.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, §4.3): the DMN can
recombine building blocks of past experience into scenarios never lived and learn from them,
so that situations never met feel familiar and come with a value.

Study: a field crossed by a band of hazards (-1, terminal) with one gap, and a goal (+1). DMN
agents (``account="full"``: replay, model rollouts and recombination by analogy, Q-learning
inside, epsilon = 0.05) learn for a few episodes, leaving many (state, action) pairs untried;
control agents are the same without recombination (``w_recombined=0``: replay and rollouts
only re-use what was experienced). For every untried pair in a visited state we compare the
learnt Q(s, a) with the exact Q*(s, a) (value iteration, same gamma): the controls' stay at
their initial value 0; recombination gives them values of the right sign (negative next to a
hazard, positive on the way to the goal).

Prints: the number of untried pairs, the share with a non-zero value, the share of those whose
sign matches Q*, per sign of Q*, and the Spearman correlation with Q*.
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

LAYOUT = (
    "......G",
    ".......",
    "HHH.HHH",
    ".......",
    "S......",
)
GAMMA = 0.9
EPSILON = 0.05  # little exploration: many pairs stay untried


def untried_values(seed: int, episodes: int, recombine: bool) -> tuple[np.ndarray, np.ndarray]:
    """(Q, Q*) of the pairs never tried in a visited non-terminal state."""
    env = GridWorld(LAYOUT)
    params = {} if recombine else {"w_recombined": 0.0}
    dmn = DMNAgent(
        "q_learning", env, account="full", seed=seed, gamma=GAMMA, epsilon=EPSILON, **params
    )
    simulate(env, dmn, episodes=episodes, seeds=[seed], max_steps=200)[1].runs[0]
    mdp = env.mdp
    q_star = value_iteration(mdp, GAMMA).Q
    visited = dmn.model.visits.sum(axis=1) > 0
    mask = (dmn.model.visits == 0) & (visited & ~mdp.terminal)[:, None]
    return dmn.q_values()[mask].copy(), q_star[mask]


def summary(q: np.ndarray, q_star: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr

    def share(x: np.ndarray) -> float:
        return float(x.mean()) if len(x) else float("nan")

    nz = q != 0
    out = {"n_untried": int(len(q)), "share_nonzero": share(nz)}
    for name, sel in (("positive", q_star > 0), ("negative", q_star < 0)):
        use = nz & sel
        out[f"n_{name}"] = int(use.sum())
        out[f"sign_match_{name}"] = share(np.sign(q[use]) == np.sign(q_star[use]))
    out["sign_match"] = share(np.sign(q[nz]) == np.sign(q_star[nz]))
    ok = nz.sum() > 2 and np.ptp(q[nz]) > 0 and np.ptp(q_star[nz]) > 0
    out["spearman"] = float(spearmanr(q[nz], q_star[nz]).statistic) if ok else float("nan")
    return out


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    seeds = seeds_of(args)
    episodes = 10 if args.quick else 20
    pooled = {}
    for recombine in (True, False):
        pairs = [untried_values(s, episodes, recombine) for s in seeds]
        pooled[recombine] = (
            np.concatenate([p[0] for p in pairs]),
            np.concatenate([p[1] for p in pairs]),
        )
    numbers = {
        "recombination": summary(*pooled[True]),
        "control": {
            "n_untried": int(len(pooled[False][0])),
            "share_nonzero": float((pooled[False][0] != 0).mean()),
        },
    }
    r, c = numbers["recombination"], numbers["control"]
    print(
        f"deja vu: never-tried (s, a) pairs in visited states, {len(seeds)} seeds, "
        f"{episodes} episodes each"
    )
    print(
        f"  control (replay + rollouts only): {c['n_untried']} pairs, "
        f"{100 * c['share_nonzero']:.0f}% with a non-zero value"
    )
    print(
        f"  recombination: {r['n_untried']} pairs, {100 * r['share_nonzero']:.0f}% with a "
        f"non-zero value; sign matches Q* for {100 * r['sign_match']:.0f}% "
        f"({100 * r['sign_match_positive']:.0f}% of {r['n_positive']} with Q* > 0, "
        f"{100 * r['sign_match_negative']:.0f}% of {r['n_negative']} with Q* < 0); "
        f"Spearman r = {r['spearman']:.2f}"
    )

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True, sharey=True)
    for ax, recombine, title in (
        (axes[0], False, "replay + rollouts"),
        (axes[1], True, "+ recombination (deja vu)"),
    ):
        q, qs = pooled[recombine]
        ax.scatter(qs, q, s=8, alpha=0.5, color="C3" if recombine else "C7")
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set(title=title, xlabel="exact Q*(s, a)")
    axes[0].set_ylabel("learnt Q(s, a) of never-tried pairs")
    fig.suptitle("values for never-visited state-action pairs")
    fig.tight_layout()
    config = {
        "seeds": seeds,
        "episodes": episodes,
        "gamma": GAMMA,
        "epsilon": EPSILON,
        "layout": LAYOUT,
        "account": "full",
    }
    png = save(fig, Path(args.out), "dmn_deja_vu", numbers, config)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
