"""The experiment's clock: how long a trial, an inter-trial interval and a rest last.

One vocabulary for every runner (:func:`darkcontrol.simulate`) and every agent:

- a **trial** is one online step (one action in the world) lasting ``trial_s`` seconds;
- the **inter-trial interval** (ITI) that follows it lasts ``iti_s`` seconds: the agent may
  process offline then (Dyna's n planning steps, the DMN's replay);
- a **rest** is offline processing only, for ``rest_s`` seconds between episodes (episodic
  runs) or for a whole rest block (a :class:`Schedule`);
- ``offline_dt`` places the offline steps of a window on the clock: None spreads the n steps of
  a window of T seconds evenly, at T / n from the window's start; a number spaces them
  ``offline_dt`` seconds apart, and a window whose steps overrun it (n offline_dt > T) lasts
  n offline_dt (the agent thinks until it is done: Dyna's n is a compute budget, not a time).

The DMN is engaged when the world leaves the agent alone: at rest and, in brief, between trials
(Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp 41(12):3318-3341, sections "Introduction" and
"Reinforcement learning control: a process model for DMN function": the DMN as the agent's
*offline* vicarious trial and error, deactivated by externally focused tasks). A
:class:`Schedule` lays out an experiment as blocks:

- ``task`` blocks: trials back to back; each trial lasts ``trial_s`` seconds and is followed
  by an ITI of ``iti_s`` seconds (the last ITI stretches to the end of the block);
- ``rest`` blocks: offline processing only, for the whole block.

How many offline steps fit in a window is the agent's business
(:meth:`darkcontrol.agents.Agent.offline`); the clock gives every window its onset and length.
:meth:`Schedule.events` exports the blocks as BIDS-style events (``onset, duration,
trial_type``) for a block-design GLM.

This module sits at the bottom of the layers (next to the Trace schema), so that agents, the
DMN model and the runner share it without an import cycle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

BLOCK_KINDS = ("task", "rest")
OFFLINE_KINDS = ("iti", "rest")  #: the two kinds of offline window an agent is handed
_EPS = 1e-9


def _seconds(owner: str, name: str, value: Any, *, positive: bool = False) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{owner} {name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{owner} {name} must be finite, got {value!r}")
    if positive and not value > 0:
        raise ValueError(f"{owner} {name} must be > 0 s, got {value!r}")
    if value < 0:
        raise ValueError(f"{owner} {name} must be >= 0 s, got {value!r}")


@dataclass(frozen=True)
class Clock:
    """Durations of an episodic run (see the module docstring).

    The defaults (1 s trials, 1 s ITIs, no rest, offline steps spread evenly) are the DMN
    model's classic clock; ``Clock(iti_s=0.0, offline_dt=0.05)`` is the old plain-agent clock
    (offline steps 50 ms apart right after each trial)."""

    trial_s: float = 1.0  #: seconds per trial (one online step)
    iti_s: float = 1.0  #: seconds of the inter-trial interval after each trial (offline)
    rest_s: float = 0.0  #: offline seconds between episodes (none before the first)
    #: seconds between offline steps; None spreads a window's steps evenly over it
    offline_dt: float | None = None

    def __post_init__(self) -> None:
        _seconds("clock", "trial_s", self.trial_s, positive=True)
        _seconds("clock", "iti_s", self.iti_s)
        _seconds("clock", "rest_s", self.rest_s)
        if self.offline_dt is not None:
            _seconds("clock", "offline_dt", self.offline_dt)

    def spacing(self, seconds: float, n: int) -> float:
        """Seconds between the ``n`` offline steps of a window of ``seconds``."""
        if self.offline_dt is not None:
            return float(self.offline_dt)
        return seconds / n if n > 0 else 0.0

    def window_end(self, start: float, seconds: float, now: float) -> float:
        """When the window of ``seconds`` opened at ``start`` closes, the recorder's clock
        being at ``now`` after its offline steps: ``start + seconds``, or later when fixed-
        spaced steps overran it."""
        end = start + seconds
        return end if self.offline_dt is None else max(end, now)

    @classmethod
    def coerce(cls, clock: Clock | Mapping[str, Any] | None) -> Clock:
        """A Clock from a Clock, a dict of its fields (e.g. JSON) or None (the default)."""
        if clock is None:
            return cls()
        if isinstance(clock, cls):
            return clock
        if isinstance(clock, Mapping):
            allowed = {"trial_s", "iti_s", "rest_s", "offline_dt"}
            unknown = set(clock) - allowed
            if unknown:
                raise ValueError(
                    f"unknown clock keys {sorted(unknown)}; allowed: {sorted(allowed)}"
                )
            return cls(**clock)
        raise TypeError(f"clock must be a Clock, a dict or None, got {clock!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Block:
    """One block of the experiment.

    ``kind``: "task" (trials in the world) or "rest" (offline processing only).
    ``duration``: seconds. ``trial_s``: seconds per online step (task only).
    ``iti_s``: inter-trial interval after each trial, seconds (task only; offline processing).
    """

    kind: str
    duration: float
    trial_s: float = 0.0
    iti_s: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in BLOCK_KINDS:
            raise ValueError(f"block kind must be one of {BLOCK_KINDS}, got {self.kind!r}")
        for name in ("duration", "trial_s", "iti_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"block {name} must be a number of seconds, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"block {name} must be finite, got {value!r}")
        if self.duration <= 0:
            raise ValueError(f"block duration must be > 0 s, got {self.duration}")
        if self.kind == "rest":
            if self.trial_s != 0 or self.iti_s != 0:
                raise ValueError(
                    f"a rest block has no trials: trial_s and iti_s must be 0, got "
                    f"trial_s={self.trial_s}, iti_s={self.iti_s}"
                )
            return
        if self.trial_s <= 0:
            raise ValueError(f"a task block needs trial_s > 0 s, got {self.trial_s}")
        if self.iti_s < 0:
            raise ValueError(f"iti_s must be >= 0 s, got {self.iti_s}")
        if self.trial_s + self.iti_s > self.duration + _EPS:
            raise ValueError(
                f"a task block of {self.duration} s cannot hold one trial of "
                f"trial_s + iti_s = {self.trial_s + self.iti_s} s"
            )

    @classmethod
    def task(cls, duration: float, trial_s: float = 2.0, iti_s: float = 0.0) -> Block:
        return cls("task", duration, trial_s, iti_s)

    @classmethod
    def rest(cls, duration: float) -> Block:
        return cls("rest", duration)

    @property
    def n_trials(self) -> int:
        """Trials in a task block: floor(duration / (trial_s + iti_s)); 0 for rest."""
        if self.kind == "rest":
            return 0
        return int(math.floor((self.duration + _EPS) / (self.trial_s + self.iti_s)))

    def trial_onsets(self) -> list[float]:
        """Onsets of the trials relative to the block's onset."""
        period = self.trial_s + self.iti_s
        return [k * period for k in range(self.n_trials)]

    def iti_length(self, k: int) -> float:
        """Offline time after trial ``k``; the last ITI stretches to the end of the block."""
        if not 0 <= k < self.n_trials:
            raise IndexError(f"trial {k} out of range for a block of {self.n_trials} trials")
        if k == self.n_trials - 1:
            return self.duration - k * (self.trial_s + self.iti_s) - self.trial_s
        return self.iti_s


@dataclass(frozen=True)
class Schedule:
    """An experiment as a sequence of :class:`Block` s on one clock starting at 0 s.

    Task blocks put the agent in the world, rest blocks and inter-trial intervals leave it to
    offline processing, the DMN's regime (Dohmatob et al. 2020, "Introduction": task-induced
    deactivation). :meth:`events` gives BIDS-style block events for a GLM."""

    blocks: tuple[Block, ...]

    def __post_init__(self) -> None:
        blocks = tuple(self.blocks)
        if not blocks:
            raise ValueError("a Schedule needs at least one block")
        bad = [b for b in blocks if not isinstance(b, Block)]
        if bad:
            raise TypeError(f"Schedule blocks must be Block objects, got {bad[0]!r}")
        object.__setattr__(self, "blocks", blocks)

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def blocked(
        cls,
        n_blocks: int,
        task_s: float,
        rest_s: float,
        trial_s: float = 2.0,
        iti_s: float = 0.0,
        rest_first: bool = False,
    ) -> Schedule:
        """``n_blocks`` x (task block of ``task_s`` s, rest block of ``rest_s`` s).

        ``rest_first`` puts the rest block before each task block (a resting baseline)."""
        if not isinstance(n_blocks, int) or n_blocks < 1:
            raise ValueError(f"n_blocks must be an int >= 1, got {n_blocks!r}")
        task = Block.task(task_s, trial_s, iti_s)
        pair = [task]
        if rest_s > 0:
            rest = Block.rest(rest_s)
            pair = [rest, task] if rest_first else [task, rest]
        elif rest_s < 0:
            raise ValueError(f"rest_s must be >= 0 s, got {rest_s}")
        return cls(tuple(pair * n_blocks))

    @classmethod
    def task_only(cls, duration: float, trial_s: float = 2.0, iti_s: float = 0.0) -> Schedule:
        """One task block (offline processing only in the inter-trial intervals)."""
        return cls((Block.task(duration, trial_s, iti_s),))

    @classmethod
    def from_blocks(cls, blocks: Iterable[Block | Mapping[str, Any]]) -> Schedule:
        """From Blocks or dicts ``{"kind", "duration", "trial_s", "iti_s"}`` (e.g. JSON)."""
        out = []
        for b in blocks:
            if isinstance(b, Block):
                out.append(b)
            elif isinstance(b, Mapping):
                unknown = set(b) - {"kind", "duration", "trial_s", "iti_s"}
                if unknown:
                    raise ValueError(
                        f"unknown block keys {sorted(unknown)}; allowed: "
                        "['duration', 'iti_s', 'kind', 'trial_s']"
                    )
                out.append(Block(**b))
            else:
                raise TypeError(f"a block must be a Block or a dict, got {b!r}")
        return cls(tuple(out))

    # -- queries -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.blocks)

    def __iter__(self):
        return iter(self.blocks)

    @property
    def onsets(self) -> list[float]:
        """Onset of every block, seconds."""
        t, out = 0.0, []
        for b in self.blocks:
            out.append(t)
            t += b.duration
        return out

    @property
    def duration(self) -> float:
        return float(sum(b.duration for b in self.blocks))

    @property
    def n_trials(self) -> int:
        return sum(b.n_trials for b in self.blocks)

    def to_dicts(self) -> list[dict[str, Any]]:
        """JSON-ready description (inverse of :meth:`from_blocks`)."""
        return [asdict(b) for b in self.blocks]

    def events(self) -> pd.DataFrame:
        """BIDS-style block events: ``onset, duration, trial_type`` (task | rest)."""
        return pd.DataFrame(
            {
                "onset": self.onsets,
                "duration": [float(b.duration) for b in self.blocks],
                "trial_type": [b.kind for b in self.blocks],
            }
        )
