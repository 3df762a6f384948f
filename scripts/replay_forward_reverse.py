"""Forward replay before a run, reverse replay after reward (Mattar & Daw 2018, Fig. 3).

Runs the prioritised-replay agent (EVB = gain x need) on the paper's open maze (Sutton's 6x9
Dyna maze, reward 1 + N(0, 0.1^2) at the goal), counts replayed steps and replay events that
continue a forward or a reverse sequence before runs (at the start) and after reward (at the
goal), and draws the counts and one example bout of each kind on the maze.

    python scripts/replay_forward_reverse.py --out replay_out --seed 0

Writes ``replay_forward_reverse.png``, ``summary.json`` (numbers, configuration, package
version) and ``trace.parquet`` (the full Trace) in ``--out``.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import darkcontrol  # noqa: E402
from darkcontrol._util import atomic_write_bytes, atomic_write_text  # noqa: E402
from darkcontrol.analysis import direction_summary, replay_events  # noqa: E402
from darkcontrol.envs.mazes import DynaMaze  # noqa: E402
from darkcontrol.simulation import simulate  # noqa: E402
from darkcontrol.trace import write_trace  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from script_args import parse, progress, script_parser, sized  # noqa: E402


def parse_args(argv=None):
    p = script_parser(
        __doc__, out="replay_forward_reverse_output", quick="1 run x 10 laps"
    )  # run k uses seed + k
    sized(p, "--runs", full=5, quick=1, help="simulated animals")
    sized(p, "--episodes", full=50, quick=10, help="laps per run")
    p.add_argument(
        "--reward-sd", type=float, default=0.1, help="sd of the goal reward (default 0.1)"
    )
    p.add_argument("--min-length", type=int, default=4, help="steps in a replay event (default 4)")
    return parse(p, argv)


def _example_event(trace, where, direction):
    """The replayed transitions of the longest ``direction`` event at ``where``, in order."""
    ev = replay_events(trace, 3)
    ev = ev[(ev["replay_at"] == where) & (ev["direction"] == direction)]
    if ev.empty:
        return None
    best = ev.sort_values("length", ascending=False, kind="stable").iloc[0]
    off = trace[(trace["run"] == best["run"]) & (trace["replay_bout"] == best["replay_bout"])]
    off = off[off["replay_order"].between(best["first"], best["last"])]
    return off.sort_values("replay_order")


def _draw_bout(ax, maze, bout, title):
    """The maze's walls, start and goal, and the replayed transitions as arrows."""
    ax.imshow(maze.walls, cmap="Greys", vmin=0, vmax=1.5)
    (sr, sc), (gr, gc) = maze.coords_of(maze.start_states[0]), maze.coords_of(maze.goal_states[0])
    ax.text(sc, sr, "S", ha="center", va="center", fontsize=12, weight="bold", color="tab:blue")
    ax.text(gc, gr, "G", ha="center", va="center", fontsize=12, weight="bold", color="tab:green")
    if bout is not None:
        n = len(bout)
        cmap = plt.get_cmap("viridis")
        for i, row in enumerate(bout.itertuples()):
            r0, c0 = divmod(int(row.state), maze.n_cols)
            r1, c1 = divmod(int(row.next_state), maze.n_cols)
            ax.annotate(
                "",
                xy=(c1, r1),
                xytext=(c0, r0),
                arrowprops={"arrowstyle": "->", "color": cmap(i / max(n - 1, 1)), "lw": 2},
            )
    ax.set_title(f"{title}\n(replay order: dark -> light)", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def main(argv=None) -> int:
    args = parse_args(argv)
    trace, _ = simulate(
        "darkcontrol/OpenMaze-v0",
        "mattar_daw",
        episodes=args.episodes,
        seeds=args.runs,
        first_seed=args.seed,
        max_steps=5000,
        env_params={"reward_sd": args.reward_sd},
        progress=progress(args),
        pre_explore=True,  # the paper's exploration before rewards
    )
    summ = direction_summary(trace, args.min_length)
    laps = args.runs * args.episodes
    print(f"Mattar & Daw replay on the open maze: {args.runs} runs x {args.episodes} laps")
    print(summ.to_string(float_format=lambda x: f"{x:.3f}"))
    fwd_start = summ.loc["start", "forward_share"]
    rev_goal = 1.0 - summ.loc["goal", "forward_share"]
    print(f"forward share before runs: {fwd_start:.3f}; reverse share after reward: {rev_goal:.3f}")

    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    x = np.arange(2)
    for k, (col, label) in enumerate(
        (("forward_events", "forward"), ("reverse_events", "reverse"))
    ):
        rates = [summ.loc[w, col] / laps for w in ("start", "goal")]
        axes[0].bar(x + (k - 0.5) * 0.38, rates, 0.38, label=label)
    axes[0].set_xticks(x, ["before run", "after reward"])
    axes[0].set_ylabel("events per lap")
    axes[0].set_title(f"replay events (>= {args.min_length} steps)", fontsize=9)
    axes[0].legend(frameon=False)
    shares = [fwd_start, 1.0 - rev_goal]
    axes[1].bar(x, shares, 0.5, color=["tab:blue", "tab:orange"])
    axes[1].axhline(0.5, color="grey", lw=0.8, ls="--")
    axes[1].set_xticks(x, ["before run", "after reward"])
    axes[1].set_ylim(0, 1)
    axes[1].set_ylabel("forward / (forward + reverse)")
    axes[1].set_title("direction of replayed steps", fontsize=9)
    maze = DynaMaze()
    _draw_bout(
        axes[2], maze, _example_event(trace, "start", "forward"), "forward event, before a run"
    )
    _draw_bout(
        axes[3], maze, _example_event(trace, "goal", "reverse"), "reverse event, after reward"
    )
    fig.suptitle(
        "Prioritised replay (Mattar & Daw 2018): forward before runs, reverse after reward"
    )
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)

    config = {"script": "replay_forward_reverse", **vars(args)}
    out = {
        "darkcontrol_version": darkcontrol.__version__,
        "config": config,
        "forward_share_before_run": float(fwd_start),
        "reverse_share_after_reward": float(rev_goal),
        "summary": json.loads(summ.to_json(orient="index")),
    }
    fig_path = atomic_write_bytes(f"{args.out}/replay_forward_reverse.png", buf.getvalue())
    atomic_write_text(f"{args.out}/summary.json", json.dumps(out, indent=2))
    write_trace(trace, f"{args.out}/trace.parquet", config)
    print(f"wrote {fig_path}, {args.out}/summary.json, {args.out}/trace.parquet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
