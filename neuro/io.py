"""Real study inputs, checked before any model sees them.

One error per mismatch, each saying what was given and what was expected:

- a NIfTI file that cannot be read whole (:func:`open_nifti`: empty, not gzip, unparsable,
  truncated, wrong dimensionality), named in the message;
- a Trace file that is not Parquet, lacks columns or holds values of the wrong type
  (:func:`load_trace`, naming the column and a value);
- a BOLD run that is not 4D (x, y, z, time);
- a TR that disagrees with the image header (``pixdim[4]``, converted from ms/us when the
  header's time unit says so); a header without a TR (0) only warns;
- runs on different grids;
- events that start at or after the end of the scan (n_scans x TR);
- confounds whose row count differs from the number of scans, or that contain NaN
  (see :func:`darkcontrol.neuro.design.load_confounds` for the fMRIPrep first-row policy);
- ROIs / masks on another grid than the BOLD data. Decision: images in the same world space
  (MNI) on another voxel grid are resampled to the BOLD grid with nearest-neighbour
  interpolation and a warning (the usual case: a 2 mm atlas and 3 mm data); an ROI that then
  has no voxel (outside the field of view) is an error; images whose NIfTI sform codes say
  different spaces (e.g. scanner vs MNI) are an error, since resampling cannot fix that.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol.neuro.design import check_confounds, load_confounds
from darkcontrol.neuro.events import read_events, validate_events

AFFINE_ATOL = 1e-3  # mm: affines closer than this are the same grid
_TIME_UNITS = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}
_SFORM_SPACES = {1: "scanner", 2: "aligned", 3: "talairach", 4: "mni"}


def _label(img: Any, r: int) -> str:
    return f"run {r} ({img})" if isinstance(img, (str, os.PathLike)) else f"run {r}"


def header_tr(img) -> float | None:
    """The TR in seconds from ``pixdim[4]`` and the header's time unit; None if unset (0)."""
    zooms = img.header.get_zooms()
    if len(zooms) < 4 or zooms[3] == 0:
        return None
    unit = img.header.get_xyzt_units()[1]
    return float(zooms[3]) * _TIME_UNITS.get(unit, 1.0)


def open_nifti(src, what: str = "image", ndim: int | tuple[int, ...] | None = None):
    """Open a NIfTI file (or pass an image through) and check it can be read whole.

    ``ValueError`` naming the file for: a folder, an empty file, a ``.gz`` name that is not
    gzip, a file nibabel cannot parse, a truncated file (the data end before the header's
    shape says; for gzip the stream is decompressed to its end without keeping it), or a
    dimensionality other than ``ndim``. nibabel's own errors (``ImageFileError``,
    ``EOFError``) would otherwise surface late, deep inside nilearn.
    """
    import gzip
    import zlib

    import nibabel as nib

    if not isinstance(src, (str, os.PathLike)):
        img = src
        name = what
    else:
        path = os.fspath(src)
        name = f"{what} {path}"
        if not os.path.exists(path):
            raise FileNotFoundError(f"no {what} at {path}")
        if os.path.isdir(path):
            raise ValueError(f"{name} is a folder; give a NIfTI file (.nii or .nii.gz)")
        size = os.path.getsize(path)
        if size == 0:
            raise ValueError(f"{name} is empty (0 bytes)")
        with open(path, "rb") as fh:
            magic = fh.read(2)
        if path.endswith(".gz") and magic != b"\x1f\x8b":
            raise ValueError(f"{name} is named .gz but is not gzip-compressed")
        if not path.endswith((".nii", ".nii.gz", ".img", ".hdr", ".img.gz")):
            raise ValueError(f"{name}: expected a NIfTI file (.nii or .nii.gz)")
        try:
            img = nib.load(path)
            expected = int(img.header.get_data_offset()) + int(
                np.prod(img.shape) * img.get_data_dtype().itemsize
            )
        except Exception as exc:  # nibabel: ImageFileError, EOFError, OSError, ValueError
            raise ValueError(
                f"{name} is not a readable NIfTI image ({type(exc).__name__}: {exc})"
            ) from None
        if magic == b"\x1f\x8b":
            n = 0
            try:
                with gzip.open(path, "rb") as fh:
                    while chunk := fh.read(1 << 24):
                        n += len(chunk)
            except (EOFError, OSError, zlib.error) as exc:
                raise ValueError(
                    f"{name} is truncated or corrupt (gzip: {type(exc).__name__}: {exc})"
                ) from None
        else:
            n = size
        if n < expected:
            raise ValueError(
                f"{name} is truncated: {n:,} bytes of data but its header (shape "
                f"{tuple(img.shape)}, {img.get_data_dtype()}) needs {expected:,}"
            )
    if not hasattr(img, "shape") or not hasattr(img, "affine"):
        raise TypeError(f"{what} must be a NIfTI path or a nibabel image, got {type(img).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if len(img.shape) not in allowed:
            raise ValueError(
                f"{name} is a {len(img.shape)}D image of shape {tuple(img.shape)}; expected "
                + " or ".join(f"{d}D" for d in allowed)
            )
    return img


def load_bold(imgs, t_r: float, *, rtol: float = 0.01) -> list:
    """Load BOLD runs (paths or images) and check them against ``t_r``.

    Raises ``ValueError`` for a 3D image, a header TR differing from ``t_r`` by more than
    ``rtol`` (relative), or runs on different grids.
    """
    from nilearn.image import load_img

    if t_r is None or not np.isfinite(t_r) or t_r <= 0:
        raise ValueError(f"t_r must be the repetition time in seconds, got {t_r!r}")
    imgs = list(imgs) if isinstance(imgs, (list, tuple)) else [imgs]
    if not imgs:
        raise ValueError("no BOLD run given")
    out = []
    for r, src in enumerate(imgs):
        label = _label(src, r)
        img = load_img(open_nifti(src, "BOLD image"))
        if img.ndim != 4:
            raise ValueError(
                f"{label} is a {img.ndim}D image of shape {img.shape}; a BOLD run is 4D "
                "(x, y, z, time): give the functional run, not an anatomical or a statistic map"
            )
        if img.shape[3] < 2:
            raise ValueError(f"{label} has {img.shape[3]} volume(s)")
        tr_hdr = header_tr(img)
        if tr_hdr is None:
            warnings.warn(
                f"{label}: header has no TR (pixdim[4] = 0); using t_r={t_r}", stacklevel=2
            )
        elif abs(tr_hdr - t_r) > rtol * t_r:
            raise ValueError(
                f"t_r={t_r} s but the header of {label} says pixdim[4] = {tr_hdr:g} s; pass "
                "the real TR (a wrong TR shifts every regressor)"
            )
        if out and (
            img.shape[:3] != out[0].shape[:3]
            or not np.allclose(img.affine, out[0].affine, atol=AFFINE_ATOL)
        ):
            raise ValueError(f"{label} is on another grid than run 0; resample the runs first")
        out.append(img)
    return out


def check_events_in_scan(
    events: pd.DataFrame, n_scans: int, t_r: float, label: str = "events"
) -> pd.DataFrame:
    """Raise ``ValueError`` naming the rows whose onset is at or after n_scans x t_r."""
    end = n_scans * t_r
    late = events.index[events["onset"].to_numpy(np.float64) >= end]
    if len(late):
        raise ValueError(
            f"{label}: rows {list(late[:10])} start at or after the end of the scan "
            f"({n_scans} scans x {t_r} s = {end:g} s; onsets "
            f"{events.loc[late[:5], 'onset'].tolist()}): wrong TR, run or time unit (ms?)"
        )
    return events


def same_grid(a, b) -> bool:
    return tuple(a.shape[:3]) == tuple(b.shape[:3]) and np.allclose(
        a.affine, b.affine, atol=AFFINE_ATOL
    )


def _space(img) -> str | None:
    code = int(img.header["sform_code"]) if hasattr(img, "header") else 0
    return _SFORM_SPACES.get(code)


def check_space(img, ref, what: str = "image") -> None:
    """Error if the sform codes say different spaces (scanner vs MNI, ...)."""
    a, b = _space(img), _space(ref)
    if a and b and {a, b} & {"scanner"} and a != b:
        raise ValueError(
            f"{what} is in {a} space but the BOLD data are in {b} space (NIfTI sform codes); "
            "register them first: resampling cannot move between spaces"
        )


def to_bold_grid(img, bold_img, what: str = "image", interpolation: str = "nearest"):
    """``img`` on ``bold_img``'s grid: unchanged if it is already, else resampled (warning)."""
    from nilearn.image import load_img, resample_to_img

    img = load_img(open_nifti(img, what, ndim=3))
    ref = load_img(bold_img)
    check_space(img, ref, what)
    if same_grid(img, ref):
        return img
    warnings.warn(
        f"{what} grid {img.shape[:3]} differs from the BOLD grid {ref.shape[:3]}; resampling "
        f"it to the BOLD grid ({interpolation})",
        stacklevel=2,
    )
    ref3 = ref.slicer[..., 0] if ref.ndim == 4 else ref
    return resample_to_img(
        img, ref3, interpolation=interpolation, force_resample=True, copy_header=True
    )


def align_atlas(atlas, bold_img):
    """An Atlas on ``bold_img``'s grid (see the module's decision); empty ROI -> error."""
    from darkcontrol.neuro.atlas import Atlas

    if same_grid(atlas.labels_img, bold_img):
        return atlas
    labels = to_bold_grid(atlas.labels_img, bold_img, "atlas")
    data = np.rint(np.asarray(labels.dataobj)).astype(int)
    empty = [n for k, n in enumerate(atlas.names, start=1) if not (data == k).any()]
    if empty:
        raise ValueError(f"ROIs {empty} have no voxel on the BOLD grid (outside its field of view)")
    table = atlas.table.copy()
    table["n_voxels"] = [int((data == k).sum()) for k in range(1, len(atlas.names) + 1)]
    from nilearn.image import new_img_like

    return Atlas(new_img_like(labels, data.astype(np.int16)), atlas.names, table)


def align_mask(mask_img, bold_img):
    """A binary mask on ``bold_img``'s grid (resampled with a warning if needed)."""
    from nilearn.image import new_img_like

    mask = to_bold_grid(mask_img, bold_img, "mask")
    data = np.asarray(mask.dataobj) > 0.5
    if not data.any():
        raise ValueError("the mask has no voxel on the BOLD grid")
    return new_img_like(mask, data.astype(np.uint8))


@dataclass
class RunInputs:
    """One checked run: image, its number of scans, events and confounds (either may be None)."""

    img: Any
    n_scans: int
    events: pd.DataFrame | None = None
    confounds: pd.DataFrame | None = None
    meta: dict = field(default_factory=dict)


def load_runs(
    bold: Sequence | Any,
    t_r: float,
    events: Sequence | None = None,
    confounds: Sequence | None = None,
    *,
    confound_strategy: str | Sequence[str] = "motion6",
    confound_nan: str = "error",
    events_kwargs: dict | None = None,
) -> list[RunInputs]:
    """Check a participant's runs with their events (TSV paths or DataFrames) and confounds
    (fMRIPrep TSV paths or DataFrames), one per run, in run order."""
    imgs = load_bold(bold, t_r)
    n = len(imgs)

    def per_run(x, what):
        if x is None:
            return [None] * n
        x = list(x) if isinstance(x, (list, tuple)) else [x]
        if len(x) != n:
            raise ValueError(f"{n} BOLD run(s) but {len(x)} {what}")
        return x

    runs = []
    for r, (img, ev, conf) in enumerate(
        zip(imgs, per_run(events, "events files"), per_run(confounds, "confounds files"))
    ):
        n_scans = int(img.shape[3])
        if ev is not None:
            if isinstance(ev, pd.DataFrame):
                ev = validate_events(ev, label=f"events of run {r}", **(events_kwargs or {}))
            else:
                ev = read_events(ev, **(events_kwargs or {}))
            check_events_in_scan(ev, n_scans, t_r, label=f"events of run {r}")
        if conf is not None:
            conf = load_confounds(conf, confound_strategy, nan=confound_nan, n_scans=n_scans)
            check_confounds(conf, n_scans, label=f"confounds of run {r}")
        runs.append(RunInputs(img, n_scans, ev, conf, {"run": r}))
    return runs


def load_trace(path: str | os.PathLike, what: str = "Trace"):
    """A Trace from Parquet, every problem named: not Parquet, a column of the wrong type
    (with an example value), missing columns, no rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from darkcontrol.trace import COLUMNS, read_trace, validate_trace

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what} {str(p)!r} does not exist")
    if p.is_dir():
        raise ValueError(f"{what} {str(p)!r} is a folder; give a file")
    if p.stat().st_size == 0:
        raise ValueError(f"{what} {str(p)!r} is empty (0 bytes)")
    try:
        table = pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(
            f"{what} {str(p)!r} is not a readable Parquet file ({type(exc).__name__}); give the "
            "file written by `darkcontrol simulate`"
        ) from None
    frame = table.to_pandas()
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} {str(p)!r} lacks Trace column(s) {missing}")
    for col, dtype in COLUMNS.items():
        try:
            frame[col].astype(dtype)
        except (TypeError, ValueError):
            values = frame[col].dropna()
            example = next(
                (v for v in values if not _castable(v, dtype)),
                values.iloc[0] if len(values) else None,
            )
            raise ValueError(
                f"{what} {str(p)!r}: column {col!r} must hold {_dtype_words(dtype)}, got "
                f"{example!r} (dtype {frame[col].dtype})"
            ) from None
    if len(frame) == 0:
        raise ValueError(f"{what} {str(p)!r} has no rows")
    return validate_trace(read_trace(p))


def _dtype_words(dtype: Any) -> str:
    d = str(dtype)
    if d.startswith(("Int", "int")):
        return "whole numbers (or n/a)"
    if d.startswith("float"):
        return "numbers"
    return f"values of type {d}"


def _castable(value: Any, dtype: Any) -> bool:
    import pandas as pd

    try:
        pd.Series([value]).astype(dtype)
        return True
    except (TypeError, ValueError):
        return False
