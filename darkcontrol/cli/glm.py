"""``darkcontrol glm``: fit ROI and voxelwise GLMs to one participant's BOLD runs, report."""

from __future__ import annotations

import argparse

from darkcontrol.cli._args import (
    add_force,
    add_quiet,
    int_at_least,
    positive_float,
    show_progress,
    unit_interval,
)

HELP = """Fit first-level GLMs to one participant's BOLD runs (4D NIfTI in MNI space, one file per
run) and write an HTML report, the ROI x regressor table (TSV), and unthresholded and
thresholded z maps (NIfTI) per contrast.

Regressors come from BIDS events.tsv files (one per run) or from a Trace (Parquet; Trace run k
-> k-th BOLD run) with --quantities. Inputs are checked first: 4D images, --tr against the
header's pixdim[4], events within the scan, confounds rows = scans and no NaN (fMRIPrep's n/a
first row of derivatives: --confound-nan fill_first_row). ROIs: the DMN atlas (spheres at
Dosenbach 2010 / Seitzman 2018 coordinates shipped with nilearn) or a label image with names.
The mask defaults to nilearn's MNI152 brain mask on the BOLD grid; voxels without signal in it
(all zero, NaN, constant: a partial field of view) are excluded and counted before any fit.
Outputs: roi_table.tsv (beta, t, p, FDR- and Bonferroni-corrected p over ROI x regressor,
partial r), zmap_<contrast>[_thresholded].nii.gz, peaks_<contrast>.tsv (clusters, MNI peaks,
nearest atlas label), report.html, config.json; existing outputs are refused unless --force.

examples:
  darkcontrol glm --bold run1.nii.gz run2.nii.gz --events run1_events.tsv run2_events.tsv \\
      --tr 2 --confounds run1_confounds.tsv run2_confounds.tsv --out glm/
  darkcontrol glm --bold sub01.nii.gz --trace trace.parquet --quantities rpe,q --tr 2 \\
      --contrasts rpe q "q - rpe" --height-control bonferroni --out glm/
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "glm",
        help="fit ROI + voxelwise GLMs to BOLD runs, write an HTML report",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--bold", nargs="+", required=True, help="4D NIfTI, one per run")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--events", nargs="+", help="BIDS events.tsv, one per run")
    src.add_argument("--trace", help="Trace Parquet (runs in order = BOLD runs)")
    p.add_argument("--tr", type=positive_float, required=True, help="repetition time in seconds")
    p.add_argument("--quantities", default="rpe", help="with --trace: comma-separated")
    p.add_argument("--phases", default="online", help="with --trace: online,offline")
    p.add_argument(
        "--regressor-names",
        choices=["quantity", "node"],
        default="quantity",
        help="with --trace: name a node's regressor after its quantity (q, abs_rpe; default) "
        "or after the node (vmPFC, rTPJ)",
    )
    p.add_argument("--modulation-column", default=None, help="events column used as modulation")
    p.add_argument("--confounds", nargs="+", help="fMRIPrep confounds.tsv, one per run")
    p.add_argument(
        "--confound-strategy",
        default="motion6",
        help="motion6 | motion12 | motion24 | wm_csf | global_signal | columns, "
        "comma-separated (default motion6)",
    )
    p.add_argument("--confound-nan", choices=["error", "fill_first_row"], default="error")
    p.add_argument("--mask", default="mni", help="brain mask NIfTI, or 'mni' (default)")
    p.add_argument("--atlas", default="dmn", help="'dmn' (default) or a label image NIfTI")
    p.add_argument("--atlas-names", default=None, help="names of labels 1..K, comma-separated")
    p.add_argument("--radius", type=positive_float, default=6.0, help="DMN sphere radius in mm")
    p.add_argument(
        "--contrasts",
        nargs="+",
        default=None,
        help="contrast expressions (default: every task regressor)",
    )
    p.add_argument("--hrf", default="spm", help="nilearn hrf_model (default spm)")
    p.add_argument("--high-pass", type=float, default=0.01, help="Hz (cosine drift)")
    p.add_argument("--slice-time-ref", type=float, default=0.0, help="fraction of the TR")
    p.add_argument("--noise-model", choices=["ar1", "ar1_uncorrected", "ols"], default="ar1")
    p.add_argument(
        "--scaling",
        choices=["psc", "none"],
        default="psc",
        help="psc: percent signal change (default) | none: raw units",
    )
    p.add_argument("--smoothing", type=positive_float, default=None, help="FWHM mm (voxelwise)")
    p.add_argument(
        "--alpha", type=unit_interval, default=0.05, help="voxelwise error rate, in (0, 1)"
    )
    p.add_argument("--height-control", choices=["fdr", "bonferroni", "fpr"], default="fdr")
    p.add_argument(
        "--cluster-threshold", type=int_at_least(0), default=0, help="min cluster size (voxels)"
    )
    p.add_argument("--out", default="glm", help="output folder (default glm/)")
    add_force(p, "GLM outputs in --out")
    add_quiet(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from darkcontrol.neuro.glm import GLMConfig, format_p, participant_effects
    from darkcontrol.neuro.study import StudyConfig, glm_files

    strategy = [s.strip() for s in args.confound_strategy.split(",") if s.strip()]
    hrf = None if args.hrf.lower() == "none" else args.hrf
    config = StudyConfig(
        glm=GLMConfig(
            t_r=args.tr,
            noise_model=args.noise_model,
            signal_scaling=None if args.scaling == "none" else "psc",
            smoothing_fwhm=args.smoothing,
        ),
        contrasts=tuple(args.contrasts) if args.contrasts else None,
        alpha=args.alpha,
        height_control=args.height_control,
        cluster_threshold=args.cluster_threshold,
    )
    res = glm_files(
        args.bold,
        args.tr,
        args.out,
        events=args.events,
        trace=args.trace,
        quantities=args.quantities,
        phases=args.phases,
        regressor_names=args.regressor_names,
        modulation_column=args.modulation_column,
        confounds=args.confounds,
        confound_strategy=strategy,
        confound_nan=args.confound_nan,
        mask=args.mask,
        atlas=args.atlas,
        atlas_names=args.atlas_names.split(",") if args.atlas_names else None,
        radius=args.radius,
        config=config,
        design_options={
            "hrf_model": hrf,
            "high_pass": args.high_pass,
            "slice_time_ref": args.slice_time_ref,
        },
        force=args.force,
        progress=show_progress(args),
        run_config={k: v for k, v in vars(args).items() if k != "run"},
    )
    result = res["result"]
    table = participant_effects(result.roi_tables[0])
    best = table.dropna(subset=["p"]).sort_values("p").head(5)
    for _, row in best.iterrows():
        print(
            f"{row['regressor']} in {row['roi']}: beta {row['beta']:.3g}, t {row['t']:.2f}, "
            f"p {format_p(row['p'])} (FDR {format_p(row['p_fdr'])}, Bonferroni "
            f"{format_p(row['p_bonferroni'])})"
        )
    control = f"{args.height_control} alpha={args.alpha}"
    for name, m in result.maps.items():
        n = int((m["thresholded"].get_fdata() != 0).sum())
        if n:
            print(
                f"{name}: {n} voxels with |z| > {m['threshold']:.2f} ({control}), "
                f"{len(m['peaks'])} peaks in peaks_{name}.tsv"
            )
        else:
            print(f"{name}: nothing survives ({control})")
    print(f"report: {res['written'][-1]}")
    return 0
