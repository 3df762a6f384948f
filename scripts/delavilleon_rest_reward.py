"""Reward paired with the replay of a place during rest makes the awake agent go there.

Claim (de Lavilleon, Lacroix, Rondi-Reig & Benchenane 2015, Nat Neurosci 18:493-495,
"Explicit memory creation during sleep demonstrates a causal role of place cells in
navigation": medial-forebrain-bundle stimulation triggered by the spontaneous firing of one
place cell during sleep made mice go to that cell's place field when awake; stimulation not
paired with the cell's firing did not), read as a property of the DMN's offline processing
(Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, §3.3 "The hippocampus:
memory, space, and experience replay": offline replay of (s, a, r, s') from memory trains the same
values that choose actions awake). The mechanism: the DMN replays remembered transitions at
rest and learns from them; an artificial reward added to exactly those offline backups that
arrive in a target place X (``DMNAgent(offline_reward=...)``, applied to offline backups only,
never to real experience) raises the values of the paths into X, so the awake agent's policy
leads there, although X never held a reward.

Task: a 6 x 6 open field (``darkcontrol/OpenField-v0`` with ``n_rows=n_cols=6``,
``goal_reward=0``: the top-right cell is an exit without reward), start in the bottom-left
corner, episodes of at most 100 steps; X = the bottom-right corner (declared before any run).
Schedule (:class:`darkcontrol.clock.Schedule`, one ``simulate`` call per agent): a task block
of 600 1-s trials (exploration; no ITI, so no offline processing on task), a 60-s rest block
(``DMNAgent.offline(kind="rest")``: 10 replay steps per second, i.e. 600 backups, the "sleep"),
a probe task block of 200 trials, with no reward anywhere. Agent: the DMN
(``account="sentinel"`` with the sentinel off: replay only; ``engagement="constant"``: the rest
holds the same number of backups in every condition) around epsilon-greedy Q-learning (alpha
0.1, gamma 0.9, epsilon 0.1). Stimulation: +1 added to the reward of a replayed transition
whose next state is X (``offline_reward(s, a, s') = 1 if s' == X else 0``).

Pre-declared test (n = agents; alpha = 0.05, two-sided level: the claim holds when the 95%
interval excludes 0 on the declared side):

| claim                      | per-agent effect                                | statistic | test |
|----------------------------|-------------------------------------------------|-----------|------|
| paired_stimulation_place   | occupancy of X in the probe - in exploration    | paired_t  | > 0  |

Occupancy = share of trials whose state (where the agent is at the trial's onset) is X.
Controls (the same agents and seeds, the same rest; each with the claim's test, they must
*not* hold): ``unpaired_stimulation`` (the same number of stimulations as the agent's paired
run, yoked to randomly chosen backups of its rest, whatever they replay: stimulation without
the pairing, as the experiment's control); ``no_replay`` (``lesion="hippocampus"``: no offline
processing, so nothing to pair the stimulation with). ``checks`` reports the stimulations per
agent, the paired-minus-unpaired probe occupancy and the chance occupancy 1/36.

Calibration: the field's size, the exploration length (300 trials left X unvisited for some
agents: nothing to replay there) and the rest and probe lengths were set on seeds 100-105 and
the quick run checked on seeds 100-109 (``--seed 100``); reported runs use seeds 0.. .

Scale: every agent's result depends on its seed alone and runs through
``script_args.map_seeds`` (``--jobs N``, ``--scheduler tcp://...``: 1,000 agents is
``--seeds 1000 --scheduler ...``). The batched DMN of :mod:`darkcontrol.batched` has no
offline-reward hook and no schedule of rest blocks with stimulation, so this study cannot use
it.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``delavilleon_rest_reward.png`` and
``delavilleon_rest_reward.json`` (per-agent occupancies) to ``--out``.
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
from script_args import map_seeds, parse, scale_options  # noqa: E402

import darkcontrol.envs  # noqa: E402, F401  (registers the environments)
from darkcontrol.clock import Block, Schedule  # noqa: E402
from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "delavilleon_rest_reward"
ENV_ID = "darkcontrol/OpenField-v0"
N = 6  #: the field is N x N
X = (N - 1) * N + (N - 1)  #: the target place: the bottom-right corner
EXPLORE, REST, PROBE = 600, 60.0, 200  #: trials, seconds, trials
MAX_STEPS = 100
GAMMA = 0.9
STIMULATION = 1.0
YOKE_SEED = 50_000
CALIBRATION_SEEDS = list(range(100, 110))

SPEC = ClaimSpec(
    "paired_stimulation_place",
    "paired_t",
    description="occupancy of X in the probe exceeds that of exploration after stimulation "
    "paired with the replay of X",
)
CONTROL_TEXT = {
    "unpaired_stimulation": "the same number of stimulations at random backups of the rest",
    "no_replay": "lesion='hippocampus': no offline processing, nothing to pair with",
}


def paired(s: int, a: int, s2: int) -> float:
    """Stimulation paired with the replay of an arrival in X."""
    return STIMULATION if s2 == X else 0.0


class Yoked:
    """Stimulation at given offline backups (by their index), whatever they replay."""

    def __init__(self, when) -> None:
        self.when, self.k = frozenset(int(w) for w in when), 0

    def __call__(self, s: int, a: int, s2: int) -> float:
        k, self.k = self.k, self.k + 1
        return STIMULATION if k in self.when else 0.0


def schedule() -> Schedule:
    return Schedule.from_blocks(
        [Block.task(EXPLORE, 1.0, 0.0), Block.rest(REST), Block.task(PROBE, 1.0, 0.0)]
    )


def simulate_agent(seed: int, hook, lesion: str = "none"):
    env = gym.make(ENV_ID, n_rows=N, n_cols=N, goal_reward=0.0)
    dmn = DMNAgent(
        "q_learning",
        env,
        account="sentinel",
        sentinel=False,
        engagement="constant",
        seed=seed,
        lesion=lesion,
        offline_reward=hook,
        agent_gamma=GAMMA,
    )
    trace, _ = simulate(env, dmn, schedule=schedule(), seeds=[seed], max_steps=MAX_STEPS)
    return trace, dmn


def occupancy(trace: pd.DataFrame) -> tuple[float, float]:
    """Share of trials at X in exploration and in the probe."""
    on = trace[trace["phase"] == "online"]
    t, at_x = on["time"].to_numpy(), (on["state"] == X).to_numpy()
    return float(at_x[t < EXPLORE].mean()), float(at_x[t >= EXPLORE + REST].mean())


def run_one_seed(seed: int) -> dict:
    """Exploration and probe occupancy of X under paired, yoked unpaired and no replay."""
    out: dict = {"seed": seed}
    trace, dmn = simulate_agent(seed, paired)
    n_stim = dmn.n_stimulated
    n_backups = int((trace["phase"] == "offline").sum())
    out["paired"] = occupancy(trace)
    out["n_stimulated"], out["n_backups"] = int(n_stim), n_backups
    out["visits_x_explore"] = int(
        ((trace["phase"] == "online") & (trace["state"] == X) & (trace["time"] < EXPLORE)).sum()
    )
    rng = np.random.default_rng(YOKE_SEED + seed)
    when = rng.choice(n_backups, size=n_stim, replace=False) if n_backups else []
    trace, dmn = simulate_agent(seed, Yoked(when))
    out["unpaired_stimulation"] = occupancy(trace)
    out["n_stimulated_unpaired"] = int(dmn.n_stimulated)
    trace, dmn = simulate_agent(seed, paired, lesion="hippocampus")
    out["no_replay"] = occupancy(trace)
    out["n_stimulated_no_replay"] = int(dmn.n_stimulated)
    return out


def effects(per_seed: list[dict], cond: str) -> tuple[np.ndarray, np.ndarray]:
    """(probe occupancy, exploration occupancy) per agent."""
    return (
        np.array([r[cond][1] for r in per_seed]),
        np.array([r[cond][0] for r in per_seed]),
    )


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=20, quick_seeds=10)
    scale_options(p)
    args = parse(p, argv)
    seeds = seeds_of(args)
    say = (lambda *a, **k: None) if args.quiet else print
    say(f"stimulation paired with replay of X on a {N}x{N} field: {len(seeds)} agents")
    per_seed = map_seeds(run_one_seed, seeds, args)
    c = claim(
        SPEC,
        *effects(per_seed, "paired"),
        controls={k: effects(per_seed, k) for k in CONTROL_TEXT},
        descriptions=CONTROL_TEXT,
        seed=0,
    )
    probe_p, _ = effects(per_seed, "paired")
    probe_u, _ = effects(per_seed, "unpaired_stimulation")
    checks = {
        "chance_occupancy": 1.0 / (N * N),
        "n_stimulated": [r["n_stimulated"] for r in per_seed],
        "n_stimulated_unpaired": [r["n_stimulated_unpaired"] for r in per_seed],
        "n_stimulated_no_replay": [r["n_stimulated_no_replay"] for r in per_seed],
        "visits_x_explore": [r["visits_x_explore"] for r in per_seed],
        "paired_minus_unpaired_probe": float(np.mean(probe_p - probe_u)),
        "seeds_holding": int(np.sum(np.subtract(*effects(per_seed, "paired")) > 0)),
    }
    config = {
        "seeds": seeds,
        "calibration_seeds": CALIBRATION_SEEDS,
        "env": ENV_ID,
        "field": [N, N],
        "target": X,
        "explore_trials": EXPLORE,
        "rest_s": REST,
        "probe_trials": PROBE,
        "max_steps": MAX_STEPS,
        "stimulation": STIMULATION,
        "agent": {"name": "q_learning", "gamma": GAMMA, "policy": "epsilon_greedy"},
        "dmn": {"account": "sentinel", "sentinel": False, "engagement": "constant"},
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, [c], checks=checks)
    say("  " + c.describe())
    say(f"  stimulations per agent: {checks['n_stimulated']}")
    fig = figure(per_seed, c)
    png = save(fig, out, STUDY, {"per_seed": per_seed}, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(per_seed: list[dict], c):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    conds = ["paired", "unpaired_stimulation", "no_replay"]
    for k, cond in enumerate(conds):
        probe, base = effects(per_seed, cond)
        for b, pr in zip(base, probe):
            ax1.plot([3 * k, 3 * k + 1], [b, pr], color=f"C{k}", alpha=0.35, lw=0.8)
        ax1.plot([3 * k, 3 * k + 1], [base.mean(), probe.mean()], "o-", color=f"C{k}", lw=2.5)
    ax1.axhline(1.0 / (N * N), color="k", ls=":", lw=0.8, label="chance (1/36)")
    ticks = [x for k in range(len(conds)) for x in (3 * k, 3 * k + 1)]
    short = {"paired": "paired", "unpaired_stimulation": "unpaired", "no_replay": "no replay"}
    labels = [f"{short[cd]}\n{w}" for cd in conds for w in ("explore", "probe")]
    ax1.set_xticks(ticks, labels, fontsize=8)
    ax1.set(ylabel="occupancy of X (share of trials)", title="each agent (thin) and the mean")
    ax1.legend(fontsize=8)
    names = ["paired"] + [k.name for k in c.controls]
    eff = [c.effect] + [k.effect for k in c.controls]
    cis = [c.ci] + [k.ci for k in c.controls]
    err = np.array([[e - lo, hi - e] for e, (lo, hi) in zip(eff, cis)]).T
    ax2.bar(range(len(names)), eff, 0.5, yerr=err, capsize=4, color=["C0", "C1", "C2"])
    ax2.axhline(0, color="k", lw=0.5)
    ax2.set_xticks(range(len(names)), names, fontsize=8)
    ax2.set(ylabel="probe - exploration occupancy of X (95% CI)", title=f"claim {c.name}")
    fig.suptitle(
        f"de Lavilleon et al. 2015 in the DMN: stimulation paired with replay of X at rest, "
        f"{len(per_seed)} agents"
    )
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
