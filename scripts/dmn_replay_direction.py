"""Forward replay before a run, reverse replay after reward, made by the DMN agent itself.

Claim (Diba & Buzsaki 2007, Nat Neurosci 10:1241-1242: on a familiar track, hippocampal
sequences replay the coming run *forward* before it starts and the run just made in *reverse*
after reward; Foster & Wilson 2006, Nature 440:680-683), read as a property of the DMN's
hippocampal replay (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341,
§3.3 "The hippocampus: memory, space, and experience replay"). The separate Mattar-Daw agent
(``scripts/replay_forward_reverse.py``) produces it by gain x need; here the question is
whether the DMN model does. Its default replay (``replay_order="independent"``: each memory
drawn from D on its own, uniform or by |delta|) has no order at all, so it cannot. This study
uses the minimal ordering mechanism added to :class:`darkcontrol.dmn.DMNAgent` for it,
``replay_order="sequence"`` (see its docstring): a *reverse sweep* from every value change
(prioritised sweeping, Moore & Atkeson 1993: a backup, real or replayed, that changes
V(s) re-scores the latest memories of the pairs leading into s by |delta|; replay takes the
largest above ``sweep_threshold``) and, when no |delta| is above it, a *forward sweep* ahead of
the agent (from where it is, the latest memory of the action its policy picks, then on). No
rule says "reverse after reward": a reward that changes a value starts a reverse sweep
wherever it happens, and where nothing changed replay runs ahead.

Task: ``darkcontrol/OpenMaze-v0`` (Sutton's 6 x 9 Dyna maze, goal reward 1 + N(0, 0.1^2), the
maze of Mattar & Daw 2018 Fig. 3), 50 laps (episodes, at most 2,000 steps each) per agent.
Agent: the DMN (``account="sentinel"`` with the sentinel off: replay only, ``engagement=
"constant"``: every 1-s ITI holds exactly 10 replay steps in every condition, so all conditions
are compute-matched) around epsilon-greedy Q-learning (alpha = 1, as Mattar & Daw; gamma =
0.9; epsilon = 0.1), ``replay_order="sequence"``, ``sweep_threshold=0.05`` (half the reward's
sd). Windows: *before a run* = the ITI after the first step of a lap, *after reward* = the ITI
after the step that reached the goal; laps from the second on (replay before the first reward
has nothing to order). Direction of a replayed step (the criterion of
:func:`darkcontrol.analysis.replay_events` and the Mattar-Daw agent's ``direction``),
computed from the Trace for every condition alike: "forward" if its state is the previous
replayed step's next state in the same window, "reverse" if its next state is the previous
step's state, "none" otherwise (first of a window, a jump, a step straight back). Shares are
of all replayed steps in those windows; per agent.

Pre-declared tests (n = agents; alpha = 0.05, two-sided level: a claim holds when the 95%
interval excludes 0 on the declared side):

| claim                | per-agent effect                              | statistic | test |
|----------------------|-----------------------------------------------|-----------|------|
| reverse_after_reward | reverse share - forward share, after reward   | paired_t  | > 0  |
| forward_before_run   | forward share - reverse share, before a run   | paired_t  | > 0  |

Controls (the same agents and seeds, the same replay budget per window, each evaluated with
the claim's own test; they must *not* hold): ``uniform_replay`` (both claims: the ordering
mechanism removed, ``replay_order="independent"``, uniform draws from D, the DMN's default);
``no_reverse_sweep`` (reverse_after_reward: ``sweep_threshold=inf``, forward sweeps only);
``no_forward_sweep`` (forward_before_run: ``replay_ahead=False``, reverse sweeps and otherwise
uniform draws). Compute-matched means the same replay budget per offline window (10 steps per
ITI); the total differs with the number of steps the laps take. ``checks`` reports the seeds
on which each claim holds alone, the replay-kind counts, the total replay steps and the
Mattar-Daw-style event counts (runs of >= 4 same-direction steps,
:func:`darkcontrol.analysis.direction_summary`), and, as a reference (not a control), both
tests on the DMN's other existing order, independent draws prioritised by |delta|
(``replay_priority="prioritised"``, Schaul et al. 2016): ``checks.prioritised_replay``
(default run only; ``--quick`` skips it).

Calibration: the sweep threshold (1e-3, 0.01, 0.05 tried), alpha = 1 (with alpha < 1 a swept
memory keeps (1 - alpha) of its |delta| and is rehearsed in place), the windows and the
controls were set on seeds 100-102, the quick run checked on seeds 100-105 (``--seed 100``);
reported runs use seeds 0.. .

Scale: every agent's result depends on its seed alone and runs through
``script_args.map_seeds`` (``--jobs N`` local processes, ``--scheduler tcp://...`` a Dask
cluster: 1,000 agents is ``--seeds 1000 --scheduler ...``). The batched DMN of
:mod:`darkcontrol.batched` (heuristic engagement, rarity salience) has no sequential replay,
so this study cannot use it.

Writes ``results.json`` (:mod:`darkcontrol.results`), ``dmn_replay_direction.png`` and
``dmn_replay_direction.json`` (per-agent shares) to ``--out``.
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
from darkcontrol.analysis import direction_summary  # noqa: E402
from darkcontrol.dmn import DMNAgent  # noqa: E402
from darkcontrol.results import ClaimSpec, claim, write_results  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402

STUDY = "dmn_replay_direction"
ENV_ID = "darkcontrol/OpenMaze-v0"
ALPHA, GAMMA, EPSILON = 1.0, 0.9, 0.1
SWEEP_THRESHOLD = 0.05
MAX_STEPS = 2000
CALIBRATION_SEEDS = list(range(100, 106))

SPECS = {
    "reverse_after_reward": ClaimSpec(
        "reverse_after_reward",
        "paired_t",
        description="after reward, the reverse share of replayed steps exceeds the forward share",
    ),
    "forward_before_run": ClaimSpec(
        "forward_before_run",
        "paired_t",
        description="before a run, the forward share of replayed steps exceeds the reverse share",
    ),
}
#: claim -> (window, the share that should lead, the other)
DESIGN = {
    "reverse_after_reward": ("goal", "reverse", "forward"),
    "forward_before_run": ("start", "forward", "reverse"),
}
#: condition -> DMNAgent keywords
CONDITIONS = {
    "dmn": {"replay_order": "sequence", "sweep_threshold": SWEEP_THRESHOLD},
    "uniform_replay": {"replay_order": "independent"},
    "no_reverse_sweep": {"replay_order": "sequence", "sweep_threshold": float("inf")},
    "no_forward_sweep": {
        "replay_order": "sequence",
        "sweep_threshold": SWEEP_THRESHOLD,
        "replay_ahead": False,
    },
    # not a control: the DMN's other existing order, independent draws by |delta| (Schaul 2016)
    "prioritised_replay": {"replay_order": "independent", "replay_priority": "prioritised"},
}
CONTROLS = {
    "reverse_after_reward": ("uniform_replay", "no_reverse_sweep"),
    "forward_before_run": ("uniform_replay", "no_forward_sweep"),
}
CONTROL_TEXT = {
    "uniform_replay": "replay_order='independent': each memory drawn uniformly from D (no order)",
    "no_reverse_sweep": "sweep_threshold=inf: no reverse sweeps from value changes",
    "no_forward_sweep": "replay_ahead=False: no forward sweeps ahead of the agent",
}
WINDOWS = ("start", "goal")
REFERENCE = "prioritised_replay"  #: reported in checks, not a control (default run only)


# -- simulation --------------------------------------------------------------------------------
def simulate_agent(seed: int, n_laps: int, condition: str) -> tuple[pd.DataFrame, DMNAgent]:
    env = gym.make(ENV_ID)
    dmn = DMNAgent(
        "q_learning",
        env,
        account="sentinel",
        sentinel=False,
        engagement="constant",
        seed=seed,
        agent_alpha=ALPHA,
        agent_gamma=GAMMA,
        agent_epsilon=EPSILON,
        **CONDITIONS[condition],
    )
    trace, _ = simulate(env, dmn, episodes=n_laps, seeds=[seed], max_steps=MAX_STEPS)
    return trace, dmn


def replay_directions(trace: pd.DataFrame) -> pd.DataFrame:
    """The replayed rows of a DMN Trace with ``replay_bout`` (the offline window: the ITI after
    one online step), ``replay_order``, ``replay_at`` ("start": after a lap's first step,
    "goal": after a rewarded terminal step, "step" otherwise), ``lap`` and ``direction``
    (forward | reverse | none, as the Mattar-Daw agent marks it)."""
    on = (trace["phase"] == "online").to_numpy()
    window = np.cumsum(on) - 1
    online = trace[on].reset_index(drop=True)
    first = (online["step"] == online.groupby("episode")["step"].transform("min")).to_numpy()
    goal = (online["terminated"].astype(bool) & (online["reward"] > 0)).to_numpy()
    where = np.where(goal, "goal", np.where(first, "start", "step"))
    keep = (~on) & (trace["source"] == "replay").to_numpy() & (window >= 0)
    off = trace[keep].copy()
    w = window[keep]
    s, s2 = off["state"].to_numpy(), off["next_state"].to_numpy()
    same = np.r_[False, w[1:] == w[:-1]]
    fwd = same & np.r_[False, s[1:] == s2[:-1]]
    rev = same & np.r_[False, s2[1:] == s[:-1]]
    direction = np.full(len(off), "none", dtype=object)
    direction[fwd & ~rev] = "forward"
    direction[rev & ~fwd] = "reverse"
    off["replay_bout"] = w
    off["replay_order"] = off.groupby(w).cumcount().to_numpy()
    off["replay_at"] = where[w]
    off["lap"] = online["episode"].to_numpy()[w]
    off["direction"] = direction
    return off


def run_one_seed(seed: int, n_laps: int, conditions: tuple[str, ...]) -> dict:
    """Shares of forward and reverse replay before runs and after reward, per condition."""
    out: dict = {"seed": seed}
    for cond in conditions:
        trace, dmn = simulate_agent(seed, n_laps, cond)
        off = replay_directions(trace)
        off = off[off["lap"] >= 1]
        row = {}
        for where in WINDOWS:
            g = off[off["replay_at"] == where]
            n = len(g)
            row[where] = {
                "n": n,
                "forward": float((g["direction"] == "forward").sum() / n) if n else np.nan,
                "reverse": float((g["direction"] == "reverse").sum() / n) if n else np.nan,
            }
        summ = direction_summary(off, min_length=4)
        row["events"] = {
            w: {k: int(summ.loc[w, k]) for k in ("forward_events", "reverse_events")}
            for w in WINDOWS
            if w in summ.index
        }
        row["kinds"] = {"sweep": dmn.n_sweep, "ahead": dmn.n_ahead, "draw": dmn.n_draw}
        row["n_replay"] = int(dmn.n_offline["replay"])
        out[cond] = row
    return out


# -- the study ---------------------------------------------------------------------------------
def effects(per_seed: list[dict], cond: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    where, lead, other = DESIGN[name]
    x = np.array([r[cond][where][lead] for r in per_seed])
    y = np.array([r[cond][where][other] for r in per_seed])
    return x, y


def main(argv=None) -> int:
    p = parser(__doc__, default_seeds=20, quick_seeds=6)
    sized(p, "--laps", full=50, quick=50, help="laps (episodes) per agent")
    scale_options(p)
    args = parse(p, argv)
    if args.laps < 3:
        p.error(f"--laps must be >= 3, got {args.laps}")
    seeds = seeds_of(args)
    say = (lambda *a, **k: None) if args.quiet else print
    # the reference condition (not a control) only in the default run: --quick stays short
    conds = tuple(c for c in CONDITIONS if not (args.quick and c == REFERENCE))
    n = len(conds)
    say(f"replay direction on {ENV_ID}: {len(seeds)} agents x {args.laps} laps x {n} conditions")
    per_seed = map_seeds(run_one_seed, seeds, args, args.laps, conds)

    claims = []
    for k, (name, spec) in enumerate(SPECS.items()):
        controls = {c: effects(per_seed, c, name) for c in CONTROLS[name]}
        claims.append(
            claim(
                spec,
                *effects(per_seed, "dmn", name),
                controls=controls,
                descriptions=CONTROL_TEXT,
                seed=1000 * k,
            )
        )
    reference = {}
    for k, name in enumerate(SPECS if REFERENCE in conds else ()):
        r = claim(SPECS[name], *effects(per_seed, REFERENCE, name), seed=2000 + k)
        reference[name] = {"effect": r.effect, "ci": list(r.ci), "holds": r.holds}
    checks = {
        "prioritised_replay": reference,
        "seeds_holding": {
            name: int(np.sum(np.subtract(*effects(per_seed, "dmn", name)) > 0)) for name in SPECS
        },
        "replay_kinds": {
            c: {k: int(sum(r[c]["kinds"][k] for r in per_seed)) for k in ("sweep", "ahead", "draw")}
            for c in conds
        },
        # 10 per 1-s ITI in every condition; totals differ with the laps' lengths
        "replay_steps_total": {c: int(sum(r[c]["n_replay"] for r in per_seed)) for c in conds},
        "events_min4": {
            c: {
                w: {
                    k: int(sum(r[c]["events"].get(w, {}).get(k, 0) for r in per_seed))
                    for k in ("forward_events", "reverse_events")
                }
                for w in WINDOWS
            }
            for c in conds
        },
    }
    config = {
        "seeds": seeds,
        "calibration_seeds": CALIBRATION_SEEDS,
        "env": ENV_ID,
        "laps": args.laps,
        "max_steps": MAX_STEPS,
        "agent": {"name": "q_learning", "alpha": ALPHA, "gamma": GAMMA, "epsilon": EPSILON},
        "dmn": {"account": "sentinel", "sentinel": False, "engagement": "constant"},
        "conditions": {
            c: {k: ("inf" if v == float("inf") else v) for k, v in kw.items()}
            for c, kw in CONDITIONS.items()
        },
    }
    out = Path(args.out)
    path = write_results(out, STUDY, config, claims, checks=checks)
    for c in claims:
        say("  " + c.describe())
    say(f"  seeds on which each claim holds: {checks['seeds_holding']} of {len(seeds)}")
    fig = figure(per_seed, claims, conds)
    png = save(fig, out, STUDY, {"per_seed": per_seed}, config)
    plt.close(fig)
    say(f"wrote {path}")
    print(f"wrote {png}")
    return 0


def figure(per_seed: list[dict], claims, conds):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), gridspec_kw={"width_ratios": [1, 1, 0.9]})
    x = np.arange(len(conds))
    for ax, where, title in zip(
        axes[:2], WINDOWS, ("before a run (ITI after a lap's first step)", "after reward")
    ):
        for j, (d, color) in enumerate((("forward", "C0"), ("reverse", "C3"))):
            v = np.array([[r[c][where][d] for r in per_seed] for c in conds])
            m = v.mean(axis=1)
            se = v.std(axis=1, ddof=1) / np.sqrt(v.shape[1]) * 1.96
            ax.bar(x + (j - 0.5) * 0.38, m, 0.38, yerr=se, capsize=3, color=color, label=d)
        ax.set_xticks(x, conds, rotation=20, ha="right", fontsize=8)
        ax.set(ylabel="share of replayed steps (mean, 95% CI)", title=title)
        ax.legend(fontsize=8)
    ax = axes[2]
    names = [c.name for c in claims]
    eff = [c.effect for c in claims]
    err = np.array([[c.effect - c.ci[0], c.ci[1] - c.effect] for c in claims]).T
    ax.bar(np.arange(len(names)), eff, 0.5, yerr=err, capsize=3, color="C2", label="DMN")
    for k, c in enumerate(claims):
        for j, ctl in enumerate(c.controls):
            color = f"C{4 + list(CONTROL_TEXT).index(ctl.name)}"
            ax.plot(k + 0.3 + 0.08 * j, ctl.effect, "o", color=color, label=ctl.name)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(np.arange(len(names)), names, fontsize=8)
    ax.set(ylabel="share difference (95% CI)", title="claims (bars) and controls (dots)")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), fontsize=7)
    fig.suptitle(f"DMN replay direction on {ENV_ID}, {len(per_seed)} agents")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
