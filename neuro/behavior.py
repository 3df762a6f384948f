"""A participant's behaviour: read from (and written to) BIDS ``events.tsv`` files.

The fitting code needs, for every trial (or step), what the participant saw, what they chose
and what they got. Three kinds of task are understood:

``bandit``      one choice per trial among ``n_actions`` arms, optionally in a cued state
                (stimulus); columns ``onset, choice, outcome`` [``state``]
``two_step``    Daw et al. (2011) two-step task: a first-stage choice, the second-stage state it
                led to (1 or 2), a second-stage choice and the outcome; columns
                ``onset, choice, state2, choice2, outcome`` [``onset2``]
``navigation``  steps through a grid / graph: ``onset, state, choice, next_state, outcome,
                terminated`` [``episode``]

Column names are configurable (:class:`EventColumns`). Values follow BIDS: tab-separated,
``n/a`` for a missing value. Missing values are accepted only where they mean something:
``duration`` and, when ``allow_missed=True``, a missed response (``choice`` ``n/a``; its
``outcome`` may then be ``n/a`` too). Missed trials are *kept* (``choice == -1``) so that the
timeline stays intact; the likelihood skips them and the learner does not update on them.

Nothing is dropped or coerced silently: a missing or unknown column, a non-numeric or
non-integer choice, a choice outside the action set, a NaN outcome, an onset that goes
backwards or an ``n/a`` where none is allowed raises :class:`EventsError`, whose message names
the file, the line and the row.

Behaviour as other tools export it (:func:`read_behavior_table`, :func:`read_behaviors`): one
long CSV/TSV table with a subject column and many participants (hBayesDM-style), choices coded
from 1 (``choice_base=1``; 1..K choices without a 0 and without ``choice_base`` are an error, not
a guess), onsets optional (the trial index stands in: ``Behavior.timed`` is False), the number
of actions read from the data over all participants, two-step second stages as ``state2`` +
``choice2`` or as one option column 1..4; a BIDS dataset folder of ``sub-*/func/*_events.tsv``.

If ``trial_type`` is given, only rows whose ``trial_type`` column equals it are trials (BIDS
files often interleave cue, response and feedback events); the other rows are events of another
kind, not dropped data, and are ignored by design.

References: Gorgolewski et al. (2016) Sci Data 3:160044 (BIDS); Daw et al. (2011) Neuron
69:1204-1215 (two-step task); Ahn, Haines & Zhang (2017) Comput Psychiatry 1:24-57 (hBayesDM's
long-table layout).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol._util import atomic_write_text

TASKS = ("bandit", "two_step", "navigation")
MISSED = -1  # choice code of a missed response
TWO_STEP_N_STATES = 4  # 0: first stage, 1-2: second-stage states, 3: terminal
TWO_STEP_N_ACTIONS = 2


class EventsError(ValueError):
    """An events file (or frame) that cannot be read as behaviour; the message names the row."""


@dataclass(frozen=True)
class EventColumns:
    """Names of the columns of an events file; ``None`` for an optional column means 'absent'."""

    onset: str = "onset"  #: trial (first-stage) onset in seconds, non-decreasing
    duration: str | None = "duration"  #: BIDS duration (n/a allowed), carried along if present
    state: str = "state"  #: state / stimulus shown (bandit: optional, 0 if the column is absent)
    choice: str = "choice"  #: the action chosen (integer in 0..n_actions-1; n/a = missed)
    outcome: str = "outcome"  #: reward / outcome received (a finite number)
    state2: str = "state2"  #: two-step: second-stage state reached (1 or 2)
    choice2: str = "choice2"  #: two-step: second-stage choice (0 or 1)
    onset2: str | None = "onset2"  #: two-step: second-stage onset (optional)
    next_state: str = "next_state"  #: navigation: state reached by the step
    terminated: str = "terminated"  #: navigation: 1 if the step ended the episode in a goal
    episode: str | None = "episode"  #: navigation: episode index (optional, else from terminated)
    trial_type: str = "trial_type"  #: BIDS trial_type, used with ``trial_type=`` selection
    subject: str = "subject"  #: long tables: the participant of each row (one table, many)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"column name {f.name} must be a non-empty str, got {value!r}")

    @classmethod
    def from_mapping(cls, mapping: dict[str, str | None]) -> EventColumns:
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - allowed)
        if unknown:
            raise ValueError(f"unknown column role(s) {unknown}; allowed: {sorted(allowed)}")
        return cls(**mapping)


@dataclass
class Behavior:
    """One participant's behaviour as arrays, one entry per trial (bandit, two-step) or step.

    ``choice == -1`` marks a missed response (kept in the timeline, skipped by the likelihood).
    For a bandit every trial is terminal and ``next_state == state``; for the two-step task
    ``state == 0``, ``next_state`` is the second-stage state (1 or 2) and ``choice2`` the
    second-stage choice; for navigation ``next_state``/``terminated``/``episode`` come from
    the file.
    """

    task: str  #: "bandit" | "two_step" | "navigation"
    onset: np.ndarray  #: (T,) seconds, non-decreasing
    state: np.ndarray  #: (T,) int
    choice: np.ndarray  #: (T,) int, -1 = missed
    outcome: np.ndarray  #: (T,) float, NaN only on missed trials
    n_states: int  #: number of states (two-step: 4, incl. the terminal one)
    n_actions: int  #: number of actions per state
    next_state: np.ndarray | None = None  #: (T,) int (bandit: = state)
    terminated: np.ndarray | None = None  #: (T,) bool (bandit, two-step: all True)
    episode: np.ndarray | None = None  #: (T,) int (bandit: 0; two-step: the trial index)
    choice2: np.ndarray | None = None  #: (T,) int, two-step second-stage choice (-1 = missed)
    onset2: np.ndarray | None = None  #: (T,) two-step second-stage onsets, if known
    duration: np.ndarray | None = None  #: (T,) BIDS durations (NaN = n/a), if known
    participant: str = "sub-01"  #: participant label
    source: str = "<memory>"  #: where the behaviour came from (path), for messages
    rows: np.ndarray | None = None  #: (T,) row index in the source file of each trial
    extra: dict[str, np.ndarray] = field(default_factory=dict)  #: other per-trial columns
    #: (T,) bool, default all True: trials whose choice enters the likelihood. False marks a
    #: transition the learner experiences but the participant did not choose (a forced or
    #: instructed trial, or a replayed step in simulation): values update, no choice is scored.
    scored: np.ndarray | None = None
    #: False when the source had no onsets (a behaviour-only table): ``onset`` is then the
    #: trial index, good for fitting and trial-wise traces but not for fMRI regressors.
    timed: bool = True
    #: derived arrays cached by the models (treat a Behavior's arrays as immutable)
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        self.onset = np.asarray(self.onset, dtype=np.float64)
        T = self.onset.shape[0]
        self.state = _int_array("state", self.state, T)
        self.choice = _int_array("choice", self.choice, T)
        self.outcome = np.asarray(self.outcome, dtype=np.float64).reshape(-1)
        if self.scored is None:
            self.scored = np.ones(T, dtype=bool)
        else:
            scored = np.asarray(self.scored)
            if scored.shape != (T,) or scored.dtype != bool:
                raise ValueError(
                    f"scored must be a boolean array of {T} entries, got {scored.dtype} "
                    f"of shape {scored.shape}"
                )
            self.scored = scored
        if self.outcome.shape != (T,):
            raise ValueError(f"outcome has {self.outcome.shape[0]} entries, onset has {T}")
        if self.task == "bandit":
            if self.next_state is None:
                self.next_state = self.state.copy()
            if self.terminated is None:
                self.terminated = np.ones(T, dtype=bool)
            if self.episode is None:
                self.episode = np.zeros(T, dtype=np.int64)
        if self.task == "two_step":
            self.n_states, self.n_actions = TWO_STEP_N_STATES, TWO_STEP_N_ACTIONS
            if self.choice2 is None:
                raise ValueError("a two-step Behavior needs choice2")
            self.choice2 = _int_array("choice2", self.choice2, T)
            if self.terminated is None:
                self.terminated = np.ones(T, dtype=bool)
            if self.episode is None:
                self.episode = np.arange(T, dtype=np.int64)
        if self.next_state is None or self.terminated is None:
            raise ValueError(f"a {self.task} Behavior needs next_state and terminated")
        if self.episode is None:
            self.episode = _episodes_from_terminated(np.asarray(self.terminated, dtype=bool))
        self.next_state = _int_array("next_state", self.next_state, T)
        self.terminated = np.asarray(self.terminated, dtype=bool).reshape(-1)
        self.episode = _int_array("episode", self.episode, T)
        if self.rows is None:
            self.rows = np.arange(T, dtype=np.int64)
        for name in ("onset2", "duration"):
            arr = getattr(self, name)
            if arr is not None:
                arr = np.asarray(arr, dtype=np.float64).reshape(-1)
                if arr.shape != (T,):
                    raise ValueError(f"{name} has {arr.shape[0]} entries, onset has {T}")
                setattr(self, name, arr)
        self.extra = {k: np.asarray(v) for k, v in self.extra.items()}
        for k, v in self.extra.items():
            if v.shape[:1] != (T,):
                raise ValueError(f"extra column {k!r} has {len(v)} entries, onset has {T}")
        self._check_values()

    def _check_values(self) -> None:
        """Range checks on arrays built in code (the reader gives row-level messages first)."""
        A, S = int(self.n_actions), int(self.n_states)
        if A < 1 or S < 1:
            raise ValueError(f"need n_states >= 1 and n_actions >= 1, got {S}, {A}")
        bad = np.flatnonzero((self.choice < MISSED) | (self.choice >= A))
        if len(bad):
            i = bad[0]
            raise ValueError(f"trial {i}: choice {self.choice[i]} outside 0..{A - 1} (or -1)")
        states = [self.state, self.next_state]
        if self.task == "two_step":
            bad = np.flatnonzero((self.choice2 < MISSED) | (self.choice2 >= A))
            if len(bad):
                raise ValueError(f"trial {bad[0]}: choice2 {self.choice2[bad[0]]} outside 0..1")
        for arr in states:
            bad = np.flatnonzero((arr < 0) | (arr >= S))
            if len(bad):
                raise ValueError(f"trial {bad[0]}: state {arr[bad[0]]} outside 0..{S - 1}")
        valid = self.valid
        if not np.isfinite(self.outcome[valid]).all():
            i = np.flatnonzero(valid & ~np.isfinite(self.outcome))[0]
            raise ValueError(f"trial {i}: outcome {self.outcome[i]} is not finite")
        if not np.isfinite(self.onset).all() or (np.diff(self.onset) < 0).any():
            raise ValueError("onsets must be finite and non-decreasing")

    # -- views -------------------------------------------------------------------------------
    @property
    def n_trials(self) -> int:
        return int(self.onset.shape[0])

    @property
    def valid(self) -> np.ndarray:
        """(T,) bool: trials with a response (two-step: both responses)."""
        ok = self.choice >= 0
        if self.task == "two_step":
            ok &= self.choice2 >= 0
        return ok

    @property
    def counted(self) -> np.ndarray:
        """(T,) bool: responded trials whose choice enters the likelihood (valid & scored)."""
        return self.valid & self.scored

    @property
    def n_choices(self) -> int:
        """Number of scored choices (two-step: two per counted trial): the n of BIC."""
        return int(self.counted.sum()) * (2 if self.task == "two_step" else 1)

    def to_frame(self) -> pd.DataFrame:
        """The behaviour as an events table (BIDS columns first; NaN/-1 where missing)."""
        data: dict[str, Any] = {"onset": self.onset}
        data["duration"] = self.duration if self.duration is not None else np.nan
        data["trial_type"] = "trial"
        choice = pd.array(np.where(self.choice >= 0, self.choice, 0), dtype="Int64")
        choice[self.choice < 0] = pd.NA
        if self.task == "bandit":
            data.update(state=self.state, choice=choice, outcome=self.outcome)
        elif self.task == "two_step":
            choice2 = pd.array(np.where(self.choice2 >= 0, self.choice2, 0), dtype="Int64")
            choice2[self.choice2 < 0] = pd.NA
            data.update(choice=choice, state2=self.next_state, choice2=choice2)
            data["outcome"] = self.outcome
            if self.onset2 is not None:
                data["onset2"] = self.onset2
        else:
            data.update(
                episode=self.episode,
                state=self.state,
                choice=choice,
                next_state=self.next_state,
                outcome=self.outcome,
                terminated=self.terminated.astype(np.int64),
            )
        for k, v in self.extra.items():
            data[k] = v
        return pd.DataFrame(data)


def _int_array(name: str, values: Any, T: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.shape != (T,):
        raise ValueError(f"{name} must have shape ({T},), got {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ValueError(f"{name} must hold integers, got non-integer values")
    elif arr.dtype.kind not in "iub":
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _episodes_from_terminated(terminated: np.ndarray) -> np.ndarray:
    """Episode index of each step: a new episode starts after every terminating step."""
    ends = np.concatenate([[0], terminated[:-1].astype(np.int64)])
    return np.cumsum(ends)


# -- reading -----------------------------------------------------------------------------------
TABLE_SUFFIXES = (".tsv", ".csv", ".txt")  #: long tables and events files: by extension
TWO_STEP_CODINGS = ("auto", "state2", "option")
NA_VALUES = ["n/a", "", "NA"]  # BIDS n/a, an empty cell, R's NA; a NaN is refused (ambiguous)


def read_events(
    path: str | os.PathLike,
    task: str = "bandit",
    *,
    columns: EventColumns | dict[str, str | None] | None = None,
    n_actions: int | None = None,
    n_states: int | None = None,
    trial_type: str | None = None,
    allow_missed: bool = False,
    participant: str | None = None,
    choice_base: int | None = None,
    two_step_coding: str = "auto",
) -> Behavior:
    """Read one participant's behaviour from a BIDS ``events.tsv``.

    ``n_actions`` is the size of the action set (bandit default: the largest choice + 1, at
    least 2; two-step is always 2; navigation: required). ``n_states`` defaults to
    ``max(state) + 1`` (navigation: over state and next_state). ``participant`` defaults to
    the ``sub-XX`` entity of the file name. ``choice_base`` and ``two_step_coding``: see
    :func:`behavior_from_frame`.
    """
    path = Path(path)
    frame = _read_table(path)
    if participant is None:
        participant = _participant_from_name(path.name)
    return behavior_from_frame(
        frame,
        task,
        columns=columns,
        n_actions=n_actions,
        n_states=n_states,
        trial_type=trial_type,
        allow_missed=allow_missed,
        participant=participant,
        source=str(path),
        choice_base=choice_base,
        two_step_coding=two_step_coding,
    )


def _read_table(path: Path) -> pd.DataFrame:
    """A TSV/CSV table as strings (missing values NaN), with the file named in every error."""
    if not path.exists():
        raise FileNotFoundError(f"no events file or behaviour table at {path}")
    if path.is_dir():
        raise EventsError(f"{path} is a folder; pass a file (or read_behaviors for a dataset)")
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, na_values=NA_VALUES, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise EventsError(f"{path}: the file is empty (no header line)") from exc
    except pd.errors.ParserError as exc:
        kind = "comma" if sep == "," else "tab"
        raise EventsError(f"{path}: not a {kind}-separated table: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise EventsError(f"{path}: not a text table ({exc.reason} at byte {exc.start})") from exc
    if sep == "\t" and frame.shape[1] == 1 and "," in frame.columns[0]:
        raise EventsError(
            f"{path}: one column {frame.columns[0]!r} holds commas: a comma-separated table "
            "needs the .csv extension"
        )
    return frame


def _participant_from_name(name: str) -> str:
    for part in name.split("_"):
        if part.startswith("sub-"):
            return part
    return name.split(".")[0]


def participant_label(value: Any) -> str:
    """BIDS participant label of a subject id: ``7`` -> ``sub-7``, ``"s 03"`` -> ``sub-s03``.

    BIDS labels are alphanumeric; other characters are removed (an id made only of them, or
    two ids that collide after removal, are refused by :func:`read_behavior_table`)."""
    text = str(value).strip()
    if text.startswith("sub-"):
        text = text[4:]
    if text.endswith(".0") and text[:-2].isdigit():  # 3.0 from a float column
        text = text[:-2]
    return "sub-" + re.sub(r"[^A-Za-z0-9]", "", text)


def read_behavior_table(
    path: str | os.PathLike,
    task: str = "bandit",
    *,
    columns: EventColumns | dict[str, str | None] | None = None,
    n_actions: int | None = None,
    n_states: int | None = None,
    trial_type: str | None = None,
    allow_missed: bool = False,
    choice_base: int | None = None,
    two_step_coding: str = "auto",
) -> list[Behavior]:
    """Read a behaviour table: one participant (a BIDS ``events.tsv``) or many (a long table).

    A long table has one row per trial and a subject column (``columns.subject``, default
    ``subject``; rename with ``columns={"subject": "subjID"}``), as hBayesDM, the two-step
    datasets and most task software export them. Rows of a participant keep their order; the
    participants appear in the order of their first row, labelled ``sub-<id>``
    (:func:`participant_label`). ``.csv`` files are comma-separated, others tab-separated;
    ``n/a``, ``NA``, ``NaN`` and empty cells are missing values. Onsets are optional: without
    an onset column the trial index stands in (``Behavior.timed`` is False), enough for
    fitting and trial-wise traces, not for fMRI regressors.

    The number of actions is read from the data (the largest choice over *all* participants,
    so every participant has the same action set) unless ``n_actions`` is given. Error
    messages name the file, the line and the column.
    """
    path = Path(path)
    frame = _read_table(path)
    cols = _columns(columns)
    if cols.subject not in frame.columns and cols.subject != EventColumns.subject:
        raise EventsError(
            f"{path}: no subject column {cols.subject!r} (given as the subject role); the "
            f"file has {list(frame.columns)}"
        )
    if cols.subject not in frame.columns:
        b = behavior_from_frame(
            frame,
            task,
            columns=cols,
            n_actions=n_actions,
            n_states=n_states,
            trial_type=trial_type,
            allow_missed=allow_missed,
            participant=_participant_from_name(path.name),
            source=str(path),
            choice_base=choice_base,
            two_step_coding=two_step_coding,
        )
        return [b]
    subject = frame[cols.subject]
    if subject.isna().any():
        row = int(np.flatnonzero(subject.isna().to_numpy())[0])
        raise EventsError(
            f"{path}: line {row + 2} (row {row}), column {cols.subject!r}: the subject is missing"
        )
    if choice_base is None and n_actions is None and task != "navigation":
        choice_base = _guess_zero_base(frame, cols, task, str(path))
    groups = list(frame.groupby(subject, sort=False))
    labels = [participant_label(v) for v, _ in groups]
    _check_labels(labels, [v for v, _ in groups], str(path))
    behaviors = []
    for (value, rows), label in zip(groups, labels):
        behaviors.append(
            behavior_from_frame(
                rows,
                task,
                columns=cols,
                n_actions=n_actions,
                n_states=n_states,
                trial_type=trial_type,
                allow_missed=allow_missed,
                participant=label,
                source=f"{path} (subject {value})",
                choice_base=0 if choice_base is None else choice_base,
                two_step_coding=two_step_coding,
                rows=rows.index.to_numpy(),
            )
        )
    if n_actions is None:
        behaviors = harmonize_actions(behaviors)
    return behaviors


def _check_labels(labels: list[str], values: list[Any], source: str) -> None:
    seen: dict[str, Any] = {}
    for label, value in zip(labels, values):
        if label == "sub-":
            raise EventsError(f"{source}: subject id {value!r} has no letter or digit")
        if label in seen:
            raise EventsError(
                f"{source}: subject ids {seen[label]!r} and {value!r} both become {label} "
                "(BIDS labels are alphanumeric); rename one"
            )
        seen[label] = value


def _guess_zero_base(frame: pd.DataFrame, cols: EventColumns, task: str, source: str) -> int:
    """0, or an error when the choices are clearly 1-based (1..K without a single 0)."""
    names = [cols.choice] + ([cols.choice2] if task == "two_step" else [])
    for name in names:
        if name not in frame.columns:
            continue
        values = pd.to_numeric(frame[name], errors="coerce").dropna()
        if len(values) and values.min() == 1:
            raise EventsError(
                f"{source}: column {name!r} holds choices {values.min():g}..{values.max():g} "
                "and no 0: if they are 1-based pass --choice-base 1 (choice_base=1); if 0 is "
                "a valid choice that nobody made, pass --choice-base 0 with --n-actions"
            )
    return 0


def harmonize_actions(behaviors: list[Behavior]) -> list[Behavior]:
    """Give every participant the group's action set (the largest ``n_actions`` among them)."""
    if not behaviors:
        return behaviors
    A = max(b.n_actions for b in behaviors)
    for b in behaviors:
        if b.n_actions != A:
            b.n_actions = A
            b.cache.clear()
    return behaviors


def read_behaviors(
    paths: Sequence[str | os.PathLike],
    task: str = "bandit",
    *,
    bids_task: str | None = None,
    **kw: Any,
) -> list[Behavior]:
    """All participants of several inputs: long tables, events files or BIDS dataset folders.

    A folder is a BIDS dataset: its ``sub-*/[ses-*/]func/*_events.tsv`` files, one participant
    (or run) each, optionally only those of ``task-<bids_task>``; several files of one
    participant are labelled with their session and run entities. ``kw`` are the arguments of
    :func:`read_behavior_table`. Participant labels must be unique over all inputs.
    """
    if not paths:
        raise ValueError("give at least one behaviour table, events.tsv file or BIDS folder")
    behaviors: list[Behavior] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            behaviors.extend(_read_bids_dataset(p, task, bids_task, kw))
        else:
            behaviors.extend(read_behavior_table(p, task, **kw))
    labels = [b.participant for b in behaviors]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        where = {x: [b.source for b in behaviors if b.participant == x] for x in dup[:3]}
        raise EventsError(f"participant label(s) {dup} occur more than once: {where}")
    if kw.get("n_actions") is None:
        behaviors = harmonize_actions(behaviors)
    return behaviors


def _read_bids_dataset(root: Path, task: str, bids_task: str | None, kw: dict) -> list[Behavior]:
    files = sorted(root.glob("sub-*/func/*_events.tsv")) + sorted(
        root.glob("sub-*/ses-*/func/*_events.tsv")
    )
    if bids_task is not None:
        files = [f for f in files if f"_task-{bids_task}_" in f"_{f.name}"]
    if not files:
        what = f" of task-{bids_task}" if bids_task else ""
        raise EventsError(f"{root}: no sub-*/[ses-*/]func/*_events.tsv files{what} (BIDS)")
    tasks = sorted({_entity(f.name, "task") for f in files} - {None})
    if bids_task is None and len(tasks) > 1:
        raise EventsError(f"{root} holds the tasks {tasks}; choose one with --bids-task")
    by_sub: dict[str, list[Path]] = {}
    for f in files:
        by_sub.setdefault(_participant_from_name(f.name), []).append(f)
    out = []
    for sub, fs in by_sub.items():
        for f in fs:
            label = sub
            if len(fs) > 1:
                ents = [f"{k}-{_entity(f.name, k)}" for k in ("ses", "run") if _entity(f.name, k)]
                label = "_".join([sub, *ents]) if ents else f"{sub}_{f.stem}"
            out.extend(read_behavior_table(f, task, **kw))
            out[-1].participant = label
    return out


def _entity(name: str, key: str) -> str | None:
    for part in name.split("_"):
        if part.startswith(f"{key}-"):
            return part[len(key) + 1 :]
    return None


def _columns(columns: EventColumns | dict[str, str | None] | None) -> EventColumns:
    if columns is None:
        return EventColumns()
    if isinstance(columns, dict):
        return EventColumns.from_mapping(columns)
    if not isinstance(columns, EventColumns):
        raise TypeError(f"columns must be an EventColumns or a dict, got {columns!r}")
    return columns


def two_step_common_share(behavior: Behavior) -> float:
    """Share of responded trials whose transition was the common one (first-stage action a
    commonly leads to second-stage state a + 1, as in :class:`darkcontrol.envs.two_step.TwoStep`).

    About 0.7 in Daw et al. (2011)'s design; about 0.3 means the data code the first-stage
    actions the other way round (swap them, or the fit reads model-based as model-free)."""
    if behavior.task != "two_step":
        raise ValueError(f"a two-step behaviour is needed, got task {behavior.task!r}")
    ok = behavior.choice >= 0
    if not ok.any():
        return float("nan")
    return float(np.mean(behavior.next_state[ok] - 1 == behavior.choice[ok]))


def behavior_from_frame(
    frame: pd.DataFrame,
    task: str = "bandit",
    *,
    columns: EventColumns | dict[str, str | None] | None = None,
    n_actions: int | None = None,
    n_states: int | None = None,
    trial_type: str | None = None,
    allow_missed: bool = False,
    participant: str = "sub-01",
    source: str = "<frame>",
    choice_base: int | None = None,
    two_step_coding: str = "auto",
    rows: np.ndarray | None = None,
) -> Behavior:
    """Build a :class:`Behavior` from an events table (strings or numbers; NaN = ``n/a``).

    See :func:`read_events` for the arguments. ``choice_base`` is the code of the first action
    (0, or 1 for choices coded 1..K; default 0, and an error that says so when the choices are
    1..K without a 0 and ``n_actions`` is not given). Two-step tables come in two codings
    (``two_step_coding``; ``"auto"`` picks ``"state2"`` when the state2 column exists):

    - ``"state2"``: ``state2`` = the second-stage state reached (1 or 2) and ``choice2`` = the
      choice made there (``choice_base`` .. ``choice_base`` + 1);
    - ``"option"``: ``choice2`` alone = the second-stage option, ``choice_base`` .. +3, where
      options 1, 2 (base 1) are the two choices in state 1 and options 3, 4 those in state 2:
      0-based option k is state k // 2 + 1, choice k % 2.

    Row numbers in messages are 0-based data rows of the file (``rows`` gives them when the
    frame is a part of a larger table); the file line is row + 2 (line 1 is the header).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if two_step_coding not in TWO_STEP_CODINGS:
        raise ValueError(
            f"two_step_coding must be one of {TWO_STEP_CODINGS}, got {two_step_coding!r}"
        )
    columns = _columns(columns)
    reader = _Reader(frame.reset_index(drop=True), source, rows)
    if trial_type is not None:
        tt = reader.require([columns.trial_type])[0]
        keep = frame[tt].astype(str).to_numpy() == str(trial_type)
        if not keep.any():
            found = sorted(frame[tt].dropna().astype(str).unique())[:10]
            raise EventsError(f"{source}: no row has {tt} == {trial_type!r} (found {found})")
        reader.select(np.flatnonzero(keep))
    if reader.n == 0:
        raise EventsError(f"{source}: no trials")
    c = columns
    if choice_base is None:
        base = 0
        if n_actions is None and task != "navigation":
            base = _guess_zero_base(reader.frame.iloc[reader.index], c, task, source)
    elif choice_base in (0, 1) and not isinstance(choice_base, bool):
        base = int(choice_base)
    else:
        raise ValueError(f"choice_base must be 0 or 1, got {choice_base!r}")
    timed = c.onset in reader.frame
    if task == "bandit":
        A = None if n_actions is None else _check_count("n_actions", n_actions)
        reader.require([c.choice, c.outcome])
    elif task == "two_step":
        if n_actions not in (None, TWO_STEP_N_ACTIONS):
            raise ValueError(
                f"the two-step task has 2 actions per stage, got n_actions={n_actions}"
            )
        A = TWO_STEP_N_ACTIONS
        coding = two_step_coding
        if coding == "auto":
            coding = "state2" if c.state2 in reader.frame else "option"
        reader.require([c.choice, c.choice2, c.outcome] + ([c.state2] * (coding == "state2")))
    else:
        if n_actions is None:
            raise ValueError("navigation needs n_actions (the size of the action set)")
        A = _check_count("n_actions", n_actions)
        reader.require([c.state, c.choice, c.next_state, c.outcome, c.terminated])

    if timed:
        onset = reader.floats(c.onset)
        reader.non_decreasing(c.onset, onset)
    else:
        onset = np.arange(reader.n, dtype=np.float64)
    duration = None
    if timed and c.duration is not None and c.duration in reader.frame:
        duration = reader.floats(c.duration, allow_na=True)
        reader.check(c.duration, ~(duration < 0), "is negative")
    hi = None if A is None else A - 1
    choice = reader.ints(
        c.choice, lo=0, hi=hi, allow_na=allow_missed, what="the action set", base=base
    )
    if A is None:
        A = max(2, int(choice.max()) + 1)
    missed = choice == MISSED
    kw: dict[str, Any] = {}
    if task == "bandit":
        if c.state in reader.frame:
            hi = None if n_states is None else _check_count("n_states", n_states) - 1
            state = reader.ints(c.state, lo=0, hi=hi, what="the state set")
        else:
            state = np.zeros(reader.n, dtype=np.int64)
        S = int(state.max()) + 1 if n_states is None else int(n_states)
        outcome = reader.floats(c.outcome, allow_na=missed)
    elif task == "two_step":
        state = np.zeros(reader.n, dtype=np.int64)
        if coding == "state2":
            state2 = reader.ints(
                c.state2, lo=1, hi=2, allow_na=missed, what="the second-stage states"
            )
            choice2 = reader.ints(
                c.choice2, lo=0, hi=1, allow_na=allow_missed, what="the action set", base=base
            )
        else:
            option = reader.ints(
                c.choice2, lo=0, hi=3, allow_na=allow_missed, what="the second-stage options",
                base=base,
            )  # fmt: skip
            state2 = np.where(option >= 0, option // 2 + 1, MISSED)
            choice2 = np.where(option >= 0, option % 2, MISSED)
        missed2 = missed | (choice2 == MISSED)
        outcome = reader.floats(c.outcome, allow_na=missed2)
        state2 = np.where(state2 == MISSED, 1, state2)  # unused on a missed trial
        kw.update(next_state=state2, choice2=choice2)
        if timed and c.onset2 is not None and c.onset2 in reader.frame:
            onset2 = reader.floats(c.onset2, allow_na=missed2)
            reader.check(c.onset2, ~(onset2 < onset), "is before the trial onset")
            kw["onset2"] = onset2
        S = TWO_STEP_N_STATES
    else:
        hi = None if n_states is None else _check_count("n_states", n_states) - 1
        state = reader.ints(c.state, lo=0, hi=hi, what="the state set")
        next_state = reader.ints(c.next_state, lo=0, hi=hi, what="the state set")
        terminated = reader.ints(c.terminated, lo=0, hi=1, what="{0, 1}").astype(bool)
        if c.episode is not None and c.episode in reader.frame:
            episode = reader.ints(c.episode, lo=0, hi=None, what="non-negative integers")
            reader.non_decreasing(c.episode, episode)
            same = np.concatenate([episode[1:] == episode[:-1], [False]])
            reader.check(c.terminated, ~(terminated & same), "ends an episode that goes on")
        else:
            episode = _episodes_from_terminated(terminated)
        kw.update(next_state=next_state, terminated=terminated, episode=episode)
        outcome = reader.floats(c.outcome, allow_na=missed)
        S = int(max(state.max(), next_state.max())) + 1 if n_states is None else int(n_states)
    return Behavior(
        task=task,
        onset=onset,
        state=state,
        choice=choice,
        outcome=outcome,
        n_states=S,
        n_actions=A,
        duration=duration,
        participant=participant,
        source=source,
        rows=reader.rows[reader.index].copy(),
        timed=timed,
        **kw,
    )


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class _Reader:
    """Column access with row-level error messages (``file: line L (row R), column C: ...``)."""

    def __init__(self, frame: pd.DataFrame, source: str, rows: np.ndarray | None = None) -> None:
        self.frame = frame
        self.source = source
        self.index = np.arange(len(frame), dtype=np.int64)
        #: row of the source file of each frame row (a part of a long table keeps its rows)
        self.rows = self.index.copy() if rows is None else np.asarray(rows, dtype=np.int64)
        if self.rows.shape != self.index.shape:
            raise ValueError(f"rows has {self.rows.shape[0]} entries, the frame {len(frame)}")

    @property
    def n(self) -> int:
        return len(self.index)

    def select(self, idx: np.ndarray) -> None:
        self.index = self.index[idx]

    def require(self, names: list[str]) -> list[str]:
        missing = [n for n in names if n not in self.frame.columns]
        if missing:
            raise EventsError(
                f"{self.source}: missing column(s) {missing}; the file has "
                f"{list(self.frame.columns)} (rename them with --columns / EventColumns)"
            )
        return names

    def fail(self, k: int, column: str, text: str) -> EventsError:
        row = int(self.rows[self.index[k]])
        return EventsError(f"{self.source}: line {row + 2} (row {row}), column {column!r}: {text}")

    def check(self, column: str, ok: np.ndarray, text: str) -> None:
        bad = np.flatnonzero(~np.asarray(ok, dtype=bool))
        if len(bad):
            raise self.fail(bad[0], column, text)

    def _raw(self, column: str) -> pd.Series:
        return self.frame[column].iloc[self.index].reset_index(drop=True)

    def floats(
        self, column: str, allow_na: bool | np.ndarray = False, hint: str = ""
    ) -> np.ndarray:
        raw = self._raw(column)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        na = raw.isna().to_numpy()
        unparsable = np.flatnonzero(np.isnan(values) & ~na)
        if len(unparsable):
            k = unparsable[0]
            if str(raw.iloc[k]).strip().lower() == "nan":
                raise self.fail(k, column, "is NaN (use n/a for a missing value)")
            raise self.fail(k, column, f"{raw.iloc[k]!r} is not a number")
        allowed = np.broadcast_to(np.asarray(allow_na, dtype=bool), na.shape)
        bad = np.flatnonzero(na & ~allowed)
        if len(bad):
            raise self.fail(bad[0], column, "is n/a, which is not allowed here" + hint)
        inf = np.flatnonzero(np.isinf(values))
        if len(inf):
            raise self.fail(inf[0], column, f"{raw.iloc[inf[0]]!r} is not finite")
        return values

    def ints(
        self,
        column: str,
        *,
        lo: int,
        hi: int | None,
        allow_na: bool | np.ndarray = False,
        what: str,
        base: int = 0,
    ) -> np.ndarray:
        """Integer codes ``lo + base .. hi + base`` of a column, returned minus ``base``."""
        hint = ""
        if what in ("the action set", "the second-stage options") and allow_na is False:
            hint = (
                " (a missed response? pass --allow-missed / allow_missed=True to keep n/a "
                "choices as missed trials)"
            )
        values = self.floats(column, allow_na=allow_na, hint=hint)
        na = np.isnan(values)
        frac = np.flatnonzero(~na & (values != np.round(values)))
        if len(frac):
            raise self.fail(frac[0], column, f"{values[frac[0]]:g} is not an integer")
        lo_b, hi_b = lo + base, None if hi is None else hi + base
        hi_ok = np.ones_like(na) if hi_b is None else values <= hi_b
        bad = np.flatnonzero(~na & ~((values >= lo_b) & hi_ok))
        if len(bad):
            rng = f"{lo_b}..{hi_b}" if hi_b is not None else f">= {lo_b}"
            coded = f", {base}-based" if base else ""
            raise self.fail(bad[0], column, f"{values[bad[0]]:g} is outside {what} ({rng}{coded})")
        return np.where(na, MISSED, values - base).astype(np.int64)

    def non_decreasing(self, column: str, values: np.ndarray) -> None:
        back = np.flatnonzero(np.diff(values) < 0)
        if len(back):
            k = back[0] + 1
            raise self.fail(
                k, column, f"{values[k]:g} goes backwards (previous row has {values[k - 1]:g})"
            )


# -- writing -----------------------------------------------------------------------------------
def write_events(behavior: Behavior, path: str | os.PathLike) -> Path:
    """Write behaviour as a BIDS ``events.tsv`` (tab-separated, ``n/a`` for missing), atomically.

    :func:`read_events` with the same ``task`` (and ``allow_missed=True`` if trials were missed)
    reads it back to an equal :class:`Behavior`."""
    frame = behavior.to_frame()
    text = frame.to_csv(sep="\t", index=False, na_rep="n/a", lineterminator="\n")
    return atomic_write_text(path, text)


def make_onsets(
    n_trials: int,
    rng: np.random.Generator,
    *,
    trial_duration: float = 2.0,
    iti: tuple[float, float] = (1.0, 4.0),
    start: float = 4.0,
) -> np.ndarray:
    """Trial onsets with a jittered inter-trial interval ~ U(iti), as in an fMRI design.

    Jitter decorrelates successive trials' regressors (Dale 1999, Hum Brain Mapp 8:109-114)."""
    lo, hi = iti
    if n_trials < 1 or trial_duration <= 0 or lo < 0 or hi < lo:
        raise ValueError(
            f"need n_trials >= 1, trial_duration > 0, 0 <= iti[0] <= iti[1]; got {n_trials}, "
            f"{trial_duration}, {iti}"
        )
    gaps = trial_duration + rng.uniform(lo, hi, size=n_trials - 1)
    return start + np.concatenate([[0.0], np.cumsum(gaps)])
