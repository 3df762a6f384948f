"""The ``darkcontrol`` command line: one subcommand per job, each in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys

from darkcontrol import CITATION, __version__

# subcommand -> module with ``add_parser(subparsers)`` and ``run(args) -> int``
SUBCOMMANDS = {
    "simulate": "darkcontrol.cli.simulate",
    "demo": "darkcontrol.cli.demo",
    "regressors": "darkcontrol.cli.regressors",
    "glm": "darkcontrol.cli.glm",
    "sweep": "darkcontrol.cli.sweep",
    "fit": "darkcontrol.cli.fit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="darkcontrol",
        description=(
            "The default mode network as a reinforcement-learning agent: simulate agents and "
            "the DMN process model, turn their quantities into fMRI regressors, fit GLMs and "
            "behaviour, and run batched sweeps.\n\nCite: " + CITATION
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"darkcontrol {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS.values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2, message printed)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    from darkcontrol.cli._args import run_command

    return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
