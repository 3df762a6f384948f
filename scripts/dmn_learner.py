"""The paper's learner inside the DMN: replayed minibatches, loss 1/2 (Q - y)^2, SGD.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, section "Reinforcement
learning control: a process model for DMN function", subsection "The components of
reinforcement learning in the DMN"): the DMN improves its action values by self-training on
replayed experience: minibatches (s, a, r, s') ~ D drawn from hippocampal memory, targets
y = r + gamma max_a' Q(s', a' | theta), loss E_D[1/2 (Q(s, a | theta) - y)^2] minimised by
stochastic gradient descent; the posteromedial cortex carries the parameter update
||delta theta|| and the right TPJ the prediction error |Q - y| (the paper's Figure 4). Two
predictions: (1) this learner, running inside the DMN, learns the task from replay to near the
optimal return; (2) its PMC and rTPJ signals are distinct (a minibatch's update norm is the
norm of a mean gradient, not the mean error), whereas for a tabular learner
||delta theta|| = alpha |delta| makes them one regressor.

Task: the Dyna maze (``GridWorld(DYNA_MAZE)``, Sutton & Barto 2018, Figure 8.2; gamma 0.95),
``--episodes`` episodes of at most 500 steps per agent (the runner's episodic clock: 1 s trial,
1 s ITI, rest between episodes).

Agents, each the DMN process model (``account="full"``, its default allocation engagement,
relevance sentinel and learned recombination) around a learner:
``paper``: ``agent="replay_q"`` (one-hot linear Q, minibatches of 16 replayed memories, one
SGD step per replay step, Robbins-Monro step size alpha_t = 0.5 / (1 + t / 2000) (t = SGD
steps so far), ``online_update=False``: it learns from replayed minibatches only, as
in Mnih et al. 2015); ``no_replay``: the same learner with ``lesion="hippocampus"`` (no replay,
simulation or recombination) and ``online_update=True``, so that it learns by the same SGD
from each real transition: the same budget of episodes, in which it takes more real steps than
the intact agent (reported); ``tabular``: the DMN around tabular Q-learning (its default
learner); in the default run also ``paper_online``: the paper learner with
``online_update=True`` (it also steps on each real transition; ``checks``).

Per agent: the greedy return ratio E_start V^pi / E_start V* of the greedy policy of its final
Q (exact policy evaluation against value iteration on the maze's MDP); the Pearson correlation
r of its PMC (``update_norm``) and rTPJ (|``rpe``|) series of the Figure-4 map
(``RegionMap.paper()``) binned at 0.05 s (one computation step per bin: offline steps are
>= 0.1 s apart at replay_hz = 10).

Pre-declared tests (written before any reported run; one unit = one seed, n = seeds; alpha =
0.05, two-sided level: a claim holds when its 95% interval lies above the threshold):

| claim                                 | per-seed effect           | statistic      | test  |
|---------------------------------------|---------------------------|----------------|-------|
| replay_learner_reaches_optimal_return | paper: greedy return / V* | bootstrap_mean | > 0.8 |
| pmc_rtpj_separable                    | paper: 1 - r(PMC, rTPJ)   | bootstrap_mean | > 0.1 |

(1 - r > 0.1: the two signals share less than 81 % of their variance.)

Controls (each claim's own test on the control's per-seed effects; must *not* hold):
``no_replay`` (first claim): the hippocampus removed, the same learner stepping on real
transitions only, same episodes; ``tabular`` (second claim): the DMN around tabular
Q-learning, same episodes. Also reported (``checks``): the tabular learner's return ratio, the
no-replay learner's 1 - r, the ``paper_online`` figures (default run only), real steps per
agent.

Calibration: the episode budget, the thresholds and the choice of controls were set on seeds
100-105 (``--seed 100``): there the paper learner reached 0.903-1.0 of the optimal return within
10 episodes on every seed and the no-replay learner 0 within 20; r(PMC, rTPJ) was 0.70-0.84
(paper), 0.89-0.95 (paper_online), 0.92-0.97 (no_replay) and 1.000 (tabular). The learner's
parameters are those of tests/test_dmn_learner.py, whose figures on seeds 0-3 (25 episodes:
return ratio 0.90-1.00, r 0.75-0.82) were known when these tests were declared. Reported runs
use seeds from ``--seed`` (default 0) on.

Scale: every seed is one call of the module-level ``run_one_seed`` through
``script_args.map_seeds`` (``--jobs N`` local processes, ``--scheduler tcp://...`` a Dask
cluster), each depending only on its seed. The batched backends (darkcontrol.batched) cannot
run it: they batch tabular Q-learning, Dyna-Q and the DMN with heuristic engagement and rarity
salience, not the minibatch SGD learner (``replay_q``) nor the default allocation and
relevance sentinel.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``dmn_learner.png`` and
``dmn_learner.json`` to ``--out``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dmn_common import mean_ci, parser, save, seeds_of  # noqa: E402
from script_args import map_seeds, parse, scale_options, sized  # noqa: E402

from darkcontrol.agents import make_agent  # noqa: E402
from darkcontrol.envs import GridWorld  # noqa: E402
from darkcontrol.envs.mazes import DYNA_MAZE  # noqa: E402
from darkcontrol.envs.solvers import policy_evaluation, value_iteration  # noqa: E402
from darkcontrol.regions import RegionMap  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "dmn_learner"
GAMMA = 0.95
MAX_STEPS = 500
STEP_DT = 0.05
#: the paper's learner (as in tests/test_dmn_learner.py)
PAPER_LEARNER = {
    "agent": "replay_q",
    "features": "onehot",
    "batch_size": 16,
    "alpha": 0.5,
    "online_update": False,
    "step_size": "robbins_monro",
    "rm_tau": 2000.0,
}
CONDITIONS = {
    "paper": PAPER_LEARNER,
    "no_replay": {**PAPER_LEARNER, "online_update": True, "lesion": "hippocampus"},
    "tabular": {},
    "paper_online": {**PAPER_LEARNER, "online_update": True},
}
SPECS = {
    "replay_learner_reaches_optimal_return": ClaimSpec(
        "replay_learner_reaches_optimal_return",
        "bootstrap_mean",
        ">",
        0.8,
        description="the paper's minibatch-SGD learner inside the DMN: greedy return / optimal "
        "return (exact) on the Dyna maze > 0.8",
    ),
    "pmc_rtpj_separable": ClaimSpec(
        "pmc_rtpj_separable",
        "bootstrap_mean",
        ">",
        0.1,
        description="the paper's learner: 1 - r(PMC = ||delta theta||, rTPJ = |Q - y|) > 0.1",
    ),
}
CLAIM_CONTROL = {  # claim -> (per-agent quantity, its control condition)
    "replay_learner_reaches_optimal_return": ("ratio", "no_replay"),
    "pmc_rtpj_separable": ("separation", "tabular"),
}
CONTROL_TEXT = {
    "no_replay": "lesion='hippocampus' (no replay, simulation or recombination): the same SGD "
    "learner stepping on each real transition only, same episodes",
    "tabular": "the DMN around tabular Q-learning (||delta theta|| = alpha |delta|), same episodes",
}


def return_ratio(mdp, Q: np.ndarray) -> float:
    """E_start V^pi(s) / E_start V*(s) for the greedy policy of Q (exact policy evaluation)."""
    pi = np.zeros_like(Q)
    pi[np.arange(len(Q)), Q.argmax(1)] = 1.0
    v_pi = policy_evaluation(mdp, pi, GAMMA)
    v_star = value_iteration(mdp, GAMMA).V
    return float(mdp.start @ v_pi) / float(mdp.start @ v_star)


def pmc_rtpj_r(trace) -> float:
    """Pearson r of the Figure-4 PMC and rTPJ series, one computation step per bin (NaN if one
    of them never varies)."""
    ts = RegionMap.paper().time_series(trace, dt=STEP_DT)
    x, y = ts["PMC"].to_numpy(float), ts["rTPJ"].to_numpy(float)
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def run_condition(condition: str, seed: int, n_episodes: int) -> dict:
    env = GridWorld(DYNA_MAZE)
    dmn = make_agent("dmn", env, seed=seed, account="full", **CONDITIONS[condition])
    trace, _ = simulate(env, dmn, episodes=n_episodes, seeds=[seed], max_steps=MAX_STEPS)
    r = pmc_rtpj_r(trace)
    online = trace["phase"] == "online"
    return {
        "ratio": return_ratio(env.unwrapped.mdp, dmn.q_values()),
        "r": r,
        "separation": 1.0 - r if np.isfinite(r) else 0.0,
        "real_steps": int(online.sum()),
        "offline_steps": int((~online).sum()),
        "steps_per_episode": trace[online].groupby("episode", observed=True).size().tolist(),
    }


def run_one_seed(seed: int, n_episodes: int, conditions: tuple[str, ...]) -> dict:
    """Every condition of one seed (depends on ``seed`` alone)."""
    torch.set_num_threads(1)  # tiny tensors: extra threads only cost
    return {"seed": seed, **{c: run_condition(c, seed, n_episodes) for c in conditions}}


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=10, quick_seeds=4)
    sized(p, "--episodes", full=15, quick=15, help="episodes per agent")
    scale_options(p)
    args = parse(p, argv)
    if args.episodes < 1:
        p.error(f"--episodes must be >= 1, got {args.episodes}")
    seeds = seeds_of(args)
    say = (lambda *a, **k: None) if args.quiet else print
    conditions = ("paper", "no_replay", "tabular") + (() if args.quick else ("paper_online",))
    say(f"{STUDY}: Dyna maze, {len(seeds)} seeds x {args.episodes} episodes, {conditions}")
    per_seed = map_seeds(run_one_seed, seeds, args, args.episodes, conditions)

    def values(cond: str, key: str) -> np.ndarray:
        return np.array([s[cond][key] for s in per_seed], dtype=float)

    claims = []
    for i, (name, spec) in enumerate(SPECS.items()):
        key, control = CLAIM_CONTROL[name]
        claims.append(
            claim(
                spec,
                values("paper", key),
                controls={control: values(control, key)},
                descriptions=CONTROL_TEXT,
                seed=1000 * i,
            )
        )
    checks: dict = {}
    for cond in conditions:
        checks[cond] = {
            key: {"mean": float(np.mean(values(cond, key))), "per_seed": values(cond, key).tolist()}
            for key in ("ratio", "r", "real_steps", "offline_steps")
        }
    for i, (name, spec) in enumerate(SPECS.items()):  # the claims' tests on the other agents
        key, control = CLAIM_CONTROL[name]
        for cond in conditions:
            if cond in ("paper", control):
                continue
            c = claim(spec, values(cond, key), seed=2000 + 10 * i + len(cond))
            checks[cond][f"{name}_test"] = {"effect": c.effect, "ci": list(c.ci), "holds": c.holds}
    config = {
        "seeds": seeds,
        "calibration_seeds": [100, 101, 102, 103, 104, 105],
        "env": "GridWorld(DYNA_MAZE)",
        "gamma": GAMMA,
        "episodes": args.episodes,
        "max_steps": MAX_STEPS,
        "account": "full",
        "conditions": {c: CONDITIONS[c] for c in conditions},
        "step_dt": STEP_DT,
        "quick": args.quick,
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)
    for cond in conditions:
        say(
            f"  {cond:>12}: return / optimal {np.mean(values(cond, 'ratio')):.3f}, "
            f"r(PMC, rTPJ) {np.nanmean(values(cond, 'r')):.3f}, "
            f"real steps {np.mean(values(cond, 'real_steps')):.0f}"
        )
    for c in claims:
        say("  " + c.describe())
    fig = figure(per_seed, conditions, claims)
    png = save(fig, out, STUDY, {c.name: c.to_dict() for c in claims}, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(per_seed, conditions, claims):
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 3.8))
    for ax, key, thr, label in (
        (ax1, "ratio", claims[0].spec.threshold, "greedy return / optimal (exact)"),
        (ax2, "r", 1.0 - claims[1].spec.threshold, "r(PMC = ||dtheta||, rTPJ = |Q - y|)"),
    ):
        for i, cond in enumerate(conditions):
            v = np.array([s[cond][key] for s in per_seed], dtype=float)
            m, ci = mean_ci(v)
            ax.bar(i, m, yerr=ci, color=f"C{i}", capsize=3)
            ax.plot(np.full(len(v), i) + np.linspace(-0.2, 0.2, len(v)), v, "k.", ms=3)
        ax.axhline(thr, color="r", lw=0.8, ls="--", label=f"claim threshold {thr:.2f}")
        ax.set_xticks(range(len(conditions)), conditions, fontsize=8)
        ax.set(ylabel=label, ylim=(0, 1.1))
        ax.legend(fontsize=7, loc="lower right")
    ax1.set_title("learning the Dyna maze (mean, 95% CI; dots: seeds)", fontsize=9)
    ax2.set_title("PMC vs rTPJ: the claim needs r below the line", fontsize=9)
    for i, cond in enumerate(conditions):
        steps = np.array([s[cond]["steps_per_episode"] for s in per_seed], dtype=float)
        ax3.plot(np.arange(1, steps.shape[1] + 1), steps.mean(axis=0), color=f"C{i}", label=cond)
    ax3.set(xlabel="episode", ylabel="real steps per episode (mean over seeds)", yscale="log")
    ax3.set_title("real experience per episode", fontsize=9)
    ax3.legend(fontsize=7)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
