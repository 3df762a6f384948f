"""Partially observed worlds need memory: a history-expanded state or a belief reaches the optimum.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, section "Reinforcement
learning control: a process model for DMN function", subsection "Markov decision processes",
Figure 3): the agent's world is a partially observable MDP, made Markov "by simply expanding
the definition of the state s to include experience episodes of the past". Prediction: an agent
whose state carries the past (a window of past observations and actions, or a belief over the
hidden states) acts near the POMDP's optimum and tracks a hidden task context; one that sees
only the current observation cannot.

Task 1, the cue maze (``darkcontrol/CueMaze-v0``, corridor ``L = 2``, gamma 0.95): a cue seen
at the start says which arm is rewarded at the end; the corridor and the junction look the same
under both cues. Agents, each trained for ``--train`` episodes (epsilon-greedy, epsilon 0.1)
and then evaluated greedily for ``--eval`` episodes (discounted return, still learning):
``memoryless``: Q-learning on the observations (alpha 0.2); ``history``: Q-learning (alpha 0.2)
on the history-expanded state (the last k = L + 2 = 4 observations and the k - 1 actions between
them, ``HistoryObservation``: the paper's Figure 3 construction); ``belief``: the belief-state
agent (exact Bayes filter on the known model, linear Q-learning over beliefs, alpha 0.1).
Ground truth: the POMDP's optimal value V* by belief value iteration
(``belief_value_iteration``) and the memoryless bound gamma^(L+1)/2 = V*/2 derived in
``CueMaze`` (no policy on observations can beat it).

Task 2, the hidden context (``darkcontrol/HiddenContext-v0``, hazard 0.05, p_reward 0.9,
gamma 0.5): the response rule ("same" or "opposite") is set by a context that switches with
hazard h; the agent sees the stimulus and the previous trial's feedback only. The belief agent
and the memoryless Q-learner (alpha 0.2) train for ``--ctx-train`` episodes of 200 trials and
are evaluated greedily for ``--ctx-eval`` episodes. Context tracking = the share of greedy
evaluation trials on which the belief's read-out argmax_c P(c | history) (after each trial's
update) names the current hidden context (a tie scored 1/2); the context is read from the
environment's ``info`` for analysis only, never by the agent. Chance is 1/2 exactly (the
contexts are symmetric); an observer that knew the previous context would reach 1 - h = 0.95.

Pre-declared tests (written before any reported run; one unit = one seed, n = seeds; alpha =
0.05, two-sided level: a claim holds when its 95% interval lies above the threshold):

| claim                         | per-seed effect             | statistic      | test  |
|-------------------------------|-----------------------------|----------------|-------|
| history_state_reaches_optimum | history: greedy return / V* | bootstrap_mean | > 0.8 |
| belief_state_reaches_optimum  | belief: greedy return / V*  | bootstrap_mean | > 0.8 |
| belief_tracks_hidden_context  | belief: share of trials its | bootstrap_mean | > 0.5 |
|                               | belief names the context    |                |       |

The threshold 0.8 lies far above the memoryless bound 0.5 (nearer V* than the bound): a claim of
"near the optimum" that a memoryless policy cannot meet. (0.9 was considered first; on the
calibration seeds the history agent's interval reached below it, 0.906 [0.870, 0.943], because
a greedy path that dawdles pushes the cue out of the k = 4 window.)

Controls (each claim's own test on the control's per-seed effects; must *not* hold):
``memoryless``: for the cue-maze claims, the same seeds with Q-learning on the current
observation only (no history, no belief), same training and evaluation; for the context claim,
the same read-out from the belief with its memory removed (on the same trials: b(s | o)
proportional to O(o | s), the belief from the observation reached alone, uniform prior).

Checks (``checks``, not claims): V* and the memoryless bound; the memoryless agent's ratio
against the bound; the share of greedy responses that follow the hidden context's rule, for the
belief agent and for the memoryless Q-learner (behaviour, not the read-out: a memoryless policy
can use the previous trial's feedback, so chance is not its bound); study 2 of the earlier
version, a noisy cue (validity 0.8, where looking again at the start pays): the belief agent
with QMDP values (blind to information) against point-based values (PBVI), and the exact
optimum.

Calibration: the agents' parameters are those of the earlier (descriptive) version of this
script, whose default run on seeds 0-9 was known when these tests were declared (greedy return
/ V*: memoryless 0.468, history 0.952, belief 1.000; argmax-belief tracking 0.884); the sizes,
the thresholds and the controls were set on seeds 100-104 (``--seed 100``); reported runs use
seeds from ``--seed`` (default 0) on.

Scale: every seed is one call of the module-level ``run_one_seed`` through
``script_args.map_seeds`` (``--jobs N`` local processes, ``--scheduler tcp://...`` a Dask
cluster), each depending only on its seed. The batched backends (darkcontrol.batched) cannot
run it: they batch Q-learning, Dyna-Q and the DMN on fully observed worlds, with neither a
history-expanded state space nor a belief filter.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``pomdp_memory.png`` (learning curves;
greedy return / V* per agent; context tracking) and ``pomdp_memory.json`` (its numbers) to
``--out``. Run: ``python scripts/pomdp_memory.py --out pomdp_output`` (``--quick``: fewer seeds).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import gymnasium as gym  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dmn_common import mean_ci, parser, save, seeds_of  # noqa: E402
from script_args import map_seeds, parse, scale_options, sized  # noqa: E402

import darkcontrol.envs  # noqa: E402, F401  (registers the environments)
from darkcontrol.agents import make_agent  # noqa: E402
from darkcontrol.envs.cue_maze import memoryless_bound  # noqa: E402
from darkcontrol.envs.pomdp import find_pomdp  # noqa: E402
from darkcontrol.envs.pomdp_solvers import belief_value_iteration  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "pomdp_memory"
GAMMA = 0.95
CTX_GAMMA = 0.5
P_REWARD = 0.9
EVAL_SEED = 10_000
THRESHOLD = 0.8  # greedy return / V*: far above the memoryless bound 0.5
AGENTS = {  # key -> (label, agent name, history length or None, agent parameters)
    "memoryless": ("memoryless Q", "q_learning", None, {"alpha": 0.2}),
    "history": ("history Q (k = L + 2)", "q_learning", "L+2", {"alpha": 0.2}),
    "belief": ("belief (linear Q)", "belief", None, {}),
}
CTX_AGENTS = ("belief", "memoryless")

SPECS = {
    "history_state_reaches_optimum": ClaimSpec(
        "history_state_reaches_optimum",
        "bootstrap_mean",
        ">",
        THRESHOLD,
        description="Q-learning on the history-expanded state (k = L + 2): greedy return / V* "
        "on the cue maze > 0.8",
    ),
    "belief_state_reaches_optimum": ClaimSpec(
        "belief_state_reaches_optimum",
        "bootstrap_mean",
        ">",
        THRESHOLD,
        description="the belief-state agent: greedy return / V* on the cue maze > 0.8",
    ),
    "belief_tracks_hidden_context": ClaimSpec(
        "belief_tracks_hidden_context",
        "bootstrap_mean",
        ">",
        0.5,
        description="the belief-state agent's belief names the current hidden context "
        "(argmax_c P(c | history) = c) on more than half of the trials (chance 0.5)",
    ),
}
CLAIM_DATA = {  # claim -> (task, agent)
    "history_state_reaches_optimum": ("maze", "history"),
    "belief_state_reaches_optimum": ("maze", "belief"),
    "belief_tracks_hidden_context": ("context", "belief"),
}
CONTROL_TEXT = {  # task -> what the memoryless control is
    "maze": "Q-learning on the current observation only (no history, no belief), same seeds, "
    "training and evaluation",
    "context": "the same read-out from the belief with its memory removed: b(s | o) "
    "proportional to O(o | s), from the observation reached alone",
}


def greedy(agent) -> None:
    agent.config = dataclasses.replace(agent.config, policy="greedy", epsilon=0.0)


def discounted_returns(trace: pd.DataFrame, gamma: float) -> np.ndarray:
    """Per episode of ``trace`` (online rows): sum_t gamma^t r_t."""
    on = trace[trace["phase"] == "online"]
    g = on["reward"].to_numpy(np.float64) * gamma ** on["step"].to_numpy(np.float64)
    return pd.Series(g).groupby(on["episode"].to_numpy()).sum().to_numpy()


def with_context(agent, context_of: np.ndarray | None = None):
    """Write the world's hidden context (``info["context"]`` of the state reached; analysis
    only, the agent never reads it) into each online Trace row as ``context``; for a belief
    agent (``context_of``: the context of each hidden state) also its P(context = 1 | b')
    after the update (its own filter step), into ``agent.p_context1`` (one entry per online
    row)."""
    observe = agent.observe
    agent.p_context1 = []

    def recording(s, a, r, s2, terminated, truncated=False, *, fields=None, info=None):
        if context_of is not None:  # b' = the agent's own filter step (BeliefAgent.observe)
            b = agent.belief if agent.belief is not None else agent.pomdp.initial_belief(s)
            agent.p_context1.append(float(agent.pomdp.update(b, a, s2)[0] @ context_of))
        extra = {**dict(fields or {}), "context": int(info["context"])}
        observe(s, a, r, s2, terminated, truncated, fields=extra, info=info)

    agent.observe = recording
    return agent


# -- one seed ----------------------------------------------------------------------------------
def maze_run(kind: str, seed: int, L: int, n_train: int, n_eval: int) -> dict:
    _, name, k, params = AGENTS[kind]
    env = gym.make("darkcontrol/CueMaze-v0", corridor_length=L)
    if k is not None:
        env = darkcontrol.envs.HistoryObservation(env, L + 2)
    agent = make_agent(name, env, seed=seed, gamma=GAMMA, **params)
    train, _ = simulate(env, agent, episodes=n_train, seeds=[seed])
    n_rows = len(train)
    greedy(agent)
    trace, _ = simulate(env, agent, episodes=n_eval, seeds=[EVAL_SEED * (seed + 1)])
    return {
        "curve": discounted_returns(train, GAMMA),
        "greedy_return": float(discounted_returns(trace.iloc[n_rows:], GAMMA).mean()),
    }


def context_run(kind: str, seed: int, hazard: float, n_train: int, n_eval: int) -> dict:
    _, name, _, params = AGENTS[kind]
    env = gym.make("darkcontrol/HiddenContext-v0", hazard=hazard, p_reward=P_REWARD)
    base = env.unwrapped
    ctx = np.array([base.decode(s)[0] for s in range(base.n_states)], dtype=float)
    agent = make_agent(name, env, seed=seed, gamma=CTX_GAMMA, **params)
    agent = with_context(agent, ctx if kind == "belief" else None)
    train, _ = simulate(env, agent, episodes=n_train, seeds=[seed])
    n_rows, n_online = len(train), int((train["phase"] == "online").sum())
    greedy(agent)
    trace, _ = simulate(env, agent, episodes=n_eval, seeds=[EVAL_SEED * (seed + 1)])
    on = trace.iloc[n_rows:]
    on = on[on["phase"] == "online"].reset_index(drop=True)
    # trial t's context is the one reached at trial t - 1 (row t - 1's ``context``)
    context = on.groupby("episode", observed=True)["context"].shift(1)
    keep = context.notna().to_numpy()
    c = context.to_numpy()[keep].astype(np.int64)
    x = on["state"].to_numpy(np.int64)[keep] % 2  # observation 2 f + x
    a = on["action"].to_numpy(np.int64)[keep]
    correct = np.where(c == 0, x, 1 - x)
    out = {"tracking": float(np.mean(a == correct)), "n_trials": int(keep.sum())}
    if kind == "belief":
        # the read-out after each trial: P(context = 1 | b) of the agent's belief, and of the
        # filter with its memory removed (the belief from the observation reached alone)
        truth = on["context"].to_numpy(np.int64)
        p1 = np.asarray(agent.p_context1[n_online:])
        O = find_pomdp(env).O
        b_obs = O / O.sum(axis=0, keepdims=True)  # b(s | o) ∝ O(o | s), uniform prior
        p1_obs = (ctx @ b_obs)[on["next_state"].to_numpy(np.int64)]
        out["belief_accuracy"] = readout_accuracy(p1, truth)
        out["observation_only_accuracy"] = readout_accuracy(p1_obs, truth)
    return out


def readout_accuracy(p1: np.ndarray, truth: np.ndarray) -> float:
    """Share of trials on which argmax_c P(c) is the true context, a tie scored 1/2 (the
    expected accuracy of breaking it at random)."""
    hit = np.where(np.isclose(p1, 0.5), 0.5, ((p1 > 0.5) == (truth == 1)).astype(float))
    return float(hit.mean())


def run_one_seed(seed: int, cfg: dict) -> dict:
    """Every agent of one seed on both tasks (depends on ``seed`` alone)."""
    out: dict = {"seed": seed, "maze": {}, "context": {}}
    for kind in AGENTS:
        out["maze"][kind] = maze_run(kind, seed, cfg["corridor"], cfg["train"], cfg["eval"])
    for kind in CTX_AGENTS:
        out["context"][kind] = context_run(
            kind, seed, cfg["hazard"], cfg["ctx_train"], cfg["ctx_eval"]
        )
    return out


def _ci(x: np.ndarray) -> tuple[float, float]:
    m, h = mean_ci(x)
    return float(m - h), float(m + h)


def noisy_cue(L: int, seed: int, n_episodes: int) -> dict:
    """The belief agent with QMDP and with PBVI values on a noisy cue (validity 0.8)."""
    noisy = gym.make("darkcontrol/CueMaze-v0", corridor_length=L, cue_validity=0.8)
    out = {"optimum": float(belief_value_iteration(noisy.unwrapped.mdp, GAMMA).value)}
    for values in ("qmdp", "pbvi"):
        agent = make_agent("belief", noisy, seed=seed, gamma=GAMMA, values=values)
        greedy(agent)
        trace, _ = simulate(noisy, agent, episodes=n_episodes, seeds=[EVAL_SEED + seed])
        g = discounted_returns(trace, GAMMA)
        out[values] = float(g.mean())
        out[f"{values}_ci"] = float(1.96 * g.std() / np.sqrt(len(g)))
    return out


# -- the study ---------------------------------------------------------------------------------
def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=10, quick_seeds=5)
    p.add_argument("--corridor", type=int, default=2, help="corridor length L (default 2)")
    p.add_argument("--hazard", type=float, default=0.05, help="context hazard (default 0.05)")
    sized(p, "--train", full=2000, quick=2000, help="cue-maze training episodes")
    sized(p, "--eval", full=100, quick=40, help="cue-maze greedy evaluation episodes")
    sized(p, "--ctx-train", full=5, quick=3, help="hidden-context training episodes (200 trials)")
    sized(p, "--ctx-eval", full=5, quick=2, help="hidden-context greedy evaluation episodes")
    scale_options(p)
    args = parse(p, argv)
    if args.corridor < 1:
        p.error(f"--corridor must be >= 1, got {args.corridor}")
    if not 0.0 <= args.hazard <= 0.5:
        p.error(f"--hazard must be in [0, 0.5], got {args.hazard}")
    for flag in ("train", "eval", "ctx_train", "ctx_eval"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be >= 1, got {getattr(args, flag)}")
    seeds = seeds_of(args)
    say = (lambda *a, **k: None) if args.quiet else print
    L = args.corridor
    maze = gym.make("darkcontrol/CueMaze-v0", corridor_length=L)
    optimum = float(belief_value_iteration(maze.unwrapped.mdp, GAMMA).value)
    bound = memoryless_bound(maze.unwrapped, GAMMA)
    say(f"Cue maze, corridor {L}: optimum V* = {optimum:.4f}, memoryless bound {bound:.4f}")
    cfg = {
        "corridor": L,
        "hazard": args.hazard,
        "train": args.train,
        "eval": args.eval,
        "ctx_train": args.ctx_train,
        "ctx_eval": args.ctx_eval,
    }
    per_seed = map_seeds(run_one_seed, seeds, args, cfg)

    ratio = {
        k: np.array([s["maze"][k]["greedy_return"] for s in per_seed]) / optimum for k in AGENTS
    }
    tracking = {k: np.array([s["context"][k]["tracking"] for s in per_seed]) for k in CTX_AGENTS}
    readout = {
        "belief": np.array([s["context"]["belief"]["belief_accuracy"] for s in per_seed]),
        "memoryless": np.array(
            [s["context"]["belief"]["observation_only_accuracy"] for s in per_seed]
        ),
    }
    effects = {"maze": ratio, "context": readout}
    claims = []
    for i, (name, spec) in enumerate(SPECS.items()):
        task, kind = CLAIM_DATA[name]
        claims.append(
            claim(
                spec,
                effects[task][kind],
                controls={"memoryless": effects[task]["memoryless"]},
                descriptions={"memoryless": CONTROL_TEXT[task]},
                seed=1000 * i,
            )
        )
    noisy = noisy_cue(L, seeds[0], args.eval * len(seeds))
    argmax = readout["belief"]
    checks = {
        "optimum": optimum,
        "memoryless_bound": bound,
        "memoryless_bound_ratio": bound / optimum,
        # the bound holds in expectation; a seed's sampled cues can put it a little above
        "memoryless_ratio_ci": list(map(float, _ci(ratio["memoryless"]))),
        "ratio_per_seed": {k: v.tolist() for k, v in ratio.items()},
        "tracking_per_seed": {k: v.tolist() for k, v in tracking.items()},
        "context_readout": {
            "belief_per_seed": argmax.tolist(),
            "observation_only_per_seed": readout["memoryless"].tolist(),
            "chance": 0.5,
            "oracle_previous_context": 1.0 - args.hazard,
        },
        "greedy_responses_by_the_context_rule": {
            k: {"mean": float(v.mean()), "per_seed": v.tolist()} for k, v in tracking.items()
        },
        "noisy_cue": noisy,
    }
    config = {
        "seeds": seeds,
        "calibration_seeds": [100, 101, 102, 103, 104],
        "gamma": GAMMA,
        "context_gamma": CTX_GAMMA,
        "p_reward": P_REWARD,
        "agents": {k: {"agent": a[1], "history": a[2], **a[3]} for k, a in AGENTS.items()},
        "quick": args.quick,
        **cfg,
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)

    numbers: dict = {"optimum": optimum, "memoryless_bound": bound, "agents": {}}
    for kind, (label, *_rest) in AGENTS.items():
        m, ci = mean_ci(ratio[kind])
        numbers["agents"][label] = {"ratio_mean": float(m), "ratio_ci": float(ci)}
        say(f"  {label:24s} greedy return / V* = {m:.3f} +- {ci:.3f} (95 % CI, n={len(seeds)})")
    m, ci = mean_ci(argmax)
    numbers["context_accuracy"] = {"mean": float(m), "ci": float(ci), "chance": 0.5}
    numbers["context_tracking"] = {k: float(v.mean()) for k, v in tracking.items()}
    numbers["noisy_cue"] = noisy
    say(
        f"Hidden context, hazard {args.hazard}: greedy responses by the context's rule: "
        + ", ".join(f"{k} {v.mean():.3f}" for k, v in tracking.items())
        + f"; belief read-out {m:.3f}, observation-only filter {readout['memoryless'].mean():.3f} "
        f"(chance 0.5, oracle {1 - args.hazard:.3f})"
    )
    say(
        f"Noisy cue (validity 0.8): V* = {noisy['optimum']:.4f}, QMDP {noisy['qmdp']:.4f}, "
        f"PBVI {noisy['pbvi']:.4f}"
    )
    for c in claims:
        say("  " + c.describe())
    fig = figure(per_seed, ratio, tracking, readout, optimum, bound, args)
    png = save(fig, out, STUDY, numbers, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(per_seed, ratio, tracking, readout, optimum, bound, args):
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 3.8))
    for kind, (label, *_rest) in AGENTS.items():
        curves = np.stack([s["maze"][kind]["curve"] for s in per_seed])
        window = max(1, curves.shape[1] // 50)
        smooth = np.convolve(curves.mean(axis=0), np.ones(window) / window, mode="valid")
        ax1.plot(np.arange(len(smooth)) + window, smooth / optimum, label=label)
    ax1.axhline(1.0, color="k", lw=0.8, ls="--", label="V* (exact)")
    ax1.axhline(bound / optimum, color="grey", lw=0.8, ls=":", label="memoryless bound")
    ax1.set(xlabel="training episode", ylabel="discounted return / V*")
    ax1.set_title(f"Cue maze (L = {args.corridor}), epsilon-greedy training", fontsize=9)
    ax1.legend(fontsize=7)
    kinds = list(AGENTS)
    for i, kind in enumerate(kinds):
        r = ratio[kind]
        m, ci = mean_ci(r)
        ax2.bar(i, m, yerr=ci, color=f"C{i}", capsize=3)
        ax2.plot(np.full(len(r), i) + np.linspace(-0.2, 0.2, len(r)), r, "k.", ms=3)
    ax2.axhline(THRESHOLD, color="r", lw=0.8, ls="--", label=f"claim threshold {THRESHOLD}")
    ax2.axhline(bound / optimum, color="grey", lw=0.8, ls=":", label="memoryless bound")
    ax2.set_xticks(range(len(kinds)), kinds)
    ax2.set(ylim=(0, 1.1), ylabel="greedy return / V* (mean, 95% CI; dots: seeds)")
    ax2.set_title("Cue maze: greedy evaluation", fontsize=9)
    ax2.legend(fontsize=7, loc="lower right")
    bars = [
        ("chance", 0.5, 0.0, "grey"),
        ("filter on\nobservation", *mean_ci(readout["memoryless"]), "C7"),
        ("belief\nread-out", *mean_ci(readout["belief"]), "C2"),
        ("memoryless\nresponses", *mean_ci(tracking["memoryless"]), "C0"),
        ("belief\nresponses", *mean_ci(tracking["belief"]), "C4"),
        ("oracle\n1 - h", 1 - args.hazard, 0.0, "k"),
    ]
    for i, (_, m, ci, color) in enumerate(bars):
        ax3.bar(i, m, yerr=ci, color=color, capsize=3)
    ax3.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=7)
    ax3.set(ylim=(0, 1), ylabel="share of trials matching the hidden context")
    ax3.set_title(f"Hidden context (hazard {args.hazard})", fontsize=9)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
