"""The region map: the paper's Figure 4 nodes, events and binned time series."""

import numpy as np
import pytest

from darkcontrol.regions import NodeSignal, RegionMap
from darkcontrol.trace import TraceRecorder


def _trace():
    rec = TraceRecorder(mode="full")
    rec.offline_dt = 0.25
    rec.begin_episode()
    for t in range(4):
        rec.time = 2.0 * t
        rec.online(
            state=t,
            action=0,
            reward=1.0 if t == 3 else 0.0,
            next_state=t + 1,
            q=0.1 * t,
            rpe=-0.5 if t % 2 else 0.5,
            update_norm=0.2,
            policy_entropy=0.6,
            spe=0.3,
        )
        for _ in range(2):
            rec.offline("replay", state=t, action=0, q=1.0, rpe=0.1, update_norm=0.05)
    return rec.to_frame()


def test_paper_map_has_the_seven_nodes_of_figure_4():
    rmap = RegionMap.paper()
    assert rmap.nodes == ["PMC", "dmPFC", "vmPFC", "rTPJ", "lTPJ", "HPC", "NAcc"]
    assert rmap["vmPFC"].column == "q"
    assert rmap["rTPJ"].column == "rpe" and rmap["rTPJ"].transform == "abs"
    assert rmap["HPC"].phases == ("offline",)


def test_time_series_bins_sum_and_mean_by_node():
    ts = RegionMap.paper().time_series(_trace(), dt=2.0)
    assert list(ts.index) == [0.0, 2.0, 4.0, 6.0]
    # HPC counts the two offline steps after each trial
    np.testing.assert_allclose(ts["HPC"], 2.0)
    # PMC sums update norms: one online (0.2) + two offline (0.05)
    np.testing.assert_allclose(ts["PMC"], 0.3)
    # rTPJ is the mean |rpe| over the bin's three steps
    np.testing.assert_allclose(ts["rTPJ"], (0.5 + 0.1 + 0.1) / 3)
    # NAcc: reward only online, in the last bin
    np.testing.assert_allclose(ts["NAcc"], [0, 0, 0, 1])


def test_events_long_table_and_custom_map():
    rmap = RegionMap.from_dict({"value": "q", "surprise": {"column": "rpe", "transform": "square"}})
    ev = rmap.events(_trace())
    assert set(ev["node"]) == {"value", "surprise"}
    assert (ev.loc[ev["node"] == "surprise", "value"] > 0).all()
    assert len(ev) == 2 * 12


def test_bad_maps_are_rejected():
    with pytest.raises(ValueError, match="identifier"):
        NodeSignal("right-TPJ", "rpe")
    with pytest.raises(ValueError, match="transform"):
        NodeSignal("x", "rpe", transform="log")
    with pytest.raises(ValueError, match="repeated"):
        RegionMap((NodeSignal("a", "q"), NodeSignal("a", "rpe")))
    with pytest.raises(ValueError, match="no column"):
        RegionMap.from_dict({"a": "nonexistent"}).events(_trace())
    with pytest.raises(ValueError, match="pass run="):
        trace = _trace()
        trace2 = trace.copy()
        trace2["run"] = 1
        import pandas as pd

        RegionMap.paper().time_series(pd.concat([trace, trace2]))


def test_named_maps_and_the_hypotheses_wording():
    from darkcontrol.regions import MAPS

    assert set(MAPS) == {"figure4", "hypotheses", "figure4_entropy"}
    assert RegionMap.named("figure4") == RegionMap.paper()
    assert RegionMap.paper()["dmPFC"].column == "choice_prob"  # argmax: the choice
    assert RegionMap.named("figure4_entropy")["dmPFC"].column == "policy_entropy"
    hyp = RegionMap.named("hypotheses")
    assert hyp.nodes == RegionMap.paper().nodes
    assert (hyp["rTPJ"].column, hyp["rTPJ"].phases) == ("spe", ("online",))
    assert (hyp["lTPJ"].column, hyp["lTPJ"].phases) == ("spe", ("offline",))
    # on the test trace: rTPJ is the online spe (0.3 per bin), not |rpe|
    np.testing.assert_allclose(hyp.time_series(_trace(), dt=2.0)["rTPJ"], 0.3)
    with pytest.raises(ValueError, match="unknown region map 'nope'"):
        RegionMap.named("nope")


def test_shuffled_map_is_a_seeded_derangement():
    rmap = RegionMap.named("hypotheses")
    key = [(s.column, s.transform, s.phases, s.agg) for s in rmap.signals]
    seen = set()
    for seed in range(30):
        sh = rmap.shuffled(seed)
        assert sh.nodes == rmap.nodes
        new = [(s.column, s.transform, s.phases, s.agg) for s in sh.signals]
        assert sorted(new, key=str) == sorted(key, key=str)  # the same signals, moved
        assert all(a != b for a, b in zip(new, key))  # no node keeps its own
        seen.add(tuple(map(str, new)))
        assert sh == rmap.shuffled(seed)  # seeded
    assert len(seen) > 10
    with pytest.raises(ValueError, match="two different"):
        RegionMap.from_dict({"a": "q", "b": "q"}).shuffled(0)
