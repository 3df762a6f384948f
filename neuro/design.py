"""First-level design matrices through nilearn, with the checks nilearn leaves out.

A design matrix X (n_scans x p) holds, for each ``trial_type`` of the events,

    x(t) = sum_i m_i [box(onset_i, duration_i) * h](t),

sampled at the frame times t_k = (k + slice_time_ref) TR, k = 0..n_scans-1 (nilearn's
convention: ``slice_time_ref`` is the fraction of the TR at which the slice the model refers to
was acquired, 0 = start of the volume, 0.5 = middle slice for interleaved acquisitions after
slice-timing correction to the middle slice); then confounds and drift columns and a constant.
h is one of nilearn's HRFs: ``spm`` (Friston et al. 1998, NeuroImage 7:30-40) and ``glover``
(Glover 1999, NeuroImage 9:416-429), with their time and dispersion derivatives; ``fir`` (one
column per delay in ``fir_delays`` scans); ``None`` (no convolution). Drifts: a discrete cosine
basis up to ``high_pass`` Hz (SPM's high-pass filter) or polynomials of ``drift_order``.

Checks added here: events validated (:mod:`darkcontrol.neuro.events`); events outside the scan;
event durations shorter than one oversampled bin (TR/oversampling) whose area, hence the beta's
scale, depends on ``oversampling``, with an explicit ``zero_duration="unit_impulse"`` policy that
gives each zero-duration event unit area; rank-deficient designs (nilearn silently regularises
them); NaN confounds (error naming the column and row, or the fMRIPrep first-row fill).
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol.neuro.events import ATTRS_KEY, validate_events

HRF_MODELS = (
    "spm",
    "spm + derivative",
    "spm + derivative + dispersion",
    "glover",
    "glover + derivative",
    "glover + derivative + dispersion",
    "fir",
    None,
)
DRIFT_MODELS = ("cosine", "polynomial", None)
ZERO_DURATION_POLICIES = ("error", "unit_impulse")

# fMRIPrep confounds.tsv column sets (Satterthwaite et al. 2013, NeuroImage 64:240-256 for 24P)
_MOTION = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
CONFOUND_STRATEGIES: dict[str, tuple[str, ...]] = {
    "motion6": _MOTION,
    "motion12": _MOTION + tuple(f"{c}_derivative1" for c in _MOTION),
    "motion24": _MOTION
    + tuple(f"{c}_derivative1" for c in _MOTION)
    + tuple(f"{c}_power2" for c in _MOTION)
    + tuple(f"{c}_derivative1_power2" for c in _MOTION),
    "wm_csf": ("white_matter", "csf"),
    "global_signal": ("global_signal",),
}
CONFOUND_NAN_POLICIES = ("error", "fill_first_row")


@dataclass
class DesignConfig:
    """Sampling and modelling choices of a first-level design matrix."""

    t_r: float  # repetition time in seconds (the real one: nilearn defaults elsewhere to 2.5)
    n_scans: int  # number of volumes of the run
    hrf_model: str | None = "spm"  # one of HRF_MODELS
    fir_delays: tuple[int, ...] | None = None  # delays in scans, required by hrf_model="fir"
    drift_model: str | None = "cosine"  # "cosine" | "polynomial" | None
    high_pass: float = 0.01  # Hz, cut-off of the cosine drift basis
    drift_order: int = 1  # order of the polynomial drift
    slice_time_ref: float = 0.0  # in [0, 1): frame time of scan k is (k + ref) * t_r
    oversampling: int = 50  # high-resolution bins per TR used for convolution
    min_onset: float = -24.0  # s, earliest onset nilearn still models
    zero_duration: str = "error"  # events of duration 0: "error" | "unit_impulse" (area = m)

    def __post_init__(self) -> None:
        if not np.isfinite(self.t_r) or float(self.t_r) <= 0:
            raise ValueError(f"t_r must be a positive number of seconds, got {self.t_r!r}")
        if int(self.n_scans) != self.n_scans or self.n_scans < 2:
            raise ValueError(f"n_scans must be an integer >= 2, got {self.n_scans!r}")
        self.t_r, self.n_scans = float(self.t_r), int(self.n_scans)
        if self.hrf_model not in HRF_MODELS:
            raise ValueError(f"hrf_model must be one of {HRF_MODELS}, got {self.hrf_model!r}")
        if self.hrf_model == "fir":
            if not self.fir_delays:
                raise ValueError("hrf_model='fir' needs fir_delays (delays in scans, e.g. 0..5)")
            self.fir_delays = tuple(int(d) for d in self.fir_delays)
            if min(self.fir_delays) < 0:
                raise ValueError(f"fir_delays must be >= 0, got {self.fir_delays}")
        elif self.fir_delays is not None:
            raise ValueError(f"fir_delays only applies to hrf_model='fir', not {self.hrf_model!r}")
        if self.drift_model not in DRIFT_MODELS:
            raise ValueError(f"drift_model must be one of {DRIFT_MODELS}, got {self.drift_model!r}")
        if self.drift_model == "cosine" and not (0 < self.high_pass < 0.5 / self.t_r):
            raise ValueError(
                f"high_pass must be in (0, Nyquist = {0.5 / self.t_r:.3g}) Hz, got {self.high_pass}"
            )
        if int(self.drift_order) != self.drift_order or self.drift_order < 0:
            raise ValueError(f"drift_order must be an integer >= 0, got {self.drift_order!r}")
        if not 0.0 <= self.slice_time_ref < 1.0:
            raise ValueError(f"slice_time_ref must be in [0, 1), got {self.slice_time_ref}")
        if int(self.oversampling) != self.oversampling or self.oversampling < 1:
            raise ValueError(f"oversampling must be an integer >= 1, got {self.oversampling!r}")
        if self.zero_duration not in ZERO_DURATION_POLICIES:
            raise ValueError(
                f"zero_duration must be one of {ZERO_DURATION_POLICIES}, got {self.zero_duration!r}"
            )

    @property
    def duration(self) -> float:
        """Seconds covered by the run: n_scans * t_r."""
        return self.n_scans * self.t_r


def frame_times(t_r: float, n_scans: int, slice_time_ref: float = 0.0) -> np.ndarray:
    """Acquisition times (s) of the scans: (k + slice_time_ref) t_r, as FirstLevelModel uses."""
    return (np.arange(int(n_scans)) + float(slice_time_ref)) * float(t_r)


def _prepare_events(events: pd.DataFrame, config: DesignConfig) -> tuple[pd.DataFrame, dict]:
    ev = validate_events(events, label="events")
    notes: dict[str, Any] = {}
    end = config.duration
    late = ev.index[ev["onset"] >= end]
    if len(late):
        raise ValueError(
            f"events start at or after the end of the scan ({config.n_scans} scans x "
            f"{config.t_r} s = {end} s): rows {list(late[:10])} (onsets "
            f"{ev.loc[late[:5], 'onset'].tolist()}); wrong TR, n_scans or run?"
        )
    early = ev.index[ev["onset"] < config.min_onset]
    if len(early):
        raise ValueError(f"onsets before min_onset={config.min_onset} s at rows {list(early)}")
    bin_s = config.t_r / config.oversampling
    zero = ev["duration"] == 0
    if zero.any():
        if config.zero_duration == "error":
            types = sorted(ev.loc[zero, "trial_type"].unique())
            raise ValueError(
                f"{int(zero.sum())} events of {types} have duration 0: nilearn gives them one "
                f"oversampled bin ({bin_s:.3g} s), so their betas scale with oversampling. Give "
                "durations in seconds or pass zero_duration='unit_impulse'"
            )
        # one bin of height m * oversampling / t_r has area m seconds: the beta no longer
        # depends on oversampling (the response to a unit impulse of 1 s area)
        ev.loc[zero, "modulation"] *= config.oversampling / config.t_r
        notes["zero_duration"] = {
            "policy": "unit_impulse",
            "n_events": int(zero.sum()),
            "scale": config.oversampling / config.t_r,
        }
    short = ev.index[(ev["duration"] > 0) & (ev["duration"] < bin_s)]
    if len(short):
        raise ValueError(
            f"events at rows {list(short[:10])} last less than one oversampled bin "
            f"(t_r/oversampling = {bin_s:.3g} s), so nilearn stretches them to a full bin; "
            "increase oversampling or the durations"
        )
    return ev, notes


def make_design(
    events: pd.DataFrame | None,
    config: DesignConfig,
    confounds: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A first-level design matrix (index: frame times) via nilearn's
    ``make_first_level_design_matrix``, after validating events and confounds.

    Raises ``ValueError`` if a task column is all zeros (its events fall outside the modelled
    window) or the matrix is rank deficient (naming the columns involved), rather than letting
    nilearn regularise it. ``design.attrs["darkcontrol"]`` records the configuration, the event
    sidecar and any policy applied.
    """
    from nilearn.glm.first_level import make_first_level_design_matrix

    if not isinstance(config, DesignConfig):
        raise TypeError(f"config must be a DesignConfig, got {type(config).__name__}")
    notes: dict[str, Any] = {}
    ev = None
    if events is not None:
        ev, notes = _prepare_events(events, config)
    if confounds is not None:
        confounds = check_confounds(confounds, config.n_scans)
        if ev is not None:
            clash = set(confounds.columns) & set(ev["trial_type"])
            if clash:
                raise ValueError(f"confound columns {sorted(clash)} have trial_type names")
    ft = frame_times(config.t_r, config.n_scans, config.slice_time_ref)
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
        # everything nilearn would warn about (duplicates, zero durations) is checked above
        warnings.filterwarnings("ignore", message=".*null duration.*")
        warnings.filterwarnings("always", message=".*singular.*")
        dm = make_first_level_design_matrix(
            ft,
            ev,
            hrf_model=config.hrf_model,
            drift_model=config.drift_model,
            high_pass=config.high_pass,
            drift_order=config.drift_order,
            fir_delays=list(config.fir_delays) if config.fir_delays else None,
            add_regs=confounds,
            min_onset=config.min_onset,
            oversampling=config.oversampling,
        )
    for w in caught:
        if "singular" in str(w.message):  # nilearn regularised a rank-deficient matrix
            check_rank(dm)
            raise ValueError(f"design matrix is singular at working precision: {w.message}")
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    task: list[str] = []
    if ev is not None:
        types = set(ev["trial_type"].unique())  # once, not per column
        task = [c for c in dm.columns if _base_name(c) in types]
        dead = [c for c in task if np.allclose(dm[c].to_numpy(), 0.0)]
        if dead:
            raise ValueError(f"task columns {dead} are all zeros over the scan window")
    check_rank(dm)
    dm.index.name = "frame_time"
    meta = {
        "config": asdict(config),
        "task_columns": task,
        "confound_columns": list(confounds.columns) if confounds is not None else [],
        "events": (events.attrs.get(ATTRS_KEY) if events is not None else None),
        "confounds": (confounds.attrs.get(ATTRS_KEY) if confounds is not None else None),
        **notes,
    }
    dm.attrs[ATTRS_KEY] = meta
    return dm


def add_confounds(design: pd.DataFrame, confounds: pd.DataFrame) -> pd.DataFrame:
    """``make_design(events, config, confounds)`` from the ``design`` that
    ``make_design(events, config)`` returned: the confound columns inserted after the task
    columns (nilearn's order: task, confounds, drifts, constant), checked as
    :func:`make_design` checks them, without convolving the events again."""
    meta = design.attrs.get(ATTRS_KEY)
    if meta is None or meta.get("confound_columns"):
        raise ValueError("add_confounds needs a design from make_design without confounds")
    config = DesignConfig(**meta["config"])
    confounds = check_confounds(confounds, config.n_scans)
    task = list(meta["task_columns"])
    clash = set(confounds.columns) & set(design.columns)
    if clash:
        raise ValueError(f"confound columns {sorted(clash)} have trial_type names")
    rest = [c for c in design.columns if c not in task]
    values = confounds.to_numpy(np.float64)
    parts = [design[task], pd.DataFrame(values, index=design.index, columns=confounds.columns)]
    dm = pd.concat([*parts, design[rest]], axis=1)
    check_rank(dm)
    dm.index.name = design.index.name
    dm.attrs[ATTRS_KEY] = {
        **meta,
        "confound_columns": list(confounds.columns),
        "confounds": confounds.attrs.get(ATTRS_KEY),
    }
    return dm


def _base_name(col: str) -> str:
    for suffix in ("_derivative", "_dispersion"):
        if col.endswith(suffix):
            return col[: -len(suffix)]
    if "_delay_" in col:
        return col.rsplit("_delay_", 1)[0]
    return col


def task_columns(design: pd.DataFrame) -> list[str]:
    """Columns built from events: recorded by :func:`make_design`; for a design without that
    record (e.g. read back from TSV), every column except the constant and drifts."""
    meta = design.attrs.get(ATTRS_KEY, {})
    if "task_columns" in meta:
        return [c for c in meta["task_columns"] if c in design.columns]
    return [c for c in design.columns if c != "constant" and not c.startswith(("drift_", "cosine"))]


def check_rank(design: pd.DataFrame, tol: float = 1e-6) -> None:
    """Raise ``ValueError`` naming the columns of a (numerically) rank-deficient design.

    Numerically: the smallest singular value of the column-normalised matrix is below ``tol``
    times the largest (Trace quantities are float32, so an exact collinearity such as a tabular
    agent's ``update_norm = alpha |rpe|`` shows up at ~1e-7, not at machine precision)."""
    X = design.to_numpy(np.float64)
    if not np.isfinite(X).all():
        raise ValueError("design matrix has non-finite values")
    norms = np.linalg.norm(X, axis=0)
    zero = [c for c, n in zip(design.columns, norms) if n == 0]
    if zero:
        raise ValueError(f"design columns {zero} are all zeros")
    flat = [
        c
        for c, col in zip(design.columns, X.T)
        if c != "constant" and np.ptp(col) <= 1e-12 * max(1.0, float(np.abs(col).max()))
    ]
    if flat and "constant" in design.columns:
        raise ValueError(
            f"design columns {flat} are constant: collinear with the intercept, they carry no "
            "information (a confound that never changes?); drop them"
        )
    Xn = X / norms
    s = np.linalg.svd(Xn, compute_uv=False)
    if s.min() > tol * s.max():
        return
    # find a dependent set: columns that are (near) combinations of the earlier ones
    dependent = []
    for j in range(1, X.shape[1]):
        A = Xn[:, :j]
        coef, *_ = np.linalg.lstsq(A, Xn[:, j], rcond=None)
        if np.linalg.norm(Xn[:, j] - A @ coef) < np.sqrt(tol):
            used = [design.columns[i] for i in np.flatnonzero(np.abs(coef) > 1e-6)]
            dependent.append(f"{design.columns[j]} = combination of {used}")
    raise ValueError(
        "design matrix is rank deficient (nilearn would silently regularise it): "
        + "; ".join(dependent or ["near-collinear columns"])
    )


# -- confounds --------------------------------------------------------------------------------
def _strategy_columns(strategy: str | Iterable[str]) -> list[str]:
    items = [strategy] if isinstance(strategy, str) else list(strategy)
    cols: list[str] = []
    for item in items:
        for c in CONFOUND_STRATEGIES.get(item, (item,)):
            if c not in cols:
                cols.append(c)
    return cols


def load_confounds(
    source: str | os.PathLike | pd.DataFrame,
    strategy: str | Sequence[str] = "motion6",
    *,
    nan: str = "error",
    n_scans: int | None = None,
) -> pd.DataFrame:
    """Select confound columns from an fMRIPrep ``confounds.tsv`` (or a DataFrame).

    ``strategy``: a set name from ``CONFOUND_STRATEGIES`` (motion6, motion12, motion24, wm_csf,
    global_signal), a column name, or a list mixing both. ``nan="error"`` raises naming the
    column and rows; ``nan="fill_first_row"`` fills NaN in the first row only (fMRIPrep writes
    ``n/a`` there for derivatives and framewise displacement) with the second row's value, as
    nilearn's ``load_confounds`` does, and records it; NaN anywhere else still raises.
    """
    if nan not in CONFOUND_NAN_POLICIES:
        raise ValueError(f"nan must be one of {CONFOUND_NAN_POLICIES}, got {nan!r}")
    if isinstance(source, pd.DataFrame):
        df, label = source.reset_index(drop=True), "confounds"
    else:
        from darkcontrol.neuro.events import read_tsv

        path = Path(source)
        df, label = read_tsv(path, "confounds file"), str(path)
    cols = _strategy_columns(strategy)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(
            f"{label} lacks columns {missing} needed by strategy {strategy!r}; "
            f"it has {list(df.columns)[:30]}"
        )
    out = df[cols].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    filled: dict[str, list[int]] = {}
    if nan == "fill_first_row" and len(out) > 1:
        first = out.iloc[0].isna()
        for c in out.columns[first.to_numpy()]:
            out.loc[0, c] = out.loc[1, c]
            filled[c] = [0]
    out.attrs[ATTRS_KEY] = {
        "source": label,
        "strategy": strategy if isinstance(strategy, str) else list(strategy),
        "columns": cols,
        "nan_policy": nan,
        "filled_first_row": sorted(filled),
    }
    return check_confounds(out, n_scans, label=label)


def check_confounds(
    confounds: pd.DataFrame, n_scans: int | None = None, label: str = "confounds"
) -> pd.DataFrame:
    """NaN/inf -> ``ValueError`` naming column and rows; row count must equal ``n_scans``."""
    if not isinstance(confounds, pd.DataFrame):
        raise TypeError(f"confounds must be a pandas DataFrame, got {type(confounds).__name__}")
    if n_scans is not None and len(confounds) != n_scans:
        raise ValueError(f"{label} has {len(confounds)} rows but the run has {n_scans} scans")
    values = confounds.apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        problems = []
        for j in np.flatnonzero(bad.any(axis=0)):
            rows = np.flatnonzero(bad[:, j])
            problems.append(f"column {confounds.columns[j]!r} rows {rows[:10].tolist()}")
        hint = (
            "; fMRIPrep leaves the first row of derivatives n/a: pass nan='fill_first_row' "
            "(command line: --confound-nan fill_first_row)"
            if all(np.flatnonzero(bad.any(axis=1)) == 0)
            else ""
        )
        raise ValueError(f"{label} has NaN/inf (or non-numeric) at " + "; ".join(problems) + hint)
    bad_names = [c for c in confounds.columns if not str(c).isidentifier()]
    if bad_names:
        raise ValueError(f"{label} column names {bad_names} are not identifiers")
    return confounds


# -- diagnostics and figure -------------------------------------------------------------------
def diagnostics(design: pd.DataFrame, columns: Sequence[str] | None = None) -> dict[str, Any]:
    """Collinearity of a design: correlation matrix, variance inflation factors, condition.

    VIF_j = 1 / (1 - R_j^2), R_j^2 from regressing column j on the others and a constant
    (equivalently the j-th diagonal entry of the inverse correlation matrix); VIF > 5-10 is
    the usual warning sign. ``condition_number`` is of the column-normalised matrix.
    """
    cols = [c for c in (columns or design.columns) if c != "constant"]
    X = design[cols].to_numpy(np.float64)
    var = X.std(axis=0)
    keep = var > 0
    corr = pd.DataFrame(
        np.corrcoef(X[:, keep], rowvar=False),
        index=np.array(cols)[keep],
        columns=np.array(cols)[keep],
    )
    vif = {}
    for j, c in enumerate(cols):
        if not keep[j]:
            vif[c] = np.nan
            continue
        others = np.column_stack([np.ones(len(X)), np.delete(X, j, axis=1)])
        coef, *_ = np.linalg.lstsq(others, X[:, j], rcond=None)
        resid = X[:, j] - others @ coef
        r2 = 1.0 - resid.var() / X[:, j].var()
        vif[c] = np.inf if r2 >= 1.0 - 1e-12 else 1.0 / (1.0 - r2)
    full = design.to_numpy(np.float64)
    full = full / np.linalg.norm(full, axis=0)
    s = np.linalg.svd(full, compute_uv=False)
    return {
        "corr": corr,
        "vif": pd.Series(vif, name="vif"),
        "condition_number": float(s.max() / s.min()),
    }


def plot_design(design: pd.DataFrame, path: str | os.PathLike | None = None, title: str = ""):
    """nilearn's design-matrix figure (Agg backend); saved to ``path`` if given."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from nilearn.plotting import plot_design_matrix

    n = design.shape[1]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * n + 2), 6))
    plot_design_matrix(design, axes=ax)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    if path is not None:
        from darkcontrol._util import atomic_write_bytes

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        plt.close(fig)
        return atomic_write_bytes(path, buf.getvalue())
    return fig


def write_design(design: pd.DataFrame, path: str | os.PathLike, config: Mapping | None = None):
    """Write a design matrix as TSV (frame_time index) plus a JSON sidecar, atomically."""
    import json

    from darkcontrol import __version__
    from darkcontrol._util import atomic_write_text

    path = Path(path)
    atomic_write_text(path, design.to_csv(sep="\t", float_format="%.8g"))
    meta = {"darkcontrol_version": __version__, **design.attrs.get(ATTRS_KEY, {})}
    if config:
        meta["run_config"] = dict(config)
    sidecar = path.with_name(path.stem + ".json")
    atomic_write_text(sidecar, json.dumps(meta, indent=2, default=str))
    return path, sidecar
