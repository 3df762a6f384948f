"""Deprecated location: :class:`Block` and :class:`Schedule` live in :mod:`darkcontrol.clock`.

Kept as a re-export (no definitions here) for code written against ``darkcontrol.dmn.schedule``
(e.g. ``darkcontrol.batched.dmn``); import from ``darkcontrol.clock`` instead.
"""

from __future__ import annotations

from darkcontrol.clock import BLOCK_KINDS, Block, Schedule

__all__ = ["BLOCK_KINDS", "Block", "Schedule"]
