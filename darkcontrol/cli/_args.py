"""What every subcommand shares: ``--set KEY=VALUE``, ``--force``, ``--quiet``, progress bars,
output checks and the one way a bad input ends a command (exit status 2, a message, no
traceback).

A bad input is reported as ``darkcontrol COMMAND: error: MESSAGE`` on stderr with exit status 2;
the message says what was given and what is allowed. Only errors raised while checking inputs
reach the user this way (``UsageError`` and the ``ValueError``/``TypeError``/``KeyError``/
``FileNotFoundError`` the validating constructors raise); anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def parse_value(text: str) -> Any:
    """``darkcontrol._util.parse_value``, imported on first use (it imports numpy, which
    ``darkcontrol --help`` does not need)."""
    from darkcontrol._util import parse_value as parse

    return parse(text)


class UsageError(ValueError):
    """An input the user must change; its text is shown as is, with exit status 2."""


#: exceptions meaning "bad input" when they come out of a subcommand
USER_ERRORS = (UsageError, ValueError, TypeError, KeyError, FileNotFoundError, IsADirectoryError)

_NUMPY_REPR = re.compile(r"np\.(?:float|int|uint|bool|str)_?\d*\(([^()]*)\)")


def clean_message(text: str) -> str:
    """``np.float64(2.0)`` -> ``2.0`` (numpy >= 2 reprs leak into f-strings of scalars)."""
    text = _NUMPY_REPR.sub(r"\1", str(text))
    if text.startswith("'") and text.endswith("'") and text.count("'") == 2:
        text = text[1:-1]  # KeyError quotes its message
    return text


def fail(command: str, message: str) -> int:
    print(f"darkcontrol {command}: error: {clean_message(message)}", file=sys.stderr)
    return 2


def run_command(args: argparse.Namespace) -> int:
    """Run ``args.run(args)``; a bad input becomes exit status 2 with its message."""
    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as exc:
        return fail(args.command, str(exc) if str(exc) else type(exc).__name__)


# -- common options ------------------------------------------------------------------------------
def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars (they go to stderr, and only when it is a terminal)",
    )


def add_force(parser: argparse.ArgumentParser, what: str = "outputs") -> None:
    parser.add_argument(
        "--force", action="store_true", help=f"replace existing {what} (default: refuse)"
    )


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars on stderr when it is a terminal and ``--quiet`` was not given."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def refuse_overwrite(paths: Sequence[str | os.PathLike], force: bool, flag: str = "--force"):
    """UsageError if any of ``paths`` exists and ``force`` is not set."""
    if force:
        return
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing:
        shown = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise UsageError(
            f"{shown} already exist{'s' if len(existing) == 1 else ''}; pass {flag} to replace "
            "it, or choose another output"
        )


def output_folder_files(out: str | os.PathLike, patterns: Sequence[str]) -> list[Path]:
    """Files in folder ``out`` matching any of the glob ``patterns`` (what a rerun replaces)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a file; give a folder")
    if not out.is_dir():
        return []
    return sorted({p for pat in patterns for p in out.glob(pat)})


# -- argparse types ------------------------------------------------------------------------------
def int_at_least(low: int):
    """argparse type: an integer >= ``low`` (the message states the range)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    convert.__name__ = f"int >= {low}"
    return convert


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def unit_interval(text: str) -> float:
    """argparse type: a number in (0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text!r}")
    return value


# -- --set KEY=VALUE -----------------------------------------------------------------------------
def add_set(
    parser: argparse.ArgumentParser,
    flag: str = "--set",
    dest: str = "params",
    help: str = "KEY=VALUE, repeatable",
) -> None:
    parser.add_argument(
        flag, dest=dest, action="append", default=[], metavar="KEY=VALUE", help=help
    )


_KINDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _field_types(target: type | None) -> dict[str, Any]:
    if target is None or not dataclasses.is_dataclass(target):
        return {}
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # pragma: no cover - unresolvable annotations: no conversion
        hints = {}
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(target)}


def _convert(flag: str, key: str, text: str, kind: Any) -> Any:
    """``text`` as a value of annotation ``kind``; UsageError naming ``key`` otherwise."""
    args = typing.get_args(kind)
    optional = type(None) in args
    base = [a for a in args if a is not type(None)]
    if optional and len(base) == 1:
        if text.strip().lower() in {"none", "null"}:
            return None
        kind = base[0]
    value = parse_value(text)
    if kind is float and isinstance(value, str):
        try:  # nan, inf: numbers json does not read, refused below as not finite
            value = float(value)
        except ValueError:
            pass
    if kind in (int, float, bool, str):
        ok = {
            int: isinstance(value, int) and not isinstance(value, bool),
            float: isinstance(value, (int, float)) and not isinstance(value, bool),
            bool: isinstance(value, bool),
            str: True,
        }[kind]
        if not ok:
            raise UsageError(f"{flag} {key}={text}: {key} takes {_KINDS[kind]}, got {text!r}")
        if kind is float:
            value = float(value)
            if value != value or value in (float("inf"), float("-inf")):
                raise UsageError(f"{flag} {key}={text}: {key} takes a finite number")
        if kind is str:
            value = text.strip()
        return value
    origin = typing.get_origin(kind)
    if origin in (tuple, list) and not isinstance(value, list):
        raise UsageError(f"{flag} {key}={text}: {key} takes a list such as [1, 2], got {text!r}")
    if origin is tuple:
        value = tuple(value)
    return value


def parse_settings(
    items: Iterable[str], target: type | None = None, flag: str = "--set"
) -> dict[str, Any]:
    """``["alpha=0.1", "n_planning=5"]`` -> ``{"alpha": 0.1, "n_planning": 5}``.

    With a dataclass ``target``, unknown keys are refused with the allowed ones, and each
    value is converted to its field's type (int, float, bool, str, optional, tuple/list),
    the key named in any error. Without one, values are JSON (numbers, booleans, lists) or
    strings.
    """
    types = _field_types(target)
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"{flag} expected key=value, got {item!r}")
        key, text = item.split("=", 1)
        key = key.strip()
        if not key.isidentifier():
            raise UsageError(f"{flag} {item!r}: the key must be an identifier, got {key!r}")
        if key in out:
            raise UsageError(f"{flag} {key} given twice")
        if types and key not in types:
            raise UsageError(
                f"{flag} {key}: unknown parameter(s) [{key!r}] for {target.__name__}; "
                f"allowed: {sorted(types)}"
            )
        out[key] = _convert(flag, key, text, types[key]) if types else parse_value(text)
    return out
