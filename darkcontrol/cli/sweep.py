"""``darkcontrol sweep``: run a parameter sweep of batched agents from a TOML spec."""

from __future__ import annotations

import argparse

from darkcontrol.cli._args import add_quiet, int_at_least, show_progress

HELP = """Run a sweep of batched tabular agents (parameters x environments x seeds, from a TOML or
YAML spec) on a GPU or CPU, in chunks that fit a memory budget. Each finished chunk is written
at once (Parquet: curves/, summary/, regions/, with the spec, its hash and the package version
in the metadata), so a killed sweep resumes where it stopped with --resume, recomputing nothing
and giving the same results. Chunks fan out to local worker processes (--workers), to a Dask
scheduler (--scheduler tcp://host:8786, or --scheduler local) or run one after another.

examples:
  darkcontrol sweep examples/sweeps/dyna_planning.toml --out runs/dyna
  darkcontrol sweep examples/sweeps/dyna_planning.toml --out runs/dyna --resume
  darkcontrol sweep spec.toml --out runs/x --device cuda --memory-budget 8GB
  darkcontrol sweep spec.toml --out runs/x --scheduler tcp://10.0.0.5:8786
  darkcontrol sweep spec.toml --out runs/x --dry-run      # show the chunk plan only

Spec format and outputs: darkcontrol/sweep/README.md.
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a batched parameter sweep from a TOML spec (resumable, distributable)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", help="sweep specification (.toml, or .yaml with PyYAML)")
    p.add_argument("--out", required=True, help="output directory (created; see --resume)")
    p.add_argument(
        "--device",
        default="auto",
        help="torch device: auto (cuda when present, else cpu), cpu, cuda, cuda:1 ...",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep already in --out (its spec must be the same)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler address (tcp://host:8786), or 'local' for a LocalCluster",
    )
    p.add_argument(
        "--workers",
        type=int_at_least(1),
        default=1,
        help="local worker processes (or LocalCluster workers with --scheduler local)",
    )
    p.add_argument(
        "--memory-budget",
        default="1GB",
        metavar="SIZE",
        help="device memory of one chunk, e.g. 2GB, 512MiB (default 1GB)",
    )
    p.add_argument(
        "--max-chunk-agents",
        type=int_at_least(1),
        default=65536,
        metavar="N",
        help="upper bound of agents per chunk (default 65536)",
    )
    p.add_argument(
        "--threads",
        type=int_at_least(1),
        default=None,
        help="torch CPU threads per worker (default: cores / workers; 1 on a busy machine)",
    )
    p.add_argument(
        "--max-chunks",
        type=int_at_least(0),
        default=None,
        metavar="K",
        help="stop after K more chunks (resume later for the rest)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the chunk plan and exit")
    add_quiet(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from darkcontrol.sweep.runner import plan_only, run_sweep
    from darkcontrol.sweep.spec import SweepSpec

    spec = SweepSpec.from_file(args.spec)
    if args.dry_run:
        design, chunks = plan_only(spec, args.memory_budget, args.max_chunk_agents)
        print(f"sweep {spec.name!r}: {len(design)} agents in {len(chunks)} chunks")
        for c in chunks:
            print(
                f"  {c.id}  agents {c.start}-{c.stop - 1} ({c.n_agents})  {c.experiment}  "
                f"{c.env}  {c.static or ''}  ~{c.bytes_per_agent * c.n_agents / 1e6:.1f} MB"
            )
        return 0
    res = run_sweep(
        spec,
        args.out,
        device=args.device,
        resume=args.resume,
        memory_budget=args.memory_budget,
        max_chunk_agents=args.max_chunk_agents,
        workers=args.workers,
        scheduler=args.scheduler,
        threads=args.threads,
        max_chunks=args.max_chunks,
        progress=show_progress(args),
    )
    m = res.manifest
    n_done = len(m.done)
    state = "complete" if res.complete else f"{len(m.pending())} chunks pending (use --resume)"
    print(f"sweep {spec.name!r}: {n_done}/{len(m.chunks)} chunks written to {args.out}; {state}")
    return 0
