"""The node hypotheses as a dissociation: rTPJ ~ policy change, vmPFC ~ value change, PMC ~ both.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, section "Reinforcement
learning control: a process model for DMN function", its "Summary and hypotheses for future
studies"): right-TPJ signals relate to changes of the policy driven by non-value prediction
errors, ventromedial-PFC signals to changes of stimulus-value associations, posteromedial-cortex
signals to both. In navigation the two changes go together (policy and value changes correlated
at ~0.93 in issue 13), so there a region that tracks one tracks the other.

Task: ``darkcontrol/Dissociation-v0`` (envs/dissociation.py): a corridor to a choice between two
outcomes, whose world alternates every 120 steps between reward revaluations (the better outcome
1 -> 2 -> 1: values change, no greedy action does) and contingency swaps (the choice's actions
exchange their outcomes: the greedy action at the choice changes, no optimal value does).
Checked on the exact MDPs by value iteration before and after each change (``checks.exact``).

Agents: the DMN model (``account="full"``: replay, simulation and recombination in the ITIs and
rest blocks, sentinel and predictability-gated engagement) around epsilon-greedy Q-learning
(alpha 0.1, gamma 0.95, epsilon 0.1: the paper's hard-max policy with exploration), with
``record_changes=True``; a blocked design of task blocks (60 s, one trial per 2 s: 1 s trial +
1 s ITI) and rest blocks (20 s); full: 48 blocks (two cycles of the six phases), 20 agents;
``--quick``: 24 blocks (one cycle), 8 agents. Region signals from the ``"hypotheses"`` map
(:mod:`darkcontrol.regions`: rTPJ = state-prediction error ``spe`` of real transitions, vmPFC =
Q(s, a), PMC = summed update norm ||delta theta||), binned at TR = 2 s; per bin the summed policy
change (total variation of pi(.|s) across each update) and value change (|Delta max_a Q(s, .)|)
of the DMN's change log. Per agent, over the bins from its first value change on: Pearson
correlations of each node with each change and partial correlations (each change controlling
for the other).

Pre-declared tests (declared here before any reported run; n = agents; alpha = 0.05, two-sided
level: a claim holds when its 95% interval excludes the threshold on the declared side):

| claim                    | per-agent effect                              | statistic      | test |
|--------------------------|-----------------------------------------------|----------------|------|
| rTPJ_policy_over_value   | r(rTPJ, policy) vs r(rTPJ, value), paired     | paired_t       | > 0  |
| rTPJ_policy_given_value  | partial r(rTPJ, policy | value)               | bootstrap_mean | > 0  |
| vmPFC_value_over_policy  | r(vmPFC, value) vs r(vmPFC, policy), paired   | paired_t       | > 0  |
| vmPFC_value_given_policy | partial r(vmPFC, value | policy)              | bootstrap_mean | > 0  |
| PMC_policy_given_value   | partial r(PMC, policy | value)                | bootstrap_mean | > 0  |
| PMC_value_given_policy   | partial r(PMC, value | policy)                | bootstrap_mean | > 0  |

Controls, each evaluated with its claim's test on its own per-agent effects, which must *not*
hold: ``shuffled_map`` (every claim): the same agents, each analysed with its own random wrong map,
the map's signals reassigned to the nodes by a random derangement (:meth:`RegionMap.shuffled`
seeded with 10,000 + the agent's seed); ``plain_learner`` (PMC_policy_given_value only, where the
argument needs offline processing: the PMC integrates adaptations, which the DMN makes
offline): the same agents with ``lesion="hippocampus"`` (no replay, simulation or
recombination: a plain Q-learner). The plain learner is also run for every other claim and
reported under ``checks.plain_learner`` (not a control: those hypotheses are about online
signals), as are the default ``"figure4"`` map (rTPJ = |Q - y|) and the effects averaged over
20 derangements per agent (``checks.shuffled_map_mean``: the expected effect under a wrong map).

Calibration: the task's phase length, corridor, the epsilon-greedy policy, the map and the
choice of controls were set on seeds 100-104 (``--seed 100``); reported runs use seeds from
``--seed`` (default 0) on.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``dmn_node_hypotheses.png`` and
``dmn_node_hypotheses.json`` (the per-agent table) to ``--out``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dmn_common import parser, save, seeds_of  # noqa: E402
from script_args import parse, sized  # noqa: E402

import darkcontrol.envs  # noqa: E402, F401  (registers the environments)
from darkcontrol.clock import Schedule  # noqa: E402
from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.envs import value_iteration  # noqa: E402
from darkcontrol.regions import RegionMap  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "dmn_node_hypotheses"
ENV_ID = "darkcontrol/Dissociation-v0"
TR = 2.0
GAMMA = 0.95
N_SHUFFLES = 20
MAP = "hypotheses"
CHANGES = RegionMap.from_dict(
    {
        "policy": {"column": "policy_change", "agg": "sum"},
        "value": {"column": "value_change", "transform": "abs", "agg": "sum"},
    }
)

# -- the pre-declared tests (see the docstring) ------------------------------------------------
SPECS = {
    "rTPJ_policy_over_value": ClaimSpec(
        "rTPJ_policy_over_value",
        "paired_t",
        description="rTPJ correlates more with policy than with value changes",
    ),
    "rTPJ_policy_given_value": ClaimSpec(
        "rTPJ_policy_given_value",
        "bootstrap_mean",
        description="rTPJ ~ policy change, value change partialled out, > 0",
    ),
    "vmPFC_value_over_policy": ClaimSpec(
        "vmPFC_value_over_policy",
        "paired_t",
        description="vmPFC correlates more with value than with policy changes",
    ),
    "vmPFC_value_given_policy": ClaimSpec(
        "vmPFC_value_given_policy",
        "bootstrap_mean",
        description="vmPFC ~ value change, policy change partialled out, > 0",
    ),
    "PMC_policy_given_value": ClaimSpec(
        "PMC_policy_given_value",
        "bootstrap_mean",
        description="PMC ~ policy change, value change partialled out, > 0",
    ),
    "PMC_value_given_policy": ClaimSpec(
        "PMC_value_given_policy",
        "bootstrap_mean",
        description="PMC ~ value change, policy change partialled out, > 0",
    ),
}
#: claim -> (node, change, other change, paired): paired claims compare r(node, change) with
#: r(node, other change); the others are partial correlations controlling for the other change
DESIGN = {
    "rTPJ_policy_over_value": ("rTPJ", "policy", "value", True),
    "rTPJ_policy_given_value": ("rTPJ", "policy", "value", False),
    "vmPFC_value_over_policy": ("vmPFC", "value", "policy", True),
    "vmPFC_value_given_policy": ("vmPFC", "value", "policy", False),
    "PMC_policy_given_value": ("PMC", "policy", "value", False),
    "PMC_value_given_policy": ("PMC", "value", "policy", False),
}
PLAIN_LEARNER_CONTROLS = ("PMC_policy_given_value",)
SHUFFLE_SEED = 10_000
CONTROL_TEXT = {
    "shuffled_map": "each agent analysed with its own randomly deranged region map",
    "plain_learner": "lesion='hippocampus': no offline processing (a plain Q-learner)",
}


# -- simulation (the only calls into the runner) -----------------------------------------------
def simulate_agent(seed: int, n_blocks: int, lesion: str = "none"):
    """One agent on the dissociation task: (Trace, change log), both with a ``time`` column."""
    env = gym.make(ENV_ID)
    dmn = DMNAgent(
        "q_learning",
        env,
        account="full",
        # the mechanisms this study was declared and calibrated with (before issue 12's
        # allocation, relevance sentinel and learned recombination became the defaults)
        engagement="heuristic",
        salience="rarity",
        recombine="association",
        seed=seed,
        record_changes=True,
        lesion=lesion,
        agent_policy="epsilon_greedy",
        agent_gamma=GAMMA,
    )
    sched = schedule(n_blocks)
    trace, _ = simulate(env, dmn, schedule=sched, seeds=[seed])
    log = dmn.change_log().assign(run=0)
    log["phase"] = pd.Categorical(log["phase"], categories=["online", "offline"])
    return trace, log


def schedule(n_blocks: int) -> Schedule:
    return Schedule.blocked(n_blocks, task_s=60, rest_s=20, trial_s=1.0, iti_s=1.0)


# -- statistics per agent ----------------------------------------------------------------------
def binned(trace, log, rmap: RegionMap, t_max: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Node and change series per TR bin, from the first value change on (before it every
    signal is flat and any two would correlate)."""
    regions = rmap.time_series(trace, dt=TR, t_max=t_max)
    changes = CHANGES.time_series(log, dt=TR, t_max=t_max)
    moved = np.flatnonzero(changes["value"].to_numpy() > 0)
    if len(moved) == 0:
        raise RuntimeError("the agent never changed a value; run more blocks")
    return regions.iloc[moved[0] :], changes.iloc[moved[0] :]


def corr(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; 0 for a constant series (a node that never varies tracks nothing)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def partial(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Correlation of x and y after regressing z (and a constant) out of both."""
    Z = np.column_stack([np.ones(len(z)), np.asarray(z, dtype=float)])

    def resid(v):
        v = np.asarray(v, dtype=float)
        return v - Z @ np.linalg.lstsq(Z, v, rcond=None)[0]

    return corr(resid(x), resid(y))


def effects(regions: pd.DataFrame, changes: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Per claim: (effect, paired comparison or NaN) of one agent."""
    out = {}
    for name, (node, change, other, paired) in DESIGN.items():
        x, c, o = regions[node].values, changes[change].values, changes[other].values
        out[name] = (corr(x, c), corr(x, o)) if paired else (partial(x, c, o), np.nan)
    return out


def agent_effects(seed: int, n_blocks: int, lesion: str = "none") -> dict[str, dict]:
    """Effects of one agent under the hypotheses map, the shuffled maps and the default map,
    and the correlation of its own policy and value changes."""
    trace, log = simulate_agent(seed, n_blocks, lesion)
    t_max = schedule(n_blocks).duration
    rmap = RegionMap.named(MAP)
    reg, ch = binned(trace, log, rmap, t_max)

    def relabelled(other: RegionMap) -> pd.DataFrame:
        # a shuffled map carries the same signals under other names: reuse their series
        by_signal = {_signal(s): reg[s.node] for s in rmap.signals}
        return pd.DataFrame({s.node: by_signal[_signal(s)] for s in other.signals})

    wrong = relabelled(rmap.shuffled(SHUFFLE_SEED + seed))
    many = [effects(relabelled(rmap.shuffled(k)), ch) for k in range(N_SHUFFLES)]
    mean_shuffled = {
        name: tuple(float(np.mean([s[name][i] for s in many])) for i in range(2)) for name in DESIGN
    }
    return {
        "map": effects(reg, ch),
        "shuffled_map": effects(wrong, ch),
        "shuffled_map_mean": mean_shuffled,
        "figure4": effects(*binned(trace, log, RegionMap.paper(), t_max)),
        "policy_value_r": corr(ch["policy"].values, ch["value"].values),
        "series": (reg, ch),
    }


def _signal(sig) -> tuple:
    return (sig.column, sig.transform, sig.phases, sig.agg)


def claim_data(per_agent: list[dict], key: str, name: str):
    x = np.array([a[key][name][0] for a in per_agent])
    y = np.array([a[key][name][1] for a in per_agent])
    return (x, y) if DESIGN[name][3] else x


# -- the exact MDPs ----------------------------------------------------------------------------
def exact_changes(gamma: float = GAMMA) -> pd.DataFrame:
    """Per phase change of the task: sum_s |Delta V*(s)| and the number of states whose greedy
    action changes, by value iteration on the exact MDP of each phase."""
    env = gym.make(ENV_ID).unwrapped
    sols = [value_iteration(env.phase_mdp(k), gamma) for k in range(len(env.phases))]
    live = ~env.phase_mdp(0).terminal
    rows = []
    for k in range(len(env.phases)):
        before, after = sols[k - 1], sols[k]
        rows.append(
            {
                "change": f"{k - 1 if k else len(env.phases) - 1}->{k}",
                "value_change": float(np.abs(after.V - before.V)[live].sum()),
                "policy_change": float(
                    0.5 * np.abs(after.policy - before.policy)[live].sum(axis=1).sum()
                ),
            }
        )
    return pd.DataFrame(rows)


# -- the study ---------------------------------------------------------------------------------
def run(seeds: list[int], n_blocks: int, progress=print):
    per_agent, plain = [], []
    for s in seeds:
        per_agent.append(agent_effects(s, n_blocks))
        plain.append(agent_effects(s, n_blocks, lesion="hippocampus"))
        progress(f"  agent {s}: done")
    claims = []
    for k, (name, spec) in enumerate(SPECS.items()):
        controls = {"shuffled_map": claim_data(per_agent, "shuffled_map", name)}
        if name in PLAIN_LEARNER_CONTROLS:
            controls["plain_learner"] = claim_data(plain, "map", name)
        c = claim(
            spec,
            *_xy(claim_data(per_agent, "map", name)),
            controls=controls,
            descriptions=CONTROL_TEXT,
            seed=1000 * k,
        )
        claims.append(c)
    return per_agent, plain, claims


def _xy(d):
    return d if isinstance(d, tuple) else (d,)


def references(per_agent, plain) -> dict:
    """Same tests on the plain learner and on the default map (reported, not controls)."""
    out = {}
    for key, agents, field in (
        ("plain_learner", plain, "map"),
        ("figure4_map", per_agent, "figure4"),
        ("shuffled_map_mean", per_agent, "shuffled_map_mean"),
    ):
        out[key] = {}
        for k, (name, spec) in enumerate(SPECS.items()):
            c = claim(spec, *_xy(claim_data(agents, field, name)), seed=2000 + k)
            out[key][name] = {"effect": c.effect, "ci": list(c.ci), "holds": c.holds}
    return out


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=20, quick_seeds=8)
    sized(p, "--blocks", full=48, quick=24, help="task + rest blocks (24 = one cycle of phases)")
    args = parse(p, argv)  # --quiet: print only the path of the figure
    seeds = seeds_of(args)
    n_blocks = args.blocks
    if n_blocks < 6:
        p.error(f"--blocks must be >= 6 (a phase lasts 4 blocks), got {n_blocks}")
    say = (lambda *a, **k: None) if args.quiet else print
    say(f"node hypotheses on {ENV_ID}: {len(seeds)} agents x {n_blocks} blocks, TR = {TR} s")
    per_agent, plain, claims = run(seeds, n_blocks, progress=say)

    exact = exact_changes()
    pv = np.array([a["policy_value_r"] for a in per_agent])
    pv_plain = np.array([a["policy_value_r"] for a in plain])
    checks = {
        "exact": {
            "changes": exact.to_dict("records"),
            "r_value_policy": corr(exact["value_change"], exact["policy_change"]),
        },
        "agents_policy_value_r": {"mean": float(pv.mean()), "per_agent": pv.tolist()},
        "plain_learner_policy_value_r": {"mean": float(pv_plain.mean())},
        **references(per_agent, plain),
    }
    config = {
        "seeds": seeds,
        "n_blocks": n_blocks,
        "tr": TR,
        "env": ENV_ID,
        "account": "full",
        "mechanisms": {"engagement": "heuristic", "salience": "rarity", "recombine": "association"},
        "agent": {"name": "q_learning", "policy": "epsilon_greedy", "gamma": GAMMA},
        "region_map": MAP,
        "n_shuffles": N_SHUFFLES,
        "calibration_seeds": [100, 101, 102, 103, 104],
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)

    say(
        f"exact MDPs: r(|dV*|, policy change) across the {len(exact)} changes = "
        f"{checks['exact']['r_value_policy']:+.2f}"
    )
    say(f"agents: r(policy change, value change) across TRs = {pv.mean():+.3f} (mean)")
    for c in claims:
        say("  " + c.describe())
    fig = figure(claims, exact, per_agent[0]["series"], seeds[0])
    table = {c.name: c.to_dict() for c in claims}
    png = save(fig, out, STUDY, table, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(claims, exact: pd.DataFrame, series, seed: int):
    fig, (ax1, ax2, ax3) = plt.subplots(
        1, 3, figsize=(15, 4), gridspec_kw={"width_ratios": [1.3, 0.8, 1.4]}
    )
    x = np.arange(len(claims))
    eff = [c.effect for c in claims]
    err = np.array([[c.effect - c.ci[0], c.ci[1] - c.effect] for c in claims]).T
    ax1.bar(x - 0.2, eff, 0.4, yerr=err, color="C0", capsize=3, label="DMN, hypotheses map")
    sh = [c.control("shuffled_map") for c in claims]
    ax1.bar(
        x + 0.2,
        [c.effect for c in sh],
        0.4,
        yerr=np.array([[c.effect - c.ci[0], c.ci[1] - c.effect] for c in sh]).T,
        color="C7",
        capsize=3,
        label="shuffled map",
    )
    ax1.set_xticks(x, [c.name for c in claims], rotation=30, ha="right", fontsize=7)
    ax1.axhline(0, color="k", lw=0.5)
    ax1.set(ylabel="effect (95% CI)", title="claims and their shuffled-map control")
    ax1.legend(fontsize=7)
    ax2.bar(np.arange(len(exact)) - 0.2, exact["value_change"], 0.4, label="sum |dV*|")
    ax2.bar(np.arange(len(exact)) + 0.2, exact["policy_change"], 0.4, label="greedy flips")
    ax2.set_xticks(np.arange(len(exact)), exact["change"], fontsize=7)
    ax2.set(xlabel="phase change", title="exact MDPs: value vs policy change")
    ax2.legend(fontsize=7)
    reg, ch = series
    t = reg.index.to_numpy(dtype=float)
    for name, y, color in (
        ("rTPJ (spe)", reg["rTPJ"], "C1"),
        ("vmPFC (Q)", reg["vmPFC"], "C2"),
        ("policy change", ch["policy"], "k"),
        ("value change", ch["value"], "C3"),
    ):
        y = np.asarray(y, dtype=float)
        ax3.plot(t, (y - y.mean()) / (y.std() or 1.0), label=name, color=color, lw=0.7)
    ax3.set(xlabel="time (s)", ylabel="z-score", title=f"one agent (seed {seed})")
    ax3.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
