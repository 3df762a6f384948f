"""GLM tables a paper can use: a voxelwise peak table that finds a planted sphere at its
coordinates (with the nearest atlas label), corrected ROI p-values that control the family-wise
(Bonferroni) and false-discovery (Benjamini-Hochberg) rates on null data, p printed with
significant digits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from darkcontrol.neuro.atlas import atlas_from_coords, dmn_atlas
from darkcontrol.neuro.design import DesignConfig, make_design
from darkcontrol.neuro.events import trace_to_events
from darkcontrol.neuro.glm import (
    GLMConfig,
    adjust_pvalues,
    fit_roi_glm,
    format_p,
    peak_table,
    roi_second_level,
)
from darkcontrol.neuro.study import Participant, StudyConfig, analyze
from darkcontrol.neuro.synthetic import SyntheticConfig, simulate_bold
from darkcontrol.trace import TraceRecorder

T_R, N_SCANS = 2.0, 100
MOTOR = (-36.0, -24.0, 54.0)  # left precentral gyrus: far from every DMN node


@pytest.fixture(autouse=True)
def _offline_nilearn(tmp_path, monkeypatch):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn_data"))


def _events(seed=0, quantities=("rpe",)):
    rng = np.random.default_rng(seed)
    rec = TraceRecorder()
    rec.begin_episode()
    for t in range(28):
        rec.time = 6.5 * t + rng.uniform(0.0, 2.0)
        rec.online(rpe=rng.normal(), q=rng.normal())
    return trace_to_events(rec.to_frame(), quantities=quantities, online_duration=2.0)


def test_peak_table_finds_a_planted_sphere_at_its_coordinates():
    dm = make_design(_events(), DesignConfig(t_r=T_R, n_scans=N_SCANS))
    cfg = SyntheticConfig(t_r=T_R, n_scans=N_SCANS)
    probe = simulate_bold(dm, {"rTPJ": {"rpe": 0.0}}, cfg, seed=0)
    sphere = atlas_from_coords({"M1": [list(MOTOR)]}, probe.img.slicer[..., 0], radius=8.0)
    sim = simulate_bold(dm, {"M1": {"rpe": 3.0}}, cfg, atlas=sphere, seed=5)
    dmn = dmn_atlas(sim.img.slicer[..., 0], mask_img=sim.mask_img)
    result = analyze(
        [Participant([sim.img], [dm])],
        sim.mask_img,
        dmn,
        StudyConfig(glm=GLMConfig(t_r=T_R), contrasts=("rpe",), height_control="bonferroni"),
    )
    peaks = result.maps["rpe"]["peaks"]
    assert len(peaks) >= 1
    top = peaks.iloc[0]
    distance = float(np.linalg.norm(top[["x", "y", "z"]].to_numpy(float) - MOTOR))
    assert distance <= 6.0 * np.sqrt(3)  # within one 6 mm voxel of the sphere's centre
    assert top["peak_z"] > 5
    n_sphere = int((np.asarray(sphere.labels_img.dataobj) > 0).sum())
    assert 1 <= top["size_voxels"] <= 3 * n_sphere
    assert top["size_mm3"] == pytest.approx(top["size_voxels"] * 6.0**3)
    # the nearest DMN label is named with its distance: a motor effect is not a DMN finding
    assert top["nearest_label"] in dmn.names and top["label_distance_mm"] > 20
    # the ROI table of the DMN nodes shows nothing there after correction
    table = result.roi_tables[0]
    assert (table.loc[table["regressor"] == "rpe", "p_bonferroni"] > 0.05).all()


def test_peak_table_is_empty_when_nothing_survives():
    dm = make_design(_events(), DesignConfig(t_r=T_R, n_scans=N_SCANS))
    sim = simulate_bold(dm, {"rTPJ": {"rpe": 0.0}}, SyntheticConfig(n_scans=N_SCANS), seed=2)
    table = peak_table(sim.img.slicer[..., 0], np.inf, dmn_atlas(sim.img.slicer[..., 0]))
    assert table.empty and "nearest_label" in table.columns


def test_adjusted_p_values_match_their_definitions():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=40) ** 3
    p[[3, 17]] = np.nan
    fdr, bonf = adjust_pvalues(p)
    ok = np.isfinite(p)
    np.testing.assert_allclose(fdr[ok], stats.false_discovery_control(p[ok], method="bh"))
    np.testing.assert_allclose(bonf[ok], np.minimum(p[ok] * ok.sum(), 1.0))
    assert np.isnan(fdr[~ok]).all() and np.isnan(bonf[~ok]).all()


def _null_roi_table(seed: int, n_rois: int = 7) -> pd.DataFrame:
    """First-level ROI table of white noise fitted by OLS: every null hypothesis is true and
    every p-value is exactly uniform, so what is tested is the correction alone."""
    rng = np.random.default_rng(seed)
    ev = _events(seed, quantities=("rpe", "q"))
    dm = make_design(ev, DesignConfig(t_r=T_R, n_scans=N_SCANS))
    e = rng.normal(size=(N_SCANS, n_rois))
    sig = pd.DataFrame(100.0 + e, columns=[f"roi{i}" for i in range(n_rois)])
    cfg = GLMConfig(t_r=T_R, signal_scaling=None, noise_model="ols")
    return fit_roi_glm(sig, dm, cfg, regressors=["rpe", "q"])


def test_corrected_roi_p_values_control_fwer_and_fdr_on_null_data():
    n_seeds = 300
    any_raw = any_bonf = any_fdr = 0
    for seed in range(n_seeds):
        table = _null_roi_table(seed)
        assert len(table) == 14  # one family: 7 ROIs x 2 regressors
        any_raw += bool((table["p"] < 0.05).any())
        any_bonf += bool((table["p_bonferroni"] < 0.05).any())
        any_fdr += bool((table["p_fdr"] < 0.05).any())
    # uncorrected, some ROI x regressor test is "significant" in most null datasets
    assert any_raw / n_seeds > 0.3
    # under the global null the FDR equals the FWER; both must stay at 5 % (binomial sd 1.3 %)
    assert any_bonf / n_seeds < 0.085, any_bonf
    assert any_fdr / n_seeds < 0.085, any_fdr


def test_second_level_corrections_and_effect_size():
    tables = [_null_roi_table(s) for s in range(12)]
    group = roi_second_level(tables)
    assert {"p_fdr", "p_bonferroni", "d"} <= set(group.columns)
    np.testing.assert_allclose(group["d"], group["mean"] / group["sd"])
    np.testing.assert_allclose(group["p_bonferroni"], np.minimum(group["p"] * len(group), 1))
    assert (group["p_fdr"] >= group["p"]).all()


@pytest.mark.parametrize(
    "p, text",
    [(0.00031, "3.1e-04"), (0.042, "0.042"), (0.5, "0.50"), (1e-12, "1.0e-12"), (np.nan, "n/a")],
)
def test_p_values_are_printed_with_significant_digits(p, text):
    assert format_p(p) == text


def test_a_map_where_nothing_survives_is_drawn_empty_with_the_threshold_stated():
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nilearn.image import new_img_like

    from darkcontrol.neuro.glm import plot_thresholded, threshold_note

    dm = make_design(_events(), DesignConfig(t_r=T_R, n_scans=N_SCANS))
    sim = simulate_bold(dm, {"rTPJ": {"rpe": 0.0}}, SyntheticConfig(n_scans=N_SCANS), seed=2)
    rng = np.random.default_rng(0)
    noise = new_img_like(sim.mask_img, rng.normal(size=sim.mask_img.shape).astype(np.float32))
    zero = new_img_like(sim.mask_img, np.zeros(sim.mask_img.shape, np.float32))

    def render(img, thr):
        fig = plt.figure(figsize=(6, 2.5))
        display = plot_thresholded(img, thr, title="rpe", figure=fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=60)
        plt.close(fig)
        return display, plt.imread(io.BytesIO(buf.getvalue()))

    display, drawn = render(noise, np.inf)  # the unthresholded noise must not be drawn
    _, empty = render(zero, np.inf)
    np.testing.assert_array_equal(drawn, empty)
    assert threshold_note(noise, np.inf) == "nothing survives the correction"
    _, some = render(noise, 2.5)  # with a finite threshold the survivors are drawn
    assert not np.array_equal(some, empty)
    n = int((np.abs(np.asarray(noise.dataobj)) > 2.5).sum())
    assert threshold_note(noise, 2.5) == f"|z| > 2.50: {n} voxel(s)"
    assert threshold_note(zero, 2.5) == "nothing survives |z| > 2.50"
