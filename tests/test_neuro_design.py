"""Design matrices through nilearn: HRF models, drifts, confounds, checks and diagnostics."""

import warnings

import numpy as np
import pandas as pd
import pytest

from darkcontrol.neuro.design import (
    CONFOUND_STRATEGIES,
    HRF_MODELS,
    DesignConfig,
    diagnostics,
    frame_times,
    load_confounds,
    make_design,
    plot_design,
    task_columns,
    write_design,
)
from darkcontrol.neuro.synthetic import motion_confounds


@pytest.fixture(autouse=True)
def _offline_nilearn(tmp_path, monkeypatch):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn_data"))


def _events(seed=0, n=25):
    rng = np.random.default_rng(seed)
    onsets = np.arange(n) * 7.0 + rng.uniform(0, 2, n)
    trial = pd.DataFrame(
        {"onset": onsets, "duration": 1.0, "trial_type": "trial", "modulation": 1.0}
    )
    rpe = trial.assign(trial_type="rpe", modulation=rng.normal(size=n))
    return pd.concat([trial, rpe], ignore_index=True)


def _motion(n=100, seed=0):
    rng = np.random.default_rng(seed)
    return motion_confounds(np.cumsum(rng.normal(0, 0.05, (n, 6)), axis=0))


def test_frame_times_follow_the_slice_timing_reference():
    np.testing.assert_allclose(frame_times(2.0, 5), [0, 2, 4, 6, 8])
    np.testing.assert_allclose(frame_times(2.0, 5, slice_time_ref=0.5), [1, 3, 5, 7, 9])
    dm = make_design(_events(), DesignConfig(t_r=2.0, n_scans=100, slice_time_ref=0.5))
    np.testing.assert_allclose(dm.index.to_numpy()[:2], [1.0, 3.0])


@pytest.mark.parametrize("hrf", HRF_MODELS)
def test_every_nilearn_hrf_model_gives_its_columns(hrf):
    fir = (0, 1, 2, 3) if hrf == "fir" else None
    dm = make_design(_events(), DesignConfig(t_r=2.0, n_scans=100, hrf_model=hrf, fir_delays=fir))
    task = task_columns(dm)
    if hrf == "fir":
        expected = [f"{n}_delay_{d}" for n in ("rpe", "trial") for d in fir]
    else:
        suffixes = [""]
        if hrf and "derivative" in hrf:
            suffixes.append("_derivative")
        if hrf and "dispersion" in hrf:
            suffixes.append("_dispersion")
        expected = [f"{n}{s}" for n in ("rpe", "trial") for s in suffixes]
    assert sorted(task) == sorted(expected)
    assert dm.shape[0] == 100 and "constant" in dm.columns


def test_fir_and_drift_options_are_validated():
    with pytest.raises(ValueError, match="fir_delays"):
        DesignConfig(t_r=2.0, n_scans=100, hrf_model="fir")
    with pytest.raises(ValueError, match="only applies"):
        DesignConfig(t_r=2.0, n_scans=100, fir_delays=(0, 1))
    with pytest.raises(ValueError, match="hrf_model"):
        DesignConfig(t_r=2.0, n_scans=100, hrf_model="canonical")
    with pytest.raises(TypeError):
        DesignConfig(n_scans=100)  # no default TR
    ev = _events()
    cos = make_design(ev, DesignConfig(t_r=2.0, n_scans=100, high_pass=0.01))
    assert sum(c.startswith("drift_") for c in cos.columns) == int(2 * 100 * 0.01 * 2.0)
    poly = make_design(
        ev, DesignConfig(t_r=2.0, n_scans=100, drift_model="polynomial", drift_order=3)
    )
    assert [c for c in poly.columns if c.startswith("drift_")] == ["drift_1", "drift_2", "drift_3"]
    none = make_design(ev, DesignConfig(t_r=2.0, n_scans=100, drift_model=None))
    assert list(none.columns) == ["rpe", "trial", "constant"]


def test_pitfall_zero_duration_scale_depends_on_oversampling_unless_unit_impulse():
    ev = _events().assign(duration=0.0)
    with pytest.raises(ValueError, match="duration 0"):
        make_design(ev, DesignConfig(t_r=2.0, n_scans=100))
    from nilearn.glm.first_level import make_first_level_design_matrix

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = [
            make_first_level_design_matrix(frame_times(2.0, 100), ev, oversampling=o)["trial"]
            for o in (10, 50)
        ]
    assert raw[0].max() / raw[1].max() == pytest.approx(5.0, rel=0.05)  # nilearn's trap
    fixed = [
        make_design(
            ev, DesignConfig(t_r=2.0, n_scans=100, oversampling=o, zero_duration="unit_impulse")
        )["trial"]
        for o in (10, 50)
    ]
    # same scale (peak within 3 %); shapes differ only by onset quantisation to the bins
    assert fixed[0].max() / fixed[1].max() == pytest.approx(1.0, abs=0.03)
    np.testing.assert_allclose(fixed[0], fixed[1], atol=0.12 * fixed[1].max())
    # a unit impulse has the same area as a 1 s box: responses agree up to the box's width
    box = make_design(_events().assign(duration=1.0), DesignConfig(t_r=2.0, n_scans=100))
    assert fixed[1].max() == pytest.approx(box["trial"].max(), rel=0.05)


def test_events_shorter_than_a_bin_or_after_the_scan_are_errors():
    ev = _events().assign(duration=0.01)
    with pytest.raises(ValueError, match="less than one oversampled bin"):
        make_design(ev, DesignConfig(t_r=2.0, n_scans=100))
    late = pd.concat(
        [
            _events(),
            pd.DataFrame(
                {"onset": [250.0], "duration": [1.0], "trial_type": ["trial"], "modulation": [1.0]}
            ),
        ],
        ignore_index=True,
    )
    with pytest.raises(ValueError, match=r"after the end of the scan.*rows \[\d+\]"):
        make_design(late, DesignConfig(t_r=2.0, n_scans=100))


def test_rank_deficient_designs_are_errors_not_silently_regularised():
    ev = _events()
    twin = ev[ev["trial_type"] == "trial"].assign(trial_type="copy")
    with pytest.raises(ValueError, match="rank deficient.*copy|rank deficient.*trial"):
        make_design(pd.concat([ev, twin], ignore_index=True), DesignConfig(t_r=2.0, n_scans=100))


def test_confound_strategies_and_the_fmriprep_first_row():
    conf = _motion()
    m6 = load_confounds(conf, "motion6", n_scans=100)
    assert list(m6.columns) == list(CONFOUND_STRATEGIES["motion6"])
    with pytest.raises(ValueError, match=r"'trans_x_derivative1' rows \[0\].*fill_first_row"):
        load_confounds(conf, "motion24")
    m24 = load_confounds(conf, "motion24", nan="fill_first_row", n_scans=100)
    assert m24.shape == (100, 24) and np.isfinite(m24.to_numpy()).all()
    assert m24.loc[0, "rot_z_derivative1"] == m24.loc[1, "rot_z_derivative1"]
    assert "trans_x_derivative1" in m24.attrs["darkcontrol"]["filled_first_row"]
    hole = conf.copy()
    hole.loc[50, "trans_y"] = np.nan
    with pytest.raises(ValueError, match=r"'trans_y' rows \[50\]"):
        load_confounds(hole, ["motion6"], nan="fill_first_row")
    with pytest.raises(ValueError, match="lacks columns.*white_matter"):
        load_confounds(conf, ["motion6", "wm_csf"])
    with pytest.raises(ValueError, match="99 rows but the run has 100"):
        make_design(_events(), DesignConfig(t_r=2.0, n_scans=100), confounds=m6.iloc[:99])


def test_confounds_from_an_fmriprep_tsv_and_in_the_design(tmp_path):
    path = tmp_path / "sub-01_desc-confounds_timeseries.tsv"
    _motion().to_csv(path, sep="\t", index=False, na_rep="n/a")
    conf = load_confounds(path, "motion12", nan="fill_first_row", n_scans=100)
    dm = make_design(_events(), DesignConfig(t_r=2.0, n_scans=100), confounds=conf)
    assert set(conf.columns) <= set(dm.columns)
    assert task_columns(dm) == ["rpe", "trial"]
    assert dm.attrs["darkcontrol"]["confound_columns"] == list(conf.columns)


def test_vif_matches_the_inverse_correlation_matrix_and_flags_collinearity():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=200), rng.normal(size=200)
    X = pd.DataFrame({"a": a, "b": b, "c": a + b + 0.1 * rng.normal(size=200), "constant": 1.0})
    d = diagnostics(X)
    inv = np.linalg.inv(np.corrcoef(X[["a", "b", "c"]].to_numpy(), rowvar=False))
    np.testing.assert_allclose(d["vif"].to_numpy(), np.diag(inv), rtol=1e-6)
    assert d["vif"]["c"] > 50
    indep = diagnostics(X[["a", "b", "constant"]])
    assert (indep["vif"] < 1.1).all()


def test_design_figure_and_files(tmp_path):
    import matplotlib.image as mpimg

    dm = make_design(_events(), DesignConfig(t_r=2.0, n_scans=100))
    png = plot_design(dm, tmp_path / "design.png")
    assert mpimg.imread(png).shape[0] > 100
    tsv, sidecar = write_design(dm, tmp_path / "design.tsv", config={"tr": 2.0})
    back = pd.read_csv(tsv, sep="\t", index_col=0)
    np.testing.assert_allclose(back.to_numpy(), dm.to_numpy(), rtol=1e-6, atol=1e-9)
    assert '"task_columns"' in sidecar.read_text()


def test_a_tabular_agents_update_norm_is_collinear_with_its_abs_rpe():
    """PMC (||delta theta|| = alpha |rpe| for a table) and rTPJ (|rpe|) are one regressor."""
    from darkcontrol.neuro.events import trace_to_events
    from darkcontrol.regions import RegionMap
    from darkcontrol.simulation import simulate

    trace, _ = simulate("darkcontrol/Bandit-v0", "q_learning", episodes=1, clock={"iti_s": 0.0})
    ev = trace_to_events(trace, region_map=RegionMap.paper(), quantities=("rTPJ", "PMC"))
    with pytest.raises(ValueError, match=r"rank deficient.*(rTPJ|PMC) = combination of"):
        make_design(ev, DesignConfig(t_r=2.0, n_scans=110))
