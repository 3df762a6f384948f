"""darkcontrol.results: pre-declared tests hold for planted effects, hold for nulls at no more
than the nominal rate, evaluate controls independently, and write a well-formed results.json."""

import json

import numpy as np
import pytest

from darkcontrol.results import (
    STATISTICS,
    ClaimSpec,
    claim,
    evaluate,
    read_results,
    write_results,
)

ONE_SAMPLE = ("one_sample_t", "bootstrap_mean", "sign_flip")


@pytest.mark.parametrize("statistic", ONE_SAMPLE)
def test_a_planted_effect_holds_and_its_ci_covers_it(statistic):
    rng = np.random.default_rng(1)
    x = 0.5 + rng.normal(0, 0.3, size=12)
    t = evaluate(ClaimSpec("planted", statistic), x, seed=3)
    assert t.holds and t.p < 0.025 and t.n == 12
    assert t.ci[0] < 0.5 < t.ci[1] and t.ci[0] > 0
    assert t.effect == pytest.approx(x.mean())
    # the same effect, declared in the other direction, does not hold
    assert not evaluate(ClaimSpec("planted", statistic, direction="<"), x).holds
    # nor against a threshold above it
    assert not evaluate(ClaimSpec("planted", statistic, threshold=1.0), x).holds


@pytest.mark.parametrize("statistic", ONE_SAMPLE)
def test_a_null_holds_at_no_more_than_the_nominal_rate(statistic):
    spec = ClaimSpec("null", statistic, alpha=0.05)
    rng = np.random.default_rng(0)
    n_sets = 300
    held = sum(evaluate(spec, rng.normal(size=10), seed=k).holds for k in range(n_sets))
    # one-sided rate alpha / 2 = 0.025: 7.5 of 300 expected; binomial 99.9% upper bound ~ 18
    assert held <= 18


def test_paired_t_compares_pairs():
    rng = np.random.default_rng(2)
    base = rng.normal(0, 5, size=10)  # large between-unit spread, small paired difference
    x, y = base + 0.5 + rng.normal(0, 0.2, 10), base
    t = evaluate(ClaimSpec("paired", "paired_t"), x, y)
    assert t.holds and t.effect == pytest.approx(np.mean(x - y))
    # unpaired, the same difference is buried in the spread
    assert not evaluate(ClaimSpec("unpaired", "one_sample_t"), x).holds


def test_spearman_finds_a_monotone_relation_and_not_a_shuffled_one():
    rng = np.random.default_rng(4)
    x = rng.normal(size=30)
    y = np.exp(x) + rng.normal(0, 0.1, 30)
    t = evaluate(ClaimSpec("mono", "spearman"), x, y, seed=1)
    assert t.holds and t.effect > 0.9 and t.ci[0] > 0.7
    # exact permutation p for small n: a perfect ranking of 5 pairs has p = 1/120
    t5 = evaluate(ClaimSpec("exact", "spearman"), np.arange(5), np.arange(5) ** 2)
    assert t5.p == pytest.approx(1 / 120) and t5.effect == pytest.approx(1.0)


def test_sign_flip_is_exact_for_small_n():
    # all 8 values positive: only the identity flip (of 2^8) is as extreme
    t = evaluate(ClaimSpec("flip", "sign_flip"), np.arange(1, 9, dtype=float))
    assert t.p == pytest.approx(1 / 256)


def test_controls_are_evaluated_independently():
    rng = np.random.default_rng(5)
    effect = 1.0 + rng.normal(0, 0.2, 10)
    null = rng.normal(0, 0.2, 10)
    c = claim(
        ClaimSpec("c", "one_sample_t"),
        effect,
        controls={"removed": null, "kept": effect + 0.1},
        descriptions={"removed": "mechanism removed"},
    )
    assert c.holds
    assert not c.control("removed").holds and c.control("removed").description
    assert c.control("kept").holds
    assert c.control("removed").effect == pytest.approx(null.mean())
    with pytest.raises(KeyError):
        c.control("absent")


def test_same_data_and_seed_give_the_same_result():
    x = np.random.default_rng(6).normal(0.3, 1, 8)
    spec = ClaimSpec("r", "bootstrap_mean")
    assert evaluate(spec, x, seed=9) == evaluate(spec, x, seed=9)


def test_write_results_schema_and_atomic_file(tmp_path):
    rng = np.random.default_rng(7)
    claims = [
        claim(
            ClaimSpec("a", "one_sample_t"),
            1 + rng.normal(0, 0.1, 5),
            controls={"k": rng.normal(0, 1, 5)},
        ),
        claim(
            ClaimSpec("b", "paired_t", description="x > y"),
            rng.normal(size=5),
            rng.normal(size=5),
            reason="none",
        ),
    ]
    path = write_results(tmp_path / "out", "demo", {"seeds": [0, 1]}, claims, checks={"r": 0.1})
    assert path.name == "results.json" and not list(path.parent.glob(".*tmp"))
    doc = json.loads(path.read_text())
    assert doc["study"] == "demo" and doc["config"] == {"seeds": [0, 1]} and doc["version"]
    assert doc["checks"] == {"r": 0.1}
    a, b = doc["claims"]
    assert set(a) >= {"name", "statistic", "effect", "ci", "n", "holds", "controls"}
    assert a["holds"] is True and a["n"] == 5 and len(a["ci"]) == 2
    assert set(a["controls"][0]) >= {"name", "effect", "ci", "holds"}
    assert b["description"] == "x > y" and b["reason"] == "none"
    assert read_results(path.parent)["claims"][0]["name"] == "a"
    with pytest.raises(ValueError, match="unique"):
        write_results(tmp_path, "demo", {}, [claims[0], claims[0]])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"statistic": "median"}, "statistic must be one of"),
        ({"statistic": "paired_t", "direction": ">="}, "direction must be one of"),
        ({"statistic": "paired_t", "alpha": 0.0}, "alpha must be in"),
        ({"statistic": "paired_t", "threshold": float("nan")}, "threshold must be finite"),
    ],
)
def test_spec_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ClaimSpec("bad", **kwargs)


def test_evaluate_validation():
    spec = ClaimSpec("v", "paired_t")
    with pytest.raises(ValueError, match="pass y"):
        evaluate(spec, [1.0, 2.0])
    with pytest.raises(ValueError, match="pair up"):
        evaluate(spec, [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2"):
        evaluate(ClaimSpec("v", "one_sample_t"), [1.0])
    with pytest.raises(ValueError, match="non-finite"):
        evaluate(ClaimSpec("v", "one_sample_t"), [1.0, np.nan])
    assert set(STATISTICS) == {
        "one_sample_t",
        "paired_t",
        "bootstrap_mean",
        "sign_flip",
        "spearman",
    }


def test_describe_names_the_effect_the_verdict_and_every_control():
    spec = ClaimSpec("rise", "one_sample_t")
    c = claim(spec, [1.0, 1.2, 0.9, 1.1], controls={"ablation": [0.1, -0.1, 0.05, -0.05]})
    line = c.describe()
    assert line.startswith("rise: +1.050 [") and "holds |" in line
    assert "ablation +0.000 [" in line and line.endswith("fails")
