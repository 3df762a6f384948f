"""A whole GLM study in one call: per participant ROI + voxelwise first levels, then the group.

For each participant (one or more runs with their design matrices): ROI signals of the atlas
and the ROI x regressor table (:func:`fit_roi_glm`, runs combined by fixed effects); the
voxelwise first level and one z map per contrast; across participants, the ROI one-sample
t-tests and the voxelwise second level (``SecondLevelModel``) of each contrast, thresholded with
FDR or Bonferroni over the voxels analysed, with a peak table per contrast. Voxels of the mask
without signal in a participant's runs are excluded from that participant's fits (and the
group map uses the voxels with signal in everyone); the counts land in ``StudyResult.notes``.
With one participant the participant's own thresholded maps are reported instead of a group.
:func:`glm_files` is the engine of ``darkcontrol glm`` (files in, checked, outputs out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol.neuro.design import task_columns
from darkcontrol.neuro.glm import (
    HEIGHT_CONTROLS,
    GLMConfig,
    _contrast_name,
    contrast_maps,
    fit_first_level,
    fit_roi_glm,
    fit_second_level,
    peak_table,
    roi_second_level,
    roi_signals,
    signal_mask,
    threshold_map,
)


@dataclass
class Participant:
    """One participant's runs (4D images or paths) and one design matrix per run."""

    imgs: Sequence[Any]
    designs: Sequence[pd.DataFrame]
    label: str = ""

    def __post_init__(self) -> None:
        self.imgs = list(self.imgs) if isinstance(self.imgs, (list, tuple)) else [self.imgs]
        if isinstance(self.designs, pd.DataFrame):
            self.designs = [self.designs]
        self.designs = list(self.designs)
        if len(self.imgs) != len(self.designs):
            raise ValueError(f"{len(self.imgs)} runs but {len(self.designs)} design matrices")


@dataclass
class StudyConfig:
    """What to fit and how to threshold."""

    glm: GLMConfig  # first-level choices, including the real t_r
    contrasts: tuple[str, ...] | None = None  # expressions; default: the task columns
    alpha: float = 0.05  # error rate of the voxelwise threshold
    height_control: str = "fdr"  # "fdr" | "bonferroni" | "fpr"
    cluster_threshold: int = 0  # voxels, minimum cluster size
    voxelwise: bool = True  # fit voxelwise maps (ROI tables are always fitted)

    def __post_init__(self) -> None:
        if not isinstance(self.glm, GLMConfig):
            raise TypeError(f"glm must be a GLMConfig, got {type(self.glm).__name__}")
        if self.height_control not in HEIGHT_CONTROLS:
            raise ValueError(
                f"height_control must be one of {HEIGHT_CONTROLS}, got {self.height_control!r}"
            )
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.contrasts is not None:
            self.contrasts = tuple(self.contrasts)


@dataclass
class StudyResult:
    """Everything a report needs."""

    roi_tables: list[pd.DataFrame]  # per participant: roi, regressor, run, beta, se, t, ...
    roi_group: pd.DataFrame | None  # per (roi, regressor): n, mean, sd, t, p, z (>= 2 people)
    maps: dict[str, dict[str, Any]]  # contrast -> {"z", "thresholded", "threshold", "level"}
    designs: list[list[pd.DataFrame]]  # per participant, per run
    config: dict = field(default_factory=dict)
    first_level_z: list[dict[str, Any]] = field(default_factory=list)  # per participant
    signal: list = field(default_factory=list)  # per participant: SignalMask (voxels used)
    notes: list[str] = field(default_factory=list)  # excluded voxels, missing ROIs


def analyze(
    participants: Sequence[Participant],
    mask_img,
    atlas,
    config: StudyConfig,
    *,
    progress: bool = False,
) -> StudyResult:
    """ROI and voxelwise first levels for each participant, then the group level."""
    if not participants:
        raise ValueError("no participants")
    if mask_img is None:
        raise ValueError("pass mask_img (nilearn's automatic mask can drop most voxels)")
    contrasts = config.contrasts or tuple(task_columns(participants[0].designs[0]))
    named = {_contrast_name(c): c for c in contrasts}
    iterator = list(enumerate(participants))
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="first levels", leave=False)
    tables, effects, zs, signals, notes = [], {n: [] for n in named}, [], [], []
    for i, p in iterator:
        who = p.label or f"participant {i + 1}"
        usable = signal_mask(p.imgs, mask_img, label=who)
        signals.append(usable)
        notes.append(f"{who}: {usable.describe()}")
        sig = roi_signals(p.imgs, atlas, mask_img, config.glm.t_r, usable=usable)
        missing = sig[0].attrs.get("missing_rois", [])
        if missing:
            notes.append(f"{who}: ROIs {missing} have no voxel with signal (reported as n/a)")
        tables.append(fit_roi_glm(sig, p.designs, config.glm))
        if config.voxelwise:
            fit = fit_first_level(p.imgs, p.designs, usable.img, config.glm)
            maps = contrast_maps(fit, named)
            for n in named:
                effects[n].append(maps[n]["effect"])
            zs.append({n: maps[n]["z"] for n in named})
    group = roi_second_level(tables) if len(participants) > 1 else None
    out_maps: dict[str, dict[str, Any]] = {}
    if config.voxelwise:
        from nilearn.image import new_img_like

        common = np.logical_and.reduce([np.asarray(u.img.dataobj) > 0 for u in signals])
        if not common.any():
            raise ValueError("no voxel carries signal in every participant: no group map")
        analysed = new_img_like(signals[0].img, common.astype(np.uint8))
        for n in named:
            if len(participants) > 1:
                z = fit_second_level(effects[n], analysed)["z"]
                level = f"second level (n = {len(participants)})"
            else:
                z, level = zs[0][n], "first level"
            # the correction counts the voxels analysed (those with signal), nothing else
            thr_img, thr = threshold_map(
                z, analysed, config.alpha, config.height_control, config.cluster_threshold
            )
            out_maps[n] = {
                "z": z,
                "thresholded": thr_img,
                "threshold": thr,
                "level": level,
                "expression": named[n],
                "peaks": peak_table(
                    thr_img, thr, atlas, cluster_threshold=config.cluster_threshold
                ),
            }
    cfg = asdict(config)
    cfg["contrasts"] = list(contrasts)
    return StudyResult(
        roi_tables=tables,
        roi_group=group,
        maps=out_maps,
        designs=[list(p.designs) for p in participants],
        config=cfg,
        first_level_z=zs,
        signal=signals,
        notes=notes,
    )


#: files ``glm_files`` writes into its output folder (z maps and peaks add one per contrast)
GLM_OUTPUTS = ("roi_table.tsv", "config.json", "report.html", "zmap_*.nii.gz", "peaks_*.tsv")


def glm_files(
    bold: Sequence[str],
    t_r: float,
    out: str,
    *,
    events: Sequence[str] | None = None,
    trace: str | None = None,
    quantities: str = "rpe",
    phases: str = "online",
    regressor_names: str = "quantity",
    modulation_column: str | None = None,
    confounds: Sequence[str] | None = None,
    confound_strategy: Sequence[str] = ("motion6",),
    confound_nan: str = "error",
    mask: str = "mni",
    atlas: str = "dmn",
    atlas_names: Sequence[str] | None = None,
    radius: float = 6.0,
    config: StudyConfig,
    design_options: dict | None = None,
    force: bool = False,
    progress: bool = False,
    run_config: dict | None = None,
    echo=print,
) -> dict[str, Any]:
    """The engine of ``darkcontrol glm``: one participant's runs from files to a report.

    Every input is checked before any fit (BOLD readability and TR, events or Trace, confounds,
    mask, atlas); voxels without signal are excluded and counted; outputs (``GLM_OUTPUTS``)
    are written atomically into ``out``, refused if present unless ``force``. Returns the
    paths written and the :class:`StudyResult`.
    """
    import json
    from pathlib import Path

    from darkcontrol import __version__
    from darkcontrol._util import atomic_write_text
    from darkcontrol.neuro.atlas import atlas_from_labels, dmn_atlas
    from darkcontrol.neuro.design import DesignConfig, make_design
    from darkcontrol.neuro.io import align_mask, check_events_in_scan, load_runs, open_nifti
    from darkcontrol.neuro.report import study_report

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder")
    existing = sorted({p for pat in GLM_OUTPUTS for p in out.glob(pat)}) if out.is_dir() else []
    if existing and not force:
        raise ValueError(
            f"{out} already holds GLM outputs ({', '.join(p.name for p in existing[:4])}"
            f"{' ...' if len(existing) > 4 else ''}); pass --force to replace them, or choose "
            "another --out"
        )
    runs = load_runs(
        bold,
        t_r,
        events=events,
        confounds=confounds,
        confound_strategy=list(confound_strategy),
        confound_nan=confound_nan,
        events_kwargs={"modulation": modulation_column} if events else None,
    )
    if trace is not None:
        from darkcontrol.neuro.events import trace_to_events
        from darkcontrol.neuro.io import load_trace
        from darkcontrol.regions import RegionMap

        tr_frame = load_trace(trace)
        trace_runs = sorted(int(r) for r in tr_frame["run"].unique())
        if len(trace_runs) != len(runs):
            raise ValueError(f"Trace has runs {trace_runs} but {len(runs)} BOLD run(s) given")
        for r, tr_run in zip(runs, trace_runs):
            r.events = trace_to_events(
                tr_frame,
                region_map=RegionMap.paper(),
                run=tr_run,
                quantities=quantities,
                phases=tuple(p.strip() for p in phases.split(",")),
                label=regressor_names,
            )
            check_events_in_scan(r.events, r.n_scans, t_r, f"Trace run {tr_run}")
    if any(r.events is None for r in runs):
        raise ValueError("give events (one events.tsv per run) or a Trace")
    opts = dict(design_options or {})
    designs = [
        make_design(
            r.events, DesignConfig(t_r=t_r, n_scans=r.n_scans, **opts), confounds=r.confounds
        )
        for r in runs
    ]
    bold0 = runs[0].img
    if mask == "mni":
        from nilearn.datasets import load_mni152_brain_mask

        res = int(round(float(np.mean(bold0.header.get_zooms()[:3]))))
        mask_img = align_mask(load_mni152_brain_mask(resolution=max(res, 1)), bold0)
        mask_note = f"mask: nilearn MNI152 brain mask at {res} mm on the BOLD grid"
    else:
        mask_img = align_mask(mask, bold0)
        mask_note = f"mask: {mask}"
    echo(mask_note)
    if atlas == "dmn":
        from nilearn.image import index_img

        roi_atlas = dmn_atlas(index_img(bold0, 0), radius=radius, mask_img=mask_img)
    else:
        if not atlas_names:
            raise ValueError("--atlas with a label image needs --atlas-names")
        labels = open_nifti(atlas, "atlas label image", ndim=3)
        roi_atlas = atlas_from_labels(labels, list(atlas_names), bold0.slicer[..., 0])
    result = analyze(
        [Participant([r.img for r in runs], designs)],
        mask_img,
        roi_atlas,
        config,
        progress=progress,
    )
    for note in result.notes:
        echo(note)
    written = [
        atomic_write_text(
            out / "roi_table.tsv",
            result.roi_tables[0].to_csv(sep="\t", index=False, na_rep="n/a"),
        )
    ]
    for name, m in result.maps.items():
        written.append(_write_nifti(m["z"], out / f"zmap_{name}.nii.gz"))
        written.append(_write_nifti(m["thresholded"], out / f"zmap_{name}_thresholded.nii.gz"))
        written.append(
            atomic_write_text(
                out / f"peaks_{name}.tsv", m["peaks"].to_csv(sep="\t", index=False, na_rep="n/a")
            )
        )
    meta = {"darkcontrol_version": __version__, "cli": run_config or {}, "study": result.config}
    written.append(atomic_write_text(out / "config.json", json.dumps(meta, indent=2, default=str)))
    notes = [mask_note]
    written.append(study_report(result, out / "report.html", run_config=run_config, notes=notes))
    return {"result": result, "written": written, "mask_note": mask_note}


def _write_nifti(img, path):
    """Gzipped NIfTI written atomically, the package version in the header's description."""
    import gzip

    import nibabel as nib

    from darkcontrol import __version__
    from darkcontrol._util import atomic_write_bytes

    img = nib.Nifti1Image(img.get_fdata(dtype="float32"), img.affine, img.header)
    img.header["descrip"] = f"darkcontrol {__version__} z map"[:79]
    return atomic_write_bytes(path, gzip.compress(img.to_bytes(), compresslevel=6))
