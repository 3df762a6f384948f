"""Fit a model to many participants' behaviour into an output folder, resumably.

The engine behind ``darkcontrol fit`` (the CLI only parses arguments, calls :func:`run_fit` and
prints) and the fit step of :func:`darkcontrol.neuro.pipeline.run_pipeline`. Two stages:

1. **fits** (the expensive, precious part): each participant's fit is written to
   ``OUT/participants/<label>.json`` the moment it is done (atomically), and ``fits.tsv`` is
   rewritten after each one, so a kill loses at most the participant being fitted. With
   ``resume=True`` a participant whose file exists is read back, not refitted, provided the
   file was made from the same data and configuration (a hash key says so; a mismatch is an
   error, never a silent reuse). A hierarchical (EM) fit is one unit: it is written when the
   EM ends and is refitted whole on resume.
2. **derived outputs** (cheap): the fitted agent replayed over each participant's history
   (trial-wise Traces, :func:`darkcontrol.neuro.pipeline.trialwise_trace`) in
   ``trialwise.parquet`` / ``trialwise.tsv``. If they fail, the fits stay on disk and
   :class:`DerivedOutputsError` says how to rerun only this stage (``--resume``).

An existing output folder holding a fit is refused unless ``resume`` or ``force`` (which
deletes the previous fit's files, and only those).

``fits.tsv`` columns: participant, source, model, method, every parameter (natural scale), NLL,
NLP, AIC, BIC, k, n_trials, n_choices, log_evidence, converged, n_converged, n_at_best (starts
within ``tol_best`` of the best objective), n_starts, then per free parameter ``se_<p>``
(natural scale, delta method), ``se_u_<p>`` (unbounded scale) and ``at_bound_<p>``
(lower / upper / no).

References: Wilson & Collins (2019) eLife 8:e49547 (rules 4-6: fit, check, report).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol._util import atomic_write_text
from darkcontrol.neuro.behavior import Behavior, two_step_common_share
from darkcontrol.neuro.fitting import FitConfig, FitResult, _fit_job, _map, fits_table
from darkcontrol.neuro.likelihood import Model, make_model, model_task

PARTICIPANTS_DIR = "participants"
FIT_FILES = ("fits.tsv", "fit.json", "trialwise.parquet", "trialwise.tsv")


class FitOutputError(ValueError):
    """The output folder cannot be used as asked (exists, or holds another fit)."""


class DerivedOutputsError(ValueError):
    """The fits are on disk but a derived output failed; the message says how to rerun it."""


@dataclass
class FitRun:
    """What :func:`run_fit` did: the fits, the files, and notes worth printing."""

    model: Model
    behaviors: list[Behavior]
    fits: list[FitResult]
    hierarchical: Any = None  #: HierarchicalResult or None
    files: dict[str, str] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)  #: participants read back on resume
    notes: list[str] = field(default_factory=list)  #: facts about the data (printed by the CLI)

    def table(self) -> pd.DataFrame:
        table = fits_table(self.fits)
        table.insert(1, "source", [b.source for b in self.behaviors])
        return table


def build_model(name: str, behaviors: Sequence[Behavior], fixed: Mapping[str, float] | None):
    """The registered model for these behaviours (the random model gets their action count)."""
    options = {"n_actions": behaviors[0].n_actions} if name == "random" else {}
    return make_model(name, fixed=dict(fixed) if fixed else None, **options)


def check_task(model_name: str, task: str | None) -> str:
    """The task of ``model_name``, checked against an explicitly given ``task``."""
    own = model_task(model_name)
    if task is not None and task != own:
        raise ValueError(f"model {model_name!r} is for the {own} task, not {task}")
    return own


def data_notes(behaviors: Sequence[Behavior]) -> list[str]:
    """What was read, in words a user can check (participants, trials, actions, transitions)."""
    b0 = behaviors[0]
    n = [b.n_trials for b in behaviors]
    notes = [
        f"read {len(behaviors)} participant(s), {sum(n)} trials ({min(n)}-{max(n)} each), "
        f"task {b0.task}, {b0.n_actions} actions"
        + ("" if b0.timed else "; no onsets: time = trial index (fits and traces only)")
    ]
    missed = sum(int((~b.valid).sum()) for b in behaviors)
    if missed:
        notes.append(f"{missed} missed trial(s) kept in the timeline, skipped by the likelihood")
    if b0.task == "two_step":
        shares = np.array([two_step_common_share(b) for b in behaviors])
        notes.append(
            f"two-step common-transition share: mean {np.nanmean(shares):.2f} "
            f"(range {np.nanmin(shares):.2f}-{np.nanmax(shares):.2f}; first-stage action a "
            "commonly leads to state a + 1)"
        )
        if np.nanmean(shares) < 0.5:
            notes.append(
                "WARNING: fewer than half the transitions are common: the first-stage actions "
                "(or second-stage states) are probably coded the other way round"
            )
    return notes


def _key(model: Model, config: FitConfig, behavior: Behavior) -> str:
    """Hash of what a participant's fit depends on: model, fit configuration and the data."""
    h = hashlib.sha256()
    h.update(json.dumps(model.describe(), sort_keys=True, default=str).encode())
    h.update(json.dumps(asdict(config), sort_keys=True, default=str).encode())
    for name in ("state", "choice", "outcome", "next_state", "choice2", "scored"):
        arr = getattr(behavior, name)
        if arr is not None:
            h.update(name.encode())
            h.update(np.ascontiguousarray(arr).tobytes())
    h.update(str(behavior.n_actions).encode())
    return h.hexdigest()[:20]


def prepare_output(out: Path, *, resume: bool, force: bool) -> None:
    """Refuse to overwrite a previous fit unless ``resume`` or ``force`` (then clean it)."""
    if resume and force:
        raise ValueError("pass either resume (continue a fit) or force (replace it), not both")
    existing = [n for n in (*FIT_FILES, PARTICIPANTS_DIR) if (out / n).exists()]
    if out.exists() and not out.is_dir():
        raise FitOutputError(f"--out {out} is a file, not a folder")
    if existing and not (resume or force):
        raise FitOutputError(
            f"{out} already holds a fit ({', '.join(existing)}); pass --resume to finish it "
            "(fitted participants are not refitted) or --force to replace it"
        )
    if force:
        for name in existing:
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    (out / PARTICIPANTS_DIR).mkdir(parents=True, exist_ok=True)
    stale = [*(out / PARTICIPANTS_DIR).glob(".*.tmp")]  # left by a write killed midway
    for name in FIT_FILES:
        stale += out.glob(f".{name}.*.tmp")
    for tmp in stale:
        tmp.unlink()


def _participant_file(out: Path, label: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)
    return out / PARTICIPANTS_DIR / f"{safe}_fit.json"


def _read_done(path: Path, key: str, label: str) -> FitResult | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        path.unlink()  # unreadable (damaged, or not written by us: writes are atomic): refit
        return None
    if data.get("key") != key:
        raise FitOutputError(
            f"{path} was fitted from other data or another configuration than {label}'s now; "
            "rerun with the original command, or pass --force to refit everyone"
        )
    return FitResult.from_json(data["fit"])


def fit_participants(
    model: Model,
    behaviors: Sequence[Behavior],
    config: FitConfig,
    out: Path | None = None,
    *,
    resume: bool = False,
    progress: bool = False,
    n_jobs: int = 1,
    on_fit: Callable[[list[FitResult | None]], None] | None = None,
) -> tuple[list[FitResult], list[str]]:
    """Independent fits, participant i with seed ``config.seed + i`` (as
    :func:`darkcontrol.neuro.fitting.fit_many`), each written to ``out`` when done.

    Returns the fits in participant order and the labels read back instead of refitted."""
    if out is not None:
        names = [_participant_file(out, b.participant).name for b in behaviors]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise ValueError(f"participant labels that give the same file name: {clash}")
    seeds = [None if config.seed is None else config.seed + i for i in range(len(behaviors))]
    configs = [FitConfig(**{**asdict(config), "seed": s}) for s in seeds]
    fits: list[FitResult | None] = [None] * len(behaviors)
    reused = []
    todo = []
    for i, (b, c) in enumerate(zip(behaviors, configs)):
        key = _key(model, c, b)
        done = None
        if out is not None and resume:
            done = _read_done(_participant_file(out, b.participant), key, b.participant)
        if done is not None:
            fits[i] = done
            reused.append(b.participant)
        else:
            todo.append((i, key))
    jobs = [(model, behaviors[i], configs[i]) for i, _ in todo]
    results = _map(_fit_job, jobs, n_jobs, progress, f"fit {model.name}", unit="participant")
    for (i, key), result in zip(todo, results):
        fits[i] = result
        if out is not None:
            body = {"key": key, "fit": result.to_json()}
            atomic_write_text(
                _participant_file(out, behaviors[i].participant),
                json.dumps(body, indent=1, default=_json_default),
            )
        if on_fit is not None:
            on_fit(fits)
    return [f for f in fits if f is not None], reused


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def write_tsv(df: pd.DataFrame, path: Path) -> Path:
    """A BIDS-style TSV (tabs, ``n/a`` for missing), written atomically."""
    return atomic_write_text(
        path, df.to_csv(sep="\t", index=False, na_rep="n/a", lineterminator="\n")
    )


def write_fits(run: FitRun, out: Path, config: Mapping[str, Any]) -> dict[str, str]:
    """``fits.tsv`` and ``fit.json`` (configuration, version, per-participant fits, group)."""
    from darkcontrol import __version__

    files = {"fits": str(write_tsv(run.table(), out / "fits.tsv"))}
    meta: dict[str, Any] = {
        "darkcontrol_version": __version__,
        "config": dict(config),
        "model": run.model.describe(),
        "participants": [b.participant for b in run.behaviors],
        "sources": [b.source for b in run.behaviors],
        "fits": [f.to_json() for f in run.fits],
    }
    if run.hierarchical is not None:
        meta["group"] = run.hierarchical.summary()
    files["fit_json"] = str(
        atomic_write_text(out / "fit.json", json.dumps(meta, indent=2, default=_json_default))
    )
    run.files.update(files)
    return files


def make_traces(
    run: FitRun,
    out: Path | None = None,
    *,
    stage2_delay: float | None = None,
    rerun_hint: str = "rerun the same command with --resume",
) -> list[pd.DataFrame]:
    """The derived stage: trial-wise Traces of the fitted agents (``run`` = participant
    index). A failure raises :class:`DerivedOutputsError`, naming what is already on disk
    (in ``out``) and how to finish."""
    from darkcontrol.neuro.pipeline import trialwise_trace

    try:
        return [
            trialwise_trace(run.model, f.params, b, run=i, stage2_delay=stage2_delay)
            for i, (f, b) in enumerate(zip(run.fits, run.behaviors))
        ]
    except (ValueError, TypeError, KeyError) as exc:
        where = (
            f"are saved in {out}/fits.tsv and {out}/{PARTICIPANTS_DIR}/"
            if out is not None
            else "are done"
        )
        raise DerivedOutputsError(
            f"the fits of all {len(run.fits)} participants {where}, but the trial-wise traces "
            f"failed: {exc}. Fix that and {rerun_hint}: no participant is refitted"
        ) from exc


def save_traces(
    traces: Sequence[pd.DataFrame],
    out: Path,
    config: Mapping[str, Any],
    files: dict[str, str],
    *,
    tsv: bool = True,
) -> None:
    """``trialwise.parquet`` (config in its metadata) and, if ``tsv``, ``trialwise.tsv``."""
    from darkcontrol.trace import coerce_trace, write_trace

    trace = coerce_trace(pd.concat(list(traces), ignore_index=True))
    files["trace"] = str(write_trace(trace, out / "trialwise.parquet", dict(config)))
    if tsv:
        files["trace_tsv"] = str(write_tsv(trace, out / "trialwise.tsv"))


def run_fit(
    inputs: Sequence[Behavior | str | os.PathLike],
    model_name: str,
    out: str | os.PathLike,
    *,
    task: str | None = None,
    read: Mapping[str, Any] | None = None,
    fit_config: FitConfig | None = None,
    fixed: Mapping[str, float] | None = None,
    hierarchical: bool = False,
    hierarchical_config: Any = None,
    stage2_delay: float | None = None,
    resume: bool = False,
    force: bool = False,
    n_jobs: int = 1,
    progress: bool = False,
    record: Mapping[str, Any] | None = None,
    on_read: Callable[[str], Any] | None = None,
) -> FitRun:
    """Fit ``model_name`` to every participant into ``out``, then write the derived Traces.

    ``inputs``: :class:`Behavior` objects, or paths read by
    :func:`darkcontrol.neuro.behavior.read_behaviors` (long tables, events files, BIDS
    folders) with the keyword arguments ``read`` (``columns``, ``choice_base``,
    ``n_actions``, ``bids_task``, ...), as the model's ``task`` (checked against ``task`` if
    given). ``record`` is extra configuration stored in ``fit.json``; ``on_read`` receives
    each line of :func:`data_notes` before the first fit starts. Raises
    :class:`FitOutputError` (folder in use), :class:`DerivedOutputsError` (fits saved, traces
    failed) or the readers' / models' ``ValueError`` on bad input, before any fit."""
    task = check_task(model_name, task)
    paths = [x for x in inputs if not isinstance(x, Behavior)]
    behaviors = [x for x in inputs if isinstance(x, Behavior)]
    if paths:
        from darkcontrol.neuro.behavior import read_behaviors

        if behaviors:
            raise TypeError("inputs must be all Behavior objects or all paths, not a mix")
        behaviors = read_behaviors(paths, task, **dict(read or {}))
    if not behaviors:
        raise ValueError("no participants to fit")
    check_task(model_name, behaviors[0].task)
    model = build_model(model_name, behaviors, fixed)
    for b in behaviors:
        model.check(b)
    fit_config = fit_config or FitConfig()
    out = Path(out)
    prepare_output(out, resume=resume, force=force)
    config = {
        "agent": model_name,
        "task": behaviors[0].task,
        "fit": asdict(fit_config),
        "fixed": dict(fixed or {}),
        "hierarchical": hierarchical,
        "stage2_delay": stage2_delay,
        "read": {k: asdict(v) if is_dataclass(v) else v for k, v in dict(read or {}).items()},
        **dict(record or {}),
    }
    run = FitRun(model, list(behaviors), [], notes=data_notes(behaviors))
    for note in run.notes if on_read is not None else ():
        on_read(note)
    if hierarchical:
        from darkcontrol.neuro.hierarchical import HierarchicalConfig, fit_hierarchical

        cfg = hierarchical_config or HierarchicalConfig(seed=fit_config.seed or 0)
        h = fit_hierarchical(model, list(behaviors), cfg, progress=progress, n_jobs=n_jobs)
        run.fits, run.hierarchical = h.fits, h
    else:

        def partial(fits: list[FitResult | None]) -> None:
            done = [(f, b) for f, b in zip(fits, behaviors) if f is not None]
            part = fits_table([f for f, _ in done])
            part.insert(1, "source", [b.source for _, b in done])
            write_tsv(part, out / "fits.tsv")

        run.fits, run.reused = fit_participants(
            model, behaviors, fit_config, out, resume=resume, progress=progress,
            n_jobs=n_jobs, on_fit=partial,
        )  # fmt: skip
    write_fits(run, out, config)
    traces = make_traces(run, out, stage2_delay=stage2_delay)
    save_traces(traces, out, config, run.files)
    return run
