"""Partially observed worlds need memory: a history-expanded state or a belief.

Claim (Dohmatob, Dumas & Bzdok 2020, "Reinforcement learning control: a process model for DMN
function", subsection "Markov decision processes", Figure 3): the agent's world is a partially
observable MDP, made Markov "by simply expanding the definition of the state s to include
experience episodes of the past".

Study 1, the cue maze (``darkcontrol/CueMaze-v0``, corridor ``L``): a cue seen at the start
says which arm is rewarded at the end; the corridor and the junction look the same under both
cues. Agents: memoryless Q-learning on observations; Q-learning on the history-expanded state
(the last k = L + 2 observations and k - 1 actions, ``HistoryObservation``); the belief-state
agent (Bayes filter on the known model, linear Q-learning over beliefs). After training, each
is evaluated greedily (discounted return), against the exact optimum (belief value iteration)
and the memoryless bound gamma^(L+1)/2 derived in ``CueMaze``.

Study 2, a noisy cue (validity 0.8): looking again at the start pays. The belief agent with
QMDP values (blind to information) against point-based values (PBVI), and the exact optimum.

Study 3, the hidden context (``darkcontrol/HiddenContext-v0``): the response rule depends on a
context that switches with hazard h. The belief agent's P(context | history) is compared with
the true context: chance 1/2, oracle 1 - h.

Prints per agent the mean greedy return / optimum with a 95 % CI over seeds, and the context
tracking accuracy; writes pomdp_memory.png (learning curves; accuracy) and pomdp_memory.json.
Run: ``python scripts/pomdp_memory.py --out pomdp_output`` (``--quick`` for a smoke test).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import gymnasium as gym  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dmn_common import mean_ci, parser, save, seeds_of  # noqa: E402

import darkcontrol.envs as E  # noqa: E402
from darkcontrol.agents import make_agent  # noqa: E402
from darkcontrol.envs.cue_maze import memoryless_bound  # noqa: E402
from darkcontrol.envs.pomdp_solvers import belief_value_iteration  # noqa: E402

GAMMA = 0.95
AGENTS = {  # label -> (agent name, history length or None, agent parameters)
    "memoryless Q": ("q_learning", None, {"alpha": 0.2}),
    "history Q (k = L + 2)": ("q_learning", "L+2", {"alpha": 0.2}),
    "belief (linear Q)": ("belief", None, {}),
}


def episode(agent, env, seed: int | None) -> float:
    """One episode, learning on every step; the discounted return."""
    obs, _ = env.reset(seed=seed)
    agent.reset()
    g, t, done = 0.0, 0, False
    while not done:
        a = agent.act(int(obs))
        obs2, r, term, trunc, _ = env.step(a)
        agent.observe(int(obs), a, float(r), int(obs2), term, trunc)
        g += GAMMA**t * r
        obs, t, done = obs2, t + 1, term or trunc
    return g


def cue_maze_run(label: str, seed: int, L: int, n_train: int, n_eval: int):
    name, k, params = AGENTS[label]
    env = gym.make("darkcontrol/CueMaze-v0", corridor_length=L)
    if k is not None:
        env = E.HistoryObservation(env, L + 2)
    agent = make_agent(name, env, seed=seed, gamma=GAMMA, **params)
    curve = [episode(agent, env, seed if i == 0 else None) for i in range(n_train)]
    agent.config = dataclasses.replace(agent.config, policy="greedy", epsilon=0.0)
    greedy = [episode(agent, env, 10_000 * (seed + 1) + i) for i in range(n_eval)]
    return np.asarray(curve), float(np.mean(greedy))


def context_accuracy(seed: int, hazard: float, n_episodes: int) -> float:
    env = gym.make("darkcontrol/HiddenContext-v0", hazard=hazard)
    base = env.unwrapped
    context_of = np.array([base.decode(s)[0] for s in range(base.n_states)])
    agent = make_agent("belief", env, seed=seed, gamma=0.5)
    hits = []
    for ep in range(n_episodes):
        obs, info = env.reset(seed=1000 * seed + ep)
        agent.reset()
        done = False
        while not done:
            a = agent.act(int(obs))
            hits.append((agent.belief @ context_of > 0.5) == bool(context_of[info["hidden_state"]]))
            obs2, r, term, trunc, info = env.step(a)
            agent.observe(int(obs), a, float(r), int(obs2), term, trunc)
            obs, done = obs2, term or trunc
    return float(np.mean(hits))


def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0], default_seeds=10, quick_seeds=2)
    p.add_argument("--corridor", type=int, default=2, help="corridor length L (default 2)")
    p.add_argument("--hazard", type=float, default=0.05, help="context hazard (default 0.05)")
    args = p.parse_args(argv)
    seeds = seeds_of(args)
    if args.corridor < 1:
        p.error(f"--corridor must be >= 1, got {args.corridor}")
    if not 0.0 <= args.hazard <= 0.5:
        p.error(f"--hazard must be in [0, 0.5], got {args.hazard}")
    L = args.corridor
    n_train, n_eval, n_ctx = (300, 20, 2) if args.quick else (2000, 100, 5)
    maze = gym.make("darkcontrol/CueMaze-v0", corridor_length=L)
    optimum = belief_value_iteration(maze.unwrapped.mdp, GAMMA).value
    bound = memoryless_bound(maze.unwrapped, GAMMA)
    print(f"Cue maze, corridor {L}: optimum V* = {optimum:.4f}, memoryless bound {bound:.4f}")
    numbers: dict = {"optimum": optimum, "memoryless_bound": bound, "agents": {}}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label in AGENTS:
        runs = [cue_maze_run(label, s, L, n_train, n_eval) for s in seeds]
        curves = np.stack([c for c, _ in runs])
        ratio = np.array([g for _, g in runs]) / optimum
        m, ci = mean_ci(ratio)
        print(f"  {label:24s} greedy return / V* = {m:.3f} +- {ci:.3f} (95 % CI, n={len(seeds)})")
        numbers["agents"][label] = {"ratio_mean": float(m), "ratio_ci": float(ci)}
        window = max(1, n_train // 50)
        smooth = np.convolve(curves.mean(axis=0), np.ones(window) / window, mode="valid")
        ax1.plot(np.arange(len(smooth)) + window, smooth / optimum, label=label)
    ax1.axhline(1.0, color="k", lw=0.8, ls="--", label="V* (exact)")
    ax1.axhline(bound / optimum, color="grey", lw=0.8, ls=":", label="memoryless bound")
    ax1.set(xlabel="episode", ylabel="discounted return / V*", title="Cue maze (epsilon-greedy)")
    ax1.legend(fontsize=7)
    noisy = gym.make("darkcontrol/CueMaze-v0", corridor_length=L, cue_validity=0.8)
    noisy_opt = belief_value_iteration(noisy.unwrapped.mdp, GAMMA).value
    print(f"Noisy cue (validity 0.8): optimum V* = {noisy_opt:.4f}")
    numbers["noisy_cue"] = {"optimum": noisy_opt}
    for values in ("qmdp", "pbvi"):
        agent = make_agent("belief", noisy, seed=seeds[0], gamma=GAMMA, values=values)
        agent.config = dataclasses.replace(agent.config, policy="greedy")
        g = np.array([episode(agent, noisy, 10_000 + i) for i in range(n_eval * len(seeds))])
        se = g.std() / np.sqrt(len(g))
        print(f"  belief ({values}) greedy return = {g.mean():.4f} +- {1.96 * se:.4f}")
        numbers["noisy_cue"][values] = float(g.mean())
    acc = np.array([context_accuracy(s, args.hazard, n_ctx) for s in seeds])
    m, ci = mean_ci(acc)
    print(
        f"Hidden context, hazard {args.hazard}: belief tracking accuracy {m:.3f} +- {ci:.3f} "
        f"(chance 0.5, oracle {1 - args.hazard:.3f})"
    )
    numbers["context_accuracy"] = {"mean": float(m), "ci": float(ci), "chance": 0.5}
    ax2.bar([0, 1, 2], [0.5, m, 1 - args.hazard], yerr=[0, ci, 0], color=["grey", "C2", "k"])
    ax2.set_xticks([0, 1, 2], ["chance", "belief", "oracle 1 - h"])
    ax2.set(ylim=(0, 1), ylabel="P(argmax belief = context)", title="Hidden context")
    fig.tight_layout()
    config = {"seeds": seeds, "corridor": L, "hazard": args.hazard, "gamma": GAMMA}
    config.update(n_train=n_train, n_eval=n_eval, quick=args.quick)
    path = save(fig, Path(args.out), "pomdp_memory", numbers, config)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
