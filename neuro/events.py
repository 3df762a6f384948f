"""Trace -> BIDS-style events (``onset, duration, trial_type, modulation``), validated.

nilearn's ``make_first_level_design_matrix`` turns events into regressors: each ``trial_type``
becomes one column, the sum over its events of ``modulation x boxcar(onset, duration)``
convolved with the HRF. Its quiet habits are the reason for this module (nilearn 0.14.1):

- rows sharing ``trial_type, onset, duration`` are *summed* (only a warning);
- a NaN ``modulation`` silently becomes 0; a ``duration`` of ``n/a`` (legal BIDS) raises;
- columns other than the four are dropped; a missing ``trial_type`` becomes ``"dummy"``;
- it neither mean-centres nor orthogonalises parametric modulators;
- ``trial_type`` names with hyphens break expression contrasts (``"a-b"`` parses as a minus).

Every check below raises ``ValueError`` naming the offending rows, unless the caller picks an
explicit policy (drop, sum, mean, sanitise); whatever a policy did is written into
``events.attrs["darkcontrol"]`` (the JSON sidecar of :func:`write_events`).

Parametric modulation (Buechel, Holmes, Rees & Friston 1998, NeuroImage 8:140-148): a quantity
x_i attached to event i gives the regressor sum_i (x_i - mean(x)) box_i * h. Mean-centring makes
it (nearly) orthogonal to the unmodulated onset regressor sum_i box_i * h, so the onset beta is
the average response and the modulator beta the change per unit of x. Serial orthogonalisation
(as in SPM; Mumford, Poline & Poldrack 2015, PLoS ONE 10:e0126255 on when it misleads) replaces
modulator k by its residual after regressing it, at the event level, on modulators 1..k-1:
the shared variance is credited to the earlier ones.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol.regions import PHASE_SETS, NodeSignal, RegionMap
from darkcontrol.trace import FLOAT_COLUMNS

EVENT_COLUMNS = ("onset", "duration", "trial_type", "modulation")
NAN_POLICIES = ("error", "drop")
COLLISION_POLICIES = ("error", "sum", "mean")
NAME_POLICIES = ("error", "sanitize")
LABELS = ("node", "quantity")
EXTRA_POLICIES = ("error", "drop")
ONSET_NAMES = {"online": "trial", "offline": "offline"}  # unmodulated onset regressors per phase
# names nilearn gives to drift and constant columns: a trial_type must not shadow them
RESERVED_NAMES = ("constant",)
_RESERVED_PATTERNS = (r"drift_\d+", r"cosine\d+")
ATTRS_KEY = "darkcontrol"


def _check_choice(name: str, value: Any, allowed: Sequence) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")


@dataclass
class EventsConfig:
    """How a Trace becomes events; every field lands in the sidecar."""

    # Trace columns (rpe, q, ...) or RegionMap nodes (rTPJ, HPC, ...): one modulator each
    quantities: tuple[str, ...] = ("rpe",)
    # Trace phases whose rows become events ("online", "offline": the DMN's dark processing)
    phases: tuple[str, ...] = ("online",)
    # add one unmodulated onset regressor per phase ("trial" online, "offline" offline)
    onsets: bool = True
    # one modulator per (quantity, phase), named "<quantity>_<phase>", instead of per quantity
    split_phases: bool = False
    # seconds an online step's event lasts (the runner's trial_duration); must be > 0
    online_duration: float = 1.0
    # seconds an offline step's event lasts; must be > 0 (zero durations scale with oversampling)
    offline_duration: float = 0.5
    # subtract each modulator's mean over its events (per run), Buechel et al. 1998
    center: bool = True
    # serial orthogonalisation of modulators in `quantities` order (needs center=True)
    orthogonalize: bool = False
    # rows whose modulation is NaN: "error" (name them) or "drop" (reported in the sidecar)
    nan: str = "error"
    # rows sharing trial_type/onset/duration (nilearn would sum them): "error" | "sum" | "mean"
    collisions: str = "error"
    # trial_type names that are not Python identifiers: "error" | "sanitize" (mapping reported)
    names: str = "error"
    # how a RegionMap node's regressor is named: "node" (vmPFC, rTPJ, ...) or "quantity", the
    # Trace quantity it carries (q, abs_rpe, reward, n_offline, ...; see quantity_name), so an
    # effect found elsewhere in the brain is not read as a finding about that node; the node
    # stays in the sidecar ("node")
    label: str = "node"

    def __post_init__(self) -> None:
        if isinstance(self.quantities, str):
            self.quantities = tuple(q.strip() for q in self.quantities.split(",") if q.strip())
        if isinstance(self.phases, str):
            self.phases = (self.phases,)
        self.quantities, self.phases = tuple(self.quantities), tuple(self.phases)
        if not self.quantities and not self.onsets:
            raise ValueError("nothing to model: give quantities or set onsets=True")
        dupes = sorted({q for q in self.quantities if self.quantities.count(q) > 1})
        if dupes:
            raise ValueError(f"quantities must be distinct, repeated: {dupes}")
        bad = set(self.phases) - set(PHASE_SETS)
        if bad or not self.phases:
            raise ValueError(
                f"phases must be a non-empty subset of {PHASE_SETS}, got {self.phases}"
            )
        for name in ("online_duration", "offline_duration"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value <= 0:
                raise ValueError(
                    f"{name} must be a finite number of seconds > 0, got {value!r} (zero-"
                    "duration events give betas whose scale depends on nilearn's oversampling)"
                )
        _check_choice("nan", self.nan, NAN_POLICIES)
        _check_choice("collisions", self.collisions, COLLISION_POLICIES)
        _check_choice("names", self.names, NAME_POLICIES)
        _check_choice("label", self.label, LABELS)
        if self.orthogonalize and not self.center:
            raise ValueError("orthogonalize=True needs center=True (SPM's serial scheme)")


# -- validation --------------------------------------------------------------------------------
def _rows(index: Sequence, limit: int = 10) -> str:
    idx = list(index)
    shown = ", ".join(str(i) for i in idx[:limit])
    return f"[{shown}{', ...' if len(idx) > limit else ''}] ({len(idx)} row(s))"


def is_valid_name(name: str) -> bool:
    """A trial_type usable in nilearn expression contrasts and not shadowing drift columns."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return False
    if name in RESERVED_NAMES:
        return False
    return not any(re.fullmatch(p, name) for p in _RESERVED_PATTERNS)


def sanitize_name(name: str) -> str:
    """Replace every non-identifier character by ``_``; prefix ``tt_`` where needed."""
    out = re.sub(r"\W", "_", str(name).strip())
    if not out or out[0].isdigit() or not is_valid_name(out):
        out = "tt_" + out
    return out


def validate_events(
    events: pd.DataFrame,
    *,
    nan: str = "error",
    collisions: str = "error",
    names: str = "error",
    extra: str = "error",
    label: str = "events",
) -> pd.DataFrame:
    """Check BIDS-style events before nilearn sees them; return a clean copy.

    Raises ``ValueError`` naming the rows (the frame's index) for: missing ``onset``/
    ``duration``/``trial_type``; non-numeric or NaN onsets; NaN (``n/a``) or negative durations;
    NaN modulations (unless ``nan="drop"``); rows sharing ``trial_type, onset, duration``
    (unless ``collisions="sum"|"mean"``); non-identifier ``trial_type`` names (unless
    ``names="sanitize"``); extra columns (unless ``extra="drop"``). A missing ``modulation``
    column means 1 for every row. What a policy did is recorded in
    ``out.attrs["darkcontrol"]["validation"]``.
    """
    _check_choice("nan", nan, NAN_POLICIES)
    _check_choice("collisions", collisions, COLLISION_POLICIES)
    _check_choice("names", names, NAME_POLICIES)
    _check_choice("extra", extra, EXTRA_POLICIES)
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"{label} must be a pandas DataFrame, got {type(events).__name__}")
    report: dict[str, Any] = {"n_rows_in": len(events)}
    missing = [c for c in ("onset", "duration", "trial_type") if c not in events.columns]
    if missing:
        raise ValueError(
            f"{label} lacks column(s) {missing}; BIDS events need onset, duration, trial_type "
            f"(nilearn would invent trial_type 'dummy'); columns present: {list(events.columns)}"
        )
    unexpected = [c for c in events.columns if c not in EVENT_COLUMNS]
    if unexpected and extra == "error":
        raise ValueError(
            f"{label} has column(s) {unexpected} that nilearn would silently ignore; select "
            "one as 'modulation' (read_events(modulation=...)) or pass extra='drop'"
        )
    out = events[[c for c in EVENT_COLUMNS if c in events.columns]].copy()
    if unexpected:
        report["dropped_columns"] = unexpected
    if "modulation" not in out:
        out["modulation"] = 1.0
    for col in ("onset", "duration", "modulation"):
        numeric = pd.to_numeric(out[col], errors="coerce")
        bad = out.index[numeric.isna() & out[col].notna()]
        if len(bad):
            raise ValueError(f"{label}: non-numeric {col} at rows {_rows(bad)}")
        out[col] = numeric.astype(np.float64)
    bad = out.index[~np.isfinite(out["onset"])]
    if len(bad):
        raise ValueError(f"{label}: onset is NaN/inf at rows {_rows(bad)}")
    bad = out.index[out["duration"].isna()]
    if len(bad):
        raise ValueError(
            f"{label}: duration is n/a at rows {_rows(bad)}; nilearn cannot place such events: "
            "give each event a duration in seconds"
        )
    bad = out.index[(out["duration"] < 0) | ~np.isfinite(out["duration"])]
    if len(bad):
        raise ValueError(f"{label}: duration must be finite and >= 0, bad at rows {_rows(bad)}")
    bad = out.index[out["trial_type"].isna()]
    if len(bad):
        raise ValueError(f"{label}: trial_type is missing at rows {_rows(bad)}")
    out["trial_type"] = out["trial_type"].astype(str)
    bad = out.index[np.isinf(out["modulation"])]
    if len(bad):
        raise ValueError(f"{label}: modulation is infinite at rows {_rows(bad)}")
    nan_mask = out["modulation"].isna().to_numpy()
    bad = out.index[nan_mask]
    if len(bad):
        if nan == "error":
            types = sorted(out["trial_type"][nan_mask].unique())
            raise ValueError(
                f"{label}: modulation is NaN at rows {_rows(bad)} (trial_type {types}); nilearn "
                "would silently use 0. Fix the values or pass nan='drop'"
            )
        report["dropped_nan_rows"] = [_jsonable(i) for i in bad]
        out = out[~nan_mask]  # a mask, not labels: Trace events share index labels
    # names
    mapping = {}
    for name in out["trial_type"].unique():
        if not is_valid_name(name):
            if names == "error":
                rows = out.index[out["trial_type"] == name]
                raise ValueError(
                    f"{label}: trial_type {name!r} (rows {_rows(rows)}) is not an identifier "
                    "(hyphens/spaces break nilearn contrast expressions; 'constant', 'drift_k', "
                    f"'cosineK' shadow nilearn's columns); rename it, e.g. {sanitize_name(name)!r}"
                    ", or pass names='sanitize'"
                )
            mapping[name] = sanitize_name(name)
    if mapping:
        clash = set(mapping.values()) & (set(out["trial_type"]) - set(mapping))
        if clash or len(set(mapping.values())) < len(mapping):
            raise ValueError(
                f"{label}: sanitised names {mapping} collide with each other or {clash}"
            )
        out["trial_type"] = out["trial_type"].replace(mapping)
        report["renamed"] = mapping
    # collisions
    key = ["trial_type", "onset", "duration"]
    dup = out.duplicated(key, keep=False)
    if dup.any():
        if collisions == "error":
            first = out[dup].iloc[0]
            raise ValueError(
                f"{label}: rows {_rows(out.index[dup])} share trial_type/onset/duration with "
                f"another row (first: {first['trial_type']!r} at {first['onset']} s); nilearn "
                "would silently SUM their modulations. Separate them in time or pass "
                "collisions='sum' or 'mean'"
            )
        n_before = len(out)
        out = (
            out.groupby(key, sort=False, as_index=False)
            .agg(modulation=("modulation", collisions))
            .loc[:, list(EVENT_COLUMNS)]
        )
        report["merged"] = {"policy": collisions, "rows_removed": n_before - len(out)}
    out = out.sort_values(["onset", "trial_type"], kind="stable").reset_index(drop=True)
    report["n_rows_out"] = len(out)
    report["policies"] = {"nan": nan, "collisions": collisions, "names": names, "extra": extra}
    meta = dict(events.attrs.get(ATTRS_KEY, {}))
    meta["validation"] = report
    out.attrs[ATTRS_KEY] = meta
    return out


def _jsonable(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


# -- Trace -> events ------------------------------------------------------------------------------
@dataclass
class _Source:
    name: str
    column: str
    transform: str
    phases: tuple[str, ...]
    description: str = ""
    extra: dict = field(default_factory=dict)


def quantity_name(sig: NodeSignal) -> str:
    """The regressor name of a node's quantity: ``q``, ``abs_rpe``, ``rpe_squared``, and
    ``n_offline`` for a count of (offline) steps."""
    if sig.transform == "count":
        return "n_" + "_".join(sig.phases)
    if sig.transform == "abs":
        return f"abs_{sig.column}"
    if sig.transform == "square":
        return f"{sig.column}_squared"
    return sig.column


def _resolve(
    quantity: str, trace: pd.DataFrame, region_map: RegionMap | None, label: str = "node"
) -> _Source:
    if region_map is not None and quantity in region_map.nodes:
        sig: NodeSignal = region_map[quantity]
        what = "count of steps" if sig.transform == "count" else f"{sig.transform}({sig.column})"
        name = quantity_name(sig) if label == "quantity" else quantity
        return _Source(
            name,
            sig.column,
            sig.transform,
            tuple(sig.phases),
            f"node {quantity}: {what}",
            {"node": quantity},
        )
    if quantity in trace.columns and quantity not in ("phase", "source", "time"):
        if not pd.api.types.is_numeric_dtype(trace[quantity]) or pd.api.types.is_bool_dtype(
            trace[quantity]
        ):
            raise ValueError(f"Trace column {quantity!r} is not numeric; cannot modulate")
        return _Source(quantity, quantity, "identity", PHASE_SETS, f"Trace column {quantity}")
    nodes = region_map.nodes if region_map is not None else []
    numeric = [c for c in FLOAT_COLUMNS if c in trace.columns]
    raise ValueError(
        f"unknown quantity {quantity!r}: not a RegionMap node {nodes} nor a numeric Trace "
        f"column {numeric}"
    )


def _values(src: _Source, rows: pd.DataFrame) -> np.ndarray:
    """The quantity at each row, NaN kept (RegionMap.values would drop them silently)."""
    if src.transform == "count":
        if "n_steps" in rows:
            return rows["n_steps"].astype("float64").fillna(1.0).to_numpy(np.float64)
        return np.ones(len(rows))
    v = rows[src.column].astype("float64").to_numpy(np.float64, na_value=np.nan)
    if src.transform == "abs":
        v = np.abs(v)
    elif src.transform == "square":
        v = v**2
    return v


def trace_to_events(
    trace: pd.DataFrame,
    config: EventsConfig | None = None,
    *,
    region_map: RegionMap | None = None,
    run: int | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """BIDS-style events for one run of a Trace (``config`` or its fields as keywords).

    One row per (Trace row, regressor): unmodulated onsets (``trial`` for online steps,
    ``offline`` for offline ones) with modulation 1, and one ``trial_type`` per quantity whose
    ``modulation`` is that quantity at the step (after the NaN, collision, centring and
    orthogonalisation steps of ``config``). A quantity is a RegionMap node (with its transform
    and phases, e.g. ``rTPJ`` = \\|rpe\\|) or a numeric Trace column. ``onset`` is the Trace's
    ``time`` (experiment clock, s). The sidecar is in ``events.attrs["darkcontrol"]``.
    """
    if config is None:
        config = EventsConfig(**kwargs)
    elif kwargs:
        raise TypeError("pass either config or keyword fields, not both")
    if not isinstance(trace, pd.DataFrame):
        raise TypeError(f"trace must be a pandas DataFrame, got {type(trace).__name__}")
    for col in ("run", "time", "phase"):
        if col not in trace.columns:
            raise ValueError(f"trace lacks column {col!r}")
    runs = sorted(int(r) for r in pd.unique(trace["run"].dropna()))
    if run is None:
        if len(runs) > 1:
            raise ValueError(f"the Trace has {len(runs)} runs {runs}; pass run= (or events_by_run)")
        run = runs[0] if runs else 0
    elif run not in runs:
        raise ValueError(f"run {run} not in the Trace (runs {runs})")
    sub = trace[trace["run"] == run]
    times = sub["time"].to_numpy(np.float64)
    if not np.isfinite(times).all():
        raise ValueError(
            f"Trace time is not finite at rows {_rows(sub.index[~np.isfinite(times)])}"
        )
    durations = {"online": config.online_duration, "offline": config.offline_duration}
    sources = [_resolve(q, trace, region_map, config.label) for q in config.quantities]
    same = sorted({s.name for s in sources if [t.name for t in sources].count(s.name) > 1})
    if same:
        raise ValueError(
            f"quantities {list(config.quantities)} give the regressor(s) {same} twice (a node "
            "and the Trace column it carries?); list each quantity once"
        )
    frames, sidecar = [], {}
    if config.onsets:
        for phase in config.phases:
            rows = sub[sub["phase"] == phase]
            name = ONSET_NAMES[phase]
            frames.append(_frame(rows, name, np.ones(len(rows)), durations[phase]))
            sidecar[name] = {"kind": "onset", "phases": [phase], "n_events": len(rows)}
    for src in sources:
        phases = [p for p in config.phases if p in src.phases]
        if not phases:
            raise ValueError(
                f"quantity {src.name!r} is defined on phases {src.phases}, none of the selected "
                f"phases {config.phases}"
            )
        groups = (
            [(f"{src.name}_{p}", [p]) for p in phases]
            if config.split_phases
            else [(src.name, phases)]
        )
        for name, group in groups:
            parts = []
            for phase in group:
                rows = sub[sub["phase"] == phase]
                parts.append(_frame(rows, name, _values(src, rows), durations[phase]))
            frames.append(pd.concat(parts))
            sidecar[name] = {
                "kind": "modulator",
                "source": src.description,
                "phases": group,
                **src.extra,
            }
    events = pd.concat(frames) if frames else pd.DataFrame(columns=list(EVENT_COLUMNS))
    label = f"events of run {run}"
    # NaN quantities: name the Trace rows (index) before anything else
    nan_mask = events["modulation"].isna().to_numpy()
    nan_rows = events.index[nan_mask]
    if len(nan_rows) and config.nan == "error":
        types = sorted(events["trial_type"][nan_mask].unique())
        raise ValueError(
            f"{label}: {types} are NaN at Trace rows {_rows(nan_rows)} (an agent fills a "
            "quantity it cannot compute with NaN); choose other quantities/phases or nan='drop'"
        )
    events = validate_events(
        events, nan=config.nan, collisions=config.collisions, names=config.names, label=label
    )
    report = events.attrs[ATTRS_KEY]["validation"]
    renamed = report.get("renamed", {})
    sidecar = {renamed.get(k, k): v for k, v in sidecar.items()}
    for name, info in sidecar.items():
        info["n_events"] = int((events["trial_type"] == name).sum())
        info["duration"] = sorted({durations[p] for p in info["phases"]})
    modulators = [n for n, i in sidecar.items() if i["kind"] == "modulator"]
    if config.center:
        for name in modulators:
            sel = events["trial_type"] == name
            mean = float(events.loc[sel, "modulation"].mean())
            events.loc[sel, "modulation"] -= mean
            sidecar[name]["mean_removed"] = mean
    if config.orthogonalize:
        _orthogonalize(events, modulators, sidecar)
    for name in modulators:
        mod = events.loc[events["trial_type"] == name, "modulation"].to_numpy()
        if len(mod) and config.center and np.allclose(mod, 0.0, atol=1e-12):
            raise ValueError(
                f"{label}: modulator {name!r} is constant over its {len(mod)} events, so after "
                "centring it is all zeros (its information is in the onset regressor); drop it "
                "or set center=False and onsets=False"
            )
    events.attrs[ATTRS_KEY] = {
        "run": _jsonable(run),
        "config": asdict(config),
        "regressors": sidecar,
        "validation": report,
    }
    return events


def _frame(rows: pd.DataFrame, name: str, values: np.ndarray, duration: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "onset": rows["time"].to_numpy(np.float64),
            "duration": np.full(len(rows), float(duration)),
            "trial_type": name,
            "modulation": values,
        },
        index=rows.index,
    )


def _orthogonalize(events: pd.DataFrame, modulators: list[str], sidecar: dict) -> None:
    """Serial Gram-Schmidt at the event level, in order, within each condition (as in SPM):
    a modulator is orthogonalised against the earlier modulators defined on the same phases,
    hence the same events (modulators are already centred)."""
    done: dict[tuple, list[str]] = {}
    for name in modulators:
        group = tuple(sidecar[name]["phases"])
        sel = (events["trial_type"] == name).to_numpy()
        keys = list(zip(events.loc[sel, "onset"], events.loc[sel, "duration"]))
        y = events.loc[sel, "modulation"].to_numpy(np.float64)
        against = []
        for prev in done.get(group, []):
            psel = (events["trial_type"] == prev).to_numpy()
            pkeys = list(zip(events.loc[psel, "onset"], events.loc[psel, "duration"]))
            if sorted(pkeys) != sorted(keys):
                raise ValueError(
                    f"cannot orthogonalise {name!r} against {prev!r}: they are not defined on "
                    f"the same events ({len(keys)} vs {len(pkeys)}; a NaN drop or a merge "
                    "removed some)"
                )
            x = pd.Series(
                events.loc[psel, "modulation"].to_numpy(), index=pd.MultiIndex.from_tuples(pkeys)
            )
            against.append(x.loc[keys].to_numpy(np.float64))
        if against:
            X = np.column_stack(against)
            coef, *_ = np.linalg.lstsq(X, y, rcond=None)
            events.loc[sel, "modulation"] = y - X @ coef
            sidecar[name]["orthogonalized_against"] = list(done[group])
        else:
            sidecar[name]["orthogonalized_against"] = []
        done.setdefault(group, []).append(name)


def events_by_run(
    trace: pd.DataFrame,
    config: EventsConfig | None = None,
    *,
    region_map: RegionMap | None = None,
    **kwargs: Any,
) -> dict[int, pd.DataFrame]:
    """:func:`trace_to_events` for every run of the Trace (run -> events)."""
    if config is None:
        config = EventsConfig(**kwargs)
    return {
        int(r): trace_to_events(trace, config, region_map=region_map, run=r)
        for r in sorted(pd.unique(trace["run"]))
    }


# -- BIDS files ----------------------------------------------------------------------------------
def read_tsv(path: str | os.PathLike, what: str = "file") -> pd.DataFrame:
    """A BIDS-style TSV (``n/a`` = missing) read with every failure naming the file: missing,
    a folder, empty (0 bytes), not UTF-8 text, or with a header and no rows."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {path}")
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a .tsv file")
    if path.stat().st_size == 0:
        raise ValueError(f"{what} {path} is empty (0 bytes); expected a TSV with a header row")
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise ValueError(f"{what} {path} is a binary file, not a tab-separated text file")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{what} {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 TSV"
        ) from None
    try:
        df = pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise ValueError(f"{what} {path} is not a valid TSV: {exc}") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{what} {path} holds no header row") from None
    if len(df) == 0:
        raise ValueError(f"{what} {path} has a header ({list(df.columns)}) but no rows")
    if len(df.columns) == 1 and ("," in str(df.columns[0]) or ";" in str(df.columns[0])):
        raise ValueError(
            f"{what} {path} has one column {str(df.columns[0])!r}: it looks comma- or "
            "semicolon-separated; BIDS files are tab-separated"
        )
    return df


def read_events(
    path: str | os.PathLike,
    *,
    modulation: str | None = None,
    extra: str = "drop",
    nan: str = "error",
    collisions: str = "error",
    names: str = "error",
) -> pd.DataFrame:
    """Read a BIDS ``events.tsv`` (``n/a`` = missing) and validate it like Trace events.

    ``modulation`` names the column to use as parametric modulation (default: a column called
    ``modulation`` if present, else 1). Other columns are dropped with ``extra="drop"``
    (listed in ``attrs["darkcontrol"]["validation"]["dropped_columns"]`` and warned about) or
    rejected with ``extra="error"``. Errors name the row as ``row i (line i+2 of the file)``.
    """
    path = Path(path)
    df = read_tsv(path, "events file")
    if modulation is not None:
        if modulation not in df.columns:
            raise ValueError(f"{path}: no column {modulation!r} to use as modulation")
        if "modulation" in df.columns and modulation != "modulation":
            df = df.drop(columns=["modulation"])
        df = df.rename(columns={modulation: "modulation"})
    df.index = [f"{i} (line {i + 2} of {path.name})" for i in range(len(df))]
    out = validate_events(
        df, nan=nan, collisions=collisions, names=names, extra=extra, label=str(path)
    )
    dropped = out.attrs[ATTRS_KEY]["validation"].get("dropped_columns")
    if dropped:
        warnings.warn(f"{path}: columns {dropped} are not used (extra='drop')", stacklevel=2)
    out.attrs[ATTRS_KEY]["source"] = str(path)
    return out


def write_events(
    events: pd.DataFrame, path: str | os.PathLike, extra: Mapping[str, Any] | None = None
) -> tuple[Path, Path]:
    """Write ``events.tsv`` (BIDS, ``n/a`` for missing) and its JSON sidecar, atomically."""
    from darkcontrol import __version__
    from darkcontrol._util import atomic_write_text

    path = Path(path)
    tsv = events[list(EVENT_COLUMNS)].to_csv(
        sep="\t", index=False, na_rep="n/a", float_format="%.6g"
    )
    meta = {"darkcontrol_version": __version__, **events.attrs.get(ATTRS_KEY, {}), **(extra or {})}
    sidecar = path.with_name(path.name.removesuffix(".tsv") + ".json")
    atomic_write_text(path, tsv)
    atomic_write_text(sidecar, json.dumps(meta, indent=2, default=str))
    return path, sidecar
