"""``darkcontrol demo``: the whole study on the embedded default, with an HTML report."""

from __future__ import annotations

import argparse
import sys

HELP = """Run the whole study on the embedded default, in a few minutes on a laptop CPU:

  1. simulate the DMN agent (Dohmatob et al. 2020) for each participant over task and rest
     blocks (online learning of the two-step task of Daw et al. 2011 by default, --set
     env=...; offline replay / simulation / recombination between trials and at rest);
  2. derive the DMN node regressors from each Trace (the paper's Figure 4 map);
  3. synthesise a multi-participant fMRI dataset with known effects (0.2-0.5 % signal
     change, a realistic size) at known nodes;
  4. fit ROI and voxelwise GLMs (first and second level) and compare with the planted
     effects, with each effect's detection power;
  5. fit the agent back to the participants' choices (parameter recovery);
  6. relate the node series to policy and value changes (descriptive, with CIs and a
     shuffled-map control; the test is scripts/dmn_node_hypotheses.py);
  then write OUT/report.html (one self-contained file, figures embedded) and tidy outputs
  beside it (BIDS-named events, z maps, TSV tables).

The console lines [1/6] .. [6/6] and the progress bars count the same six steps.

examples:
  darkcontrol demo                       # default, writes demo_output/report.html
  darkcontrol demo --quick --out /tmp/d  # reduced configuration (about a minute)
  darkcontrol demo --set n_participants=20 --set account=sentinel
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="the whole study on the embedded default, with an HTML report",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="demo_output", help="output folder (default demo_output)")
    p.add_argument("--quick", action="store_true", help="reduced configuration (fewer, shorter)")
    p.add_argument("--seed", type=int, default=None, help="seed of everything (default 0)")
    p.add_argument(
        "--set",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a DemoConfig field, repeatable (e.g. --set n_participants=20)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars (stderr)")
    p.set_defaults(run=run)


def run(args) -> int:
    from darkcontrol._util import build_config
    from darkcontrol.cli._args import parse_settings
    from darkcontrol.demo import DemoConfig, run_demo

    overrides = parse_settings(args.params, DemoConfig)
    if args.seed is not None:
        overrides["seed"] = args.seed
    config = DemoConfig.quick(**overrides) if args.quick else build_config(DemoConfig, overrides)
    progress = not args.quiet and sys.stderr.isatty()
    run_demo(config, args.out, progress=progress, argv=sys.argv[1:])
    return 0
