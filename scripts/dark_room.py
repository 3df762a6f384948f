"""The dark room: a surprise minimiser stays in it, the reward-seeking DMN agent leaves it.

Claim (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, section "Relation to
existing accounts", its "A note on the free-energy principle and active inference"): an agent
that only minimises surprise would seek a dark, predictable room and stay there (the dark-room
problem; Friston, Thornton & Clark 2012); the DMN, a reinforcement-learning agent that seeks
reward, leaves it to obtain reward.

Task: ``darkcontrol/DarkRoom-v0`` (envs/dark_room.py): a dark room (staying, or going back from
anywhere, always has the same outcome; no reward) and a lit region of 4 places where foraging
lands on a place drawn at random (unpredictable) and the food patch pays +1 (0.25 per step on
average). The same world with ``food_reward=0`` has nothing to seek. One episode per agent and
world: 500 practice + 1,000 test steps (``--quick``: the same, 4 seeds instead of 12), starting
in the dark room.

Agents (each ``DMNAgent`` around epsilon-greedy Q-learning, epsilon 0.1, gamma 0.9, alpha 0.1,
``reconsolidate=False``: the lit region is stochastic and stationary, and reconsolidation would
rewrite a stochastic outcome onto its last sample):

- ``dmn``: the DMN model, ``account="full"`` (replay, model rollouts and recombination at rest,
  sentinel, allocation), learning from the world's reward;
- ``surprise_minimiser``: the predictive-coding account (``account="predictive_coding"``:
  offline Monte Carlo rollouts in the learned model, no sentinel) made to minimise surprise.
  ``account="predictive_coding"`` alone is *not* a surprise minimiser: it simulates from its
  model but chooses by reward like every account. So here its learner's reward is the negative
  surprise of its own world model, r = -spe = -(1 - P_hat(s' | s, a)) (the DMN's left-TPJ
  signal, computed before the model learns the transition), and the world's reward is ignored
  (kept in the Trace as ``env_reward``): its Q-values are expected discounted future surprise,
  the quantity a free-energy agent bounds. This is the paper's own recasting of the FEP in its
  RL framework (the Q-value the DMN maximises taken as negative surprise, -Q ~ free energy ~
  -log p), with the package's bounded surprise 1 - P_hat in place of -log P_hat (infinite for
  a transition never seen). The same machinery, only the objective changed (class
  ``SurpriseMinimiser`` below).

Per agent and world: the share of test-phase steps spent in the dark room (the state acted in).

Pre-declared tests (declared before any reported run; n = seeds; alpha = 0.05, two-sided
level: a claim holds when its 95% interval excludes the threshold on the declared side):

| claim                   | per-seed effect (paired dark-room shares)   | statistic | test |
|-------------------------|---------------------------------------------|-----------|------|
| leaves_dark_room        | surprise_minimiser - dmn (rewarded world)   | paired_t  | > 0  |
| leaves_to_obtain_reward | dmn: reward removed - rewarded world        | paired_t  | > 0  |

Controls, each evaluated with its claim's test on its own per-seed effects, which must *not*
hold where they remove the mechanism:

- ``surprise_objective`` (both claims): the same full DMN (``account="full"``) with its reward
  replaced by -spe: reward seeking removed, everything else of the DMN kept. For
  ``leaves_dark_room``: surprise_minimiser - this agent (should vanish: the objective, not the
  account, makes the difference); for ``leaves_to_obtain_reward``: this agent without reward -
  with reward (it never sees the reward: exactly 0);
- ``reward_removed`` (``leaves_dark_room``): the same comparison in the world with
  ``food_reward=0``, where the DMN has nothing to seek. Stated before running: this control
  removes what the DMN leaves *for*, but not what the surprise minimiser stays *for*; without
  reward the DMN's values stay 0 and it wanders (ties broken at random: the uniform policy
  spends 1/2 of its steps in the dark room), while the surprise minimiser still keeps to the
  dark. So the difference should shrink, not vanish: we expect this control to **hold**, and
  ``leaves_to_obtain_reward`` is the claim that isolates the reward.

Ground truth (``checks.exact``): value iteration (gamma 0.9) on the exact MDP with the world's
reward, and on the exact MDP whose reward is the expected negative surprise under the true
model, -(1 - sum_s' P(s' | s, a)^2): the optimal reward-seeking policy leaves the dark room
(forage everywhere), the optimal surprise-minimising one stays in it; with their epsilon-greedy
versions (epsilon 0.1) their exact stationary dark-room shares, against which the agents'
measured shares are reported.

Calibration: the world's size, practice length and the learners were set on seeds 100-107
(``--seed 100``); reported runs use seeds from ``--seed`` (default 0) on.

Also reported (``checks``, not a control): ``dmn_no_hippocampus``, the DMN with
``lesion="hippocampus"`` (no replay, rollouts or recombination: a plain Q-learner), whose
dark-room share says whether leaving needs the offline processing the paper invokes (replay
that samples "alternative situations with reward structure") or reward seeking alone.

Scale: each seed (its 8 runs: 4 agents x 2 worlds) is one call of ``run_one_seed`` through
``script_args.map_seeds``, so ``--jobs 8`` or ``--scheduler tcp://...`` reruns it with 1,000
agents on a cluster. ``darkcontrol.batched`` has no surprise-minimising objective nor the full
DMN's rollouts and recombination, so this study runs the reference agents, one per process.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``dark_room.png`` and ``dark_room.json``
(the per-seed table) to ``--out``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
from darkcontrol.envs import TabularMDP, value_iteration  # noqa: E402
from darkcontrol.envs.dark_room import DARK_ROOM  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402
from darkcontrol.trace import TraceRecorder  # noqa: E402

STUDY = "dark_room"
ENV_ID = "darkcontrol/DarkRoom-v0"
GAMMA = 0.9
EPSILON = 0.1
AGENT = {"epsilon": EPSILON, "agent_gamma": GAMMA, "alpha": 0.1, "reconsolidate": False}
WORLDS = {"rewarded": {"food_reward": 1.0}, "no_reward": {"food_reward": 0.0}}


class SurpriseMinimiser(DMNAgent):
    """A DMN agent whose learner's reward is -spe, the surprise of its own world model.

    spe = 1 - P_hat(s' | s, a) under the DMN's learned model before it learns the transition
    (the same number the DMN records as ``spe``); the world's reward is ignored (recorded as
    ``env_reward``). Everything else (memory, offline rollouts, the account) is the DMN's."""

    def observe(
        self,
        s: int,
        a: int,
        r: float,
        s2: int,
        terminated: bool,
        truncated: bool = False,
        *,
        fields: Mapping[str, Any] | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        surprise = self.model.spe(s, a, s2)
        extra = {"env_reward": float(r), **(fields or {})}
        super().observe(s, a, -surprise, s2, terminated, truncated, fields=extra, info=info)


#: agent -> (class, account, extra DMN parameters)
AGENTS = {
    "dmn": (DMNAgent, "full", {}),
    "surprise_minimiser": (SurpriseMinimiser, "predictive_coding", {}),
    "surprise_objective": (SurpriseMinimiser, "full", {}),
    "dmn_no_hippocampus": (DMNAgent, "full", {"lesion": "hippocampus"}),
}

# -- the pre-declared tests (see the docstring) ------------------------------------------------
SPECS = {
    "leaves_dark_room": ClaimSpec(
        "leaves_dark_room",
        "paired_t",
        description="dark-room share of the surprise minimiser minus the DMN's (rewarded "
        "world), > 0",
    ),
    "leaves_to_obtain_reward": ClaimSpec(
        "leaves_to_obtain_reward",
        "paired_t",
        description="the DMN's dark-room share without reward minus with reward, > 0",
    ),
}
CONTROL_TEXT = {
    "surprise_objective": "the full DMN with its reward replaced by -spe (reward seeking removed)",
    "reward_removed": "the same comparison in the world with food_reward=0 (nothing to seek)",
}


# -- simulation (the only calls into the runner) -----------------------------------------------
def run_agent(seed: int, agent: str, world: str, practice: int, test: int) -> dict:
    """One agent in one world: its dark-room share over the test phase, and its greedy
    action in the dark room at the end."""
    env = gym.make(ENV_ID, episode_length=practice + test, **WORLDS[world])
    cls, account, extra = AGENTS[agent]
    dmn = cls(
        "q_learning",
        env,
        account=account,
        seed=seed,
        recorder=TraceRecorder(mode="online"),
        **AGENT,
        **extra,
    )
    trace, _ = simulate(env, dmn, episodes=1, seeds=[seed])
    online = trace[trace["phase"] == "online"]
    states = online["state"].to_numpy(dtype=int)
    late = states[practice:]
    q = dmn.q_values()[DARK_ROOM]
    return {
        "dark_share": float(np.mean(late == DARK_ROOM)),
        "dark_share_practice": float(np.mean(states[:practice] == DARK_ROOM)),
        "leaves": int(np.sum((late[:-1] == DARK_ROOM) & (late[1:] != DARK_ROOM))),
        "greedy_forage_in_dark": float(q[1] > q[0]),
        "q_dark": q.tolist(),
    }


def run_one_seed(seed: int, practice: int, test: int) -> dict:
    """Every (agent, world) of one seed; the result depends on the seed alone."""
    return {
        f"{agent}/{world}": run_agent(seed, agent, world, practice, test)
        for agent in AGENTS
        for world in WORLDS
    }


def shares(per_seed: list[dict], key: str) -> np.ndarray:
    return np.array([r[key]["dark_share"] for r in per_seed])


# -- ground truth: the exact MDPs ----------------------------------------------------------------
def surprise_mdp(mdp: TabularMDP) -> TabularMDP:
    """The same dynamics with reward -E[1 - P(s' | s, a)] = -(1 - sum_s' P(s' | s, a)^2): the
    expected negative surprise under the true model (what a converged surprise minimiser
    maximises)."""
    R = -(1.0 - (mdp.P**2).sum(axis=2))
    return TabularMDP(P=mdp.P, R=R, terminal=mdp.terminal, start=mdp.start, labels=mdp.labels)


def stationary_dark_share(mdp: TabularMDP, Q: np.ndarray, epsilon: float) -> float:
    """Dark-room share of the stationary distribution of the epsilon-greedy policy of Q
    (ties split evenly)."""
    S, A = Q.shape
    best = np.isclose(Q, Q.max(axis=1, keepdims=True))
    pi = epsilon / A + (1 - epsilon) * best / best.sum(axis=1, keepdims=True)
    P = np.einsum("sa,sat->st", pi, mdp.P)
    w, v = np.linalg.eig(P.T)
    d = np.real(v[:, np.argmin(np.abs(w - 1.0))])
    d = d / d.sum()
    return float(d[DARK_ROOM])


def exact() -> dict:
    out = {}
    for world, params in WORLDS.items():
        mdp = gym.make(ENV_ID, **params).unwrapped.mdp
        for objective, m in (("reward", mdp), ("surprise", surprise_mdp(mdp))):
            sol = value_iteration(m, GAMMA)
            out[f"{objective}/{world}"] = {
                "policy_in_dark": sol.policy[DARK_ROOM].tolist(),  # [P(stay), P(forage)]
                "leaves_dark_room": bool(sol.policy[DARK_ROOM][1] > 0.5),
                "Q_dark": sol.Q[DARK_ROOM].tolist(),
                "dark_share_epsilon_greedy": stationary_dark_share(m, sol.Q, EPSILON),
            }
    return out


# -- the study ---------------------------------------------------------------------------------
def _reference(x: np.ndarray, y: np.ndarray, name: str) -> dict:
    """A claim's test on other agents' effects (a reported check, not a control)."""
    c = claim(SPECS[name], x, y, seed=2000)
    return {"effect": c.effect, "ci": list(c.ci), "holds": c.holds, "test": name}


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=12, quick_seeds=4)
    sized(p, "--practice", full=500, quick=500, help="practice steps before the test phase")
    sized(p, "--test", full=1000, quick=1000, help="test steps (dark-room share measured)")
    scale_options(p)
    args = parse(p, argv)
    for flag in ("practice", "test"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag} must be >= 1, got {getattr(args, flag)}")
    seeds = seeds_of(args)
    say = (lambda *a, **k: None) if args.quiet else print
    say(
        f"dark room on {ENV_ID}: {len(seeds)} seeds x {len(AGENTS)} agents x {len(WORLDS)} "
        f"worlds, {args.practice} + {args.test} steps"
    )
    per_seed = map_seeds(run_one_seed, seeds, args, args.practice, args.test)
    sm, dmn = shares(per_seed, "surprise_minimiser/rewarded"), shares(per_seed, "dmn/rewarded")
    sm0, dmn0 = shares(per_seed, "surprise_minimiser/no_reward"), shares(per_seed, "dmn/no_reward")
    so, so0 = (
        shares(per_seed, "surprise_objective/rewarded"),
        shares(per_seed, "surprise_objective/no_reward"),
    )
    claims = [
        claim(
            SPECS["leaves_dark_room"],
            sm,
            dmn,
            controls={"surprise_objective": (sm, so), "reward_removed": (sm0, dmn0)},
            descriptions=CONTROL_TEXT,
            seed=0,
        ),
        claim(
            SPECS["leaves_to_obtain_reward"],
            dmn0,
            dmn,
            controls={"surprise_objective": (so0, so)},
            descriptions=CONTROL_TEXT,
            seed=1000,
        ),
    ]
    table = {
        key: {
            "dark_share": shares(per_seed, key).tolist(),
            "greedy_forage_in_dark": [r[key]["greedy_forage_in_dark"] for r in per_seed],
            "leaves": [r[key]["leaves"] for r in per_seed],
        }
        for key in per_seed[0]
    }
    truth = exact()
    checks = {
        "exact": truth,
        "mean_dark_share": {k: float(np.mean(v["dark_share"])) for k, v in table.items()},
        "dmn_greedy_leaves_like_exact_policy": float(
            np.mean(table["dmn/rewarded"]["greedy_forage_in_dark"])
        ),
        "dmn_no_hippocampus": _reference(
            sm, shares(per_seed, "dmn_no_hippocampus/rewarded"), "leaves_dark_room"
        ),
        "surprise_minimiser_greedy_stays_like_exact_policy": float(
            1.0 - np.mean(table["surprise_minimiser/rewarded"]["greedy_forage_in_dark"])
        ),
    }
    config = {
        "seeds": seeds,
        "calibration_seeds": list(range(100, 108)),
        "env": ENV_ID,
        "worlds": WORLDS,
        "practice": args.practice,
        "test": args.test,
        "agents": {k: {"class": c.__name__, "account": a, **x} for k, (c, a, x) in AGENTS.items()},
        "learner": {"name": "q_learning", **AGENT},
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)

    for k, v in checks["mean_dark_share"].items():
        say(f"  dark-room share {k:>30}: {v:.3f}")
    for k, v in truth.items():
        say(
            f"  exact {k:>20}: leaves {v['leaves_dark_room']}, eps-greedy dark share "
            f"{v['dark_share_epsilon_greedy']:.3f}"
        )
    for c in claims:
        say("  " + c.describe())
    fig = figure(claims, table, truth)
    numbers = {"claims": {c.name: c.to_dict() for c in claims}, **table}
    png = save(fig, out, STUDY, numbers, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(claims, table: dict, truth: dict):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.4, 1]})
    labels = {
        "dmn": "DMN (reward)",
        "surprise_minimiser": "surprise minimiser",
        "surprise_objective": "DMN, -surprise",
        "dmn_no_hippocampus": "DMN, no hippocampus",
    }
    x = np.arange(len(labels))
    for j, (world, color) in enumerate((("rewarded", "C0"), ("no_reward", "C7"))):
        vals = [table[f"{a}/{world}"]["dark_share"] for a in labels]
        ax1.bar(x + (j - 0.5) * 0.38, [np.mean(v) for v in vals], 0.38, color=color, label=world)
        for i, v in enumerate(vals):
            ax1.plot([x[i] + (j - 0.5) * 0.38] * len(v), v, "k.", ms=3)
    for objective, ls in (("reward", "--"), ("surprise", ":")):
        ax1.axhline(
            truth[f"{objective}/rewarded"]["dark_share_epsilon_greedy"],
            color="k",
            ls=ls,
            lw=0.8,
            label=f"exact optimum ({objective}), eps-greedy",
        )
    ax1.set_xticks(x, [v.replace(", ", ",\n") for v in labels.values()], fontsize=8)
    ax1.set(ylim=(0, 1.3), ylabel="share of test steps in the dark room", title="dark room")
    ax1.legend(fontsize=7, loc="upper center", ncol=2)
    y = np.arange(len(claims))
    ax2.errorbar(
        [c.effect for c in claims],
        y,
        xerr=np.array([[c.effect - c.ci[0], c.ci[1] - c.effect] for c in claims]).T,
        fmt="o",
        label="claim",
    )
    for k, (name, color) in enumerate((("surprise_objective", "C2"), ("reward_removed", "C1"))):
        pts = [(i, ct) for i, c in enumerate(claims) for ct in c.controls if ct.name == name]
        ax2.errorbar(
            [c.effect for _, c in pts],
            [i + 0.15 * (k + 1) for i, _ in pts],
            xerr=np.array([[c.effect - c.ci[0], c.ci[1] - c.effect] for _, c in pts]).T,
            fmt="s",
            ms=4,
            color=color,
            label=name,
        )
    ax2.axvline(0, color="k", lw=0.5)
    ax2.set_yticks(y, [c.name.replace("_", " ") for c in claims], fontsize=8)
    ax2.set(xlabel="difference in dark-room share (95% CI)", title="claims and controls")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
