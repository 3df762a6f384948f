"""DMN engagement rises with practice and predictability and drops when the world changes.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, §2 and §4.3; cf. the
"autopilot" finding of Vatansever, Menon & Stamatakis 2017, PNAS): the more predictable the
world, the more the DMN processes offline; novelty suspends it (task-induced deactivation).

Study: the DMN model (``account="full"``, Q-learning inside) runs trials in the Dyna maze, each
followed by a 1-s inter-trial interval in which it may process offline at up to 10 Hz. We
record, per trial, the share of that ITI's replay budget it used (its *engagement*). After
``change`` trials the world changes: the action mapping is mirrored (up <-> down, left <->
right), so the learned transitions no longer hold. Second, the same agent in mazes made less
predictable by slippery moves (``slip``) shows lower engagement once practised.

Prints: mean engagement early in practice, late in practice, just after the change, at the
end; engagement by slip level; paired Wilcoxon tests over seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dmn_common import mean_ci, parser, save, seeds_of  # noqa: E402

import darkcontrol.envs  # noqa: E402, F401  (registers the environments)
from darkcontrol.clock import Schedule  # noqa: E402
from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

MIRROR = (2, 3, 0, 1)  # up <-> down, right <-> left
ITI_S, REPLAY_HZ, MAX_STEPS = 1.0, 10.0, 200


class MirrorFrom(gym.ActionWrapper):
    """From step ``change`` on (over the environment's lifetime, mid-episode too) every action
    is mirrored: the world changes under the agent's feet."""

    def __init__(self, env: gym.Env, change: int | None) -> None:
        super().__init__(env)
        self.change, self.n = change, 0

    def action(self, action: int) -> int:
        self.n += 1
        return MIRROR[action] if self.change is not None and self.n > self.change else action


def engagement_run(seed: int, n_trials: int, change: int | None, slip: float = 0.0) -> np.ndarray:
    """Per trial: offline steps in its ITI / the ITI's budget (0 after a salient trial)."""
    env = MirrorFrom(gym.make("darkcontrol/DynaMaze-v0", slip=slip), change)
    dmn = DMNAgent("q_learning", env, account="full", seed=seed, replay_hz=REPLAY_HZ)
    period = 1.0 + ITI_S
    sched = Schedule.task_only(period * n_trials, trial_s=1.0, iti_s=ITI_S)
    trace, _ = simulate(env, dmn, schedule=sched, seeds=[seed], max_steps=MAX_STEPS)
    t = trace.loc[trace["phase"] == "offline", "time"].to_numpy()
    trial = np.floor((t - 1.0) / period + 1e-9).astype(int)
    return np.bincount(trial, minlength=n_trials) / (ITI_S * REPLAY_HZ)


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    seeds = seeds_of(args)
    n_trials, change = (600, 300) if args.quick else (1600, 800)
    slips = (0.0, 0.2) if args.quick else (0.0, 0.1, 0.2, 0.4)
    w = 50 if args.quick else 100  # trials per window
    runs = np.array([engagement_run(s, n_trials, change) for s in seeds])
    windows = {
        "early": runs[:, :w].mean(1),
        "late": runs[:, change - w : change].mean(1),
        "after_change": runs[:, change : change + w].mean(1),
        "end": runs[:, -w:].mean(1),
    }
    by_slip = np.array(
        [[engagement_run(s, change, None, slip)[-w:].mean() for s in seeds] for slip in slips]
    )
    numbers = {k: float(v.mean()) for k, v in windows.items()}
    numbers["slip"] = list(slips)
    numbers["engagement_by_slip"] = by_slip.mean(1).tolist()
    if len(seeds) >= 5:
        from scipy.stats import wilcoxon

        numbers["p_practice"] = float(wilcoxon(windows["late"], windows["early"]).pvalue)
        numbers["p_change"] = float(wilcoxon(windows["late"], windows["after_change"]).pvalue)
    print(f"DMN engagement (share of the ITI replay budget used), {len(seeds)} seeds")
    for k, v in windows.items():
        print(f"  {k:>12}: {v.mean():.3f} +- {v.std(ddof=1) if len(v) > 1 else 0:.3f}")
    for slip, e in zip(slips, by_slip):
        print(f"  practised engagement with slip {slip:.1f}: {e.mean():.3f}")
    for k in ("p_practice", "p_change"):
        if k in numbers:
            print(f"  {k} (paired Wilcoxon): {numbers[k]:.2g}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    kernel = np.ones(25) / 25
    smooth = np.array([np.convolve(r, kernel, mode="valid") for r in runs])
    m, ci = mean_ci(smooth)
    x = np.arange(len(m)) + 12
    ax1.plot(x, m, color="C0")
    ax1.fill_between(x, m - ci, m + ci, color="C0", alpha=0.3)
    ax1.axvline(change, color="k", ls="--", lw=1)
    ax1.text(change, 0.05, " world changes\n (mirrored actions)", fontsize=8)
    ax1.set(xlabel="trial", ylabel="engagement (share of ITI replay budget)", ylim=(0, 1.05))
    ax1.set_title("practice raises DMN engagement; a change suspends it")
    m2, ci2 = mean_ci(by_slip.T)
    ax2.errorbar(slips, m2, yerr=ci2, marker="o", capsize=3)
    ax2.set(xlabel="slip (unpredictability)", ylabel="practised engagement", ylim=(0, 1.05))
    ax2.set_title("predictability")
    fig.tight_layout()
    config = {
        "seeds": seeds,
        "n_trials": n_trials,
        "change": change,
        "window": w,
        "iti_s": ITI_S,
        "replay_hz": REPLAY_HZ,
        "account": "full",
        "env": "DynaMaze-v0",
    }
    png = save(fig, Path(args.out), "dmn_engagement", numbers, config)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
