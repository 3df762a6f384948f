"""Sweep specifications: grids, random draws, seeds, validation, files, the config hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from darkcontrol.sweep.plan import parse_bytes, plan_chunks
from darkcontrol.sweep.spec import EnvSpec, SweepSpec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sweeps"
ENV = "darkcontrol/DynaMaze-v0"


def _spec(**over):
    base = {
        "name": "t",
        "episodes": 3,
        "max_steps": 50,
        "seeds": 3,
        "envs": [ENV],
        "experiment": [
            {"algorithm": "q_learning", "grid": {"alpha": [0.1, 0.5]}, "fixed": {"gamma": 0.9}},
            {"algorithm": "dyna_q", "grid": {"n_planning": [0, 5]}, "name": "dyna"},
        ],
    }
    base.update(over)
    return SweepSpec.from_dict(base)


def test_design_is_the_full_factorial_times_seeds():
    spec = _spec()
    d = spec.design()
    assert len(d) == spec.n_agents() == 2 * 3 + 2 * 3
    assert d["agent"].tolist() == list(range(12))
    q = d[d["experiment"] == "q_learning-0"]
    assert sorted(zip(q["alpha"], q["seed"])) == [(a, s) for a in (0.1, 0.5) for s in (0, 1, 2)]
    assert (q["gamma"] == 0.9).all()
    assert str(d["n_planning"].dtype) == "Int64"  # integers stay integers next to NaN


def test_random_draws_are_a_function_of_the_spec():
    random = {
        "alpha": {"dist": "loguniform", "low": 0.01, "high": 1.0},
        "n_planning": {"dist": "randint", "low": 0, "high": 4},
        "model": {"dist": "choice", "values": ["last", "counts"]},
    }
    exp = [{"algorithm": "dyna_q", "samples": 40, "random": random}]
    a = _spec(experiment=exp, seeds=[7]).design()
    b = _spec(experiment=exp, seeds=[7]).design()
    c = _spec(experiment=exp, seeds=[7], sampling_seed=1).design()
    assert a.equals(b) and not a["alpha"].equals(c["alpha"])
    assert a["alpha"].between(0.01, 1.0).all() and set(a["n_planning"]) <= {0, 1, 2, 3}
    assert set(a["model"]) == {"last", "counts"}
    # log-uniform: about half the draws below the geometric midpoint 0.1
    assert 10 < (a["alpha"] < 0.1).sum() < 30


@pytest.mark.parametrize(
    "change, match",
    [
        ({"episodes": 0}, "episodes"),
        ({"experiment": [{"algorithm": "nope"}]}, "algorithm must be one of"),
        (
            {"experiment": [{"algorithm": "q_learning", "grid": {"n_planning": [1]}}]},
            "unknown parameter",
        ),
        ({"experiment": [{"algorithm": "q_learning", "grid": {"alpha": 0.1}}]}, "non-empty list"),
        (
            {"experiment": [{"algorithm": "q_learning", "random": {"alpha": {"dist": "beta"}}}]},
            "dist in",
        ),
        ({"seeds": [1, 1]}, "repeats seeds"),
        ({"colour": "red"}, "unknown sweep keys"),
        ({"experiment": [{"algorithm": "q_learning", "grid": {"seed": [1]}}]}, "reserved"),
        ({"dtype": "float16"}, "dtype"),
        (
            {"experiment": [{"algorithm": "q_learning", "fixed": {"alpha": [0.1, 0.2]}}]},
            "put alternatives in grid",
        ),
    ],
)
def test_bad_specs_are_rejected_with_a_clear_message(change, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _spec(**change)


def test_bad_parameter_values_are_caught_when_planning():
    spec = _spec(experiment=[{"algorithm": "q_learning", "grid": {"alpha": [0.5, 2.0]}}])
    with pytest.raises(ValueError, match="alpha must be in"):
        plan_chunks(spec, spec.design(), parse_bytes("1GB"))


def test_config_hash_is_stable_and_sensitive():
    assert _spec().config_hash() == _spec().config_hash()
    assert _spec().config_hash() != _spec(episodes=4).config_hash()
    assert _spec().config_hash() != _spec(seeds=[0, 1, 3]).config_hash()


def test_toml_and_yaml_files(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text(
        'name = "f"\nepisodes = 2\nmax_steps = 20\nseeds = 2\nenvs = ["' + ENV + '"]\n'
        'algorithm = "q_learning"\n[grid]\nalpha = [0.1, 0.2]\n'
    )
    spec = SweepSpec.from_file(toml)
    assert spec.n_agents() == 4 and spec.experiments[0].name == "q_learning"
    pytest.importorskip("yaml")
    yml = tmp_path / "s.yaml"
    yml.write_text(
        f"name: f\nepisodes: 2\nmax_steps: 20\nseeds: 2\nenvs: [{ENV}]\n"
        "algorithm: q_learning\ngrid: {alpha: [0.1, 0.2]}\n"
    )
    assert SweepSpec.from_file(yml).config_hash() == spec.config_hash()
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="toml"):
        SweepSpec.from_file(bad)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_example_specs_load_and_plan(path):
    spec = SweepSpec.from_file(path)
    chunks = plan_chunks(spec, spec.design(), parse_bytes("1GB"))
    assert sum(c.n_agents for c in chunks) == spec.n_agents() > 0


def test_env_specs():
    e = EnvSpec.parse({"id": "darkcontrol/OpenField-v0", "kwargs": {"n_rows": 4, "n_cols": 5}})
    assert e.label == "darkcontrol/OpenField-v0(n_cols=5,n_rows=4)"
    mdp, limit = e.build()
    from darkcontrol.envs.registration import MAZE_STEPS

    assert mdp.n_states == 20 and limit == MAZE_STEPS  # the registered spec's time limit
    f = EnvSpec.parse({"factory": "darkcontrol.envs.mazes:OpenField", "kwargs": {"n_rows": 3}})
    assert f.build()[0].n_states == 30
    with pytest.raises(ValueError, match="changes during a run"):
        EnvSpec.parse("darkcontrol/BlockingMaze-v0").build()
    with pytest.raises(ValueError, match="exactly one"):
        EnvSpec(id="x", factory="m:f")


@pytest.mark.parametrize(
    "text, n", [("2GB", 2 * 10**9), ("512MiB", 2**29), ("1.5e9", 1_500_000_000), (1024, 1024)]
)
def test_parse_bytes(text, n):
    assert parse_bytes(text) == n


@pytest.mark.parametrize("bad", ["lots", "-1GB", "2XB", 0])
def test_parse_bytes_rejects(bad):
    with pytest.raises(ValueError):
        parse_bytes(bad)


def test_seeds_list_and_first_seed():
    assert _spec(seeds=2, first_seed=10).design()["seed"].unique().tolist() == [10, 11]
    assert _spec(seeds=[5, 9]).design()["seed"].unique().tolist() == [5, 9]
    assert np.all(_spec().design().groupby("experiment").size() == 6)
