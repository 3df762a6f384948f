"""``darkcontrol regressors``: Trace -> BIDS events and first-level design matrices."""

from __future__ import annotations

import argparse
import math
import re

from darkcontrol.cli._args import (
    UsageError,
    add_force,
    add_quiet,
    int_at_least,
    output_folder_files,
    positive_float,
    refuse_overwrite,
    show_progress,
)

#: seconds after the last event's end that --n-scans auto keeps, so that the HRF of the last
#: events (peak ~5 s, undershoot until ~16 s in SPM's canonical HRF) lies inside the run
HRF_TAIL_S = 16.0

HELP = """Turn a Trace (Parquet, from `darkcontrol simulate`) into fMRI regressors, one run per
Trace run, named as BIDS names a participant's run (Trace run k -> sub-<k+1>, task- the
simulated environment, e.g. sub-01_task-dynamaze_run-1_events.tsv): a BIDS events.tsv
(onset, duration, trial_type, modulation) with a JSON sidecar,
the nilearn design matrix (TSV + JSON sidecar), its figure (PNG) and its collinearity
diagnostics (variance inflation factors).

Quantities are Trace columns (rpe, q, spe, update_norm, reward, policy_entropy, choice_prob)
or nodes of the paper's region map (PMC, dmPFC, vmPFC, rTPJ = |rpe|, lTPJ, HPC = offline
steps, NAcc); a node's regressor is named after its quantity (vmPFC -> q, rTPJ -> abs_rpe,
NAcc -> reward; --regressor-names node keeps the node's name). Each quantity is a parametric
modulator with its own trial_type; unmodulated
onsets are `trial` (online steps) and `offline` (offline steps). Modulators are mean-centred
by default. The Trace's `time` (seconds) is the onset; frame times are (k + slice_time_ref) TR.
--n-scans auto covers each run: ceil((last onset + its duration + 16 s HRF tail) / TR) scans.
Outputs are refused if they exist (--force replaces them).

examples:
  darkcontrol regressors trace.parquet --tr 2 --n-scans auto --quantities rpe,q
  darkcontrol regressors trace.parquet --tr 2 --n-scans 200 --quantities rpe,q
  darkcontrol regressors trace.parquet --tr 2 --n-scans 200 --quantities rTPJ,vmPFC,HPC \\
      --phases online,offline --hrf "spm + derivative" --out regressors/
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "regressors",
        help="Trace -> BIDS events + design matrices (nilearn)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("trace", help="Trace Parquet file")
    p.add_argument("--tr", type=positive_float, required=True, help="repetition time in seconds")
    p.add_argument(
        "--n-scans",
        required=True,
        type=_n_scans,
        help="volumes per run (>= 2), or 'auto': enough scans to cover each run of the Trace",
    )
    p.add_argument("--quantities", default="rpe", help="comma-separated (default: rpe)")
    p.add_argument("--phases", default="online", help="online,offline (default: online)")
    p.add_argument(
        "--run",
        dest="runs",
        type=int_at_least(0),
        action="append",
        help="Trace run(s) to use (default all)",
    )
    p.add_argument(
        "--hrf",
        default="spm",
        help="spm | spm + derivative | spm + derivative + dispersion | glover (+ ...) | fir | "
        "none (default spm)",
    )
    p.add_argument("--fir-delays", default=None, help="FIR delays in scans, e.g. 0,1,2,3")
    p.add_argument("--drift", default="cosine", help="cosine | polynomial | none")
    p.add_argument("--high-pass", type=float, default=0.01, help="Hz (cosine drift)")
    p.add_argument("--drift-order", type=int, default=1, help="polynomial drift order")
    p.add_argument(
        "--slice-time-ref", type=float, default=0.0, help="fraction of TR of the reference slice"
    )
    p.add_argument(
        "--oversampling", type=int_at_least(1), default=50, help="HRF bins per TR (default 50)"
    )
    p.add_argument("--online-duration", type=positive_float, default=1.0, help="s per online event")
    p.add_argument(
        "--offline-duration", type=positive_float, default=0.5, help="s per offline event"
    )
    p.add_argument("--split-phases", action="store_true", help="one modulator per phase")
    p.add_argument("--no-onsets", action="store_true", help="no unmodulated onset regressors")
    p.add_argument("--no-center", action="store_true", help="do not mean-centre modulators")
    p.add_argument("--orthogonalize", action="store_true", help="serial orthogonalisation")
    p.add_argument("--nan", choices=["error", "drop"], default="error", help="NaN quantities")
    p.add_argument(
        "--regressor-names",
        choices=["quantity", "node"],
        default="quantity",
        help="name a node's regressor after its quantity (q, abs_rpe, reward; default) or "
        "after the node (vmPFC, rTPJ, NAcc)",
    )
    p.add_argument(
        "--collisions",
        choices=["error", "sum", "mean"],
        default="error",
        help="rows with the same trial_type/onset/duration (nilearn would sum them)",
    )
    p.add_argument("--out", default="regressors", help="output folder (default regressors/)")
    add_force(p, "sub-*_task-*_run-1_events.tsv / _design.* / _vif.tsv files in --out")
    add_quiet(p)
    p.set_defaults(run=run)


def _n_scans(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 2 or 'auto', got {text!r}"
        ) from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2 (or 'auto'), got {value}")
    return value


def auto_n_scans(trace, run: int, t_r: float, durations: dict[str, float]) -> int:
    """Scans covering ``run``: ceil((last onset + its duration + HRF_TAIL_S) / t_r)."""
    rows = trace[trace["run"] == run]
    end = 0.0
    for phase, duration in durations.items():
        times = rows.loc[rows["phase"] == phase, "time"]
        if len(times):
            end = max(end, float(times.max()) + duration)
    return max(2, math.ceil((end + HRF_TAIL_S) / t_r))


def _none(text: str | None):
    return None if text is None or text.strip().lower() == "none" else text.strip()


def _task_label(trace) -> str:
    """The BIDS ``task-`` label: the simulated environment's name, alphanumerics only
    (``darkcontrol/DynaMaze-v0`` -> ``dynamaze``), or ``sim`` when the Trace does not say."""
    config = (trace.attrs.get("darkcontrol") or {}).get("config") or {}
    env = str(config.get("env") or "sim").split("/")[-1].split("-v")[0]
    return re.sub(r"[^0-9a-zA-Z]", "", env).lower() or "sim"


def run(args) -> int:
    from pathlib import Path

    from darkcontrol._util import atomic_write_text
    from darkcontrol.neuro.design import (
        diagnostics,
        make_design,
        plot_design,
        write_design,
    )
    from darkcontrol.neuro.events import EventsConfig, trace_to_events, write_events
    from darkcontrol.neuro.io import load_trace
    from darkcontrol.regions import RegionMap

    trace = load_trace(args.trace)
    ev_config = EventsConfig(
        quantities=tuple(q.strip() for q in args.quantities.split(",") if q.strip()),
        phases=tuple(p.strip() for p in args.phases.split(",") if p.strip()),
        onsets=not args.no_onsets,
        split_phases=args.split_phases,
        online_duration=args.online_duration,
        offline_duration=args.offline_duration,
        center=not args.no_center,
        orthogonalize=args.orthogonalize,
        nan=args.nan,
        collisions=args.collisions,
        label=args.regressor_names,
    )
    try:
        fir = tuple(int(d) for d in args.fir_delays.split(",")) if args.fir_delays else None
    except ValueError:
        raise UsageError(
            f"--fir-delays takes comma-separated integers (scans), got {args.fir_delays!r}"
        ) from None
    available = sorted(int(r) for r in trace["run"].unique())
    runs = args.runs or available
    unknown = [r for r in runs if r not in available]
    if unknown:
        raise UsageError(f"--run {unknown[0]}: the Trace has runs {available}")
    durations = {"online": args.online_duration, "offline": args.offline_duration}
    n_scans = {
        r: auto_n_scans(trace, r, args.tr, durations) if args.n_scans == "auto" else args.n_scans
        for r in runs
    }
    dcs = {r: _design_config(args, n_scans[r], fir) for r in runs}
    out = Path(args.out)
    task = _task_label(trace)
    stems = {r: f"sub-{r + 1:02d}_task-{task}_run-1" for r in runs}
    refuse_overwrite(
        output_folder_files(out, [f"{s}_{kind}" for s in stems.values() for kind in _OUTPUTS]),
        args.force,
    )
    cli = {k: v for k, v in vars(args).items() if k != "run"}
    # every run's events and design are built (and checked) before the first file is written
    built = []
    from darkcontrol._util import progress

    for r in progress(runs, enabled=show_progress(args), desc="regressors", unit="run"):
        events = trace_to_events(trace, ev_config, region_map=RegionMap.paper(), run=r)
        built.append((r, events, make_design(events, dcs[r])))
    for r, events, design in built:
        stem = out / stems[r]
        write_events(events, f"{stem}_events.tsv", extra={"trace": str(args.trace)})
        write_design(design, f"{stem}_design.tsv", config={**cli, "n_scans": n_scans[r]})
        plot_design(design, f"{stem}_design.png", title=f"run {r}")
        diag = diagnostics(design)
        atomic_write_text(f"{stem}_vif.tsv", diag["vif"].to_frame().to_csv(sep="\t"))
        high = diag["vif"][diag["vif"] > 10]
        print(
            f"run {r}: {len(events)} events, design {design.shape[0]} scans x "
            f"{design.shape[1]} columns -> {stem}_*"
            + (f"; VIF > 10: {list(high.index)}" if len(high) else "")
        )
    return 0


_OUTPUTS = ("events.tsv", "events.json", "design.tsv", "design.json", "design.png", "vif.tsv")


def _design_config(args, n_scans: int, fir):
    from darkcontrol.neuro.design import DesignConfig

    return DesignConfig(
        t_r=args.tr,
        n_scans=n_scans,
        hrf_model=_none(args.hrf),
        fir_delays=fir,
        drift_model=_none(args.drift),
        high_pass=args.high_pass,
        drift_order=args.drift_order,
        slice_time_ref=args.slice_time_ref,
        oversampling=args.oversampling,
    )
