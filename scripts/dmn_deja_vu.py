"""Deja vu: values for never-tried state-action pairs, learnt from recombined experience.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, §4.2 "The components of
reinforcement learning in the DMN" and §3.3 "The hippocampus: memory, space, and experience
replay", with "Does the hippocampus subserve Monte Carlo sampling?"): the DMN does not only
replay what happened; recombining building blocks of past experience (and small variations in
the sampling of experience, a "noisy memory") lets it learn values for situations never lived,
so that never-met (s, a) pairs come with a value - deja vu.

Task: an open field (7 x 11, a short wall between start and goal, reward +1 at the goal,
gamma = 0.9; ``FIELD``). Agents: the DMN model (``account="full"``: replay .6, model rollouts
.2, recombination .2; sentinel on) around epsilon-greedy Q-learning (alpha 0.1, epsilon 0.05:
little exploration, so that ~60 (s, a) pairs of visited states stay untried), 10 episodes of
at most 500 steps, 1-s ITIs at 10 Hz. ``engagement="constant"``: every ITI gets the same
offline budget in every condition, so the conditions are compute-matched backup for backup (the
updates per real step are reported under ``checks.updates_per_step``). Ground truth: Q* of the
exact MDP by value iteration (same gamma). Per agent, over the (s, a) pairs never tried in a
visited non-terminal state: Spearman rho(learnt Q, Q*) (0 when the learnt values are all
equal: no ranking), and over all pairs of the visited non-terminal states ("whole map").

Conditions: ``stitch`` (the default learned recombination: fragments stitched by analogy in a
spectral embedding learnt from experience), ``perturb`` (perturbed replay, ``recombine_noise``
= NOISE_STAR, below) and the control ``replay_only_matched`` (``w_recombined=0``: the same
budget, all replay and model rollouts, which only re-use tried pairs). The noise sweep: perturb
at each of NOISE_LEVELS, and the same two levels with ``w_recombined=0``.

Pre-declared tests (before any reported run; n = agents = seeds; alpha = 0.05; a claim holds
when its 95% interval excludes the threshold on the declared side):

| claim                 | per-agent effect                                   | statistic    | test |
|-----------------------|----------------------------------------------------|--------------|------|
| deja_vu_stitch        | rho(Q, Q*) over never-tried pairs, stitch          | one_sample_t | > 0  |
| deja_vu_perturb       | rho(Q, Q*) over never-tried pairs, perturb (N*)    | one_sample_t | > 0  |
| noisy_memory_benefit  | whole-map rho at noise N* minus at noise 0         | paired_t     | > 0  |

Controls (each evaluated with its claim's own test; they remove the mechanism and must fail):
``replay_only_matched`` (the two deja vu claims): the same agents with ``w_recombined=0`` -
compute-matched replay and rollouts, no recombination; ``no_recombination_channel``
(noisy_memory_benefit): the sweep's two levels with ``w_recombined=0``, where the perturbation
has no path into learning. ``checks`` adds the whole sweep on the reported seeds, the other two
recombination modes (``association``, ``oracle_analogy`` - the world's true coordinates) and
the updates per real step (default run only).

Calibration: the field, epsilon, episodes, the sweep levels NOISE_LEVELS and the selection
rule (the level with the highest mean whole-map rho on seeds 100-109, ``--calibrate``) were
fixed on seeds 100-109; the selected level NOISE_STAR = 4 is pinned below. On those seeds the
mean whole-map rho was +0.01, +0.01, +0.10, +0.18, +0.36, +0.38, +0.35 at noise 0, 0.25, 0.5,
1, 2, 4, 8 (the ``--calibrate`` output). Reported runs use seeds from ``--seed`` (default 0)
on. ``--quick`` runs the same 20 seeds and the claims' conditions only (no sweep, no other
modes), so its claims are the default run's.

Scale: the per-seed work is one module-level function (:func:`run_one_seed`) run through
``script_args.map_seeds`` (``--jobs N`` local processes or ``--scheduler tcp://...``), each
seed's result depends on that seed only. The batched DMN (:mod:`darkcontrol.batched`) cannot
be used: recombination (stitch, perturb) is not batched there.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``dmn_deja_vu.png`` and
``dmn_deja_vu.json`` (the per-agent numbers) to ``--out``.
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
from script_args import map_seeds, scale_options  # noqa: E402

from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.envs import GridWorld, value_iteration  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "dmn_deja_vu"
FIELD = (
    "...........",
    "...........",
    "....#......",
    "..S.#...G..",
    "....#......",
    "...........",
    "...........",
)
GAMMA = 0.9
EPSILON = 0.05  # little exploration: many pairs stay untried
EPISODES = 10
MAX_STEPS = 500
ENGAGEMENT = "constant"  # the same offline budget per ITI in every condition
NOISE_LEVELS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)  # declared before calibration
NOISE_STAR = 4.0  # selected on the calibration seeds 100-109 (--calibrate)
CALIBRATION_SEEDS = list(range(100, 110))

CONDITIONS = {  # label -> DMN parameters
    "stitch": {"recombine": "stitch"},
    "perturb": {"recombine": "perturb", "recombine_noise": NOISE_STAR},
    "replay_only_matched": {"w_recombined": 0.0},
    "noise_0": {"recombine": "perturb", "recombine_noise": 0.0},
    "no_channel_star": {"recombine": "perturb", "recombine_noise": NOISE_STAR, "w_recombined": 0.0},
    "no_channel_0": {"recombine": "perturb", "recombine_noise": 0.0, "w_recombined": 0.0},
}
CHECK_CONDITIONS = {
    "association": {"recombine": "association"},
    "oracle_analogy": {"recombine": "oracle_analogy"},
    **{
        f"noise_{x:g}": {"recombine": "perturb", "recombine_noise": x}
        for x in NOISE_LEVELS
        if x not in (0.0, NOISE_STAR)
    },
}

SPECS = {
    "deja_vu_stitch": ClaimSpec(
        "deja_vu_stitch",
        "one_sample_t",
        description="Spearman rho(Q, Q*) over never-tried pairs > 0, stitched recombination",
    ),
    "deja_vu_perturb": ClaimSpec(
        "deja_vu_perturb",
        "one_sample_t",
        description=f"Spearman rho(Q, Q*) over never-tried pairs > 0, perturbed replay "
        f"(noise {NOISE_STAR:g})",
    ),
    "noisy_memory_benefit": ClaimSpec(
        "noisy_memory_benefit",
        "paired_t",
        description=f"whole-map Spearman rho(Q, Q*) at perturbation noise {NOISE_STAR:g} "
        "(selected on calibration seeds) minus at noise 0",
    ),
}
CONTROL_TEXT = {
    "replay_only_matched": "w_recombined=0: the same offline budget, replay and rollouts only",
    "no_recombination_channel": "the two noise levels with w_recombined=0 (no recombination)",
}


def rank_correlation(q: np.ndarray, q_star: np.ndarray) -> float:
    """Spearman rho; 0 when the learnt values carry no ranking (all equal) or < 3 pairs."""
    from scipy.stats import spearmanr

    if len(q) < 3 or np.ptp(q) == 0 or np.ptp(q_star) == 0:
        return 0.0
    return float(spearmanr(q, q_star).statistic)


def value_quality(seed: int, params: dict, layout=FIELD, episodes: int = EPISODES) -> dict:
    """Train one DMN agent; rho of its values with Q* over never-tried pairs ("untried"),
    tried pairs ("tried") and all pairs ("whole") of visited non-terminal states."""
    env = GridWorld(layout)
    dmn = DMNAgent(
        "q_learning",
        env,
        account="full",
        seed=seed,
        gamma=GAMMA,
        epsilon=EPSILON,
        engagement=ENGAGEMENT,
        **params,
    )
    _, summary = simulate(env, dmn, episodes=episodes, seeds=[seed], max_steps=MAX_STEPS)
    mdp = env.mdp
    q_star = value_iteration(mdp, GAMMA).Q
    visits = dmn.model.visits
    live = np.broadcast_to(((visits.sum(axis=1) > 0) & ~mdp.terminal)[:, None], visits.shape)
    untried, tried = live & (visits == 0), live & (visits > 0)
    q = dmn.q_values()
    n_real = int(sum(summary.runs[0].lengths))
    return {
        "untried": rank_correlation(q[untried], q_star[untried]),
        "tried": rank_correlation(q[tried], q_star[tried]),
        "whole": rank_correlation(q[live], q_star[live]),
        "n_untried": int(untried.sum()),
        "n_updates": int(dmn.n_updates),
        "updates_per_step": float(dmn.n_updates / max(n_real, 1)),
        "pairs": (q[untried].tolist(), q_star[untried].tolist()),
    }


def run_one_seed(seed: int, with_checks: bool) -> dict:
    """Every condition for one seed (module level: map_seeds may run it elsewhere)."""
    conds = {**CONDITIONS, **(CHECK_CONDITIONS if with_checks else {})}
    return {k: value_quality(seed, v) for k, v in conds.items()}


def calibrate(seeds: list[int], args) -> dict[float, float]:
    """Mean whole-map rho per noise level on the calibration seeds."""
    per = map_seeds(run_sweep_seed, seeds, args)
    return {x: float(np.mean([p[x] for p in per])) for x in NOISE_LEVELS}


def run_sweep_seed(seed: int) -> dict[float, float]:
    return {
        x: value_quality(seed, {"recombine": "perturb", "recombine_noise": x})["whole"]
        for x in NOISE_LEVELS
    }


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=20, quick_seeds=20)
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="run the noise sweep on the calibration seeds 100-109 and print the selected level",
    )
    scale_options(p)
    args = p.parse_args(argv)
    say = (lambda *a, **k: None) if args.quiet else print
    if args.calibrate:
        table = calibrate(CALIBRATION_SEEDS, args)
        for x, m in table.items():
            print(f"  noise {x:g}: whole-map rho {m:+.3f}")
        print(f"selected noise: {max(table, key=table.get):g}")
        return 0
    seeds = seeds_of(args)
    with_checks = not args.quick
    say(
        f"deja vu on a {len(FIELD)} x {len(FIELD[0])} field: {len(seeds)} DMN agents x "
        f"{EPISODES} episodes, epsilon {EPSILON}"
    )
    per = map_seeds(run_one_seed, seeds, args, with_checks)

    def col(cond: str, key: str) -> np.ndarray:
        return np.array([r[cond][key] for r in per], dtype=float)

    claims = [
        claim(
            SPECS["deja_vu_stitch"],
            col("stitch", "untried"),
            controls={"replay_only_matched": col("replay_only_matched", "untried")},
            descriptions=CONTROL_TEXT,
            seed=0,
        ),
        claim(
            SPECS["deja_vu_perturb"],
            col("perturb", "untried"),
            controls={"replay_only_matched": col("replay_only_matched", "untried")},
            descriptions=CONTROL_TEXT,
            seed=1000,
        ),
        claim(
            SPECS["noisy_memory_benefit"],
            col("perturb", "whole"),
            col("noise_0", "whole"),
            controls={
                "no_recombination_channel": (
                    col("no_channel_star", "whole"),
                    col("no_channel_0", "whole"),
                )
            },
            descriptions=CONTROL_TEXT,
            seed=2000,
        ),
    ]
    conds = list(per[0])
    summary = {
        k: {
            m: float(col(k, m).mean())
            for m in ("untried", "tried", "whole", "n_untried", "updates_per_step")
        }
        for k in conds
    }
    sweep = {
        f"{x:g}": summary[f"noise_{x:g}" if x != NOISE_STAR else "perturb"]["whole"]
        for x in NOISE_LEVELS
        if (f"noise_{x:g}" in summary or x == NOISE_STAR)
    }
    checks = {
        "conditions": summary,
        "noise_sweep_whole_map_rho": sweep,
        "updates_per_step": {k: v["updates_per_step"] for k, v in summary.items()},
    }
    config = {
        "seeds": seeds,
        "calibration_seeds": CALIBRATION_SEEDS,
        "episodes": EPISODES,
        "max_steps": MAX_STEPS,
        "gamma": GAMMA,
        "epsilon": EPSILON,
        "engagement": ENGAGEMENT,
        "account": "full",
        "layout": FIELD,
        "noise_levels": NOISE_LEVELS,
        "noise_star": NOISE_STAR,
        "conditions": {**CONDITIONS, **(CHECK_CONDITIONS if with_checks else {})},
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)
    for k, v in summary.items():
        say(
            f"  {k:>20}: rho never-tried {v['untried']:+.2f} ({v['n_untried']:.0f} pairs), "
            f"tried {v['tried']:+.2f}, whole map {v['whole']:+.2f}; "
            f"{v['updates_per_step']:.1f} updates per real step"
        )
    for c in claims:
        say("  " + c.describe())
    fig = figure(per, claims, sweep)
    numbers = {
        "claims": {c.name: c.to_dict() for c in claims},
        "per_agent": [
            {k: {m: r[k][m] for m in ("untried", "tried", "whole", "n_untried")} for k in r}
            for r in per
        ],
        "noise_sweep": sweep,
    }
    png = save(fig, out, STUDY, numbers, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(per, claims, sweep):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, cond, title in (
        (axes[0], "replay_only_matched", "replay + rollouts only (control)"),
        (axes[1], "stitch", "+ stitched recombination (deja vu)"),
    ):
        q = np.concatenate([r[cond]["pairs"][0] for r in per])
        qs = np.concatenate([r[cond]["pairs"][1] for r in per])
        ax.scatter(qs, q, s=6, alpha=0.4, color="C3" if cond == "stitch" else "C7")
        ax.set(title=title, xlabel="exact Q*(s, a)", ylabel="learnt Q(s, a), never-tried pairs")
    levels = [float(k) for k in sweep]
    ax = axes[2]
    ax.plot(levels, list(sweep.values()), marker="o", color="C0")
    ax.axvline(
        NOISE_STAR, color="k", lw=0.5, ls="--", label=f"selected (calibration): {NOISE_STAR:g}"
    )
    ax.set(
        xscale="symlog",
        xlabel="perturbation noise (recombine='perturb')",
        ylabel="whole-map Spearman rho(Q, Q*), mean",
        title="noisy memory: the sweep",
    )
    ax.set_xticks(levels, [f"{x:g}" for x in levels])
    ax.legend(fontsize=8)
    txt = "\n".join(f"{c.name}: {c.effect:+.2f} {'holds' if c.holds else 'no'}" for c in claims)
    axes[1].text(0.02, 0.98, txt, transform=axes[1].transAxes, va="top", fontsize=7)
    fig.suptitle("deja vu: values for never-tried state-action pairs")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
