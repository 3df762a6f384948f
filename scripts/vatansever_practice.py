"""Vatansever, Menon & Stamatakis 2017: DMN engagement in the practised phase of a task.

The finding (PNAS 114(48):12821-12826, "Default mode contributions to automated information
processing"): in a cognitive flexibility task (card sorting by context-specific rules), DMN
activity heightened in the *application* phase, once the rules were learnt, compared with the
*acquisition* phase, and there related to effective (faster, more accurate) responses; in
acquisition it did not. Dohmatob, Dumas & Bzdok (2020, Hum Brain Mapp 41(12):3318-3341) cite
it in section "Reinforcement learning control: a process model for DMN function", §4.3
"Summary and hypotheses for future studies", as support for their allocation of resources to
the DMN when the environment is familiar and predictable (the "autopilot" role), next to
random-sampling evaluation that is partly suspended by novelty or the need to act.

Task and agents: the DMN model (``DMNAgent("q_learning", account="full")``, its default
engagement the allocation of :mod:`darkcontrol.dmn.allocation`; epsilon-greedy Q-learning,
alpha 0.1, gamma 0.95, epsilon 0.1) learns ``darkcontrol/DynaMaze-v0`` from scratch for
``--episodes`` episodes (a run from the start to the goal, cut at 200 steps), each step a 1-s
trial followed by a 1-s inter-trial interval (``darkcontrol.clock.Clock``) in which it may
process offline at up to 10 Hz. *Acquisition*: the first ``--acquisition`` episodes; *practised*:
the episodes from ``--practised`` on. Per episode: its **engagement**, the mean offline share the
agent allocated to the ITIs between its trials (after each response but the last, before the
next); its **effectiveness**, d*(start) / steps taken (1: the shortest path; d* the shortest
path length from value iteration on the exact MDP, ``checks.exact``) -- the model's "faster"
responses (fewer steps to the goal). Per agent and phase: the partial correlation, across the
phase's episodes, of engagement and effectiveness with the episode index partialled out (so
that the learning trend both share in acquisition does not count as a relation).

Pre-declared tests (declared before any reported run; n = agents; alpha = 0.05, two-sided
level: a claim holds when its 95% interval lies beyond the threshold on the declared side):

| claim                                 | per-agent effect                    | test         |
|---------------------------------------|-------------------------------------|--------------|
| engagement_practised_over_acquisition | engagement, practised - acquisition | paired_t > 0 |
| engagement_effectiveness_r_practised  | partial r, practised                | bootstrap > 0|
| r_practised_over_acquisition          | partial r, practised - acquisition  | paired_t > 0 |

Controls, each evaluated with each claim's own test, which must *not* hold:
``constant_demand``: the same agents with ``demand="constant"`` (the attention demand replaced
by its default constant, 0.3: the share moves with the value of computation only);
``no_uncertainty``: ``w_uncertainty=0`` (the demand keeps the stake ahead but loses the agent's
predicted uncertainty of what comes next: the "familiar and predictable" term of the paper's
sentence). Reported, not controls, under ``checks``: the same tests on the earlier rule
``engagement="heuristic"`` (1 - a running mean of surprise), and a trial-level version
(``checks.trial_level``: per agent, r of each trial's preceding-ITI share with whether its
action is optimal under the exact Q*, high-passed by a 51-trial moving average, per phase).

Calibration: the maze, the phase boundaries and the controls were set on seeds 100-107
(``--seed 100``); reported runs use seeds from ``--seed`` (default 0) on.

Size: 10 agents, in the default run and under ``--quick`` alike (``--quick`` leaves out only the
heuristic check, to stay within a minute): on the calibration seeds the third claim's interval
came close to 0 (+0.36 [-0.04, +0.76], 8 agents), so a smaller quick run could disagree with
the default one; the same agents make them agree by construction. More agents: ``--seeds``.

Scale: every agent is independent (one ``run_one_seed`` per seed through
``script_args.map_seeds``), so ``--jobs 8`` or ``--scheduler tcp://host:8786`` reruns the study
with 1,000 agents on a cluster. It cannot use :mod:`darkcontrol.batched`: the batched DMN
implements the heuristic engagement and the rarity salience, not the allocation tested here.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``vatansever_practice.png`` and
``vatansever_practice.json`` (per-agent effects) to ``--out``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import gymnasium as gym
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dmn_common import parser, save, seeds_of  # noqa: E402
from script_args import map_seeds, parse, scale_options, sized  # noqa: E402

import darkcontrol.envs  # noqa: E402, F401  (registers the environments)
from darkcontrol.clock import Clock  # noqa: E402
from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.envs import value_iteration  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "vatansever_practice"
ENV_ID = "darkcontrol/DynaMaze-v0"
GAMMA, MAX_STEPS, REPLAY_HZ = 0.95, 200, 10.0
CLOCK = Clock(trial_s=1.0, iti_s=1.0)
HIGH_PASS = 51  # trials, the moving average removed in checks.trial_level
CALIBRATION_SEEDS = list(range(100, 108))

SPECS = {
    "engagement_practised_over_acquisition": ClaimSpec(
        "engagement_practised_over_acquisition",
        "paired_t",
        description="mean offline share in the ITIs, practised - acquisition episodes",
    ),
    "engagement_effectiveness_r_practised": ClaimSpec(
        "engagement_effectiveness_r_practised",
        "bootstrap_mean",
        description="partial r(episode engagement, d*/steps | episode index), practised, > 0",
    ),
    "r_practised_over_acquisition": ClaimSpec(
        "r_practised_over_acquisition",
        "paired_t",
        description="that partial r, practised - acquisition",
    ),
}
CONDITIONS = {
    "intact": {},
    "constant_demand": {"demand": "constant"},
    "no_uncertainty": {"w_uncertainty": 0.0},
    "heuristic": {"engagement": "heuristic"},
}
CONTROLS = ("constant_demand", "no_uncertainty")
CONTROL_TEXT = {
    "constant_demand": "demand='constant' (0.3): the share moves with the value of computation",
    "no_uncertainty": "w_uncertainty=0: the demand without the predicted uncertainty",
}


# -- the exact MDP -----------------------------------------------------------------------------
def exact():
    """Q*, the optimal actions and the shortest path length d*(s) to the goal (value iteration
    on the exact MDP: reward 1 on reaching the goal, so V*(s) = gamma^(d*(s) - 1))."""
    mdp = gym.make(ENV_ID).unwrapped.mdp
    sol = value_iteration(mdp, GAMMA)
    with np.errstate(divide="ignore"):
        d = 1.0 + np.log(np.where(sol.V > 0, sol.V, np.nan)) / math.log(GAMMA)
    return sol, sol.Q >= sol.Q.max(axis=1, keepdims=True) - 1e-9, d


# -- statistics --------------------------------------------------------------------------------
def corr(x, y) -> float:
    """Pearson r; 0 for a constant series (an engagement that never varies relates to nothing)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or x.std() < 1e-12 or y.std() < 1e-12:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def partial(x, y, z) -> float:
    """r of x and y after regressing z (and a constant) out of both."""
    Z = np.column_stack([np.ones(len(z)), np.asarray(z, dtype=float)])

    def resid(v):
        v = np.asarray(v, dtype=float)
        return v - Z @ np.linalg.lstsq(Z, v, rcond=None)[0]

    return corr(resid(x), resid(y))


def high_pass(x: np.ndarray, k: int = HIGH_PASS) -> np.ndarray:
    pad = np.pad(x, (k // 2, k // 2), mode="edge")
    return x - np.convolve(pad, np.ones(k) / k, mode="valid")


# -- one agent ---------------------------------------------------------------------------------
def agent_run(seed: int, n_episodes: int, params: dict):
    env = gym.make(ENV_ID)
    agent = DMNAgent(
        "q_learning",
        env,
        account="full",
        seed=seed,
        replay_hz=REPLAY_HZ,
        agent_gamma=GAMMA,
        **params,
    )
    trace, _ = simulate(
        env, agent, episodes=n_episodes, seeds=[seed], clock=CLOCK, max_steps=MAX_STEPS
    )
    return trace[trace["phase"] == "online"].reset_index(drop=True)


def effects(online, acq: int, prac: int) -> dict:
    """Per-phase engagement, effectiveness and their partial r (episode index partialled out),
    and the trial-level check."""
    _, optimal, d = exact()
    ep = online["episode"].to_numpy()
    eng = online["engagement"].to_numpy(dtype=float)
    rows = []
    for k in np.unique(ep):
        idx = np.flatnonzero(ep == k)
        inner = idx[:-1] if len(idx) > 1 else idx  # the ITIs between the episode's trials
        s0 = int(online["state"].iat[idx[0]])
        rows.append((k, eng[inner].mean(), d[s0] / len(idx)))
    E = np.array(rows)
    phases = {"acquisition": E[E[:, 0] < acq], "practised": E[E[:, 0] >= prac]}
    out = {}
    s = online["state"].to_numpy()
    a = online["action"].to_numpy()
    correct = optimal[s, a].astype(float)
    e_prev = np.r_[np.nan, eng[:-1]]
    for name, P in phases.items():
        trials = np.flatnonzero(np.isin(ep, P[:, 0].astype(int)))
        trials = trials[trials > 0]
        out[name] = {
            "engagement": float(P[:, 1].mean()),
            "effectiveness": float(P[:, 2].mean()),
            "r": partial(P[:, 1], P[:, 2], P[:, 0]),
            "r_raw": corr(P[:, 1], P[:, 2]),
            "n_episodes": len(P),
            "trial_r": corr(high_pass(e_prev[trials]), high_pass(correct[trials])),
            "accuracy": float(correct[trials].mean()),
        }
    return out


def run_one_seed(seed: int, n_episodes: int, acq: int, prac: int, conditions: tuple) -> dict:
    """Everything one agent contributes, for each condition (depends on the seed alone)."""
    return {c: effects(agent_run(seed, n_episodes, CONDITIONS[c]), acq, prac) for c in conditions}


def claim_data(per_seed: list[dict], cond: str, name: str):
    pr = [s[cond]["practised"] for s in per_seed]
    aq = [s[cond]["acquisition"] for s in per_seed]
    if name == "engagement_practised_over_acquisition":
        return (np.array([p["engagement"] for p in pr]), np.array([q["engagement"] for q in aq]))
    if name == "engagement_effectiveness_r_practised":
        return np.array([p["r"] for p in pr])
    return (np.array([p["r"] for p in pr]), np.array([q["r"] for q in aq]))


def not_produced(per_seed, c) -> str:
    """Why a claim does not hold, in the study's own numbers."""
    ph = {
        p: float(np.mean([s["intact"][p]["r"] for s in per_seed]))
        for p in ("acquisition", "practised")
    }
    why = {
        "engagement_practised_over_acquisition": "engagement does not rise with practice",
        "engagement_effectiveness_r_practised": "once practised, engagement does not track "
        "effective runs",
        "r_practised_over_acquisition": "the relation is not specific to the practised phase: "
        "in acquisition engagement also follows the agent's own uncertainty, which varies "
        "across runs, and the sign and size of that relation differ between agents",
    }[c.name]
    return (
        f"not produced by the model: {why} (effect {c.effect:+.3f} [{c.ci[0]:+.3f}, "
        f"{c.ci[1]:+.3f}]; mean partial r, acquisition {ph['acquisition']:+.3f}, practised "
        f"{ph['practised']:+.3f})"
    )


def _xy(d):
    return d if isinstance(d, tuple) else (d,)


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=10, quick_seeds=10)
    sized(p, "--episodes", full=120, quick=120, help="episodes per agent")
    sized(p, "--acquisition", full=20, quick=20, help="acquisition: the first N episodes")
    sized(p, "--practised", full=60, quick=60, help="practised: the episodes from N on")
    scale_options(p)
    args = parse(p, argv)
    if not 3 <= args.acquisition <= args.practised <= args.episodes - 3:
        p.error(
            "need 3 <= --acquisition <= --practised <= --episodes - 3, got "
            f"{args.acquisition}, {args.practised}, {args.episodes}"
        )
    seeds = seeds_of(args)
    say = (lambda *a, **k: None) if args.quiet else print
    # --quick leaves out the heuristic rule (a check, not a claim or control) to keep to a minute
    conditions = tuple(c for c in CONDITIONS if not (args.quick and c == "heuristic"))
    say(f"Vatansever et al. 2017 in the DMN model: {len(seeds)} agents x {args.episodes} episodes")
    per_seed = map_seeds(
        run_one_seed, seeds, args, args.episodes, args.acquisition, args.practised, conditions
    )
    claims, checks = [], {"heuristic": {}, "trial_level": {}}
    for k, (name, spec) in enumerate(SPECS.items()):
        c = claim(
            spec,
            *_xy(claim_data(per_seed, "intact", name)),
            controls={ctl: claim_data(per_seed, ctl, name) for ctl in CONTROLS},
            descriptions=CONTROL_TEXT,
            seed=1000 * k,
        )
        if not c.holds:
            c = claim(
                spec,
                *_xy(claim_data(per_seed, "intact", name)),
                controls={ctl: claim_data(per_seed, ctl, name) for ctl in CONTROLS},
                descriptions=CONTROL_TEXT,
                seed=1000 * k,
                reason=not_produced(per_seed, c),
            )
        claims.append(c)
        if "heuristic" in conditions:
            r = claim(spec, *_xy(claim_data(per_seed, "heuristic", name)), seed=2000 + k)
            checks["heuristic"][name] = {"effect": r.effect, "ci": list(r.ci), "holds": r.holds}
    for cond in conditions:
        checks["trial_level"][cond] = {
            ph: float(np.mean([s[cond][ph]["trial_r"] for s in per_seed]))
            for ph in ("acquisition", "practised")
        }
    sol, _, d = exact()
    checks["exact"] = {"shortest_path_from_start": float(np.nanmin(d[gym.make(ENV_ID)
                       .unwrapped.mdp.start > 0]))}  # fmt: skip
    checks["phases"] = {
        cond: {
            ph: {
                key: float(np.mean([s[cond][ph][key] for s in per_seed]))
                for key in ("engagement", "effectiveness", "accuracy", "r", "r_raw", "n_episodes")
            }
            for ph in ("acquisition", "practised")
        }
        for cond in conditions
    }
    config = {
        "seeds": seeds,
        "calibration_seeds": CALIBRATION_SEEDS,
        "env": ENV_ID,
        "n_episodes": args.episodes,
        "acquisition_episodes": [0, args.acquisition],
        "practised_episodes": [args.practised, args.episodes],
        "clock": CLOCK.to_dict(),
        "replay_hz": REPLAY_HZ,
        "max_steps": MAX_STEPS,
        "account": "full",
        "engagement": "allocation",
        "agent": {"name": "q_learning", "policy": "epsilon_greedy", "gamma": GAMMA},
        "conditions": CONDITIONS,
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)
    for c in claims:
        say("  " + c.describe())
    for cond, ph in checks["phases"].items():
        say(
            f"  {cond:>16}: engagement {ph['acquisition']['engagement']:.2f} -> "
            f"{ph['practised']['engagement']:.2f}; r {ph['acquisition']['r']:+.2f} -> "
            f"{ph['practised']['r']:+.2f}"
        )
    fig = figure(per_seed, claims)
    numbers = {"claims": {c.name: c.to_dict() for c in claims}, "per_seed": per_seed}
    png = save(fig, out, STUDY, numbers, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(per_seed, claims):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    conds = tuple(per_seed[0])
    for ax, key, label in (
        (axes[0], "engagement", "mean ITI offline share"),
        (axes[1], "r", "partial r(engagement, effectiveness)"),
    ):
        for i, cond in enumerate(conds):
            for j, ph in enumerate(("acquisition", "practised")):
                v = np.array([s[cond][ph][key] for s in per_seed])
                x = i + (j - 0.5) * 0.35
                ax.bar(x, v.mean(), 0.33, color="C0" if j else "C1",
                       label=ph if i == 0 else None)  # fmt: skip
                ax.plot(np.full(len(v), x), v, "k.", ms=3)
        ax.set_xticks(range(len(conds)), [c.replace("_", "\n") for c in conds], fontsize=8)
        ax.axhline(0, color="k", lw=0.5)
        ax.set(ylabel=label)
        ax.legend(fontsize=7)
    axes[0].set_title("engagement by phase (dots: agents)")
    axes[1].set_title("engagement ~ effectiveness, within agent")
    xs = np.arange(len(claims))
    for off, key, color in ((-0.27, None, "C0"), (0.0, "constant_demand", "C7"),
                            (0.27, "no_uncertainty", "C8")):  # fmt: skip
        rows = [c if key is None else c.control(key) for c in claims]
        eff = [r.effect for r in rows]
        err = np.array([[r.effect - r.ci[0], r.ci[1] - r.effect] for r in rows]).T
        axes[2].bar(xs + off, eff, 0.27, yerr=err, color=color, capsize=3,
                    label=key or "DMN (allocation)")  # fmt: skip
    axes[2].axhline(0, color="k", lw=0.5)
    axes[2].set_xticks(xs, ["engagement\npractised - acq.", "r practised", "r practised\n- acq."],
                       fontsize=8)  # fmt: skip
    axes[2].set(ylabel="effect (95% CI)", title="claims and controls")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
