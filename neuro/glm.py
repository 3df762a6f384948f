"""GLMs on fMRI data through nilearn: ROI-level, voxelwise, second level, model comparison.

First level (one run): y = X beta + e with AR(1) noise e_t = rho e_{t-1} + u_t, fitted by
pre-whitening with each voxel's / ROI's rho (nilearn's ``ARModel``, binned to 0.01 as nilearn's
``run_glm`` does). nilearn's own ``run_glm(noise_model="ar1")`` estimates rho as the lag-1
autocorrelation of the OLS residuals, which is biased towards negative values by the residual-
forming matrix R = I - X X^+ (by about -0.1 with 100 scans and 15 columns); under-whitening
then inflates z (sd 1.09-1.15 instead of 1 on null data; see tests). ``noise_model="ar1"``
here corrects the bias in the spirit of Worsley et al. (2002, NeuroImage 15:1-15, section
3.3): rho is the value whose expected residual lag-1 autocorrelation under AR(1) noise,
tr(R D R V_rho) / tr(R V_rho), equals the observed one (see :func:`ar1_bias_corrected`).
Voxelwise, the corrected rho map is then smoothed within the mask
(``ar1_smoothing_fwhm``, 15 mm as in Worsley's fmristat), since noisy per-voxel estimates
under-whiten too. ``"ar1_uncorrected"`` is nilearn's estimator (FirstLevelModel voxelwise) and
``"ols"`` assumes white noise.

A contrast c gives the effect c'beta, its t = c'beta / sqrt(c' Cov c), and
nilearn's z (z = Phi^-1(1 - p) with p the one-sided p of t; so z > 0 for positive effects).
We also report the two-sided p. With ``signal_scaling="psc"`` the data are first expressed in
percent of their temporal mean (nilearn's ``mean_scaling``), so betas are % signal change.

Several runs of one participant are combined by fixed effects: weights w_r = 1/var_r,
beta = sum w_r beta_r / sum w_r, var = 1 / sum w_r, dof = sum dof_r.

Second level (participants): the one-sample t-test of the participants' first-level effects
(the summary-statistics approach of Holmes & Friston 1998, NeuroImage 7:S754), voxelwise with
nilearn's ``SecondLevelModel`` and per ROI with scipy.

Voxels without signal (all zero, NaN or constant over a run: a partial field of view, voxels
masked out in preprocessing) are removed from the analysis mask before any fit
(:func:`signal_mask`), since nilearn would fit them and return z values from rounding noise;
ROIs are averaged over their usable voxels, and an ROI without any is reported missing (NaN),
not 0.

Voxelwise maps are thresholded with ``threshold_stats_img``: FDR (Benjamini & Hochberg 1995,
JRSS-B 57:289-300) or Bonferroni (family-wise) over the voxels analysed; :func:`peak_table`
lists their clusters and peaks (nilearn's ``get_clusters_table``) with the nearest atlas label.
ROI tables carry p adjusted over their ROI x regressor family (:func:`adjust_pvalues`: BH FDR
and Bonferroni) and effect sizes (partial r at the first level, Cohen's d at the second).

Model comparison (which candidate regressor does an ROI carry?): per candidate design, BIC =
n log(RSS/n) + k log n of the OLS fit, and the cross-validated R^2 of the task regressors after
projecting the shared nuisance columns (drifts, confounds, constant) out of data and regressors
(Frisch-Waugh-Lovell), with runs (or contiguous blocks of one run) as folds.

nilearn traps handled: ``mask_img`` is always passed (its automatic mask can keep almost
nothing of synthetic data), and the real ``t_r`` is always passed (``signal.clean`` assumes
2.5 s otherwise); ``t_r`` has no default here.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from darkcontrol.neuro.design import check_rank, task_columns
from darkcontrol.neuro.report import format_p  # noqa: F401  (re-exported)

NOISE_MODELS = ("ar1", "ar1_uncorrected", "ols")
SCALINGS = ("psc", None)
HEIGHT_CONTROLS = ("fdr", "bonferroni", "fpr")


@dataclass
class GLMConfig:
    """Choices of a first-level GLM; ``t_r`` is required (no silent 2.5 s)."""

    t_r: float  # s, the real repetition time of the runs
    noise_model: str = "ar1"  # "ar1" (bias-corrected rho) | "ar1_uncorrected" (nilearn) | "ols"
    signal_scaling: str | None = "psc"  # "psc": % of temporal mean | None: raw units
    smoothing_fwhm: float | None = None  # mm, voxelwise only
    # mm, voxelwise "ar1": smooth the bias-corrected AR(1) map within the mask before
    # whitening (Worsley et al. 2002, section 3.4: per-voxel estimates are noisy and noisy
    # rho under-whitens); None: each voxel's own estimate
    ar1_smoothing_fwhm: float | None = 15.0
    minimize_memory: bool = True  # voxelwise: keep only what contrasts need

    def __post_init__(self) -> None:
        if self.t_r is None or not np.isfinite(self.t_r) or float(self.t_r) <= 0:
            raise ValueError(f"t_r must be the real repetition time in seconds, got {self.t_r!r}")
        self.t_r = float(self.t_r)
        if self.noise_model not in NOISE_MODELS:
            raise ValueError(f"noise_model must be one of {NOISE_MODELS}, got {self.noise_model!r}")
        if self.signal_scaling not in SCALINGS:
            raise ValueError(
                f"signal_scaling must be one of {SCALINGS}, got {self.signal_scaling!r}"
            )
        if self.ar1_smoothing_fwhm is not None and self.ar1_smoothing_fwhm <= 0:
            raise ValueError(
                f"ar1_smoothing_fwhm must be > 0 mm or None, got {self.ar1_smoothing_fwhm}"
            )
        if self.smoothing_fwhm is not None and self.smoothing_fwhm < 0:
            raise ValueError(f"smoothing_fwhm must be >= 0 mm, got {self.smoothing_fwhm}")


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


# -- voxels that carry signal ------------------------------------------------------------------
#: a voxel's time series is constant if its sd is at most this fraction of max(|mean|, 1)
CONSTANT_RTOL = 1e-6


@dataclass
class SignalMask:
    """The voxels of a mask whose time series carry signal in every run.

    nilearn fits voxels without signal (all zero, NaN-filled, constant: outside a partial
    field of view, or masked out by preprocessing) and returns z values from rounding noise
    (beta and SE ~1e-14), which thresholding then reports as effects. Such voxels are removed
    from the analysis mask before any fit.
    """

    img: Any  #: binary mask image of the usable voxels
    n_mask: int  #: voxels in the mask given
    n_nonfinite: int  #: voxels with a NaN/inf value in some run
    n_zero: int  #: voxels that are exactly 0 throughout some run (and finite)
    n_constant: int  #: other voxels with zero variance in some run

    @property
    def n_excluded(self) -> int:
        return self.n_nonfinite + self.n_zero + self.n_constant

    @property
    def n_usable(self) -> int:
        return self.n_mask - self.n_excluded

    def describe(self) -> str:
        if not self.n_excluded:
            return f"all {self.n_mask:,} mask voxels carry signal"
        return (
            f"excluded {self.n_excluded:,} of {self.n_mask:,} mask voxels without signal "
            f"({self.n_zero:,} all zero, {self.n_nonfinite:,} NaN/inf, {self.n_constant:,} "
            f"constant); {self.n_usable:,} analysed"
        )


def signal_mask(imgs, mask_img, *, label: str = "") -> SignalMask:
    """:class:`SignalMask` of ``imgs`` (one participant's 4D runs) inside ``mask_img``.

    Raises ``ValueError`` if no voxel of the mask carries signal in every run. Each run is read
    once (a compressed file cannot be read slice by slice cheaply: a z slice spans every
    volume) in its stored dtype, then checked one slice at a time in float64.
    """
    from nilearn.image import load_img, new_img_like

    if mask_img is None:
        raise ValueError("pass mask_img (nilearn's automatic mask can drop most voxels)")
    mask_img = load_img(mask_img)
    mask = np.asarray(mask_img.dataobj) > 0
    if mask.ndim != 3:
        raise ValueError(f"the mask is a {mask.ndim}D image of shape {mask.shape}; a mask is 3D")
    nonfinite = np.zeros(mask.shape, bool)
    zero = np.zeros(mask.shape, bool)
    constant = np.zeros(mask.shape, bool)
    for img in _as_list(imgs):
        img = load_img(img)
        if img.shape[:3] != mask.shape:
            raise ValueError(f"BOLD grid {img.shape[:3]} differs from the mask's {mask.shape}")
        data = np.asanyarray(img.dataobj)  # one read of the file, stored dtype
        for k in range(mask.shape[2]):
            m = mask[:, :, k]
            if not m.any():
                continue
            y = np.asarray(data[:, :, k, :], dtype=np.float64)[m]  # voxels x time
            bad = ~np.isfinite(y).all(axis=1)
            with np.errstate(invalid="ignore"):
                allzero = ~bad & (y == 0).all(axis=1)
                sd = y.std(axis=1)
                flat = (
                    ~bad
                    & ~allzero
                    & (sd <= CONSTANT_RTOL * np.maximum(np.abs(y.mean(axis=1)), 1.0))
                )
            for arr, hit in ((nonfinite, bad), (zero, allzero), (constant, flat)):
                sl = arr[:, :, k]
                sl[m] |= hit
    zero &= ~nonfinite
    constant &= ~(nonfinite | zero)
    usable = mask & ~(nonfinite | zero | constant)
    out = SignalMask(
        img=new_img_like(mask_img, usable.astype(np.uint8)),
        n_mask=int(mask.sum()),
        n_nonfinite=int((nonfinite & mask).sum()),
        n_zero=int((zero & mask).sum()),
        n_constant=int((constant & mask).sum()),
    )
    if out.n_usable == 0:
        raise ValueError(
            f"{label + ': ' if label else ''}no voxel of the mask carries signal (of "
            f"{out.n_mask:,} mask voxels: {out.n_zero:,} all zero, {out.n_nonfinite:,} "
            f"NaN/inf, {out.n_constant:,} constant over time): check the BOLD run and the mask"
        )
    return out


def _check_designs(designs, n_runs: int, n_scans: Sequence[int]) -> list[pd.DataFrame]:
    designs = _as_list(designs)
    if len(designs) != n_runs:
        raise ValueError(f"{n_runs} run(s) but {len(designs)} design matrices")
    for r, (dm, n) in enumerate(zip(designs, n_scans)):
        if not isinstance(dm, pd.DataFrame):
            raise TypeError(f"design {r} must be a DataFrame, got {type(dm).__name__}")
        if len(dm) != n:
            raise ValueError(f"design {r} has {len(dm)} rows but run {r} has {n} scans")
        bad = [c for c in dm.columns if not str(c).isidentifier()]
        if bad:
            raise ValueError(f"design {r} columns {bad} are not identifiers (contrasts break)")
        check_rank(dm)
    return designs


# -- the first-level core ---------------------------------------------------------------------
_RHO_GRID = np.round(np.arange(-0.9, 0.951, 0.01), 2)


def ar1_bias_corrected(X: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """AR(1) coefficient of each column of OLS ``residuals``, corrected for the bias of the
    residual-forming matrix R = I - X X^+.

    The observed ratio r = sum_t e_t e_(t+1) / sum_t e_t^2 is matched to its expectation under
    AR(1) noise with coefficient rho, g(rho) = tr(R D R V_rho) / tr(R V_rho) with D the
    symmetric lag-1 band / 2 and V_rho[i, j] = rho^|i - j| (the idea of Worsley et al. 2002,
    section 3.3, without their first-order truncation, which leaves rho biased by ~ -0.02 to
    -0.07); g is tabulated on a 0.01 grid of rho in [-0.9, 0.95] and inverted by interpolation.
    """
    n = X.shape[0]
    R = np.eye(n) - X @ np.linalg.pinv(X)
    D = (np.eye(n, k=1) + np.eye(n, k=-1)) / 2.0
    A = R @ D @ R
    # sum(A * V_rho) = sum_k rho^k (sum of A's k-th off-diagonals, both sides)
    lag = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).ravel()
    a = np.bincount(lag, weights=A.ravel(), minlength=n)
    b = np.bincount(lag, weights=R.ravel(), minlength=n)
    powers = _RHO_GRID[:, None] ** np.arange(n)[None, :]
    g = (powers @ a) / (powers @ b)
    if not np.all(np.diff(g) > 0):
        raise RuntimeError("the AR(1) bias map is not monotone for this design")
    den = (residuals**2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, (residuals[1:] * residuals[:-1]).sum(axis=0) / den, 0.0)
    return np.interp(ratio, g, _RHO_GRID)


def run_first_level_glm(
    Y: np.ndarray, X: np.ndarray, noise_model: str = "ar1", rho: np.ndarray | None = None
):
    """Fit y = X beta + e for each column of ``Y``; returns nilearn-style ``(labels, results)``
    (``results[label]`` a RegressionResults for the columns with that label) that
    ``nilearn.glm.contrasts.compute_contrast`` accepts. ``rho`` (per column) overrides the
    estimated AR(1) coefficients of ``noise_model="ar1"`` (e.g. spatially smoothed ones)."""
    from nilearn.glm.first_level import run_glm
    from nilearn.glm.regression import ARModel, OLSModel

    if noise_model not in NOISE_MODELS:
        raise ValueError(f"noise_model must be one of {NOISE_MODELS}, got {noise_model!r}")
    if noise_model == "ols":
        return run_glm(Y, X, noise_model="ols")
    if noise_model == "ar1_uncorrected":
        return run_glm(Y, X, noise_model="ar1")
    if rho is None:
        rho = ar1_bias_corrected(X, OLSModel(X).fit(Y).residuals)
    rho = np.round(np.clip(np.asarray(rho, dtype=np.float64), -0.99, 0.99), 2)
    results = {}
    for value in np.unique(rho):
        results[float(value)] = ARModel(X, float(value)).fit(Y[:, rho == value])
    return rho.astype(float), results


def _contrast_arrays(labels, results, con: np.ndarray) -> tuple[np.ndarray, ...]:
    from nilearn.glm.contrasts import compute_contrast

    c = compute_contrast(labels, results, con, stat_type="t")
    dof = np.full(np.ravel(c.effect_size()).shape, float(c.dof))
    return np.ravel(c.effect_size()), np.ravel(c.effect_variance()), dof


def _combine_runs(per_run: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Fixed effects: inverse-variance weighted mean, var = 1 / sum w, dof = sum dof."""
    if len(per_run) == 1:
        return per_run[0]
    w = np.array([1.0 / v for _, v, _ in per_run])
    effect = (w * np.array([e for e, _, _ in per_run])).sum(axis=0) / w.sum(axis=0)
    return effect, 1.0 / w.sum(axis=0), np.array([d for _, _, d in per_run]).sum(axis=0)


def t_to_z(t, dof) -> np.ndarray:
    """The z with the same one-sided p as t (nilearn's convention, sign kept), computed in log
    space so that |t| = 40 gives z ~ 13 rather than inf."""
    from scipy.special import ndtri_exp

    t = np.asarray(t, dtype=np.float64)
    logp = stats.t.logsf(np.abs(t), dof)
    return np.sign(t) * -ndtri_exp(logp)


def _t_z_p(effect, variance, dof):
    t = effect / np.sqrt(variance)
    z = t_to_z(t, dof)
    p = 2.0 * stats.t.sf(np.abs(t), dof)
    return t, z, p


# -- ROI level ----------------------------------------------------------------------------------
def roi_signals(imgs, atlas, mask_img, t_r: float, *, usable=None) -> list[pd.DataFrame]:
    """Mean signal of each atlas ROI per run, over the ROI's voxels that carry signal.

    Returns one DataFrame (scans x ROI names) per run. Voxels without signal (see
    :func:`signal_mask`; ``usable`` passes one already computed) are left out of the means;
    an ROI with no usable voxel is *missing*: its column is absent from the frames and listed
    in ``frame.attrs["missing_rois"]`` (never a column of zeros). ``attrs["n_voxels"]`` holds
    each ROI's usable voxel count.
    """
    from nilearn.image import load_img

    if mask_img is None:
        raise ValueError("pass mask_img (nilearn's automatic mask can drop most voxels)")
    if t_r is None:
        raise ValueError("pass the real t_r (nilearn's signal.clean assumes 2.5 s)")
    imgs = [load_img(i) for i in _as_list(imgs)]
    usable = usable if usable is not None else signal_mask(imgs, mask_img)
    keep = np.asarray(usable.img.dataobj) > 0
    labels = np.rint(np.asarray(atlas.labels_img.dataobj)).astype(int)
    if labels.shape != keep.shape:
        raise ValueError(f"atlas grid {labels.shape} differs from the BOLD grid {keep.shape}")
    counts = {n: int(((labels == k) & keep).sum()) for k, n in enumerate(atlas.names, start=1)}
    present = [n for n in atlas.names if counts[n] > 0]
    missing = [n for n in atlas.names if counts[n] == 0]
    if not present:
        raise ValueError(
            f"no ROI of the atlas has a voxel with signal (ROIs {list(atlas.names)}): the BOLD "
            "data do not cover them"
        )
    codes = {n: k for k, n in enumerate(atlas.names, start=1)}
    out = []
    for img in imgs:
        sums = np.zeros((len(atlas.names) + 1, img.shape[3]))
        data = np.asanyarray(img.dataobj)  # one read of the file, stored dtype
        for z in range(keep.shape[2]):  # float64 one slice at a time
            m = keep[:, :, z] & (labels[:, :, z] > 0)
            if m.any():
                y = np.asarray(data[:, :, z, :], dtype=np.float64)[m]
                np.add.at(sums, labels[:, :, z][m], y)
        cols = {n: sums[codes[n]] / counts[n] for n in present}
        frame = pd.DataFrame(cols, columns=present)
        frame.attrs["missing_rois"] = missing
        frame.attrs["n_voxels"] = counts
        out.append(frame)
    return out


def _contrast_rows(Y: np.ndarray, X: pd.DataFrame, names, regressors, noise_model) -> list[dict]:
    labels, results = run_first_level_glm(Y, X.to_numpy(np.float64), noise_model)
    rows = []
    for reg in regressors:
        con = (X.columns == reg).astype(np.float64)
        beta, var, dof = _contrast_arrays(labels, results, con)
        for i, roi in enumerate(names):
            rows.append(
                {
                    "roi": roi,
                    "regressor": reg,
                    "beta": beta[i],
                    "se": np.sqrt(var[i]),
                    "t": beta[i] / np.sqrt(var[i]),
                    "dof": dof[i],
                }
            )
    return rows


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    df["p"] = 2.0 * stats.t.sf(np.abs(df["t"]), df["dof"])  # two-sided
    df["z"] = t_to_z(df["t"].to_numpy(np.float64), df["dof"].to_numpy(np.float64))
    return df


def fit_roi_glm(
    signals: Sequence[pd.DataFrame] | pd.DataFrame,
    designs: Sequence[pd.DataFrame] | pd.DataFrame,
    config: GLMConfig,
    regressors: Sequence[str] | None = None,
) -> pd.DataFrame:
    """ROI x regressor table (``roi, regressor, run, beta, se, t, dof, p, z``) of one participant.

    ``signals``: per run, scans x ROI (from :func:`roi_signals`). ``regressors`` default to
    the task columns of the first design. Rows with ``run == "fixed"`` combine the runs.
    """
    if not isinstance(config, GLMConfig):
        raise TypeError(f"config must be a GLMConfig, got {type(config).__name__}")
    signals = _as_list(signals)
    designs = _check_designs(designs, len(signals), [len(s) for s in signals])
    regressors = list(regressors or task_columns(designs[0]))
    if not regressors:
        raise ValueError("no regressors to report; pass regressors=")
    frames = []
    for r, (sig, dm) in enumerate(zip(signals, designs)):
        missing = [c for c in regressors if c not in dm.columns]
        if missing:
            raise ValueError(f"design {r} lacks regressors {missing}")
        Y = sig.to_numpy(np.float64)
        if not np.isfinite(Y).all():
            raise ValueError(f"run {r}: ROI signals contain NaN/inf")
        if config.signal_scaling == "psc":
            from nilearn.glm.first_level import mean_scaling

            Y, _ = mean_scaling(Y)
        rows = _contrast_rows(Y, dm, list(sig.columns), regressors, config.noise_model)
        missing_rois = list(sig.attrs.get("missing_rois", []))
        rows += [
            {"roi": roi, "regressor": reg, "beta": np.nan, "se": np.nan, "t": np.nan}
            for roi in missing_rois
            for reg in regressors
        ]
        df = pd.DataFrame(rows)
        df["run"] = str(r)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    if len(signals) > 1:
        out = pd.concat([out, _fixed_effects(out)], ignore_index=True)
    out = _finish(out)
    n_vox = signals[0].attrs.get("n_voxels")
    out["n_voxels"] = out["roi"].map(n_vox) if n_vox else np.nan
    # effect size: the partial correlation of the regressor with the signal
    out["r_partial"] = out["t"] / np.sqrt(out["t"] ** 2 + out["dof"])
    out = add_corrections(out, by="run")
    return out[ROI_COLUMNS]


#: columns of a first-level ROI table
ROI_COLUMNS = [
    "roi",
    "regressor",
    "run",
    "n_voxels",
    "beta",
    "se",
    "t",
    "dof",
    "p",
    "p_fdr",
    "p_bonferroni",
    "z",
    "r_partial",
]


def adjust_pvalues(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FDR, Bonferroni) adjusted p-values over the finite entries of ``p`` (NaN kept).

    FDR: Benjamini & Hochberg (1995, JRSS-B 57:289-300) step-up, p_(i) m / i made monotone
    from the largest down; Bonferroni: min(1, m p), both with m the number of finite p-values.
    A family is the set of tests reported together (ROI x regressor here).
    """
    p = np.asarray(p, dtype=np.float64)
    fdr = np.full(p.shape, np.nan)
    bonf = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m:
        pv = p[ok]
        order = np.argsort(pv)
        ranked = pv[order] * m / np.arange(1, m + 1)
        adj = np.minimum.accumulate(ranked[::-1])[::-1]
        out = np.empty(m)
        out[order] = np.minimum(adj, 1.0)
        fdr[ok] = out
        bonf[ok] = np.minimum(pv * m, 1.0)
    return fdr, bonf


def add_corrections(table: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """``p_fdr`` and ``p_bonferroni`` columns: p adjusted over the table's tests (per ``by``
    group, e.g. per run level, so a family is the ROI x regressor tests of one fit)."""
    table = table.copy()
    table["p_fdr"] = np.nan
    table["p_bonferroni"] = np.nan
    groups = [table.index] if by is None else [g.index for _, g in table.groupby(by, sort=False)]
    for idx in groups:
        fdr, bonf = adjust_pvalues(table.loc[idx, "p"].to_numpy(np.float64))
        table.loc[idx, "p_fdr"] = fdr
        table.loc[idx, "p_bonferroni"] = bonf
    return table


def _fixed_effects(per_run: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (roi, reg), g in per_run.groupby(["roi", "regressor"], sort=False):
        if g["se"].isna().any():  # an ROI without usable voxels
            rows.append(
                {"roi": roi, "regressor": reg, "beta": np.nan, "se": np.nan, "t": np.nan}
                | {"dof": np.nan, "run": "fixed"}
            )
            continue
        w = 1.0 / g["se"].to_numpy() ** 2
        beta = float((w * g["beta"].to_numpy()).sum() / w.sum())
        se = float(np.sqrt(1.0 / w.sum()))
        rows.append(
            {
                "roi": roi,
                "regressor": reg,
                "beta": beta,
                "se": se,
                "t": beta / se,
                "dof": float(g["dof"].sum()),
                "run": "fixed",
            }
        )
    return pd.DataFrame(rows)


def participant_effects(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (roi, regressor): the fixed-effects row if there are several runs."""
    runs = table["run"].unique()
    return table[table["run"] == ("fixed" if "fixed" in runs else runs[0])].reset_index(drop=True)


def roi_second_level(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One-sample t-test across participants of each (roi, regressor) first-level beta.

    Returns ``roi, regressor, n, mean, sd, t, dof, p`` (two-sided) ``, p_fdr, p_bonferroni``
    (over all ROI x regressor tests), ``z`` and Cohen's ``d`` = mean / sd. Participants in
    whom an ROI has no usable voxel are left out of its test (``n`` counts the others).
    """
    if len(tables) < 2:
        raise ValueError(f"a second level needs >= 2 participants, got {len(tables)}")
    long = pd.concat(
        [participant_effects(t).assign(participant=i) for i, t in enumerate(tables)],
        ignore_index=True,
    )
    rows = []
    for (roi, reg), g in long.groupby(["roi", "regressor"], sort=False):
        b = g["beta"].to_numpy(np.float64)
        b = b[np.isfinite(b)]
        n = len(b)
        if n < 2:
            rows.append({"roi": roi, "regressor": reg, "n": n, "mean": np.nan, "sd": np.nan})
            rows[-1].update({"t": np.nan, "dof": np.nan})
            continue
        sd = float(b.std(ddof=1))
        t = float(b.mean() / (sd / np.sqrt(n))) if sd > 0 else np.inf * np.sign(b.mean())
        rows.append(
            {
                "roi": roi,
                "regressor": reg,
                "n": n,
                "mean": float(b.mean()),
                "sd": sd,
                "t": t,
                "dof": float(n - 1),
            }
        )
    out = _finish(pd.DataFrame(rows))
    out["d"] = out["mean"] / out["sd"]
    out = add_corrections(out)
    return out[
        ["roi", "regressor", "n", "mean", "sd", "t", "dof", "p", "p_fdr", "p_bonferroni", "z", "d"]
    ]


# -- voxelwise ----------------------------------------------------------------------------------
class FirstLevelFit:
    """A fitted voxelwise first level of one participant (one or more runs).

    ``noise_model="ar1"`` (bias-corrected) is fitted here on the masked data (``NiftiMasker``
    with the real t_r and the given mask; nilearn's ``ARModel``/``compute_contrast``);
    ``"ar1_uncorrected"``/``"ols"`` use nilearn's ``FirstLevelModel`` (kept in ``.model``).
    Voxels of ``mask_img`` without signal (:func:`signal_mask`) are excluded first:
    ``.signal`` says how many, ``.mask_img`` is the mask actually fitted (threshold over it).
    """

    def __init__(self, imgs, designs, mask_img, config: GLMConfig) -> None:
        from nilearn.image import load_img

        if mask_img is None:
            raise ValueError("pass mask_img (nilearn's automatic mask can drop most voxels)")
        if not isinstance(config, GLMConfig):
            raise TypeError(f"config must be a GLMConfig, got {type(config).__name__}")
        imgs = [load_img(i) for i in _as_list(imgs)]
        for r, img in enumerate(imgs):
            if img.ndim != 4:
                raise ValueError(f"run {r}: a BOLD run is a 4D image, got shape {img.shape}")
        self.designs = _check_designs(designs, len(imgs), [i.shape[3] for i in imgs])
        # voxels without signal never enter the fit (their z would be rounding noise)
        self.signal = signal_mask(imgs, mask_img)
        self.config, self.mask_img, self.model = config, self.signal.img, None
        self.columns = list(self.designs[0].columns)
        if config.noise_model == "ar1":
            self._fit_corrected(imgs)
        else:
            self._fit_nilearn(imgs)

    def _fit_nilearn(self, imgs) -> None:
        from nilearn.glm.first_level import FirstLevelModel

        self.model = FirstLevelModel(
            t_r=self.config.t_r,
            mask_img=self.mask_img,
            noise_model="ar1" if self.config.noise_model == "ar1_uncorrected" else "ols",
            signal_scaling=0 if self.config.signal_scaling == "psc" else False,
            smoothing_fwhm=self.config.smoothing_fwhm,
            minimize_memory=self.config.minimize_memory,
            reports=False,
        )
        with warnings.catch_warnings():
            # t_r is set (and equal to the data's); nilearn warns that designs make it unused
            warnings.filterwarnings("ignore", message=".*t_r.*will be ignored.*")
            warnings.filterwarnings("ignore", message=".*Given mask will be used.*")
            self.model.fit(imgs, design_matrices=self.designs)

    def _fit_corrected(self, imgs) -> None:
        from nilearn.glm.first_level import mean_scaling
        from nilearn.glm.regression import OLSModel
        from nilearn.maskers import NiftiMasker

        self.masker = NiftiMasker(
            mask_img=self.mask_img,
            t_r=self.config.t_r,
            smoothing_fwhm=self.config.smoothing_fwhm,
            standardize=None,
        ).fit()
        self.fits, self.rho = [], []  # per run: (labels, results), AR(1) coefficients
        for img, dm in zip(imgs, self.designs):
            Y = self.masker.transform(img).astype(np.float64)
            if self.config.signal_scaling == "psc":
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=".*Mean values of 0.*")
                    Y, _ = mean_scaling(Y)
            X = dm.to_numpy(np.float64)
            rho = ar1_bias_corrected(X, OLSModel(X).fit(Y).residuals)
            if self.config.ar1_smoothing_fwhm:
                rho = self._smooth(rho, self.config.ar1_smoothing_fwhm)
            self.rho.append(rho)
            self.fits.append(run_first_level_glm(Y, X, "ar1", rho=rho))

    def _smooth(self, values: np.ndarray, fwhm: float) -> np.ndarray:
        """Gaussian smoothing within the mask (normalised by the smoothed mask)."""
        from nilearn.image import smooth_img

        img = self.masker.inverse_transform(values)
        ones = self.masker.inverse_transform(np.ones_like(values))
        num = self.masker.transform(smooth_img(img, fwhm)).ravel()
        den = self.masker.transform(smooth_img(ones, fwhm)).ravel()
        return num / den

    def contrast(self, contrast: str | Sequence[float]) -> dict[str, Any]:
        """``{"z", "effect", "variance", "stat"}`` images of one contrast (expression over the
        design's columns, e.g. ``"rpe"`` or ``"q - rpe"``, or a weight vector)."""
        from nilearn.glm.contrasts import expression_to_contrast_vector

        if self.model is not None:
            maps = self.model.compute_contrast(contrast, stat_type="t", output_type="all")
            return {
                "z": maps["z_score"],
                "effect": maps["effect_size"],
                "variance": maps["effect_variance"],
                "stat": maps["stat"],
            }
        if isinstance(contrast, str):
            con = expression_to_contrast_vector(contrast, self.columns)
        else:
            con = np.asarray(contrast, dtype=np.float64)
        if con.shape != (len(self.columns),):
            raise ValueError(f"contrast has {con.shape} weights, design has {len(self.columns)}")
        effect, var, dof = _combine_runs([_contrast_arrays(l, r, con) for l, r in self.fits])
        t, z, _ = _t_z_p(effect, var, dof)
        inv = self.masker.inverse_transform
        return {"z": inv(z), "effect": inv(effect), "variance": inv(var), "stat": inv(t)}


def fit_first_level(imgs, designs, mask_img, config: GLMConfig) -> FirstLevelFit:
    """Voxelwise first level of one participant's runs with our design matrices."""
    return FirstLevelFit(imgs, designs, mask_img, config)


def contrast_maps(fit: FirstLevelFit, contrasts: Sequence[str] | Mapping[str, Any]) -> dict:
    """``{name: {"z", "effect", "variance", "stat"}}`` for each contrast.

    ``contrasts``: expressions over design columns (``"rpe"``, ``"q - rpe"``; named after the
    expression) or ``{name: expression or weight vector}``.
    """
    if not isinstance(contrasts, Mapping):
        contrasts = {_contrast_name(c): c for c in contrasts}
    return {name: fit.contrast(con) for name, con in contrasts.items()}


def _contrast_name(expr: str) -> str:
    import re

    return re.sub(r"\W+", "_", str(expr).replace("-", " minus ")).strip("_")


def threshold_map(
    z_img,
    mask_img,
    alpha: float = 0.05,
    height_control: str = "fdr",
    cluster_threshold: int = 0,
    two_sided: bool = True,
):
    """``threshold_stats_img`` over ``mask_img``: returns (thresholded z image, z threshold)."""
    from nilearn.glm import threshold_stats_img

    if height_control not in HEIGHT_CONTROLS:
        raise ValueError(f"height_control must be one of {HEIGHT_CONTROLS}, got {height_control!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if mask_img is None:
        raise ValueError("pass mask_img: the correction counts the voxels of the mask")
    with warnings.catch_warnings():
        # nothing survives: nilearn warns that the (infinite) threshold exceeds the max
        warnings.filterwarnings("ignore", message=".*must not exceed.*")
        img, thr = threshold_stats_img(
            z_img,
            mask_img=mask_img,
            alpha=alpha,
            height_control=height_control,
            cluster_threshold=cluster_threshold,
            two_sided=two_sided,
        )
    return img, float(thr)


def peak_table(
    z_img,
    threshold: float,
    atlas=None,
    *,
    cluster_threshold: int = 0,
    min_distance: float = 8.0,
    two_sided: bool = True,
) -> pd.DataFrame:
    """Clusters and peaks of a z map above ``threshold`` (nilearn's ``get_clusters_table``):
    ``cluster, x, y, z`` (mm, the image's world space: MNI for MNI data) ``, peak_z,
    size_voxels, size_mm3`` and, with an ``atlas``, the ``nearest_label`` and its
    ``label_distance_mm`` (0 inside the label). An infinite threshold (nothing survives the
    correction) gives an empty table with the same columns.
    """
    from nilearn.image import load_img
    from nilearn.reporting import get_clusters_table

    columns = ["cluster", "x", "y", "z", "peak_z", "size_voxels", "size_mm3"]
    if atlas is not None:
        columns += ["nearest_label", "label_distance_mm"]
    z_img = load_img(z_img)
    data = np.asarray(z_img.dataobj, dtype=np.float64)
    hit = np.abs(data) > threshold if two_sided else data > threshold
    if not np.isfinite(threshold) or not hit.any():
        return pd.DataFrame(columns=columns)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*threshold.*")
        warnings.filterwarnings("ignore", message="No clusters found")
        table = get_clusters_table(
            z_img,
            stat_threshold=float(threshold),
            cluster_threshold=int(cluster_threshold),
            two_sided=two_sided,
            min_distance=min_distance,
        )
    if table.empty:
        return pd.DataFrame(columns=columns)
    voxel_mm3 = float(abs(np.linalg.det(z_img.affine[:3, :3])))
    rows = []
    current = None
    for _, row in table.iterrows():
        cid = str(row["Cluster ID"])
        main = cid.rstrip("abcdefghijklmnopqrstuvwxyz")  # subpeaks: "1a", "1b"
        size = row.get("Cluster Size (mm3)")
        if main == cid:
            current = float(size) if size not in ("", None) else np.nan
        rows.append(
            {
                "cluster": cid,
                "x": float(row["X"]),
                "y": float(row["Y"]),
                "z": float(row["Z"]),
                "peak_z": float(row["Peak Stat"]),
                "size_mm3": current,
                "size_voxels": int(round(current / voxel_mm3)) if np.isfinite(current) else 0,
            }
        )
    out = pd.DataFrame(rows)
    if atlas is not None:
        labels, dist = nearest_labels(atlas, out[["x", "y", "z"]].to_numpy(np.float64))
        out["nearest_label"] = labels
        out["label_distance_mm"] = dist
    return out[columns]


def nearest_labels(atlas, coords_mm: np.ndarray) -> tuple[list[str], np.ndarray]:
    """For each world coordinate, the atlas label of the nearest labelled voxel and the
    distance to it in mm (0 when the coordinate lies in that label's voxel)."""
    data = np.rint(np.asarray(atlas.labels_img.dataobj)).astype(int)
    ijk = np.argwhere(data > 0)
    if not len(ijk):
        return ["n/a"] * len(coords_mm), np.full(len(coords_mm), np.nan)
    xyz = ijk @ atlas.labels_img.affine[:3, :3].T + atlas.labels_img.affine[:3, 3]
    lab = data[tuple(ijk.T)]
    names, dists = [], []
    voxel = float(np.cbrt(abs(np.linalg.det(atlas.labels_img.affine[:3, :3]))))
    for c in np.atleast_2d(coords_mm):
        d = np.sqrt(((xyz - c) ** 2).sum(axis=1))
        i = int(np.argmin(d))
        names.append(str(atlas.names[lab[i] - 1]))
        dists.append(0.0 if d[i] < voxel / 2 else float(d[i]))
    return names, np.asarray(dists)


def threshold_note(thresholded_img, threshold: float) -> str:
    """What a thresholded map shows: ``"|z| > 3.10: 42 voxel(s)"``, ``"nothing survives |z| >
    3.10"``, or ``"nothing survives the correction"`` (an infinite threshold)."""
    from nilearn.image import load_img

    data = np.asarray(load_img(thresholded_img).dataobj, dtype=np.float64)
    if not np.isfinite(threshold):
        return "nothing survives the correction"
    survivors = int(np.count_nonzero(np.abs(data) > threshold))
    if survivors:
        return f"|z| > {threshold:.2f}: {survivors} voxel(s)"
    return f"nothing survives |z| > {threshold:.2f}"


def plot_thresholded(thresholded_img, threshold: float, *, title: str = "", axes=None, **kwargs):
    """Glass brain of a thresholded z map that never shows what did not survive.

    ``threshold_stats_img`` returns an infinite threshold when nothing survives; plotting its
    image with the default ``threshold="auto"`` would show the unthresholded map. Here the map
    is drawn with ``threshold`` itself (voxels at or below are transparent), nothing survives ->
    an empty glass brain, and the title states the threshold ("|z| > 3.10", or "nothing
    survives"). Returns nilearn's display.
    """
    from nilearn.image import load_img, new_img_like
    from nilearn.plotting import plot_glass_brain

    img = load_img(thresholded_img)
    note = threshold_note(img, threshold)
    if not note.startswith("nothing"):
        return plot_glass_brain(
            img,
            threshold=float(threshold),
            title=f"{title}  {note}".strip(),
            axes=axes,
            plot_abs=False,
            colorbar=True,
            **kwargs,
        )
    empty = new_img_like(img, np.zeros(img.shape[:3], dtype=np.float32))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="empty mask")  # empty on purpose
        return plot_glass_brain(
            empty,
            threshold=1.0,
            title=f"{title}  {note}".strip(),
            axes=axes,
            plot_abs=False,
            colorbar=False,
            **kwargs,
        )


def fit_second_level(effect_imgs: Sequence, mask_img, smoothing_fwhm: float | None = None):
    """One-sample t-test of participants' first-level effect maps (``SecondLevelModel``).

    Returns ``{"z": img, "effect": img, "model": SecondLevelModel}``.
    """
    from nilearn.glm.second_level import SecondLevelModel

    effect_imgs = list(effect_imgs)
    if len(effect_imgs) < 2:
        raise ValueError(f"a second level needs >= 2 participants, got {len(effect_imgs)}")
    if mask_img is None:
        raise ValueError("pass mask_img (nilearn's automatic mask can drop most voxels)")
    design = pd.DataFrame({"intercept": np.ones(len(effect_imgs))})
    model = SecondLevelModel(mask_img=mask_img, smoothing_fwhm=smoothing_fwhm, reports=False)
    model.fit(effect_imgs, design_matrix=design)
    maps = model.compute_contrast("intercept", output_type="all")
    return {"z": maps["z_score"], "effect": maps["effect_size"], "model": model}


# -- model comparison ---------------------------------------------------------------------------
def compare_models(
    signals: Sequence[pd.DataFrame] | pd.DataFrame,
    designs: Mapping[str, Sequence[pd.DataFrame] | pd.DataFrame],
    n_blocks: int = 5,
) -> pd.DataFrame:
    """Which candidate design explains each ROI best: ``roi, model, bic, cv_r2, delta_bic,
    best_bic, best_cv``.

    ``designs``: ``{name: design per run}``, each with the same nuisance columns (drifts,
    confounds, constant) and different task columns. Folds are the runs if there are several,
    else ``n_blocks`` contiguous blocks (keeping temporal autocorrelation inside a fold).
    """
    signals = _as_list(signals)
    if len(designs) < 2:
        raise ValueError("compare at least two candidate designs")
    results = []
    for name, dms in designs.items():
        dms = _check_designs(dms, len(signals), [len(s) for s in signals])
        task = task_columns(dms[0])
        if not task:
            raise ValueError(f"design {name!r} has no task columns")
        Ys, Xs, folds, rss, n_obs, k = [], [], [], 0.0, 0, dms[0].shape[1]
        for r, (sig, dm) in enumerate(zip(signals, dms)):
            Y = sig.to_numpy(np.float64)
            N = dm[[c for c in dm.columns if c not in task]].to_numpy(np.float64)
            Xt = dm[task].to_numpy(np.float64)
            beta, *_ = np.linalg.lstsq(dm.to_numpy(np.float64), Y, rcond=None)
            rss = rss + ((Y - dm.to_numpy(np.float64) @ beta) ** 2).sum(axis=0)
            n_obs += len(Y)
            P = N @ np.linalg.pinv(N)  # projection on the nuisance space
            Ys.append(Y - P @ Y)
            Xs.append(Xt - P @ Xt)
            if len(signals) > 1:
                folds.append(np.full(len(Y), r))
            else:
                folds.append(np.minimum(np.arange(len(Y)) * n_blocks // len(Y), n_blocks - 1))
        Y, X, fold = np.vstack(Ys), np.vstack(Xs), np.concatenate(folds)
        pred = np.zeros_like(Y)
        for f in np.unique(fold):
            tr, te = fold != f, fold == f
            b, *_ = np.linalg.lstsq(X[tr], Y[tr], rcond=None)
            pred[te] = X[te] @ b
        ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
        cv_r2 = 1.0 - ((Y - pred) ** 2).sum(axis=0) / ss_tot
        bic = n_obs * np.log(rss / n_obs) + k * len(signals) * np.log(n_obs)
        for i, roi in enumerate(signals[0].columns):
            results.append(
                {
                    "roi": roi,
                    "model": name,
                    "bic": bic[i],
                    "cv_r2": cv_r2[i],
                    "task_columns": ",".join(task),
                }
            )
    df = pd.DataFrame(results)
    df["delta_bic"] = df["bic"] - df.groupby("roi")["bic"].transform("min")
    df["best_bic"] = df["delta_bic"] == 0
    df["best_cv"] = df["cv_r2"] == df.groupby("roi")["cv_r2"].transform("max")
    return df
