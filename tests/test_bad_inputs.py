"""Malformed inputs at every boundary of the command line: each exits with status 2, prints no
traceback, writes nothing, and names what was wrong (the file, column, key or value).

Cases are generated over events files, BOLD runs, masks, atlases, confounds, Traces, sweep
specs, ``--set`` values and names; every one of them was either a traceback, a message that did
not name the problem, or a silently accepted input before this suite (issue 14).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from darkcontrol.cli import main
from darkcontrol.neuro.design import DesignConfig, make_design
from darkcontrol.neuro.events import trace_to_events, write_events
from darkcontrol.neuro.synthetic import SyntheticConfig, simulate_bold
from darkcontrol.trace import TraceRecorder, write_trace

N_SCANS = 40
T_R = 2.0


@pytest.fixture(autouse=True)
def _offline_nilearn(tmp_path, monkeypatch):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn_data"))


@dataclass
class Case:
    """argv built from the fixture's files; ``expect``: substrings of the error message."""

    id: str
    argv: object  # callable(files: dict[str, Path], tmp: Path) -> list[str]
    expect: tuple[str, ...]
    setup: object = None  # callable(files, tmp) run before argv (writes the bad file)
    nothing_written: tuple[str, ...] = field(default=())


# -- valid inputs everything below corrupts ------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    rec = TraceRecorder(run=0)
    rec.begin_episode()
    for t in range(12):
        rec.time = 6.0 * t + 1.0
        rec.online(state=t % 3, action=t % 2, reward=float(t % 2), rpe=rng.normal(), q=rng.normal())
    trace = rec.to_frame()
    write_trace(trace, root / "trace.parquet", {"test": True})
    ev = trace_to_events(trace, quantities=("rpe",), online_duration=1.0)
    events = write_events(ev, root / "events.tsv")[0]
    dm = make_design(ev, DesignConfig(t_r=T_R, n_scans=N_SCANS))
    sim = simulate_bold(dm, {"rTPJ": {"rpe": 2.0}}, SyntheticConfig(n_scans=N_SCANS), seed=1)
    bold = root / "bold.nii.gz"
    sim.img.to_filename(bold)
    sim.mask_img.to_filename(root / "mask.nii.gz")
    sim.atlas.labels_img.to_filename(root / "labels.nii.gz")
    conf = sim.confounds.copy()
    conf.to_csv(root / "confounds.tsv", sep="\t", index=False, na_rep="n/a")
    return {
        "root": root,
        "trace": root / "trace.parquet",
        "trace_frame": trace,
        "events": events,
        "events_frame": pd.read_csv(events, sep="\t"),
        "bold": bold,
        "img": sim.img,
        "mask": root / "mask.nii.gz",
        "labels": root / "labels.nii.gz",
        "atlas_names": ",".join(sim.atlas.names),
        "confounds": root / "confounds.tsv",
        "confounds_frame": conf,
    }


def _write(tmp: Path, name: str, data: bytes | str) -> Path:
    p = tmp / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return p


def _frame_tsv(tmp: Path, name: str, frame: pd.DataFrame) -> Path:
    p = tmp / name
    frame.to_csv(p, sep="\t", index=False, na_rep="n/a")
    return p


def _nifti(tmp: Path, name: str, data: np.ndarray, affine=None, tr: float = T_R) -> Path:
    img = nib.Nifti1Image(
        data, np.eye(4) * 6 + np.diag([0, 0, 0, -5]) if affine is None else affine
    )
    if data.ndim == 4:
        img.header.set_zooms((*img.header.get_zooms()[:3], tr))
        img.header.set_xyzt_units("mm", "sec")
    p = tmp / name
    img.to_filename(p)
    return p


# -- glm: events -------------------------------------------------------------------------------
def glm(bold=None, events=None, extra=()):
    def argv(f, tmp):
        b = bold(f, tmp) if callable(bold) else [str(f["bold"])]
        e = events(f, tmp) if callable(events) else [str(f["events"])]
        return ["glm", "--bold", *b, "--events", *e, "--tr", "2", "--out", str(tmp / "out")] + [
            x(f, tmp) if callable(x) else x for x in extra
        ]

    return argv


def bad_events(name: str, content):
    def make(f, tmp):
        if callable(content):
            return [str(content(f, tmp))]
        return [str(_write(tmp, name, content))]

    return make


def events_frame(change):
    def make(f, tmp):
        df = f["events_frame"].copy()
        df = change(df)
        return _frame_tsv(tmp, "ev.tsv", df)

    return make


def _set(col, row, value):
    def change(df):
        df[col] = df[col].astype(object)
        df.loc[row, col] = value
        return df

    return change


EVENTS_CASES = [
    Case("events-missing", glm(events=lambda f, t: [str(t / "nope.tsv")]), ("nope.tsv",)),
    Case("events-empty", glm(events=bad_events("e.tsv", b"")), ("e.tsv", "empty")),
    Case(
        "events-header-only",
        glm(events=bad_events("e.tsv", "onset\tduration\ttrial_type\n")),
        ("e.tsv", "no rows"),
    ),
    Case(
        "events-binary",
        glm(events=bad_events("e.tsv", bytes(range(256)) * 4)),
        ("e.tsv", "binary"),
    ),
    Case(
        "events-latin1",
        glm(
            events=bad_events(
                "e.tsv", "onset\tduration\ttrial_type\n1\t1\tcaf\xe9\n".encode("latin-1")
            )
        ),
        ("e.tsv", "UTF-8"),
    ),
    Case(
        "events-comma-separated",
        glm(events=bad_events("e.tsv", "onset,duration,trial_type\n1,1,a\n")),
        ("e.tsv", "tab-separated"),
    ),
    Case(
        "events-folder",
        glm(events=lambda f, t: [str(t)]),
        ("is a folder",),
    ),
    Case(
        "events-no-onset",
        glm(events=bad_events("e.tsv", events_frame(lambda d: d.drop(columns=["onset"])))),
        ("onset",),
    ),
    Case(
        "events-no-duration",
        glm(events=bad_events("e.tsv", events_frame(lambda d: d.drop(columns=["duration"])))),
        ("duration",),
    ),
    Case(
        "events-no-trial-type",
        glm(events=bad_events("e.tsv", events_frame(lambda d: d.drop(columns=["trial_type"])))),
        ("trial_type",),
    ),
    Case(
        "events-onset-text",
        glm(events=bad_events("e.tsv", events_frame(_set("onset", 2, "abc")))),
        ("onset",),
    ),
    Case(
        "events-onset-na",
        glm(events=bad_events("e.tsv", events_frame(_set("onset", 2, np.nan)))),
        ("onset",),
    ),
    Case(
        "events-duration-na",
        glm(events=bad_events("e.tsv", events_frame(_set("duration", 3, np.nan)))),
        ("duration",),
    ),
    Case(
        "events-duration-negative",
        glm(events=bad_events("e.tsv", events_frame(_set("duration", 3, -1.0)))),
        ("duration",),
    ),
    Case(
        "events-modulation-na",
        glm(events=bad_events("e.tsv", events_frame(_set("modulation", 4, np.nan)))),
        ("modulation",),
    ),
    Case(
        "events-trial-type-hyphen",
        glm(events=bad_events("e.tsv", events_frame(_set("trial_type", 0, "go-left")))),
        ("go-left",),
    ),
    Case(
        "events-trial-type-constant",
        glm(
            events=bad_events(
                "e.tsv",
                events_frame(
                    lambda d: d.assign(trial_type=d["trial_type"].replace("rpe", "constant"))
                ),
            )
        ),
        ("constant",),
    ),
    Case(
        "events-duplicate-rows",
        glm(events=bad_events("e.tsv", events_frame(lambda d: pd.concat([d, d.iloc[[0]]])))),
        ("share trial_type/onset/duration",),
    ),
    Case(
        "events-after-scan-end",
        glm(events=bad_events("e.tsv", events_frame(_set("onset", 1, 10_000.0)))),
        ("after the end of the scan",),
    ),
    Case(
        "events-count-mismatch",
        glm(events=lambda f, t: [str(f["events"]), str(f["events"])]),
        ("1 BOLD run(s) but 2 events files",),
    ),
    Case(
        "events-modulation-column-missing",
        glm(extra=("--modulation-column", "value")),
        ("value",),
    ),
]


# -- glm: BOLD ---------------------------------------------------------------------------------
def bold_file(make):
    return glm(bold=lambda f, t: [str(make(f, t))])


def _truncated(f, t):
    raw = Path(f["bold"]).read_bytes()
    return _write(t, "trunc.nii.gz", raw[: len(raw) // 2])


def _gzip_garbage(f, t):
    return _write(t, "garbage.nii.gz", gzip.compress(b"not a nifti" * 100))


def _uncompressed_truncated(f, t):
    img = nib.load(f["bold"])
    p = t / "bold.nii"
    img.to_filename(p)
    raw = p.read_bytes()
    return _write(t, "cut.nii", raw[: len(raw) - 5000])


def _scaled(f, t, fn, name):
    img = f["img"]
    data = fn(np.asarray(img.dataobj, dtype=np.float32).copy())
    return _nifti(t, name, data, img.affine)


BOLD_CASES = [
    Case("bold-missing", bold_file(lambda f, t: t / "none.nii.gz"), ("none.nii.gz",)),
    Case(
        "bold-empty",
        bold_file(lambda f, t: _write(t, "empty.nii.gz", b"")),
        ("empty.nii.gz", "empty"),
    ),
    Case(
        "bold-text-named-gz",
        bold_file(lambda f, t: _write(t, "text.nii.gz", "hello")),
        ("text.nii.gz", "not gzip"),
    ),
    Case(
        "bold-text-named-nii",
        bold_file(lambda f, t: _write(t, "text.nii", "hello" * 100)),
        ("text.nii", "not a readable NIfTI"),
    ),
    Case("bold-truncated-gzip", bold_file(_truncated), ("trunc.nii.gz", "truncated")),
    Case("bold-gzip-garbage", bold_file(_gzip_garbage), ("garbage.nii.gz", "not a readable NIfTI")),
    Case("bold-truncated-nii", bold_file(_uncompressed_truncated), ("cut.nii", "truncated")),
    Case("bold-folder", bold_file(lambda f, t: t), ("is a folder",)),
    Case(
        "bold-wrong-extension",
        bold_file(lambda f, t: _write(t, "bold.txt", "x")),
        ("bold.txt", "NIfTI"),
    ),
    Case(
        "bold-3d",
        bold_file(lambda f, t: _nifti(t, "anat.nii.gz", np.ones((5, 5, 5), np.float32))),
        ("anat.nii.gz", "3D", "4D"),
    ),
    Case(
        "bold-one-volume",
        bold_file(lambda f, t: _nifti(t, "one.nii.gz", np.ones((5, 5, 5, 1), np.float32))),
        ("one.nii.gz", "1 volume"),
    ),
    Case(
        "bold-wrong-tr",
        bold_file(
            lambda f, t: _nifti(
                t, "tr.nii.gz", np.asarray(f["img"].dataobj, np.float32), f["img"].affine, tr=2.5
            )
        ),
        ("tr.nii.gz", "pixdim[4] = 2.5 s"),
    ),
    Case(
        "bold-all-zero",
        bold_file(lambda f, t: _scaled(f, t, lambda d: d * 0, "zero.nii.gz")),
        ("no voxel of the mask carries signal", "all zero"),
    ),
    Case(
        "bold-all-nan",
        bold_file(lambda f, t: _scaled(f, t, lambda d: d * np.nan, "nan.nii.gz")),
        ("no voxel of the mask carries signal", "NaN"),
    ),
    Case(
        "bold-constant",
        bold_file(lambda f, t: _scaled(f, t, lambda d: d * 0 + 100, "flat.nii.gz")),
        ("no voxel of the mask carries signal", "constant"),
    ),
    Case(
        "bold-other-grid",
        glm(
            bold=lambda f, t: [
                str(f["bold"]),
                str(_nifti(t, "small.nii.gz", np.ones((5, 5, 5, N_SCANS), np.float32))),
            ],
            events=lambda f, t: [str(f["events"]), str(f["events"])],
        ),
        ("another grid",),
    ),
    Case("bold-tr-zero", glm(extra=()), ("--tr",), setup=None),
]
BOLD_CASES[-1] = Case(
    "bold-tr-zero",
    lambda f, t: ["glm", "--bold", str(f["bold"]), "--events", str(f["events"]), "--tr", "0"],
    ("--tr", "> 0"),
)
BOLD_CASES += [
    Case(
        "bold-tr-text",
        lambda f, t: ["glm", "--bold", str(f["bold"]), "--events", str(f["events"]), "--tr", "two"],
        ("--tr", "'two'"),
    ),
    Case(
        "bold-tr-missing",
        lambda f, t: ["glm", "--bold", str(f["bold"]), "--events", str(f["events"])],
        ("--tr",),
    ),
]


# -- glm: masks and atlases ------------------------------------------------------------------------
MASK_CASES = [
    Case("mask-missing", glm(extra=("--mask", "nomask.nii.gz")), ("nomask.nii.gz",)),
    Case(
        "mask-empty",
        glm(extra=("--mask", lambda f, t: str(_write(t, "m.nii.gz", b"")))),
        ("m.nii.gz", "empty"),
    ),
    Case(
        "mask-text",
        glm(extra=("--mask", lambda f, t: str(_write(t, "m.nii.gz", "mask")))),
        ("m.nii.gz", "not gzip"),
    ),
    Case(
        "mask-4d",
        glm(
            extra=(
                "--mask",
                lambda f, t: str(_nifti(t, "m4.nii.gz", np.ones((5, 5, 5, 3), np.float32))),
            )
        ),
        ("m4.nii.gz", "4D", "3D"),
    ),
    Case(
        "mask-all-zero",
        glm(
            extra=(
                "--mask",
                lambda f, t: str(
                    _nifti(t, "m0.nii.gz", np.zeros(f["img"].shape[:3], np.uint8), f["img"].affine)
                ),
            )
        ),
        ("mask has no voxel",),
    ),
    Case(
        "mask-scanner-space",
        glm(
            extra=(
                "--mask",
                lambda f, t: str(_scanner_mask(f, t)),
            )
        ),
        ("scanner space",),
    ),
    Case(
        "atlas-without-names",
        glm(extra=("--atlas", lambda f, t: str(f["labels"]))),
        ("--atlas-names",),
    ),
    Case(
        "atlas-names-count",
        glm(extra=("--atlas", lambda f, t: str(f["labels"]), "--atlas-names", "a,b")),
        ("labels",),
    ),
    Case(
        "atlas-missing",
        glm(extra=("--atlas", "nolabels.nii.gz", "--atlas-names", "a")),
        ("nolabels.nii.gz",),
    ),
    Case(
        "atlas-4d",
        glm(
            extra=(
                "--atlas",
                lambda f, t: str(_nifti(t, "l4.nii.gz", np.ones((5, 5, 5, 2), np.float32))),
                "--atlas-names",
                "a",
            )
        ),
        ("l4.nii.gz", "3D"),
    ),
    Case("contrast-unknown-column", glm(extra=("--contrasts", "nosuch")), ("nosuch",)),
    Case("alpha-zero", glm(extra=("--alpha", "0")), ("--alpha", "(0, 1)")),
    Case("alpha-one", glm(extra=("--alpha", "1.5")), ("--alpha", "(0, 1)")),
    Case("radius-negative", glm(extra=("--radius", "-3")), ("--radius", "> 0")),
    Case(
        "cluster-threshold-negative",
        glm(extra=("--cluster-threshold", "-1")),
        ("--cluster-threshold", ">= 0"),
    ),
    Case("noise-model-unknown", glm(extra=("--noise-model", "ar2")), ("--noise-model", "ar2")),
    Case(
        "height-control-unknown",
        glm(extra=("--height-control", "fwe")),
        ("--height-control", "fwe"),
    ),
]


def _scanner_mask(f, t):
    img = nib.Nifti1Image(np.ones(f["img"].shape[:3], np.uint8), f["img"].affine)
    img.set_sform(f["img"].affine, code=1)
    img.set_qform(f["img"].affine, code=1)
    p = t / "scanner.nii.gz"
    img.to_filename(p)
    bold = nib.load(f["bold"])
    bold.set_sform(bold.affine, code=4)
    return p


# -- glm: confounds ------------------------------------------------------------------------------
def conf(make, strategy="motion6", extra=()):
    return glm(
        extra=(
            "--confounds",
            lambda f, t: str(make(f, t)),
            "--confound-strategy",
            strategy,
            *extra,
        )
    )


def conf_frame(change, name="c.tsv"):
    def make(f, t):
        return _frame_tsv(t, name, change(f["confounds_frame"].copy()))

    return make


CONFOUND_CASES = [
    Case("confounds-missing", conf(lambda f, t: t / "noconf.tsv"), ("noconf.tsv",)),
    Case("confounds-empty", conf(lambda f, t: _write(t, "c.tsv", b"")), ("c.tsv", "empty")),
    Case(
        "confounds-header-only",
        conf(lambda f, t: _write(t, "c.tsv", "trans_x\ttrans_y\n")),
        ("c.tsv", "no rows"),
    ),
    Case(
        "confounds-binary",
        conf(lambda f, t: _write(t, "c.tsv", bytes(range(256)))),
        ("c.tsv", "binary"),
    ),
    Case(
        "confounds-rows",
        conf(conf_frame(lambda d: d.iloc[:-3])),
        ("c.tsv", f"{N_SCANS - 3} rows", f"{N_SCANS} scans"),
    ),
    Case(
        "confounds-missing-columns",
        conf(conf_frame(lambda d: d.drop(columns=["trans_x"]))),
        ("c.tsv", "trans_x"),
    ),
    Case(
        "confounds-unknown-strategy",
        conf(lambda f, t: f["confounds"], strategy="motion99"),
        ("motion99",),
    ),
    Case(
        "confounds-nan-first-row",
        conf(conf_frame(lambda d: d.assign(trans_x=[np.nan, *d["trans_x"].iloc[1:]]))),
        ("trans_x", "--confound-nan fill_first_row"),
    ),
    Case(
        "confounds-nan-middle",
        conf(conf_frame(_set("rot_z", 10, np.nan)), extra=("--confound-nan", "fill_first_row")),
        ("rot_z", "rows [10]"),
    ),
    Case("confounds-text-value", conf(conf_frame(_set("trans_y", 5, "abc"))), ("trans_y", "[5]")),
    Case(
        "confounds-constant-column",
        conf(conf_frame(lambda d: d.assign(trans_z=1.0))),
        ("trans_z", "constant"),
    ),
    Case(
        "confounds-count-mismatch",
        glm(
            extra=(
                "--confounds",
                lambda f, t: str(f["confounds"]),
                lambda f, t: str(f["confounds"]),
            )
        ),
        ("2 confounds files",),
    ),
    Case(
        "confound-nan-policy-unknown",
        glm(extra=("--confound-nan", "zero")),
        ("--confound-nan", "zero"),
    ),
]


# -- regressors: Traces --------------------------------------------------------------------------
def reg(trace=None, extra=(), n_scans="auto"):
    def argv(f, tmp):
        path = trace(f, tmp) if callable(trace) else f["trace"]
        return [
            "regressors",
            str(path),
            "--tr",
            "2",
            "--n-scans",
            n_scans,
            "--out",
            str(tmp / "reg"),
            *extra,
        ]

    return argv


def trace_file(change, name="t.parquet"):
    def make(f, t):
        df = change(f["trace_frame"].copy())
        p = t / name
        df.to_parquet(p)
        return p

    return make


def _col(col, values):
    def change(df):
        df[col] = values(df)
        return df

    return change


TRACE_CASES = [
    Case("trace-missing", reg(lambda f, t: t / "none.parquet"), ("none.parquet", "does not exist")),
    Case("trace-empty", reg(lambda f, t: _write(t, "e.parquet", b"")), ("e.parquet", "empty")),
    Case(
        "trace-text",
        reg(lambda f, t: _write(t, "csv.parquet", "run,time\n0,1\n")),
        ("csv.parquet", "Parquet"),
    ),
    Case("trace-folder", reg(lambda f, t: t), ("is a folder",)),
    Case(
        "trace-lacks-columns",
        reg(trace_file(lambda d: d.drop(columns=["rpe", "q"]))),
        ("t.parquet", "rpe"),
    ),
    Case(
        "trace-text-time",
        reg(trace_file(_col("time", lambda d: ["t"] * len(d)))),
        ("t.parquet", "'time'", "'t'"),
    ),
    Case(
        "trace-text-rpe",
        reg(trace_file(_col("rpe", lambda d: ["big"] * len(d)))),
        ("t.parquet", "'rpe'", "'big'"),
    ),
    Case(
        "trace-fractional-state",
        reg(trace_file(_col("state", lambda d: np.arange(len(d)) + 0.5))),
        ("t.parquet", "'state'", "0.5"),
    ),
    Case("trace-no-rows", reg(trace_file(lambda d: d.iloc[:0])), ("t.parquet", "no rows")),
    Case(
        "trace-nan-time",
        reg(trace_file(_col("time", lambda d: [np.nan] * len(d)))),
        ("time", "non-finite"),
    ),
    Case("quantity-unknown", reg(extra=("--quantities", "nosuch")), ("nosuch",)),
    Case("quantity-text-column", reg(extra=("--quantities", "phase")), ("phase",)),
    Case("run-not-in-trace", reg(extra=("--run", "7")), ("--run 7", "runs [0]")),
    Case("run-negative", reg(extra=("--run", "-1")), ("--run", ">= 0")),
    Case("phase-unknown", reg(extra=("--phases", "dreaming")), ("dreaming",)),
    Case("n-scans-zero", reg(n_scans="0"), ("--n-scans", ">= 2")),
    Case("n-scans-text", reg(n_scans="many"), ("--n-scans", "'many'")),
    Case("n-scans-too-few", reg(n_scans="5"), ("after the end of the scan",)),
    Case(
        "fir-delays-text",
        reg(extra=("--hrf", "fir", "--fir-delays", "a,b")),
        ("--fir-delays", "'a,b'"),
    ),
    Case("oversampling-zero", reg(extra=("--oversampling", "0")), ("--oversampling", ">= 1")),
    Case(
        "online-duration-zero", reg(extra=("--online-duration", "0")), ("--online-duration", "> 0")
    ),
    Case(
        "offline-duration-negative",
        reg(extra=("--offline-duration", "-1")),
        ("--offline-duration", "> 0"),
    ),
    Case(
        "regressors-tr-negative",
        lambda f, t: ["regressors", str(f["trace"]), "--tr", "-2", "--n-scans", "auto"],
        ("--tr",),
    ),
    Case("regressors-nan-policy-unknown", reg(extra=("--nan", "zero")), ("--nan", "zero")),
    Case(
        "regressors-output-exists",
        reg(),
        ("already exist", "--force"),
        setup=lambda f, t: (
            (t / "reg").mkdir() or (t / "reg" / "sub-01_task-sim_run-1_events.tsv").write_text("x")
        ),
    ),
]


# -- sweep specs ---------------------------------------------------------------------------------
GOOD_SPEC = {
    "name": '"s"',
    "episodes": "2",
    "max_steps": "20",
    "seeds": "2",
    "envs": '["darkcontrol/DynaMaze-v0"]',
    "algorithm": '"q_learning"',
}


def sweep(change: dict | str, extra=()):
    def argv(f, tmp):
        if isinstance(change, str):
            text = change
        else:
            spec = {**GOOD_SPEC, **change}
            text = "\n".join(f"{k} = {v}" for k, v in spec.items() if v is not None)
        path = tmp / "spec.toml"
        path.write_text(text + "\n")
        return ["sweep", str(path), "--out", str(tmp / "sw"), "--device", "cpu", "--quiet", *extra]

    return argv


SWEEP_CASES = [
    Case(
        "spec-missing",
        lambda f, t: ["sweep", str(t / "none.toml"), "--out", str(t / "sw")],
        ("none.toml",),
    ),
    Case(
        "spec-json",
        lambda f, t: ["sweep", str(_write(t, "s.json", "{}")), "--out", str(t / "sw")],
        ("s.json", ".toml"),
    ),
    Case("spec-bad-toml", sweep("name = = 2"), ("spec.toml", "not valid TOML")),
    Case("spec-binary", sweep("\x00\x01\x02"), ("spec.toml", "TOML")),
    Case("episodes-text", sweep({"episodes": '"two"'}), ("episodes", "'two'")),
    Case("episodes-zero", sweep({"episodes": "0"}), ("episodes", ">= 1")),
    Case("episodes-float", sweep({"episodes": "2.5"}), ("episodes", "2.5")),
    Case("episodes-missing", sweep({"episodes": None}), ("episodes",)),
    Case("seeds-float", sweep({"seeds": "2.5"}), ("seeds", "2.5")),
    Case("seeds-zero", sweep({"seeds": "0"}), ("seeds", ">= 1")),
    Case("seeds-text", sweep({"seeds": '"many"'}), ("seeds", "'many'")),
    Case("seeds-repeated", sweep({"seeds": "[1, 1]"}), ("repeats seeds",)),
    Case("seeds-list-of-text", sweep({"seeds": '["a"]'}), ("seeds", "'a'")),
    Case("seeds-missing", sweep({"seeds": None}), ("no seeds",)),
    Case("first-seed-negative", sweep({"first_seed": "-1"}), ("first_seed", ">= 0")),
    Case(
        "env-unknown",
        sweep({"envs": '["darkcontrol/Nowhere-v0"]'}),
        ("darkcontrol/Nowhere-v0", "DynaMaze"),
    ),
    Case("env-missing", sweep({"envs": None}), ("no envs",)),
    Case("env-factory-missing", sweep({"envs": '[{factory = "nosuchmod:make"}]'}), ("nosuchmod",)),
    Case("env-factory-format", sweep({"envs": '[{factory = "nosuchmod"}]'}), ("module:callable",)),
    Case("env-bad-key", sweep({"envs": '[{name = "x"}]'}), ("unknown env keys", "name")),
    Case(
        "algorithm-unknown",
        sweep({"algorithm": '"deep_q"'}),
        ("deep_q", "algorithm must be one of"),
    ),
    Case("algorithm-missing", sweep({"algorithm": None}), ("no algorithm",)),
    Case(
        "param-unknown", sweep({"grid": "{ learning_rate = [0.1] }"}), ("learning_rate", "allowed")
    ),
    Case("grid-not-list", sweep({"grid": "{ alpha = 0.1 }"}), ("grid.alpha", "non-empty list")),
    Case("grid-text-value", sweep({"grid": '{ alpha = ["abc"] }'}), ("alpha", "'abc'", "a number")),
    Case("grid-out-of-range", sweep({"grid": "{ alpha = [2.0] }"}), ("alpha", "2.0")),
    Case("fixed-list", sweep({"fixed": "{ alpha = [0.1, 0.2] }"}), ("fixed.alpha", "grid")),
    Case("fixed-text-value", sweep({"fixed": '{ gamma = "high" }'}), ("gamma", "'high'")),
    Case("max-steps-zero", sweep({"max_steps": "0"}), ("max_steps", ">= 1")),
    Case("max-steps-text", sweep({"max_steps": '"long"'}), ("max_steps", "'long'")),
    Case("samples-without-random", sweep({"samples": "3"}), ("samples",)),
    Case(
        "random-bad-dist",
        sweep({"random": '{ alpha = { dist = "beta" } }'}),
        ("random.alpha", "dist"),
    ),
    Case(
        "random-loguniform-zero",
        sweep({"random": '{ alpha = { dist = "loguniform", low = 0, high = 1 } }'}),
        ("random.alpha", "low > 0"),
    ),
    Case(
        "random-randint-float",
        sweep(
            {
                "random": '{ n_planning = { dist = "randint", low = 0.5, high = 3 } }',
                "algorithm": '"dyna_q"',
            }
        ),
        ("random.n_planning", "integer"),
    ),
    Case("dtype-unknown", sweep({"dtype": '"float16"'}), ("dtype", "float16")),
    Case("top-key-unknown", sweep({"colour": '"red"'}), ("unknown sweep keys", "colour")),
    Case("record-regions-text", sweep({"record_regions": '"yes"'}), ("record_regions", "'yes'")),
    Case("sampling-seed-negative", sweep({"sampling_seed": "-3"}), ("sampling_seed", ">= 0")),
    Case("device-unknown", sweep({}, extra=("--device", "gpu0")), ("device", "'gpu0'")),
    Case("workers-zero", sweep({}, extra=("--workers", "0")), ("--workers", ">= 1")),
    Case("memory-budget-text", sweep({}, extra=("--memory-budget", "lots")), ("lots",)),
    Case("max-chunks-negative", sweep({}, extra=("--max-chunks", "-1")), ("--max-chunks", ">= 0")),
    Case(
        "sweep-output-not-a-sweep",
        sweep({}),
        ("holds no sweep manifest",),
        setup=lambda f, t: (t / "sw").mkdir() or (t / "sw" / "notes.txt").write_text("mine"),
    ),
    Case(
        "sweep-output-is-a-file",
        sweep({}),
        ("is a file",),
        setup=lambda f, t: (t / "sw").write_text("mine"),
    ),
]


# -- --set values and names (simulate, demo) -------------------------------------------------------
def sim(*extra, agent="q_learning", env="darkcontrol/Bandit-v0"):
    def argv(f, tmp):
        return [
            "simulate",
            "--env",
            env,
            "--agent",
            agent,
            "--episodes",
            "1",
            "--out",
            str(tmp / "x.parquet"),
            "--quiet",
            *extra,
        ]

    return argv


SET_CASES = [
    Case("set-text-for-float", sim("--set", "alpha=abc"), ("alpha", "a number", "'abc'")),
    Case("set-zero-alpha", sim("--set", "alpha=0"), ("alpha", "0")),
    Case("set-alpha-above-one", sim("--set", "alpha=2.0"), ("alpha", "2.0")),
    Case("set-nan", sim("--set", "alpha=nan"), ("alpha", "finite")),
    Case("set-inf", sim("--set", "alpha=inf"), ("alpha",)),
    Case("set-no-equals", sim("--set", "alpha"), ("--set", "key=value", "'alpha'")),
    Case("set-empty-key", sim("--set", "=0.1"), ("--set", "identifier")),
    Case("set-not-identifier", sim("--set", "1x=2"), ("--set", "'1x'")),
    Case("set-unknown-key", sim("--set", "learning_rate=0.1"), ("learning_rate", "allowed")),
    Case("set-twice", sim("--set", "alpha=0.1", "--set", "alpha=0.2"), ("alpha", "twice")),
    Case(
        "set-int-field-float",
        sim("--set", "n_planning=2.5", agent="dyna_q"),
        ("n_planning", "an integer", "2.5"),
    ),
    Case(
        "set-int-field-text",
        sim("--set", "n_planning=many", agent="dyna_q"),
        ("n_planning", "'many'"),
    ),
    Case("set-negative-epsilon", sim("--set", "epsilon=-0.1"), ("epsilon", "-0.1")),
    Case("set-bool-for-float", sim("--set", "alpha=true"), ("alpha", "a number")),
    Case("env-set-unknown", sim("--env-set", "colour=red"), ("colour",)),
    Case(
        "demo-set-text",
        lambda f, t: ["demo", "--quick", "--out", str(t / "d"), "--set", "n_participants=abc"],
        ("n_participants", "'abc'"),
    ),
    Case(
        "demo-set-unknown",
        lambda f, t: ["demo", "--quick", "--out", str(t / "d"), "--set", "participants=3"],
        ("participants", "allowed"),
    ),
]


def glm_trace(make):
    def argv(f, tmp):
        path = make(f, tmp)
        return ["glm", "--bold", str(f["bold"]), "--trace", str(path), "--tr", "2"] + [
            "--out",
            str(tmp / "out"),
        ]

    return argv


def _two_run_trace(f, t):
    df = pd.concat([f["trace_frame"], f["trace_frame"].assign(run=1)], ignore_index=True)
    p = t / "two.parquet"
    df.to_parquet(p)
    return p


TRACE_CASES += [
    Case(
        "glm-trace-not-parquet",
        glm_trace(lambda f, t: _write(t, "tr.parquet", "a,b\n1,2\n")),
        ("tr.parquet", "Parquet"),
    ),
    Case(
        "glm-trace-runs-mismatch",
        glm_trace(_two_run_trace),
        ("runs [0, 1]", "1 BOLD run(s)"),
    ),
    Case(
        "glm-trace-unknown-quantity",
        lambda f, t: glm_trace(lambda f, t: f["trace"])(f, t) + ["--quantities", "nosuch"],
        ("nosuch",),
    ),
]

NAME_CASES = [
    Case("agent-unknown", sim(agent="nonesuch"), ("nonesuch", "q_learning", "dmn")),
    Case(
        "env-id-unknown", sim(env="darkcontrol/Nowhere-v0"), ("darkcontrol/Nowhere-v0", "DynaMaze")
    ),
    Case("episodes-zero-cli", sim("--episodes", "0"), ("--episodes", ">= 1")),
    Case("seeds-zero-cli", sim("--seeds", "0"), ("--seeds", ">= 1")),
    Case("max-steps-zero-cli", sim("--max-steps", "0"), ("--max-steps", ">= 1")),
    Case("max-steps-text-cli", sim("--max-steps", "ten"), ("--max-steps", "'ten'")),
    Case("first-seed-negative-cli", sim("--first-seed", "-1"), ("--first-seed", ">= 0")),
    Case("trial-duration-zero", sim("--trial-duration", "0"), ("--trial-duration", "> 0")),
    Case("record-unknown", sim("--record", "some"), ("--record", "'some'")),
    Case("simulate-out-not-parquet", sim("--out", "x.csv"), ("--out", "x.csv", ".parquet")),
    Case(
        "simulate-out-exists",
        sim(),
        ("x.parquet", "already exists", "--force"),
        setup=lambda f, t: (t / "x.parquet").write_text("keep me"),
    ),
    Case(
        "glm-out-exists",
        glm(),
        ("already holds GLM outputs", "--force"),
        setup=lambda f, t: (t / "out").mkdir() or (t / "out" / "roi_table.tsv").write_text("x"),
    ),
    Case("command-unknown", lambda f, t: ["simulat"], ("invalid choice", "simulate")),
    Case(
        "glm-trace-and-events",
        lambda f, t: ["glm", "--bold", "b", "--events", "e", "--trace", "t", "--tr", "2"],
        ("not allowed with",),
    ),
]

CASES = (
    EVENTS_CASES
    + BOLD_CASES
    + MASK_CASES
    + CONFOUND_CASES
    + TRACE_CASES
    + SWEEP_CASES
    + SET_CASES
    + NAME_CASES
)


def test_the_suite_covers_at_least_100_inputs():
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_with_a_message_naming_the_problem(case, files, tmp_path, capsys):
    if case.setup is not None:
        case.setup(files, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    argv = case.argv(files, tmp_path)
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, f"exit {code}; stderr: {err}; stdout: {captured.out[-500:]}"
    assert "Traceback" not in err
    for text in case.expect:
        assert text in err, f"{text!r} not in: {err}"
    assert "np.float" not in err and "np.int" not in err  # no numpy reprs
    # nothing written: no new file, and existing files untouched
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    created = {p for p in after if p not in before and not _is_input(p, tmp_path)}
    assert not created, f"files written: {sorted(map(str, created))}"
    assert all(after[p] == before[p] for p in before if p in after)


def _is_input(p: Path, tmp: Path) -> bool:
    """Files the case itself wrote as its (bad) input, beside the outputs."""
    rel = p.relative_to(tmp)
    return rel.parts[0] not in ("out", "reg", "sw", "d", "x.parquet", "nilearn_data")
