"""Planted effects in synthetic BOLD are recovered by the ROI, voxelwise and group GLMs."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from darkcontrol.neuro.design import DesignConfig, load_confounds, make_design
from darkcontrol.neuro.events import trace_to_events
from darkcontrol.neuro.glm import (
    GLMConfig,
    ar1_bias_corrected,
    compare_regressors,
    contrast_maps,
    fit_first_level,
    fit_roi_glm,
    fit_second_level,
    roi_second_level,
    roi_signals,
    threshold_map,
)
from darkcontrol.neuro.synthetic import SyntheticConfig, simulate_bold, simulate_group
from darkcontrol.trace import TraceRecorder

T_R, N_SCANS = 2.0, 100
PLANTED = {"rTPJ": {"rpe": 5.0}, "vmPFC": {"q": 5.0}}


@pytest.fixture(autouse=True)
def _offline_nilearn(tmp_path, monkeypatch):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn_data"))


def make_events(seed=0, n_trials=30):
    """Online steps every ~6.5 s with independent rpe and q (a Trace, as an agent writes it)."""
    rng = np.random.default_rng(seed)
    rec = TraceRecorder()
    rec.begin_episode()
    for t in range(n_trials):
        rec.time = 6.5 * t + rng.uniform(0.0, 2.0)
        rec.online(rpe=rng.normal(), q=rng.normal(), reward=float(rng.random() < 0.5))
    return trace_to_events(rec.to_frame(), quantities=("rpe", "q"), online_duration=2.0)


@pytest.fixture(scope="module")
def events():
    return make_events()


@pytest.fixture(scope="module")
def design(events):
    return make_design(events, DesignConfig(t_r=T_R, n_scans=N_SCANS))


@pytest.fixture(scope="module")
def sim(design):
    return simulate_bold(design, PLANTED, SyntheticConfig(t_r=T_R, n_scans=N_SCANS), seed=1)


def analysis_design(events, sim):
    conf = load_confounds(sim.confounds, "motion6", n_scans=N_SCANS)
    return make_design(events, DesignConfig(t_r=T_R, n_scans=N_SCANS), confounds=conf)


def _significant_voxels(thr_img):
    return np.asarray(thr_img.dataobj) != 0


def _far_from(atlas, nodes):
    """Voxels more than one voxel away from the named nodes."""
    labels = np.asarray(atlas.labels_img.dataobj).astype(int)
    inside = np.isin(labels, [atlas.names.index(n) + 1 for n in nodes])
    return ~ndimage.binary_dilation(inside, iterations=1)


def test_roi_betas_match_the_planted_ones(events, sim):
    dm = analysis_design(events, sim)
    signals = roi_signals(sim.img, sim.atlas, sim.mask_img, T_R)
    table = fit_roi_glm(signals, dm, GLMConfig(t_r=T_R, signal_scaling=None))
    table = table.set_index(["roi", "regressor"])
    n_null = 0
    for roi in sim.atlas.names:
        for reg in ("rpe", "q"):
            row = table.loc[(roi, reg)]
            truth = PLANTED.get(roi, {}).get(reg, 0.0)
            if truth:
                assert abs(row["beta"] - truth) < 3 * row["se"], (roi, reg, row["beta"])
                assert row["p"] < 1e-6
            else:
                n_null += 1
                assert row["p"] > 0.05 / 14, (roi, reg, row["p"])  # Bonferroni over 14 tests
    assert n_null == 12
    # percent signal change: the same betas relative to the baseline of 100
    psc = fit_roi_glm(signals, dm, GLMConfig(t_r=T_R)).set_index(["roi", "regressor"])
    for roi, regs in PLANTED.items():
        for reg in regs:
            raw = table.loc[(roi, reg), "beta"]
            mean = signals[0][roi].mean()
            assert psc.loc[(roi, reg), "beta"] == pytest.approx(raw * 100 / mean, rel=1e-6)


def test_voxelwise_maps_are_significant_at_planted_nodes_only(events, sim):
    dm = analysis_design(events, sim)
    fit = fit_first_level(sim.img, dm, sim.mask_img, GLMConfig(t_r=T_R, signal_scaling=None))
    maps = contrast_maps(fit, ["rpe", "q"])
    brain = np.asarray(sim.mask_img.dataobj) > 0
    labels = np.asarray(sim.atlas.labels_img.dataobj).astype(int)
    for reg, node in (("rpe", "rTPJ"), ("q", "vmPFC")):
        for control in ("fdr", "bonferroni"):
            thr_img, thr = threshold_map(maps[reg]["z"], sim.mask_img, 0.05, control)
            sig = _significant_voxels(thr_img)
            roi = labels == sim.atlas.names.index(node) + 1
            assert sig[roi].mean() >= 0.5, (reg, control, sig[roi].mean())
            far = brain & _far_from(sim.atlas, [node])
            assert sig[far].mean() < 0.002, (reg, control, int(sig[far].sum()))
    # the effect map carries the planted beta at the node
    eff = np.asarray(maps["rpe"]["effect"].dataobj)[labels == sim.atlas.names.index("rTPJ") + 1]
    assert abs(eff.mean() - 5.0) < 1.0


def test_pitfall_nilearn_ar1_inflates_null_z_and_the_bias_correction_fixes_it(design):
    null = simulate_bold(
        design, {}, SyntheticConfig(t_r=T_R, n_scans=N_SCANS, ar1=0.3, motion_loading=0.0), seed=5
    )
    brain = np.asarray(null.mask_img.dataobj) > 0
    sd = {}
    for model in ("ar1", "ar1_uncorrected"):
        fit = fit_first_level(
            null.img, design, null.mask_img, GLMConfig(t_r=T_R, noise_model=model)
        )
        z = np.asarray(fit.contrast("rpe")["z"].dataobj)[brain]
        sd[model] = z.std()
    assert abs(sd["ar1"] - 1.0) < 0.03
    assert sd["ar1_uncorrected"] > sd["ar1"] + 0.05  # nilearn's estimator under-whitens


def test_ar1_bias_correction_recovers_rho_on_pure_noise():
    rng = np.random.default_rng(0)
    n, rho = 100, 0.4
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 10))])
    e = np.empty((n, 4000))
    e[0] = rng.normal(size=4000)
    for t in range(1, n):
        e[t] = rho * e[t - 1] + np.sqrt(1 - rho**2) * rng.normal(size=4000)
    resid = e - X @ np.linalg.lstsq(X, e, rcond=None)[0]
    naive = (resid[1:] * resid[:-1]).sum(0) / (resid**2).sum(0)
    corrected = ar1_bias_corrected(X, resid)
    assert abs(corrected.mean() - rho) < 0.02
    assert naive.mean() < rho - 0.05


def test_several_runs_are_combined_by_fixed_effects(events, design, sim):
    second = simulate_bold(design, PLANTED, SyntheticConfig(t_r=T_R, n_scans=N_SCANS), seed=2)
    dms = [analysis_design(events, s) for s in (sim, second)]
    signals = roi_signals([sim.img, second.img], sim.atlas, sim.mask_img, T_R)
    table = fit_roi_glm(signals, dms, GLMConfig(t_r=T_R, signal_scaling=None))
    row = table[(table["roi"] == "rTPJ") & (table["regressor"] == "rpe")].set_index("run")
    assert set(row.index) == {"0", "1", "fixed"}
    assert row.loc["fixed", "se"] < row.loc[["0", "1"], "se"].min()
    assert row.loc["fixed", "dof"] == row.loc["0", "dof"] + row.loc["1", "dof"]
    assert abs(row.loc["fixed", "beta"] - 5.0) < 3 * row.loc["fixed", "se"]
    fit = fit_first_level([sim.img, second.img], dms, sim.mask_img, GLMConfig(t_r=T_R))
    assert np.isfinite(np.asarray(fit.contrast("rpe - q")["z"].dataobj)).all()


def test_model_comparison_picks_the_generating_regressor(sim, events):
    dm = analysis_design(events, sim)
    nuisance = [c for c in dm.columns if c not in ("rpe", "q", "trial")]
    cand = {"value": dm[["trial", "q", *nuisance]], "error": dm[["trial", "rpe", *nuisance]]}
    for d in cand.values():
        d.attrs = {"darkcontrol": {"task_columns": [c for c in d.columns if c not in nuisance]}}
    signals = roi_signals(sim.img, sim.atlas, sim.mask_img, T_R)
    res = compare_regressors(signals, cand).set_index(["roi", "model"])
    for roi, winner in (("vmPFC", "value"), ("rTPJ", "error")):
        loser = "error" if winner == "value" else "value"
        assert res.loc[(roi, winner), "best_bic"] and res.loc[(roi, winner), "best_cv"]
        assert res.loc[(roi, loser), "delta_bic"] > 10
        assert res.loc[(roi, winner), "cv_r2"] > 0.3


@pytest.mark.slow
def test_second_level_finds_the_planted_node_across_participants(events, design):
    n = 10
    sims = simulate_group(
        design,
        PLANTED,
        n,
        subject_sd=0.5,
        config=SyntheticConfig(t_r=T_R, n_scans=N_SCANS),
        seed=11,
    )
    cfg = GLMConfig(t_r=T_R, signal_scaling=None)
    tables, effects = [], []
    for s in sims:
        dm = analysis_design(events, s)
        tables.append(fit_roi_glm(roi_signals(s.img, s.atlas, s.mask_img, T_R), dm, cfg))
        effects.append(fit_first_level(s.img, dm, s.mask_img, cfg).contrast("rpe")["effect"])
    group = roi_second_level(tables).set_index(["roi", "regressor"])
    assert group.loc[("rTPJ", "rpe"), "p"] < 1e-4
    assert abs(group.loc[("rTPJ", "rpe"), "mean"] - 5.0) < 3 * group.loc[
        ("rTPJ", "rpe"), "sd"
    ] / np.sqrt(n)
    nulls = group.drop(index=[("rTPJ", "rpe"), ("vmPFC", "q")])
    nulls = nulls[nulls.index.get_level_values("regressor").isin(["rpe", "q"])]
    assert (nulls["p"] > 0.05 / len(nulls)).all()
    mask = sims[0].mask_img
    z = fit_second_level(effects, mask)["z"]
    thr_img, _ = threshold_map(z, mask, 0.05, "fdr")
    sig = _significant_voxels(thr_img)
    labels = np.asarray(sims[0].atlas.labels_img.dataobj).astype(int)
    assert sig[labels == sims[0].atlas.names.index("rTPJ") + 1].mean() >= 0.5
    brain = np.asarray(mask.dataobj) > 0
    assert sig[brain & _far_from(sims[0].atlas, ["rTPJ"])].mean() < 0.005


def test_pitfall_t_r_is_required_and_passed_to_nilearn(events, sim):
    from nilearn.signal import clean

    with pytest.raises(TypeError):
        GLMConfig()  # no silent default
    with pytest.raises(ValueError, match="t_r"):
        GLMConfig(t_r=None)
    with pytest.raises(ValueError, match="real t_r"):
        roi_signals(sim.img, sim.atlas, sim.mask_img, None)
    # why it matters: nilearn's clean() assumes 2.5 s, and filtering depends on it
    x = np.random.default_rng(0).normal(size=(100, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not np.allclose(
            clean(x, high_pass=0.05, standardize=False),
            clean(x, high_pass=0.05, t_r=1.0, standardize=False),
        )
    dm = analysis_design(events, sim)
    fit = fit_first_level(sim.img, dm, sim.mask_img, GLMConfig(t_r=T_R))
    assert fit.masker.t_r == T_R
    nil = fit_first_level(sim.img, dm, sim.mask_img, GLMConfig(t_r=T_R, noise_model="ols"))
    assert nil.model.t_r == T_R


def test_pitfall_automatic_mask_is_never_used(sim, design):
    from nilearn.glm.first_level import FirstLevelModel
    from nilearn.image import new_img_like

    data = sim.img.get_fdata()
    demeaned = new_img_like(sim.img, data - data.mean(axis=3, keepdims=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = FirstLevelModel(t_r=T_R).fit(demeaned, design_matrices=design)
    kept = int(np.asarray(auto.masker_.mask_img_.dataobj).sum())
    assert kept < 0.05 * int(np.asarray(sim.mask_img.dataobj).sum())  # nilearn's trap
    with pytest.raises(ValueError, match="mask_img"):
        fit_first_level(sim.img, design, None, GLMConfig(t_r=T_R))
    with pytest.raises(ValueError, match="mask_img"):
        threshold_map(sim.img.slicer[..., 0], None)


def test_design_and_image_mismatches_are_errors(sim, design):
    with pytest.raises(ValueError, match="99 rows but run 0 has 100 scans"):
        fit_roi_glm(
            [pd.DataFrame(np.ones((100, 2)), columns=["a", "b"])],
            design.iloc[:99],
            GLMConfig(t_r=T_R),
        )
    with pytest.raises(ValueError, match="4D"):
        fit_first_level(sim.img.slicer[..., 0], design, sim.mask_img, GLMConfig(t_r=T_R))
