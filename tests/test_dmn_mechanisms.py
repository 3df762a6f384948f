"""The mechanisms inside the DMN Agent (issue 12, items 1, 2, 4): options reachable from
``darkcontrol.simulate`` and the CLI, recorded in the Trace, deterministic, validated.
The claims themselves are checked on the components: test_dmn_allocation,
test_dmn_sentinel_relevance, test_dmn_recombine_learned."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import darkcontrol.envs  # noqa: F401  (registers the environments)
from darkcontrol import simulate
from darkcontrol.cli import main
from darkcontrol.dmn import DMNAgent
from darkcontrol.dmn.config import DMNConfig
from darkcontrol.envs.mazes import DynaMaze
from darkcontrol.envs.tabular import MDPEnv
from darkcontrol.trace import read_trace

ALLOCATION_COLUMNS = ("allocation", "demand", "uncertainty", "stake", "voc")
OPTIONS = [
    {},  # the defaults: allocation, relevance, stitch
    {"engagement": "heuristic", "salience": "rarity"},
    {"demand": "constant", "constant_demand": 0.4},
    {"recombine": "perturb", "recombine_noise": 0.5},
    {"recombine": "association"},
    {"recombine": "oracle_analogy"},
]


def test_defaults_are_the_mechanisms():
    cfg = DMNConfig()
    assert (cfg.engagement, cfg.salience, cfg.recombine) == ("allocation", "relevance", "stitch")
    assert DMNConfig(account="semantic").recombine == "association"


@pytest.mark.parametrize(
    "params", OPTIONS, ids=lambda p: ",".join(map(str, p.values())) or "defaults"
)
def test_every_option_runs_records_and_is_deterministic(params):
    runs = [
        simulate("darkcontrol/DynaMaze-v0", "dmn", episodes=2, seeds=[3], max_steps=120, **params)[
            0
        ]
        for _ in range(2)
    ]
    pd.testing.assert_frame_equal(runs[0], runs[1])  # same seed, same Trace
    trace = runs[0]
    online = trace[trace["phase"] == "online"]
    assert (trace["phase"] == "offline").any()
    if params.get("engagement", "allocation") == "allocation":
        for col in ALLOCATION_COLUMNS:
            assert online[col].notna().all(), col
        assert online["allocation"].between(0, 1).all()
        np.testing.assert_allclose(online["engagement"], online["allocation"])
        if params.get("demand") == "constant":
            assert (online["demand"] == 0.4).all()
    else:
        assert not set(ALLOCATION_COLUMNS) & set(trace.columns)
    assert online["salience"].notna().all()


def test_allocation_is_reachable_from_the_command_line(tmp_path):
    out = tmp_path / "dmn.parquet"
    argv = ["simulate", "--agent", "dmn", "--set", "demand=constant", "--set", "w_stake=0.5"]
    argv += ["--episodes", "1", "--max-steps", "60", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    trace = read_trace(out)
    assert (trace.loc[trace["phase"] == "online", "demand"] == 0.3).all()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"engagement": "predictability"}, "engagement must be one of"),
        ({"salience": "loud"}, "salience must be one of"),
        ({"demand": "none"}, "demand must be one of"),
        ({"recombine": "analogy"}, "recombine must be one of"),
        ({"allocation_beta": 0}, r"allocation_beta must be in \(0, inf\), got 0"),
        ({"forgetting": 1.0}, r"forgetting must be in \[0, 1\), got 1.0"),
        ({"w_voc": -1}, r"w_voc must be in \[0, inf\), got -1"),
        ({"recombine_noise": -0.1}, r"recombine_noise must be in \[0, inf\), got -0.1"),
    ],
)
def test_bad_values_are_refused_at_construction(params, message):
    with pytest.raises(ValueError, match=message):
        DMNConfig(**params)


def test_learned_recombination_never_needs_coordinates():
    mdp = dataclasses.replace(DynaMaze().mdp, coords=None)
    env = MDPEnv(mdp)
    dmn = DMNAgent("q_learning", env, seed=0, epsilon=0.05)
    trace, _ = simulate(env, dmn, episodes=3, seeds=[0], max_steps=400)
    assert (trace["source"] == "recombined").any()
    visited = dmn.model.visits.sum(axis=1) > 0
    untried = (dmn.model.visits == 0) & (visited & ~mdp.terminal)[:, None]
    assert (dmn.q_values()[untried] != 0).mean() > 0.3  # untried pairs acquired values
    with pytest.raises(ValueError, match="oracle_analogy' reads the world's coordinates"):
        DMNAgent("q_learning", env, seed=0, recombine="oracle_analogy")
    with pytest.raises(ValueError, match="features= is for recombine='oracle_analogy' only"):
        DMNAgent("q_learning", env, seed=0, features=np.zeros((mdp.P.shape[0], 2)))


def test_the_sentinel_of_the_dmn_ignores_a_rare_valueless_cue():
    env = gym.make("darkcontrol/Sentinel-v0", n_positions=4, p_threat=0.0, p_social=0.02,
                   social_reward=0.0, episode_length=3000)  # fmt: skip
    rates = {}
    for salience in ("relevance", "rarity"):
        dmn = DMNAgent("q_learning", env, account="sentinel", seed=1, salience=salience,
                       epsilon=0.25)  # fmt: skip
        trace, _ = simulate(env, dmn, episodes=1, seeds=[1])
        online = trace[trace["phase"] == "online"]
        late = online.iloc[1500:]
        rates[salience] = (late.loc[late["cue"] == "social", "salience"] >= 1.0).mean()
    assert rates["relevance"] <= 0.1 < rates["rarity"]
