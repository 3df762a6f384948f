"""Model-based fMRI, end to end: behaviour -> fitted agent -> trial-wise Trace -> GLM -> report.

The workflow of O'Doherty, Hampton & Kim (2007, Ann N Y Acad Sci 1104:35-53) and Wilson &
Collins (2019, eLife 8:e49547):

1. read each participant's behaviour from BIDS ``events.tsv`` (:mod:`.behavior`);
2. fit the model to the choices, per participant (MLE / MAP, :mod:`.fitting`) or with a group
   prior (:mod:`.hierarchical`);
3. replay the fitted agent over the participant's *own* history (:func:`trialwise_trace`): the
   values, prediction errors and choice probabilities it would have computed on each trial,
   as a darkcontrol Trace whose ``time`` is the trial onset;
4. turn the Trace into parametric-modulator events and design matrices
   (:mod:`.events`, :mod:`.design`), fit ROI and voxelwise GLMs (:mod:`.study`), and write an
   HTML report (:mod:`.report`) with the fits and the model comparison.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol._util import atomic_write_text
from darkcontrol.neuro.behavior import Behavior, EventColumns, harmonize_actions, read_events
from darkcontrol.neuro.fitting import FitConfig, FitResult, fit_many, fits_table
from darkcontrol.neuro.likelihood import Model, make_model
from darkcontrol.trace import TraceRecorder, coerce_trace

TWO_STEP_END = 3  # terminal state of the two-step task
UNTIMED_STAGE2 = 0.5  # stage-2 'time' of a behaviour without onsets (time = trial index)


def trialwise_trace(
    model: Model | str,
    params: Mapping[str, float],
    behavior: Behavior,
    *,
    run: int = 0,
    stage2_delay: float | None = None,
) -> pd.DataFrame:
    """The fitted agent replayed over the participant's actual history, as a Trace.

    One online row per trial (bandit), per step (navigation; ``episode`` from the behaviour),
    or two per trial (two-step: stage 1 at the trial onset, stage 2 at ``onset2``, or at
    onset + ``stage2_delay`` if the file had no ``onset2``; each trial is an episode).
    Columns: ``time`` = onset, ``q`` = the value of the chosen action before the update (two-
    step stage 1: Q_net), ``target``, ``rpe``, ``update_norm`` = |alpha delta|, ``choice_prob``
    and ``policy_entropy`` of the agent's policy, ``spe`` (two-step stage 1: 1 - P(s2 | a1)
    under the known transitions; stage 2: 0; other tasks: NaN), ``reward`` = outcome.
    Extra columns: ``participant``, ``missed`` (no response: quantities NaN) and, per action,
    ``value_<a>`` (bandit / navigation) or ``q_mf`` / ``q_mb`` (two-step stage 1).
    Models without values (``wsls``, ``random``) leave ``q``, ``target``, ``rpe`` NaN.
    """
    if isinstance(model, str):
        model = make_model(model)
    model.check(behavior)
    rep = model.replay(params, behavior)
    rec = TraceRecorder(run=run, mode="full")
    rec.context = {"participant": behavior.participant}
    if behavior.task == "two_step":
        _two_step_rows(rec, rep, behavior, stage2_delay)
    else:
        _step_rows(rec, rep, behavior)
    df = coerce_trace(rec.to_frame())
    df.attrs["darkcontrol"] = {
        "model": model.describe(),
        "params": dict(params),
        "participant": behavior.participant,
        "source": behavior.source,
    }
    return df


def _nan_to_none(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def _step_rows(rec: TraceRecorder, rep: dict, b: Behavior) -> None:
    values = rep["values"]
    episode = None
    for t in range(b.n_trials):
        if b.episode[t] != episode:
            episode = int(b.episode[t])
            rec.begin_episode(episode)
        rec.time = float(b.onset[t])
        a = int(b.choice[t])
        missed = a < 0
        row: dict[str, Any] = {
            "state": int(b.state[t]),
            "action": None if missed else a,
            "reward": _nan_to_none(b.outcome[t]),
            "next_state": int(b.next_state[t]),
            "terminated": bool(b.terminated[t]),
            "q": _nan_to_none(rep["q"][t]),
            "target": _nan_to_none(rep["target"][t]),
            "rpe": _nan_to_none(rep["rpe"][t]),
            "update_norm": _nan_to_none(abs(rep["update"][t])),
            "choice_prob": _nan_to_none(rep["choice_prob"][t]),
            "policy_entropy": _nan_to_none(rep["policy_entropy"][t]),
            "missed": missed,
        }
        for k in range(b.n_actions):
            row[f"value_{k}"] = _nan_to_none(values[t, k])
        rec.online(**row)


def _two_step_rows(rec: TraceRecorder, rep: dict, b: Behavior, delay: float | None) -> None:
    if b.onset2 is None:
        if delay is None and not b.timed:
            delay = UNTIMED_STAGE2  # time is the trial index: stage 2 half a trial later
        if delay is None:
            raise ValueError(
                f"{b.source}: the behaviour has no second-stage onsets (onset2); pass "
                "--stage2-delay SECONDS (stage2_delay=, seconds after the trial onset) to "
                "place the stage-2 rows"
            )
        onset2 = b.onset + float(delay)
    else:
        onset2 = np.where(np.isfinite(b.onset2), b.onset2, b.onset)
    for t in range(b.n_trials):
        rec.begin_episode(t)
        a1, a2, s2 = int(b.choice[t]), int(b.choice2[t]), int(b.next_state[t])
        missed = not bool(b.valid[t])
        rec.time = float(b.onset[t])
        rec.online(
            state=0,
            action=None if a1 < 0 else a1,
            reward=0.0,
            next_state=None if a1 < 0 else s2,
            terminated=False,
            q=_nan_to_none(rep["q1"][t]),
            target=_nan_to_none(rep["q2"][t]),
            rpe=_nan_to_none(rep["rpe1"][t]),
            spe=_nan_to_none(rep["spe"][t]),
            update_norm=_nan_to_none(abs(rep["update1"][t])),
            choice_prob=_nan_to_none(rep["choice_prob1"][t]),
            policy_entropy=_nan_to_none(rep["policy_entropy1"][t]),
            q_mf=_nan_to_none(rep["q_mf"][t]),
            q_mb=_nan_to_none(rep["q_mb"][t]),
            missed=missed,
        )
        if a1 < 0:
            continue
        rec.time = float(onset2[t])
        rec.online(
            state=s2,
            action=None if a2 < 0 else a2,
            reward=_nan_to_none(b.outcome[t]),
            next_state=TWO_STEP_END,
            terminated=True,
            q=_nan_to_none(rep["q2"][t]),
            target=_nan_to_none(b.outcome[t]) if not missed else None,
            rpe=_nan_to_none(rep["rpe2"][t]),
            spe=None if missed else 0.0,
            update_norm=_nan_to_none(abs(rep["update2"][t])),
            choice_prob=_nan_to_none(rep["choice_prob2"][t]),
            policy_entropy=_nan_to_none(rep["policy_entropy2"][t]),
            missed=missed,
        )


# -- fitting many participants -----------------------------------------------------------------
@dataclass
class BehaviorFits:
    """Fits of one model to a group: per-participant results and, if asked, the group prior."""

    model: Model
    fits: list[FitResult]
    hierarchical: Any = None  # HierarchicalResult or None

    def table(self) -> pd.DataFrame:
        return fits_table(self.fits)

    def traces(self, behaviors: Sequence[Behavior], **kw: Any) -> list[pd.DataFrame]:
        """One trial-wise Trace per participant (``run`` = participant index)."""
        return [
            trialwise_trace(self.model, f.params, b, run=i, **kw)
            for i, (f, b) in enumerate(zip(self.fits, behaviors))
        ]


def fit_behaviors(
    model: Model | str,
    behaviors: Sequence[Behavior],
    fit_config: FitConfig | None = None,
    *,
    hierarchical: bool = False,
    hierarchical_config: Any = None,
    progress: bool = False,
    n_jobs: int = 1,
) -> BehaviorFits:
    """Per-participant fits, or EM with a group prior (then the fits are MAP under it)."""
    if isinstance(model, str):
        model = make_model(model)
    if hierarchical:
        from darkcontrol.neuro.hierarchical import HierarchicalConfig, fit_hierarchical

        cfg = hierarchical_config or HierarchicalConfig(seed=fit_config.seed if fit_config else 0)
        h = fit_hierarchical(model, behaviors, cfg, progress=progress, n_jobs=n_jobs)
        return BehaviorFits(model, h.fits, h)
    fits = fit_many(model, behaviors, fit_config or FitConfig(), progress=progress, n_jobs=n_jobs)
    return BehaviorFits(model, fits)


# -- the whole pipeline --------------------------------------------------------------------------
@dataclass
class PipelineConfig:
    """Choices of the model-based fMRI pipeline (all land in the report and config.json)."""

    model: str = "q_learning"  #: model name (see darkcontrol.neuro.likelihood.MODELS)
    task: str = "bandit"  #: "bandit" | "two_step" | "navigation"
    method: str = "map"  #: per-participant fits: "mle" | "map"
    hierarchical: bool = False  #: EM group prior instead of independent fits
    starts: int = 10  #: optimiser starts per participant
    seed: int = 0  #: seed of the starts
    compare: tuple[str, ...] = ()  #: other models to fit for the model-comparison table
    quantities: tuple[str, ...] = ("q", "rpe")  #: Trace columns used as parametric modulators
    event_duration: float = 1.0  #: seconds of each trial's event
    orthogonalize: bool = False  #: serial orthogonalisation of the modulators
    t_r: float = 2.0  #: the runs' repetition time (s)
    hrf_model: str = "spm"  #: nilearn HRF model
    high_pass: float = 0.01  #: Hz, cosine drift cut-off
    voxelwise: bool = True  #: fit voxelwise maps besides the ROI tables
    height_control: str = "fdr"  #: voxelwise threshold: "fdr" | "bonferroni" | "fpr"
    alpha: float = 0.05  #: error rate of the voxelwise threshold
    columns: dict[str, str | None] = field(default_factory=dict)  #: events column renames
    n_actions: int | None = None  #: size of the action set (None: from the data, see read_events)
    allow_missed: bool = False  #: accept n/a responses as missed trials

    def __post_init__(self) -> None:
        from darkcontrol.neuro.likelihood import model_task

        if model_task(self.model) != self.task:
            raise ValueError(
                f"model {self.model!r} is for {model_task(self.model)}, not {self.task}"
            )
        for m in self.compare:
            if model_task(m) != self.task:
                raise ValueError(f"comparison model {m!r} is not a {self.task} model")
        self.quantities = tuple(self.quantities)
        self.compare = tuple(self.compare)
        if self.event_duration <= 0:
            raise ValueError(f"event_duration must be > 0 s, got {self.event_duration}")
        FitConfig(method=self.method, starts=self.starts, seed=self.seed)  # validates


@dataclass
class PipelineResult:
    """What the pipeline produced (also written to ``out``)."""

    behaviors: list[Behavior]
    fits: BehaviorFits
    traces: list[pd.DataFrame]
    designs: list[pd.DataFrame]
    study: Any  # darkcontrol.neuro.study.StudyResult
    comparison: pd.DataFrame | None
    report: Path | None
    files: dict[str, str] = field(default_factory=dict)


def run_pipeline(
    events: Sequence[str | os.PathLike | Behavior],
    bold: Sequence[Any],
    config: PipelineConfig,
    *,
    mask_img: Any = None,
    atlas: Any = None,
    confounds: Sequence[pd.DataFrame | None] | None = None,
    out: str | os.PathLike | None = None,
    progress: bool = False,
) -> PipelineResult:
    """events.tsv (or Behavior) + one BOLD run per participant -> fit -> Trace -> GLM -> report.

    ``mask_img`` is required (nilearn's automatic mask can drop most voxels of synthetic
    data); ``atlas`` is a :class:`darkcontrol.neuro.atlas.Atlas` on the BOLD grid (default: the
    DMN atlas on the mask). ``confounds``: one table (or None) per participant.
    """
    from darkcontrol.neuro.design import DesignConfig, make_design
    from darkcontrol.neuro.events import EventsConfig, trace_to_events
    from darkcontrol.neuro.glm import GLMConfig
    from darkcontrol.neuro.study import Participant, StudyConfig, analyze

    if len(events) != len(bold):
        raise ValueError(f"{len(events)} events files but {len(bold)} BOLD runs")
    if mask_img is None:
        raise ValueError("pass mask_img (nilearn's automatic mask can drop most voxels)")
    confounds = list(confounds) if confounds is not None else [None] * len(bold)
    if len(confounds) != len(bold):
        raise ValueError(f"{len(confounds)} confound tables but {len(bold)} BOLD runs")
    behaviors = [
        e
        if isinstance(e, Behavior)
        else read_events(
            e,
            config.task,
            columns=EventColumns.from_mapping(config.columns),
            n_actions=config.n_actions,
            allow_missed=config.allow_missed,
        )
        for e in events
    ]
    if config.n_actions is None and not any(isinstance(e, Behavior) for e in events):
        behaviors = harmonize_actions(behaviors)  # from the files: the largest over everyone
    fit_cfg = FitConfig(method=config.method, starts=config.starts, seed=config.seed)
    fits = fit_behaviors(
        config.model, behaviors, fit_cfg, hierarchical=config.hierarchical, progress=progress
    )
    comparison = None
    if config.compare:
        comparison = model_comparison(
            [config.model, *config.compare], behaviors, fit_cfg, first=fits, progress=progress
        )
    traces = fits.traces(behaviors)
    ev_cfg = EventsConfig(
        quantities=config.quantities,
        online_duration=config.event_duration,
        orthogonalize=config.orthogonalize,
        nan="drop",
    )
    designs = []
    for img, trace, conf in zip(bold, traces, confounds):
        n_scans = int(img.shape[3]) if hasattr(img, "shape") else _n_scans(img)
        dcfg = DesignConfig(
            t_r=config.t_r, n_scans=n_scans, hrf_model=config.hrf_model, high_pass=config.high_pass
        )
        designs.append(make_design(trace_to_events(trace, ev_cfg), dcfg, conf))
    if atlas is None:
        from darkcontrol.neuro.atlas import dmn_atlas

        atlas = dmn_atlas(mask_img, mask_img=mask_img)
    participants = [
        Participant(img, dm, b.participant) for img, dm, b in zip(bold, designs, behaviors)
    ]
    study_cfg = StudyConfig(
        glm=GLMConfig(t_r=config.t_r),
        voxelwise=config.voxelwise,
        height_control=config.height_control,
        alpha=config.alpha,
    )
    study = analyze(participants, mask_img, atlas, study_cfg, progress=progress)
    result = PipelineResult(behaviors, fits, traces, designs, study, comparison, None)
    if out is not None:
        _write_outputs(result, config, Path(out))
    return result


def _n_scans(img: Any) -> int:
    import nibabel as nib

    return int(nib.load(str(img)).shape[3])


def model_comparison(
    models: Sequence[str],
    behaviors: Sequence[Behavior],
    fit_config: FitConfig,
    *,
    first: BehaviorFits | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Group model comparison: summed NLL, AIC, BIC per model, and how many participants each
    model wins by BIC (Wilson & Collins 2019, rule 7)."""
    results = {}
    for name in models:
        if first is not None and name == first.model.name and first.hierarchical is None:
            results[name] = first.fits
        else:
            results[name] = fit_many(name, behaviors, fit_config, progress=progress)
    bic = pd.DataFrame({m: [f.bic for f in r] for m, r in results.items()})
    wins = bic.idxmin(axis=1).value_counts()
    rows = []
    for m, r in results.items():
        rows.append(
            {
                "model": m,
                "k": r[0].k,
                "nll": float(sum(f.nll for f in r)),
                "aic": float(sum(f.aic for f in r)),
                "bic": float(sum(f.bic for f in r)),
                "best_bic_n": int(wins.get(m, 0)),
            }
        )
    table = pd.DataFrame(rows).sort_values("bic").reset_index(drop=True)
    table["delta_bic"] = table["bic"] - table["bic"].min()
    return table


def _write_outputs(result: PipelineResult, config: PipelineConfig, out: Path) -> None:
    from darkcontrol import __version__
    from darkcontrol.neuro.fitrun import FitRun, save_traces, write_fits, write_tsv
    from darkcontrol.neuro.report import study_report

    out.mkdir(parents=True, exist_ok=True)
    files = result.files
    fits = result.fits
    run = FitRun(fits.model, result.behaviors, fits.fits, fits.hierarchical)
    cfg = asdict(config)
    files.update(write_fits(run, out, cfg))
    save_traces(result.traces, out, cfg, files, tsv=False)
    table = run.table()
    if result.comparison is not None:
        files["comparison"] = str(write_tsv(result.comparison, out / "model_comparison.tsv"))
    roi = pd.concat(
        [
            t.assign(participant=b.participant)
            for t, b in zip(result.study.roi_tables, result.behaviors)
        ]
    )
    files["roi"] = str(write_tsv(roi, out / "roi_effects.tsv"))
    notes = [
        f"Model {config.model!r} fitted to {len(result.behaviors)} participants "
        f"({'hierarchical EM' if config.hierarchical else config.method.upper()}); the fitted "
        f"agent replayed over each participant's history gives the parametric modulators "
        f"{list(config.quantities)} (Trace columns) at the trial onsets."
    ]
    comp = result.comparison if result.comparison is not None else _fit_summary(table)
    result.report = study_report(
        result.study,
        out / "report.html",
        title=f"model-based fMRI: {config.model}",
        run_config=cfg,
        model_comparison=comp,
        notes=notes,
    )
    files["report"] = str(result.report)
    meta = {"darkcontrol_version": __version__, "config": cfg, "files": files}
    if result.fits.hierarchical is not None:
        meta["hierarchical"] = result.fits.hierarchical.summary()
    atomic_write_text(out / "config.json", json.dumps(meta, indent=2, default=str))


def _fit_summary(table: pd.DataFrame) -> pd.DataFrame:
    return table.describe().T[["mean", "std", "min", "max"]].reset_index(names="column")
