"""The arguments every script takes, defined once: ``--out --seed --quick --quiet``.

Each script builds its parser with :func:`script_parser` (its whole module docstring is the
``--help`` text), declares the sizes that ``--quick`` shrinks with :func:`sized` (the help says
both values), and parses with :func:`parse`. ``--quick`` is a smoke test that runs in seconds
to a minute; its numbers are not the study's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

_SIZES = "_script_sizes"


def script_parser(doc: str, *, out: str, quick: str) -> argparse.ArgumentParser:
    """A parser with the common options; ``quick`` says what ``--quick`` changes."""
    p = argparse.ArgumentParser(
        description=doc.strip(), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    g = p.add_argument_group("options every script takes")
    g.add_argument("--out", default=out, help=f"output folder (default {out})")
    g.add_argument("--seed", type=int, default=0, help="seed of everything (default 0)")
    g.add_argument(
        "--quick", action="store_true", help=f"a short smoke-test run: {quick}".replace("%", "%%")
    )
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(**{_SIZES: {}})
    return p


def sized(
    p: argparse.ArgumentParser,
    flag: str,
    *,
    full: Any,
    quick: Any,
    help: str,
    type: Callable[[str], Any] = int,
) -> None:
    """An option whose default is ``full``, or ``quick`` under ``--quick`` (an explicit value
    wins over both)."""
    dest = flag.lstrip("-").replace("-", "_")
    text = f"{help} (default {full}; --quick: {quick})".replace("%", "%%")
    p.add_argument(flag, type=type, default=None, help=text)
    p.get_default(_SIZES)[dest] = (full, quick)


def parse(p: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse, then fill the sized options left unset from ``--quick``."""
    args = p.parse_args(argv)
    for dest, (full, quick) in getattr(args, _SIZES).items():
        if getattr(args, dest) is None:
            setattr(args, dest, quick if args.quick else full)
    delattr(args, _SIZES)
    return args


def progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal and without ``--quiet``."""
    return not args.quiet and sys.stderr.isatty()
