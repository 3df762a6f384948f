"""The model's vmPFC carries the hidden state of a partially observed task (Schuck et al. 2016).

Claim. Schuck, Cai, Wilson & Niv (2016, Neuron 91:1402, "Human orbitofrontal cortex represents a
cognitive map of state space"): in a task whose rule depends on information that is not on the
screen, the unobservable task state can be decoded from orbitofrontal / ventromedial prefrontal
activity. In the paper's process model the formal account is a partially observable MDP, made
Markov "by expanding the definition of the state" (Dohmatob, Dumas & Bzdok 2020, subsection
"Markov decision processes", Figure 3), and vmPFC carries the stimulus-value association
Q(s, a | theta) (section "The prefrontal cortex: action consideration and stimulus-value
association"; Figure 4 of "Reinforcement learning control: a process model for DMN function").
The prediction: the state on which the model's vmPFC computes its values carries the hidden
task state, over and above what the agent currently sees; a memoryless agent's does not.

What "the model's vmPFC signal" is (decided here, before any reported run). The region map's
vmPFC column is ``q``, Q(s_t, a_t), one number per trial. For a linear value function
Q(phi, a) = phi . theta_a, the population pattern that this value is read out from is the
state representation phi_t the values are associated with (the "stimulus" of the
stimulus-value association): the belief b_t over hidden states for the belief agent
(Q(b, a) = sum_s b(s) q(s, a)), the one-hot observation for the memoryless agent, the one-hot
history window for the history agent. That pattern is what is decoded (as multivoxel decoding
reads a pattern, not one number). The scalar ``q`` itself is decoded too and reported under
``checks.value_scalar`` (not a claim: a value says how good the believed state is, not which
one it is, so it need not carry a symmetric context). ``checks.pooled_over_observations``
decodes without holding the observation fixed: there the current observation itself (the
previous trial's feedback, under a policy that tracks the context) can carry the context,
which is why the claims hold the observation fixed.

Task: ``darkcontrol/HiddenContext-v0`` (envs/hidden_context.py; hazard 0.05, p_reward 0.9,
200 trials per episode): respond to a stimulus x by the rule "same" or "opposite", set by a
hidden context that switches with probability 0.05 after each trial; the agent sees only x and
the previous trial's feedback. Hidden task state to decode: the context c_t at trial t.

Agents, each the DMN process model (``DMNAgent``, ``account="full"``, default allocation
engagement and relevance sentinel) around a learner, gamma 0.5, 10 episodes (2,000 trials) each
(``--quick``: 6 agents x 5 episodes): (1) ``belief``: the belief-state agent (exact Bayes
filter on the task's POMDP, linear Q-learning over beliefs); its offline processing is the
hippocampal replay of its own stored belief transitions (``use_agent_planner=True``, ``w_replay
= w_recombined = 0``, ``agent_n_planning=1``: the belief agent has no ``learn_offline``, since
an observation-to- observation transition carries no belief, so the DMN routes its offline
budget to the agent's own planner; this needed the additive DMNAgent change that allows exactly
this configuration); (2) ``memoryless``: Q-learning on the observations (the DMN around
``q_learning``); (3) ``history``: Q-learning on the history-expanded state (the last 2
observations and the action between them, ``history=2``), the paper's Figure 3 construction.

Decoding (per agent; one unit = one agent): per trial t >= 1 of each episode the pattern
phi_t (what the agent holds when it acts), the label c_t and the current observation o_t.
Within each observation o (the visible part held fixed, so only what the agent carries beyond
what it sees can decode), an L2 logistic regression (C = 1; numpy Newton steps on sklearn's
objective, checked against sklearn in the tests) is cross-validated over 5 folds grouped by
episode; the effect is the balanced accuracy of the held-out predictions,
averaged over the 6 observations weighted by their trials (chance 0.5 exactly: the contexts
are symmetric).

Pre-declared tests (written before any reported run; n = agents; alpha = 0.05, two-sided
level: a claim holds when its 95% interval lies above the threshold):

| claim                              | per-agent effect                    | statistic    | test  |
|------------------------------------|-------------------------------------|--------------|-------|
| vmPFC_decodes_hidden_state         | belief agent: CV balanced accuracy  | one_sample_t | > 0.5 |
| history_state_decodes_hidden_state | history agent: CV balanced accuracy | one_sample_t | > 0.5 |

Controls (each with the claim's own test, must *not* hold): ``memoryless``: the same DMN around
Q-learning on observations only (the memory removed: no belief, no history; within an
observation its state is constant, so a decoder can only guess the training folds' majority, at
or below chance: held-out guesses of the training majority are biased below 0.5);
``shuffled_labels``: the claim's own agents and patterns, the hidden-state labels permuted
within each observation (seeded with 10,000 + the agent's seed), which removes the
pattern-state relation.

Ground truth (``checks``): the exact belief, the POMDP's Bayes filter (``TabularPOMDP.update``)
run on each episode's observations and actions, is compared with the belief agent's own
recorded ``belief_state`` (argmax) and ``belief_entropy`` on every trial; the Bayes-optimal
read-out (c = argmax P(c | history) of the exact belief, no training) gives the ceiling of
any decoder, and 1 - hazard that of an observer who knew the previous context.

Calibration: the task parameters, gamma, the sizes and the decoder were set on seeds 100-104
(``--seed 100``); reported runs use seeds from ``--seed`` (default 0) on.

Scale: every agent is one call of the module-level ``run_one_seed`` through
``script_args.map_seeds`` (``--jobs N`` local processes, ``--scheduler tcp://...`` a Dask
cluster), each depending only on its seed. The batched backends (darkcontrol.batched) cannot
run it: they batch Q-learning, Dyna-Q and the DMN with heuristic engagement on fully observed
worlds, and have neither a belief filter nor partially observed tasks.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``schuck_hidden_state.png`` and
``schuck_hidden_state.json`` to ``--out``.
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
from script_args import map_seeds, parse, scale_options, sized  # noqa: E402

import darkcontrol.envs  # noqa: E402, F401  (registers the environments)
from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.envs.pomdp import find_pomdp  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "schuck_hidden_state"
ENV_ID = "darkcontrol/HiddenContext-v0"
HAZARD = 0.05
P_REWARD = 0.9
GAMMA = 0.5
HISTORY = 2
N_FOLDS = 5
SHUFFLE_SEED = 10_000
CHANCE = 0.5
AGENTS = ("belief", "history", "memoryless")

SPECS = {
    "vmPFC_decodes_hidden_state": ClaimSpec(
        "vmPFC_decodes_hidden_state",
        "one_sample_t",
        ">",
        CHANCE,
        description="the belief agent's vmPFC pattern (its belief) decodes the hidden context "
        "within each observation (CV balanced accuracy > 0.5)",
    ),
    "history_state_decodes_hidden_state": ClaimSpec(
        "history_state_decodes_hidden_state",
        "one_sample_t",
        ">",
        CHANCE,
        description="the history agent's vmPFC pattern (its history-expanded state) decodes "
        "the hidden context within each observation (CV balanced accuracy > 0.5)",
    ),
}
CLAIM_AGENT = {
    "vmPFC_decodes_hidden_state": "belief",
    "history_state_decodes_hidden_state": "history",
}
CONTROL_TEXT = {
    "memoryless": "the same DMN around Q-learning on observations only (no belief, no history)",
    "shuffled_labels": "the claim's agents, hidden-state labels permuted within each observation",
}


class HiddenStateDMN(DMNAgent):
    """The DMN, with the world's hidden state (``info["hidden_state"]``, for analysis only,
    never seen by the agent) written into each online Trace row as ``hidden_state``."""

    def observe(self, s, a, r, s2, terminated, truncated=False, *, fields=None, info=None):
        extra = {**dict(fields or {}), "hidden_state": int(info["hidden_state"])}
        super().observe(s, a, r, s2, terminated, truncated, fields=extra, info=info)


def make_env(kind: str):
    history = HISTORY if kind == "history" else None
    return gym.make(ENV_ID, hazard=HAZARD, p_reward=P_REWARD, history=history)


def make_dmn(kind: str, env, seed: int) -> DMNAgent:
    if kind == "belief":
        return HiddenStateDMN(
            "belief",
            env,
            account="full",
            seed=seed,
            use_agent_planner=True,
            w_replay=0.0,
            w_model=1.0,
            w_recombined=0.0,
            agent_n_planning=1,
            agent_gamma=GAMMA,
        )
    return HiddenStateDMN("q_learning", env, account="full", seed=seed, agent_gamma=GAMMA)


# -- per trial: pattern, label, observation -------------------------------------------------
def trials(trace: pd.DataFrame) -> pd.DataFrame:
    """One row per trial t >= 1 of each episode: its state (row t's ``state``), the hidden
    state when it was shown (the previous row's ``hidden_state``), the action and ``q``."""
    on = trace[trace["phase"] == "online"].reset_index(drop=True)
    prev = on.groupby("episode", observed=True)["hidden_state"].shift(1)
    keep = prev.notna().to_numpy()
    out = pd.DataFrame(
        {
            "episode": on["episode"].to_numpy()[keep],
            "state": on["state"].to_numpy(np.int64)[keep],
            "action": on["action"].to_numpy(np.int64)[keep],
            "q": on["q"].to_numpy(np.float64)[keep],
            "hidden": prev.to_numpy()[keep].astype(np.int64),
        }
    )
    return out


def exact_beliefs(trace: pd.DataFrame, pomdp) -> tuple[np.ndarray, dict]:
    """The POMDP's Bayes filter on each episode's observations and actions: b_t for every
    trial t >= 1 (rows of :func:`trials`), and its agreement with the agent's recorded
    belief (argmax and entropy of b_{t+1} on each online row)."""
    on = trace[trace["phase"] == "online"].reset_index(drop=True)
    beliefs, argmax_ok, ent_err = [], [], []
    for _, ep in on.groupby("episode", observed=True, sort=True):
        b = pomdp.initial_belief(int(ep["state"].iloc[0]))
        for k, (a, o2, bs, h) in enumerate(
            zip(ep["action"], ep["next_state"], ep["belief_state"], ep["belief_entropy"])
        ):
            b, _ = pomdp.update(b, int(a), int(o2))
            if k < len(ep) - 1:
                beliefs.append(b)
            argmax_ok.append(int(np.argmax(b)) == int(bs))
            p = b[b > 0]
            ent_err.append(abs(float(-(p * np.log(p)).sum()) - float(h)))
    agree = {
        "argmax_agreement": float(np.mean(argmax_ok)),
        "max_entropy_error": float(np.max(ent_err)),
        "n": len(argmax_ok),
    }
    return np.array(beliefs), agree


# -- the decoder ----------------------------------------------------------------------------
def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean over the classes present of the share predicted right (0.5 for a constant guess)."""
    return float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)]))


def fit_logistic(X: np.ndarray, y: np.ndarray, C: float = 1.0, iters: int = 50) -> np.ndarray:
    """L2 logistic regression by Newton's method: argmin 1/2 ||w||^2 + C sum_i logloss_i,
    the intercept (last entry) unpenalised; sklearn's ``LogisticRegression(C=C)`` objective
    (checked against it in tests/test_schuck_hidden_state.py), in numpy, ~100x faster here."""
    Z = np.column_stack([X, np.ones(len(X))])
    d = Z.shape[1]
    pen = np.full(d, 1.0 / C)
    pen[-1] = 0.0
    w = np.zeros(d)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(Z @ w, -30, 30)))
        grad = Z.T @ (p - y) + pen * w
        H = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(pen) + 1e-9 * np.eye(d)
        step = np.linalg.solve(H, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def predict_logistic(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    return (X @ w[:-1] + w[-1] > 0).astype(np.int64)


def group_folds(groups: np.ndarray, k: int) -> list[np.ndarray]:
    """``k`` folds of whole groups (episodes), group g in fold (rank of g) mod k."""
    uniq = np.unique(groups)
    fold_of = {g: i % k for i, g in enumerate(uniq)}
    f = np.array([fold_of[g] for g in groups])
    return [np.flatnonzero(f == i) for i in range(min(k, len(uniq)))]


def decode(X: np.ndarray, y: np.ndarray, cells: np.ndarray, groups: np.ndarray) -> float:
    """Within each cell (observation): ``N_FOLDS``-fold CV grouped by episode of an L2
    logistic regression (C = 1); balanced accuracy of the held-out predictions, averaged over
    the cells weighted by their trials (cells with one class or one episode are skipped)."""
    accs, weights = [], []
    for c in np.unique(cells):
        m = cells == c
        Xc, yc, gc = X[m], y[m], groups[m]
        if len(np.unique(yc)) < 2 or len(np.unique(gc)) < 2:
            continue
        # drop the columns constant within the cell (e.g. one-hot entries never used)
        Xc = Xc[:, np.ptp(Xc, axis=0) > 0]
        pred = np.empty_like(yc)
        for te in group_folds(gc, N_FOLDS):
            tr = np.setdiff1d(np.arange(len(yc)), te)
            if len(np.unique(yc[tr])) < 2 or Xc.shape[1] == 0:
                # one class, or a constant pattern: the decoder can only guess the majority
                pred[te] = np.bincount(yc[tr], minlength=2).argmax()
                continue
            pred[te] = predict_logistic(fit_logistic(Xc[tr], yc[tr]), Xc[te])
        accs.append(balanced_accuracy(yc, pred))
        weights.append(m.sum())
    return float(np.average(accs, weights=weights))


def one_hot(idx: np.ndarray, n: int) -> np.ndarray:
    X = np.zeros((len(idx), n))
    X[np.arange(len(idx)), idx] = 1.0
    return X


# -- one agent ------------------------------------------------------------------------------
def run_one_seed(seed: int, n_episodes: int) -> dict:
    """The three agents of one seed: decoding accuracies, controls, ground-truth checks."""
    out: dict = {"seed": seed}
    rng = np.random.default_rng(SHUFFLE_SEED + seed)
    for kind in AGENTS:
        env = make_env(kind)
        dmn = make_dmn(kind, env, seed)
        trace, _ = simulate(env, dmn, episodes=n_episodes, seeds=[seed])
        base = env.unwrapped
        t = trials(trace)
        context = np.array([base.decode(int(s))[0] for s in t["hidden"]])
        groups = t["episode"].to_numpy()
        if kind == "history":
            windows = env.get_wrapper_attr("histories")
            obs = np.array([windows[s][-1] for s in t["state"]])
            X = one_hot(t["state"].to_numpy(), env.observation_space.n)
        else:
            obs = t["state"].to_numpy()
        if kind == "belief":
            pomdp = find_pomdp(env)
            X, agree = exact_beliefs(trace, pomdp)
            context_of = np.array([base.decode(s)[0] for s in range(base.n_states)])
            p1 = X @ context_of
            out["ground_truth"] = {
                **agree,
                "bayes_accuracy": _cell_mean(context, (p1 > 0.5).astype(int), obs),
                "tracking_accuracy": float(np.mean((p1 > 0.5) == context)),
            }
            out["example"] = {"p_context1": p1[:200].tolist(), "context": context[:200].tolist()}
        elif kind == "memoryless":
            X = one_hot(obs, env.observation_space.n)
        res = {"accuracy": decode(X, context, obs, groups), "n_trials": len(t)}
        shuffled = context.copy()
        for c in np.unique(obs):
            m = np.flatnonzero(obs == c)
            shuffled[m] = context[rng.permutation(m)]
        res["shuffled_labels"] = decode(X, shuffled, obs, groups)
        res["value_scalar"] = decode(t[["q"]].to_numpy(), context, obs, groups)
        # pooled over observations (the visible part not held fixed): what the observation
        # itself says about the context (its feedback, given a policy that tracks the context)
        res["pooled"] = decode(X, context, np.zeros_like(obs), groups)
        res["mean_return"] = float(trace.loc[trace["phase"] == "online", "reward"].mean())
        out[kind] = res
    return out


def _cell_mean(y: np.ndarray, pred: np.ndarray, cells: np.ndarray) -> float:
    accs = [balanced_accuracy(y[cells == c], pred[cells == c]) for c in np.unique(cells)]
    weights = [np.sum(cells == c) for c in np.unique(cells)]
    return float(np.average(accs, weights=weights))


# -- the study ------------------------------------------------------------------------------
def claims_of(per_seed: list[dict]):
    def col(kind: str, key: str = "accuracy") -> np.ndarray:
        return np.array([s[kind][key] for s in per_seed])

    out = []
    for k, (name, spec) in enumerate(SPECS.items()):
        kind = CLAIM_AGENT[name]
        out.append(
            claim(
                spec,
                col(kind),
                controls={
                    "memoryless": col("memoryless"),
                    "shuffled_labels": col(kind, "shuffled_labels"),
                },
                descriptions=CONTROL_TEXT,
                seed=1000 * k,
            )
        )
    return out


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=20, quick_seeds=6)
    sized(p, "--episodes", full=10, quick=5, help="episodes of 200 trials per agent")
    scale_options(p)
    args = parse(p, argv)
    if args.episodes < 2:
        p.error(
            f"--episodes must be >= 2 (cross-validation is grouped by episode), got {args.episodes}"
        )
    seeds = seeds_of(args)
    say = (lambda *a, **k: None) if args.quiet else print
    say(f"{STUDY} on {ENV_ID}: {len(seeds)} seeds x 3 agents x {args.episodes} episodes")
    per_seed = map_seeds(run_one_seed, seeds, args, args.episodes)
    claims = claims_of(per_seed)

    def summary(kind: str, key: str) -> dict:
        v = np.array([s[kind][key] for s in per_seed])
        return {"mean": float(v.mean()), "per_agent": v.tolist()}

    gt = [s["ground_truth"] for s in per_seed]
    checks = {
        "ground_truth": {
            "belief_argmax_agreement_min": min(g["argmax_agreement"] for g in gt),
            "belief_entropy_error_max": max(g["max_entropy_error"] for g in gt),
            "bayes_readout_accuracy": float(np.mean([g["bayes_accuracy"] for g in gt])),
            "tracking_accuracy": float(np.mean([g["tracking_accuracy"] for g in gt])),
            "oracle_previous_context": 1.0 - HAZARD,
            "chance": CHANCE,
        },
        "accuracy": {k: summary(k, "accuracy") for k in AGENTS},
        "value_scalar": {k: summary(k, "value_scalar") for k in AGENTS},
        "shuffled_labels": {k: summary(k, "shuffled_labels") for k in AGENTS},
        "pooled_over_observations": {k: summary(k, "pooled") for k in AGENTS},
        "mean_reward": {k: summary(k, "mean_return")["mean"] for k in AGENTS},
    }
    config = {
        "seeds": seeds,
        "calibration_seeds": [100, 101, 102, 103, 104],
        "env": ENV_ID,
        "hazard": HAZARD,
        "p_reward": P_REWARD,
        "episodes": args.episodes,
        "gamma": GAMMA,
        "history": HISTORY,
        "account": "full",
        "belief_offline": "the agent's own replay of belief transitions (use_agent_planner)",
        "decoder": f"L2 logistic regression (C=1), {N_FOLDS}-fold CV grouped by episode, "
        "within each observation, balanced accuracy",
        "vmPFC_pattern": "the state the values are computed on: belief / one-hot history / "
        "one-hot observation",
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)
    g = checks["ground_truth"]
    say(
        f"ground truth: agent belief = exact filter (argmax agreement "
        f"{g['belief_argmax_agreement_min']:.3f}, entropy error "
        f"{g['belief_entropy_error_max']:.1e}); "
        f"Bayes read-out {g['bayes_readout_accuracy']:.3f}, chance {CHANCE}"
    )
    for k in AGENTS:
        say(
            f"  {k:>10}: decoding {checks['accuracy'][k]['mean']:.3f}, shuffled labels "
            f"{checks['shuffled_labels'][k]['mean']:.3f}, value scalar q "
            f"{checks['value_scalar'][k]['mean']:.3f}, pooled over observations "
            f"{checks['pooled_over_observations'][k]['mean']:.3f}"
        )
    for c in claims:
        say("  " + c.describe())
    fig = figure(claims, checks, per_seed[0])
    png = save(fig, out, STUDY, {c.name: c.to_dict() for c in claims} | {"checks": checks}, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(claims, checks: dict, first: dict):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 1.4]})
    bars = [(f"{CLAIM_AGENT[c.name]}\n(claim)", c.effect, c.ci, "C0") for c in claims]
    mem = claims[0].control("memoryless")
    bars.append(("memoryless\n(control)", mem.effect, mem.ci, "C7"))
    for c in claims:
        k = c.control("shuffled_labels")
        bars.append((f"{CLAIM_AGENT[c.name]},\nshuffled labels", k.effect, k.ci, "C7"))
    labels = [b[0] for b in bars]
    means = [b[1] for b in bars]
    errs = [[b[1] - b[2][0], b[2][1] - b[1]] for b in bars]
    colors = [b[3] for b in bars]
    x = np.arange(len(labels))
    ax1.bar(x, means, yerr=np.array(errs).T, color=colors, capsize=3)
    ax1.axhline(CHANCE, color="k", lw=0.8, ls="--", label="chance 0.5")
    ax1.axhline(
        checks["ground_truth"]["bayes_readout_accuracy"],
        color="C2",
        lw=0.8,
        ls=":",
        label="exact belief read-out",
    )
    ax1.set_xticks(x, labels, fontsize=7)
    ax1.set(ylim=(0.3, 1.0), ylabel="CV balanced accuracy (95% CI)")
    ax1.set_title("decoding the hidden context within each observation", fontsize=9)
    ax1.legend(fontsize=7)
    ex = first["example"]
    t = np.arange(len(ex["context"]))
    ax2.step(t, ex["context"], where="mid", color="k", lw=0.8, label="hidden context")
    ax2.plot(t, ex["p_context1"], color="C0", lw=0.8, label="P(context 1 | history), exact belief")
    ax2.set(xlabel="trial", ylabel="probability", ylim=(-0.05, 1.05))
    ax2.set_title(f"one episode of the belief agent (seed {first['seed']})", fontsize=9)
    ax2.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
