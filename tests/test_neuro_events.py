"""Trace -> BIDS events, and the nilearn pitfalls the validation guards against."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from darkcontrol.clock import Clock
from darkcontrol.neuro.events import (
    EventsConfig,
    events_by_run,
    read_events,
    sanitize_name,
    trace_to_events,
    validate_events,
    write_events,
)
from darkcontrol.regions import RegionMap
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder


@pytest.fixture(autouse=True)
def _offline_nilearn(tmp_path, monkeypatch):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn_data"))


def make_trace(n_trials=30, n_offline=2, offline_dt=0.5, seed=0, runs=1, spe_nan=False):
    rng = np.random.default_rng(seed)
    frames = []
    for run in range(runs):
        rec = TraceRecorder(run=run)
        rec.offline_dt = offline_dt
        rec.begin_episode()
        for t in range(n_trials):
            rec.time = 6.0 * t
            rec.online(
                state=t % 5,
                action=0,
                reward=float(rng.random() < 0.3),
                next_state=(t + 1) % 5,
                q=rng.normal(),
                rpe=rng.normal(),
                spe=np.nan if spe_nan else rng.random(),
                update_norm=abs(rng.normal()),
                policy_entropy=rng.random(),
            )
            rec.time = 6.0 * t + 2.0
            for _ in range(n_offline):
                rec.offline("replay", q=rng.normal(), rpe=rng.normal(), update_norm=rng.random())
        frames.append(rec.to_frame())
    return pd.concat(frames, ignore_index=True)


def _design(events, **kw):
    from nilearn.glm.first_level import make_first_level_design_matrix

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_first_level_design_matrix(
            np.arange(100) * 2.0, events, hrf_model="spm", drift_model=None, **kw
        )


def test_modulators_get_their_own_trial_type_and_onsets_follow_the_trace_clock():
    trace = make_trace()
    ev = trace_to_events(trace, quantities=("rpe", "q"), center=False)
    online = trace[trace["phase"] == "online"]
    assert ev["trial_type"].value_counts().to_dict() == {"q": 30, "rpe": 30, "trial": 30}
    trial = ev[ev["trial_type"] == "trial"]
    np.testing.assert_array_equal(trial["onset"], online["time"])
    np.testing.assert_array_equal(trial["modulation"], 1.0)
    np.testing.assert_array_equal(trial["duration"], 1.0)
    rpe = ev[ev["trial_type"] == "rpe"]
    np.testing.assert_allclose(rpe["modulation"], online["rpe"].astype(float), rtol=1e-6)
    assert list(ev.columns) == ["onset", "duration", "trial_type", "modulation"]


def test_mean_centring_is_applied_and_recorded():
    trace = make_trace()
    ev = trace_to_events(trace, quantities=("rpe",))
    rpe = ev[ev["trial_type"] == "rpe"]["modulation"]
    assert abs(rpe.mean()) < 1e-12
    raw = trace.loc[trace["phase"] == "online", "rpe"].astype(float).mean()
    meta = ev.attrs["darkcontrol"]["regressors"]["rpe"]
    assert meta["mean_removed"] == pytest.approx(raw, rel=1e-6)
    assert ev.attrs["darkcontrol"]["config"]["center"] is True


def test_serial_orthogonalisation_leaves_the_first_and_orthogonalises_the_second():
    rng = np.random.default_rng(1)
    rec = TraceRecorder()
    rec.begin_episode()
    for t in range(50):
        rec.time = 4.0 * t
        rpe = rng.normal()
        rec.online(rpe=rpe, q=0.8 * rpe + 0.3 * rng.normal())  # q strongly correlated with rpe
    trace = rec.to_frame()
    ev = trace_to_events(trace, quantities=("rpe", "q"), orthogonalize=True)
    rpe = ev[ev["trial_type"] == "rpe"]["modulation"].to_numpy()
    q = ev[ev["trial_type"] == "q"]["modulation"].to_numpy()
    raw = trace["rpe"].astype(float).to_numpy()
    np.testing.assert_allclose(rpe, raw - raw.mean(), atol=1e-6)
    assert abs(np.dot(rpe, q)) < 1e-8 * len(q)
    assert abs(np.corrcoef(raw, trace["q"].astype(float))[0, 1]) > 0.9
    assert ev.attrs["darkcontrol"]["regressors"]["q"]["orthogonalized_against"] == ["rpe"]
    with pytest.raises(ValueError, match="center"):
        EventsConfig(orthogonalize=True, center=False)


def test_offline_steps_are_events_and_region_nodes_apply_their_transform():
    trace = make_trace(n_offline=3)
    ev = trace_to_events(
        trace,
        region_map=RegionMap.paper(),
        quantities=("rTPJ", "HPC"),
        phases=("online", "offline"),
        center=False,
        onsets=False,
    )
    counts = ev["trial_type"].value_counts().to_dict()
    assert counts == {"rTPJ": 30 + 90, "HPC": 90}
    np.testing.assert_array_equal(ev.loc[ev["trial_type"] == "HPC", "modulation"], 1.0)
    assert (ev.loc[ev["trial_type"] == "rTPJ", "modulation"] >= 0).all()  # |rpe|
    off = ev[ev["trial_type"] == "HPC"]
    np.testing.assert_array_equal(off["duration"], 0.5)
    # offline steps sit in the inter-trial interval, 0.5 s apart
    np.testing.assert_allclose(np.sort(off["onset"].to_numpy())[:3], [2.0, 2.5, 3.0])


def test_constant_modulator_is_an_error_after_centring():
    trace = make_trace()
    with pytest.raises(ValueError, match="constant"):
        trace_to_events(
            trace, region_map=RegionMap.paper(), quantities=("HPC",), phases=("offline",)
        )


def test_split_phases_names_modulators_per_phase():
    ev = trace_to_events(
        make_trace(), quantities=("rpe",), phases=("online", "offline"), split_phases=True
    )
    assert set(ev["trial_type"]) == {"trial", "offline", "rpe_online", "rpe_offline"}


def test_nan_modulation_raises_naming_trace_rows_or_drops_by_explicit_policy():
    trace = make_trace(spe_nan=True)
    with pytest.raises(ValueError, match=r"\['spe'\] are NaN at Trace rows \[0, 3, 6"):
        trace_to_events(trace, quantities=("spe",))
    trace = make_trace()
    trace.loc[[3, 9], "rpe"] = np.nan
    ev = trace_to_events(trace, quantities=("rpe",), nan="drop")
    assert (ev["trial_type"] == "rpe").sum() == 28
    assert (ev["trial_type"] == "trial").sum() == 30  # only the NaN modulator rows go
    assert ev.attrs["darkcontrol"]["validation"]["dropped_nan_rows"] == [3, 9]


def test_pitfall_nilearn_turns_nan_modulation_into_zero():
    events = pd.DataFrame(
        {
            "onset": [10.0, 30.0],
            "duration": [1.0, 1.0],
            "trial_type": ["a", "a"],
            "modulation": [1.0, np.nan],
        }
    )
    zero = events.assign(modulation=[1.0, 0.0])
    np.testing.assert_allclose(_design(events)["a"], _design(zero)["a"])  # silently 0
    with pytest.raises(ValueError, match=r"modulation is NaN at rows \[1\]"):
        validate_events(events)


def test_pitfall_nilearn_sums_duplicate_rows_we_raise_or_merge_explicitly():
    events = pd.DataFrame(
        {
            "onset": [10.0, 10.0, 40.0],
            "duration": [1.0, 1.0, 1.0],
            "trial_type": ["a"] * 3,
            "modulation": [1.0, 2.0, 1.0],
        }
    )
    summed = pd.DataFrame(
        {
            "onset": [10.0, 40.0],
            "duration": [1.0, 1.0],
            "trial_type": ["a"] * 2,
            "modulation": [3.0, 1.0],
        }
    )
    np.testing.assert_allclose(_design(events)["a"], _design(summed)["a"])  # nilearn sums
    with pytest.raises(ValueError, match=r"rows \[0, 1\].*SUM"):
        validate_events(events)
    merged = validate_events(events, collisions="mean")
    np.testing.assert_allclose(merged["modulation"], [1.5, 1.0])
    assert merged.attrs["darkcontrol"]["validation"]["merged"] == {
        "policy": "mean",
        "rows_removed": 1,
    }
    np.testing.assert_allclose(validate_events(events, collisions="sum")["modulation"], [3, 1])


def test_offline_steps_at_one_instant_collide_unless_a_policy_is_chosen():
    trace = make_trace(n_offline=4, offline_dt=0.0)  # a runner with offline_dt = 0
    kw = dict(region_map=RegionMap.paper(), quantities=("PMC",), phases=("offline",))
    with pytest.raises(ValueError, match="SUM"):
        trace_to_events(trace, **kw)
    ev = trace_to_events(trace, collisions="sum", onsets=False, center=False, **kw)
    assert (ev["trial_type"] == "PMC").sum() == 30  # one summed event per burst
    assert ev.attrs["darkcontrol"]["validation"]["merged"]["rows_removed"] == 90


def test_pitfall_na_duration_raises_naming_the_file_line(tmp_path):
    path = tmp_path / "sub-01_task-x_events.tsv"
    path.write_text("onset\tduration\ttrial_type\n1.0\t1.0\tgo\n5.0\tn/a\tgo\n")
    with pytest.raises(ValueError, match=r"duration is n/a at rows \[1 \(line 3 of"):
        read_events(path)


def test_pitfall_extra_columns_are_reported_not_silently_dropped(tmp_path):
    path = tmp_path / "events.tsv"
    path.write_text(
        "onset\tduration\ttrial_type\tresponse_time\tvalue\n"
        "1.0\t1.0\tgo\t0.4\t2.0\n9.0\t1.0\tgo\tn/a\t-1.0\n"
    )
    with pytest.warns(UserWarning, match="response_time"):
        ev = read_events(path)
    assert ev.attrs["darkcontrol"]["validation"]["dropped_columns"] == ["response_time", "value"]
    np.testing.assert_array_equal(ev["modulation"], 1.0)
    with pytest.raises(ValueError, match="silently ignore"):
        read_events(path, extra="error")
    with pytest.warns(UserWarning, match="response_time"):
        ev = read_events(path, modulation="value")
    np.testing.assert_array_equal(ev["modulation"], [2.0, -1.0])


def test_pitfall_hyphenated_names_are_rejected_or_sanitised_with_a_mapping():
    from nilearn.glm.contrasts import expression_to_contrast_vector

    events = pd.DataFrame(
        {"onset": [1.0, 9.0], "duration": [1.0, 1.0], "trial_type": ["go-left", "stop"]}
    )
    with pytest.raises(ValueError, match="'go-left'.*not an identifier"):
        validate_events(events)
    ev = validate_events(events, names="sanitize")
    assert set(ev["trial_type"]) == {"go_left", "stop"}
    assert ev.attrs["darkcontrol"]["validation"]["renamed"] == {"go-left": "go_left"}
    # the sanitised name works in an expression contrast; the original parses as a subtraction
    np.testing.assert_array_equal(
        expression_to_contrast_vector("go_left - stop", ["go_left", "stop"]), [1, -1]
    )
    for bad in ("constant", "drift_1", "3back", "class"):
        with pytest.raises(ValueError):
            validate_events(events.assign(trial_type=[bad, "stop"]))
    assert sanitize_name("3-back") == "tt_3_back"


def test_missing_trial_type_and_bad_values_are_errors():
    with pytest.raises(ValueError, match="trial_type"):
        validate_events(pd.DataFrame({"onset": [1.0], "duration": [1.0]}))
    with pytest.raises(ValueError, match="duration must be finite and >= 0"):
        validate_events(pd.DataFrame({"onset": [1.0], "duration": [-1.0], "trial_type": ["a"]}))
    with pytest.raises(ValueError, match="non-numeric onset"):
        validate_events(pd.DataFrame({"onset": ["x"], "duration": [1.0], "trial_type": ["a"]}))
    with pytest.raises(ValueError, match="unknown quantity 'nope'"):
        trace_to_events(make_trace(), quantities=("nope",))
    with pytest.raises(ValueError, match="online_duration"):
        EventsConfig(online_duration=0.0)


def test_several_runs_and_round_trip_through_bids_files(tmp_path):
    trace = make_trace(runs=2)
    with pytest.raises(ValueError, match="pass run="):
        trace_to_events(trace)
    runs = events_by_run(trace, quantities=("rpe",))
    assert sorted(runs) == [0, 1]
    tsv, sidecar = write_events(runs[1], tmp_path / "run-1_events.tsv")
    back = read_events(tsv)
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True), runs[1].reset_index(drop=True), check_exact=False, rtol=1e-5
    )
    meta = json.loads(sidecar.read_text())
    assert meta["run"] == 1 and meta["regressors"]["rpe"]["kind"] == "modulator"
    assert "darkcontrol_version" in meta


def test_events_from_a_real_agent_trace():
    import gymnasium as gym

    import darkcontrol.envs  # noqa: F401  (registers the environments)
    from darkcontrol.agents.tabular import QLearning

    env = gym.make("darkcontrol/DynaMaze-v0")
    agent = QLearning(env.observation_space.n, env.action_space.n, seed=0)
    simulate(
        env, agent, episodes=2, seeds=[0], clock=Clock(trial_s=2.0, iti_s=0.0, offline_dt=0.0)
    )[1].runs[0]  # reaches the goal: q varies
    trace = agent.recorder.to_frame()
    ev = trace_to_events(trace, quantities=("q", "rpe", "reward"))
    n = int((trace["phase"] == "online").sum())
    assert (ev["trial_type"] == "trial").sum() == n
    with pytest.raises(ValueError, match="spe"):  # Q-learning has no world model: NaN spe
        trace_to_events(trace, quantities=("spe",))


def test_node_regressors_can_be_named_by_their_quantity():
    from darkcontrol.neuro.events import trace_to_events as to_events

    rec = TraceRecorder()
    rec.begin_episode()
    rng = np.random.default_rng(0)
    for t in range(6):
        rec.time = 3.0 * t
        rec.online(q=rng.normal(), rpe=rng.normal(), reward=float(t % 2))
    trace = rec.to_frame()
    nodes = ("vmPFC", "rTPJ", "NAcc")
    by_node = to_events(trace, quantities=nodes, region_map=RegionMap.paper())
    by_quantity = to_events(trace, quantities=nodes, region_map=RegionMap.paper(), label="quantity")
    assert set(by_quantity["trial_type"]) == {"trial", "q", "abs_rpe", "reward"}
    regs = by_quantity.attrs["darkcontrol"]["regressors"]
    assert regs["q"]["node"] == "vmPFC" and regs["abs_rpe"]["node"] == "rTPJ"
    for node, name in zip(nodes, ("q", "abs_rpe", "reward")):  # same values, other name
        np.testing.assert_allclose(
            by_node.loc[by_node["trial_type"] == node, "modulation"].to_numpy(),
            by_quantity.loc[by_quantity["trial_type"] == name, "modulation"].to_numpy(),
        )
    with pytest.raises(ValueError, match="twice"):
        to_events(trace, quantities=("vmPFC", "q"), region_map=RegionMap.paper(), label="quantity")
