"""The sentinel weighs what is at stake: offline processing is suspended for relevance, not rarity.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, section "Relation to
existing accounts", its "The sentinel account"): the DMN monitors the environment and
interrupts offline processing (vicarious trial and error) for what matters. The paper reads the
sentinel's signal as relevance (the Bellman equation stratifies attention over relevant cues),
so the model's sentinel weighs stakes: salience = spe x K(s'), the transition's surprise under
the learned model (spe = 1 - P_hat(s' | s, a)) times the stake of the state reached (K(s') =
max_a q(s', a) - min_a q(s', a) in the learned model; :mod:`darkcontrol.dmn.sentinel`); a
transition with salience >= 1 suspends the offline window (ITI) that follows it.

Task: ``darkcontrol/Sentinel-v0`` (envs/sentinel.py) with 4 places on a loop (+1 per lap); each
step the state reached carries a cue. Two worlds per seed, each one episode of 2,000 practice
+ 2,000 test steps (``--quick``: the same, 4 seeds instead of 12):

- ``rare``: a rare threat (p = 0.02; -10 unless escaped, -1 if escaped) and a rare cue of zero
  value (the social cue with ``social_reward=0``, p = 0.02), in the same agent;
- ``common``: a common threat (p = 0.3) and the same rare zero-value cue (p = 0.02).

Agents: the DMN model, ``DMNAgent("q_learning", account="sentinel")`` (the paper's sentinel
account as a special case of the model: hippocampal replay at 10 Hz, the sentinel, the
allocation of engagement; the salience rule is the same in every account with the sentinel
on, and the full account's rollouts and recombination cost 4x the time without entering it),
epsilon-greedy Q-learning (epsilon 0.25, so that both responses are tried in every cue state,
gamma 0.9, alpha 0.1), ``salience="relevance"`` (the default), ``reconsolidate=False``: this
world is stationary and stochastic, and the DMN's reconsolidation (rewrite what (s, a) leads to
when a prediction held 3 times fails: a rule for walls that move) collapses a stochastic
outcome onto its last sample, so a cue state's learned stake was wrong on some calibration
seeds (the zero-value cue then suspended 10 % of the time, 0 % without it).

Per seed and cue, the suspension share: the share of the test-phase occurrences of the cue
(the state reached carries it) whose ITI the sentinel suspended (salience >= threshold; the
DMN then makes no offline step; ``checks.suspended_vs_salient`` compares the agent's own
count of suspended ITIs with the trace's).

Pre-declared tests (declared before any reported run; n = seeds; alpha = 0.05, two-sided
level: a claim holds when its 95% interval excludes the threshold on the declared side):

| claim                                  | per-seed effect (shares)  | statistic      | test   |
|----------------------------------------|---------------------------|----------------|--------|
| suspends_for_stake_over_zero_value_cue | rare: threat - zero-value | one_sample_t   | > 0    |
| ignores_zero_value_rare_cue            | rare: zero-value cue      | bootstrap_mean | < 0.10 |
| common_stake_over_rare_zero_value_cue  | common: threat - zero-val | one_sample_t   | > 0    |

The first says that what is at stake, not surprise, sets the suspension (both cues are equally
rare); the second that a rare event of no consequence is ignored (the 0.10 bound: the tests of
issue 12 used it before any number here); the third that a common (less surprising, spe ~ 0.7)
but high-stake cue suspends more than a rare (spe ~ 0.98) one of no value: stake, not rarity.

Controls, each evaluated with its claim's test on its own per-seed effects (same seeds, same
worlds), which must *not* hold where they remove the mechanism the claim needs:

- ``rarity_salience`` (claim 2): ``salience="rarity"``, the earlier rule, surprise + 0.05 x cue
  value >= 1: every rare event is nearly salient by its surprise alone. Its small value term
  carries some stake, so it is no removal for claims 1 and 3: there it is reported with the
  claims' tests under ``checks.rarity_salience``, not as a control;
- ``surprise_only`` (every claim): the stake removed, salience = spe (``salience="rarity"``,
  ``w_value=0``) suspending at spe >= 0.5 (``salience_threshold=0.5``; the same as spe x a
  constant stake of 2 >= 1): any event the model gave less than even odds suspends;
- ``sentinel_off`` (claims 1 and 3): ``sentinel=False``, nothing suspends.

Ground truth (``checks.exact``): by value iteration on each world's exact MDP (gamma 0.9), the
exact stake K*(s) of every cue state and the exact relevance salience (1 - p_cue) x K*(s):
threat states are salient, zero-value cue states are not.

Calibration: the worlds, the practice length, the learner, reconsolidate=False and the
controls' thresholds were set on seeds 100-107 (``--seed 100``); reported runs use seeds from
``--seed`` (default 0) on.

Scale: each seed (its 8 runs: 2 worlds x 4 sentinels) is one call of ``run_one_seed`` through
``script_args.map_seeds``, so ``--jobs 8`` or ``--scheduler tcp://...`` reruns it with 1,000
agents on a cluster. The batched DMN (``darkcontrol.batched``) implements the heuristic
engagement and the *rarity* salience only, not the relevance sentinel's stake (a look-ahead in
each agent's learned model), so this study runs the reference agents, one per process.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``dmn_sentinel.png`` and
``dmn_sentinel.json`` (the per-seed table) to ``--out``.
"""

from __future__ import annotations

import sys
import textwrap
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
from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.envs import value_iteration  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402
from darkcontrol.trace import TraceRecorder  # noqa: E402

STUDY = "dmn_sentinel"
ENV_ID = "darkcontrol/Sentinel-v0"
N_POSITIONS = 4
GAMMA = 0.9
AGENT = {"epsilon": 0.25, "agent_gamma": GAMMA, "alpha": 0.1}
#: the world is stationary and stochastic: no reconsolidation (see the docstring)
DMN = {"account": "sentinel", "reconsolidate": False}
ACCOUNT = DMN["account"]
WORLDS = {
    "rare": {"p_threat": 0.02, "p_social": 0.02, "social_reward": 0.0},
    "common": {"p_threat": 0.3, "p_social": 0.02, "social_reward": 0.0},
}
CONDITIONS = {
    "relevance": {"salience": "relevance"},
    "rarity_salience": {"salience": "rarity"},
    "surprise_only": {"salience": "rarity", "w_value": 0.0, "salience_threshold": 0.5},
    "sentinel_off": {"sentinel": False},
}
#: the zero-value cue is the social cue with social_reward = 0
NULL, THREAT = "social", "threat"
NULL_BOUND = 0.10

# -- the pre-declared tests (see the docstring) ------------------------------------------------
SPECS = {
    "suspends_for_stake_over_zero_value_cue": ClaimSpec(
        "suspends_for_stake_over_zero_value_cue",
        "one_sample_t",
        description="rare world: suspension share at the rare threat minus at the equally rare "
        "zero-value cue, > 0",
    ),
    "ignores_zero_value_rare_cue": ClaimSpec(
        "ignores_zero_value_rare_cue",
        "bootstrap_mean",
        direction="<",
        threshold=NULL_BOUND,
        description=f"rare world: suspension share at the rare zero-value cue, < {NULL_BOUND}",
    ),
    "common_stake_over_rare_zero_value_cue": ClaimSpec(
        "common_stake_over_rare_zero_value_cue",
        "one_sample_t",
        description="common world: suspension share at the common threat (p 0.3) minus at the "
        "rare zero-value cue (p 0.02), > 0",
    ),
}
#: claim -> (world, effect: "threat-null" or "null")
DESIGN = {
    "suspends_for_stake_over_zero_value_cue": ("rare", "threat-null"),
    "ignores_zero_value_rare_cue": ("rare", "null"),
    "common_stake_over_rare_zero_value_cue": ("common", "threat-null"),
}
CONTROLS = {
    "suspends_for_stake_over_zero_value_cue": ("surprise_only", "sentinel_off"),
    "ignores_zero_value_rare_cue": ("rarity_salience", "surprise_only"),
    "common_stake_over_rare_zero_value_cue": ("surprise_only", "sentinel_off"),
}
#: the earlier rule on the claims where it is no removal (its value term carries some stake):
#: reported under checks.rarity_salience, not a control
REFERENCES = {
    "suspends_for_stake_over_zero_value_cue": "rarity_salience",
    "common_stake_over_rare_zero_value_cue": "rarity_salience",
}
CONTROL_TEXT = {
    "rarity_salience": "salience='rarity': surprise + 0.05 x cue value >= 1 (the earlier rule)",
    "surprise_only": "the stake removed: salience = spe, suspending at spe >= 0.5",
    "sentinel_off": "sentinel=False: nothing suspends offline processing",
}


# -- simulation (the only calls into the runner) -----------------------------------------------
def make_env(world: str, practice: int, test: int):
    return gym.make(
        ENV_ID, n_positions=N_POSITIONS, episode_length=practice + test, **WORLDS[world]
    )


def run_agent(seed: int, world: str, condition: str, practice: int, test: int) -> dict:
    """One agent in one world: per cue, the share of its test-phase occurrences whose ITI
    was suspended, and the agent's own count of suspended ITIs against its salient trials."""
    env = make_env(world, practice, test)
    dmn = DMNAgent(
        "q_learning",
        env,
        **DMN,
        seed=seed,
        recorder=TraceRecorder(mode="online"),
        **AGENT,
        **CONDITIONS[condition],
    )
    trace, _ = simulate(env, dmn, episodes=1, seeds=[seed])
    online = trace[trace["phase"] == "online"]
    threshold = dmn.config.salience_threshold
    salient = online["salience"].to_numpy(dtype=float) >= threshold  # NaN (sentinel off): False
    cue = online["cue"].astype(str).to_numpy()
    late = np.arange(len(online)) >= practice
    shares = {c: float(salient[late & (cue == c)].mean()) for c in ("none", THREAT, NULL)}
    n_salient = int(salient.sum())  # every trial, the last one too, is followed by its ITI
    return {
        "shares": shares,
        "n": {c: int((late & (cue == c)).sum()) for c in ("none", THREAT, NULL)},
        "n_suspended": int(dmn.n_suspended),
        "n_salient": n_salient,
    }


def run_one_seed(seed: int, practice: int, test: int) -> dict:
    """Every (world, condition) of one seed; the result depends on the seed alone."""
    out = {}
    for world in WORLDS:
        for condition in CONDITIONS:
            out[f"{world}/{condition}"] = run_agent(seed, world, condition, practice, test)
    return out


def effect(per_seed: list[dict], name: str, condition: str) -> np.ndarray:
    world, kind = DESIGN[name]
    shares = [r[f"{world}/{condition}"]["shares"] for r in per_seed]
    if kind == "null":
        return np.array([s[NULL] for s in shares])
    return np.array([s[THREAT] - s[NULL] for s in shares])


# -- ground truth: the exact MDPs ----------------------------------------------------------------
def exact_stakes(practice: int = 1, test: int = 1) -> dict:
    """Per world and cue: the exact stake K*(s) = max_a Q*(s, a) - min_a Q*(s, a) of the cue
    states (mean and max over places) and the exact relevance salience (1 - p_cue) K*."""
    out = {}
    for world, params in WORLDS.items():
        env = make_env(world, practice, test).unwrapped
        sol = value_iteration(env.mdp, GAMMA)
        K = sol.Q.max(axis=1) - sol.Q.min(axis=1)
        probs = {"none": 1.0 - params["p_threat"] - params["p_social"]}
        probs.update({THREAT: params["p_threat"], NULL: params["p_social"]})
        out[world] = {}
        for c, p in probs.items():
            if p == 0:
                continue
            states = [env.state_of(pos, c) for pos in range(N_POSITIONS)]
            k = K[states]
            out[world][c] = {
                "stake_mean": float(k.mean()),
                "stake_max": float(k.max()),
                "salience_max": float((1.0 - p) * k.max()),
                "salient": bool((1.0 - p) * k.max() >= 1.0),
            }
    return out


# -- the study ---------------------------------------------------------------------------------
def _reference(spec: ClaimSpec, x: np.ndarray) -> dict:
    """A claim's test on another condition's effects (a reported check, not a control)."""
    c = claim(spec, x, seed=2000)
    return {"effect": c.effect, "ci": list(c.ci), "holds": c.holds}


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=12, quick_seeds=4)
    sized(p, "--practice", full=2000, quick=2000, help="practice steps before the test phase")
    sized(p, "--test", full=2000, quick=2000, help="test steps (cue occurrences counted)")
    scale_options(p)
    args = parse(p, argv)
    for flag in ("practice", "test"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag} must be >= 1, got {getattr(args, flag)}")
    seeds = seeds_of(args)
    say = (lambda *a, **k: None) if args.quiet else print
    say(
        f"sentinel on {ENV_ID}: {len(seeds)} seeds x {len(WORLDS)} worlds x "
        f"{len(CONDITIONS)} sentinels, {args.practice} + {args.test} steps"
    )
    per_seed = map_seeds(run_one_seed, seeds, args, args.practice, args.test)

    claims = []
    for k, (name, spec) in enumerate(SPECS.items()):
        controls = {c: effect(per_seed, name, c) for c in CONTROLS[name]}
        claims.append(
            claim(
                spec,
                effect(per_seed, name, "relevance"),
                controls=controls,
                descriptions=CONTROL_TEXT,
                seed=1000 * k,
            )
        )
    table = {
        f"{world}/{cond}/{cue}": [r[f"{world}/{cond}"]["shares"][cue] for r in per_seed]
        for world in WORLDS
        for cond in CONDITIONS
        for cue in ("none", THREAT, NULL)
    }
    checks = {
        "exact": exact_stakes(),
        "rarity_salience": {
            name: _reference(SPECS[name], effect(per_seed, name, cond))
            for name, cond in REFERENCES.items()
        },
        # the agent's own count of suspended ITIs vs the trace's salience >= threshold
        "suspended_vs_salient": {
            "n_suspended": sum(v["n_suspended"] for r in per_seed for v in r.values()),
            "n_salient_in_trace": sum(v["n_salient"] for r in per_seed for v in r.values()),
            "runs_that_differ": sum(
                v["n_suspended"] != v["n_salient"] for r in per_seed for v in r.values()
            ),
        },
        "routine_share_max": max(
            r[f"{w}/relevance"]["shares"]["none"] for r in per_seed for w in WORLDS
        ),
        "mean_shares": {k: float(np.mean(v)) for k, v in table.items()},
        "occurrences_min": {
            c: min(v["n"][c] for r in per_seed for v in r.values()) for c in (THREAT, NULL)
        },
    }
    config = {
        "seeds": seeds,
        "calibration_seeds": list(range(100, 108)),
        "env": ENV_ID,
        "n_positions": N_POSITIONS,
        "worlds": WORLDS,
        "practice": args.practice,
        "test": args.test,
        "account": ACCOUNT,
        "agent": {"name": "q_learning", **AGENT},
        "conditions": CONDITIONS,
        "null_bound": NULL_BOUND,
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)

    for c in claims:
        say("  " + c.describe())
    say(f"exact relevance salience: {checks['exact']}")
    fig = figure(claims, checks["mean_shares"], table)
    png = save(fig, out, STUDY, {"claims": {c.name: c.to_dict() for c in claims}, **table}, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(claims, mean_shares: dict, table: dict):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), gridspec_kw={"width_ratios": [1, 1, 1.2]})
    conds = list(CONDITIONS)
    for ax, world in zip(axes[:2], WORLDS, strict=True):
        x = np.arange(len(conds))
        for j, (cue, label, color) in enumerate(
            (
                (THREAT, f"threat (p {WORLDS[world]['p_threat']})", "C3"),
                (NULL, f"zero-value cue (p {WORLDS[world]['p_social']})", "C7"),
                ("none", "routine (no cue)", "C0"),
            )
        ):
            vals = [table[f"{world}/{c}/{cue}"] for c in conds]
            m = [np.mean(v) for v in vals]
            ax.bar(x + (j - 1) * 0.27, m, 0.27, color=color, label=label)
            for i, v in enumerate(vals):
                ax.plot([x[i] + (j - 1) * 0.27] * len(v), v, "k.", ms=2)
        ax.set_xticks(x, [c.replace("_", "\n") for c in conds], fontsize=8)
        ax.set(ylim=(0, 1.05), ylabel="share of occurrences suspended", title=f"{world} world")
        ax.legend(fontsize=7, loc="center right")
    ax = axes[2]
    y = np.arange(len(claims))
    ax.errorbar(
        [c.effect for c in claims],
        y,
        xerr=np.array([[c.effect - c.ci[0], c.ci[1] - c.effect] for c in claims]).T,
        fmt="o",
        color="C0",
        label="relevance (model)",
    )
    for k, (cname, color) in enumerate(
        (("rarity_salience", "C1"), ("surprise_only", "C2"), ("sentinel_off", "C7"))
    ):
        pts = [(i, c.control(cname)) for i, c in enumerate(claims) if cname in CONTROLS[c.name]]
        ax.errorbar(
            [c.effect for _, c in pts],
            [i + 0.15 * (k + 1) for i, _ in pts],
            xerr=np.array([[c.effect - c.ci[0], c.ci[1] - c.effect] for _, c in pts]).T,
            fmt="s",
            color=color,
            ms=4,
            label=cname,
        )
    ax.axvline(0, color="k", lw=0.5)
    ax.axvline(NULL_BOUND, color="k", lw=0.5, ls=":")
    ax.set_yticks(y, [textwrap.fill(c.name.replace("_", " "), 22) for c in claims], fontsize=7)
    ax.set(xlabel="effect (95% CI)", title="claims and controls")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
