"""DMN value signals predict the nucleus accumbens' reward signal of the next trial.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, section "Summary and
hypotheses for future studies", its paragraph on a continuous learning paradigm): during an
iterative neuroeconomic two-player game, fMRI signals of the DMN could predict reward-related
signals of the nucleus accumbens across trials. The model's version: the DMN's value signal at
trial t (vmPFC = Q(s_t, a_t), the paper's Figure 4 map, ``RegionMap.paper()``) predicts the
NAcc signal of trial t + 1 (the same map: NAcc = reward) beyond what the previous trials'
rewards predict.

Task (a two-player game as a tabular MDP, ``darkcontrol.envs.MDPEnv``): an iterated prisoner's
dilemma against a noisy tit-for-tat opponent. The state is the opponent's move of this round
(cooperate / defect); the agent's payoff is 3 (both cooperate), 0 (it cooperates, the opponent
defects), 5 (it defects against cooperation), 1 (both defect); the opponent's next move copies
the agent's move with probability 0.9 (0.1: the other move). So a reward depends on the agent's
*previous* choice, which the agent's values carry but a linear read-out of its past rewards
does not (cooperation is followed by 3 or 0, defection by 5 or 1). The exact solver (value
iteration, ``checks.exact``) gives the value of each move per gamma.

Agents: one DMN agent per seed (``account="full"``: replay, simulation and recombination in
the 1 s ITIs, around Q-learning; softmax beta = 1, alpha = 0.1, gamma = 0.9); ``--episodes``
games of 50 rounds (truncated, not terminated; default 20 games = 1,000 trials); one trial =
one round. Per agent, over the trials t with three earlier trials and a next trial in the same
game, the lagged regression
NAcc_{t+1} = b0 + b vmPFC_t + c0 r_t + c1 r_{t-1} + c2 r_{t-2} + e;
the per-agent effect is the partial correlation of vmPFC_t and NAcc_{t+1} given the three
lagged rewards (and a constant).

Pre-declared test (declared here before any reported run; n = agents; alpha = 0.05, two-sided
level: the claim holds when its 95% interval excludes 0 on the declared side):

| claim                    | per-agent effect                             | statistic      | test |
|--------------------------|----------------------------------------------|----------------|------|
| vmPFC_predicts_next_NAcc | partial r(vmPFC_t, NAcc_t+1 | r_t..r_t-2)    | bootstrap_mean | > 0  |

Controls (each with the claim's own test, must *not* hold): ``trial_shuffled``: each agent's
vmPFC series permuted across its trials (seeded with 10,000 + seed), which removes the trial-
by-trial link between the DMN signal and the reward that follows; ``plain_learner``: the same
agents with ``lesion="hippocampus"`` (no replay, simulation or recombination: a plain
Q-learner). The paper ties the DMN to stimulus-independent (offline) thought, so the plain
learner is the control that removes it; if it still predicts NAcc, the prediction needs the
value signal, not offline processing (a finding, reported as such).

Checks (not claims): ``checks.exact`` (value iteration: Q*(s, cooperate) and Q*(s, defect) per
gamma; the agents' gamma = 0.9 makes cooperation optimal); ``checks.rpe_as_nacc``: the same
test with NAcc = the reward prediction error delta_{t+1} (the right-TPJ column of Figure 4, often
read in the ventral striatum); ``checks.choice_only``: the same test with the previous choice
a_t in place of vmPFC_t (how much of the prediction is the choice the value carries);
``checks.cooperation``: each condition's share of cooperative moves; ``checks.other_nodes``:
the same test for the other Figure 4 nodes in place of vmPFC (PMC = update norm, dmPFC =
pi(a_t | s_t), rTPJ = |delta|, each its value on trial t's online row).

Calibration: the game, beta, alpha, gamma, the game length and the number of games were set on
seeds 100-123 (``--seed 100`` and ``--seed 112``, ``--quick``); reported runs use seeds from
``--seed`` (default 0).

Scale: each agent (seed) is independent; ``run_one_seed`` (module level) simulates it, its
plain-learner twin and computes every per-agent effect, run through ``script_args.map_seeds``,
so ``--jobs 8`` or ``--scheduler tcp://...`` runs 1,000 agents on a cluster (``--seeds 1000``).
The batched engine (``darkcontrol.batched``) could run the plain Q-learner and the batched DMN
with heuristic engagement, but not this study's ``account="full"`` DMN (recombination is not
batched) nor its per-trial Trace columns, so it is not used.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``nacc_prediction.png`` and
``nacc_prediction.json`` (the per-agent table) to ``--out``.
"""

from __future__ import annotations

import dataclasses
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
from darkcontrol.regions import RegionMap  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "nacc_prediction"
COOPERATE, DEFECT = 0, 1
#: agent's payoff[opponent's move, agent's move]
PAYOFF = np.array([[3.0, 5.0], [0.0, 1.0]])
COPY = 0.9  # the opponent copies the agent's last move with this probability
ROUNDS = 50
GAMMA = 0.9
AGENT = {"agent_policy": "softmax", "agent_beta": 1.0, "agent_alpha": 0.1, "agent_gamma": GAMMA}
LAGS = 3
OTHER_NODES = ("PMC", "dmPFC", "rTPJ")
SHUFFLE_SEED = 10_000
CALIBRATION_SEEDS = list(range(100, 124))

SPEC = ClaimSpec(
    "vmPFC_predicts_next_NAcc",
    "bootstrap_mean",
    ">",
    0.0,
    description="partial r(vmPFC_t = Q(s_t, a_t), NAcc_{t+1} = r_{t+1} | r_t, r_{t-1}, r_{t-2}) "
    "> 0",
)
CONTROL_TEXT = {
    "trial_shuffled": "each agent's vmPFC series permuted across its trials",
    "plain_learner": "lesion='hippocampus': no offline processing (a plain Q-learner)",
}


# -- the game ----------------------------------------------------------------------------------
def game_mdp() -> TabularMDP:
    """States: the opponent's move this round (0 cooperate, 1 defect); no terminal state (games
    are truncated after ``ROUNDS`` rounds)."""
    P = np.zeros((2, 2, 2))
    for s in range(2):
        for a in range(2):
            P[s, a, a] = COPY
            P[s, a, 1 - a] = 1.0 - COPY
    return TabularMDP(
        P=P,
        R=PAYOFF.copy(),
        terminal=np.zeros(2, dtype=bool),
        start=np.array([1.0, 0.0]),
        labels=("opponent_cooperates", "opponent_defects"),
    )


def exact_values(gammas=(0.0, 0.5, 0.7, 0.9, 0.95)) -> dict:
    mdp = game_mdp()
    out = {}
    for g in gammas:
        Q = value_iteration(mdp, g).Q
        out[str(g)] = {
            "Q_cooperate": Q[:, COOPERATE].tolist(),
            "Q_defect": Q[:, DEFECT].tolist(),
            "cooperation_optimal": bool((Q[:, COOPERATE] > Q[:, DEFECT]).all()),
        }
    return out


# -- statistics per agent ----------------------------------------------------------------------
def lagged(trace, column: str):
    """Per usable trial t (LAGS earlier trials and a next trial in the same game): the signal
    ``column`` at t, r_t .. r_{t-LAGS+1}, and NAcc candidates at t + 1."""
    on = trace[trace["phase"] == "online"]
    ep = on["episode"].to_numpy()
    r = on["reward"].to_numpy(dtype=float)
    x = on[column].to_numpy(dtype=float)
    rpe = on["rpe"].to_numpy(dtype=float)
    a = on["action"].to_numpy(dtype=float)
    T = len(on)
    t = np.arange(LAGS - 1, T - 1)
    same = ep[t + 1] == ep[t - LAGS + 1]
    t = t[same]
    lags = np.column_stack([r[t - k] for k in range(LAGS)])
    nodes = {}
    for node in OTHER_NODES:  # the other Figure 4 nodes, their value on trial t's online row
        sig = RegionMap.paper()[node]
        v = on[sig.column].to_numpy(dtype=float)
        nodes[node] = (np.abs(v) if sig.transform == "abs" else v)[t]
    return {
        "x": x[t],
        "nodes": nodes,
        "choice": a[t],
        "lags": lags,
        "nacc_reward": r[t + 1],
        "nacc_rpe": rpe[t + 1],
        "coop": float(np.mean(a == COOPERATE)),
    }


def partial(x, y, Z) -> float:
    """Correlation of x and y after regressing the columns of Z (and a constant) out of both;
    0 if either residual is constant."""
    Z = np.column_stack([np.ones(len(x)), Z])

    def resid(v):
        return v - Z @ np.linalg.lstsq(Z, v, rcond=None)[0]

    rx, ry = resid(np.asarray(x, float)), resid(np.asarray(y, float))
    if rx.std() < 1e-12 or ry.std() < 1e-12:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def agent_run(seed: int, n_games: int, lesion: str = "none"):
    env = MDPEnv(game_mdp())
    dmn = DMNAgent("q_learning", env, account="full", seed=seed, lesion=lesion, **AGENT)
    trace, _ = simulate(env, dmn, episodes=n_games, seeds=[seed], max_steps=ROUNDS)
    return trace


def run_one_seed(seed: int, n_games: int) -> dict:
    """Every per-agent effect of one seed (module level: ``map_seeds`` may ship it)."""
    vmpfc = RegionMap.paper()["vmPFC"].column  # "q": Q(s_t, a_t)
    out = {"seed": seed}
    for name, lesion in (("dmn", "none"), ("plain", "hippocampus")):
        d = lagged(agent_run(seed, n_games, lesion), vmpfc)
        perm = np.random.default_rng(SHUFFLE_SEED + seed).permutation(len(d["x"]))
        out[name] = {
            "effect": partial(d["x"], d["nacc_reward"], d["lags"]),
            "shuffled": partial(d["x"][perm], d["nacc_reward"], d["lags"]),
            "rpe_as_nacc": partial(d["x"], d["nacc_rpe"], d["lags"]),
            "choice_only": partial(d["choice"], d["nacc_reward"], d["lags"]),
            **{f"node_{n}": partial(v, d["nacc_reward"], d["lags"]) for n, v in d["nodes"].items()},
            "cooperation": d["coop"],
            "n_trials": len(d["x"]),
        }
        if name == "dmn":
            out["example"] = {"x": d["x"][:150].tolist(), "y": d["nacc_reward"][:150].tolist()}
    return out


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=24, quick_seeds=12)
    sized(p, "--episodes", full=20, quick=20, help=f"games of {ROUNDS} rounds per agent")
    scale_options(p)
    args = parse(p, argv)
    if args.episodes < 1:
        p.error(f"--episodes must be >= 1, got {args.episodes}")
    seeds = seeds_of(args)
    say = (lambda *a, **k: None) if args.quiet else print
    say(
        f"NAcc prediction: {len(seeds)} DMN agents x {args.episodes} games of {ROUNDS} rounds "
        f"(iterated prisoner's dilemma vs noisy tit-for-tat); vmPFC_t -> NAcc_(t+1)"
    )
    agents = map_seeds(run_one_seed, seeds, args, args.episodes)

    def col(cond, key):
        return np.array([a[cond][key] for a in agents])

    c = claim(
        SPEC,
        col("dmn", "effect"),
        controls={
            "trial_shuffled": col("dmn", "shuffled"),
            "plain_learner": col("plain", "effect"),
        },
        descriptions=CONTROL_TEXT,
        seed=0,
    )
    if c.control("plain_learner").holds:  # a caveat in words; holds comes from the spec alone
        c = dataclasses.replace(
            c,
            reason="the plain learner (no offline processing) predicts NAcc too: the prediction "
            "needs the value signal, not the DMN's offline processing",
        )
    claims = [c]

    def ref(cond, key, k):
        t = claim(SPEC, col(cond, key), seed=10 + k)
        return {"effect": t.effect, "ci": list(t.ci), "holds": t.holds}

    checks = {
        "exact": exact_values(),
        "rpe_as_nacc": {
            "dmn": ref("dmn", "rpe_as_nacc", 1),
            "plain": ref("plain", "rpe_as_nacc", 2),
        },
        "choice_only": {
            "dmn": ref("dmn", "choice_only", 3),
            "plain": ref("plain", "choice_only", 4),
        },
        "plain_learner_shuffled": ref("plain", "shuffled", 5),
        "other_nodes": {n: ref("dmn", f"node_{n}", 30 + k) for k, n in enumerate(OTHER_NODES)},
        "dmn_minus_plain": ref_diff(col("dmn", "effect"), col("plain", "effect")),
        "cooperation": {
            "dmn": float(col("dmn", "cooperation").mean()),
            "plain": float(col("plain", "cooperation").mean()),
        },
        "trials_per_agent": float(col("dmn", "n_trials").mean()),
    }
    config = {
        "seeds": seeds,
        "calibration_seeds": CALIBRATION_SEEDS,
        "episodes": args.episodes,
        "rounds": ROUNDS,
        "payoff": PAYOFF.tolist(),
        "opponent_copy": COPY,
        "account": "full",
        "agent": {"name": "q_learning", **AGENT},
        "region_map": "figure4",
        "lags": LAGS,
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)
    say("  " + c.describe())
    say(
        f"  checks: NAcc = RPE {checks['rpe_as_nacc']['dmn']['effect']:+.3f}; choice a_t in "
        f"place of vmPFC {checks['choice_only']['dmn']['effect']:+.3f}; DMN - plain "
        f"{checks['dmn_minus_plain']['effect']:+.3f}; cooperation DMN "
        f"{checks['cooperation']['dmn']:.2f}, plain {checks['cooperation']['plain']:.2f}"
    )
    numbers = {
        "claims": {c.name: c.to_dict()},
        "agents": [
            {
                "seed": a["seed"],
                **{f"dmn_{k}": v for k, v in a["dmn"].items()},
                **{f"plain_{k}": v for k, v in a["plain"].items()},
            }
            for a in agents
        ],
    }
    fig = figure(agents, c)
    png = save(fig, out, STUDY, numbers, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def ref_diff(x: np.ndarray, y: np.ndarray) -> dict:
    t = claim(ClaimSpec("dmn_minus_plain", "paired_t"), x, y, seed=20)
    return {"effect": t.effect, "ci": list(t.ci), "holds": t.holds}


def figure(agents, c):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.4]})
    conds = [
        ("DMN", [a["dmn"]["effect"] for a in agents], "C0"),
        ("trial-shuffled vmPFC", [a["dmn"]["shuffled"] for a in agents], "C7"),
        ("plain learner", [a["plain"]["effect"] for a in agents], "C2"),
        ("DMN, NAcc = RPE", [a["dmn"]["rpe_as_nacc"] for a in agents], "C1"),
    ]
    for k, (_name, vals, color) in enumerate(conds):
        ax1.scatter(
            np.full(len(vals), k) + np.linspace(-0.15, 0.15, len(vals)), vals, s=10, color=color
        )
        ax1.errorbar(k, np.mean(vals), yerr=np.std(vals), color="k", capsize=4, marker="_", ms=20)
    ax1.axhline(0, color="k", lw=0.5)
    ax1.set_xticks(range(len(conds)), [n for n, _, _ in conds], rotation=15, fontsize=8)
    ax1.set(
        ylabel=r"partial r(vmPFC$_t$, NAcc$_{t+1}$ | $r_t, r_{t-1}, r_{t-2}$)",
        title=f"{c.name}: {c.effect:+.3f} [{c.ci[0]:+.3f}, {c.ci[1]:+.3f}]",
    )
    ex = agents[0]["example"]
    t = np.arange(len(ex["x"]))
    ax2.plot(t, ex["x"], color="C0", lw=0.8, label=r"vmPFC$_t$ = Q(s$_t$, a$_t$)")
    ax2b = ax2.twinx()
    ax2b.plot(t + 1, ex["y"], color="C3", lw=0.6, alpha=0.7, label=r"NAcc$_{t+1}$ = reward")
    ax2.set(
        xlabel="trial (round of the game)",
        ylabel="vmPFC (value)",
        title=f"one agent (seed {agents[0]['seed']})",
    )
    ax2b.set_ylabel("NAcc (reward)")
    ax2.legend(loc="upper left", fontsize=7)
    ax2b.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
