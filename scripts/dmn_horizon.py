"""gamma as the DMN's horizon, measured from choices as a trait.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, section "Markov decision
processes" and "Accumulated rewards and policies"): the discount factor gamma of
y = r + gamma max_a' Q(s', a') is the agent's time horizon; "Predictive coding" (the section)
makes the same point, gamma makes the horizon explicit. The paper's summary section ("Summary
and hypotheses for future studies", its paragraph on a temporal discounting experiment)
proposes to quantify that horizon at the behavioural level with a temporal discounting
experiment, as a trait that differs between people. Here: DMN agents with different gamma
choose differently between a small immediate and a large delayed reward, and the package's own
fitting code recovers each agent's gamma from its choices alone.

Task (a temporal discounting experiment as a tabular MDP, ``darkcontrol.envs.MDPEnv``): every
trial (episode) starts in one of seven choice states, one per delay d in (1, 2, 3, 4, 6, 8,
12), drawn uniformly; action 0 takes the small reward r_s = 1 at once (the trial ends), action 1
enters a chain of d forced waiting steps (both actions move on, reward 0) whose last step pays
r_L = 3. Exact values (value iteration, ``checks.exact``): Q*(c_d, soon) = r_s,
Q*(c_d, later) = gamma^d r_L, so an agent of horizon gamma waits for delay d iff
gamma > gamma*(d) = (r_s / r_L)^(1 / d): the indifference delay of gamma is the largest delay it
waits for (0.33 for d = 1 up to 0.91 for d = 12).

Agents: one DMN agent per seed (``account="full"``: ITI replay, model simulation and
recombination around Q-learning; softmax policy beta = 3, alpha = 0.2), gamma_true drawn from
U(0.3, 0.97) with the seed's own generator; ``--trials`` trials (default 400), 1 s trials and
1 s ITIs. Recovery: ``darkcontrol.neuro.likelihood`` model ``q_nav`` (Q-learning over the
observed state sequence, delta = r + gamma (1 - term) max_a' Q(s', a') - Q(s, a), softmax;
free alpha, beta, gamma), fitted by ``darkcontrol.neuro.fitting.fit`` (MLE, 5 starts) to the
agent's *online* choices only (what an experimenter sees; the DMN's offline steps are hidden).
The waiting steps are forced (``Behavior.scored`` False: learned from, not scored); the fit
scores the choices in the choice states. The choice probe of the second claim is not fitted:
the trained agent's own choice rule at each choice state after the last trial,
P(wait | d) = sigmoid(beta (Q(c_d, later) - Q(c_d, soon))), averaged over the seven delays.

Pre-declared tests (declared here before any reported run; n = agents; alpha = 0.05, two-sided
level: a claim holds when its 95% interval excludes the threshold on the declared side):

| claim                          | per-agent pair                              | statistic | test  |
|--------------------------------|---------------------------------------------|-----------|-------|
| gamma_recovered_from_choices   | (gamma_true, gamma recovered)               | spearman  | > 0.5 |
| recovered_gamma_orders_choices | (gamma recovered, probe P(wait), mean over  | spearman  | > 0   |
|                                | the seven delays, after the last trial)     |           |       |

The threshold 0.5 of the first claim is the conventional floor of an adequate parameter
recovery (Wilson & Collins 2019, eLife 8:e49547, rule 6), set before any run.

Controls (each evaluated with the claim's own test, must *not* hold):
``shuffled_labels``: the same fits with the pairs broken, gamma_true (first claim) or gamma
recovered (second claim) permuted across agents (seeded permutation, 10,000); it removes the
link between an agent's trait and its choices. ``no_delay``: the same agents (same seeds, same
gamma_true) in the task variant without delay (d = 0 for every choice: the large reward comes
at once), fitted the same way: with no delayed outcome gamma never enters any value the agent
acts on, so it is not identifiable from choices and the recovered value is the optimiser's
(the likelihood is flat in gamma).

Checks (not claims): ``checks.exact``: value iteration on the task's MDP matches
gamma^d r_L, and gives the indifference delay per gamma on a grid; per agent the exact
indifference delay of gamma_true and of gamma recovered (agreement); the bias of gamma
recovered; ``checks.test_retest`` (default run only, ``--retest``): gamma as a trait, the
same agents fitted again in a second, independent session (seed + 1,000,000), the
session-to-session rank correlation of the fitted gamma; ``checks.plain_learner``: the same
recovery for a plain Q-learner (``lesion="hippocampus"``, no offline processing), whose
learning the likelihood describes exactly (default run only, ``--plain``).

Calibration: the task (delays, rewards), beta, alpha, the gamma range and the number of trials
were set on seeds 100-135 (``--seed 100`` and ``--seed 120``, ``--quick``); reported runs use
seeds from ``--seed`` (default 0).

Scale: each agent (seed) is independent and its whole work (simulate, fit, control, plain
learner) runs in the module-level ``run_one_seed`` through ``script_args.map_seeds``, so
``--jobs 8`` or ``--scheduler tcp://...`` runs 1,000 agents on a cluster (``--seeds 1000``).
The batched engine (``darkcontrol.batched``) is not used: the fit needs each agent's Trace,
and the DMN's recombination is not batched; the per-seed cost is about 2 CPU-s (three agents
and fits; a retest session adds one).

Writes ``results.json`` (:mod:`darkcontrol.results`), ``dmn_horizon.png`` and
``dmn_horizon.json`` (the per-agent table) to ``--out``.
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
from script_args import map_seeds, parse, scale_options, sized  # noqa: E402

from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.envs import value_iteration  # noqa: E402
from darkcontrol.envs.mdp import TabularMDP  # noqa: E402
from darkcontrol.envs.tabular import MDPEnv  # noqa: E402
from darkcontrol.neuro.behavior import Behavior  # noqa: E402
from darkcontrol.neuro.fitting import fit  # noqa: E402
from darkcontrol.neuro.likelihood import make_model  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "dmn_horizon"
DELAYS = (1, 2, 3, 4, 6, 8, 12)
R_SOON, R_LATE = 1.0, 3.0
SOON, LATE = 0, 1
GAMMA_RANGE = (0.3, 0.97)
AGENT = {"agent_policy": "softmax", "agent_beta": 3.0, "agent_alpha": 0.2}
FIT = {"starts": 5, "hessian": False}
MODEL = "q_nav"
SHUFFLE_SEED = 10_000
RETEST_OFFSET = 1_000_000  # seed offset of the second session (test-retest check)
CALIBRATION_SEEDS = list(range(100, 136))

# -- the pre-declared tests (see the docstring) ------------------------------------------------
SPECS = {
    "gamma_recovered_from_choices": ClaimSpec(
        "gamma_recovered_from_choices",
        "spearman",
        ">",
        0.5,
        description="Spearman rho(gamma_true, gamma fitted to the agent's online choices) > 0.5",
    ),
    "recovered_gamma_orders_choices": ClaimSpec(
        "recovered_gamma_orders_choices",
        "spearman",
        ">",
        0.0,
        description="Spearman rho(gamma recovered, the trained agent's P(wait for the large "
        "reward), mean over delays) > 0",
    ),
}
CONTROL_TEXT = {
    "shuffled_labels": "the pairs broken: one side permuted across agents",
    "no_delay": "the task without delay (d = 0): gamma enters no value the agent acts on",
}


# -- the task ----------------------------------------------------------------------------------
def discounting_mdp(delays=DELAYS) -> TabularMDP:
    """Choice states 0..K-1 (one per delay), then each delay's waiting chain, then the terminal
    state. Soon: r_s and the trial ends; later: d waiting steps, r_L on the last one (d = 0:
    r_L at once)."""
    K = len(delays)
    S = K + sum(delays) + 1
    end = S - 1
    P, R = np.zeros((S, 2, S)), np.zeros((S, 2))
    P[end, :, end] = 1.0
    terminal = np.zeros(S, dtype=bool)
    terminal[end] = True
    w = K
    for k, d in enumerate(delays):
        P[k, SOON, end], R[k, SOON] = 1.0, R_SOON
        if d == 0:
            P[k, LATE, end], R[k, LATE] = 1.0, R_LATE
            continue
        P[k, LATE, w] = 1.0
        for j in range(d):  # waiting step j: both actions move on
            last = j == d - 1
            P[w + j, :, end if last else w + j + 1] = 1.0
            R[w + j, :] = R_LATE if last else 0.0
        w += d
    start = np.zeros(S)
    start[:K] = 1.0 / K
    labels = [f"choice_d{d}" for d in delays] + [f"wait_d{d}_{j}" for d in delays for j in range(d)]
    return TabularMDP(P=P, R=R, terminal=terminal, start=start, labels=(*labels, "end"))


def gamma_of(seed: int) -> float:
    """The agent's true horizon: U(GAMMA_RANGE) from its seed's own generator."""
    return float(np.random.default_rng([seed, 7]).uniform(*GAMMA_RANGE))


def exact_waits(gamma: float, delays=DELAYS) -> np.ndarray:
    """Per delay, whether the exact solver (value iteration) waits for the large reward."""
    q = value_iteration(discounting_mdp(delays), gamma).Q[: len(delays)]
    return q[:, LATE] > q[:, SOON]


def indifference_delay(gamma: float) -> int:
    """The largest delay the exact solver waits for (0: none)."""
    waits = exact_waits(gamma)
    return int(max([d for d, w in zip(DELAYS, waits) if w], default=0))


# -- one agent ---------------------------------------------------------------------------------
def behaviour(trace, K: int, n_states: int) -> Behavior:
    """The online steps as a navigation Behavior: the choices in the choice states scored, the
    forced waiting steps learned from but not scored."""
    on = trace[trace["phase"] == "online"]
    state = on["state"].to_numpy().astype(np.int64)
    episode = on["episode"].to_numpy().astype(np.int64)
    choice_state = state < K
    b = Behavior(
        task="navigation",
        onset=on["time"].to_numpy(dtype=float),
        state=state,
        choice=on["action"].to_numpy().astype(np.int64),
        outcome=on["reward"].to_numpy(dtype=float),
        n_states=n_states,
        n_actions=2,
        next_state=on["next_state"].to_numpy().astype(np.int64),
        terminated=on["terminated"].to_numpy().astype(bool),
        episode=episode,
        scored=choice_state,
        participant="agent",
        source="simulated DMN",
    )
    return b


def agent_fit(seed: int, gamma: float, n_trials: int, delays=DELAYS, lesion="none") -> dict:
    """Simulate one agent, fit q_nav to its online choices; recovered gamma and the probe."""
    mdp = discounting_mdp(delays)
    env = MDPEnv(mdp)
    dmn = DMNAgent(
        "q_learning", env, account="full", seed=seed, lesion=lesion, agent_gamma=gamma, **AGENT
    )
    trace, _ = simulate(env, dmn, episodes=n_trials, seeds=[seed])
    K = len(delays)
    b = behaviour(trace, K, mdp.n_states)
    f = fit(make_model(MODEL), b, seed=seed, **FIT)
    # the probe: the trained agent's own choice rule at each choice state (never fitted)
    q = dmn.q_values()[:K]
    beta = AGENT["agent_beta"]
    per_delay = (1.0 / (1.0 + np.exp(-beta * (q[:, LATE] - q[:, SOON])))).tolist()
    return {
        "gamma_fit": float(f.params["gamma"]),
        "alpha_fit": float(f.params["alpha"]),
        "beta_fit": float(f.params["beta"]),
        "p_wait_by_delay": per_delay,
        "p_wait": float(np.nanmean(per_delay)),
        "n_offline": int((trace["phase"] == "offline").sum()),
    }


def run_one_seed(seed: int, n_trials: int, retest: bool = False, plain: bool = True) -> dict:
    """Everything about one agent (a module-level function: ``map_seeds`` may ship it).
    ``retest``: a second, independent session of the same agent (its seed + RETEST_OFFSET);
    ``plain``: the same agent without offline processing."""
    g = gamma_of(seed)
    out = {
        "seed": seed,
        "gamma_true": g,
        "task": agent_fit(seed, g, n_trials),
        "no_delay": agent_fit(seed, g, n_trials, delays=tuple(0 for _ in DELAYS)),
        "indiff_true": indifference_delay(g),
    }
    if plain:
        out["plain"] = agent_fit(seed, g, n_trials, lesion="hippocampus")
    if retest:
        out["retest"] = agent_fit(seed + RETEST_OFFSET, g, n_trials)
    return out


# -- the study ---------------------------------------------------------------------------------
def claims_of(agents: list[dict]):
    true = np.array([a["gamma_true"] for a in agents])
    rec = np.array([a["task"]["gamma_fit"] for a in agents])
    wait = np.array([a["task"]["p_wait"] for a in agents])
    nd_rec = np.array([a["no_delay"]["gamma_fit"] for a in agents])
    nd_wait = np.array([a["no_delay"]["p_wait"] for a in agents])
    perm = np.random.default_rng(SHUFFLE_SEED).permutation(len(agents))
    c1 = claim(
        SPECS["gamma_recovered_from_choices"],
        true,
        rec,
        controls={"shuffled_labels": (true[perm], rec), "no_delay": (true, nd_rec)},
        descriptions=CONTROL_TEXT,
        seed=0,
    )
    c2 = claim(
        SPECS["recovered_gamma_orders_choices"],
        rec,
        wait,
        controls={"shuffled_labels": (rec[perm], wait), "no_delay": (nd_rec, nd_wait)},
        descriptions=CONTROL_TEXT,
        seed=100,
    )
    return [c1, c2]


def checks_of(agents: list[dict]) -> dict:

    mdp = discounting_mdp()
    grid = np.round(np.linspace(0.3, 0.97, 12), 3)
    closed_form_ok = all(
        np.allclose(
            value_iteration(mdp, g).Q[: len(DELAYS), LATE],
            [g**d * R_LATE for d in DELAYS],
            atol=1e-6,
        )
        for g in grid
    )
    true = np.array([a["gamma_true"] for a in agents])
    rec = np.array([a["task"]["gamma_fit"] for a in agents])
    ind_true = np.array([a["indiff_true"] for a in agents])
    ind_rec = np.array([indifference_delay(g) for g in rec])
    return {
        "exact": {
            "q_late_equals_gamma_d_rL": bool(closed_form_ok),
            "gamma_star_by_delay": {d: (R_SOON / R_LATE) ** (1 / d) for d in DELAYS},
            "indifference_delay_by_gamma": {float(g): indifference_delay(g) for g in grid},
            "agents_indifference_true": ind_true.tolist(),
            "agents_indifference_recovered": ind_rec.tolist(),
            "indifference_agreement": float(np.mean(ind_true == ind_rec)),
            "indifference_within_one_delay": float(
                np.mean(
                    np.abs(
                        np.searchsorted((0, *DELAYS), ind_true)
                        - np.searchsorted((0, *DELAYS), ind_rec)
                    )
                    <= 1
                )
            ),
        },
        "recovery_bias": {
            "mean_recovered_minus_true": float(np.mean(rec - true)),
            "mean_abs_error": float(np.mean(np.abs(rec - true))),
        },
        "offline_steps_per_agent": float(np.mean([a["task"]["n_offline"] for a in agents])),
        **({"test_retest": retest_of(agents, rec)} if "retest" in agents[0] else {}),
        **({"plain_learner": plain_of(agents, true)} if "plain" in agents[0] else {}),
    }


def plain_of(agents: list[dict], true: np.ndarray) -> dict:
    """The same recovery for the plain learner (no offline processing)."""
    from scipy.stats import spearmanr

    plain = np.array([a["plain"]["gamma_fit"] for a in agents])
    return {
        "spearman_true_recovered": float(spearmanr(true, plain).statistic),
        "mean_recovered_minus_true": float(np.mean(plain - true)),
        "mean_abs_error": float(np.mean(np.abs(plain - true))),
    }


def retest_of(agents: list[dict], rec: np.ndarray) -> dict:
    """gamma as a trait: the same agents' gamma fitted in a second, independent session."""
    from scipy.stats import pearsonr, spearmanr

    again = np.array([a["retest"]["gamma_fit"] for a in agents])
    return {
        "spearman_session1_session2": float(spearmanr(rec, again).statistic),
        "pearson_session1_session2": float(pearsonr(rec, again).statistic),
        "mean_abs_difference": float(np.mean(np.abs(rec - again))),
    }


def main(argv=None) -> int:
    p = parser(
        __doc__,
        default_seeds=40,
        quick_seeds=16,
        min_seeds=4,
        why="rank correlations across agents",
    )
    p.add_argument("--trials", type=int, default=400, help="trials per agent (default 400)")
    sized(
        p,
        "--retest",
        full=1,
        quick=0,
        help="1: a second session per agent for the test-retest check of gamma (0: none)",
    )
    sized(
        p,
        "--plain",
        full=1,
        quick=0,
        help="1: the plain-learner check (each agent again without offline processing; 0: none)",
    )
    scale_options(p)
    args = parse(p, argv)
    if args.trials < 20:
        p.error(f"--trials must be >= 20, got {args.trials}")
    seeds = seeds_of(args)
    say = (lambda *a, **k: None) if args.quiet else print
    say(
        f"horizon: {len(seeds)} DMN agents, gamma ~ U{GAMMA_RANGE}, {args.trials} trials of "
        f"soon {R_SOON:g} vs {R_LATE:g} after d in {DELAYS}; {MODEL} fitted to online choices"
    )
    agents = map_seeds(run_one_seed, seeds, args, args.trials, bool(args.retest), bool(args.plain))
    claims = claims_of(agents)
    checks = checks_of(agents)
    config = {
        "seeds": seeds,
        "calibration_seeds": CALIBRATION_SEEDS,
        "trials": args.trials,
        "delays": list(DELAYS),
        "r_soon": R_SOON,
        "r_late": R_LATE,
        "gamma_range": list(GAMMA_RANGE),
        "account": "full",
        "agent": {"name": "q_learning", **AGENT},
        "model": MODEL,
        "fit": {"method": "mle", **FIT},
        "retest": bool(args.retest),
        "plain_learner_check": bool(args.plain),
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)
    ex = checks["exact"]
    say(
        f"  exact: Q*(later) = gamma^d r_L: {ex['q_late_equals_gamma_d_rL']}; indifference delay "
        f"of gamma recovered = of gamma_true for {100 * ex['indifference_agreement']:.0f}% of "
        f"agents (within one delay: {100 * ex['indifference_within_one_delay']:.0f}%)"
    )
    pl = checks.get("plain_learner")
    say(
        f"  bias: recovered - true = {checks['recovery_bias']['mean_recovered_minus_true']:+.3f}"
        " (DMN)"
        + (
            f"; plain learner {pl['mean_recovered_minus_true']:+.3f}, "
            f"rho {pl['spearman_true_recovered']:+.2f}"
            if pl
            else ""
        )
    )
    for c in claims:
        say("  " + c.describe())
    numbers = {
        "claims": {c.name: c.to_dict() for c in claims},
        "agents": [
            {
                "seed": a["seed"],
                "gamma_true": a["gamma_true"],
                "gamma_recovered": a["task"]["gamma_fit"],
                "gamma_recovered_no_delay": a["no_delay"]["gamma_fit"],
                "gamma_recovered_plain": a["plain"]["gamma_fit"] if "plain" in a else None,
                "p_wait_probe": a["task"]["p_wait"],
                "p_wait_by_delay": a["task"]["p_wait_by_delay"],
            }
            for a in agents
        ],
    }
    fig = figure(agents, claims)
    png = save(fig, out, STUDY, numbers, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(agents: list[dict], claims):
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.3))
    true = np.array([a["gamma_true"] for a in agents])
    rec = np.array([a["task"]["gamma_fit"] for a in agents])
    nd = np.array([a["no_delay"]["gamma_fit"] for a in agents])
    ax1.plot([0, 1], [0, 1], color="k", lw=0.6, ls=":")
    ax1.scatter(true, rec, s=18, label=f"DMN, delays (rho {claims[0].effect:+.2f})")
    if "plain" in agents[0]:
        plain = np.array([a["plain"]["gamma_fit"] for a in agents])
        ax1.scatter(true, plain, s=12, marker="x", color="C2", label="plain learner, delays")
    ax1.scatter(
        true, nd, s=12, color="C7", label=f"no delay (rho {claims[0].controls[1].effect:+.2f})"
    )
    ax1.set(
        xlabel=r"true $\gamma$ (agent's horizon)",
        ylabel=r"$\gamma$ fitted to online choices (q_nav)",
        title=r"$\gamma$ recovered from choices",
        xlim=(0, 1.02),
        ylim=(-0.02, 1.02),
    )
    ax1.legend(fontsize=7)
    wait = np.array([a["task"]["p_wait_by_delay"] for a in agents], dtype=float)
    order = np.argsort(rec)
    thirds = np.array_split(order, 3)
    for k, (idx, name) in enumerate(zip(thirds, ("short", "middle", "long"))):
        ax2.plot(
            DELAYS,
            np.nanmean(wait[idx], axis=0),
            marker="o",
            color=f"C{k}",
            label=rf"{name} fitted $\gamma$ (mean {rec[idx].mean():.2f})",
        )
        ax2.step(
            DELAYS,
            exact_waits(float(rec[idx].mean())).astype(float),
            where="mid",
            color=f"C{k}",
            ls=":",
            lw=1,
        )
    ax2.set(
        xlabel="delay d of the large reward (steps)",
        ylabel="probe P(wait for large reward)",
        title="fitted horizon orders choices (dotted: exact solver)",
        ylim=(-0.05, 1.05),
    )
    ax2.legend(fontsize=7)
    grid = np.linspace(0.3, 0.99, 70)
    ax3.plot(
        grid, [indifference_delay(g) for g in grid], color="k", label="exact (value iteration)"
    )
    ax3.scatter(
        rec,
        [indifference_delay(g) for g in rec],
        s=14,
        color="C0",
        label=r"agents, at fitted $\gamma$",
    )
    ax3.scatter(
        true,
        [a["indiff_true"] for a in agents],
        s=10,
        marker="x",
        color="C3",
        label=r"agents, at true $\gamma$",
    )
    ax3.set(
        xlabel=r"$\gamma$",
        ylabel="indifference delay (largest delay worth waiting)",
        title=r"ground truth: $\gamma^d r_L = r_s$",
    )
    ax3.legend(fontsize=7)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
