"""Fast checks of the memory claim studies (issue 13): scripts/dmn_deja_vu.py,
scripts/dmn_lesion.py and scripts/hassabis_imagination.py - their measures, conditions and
argument errors. The studies themselves run in tests/test_claim_studies.py (slow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import dmn_deja_vu  # noqa: E402
import dmn_lesion  # noqa: E402
import hassabis_imagination  # noqa: E402


def test_rank_correlation_is_zero_without_a_ranking():
    f = dmn_deja_vu.rank_correlation
    assert f(np.zeros(10), np.arange(10.0)) == 0.0  # all values equal: no ranking
    assert f(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0  # too few pairs
    assert f(np.arange(5.0), np.arange(5.0) ** 2) == pytest.approx(1.0)
    assert f(np.arange(5.0), -np.arange(5.0)) == pytest.approx(-1.0)


def test_value_quality_splits_tried_and_untried_pairs():
    q = dmn_deja_vu.value_quality(3, {"w_recombined": 0.0}, episodes=2)
    assert q["n_untried"] > 0
    # replay and rollouts never reach an untried pair: no ranking among them
    assert q["untried"] == 0.0
    assert np.all(np.array(q["pairs"][0]) == 0.0)
    assert len(q["pairs"][0]) == len(q["pairs"][1]) == q["n_untried"]
    assert q["updates_per_step"] > 1.0  # offline backups after real steps


def test_noise_star_is_a_declared_level_and_the_controls_have_no_recombination():
    assert dmn_deja_vu.NOISE_STAR in dmn_deja_vu.NOISE_LEVELS
    assert 0.0 in dmn_deja_vu.NOISE_LEVELS
    c = dmn_deja_vu.CONDITIONS
    for k in ("replay_only_matched", "no_channel_star", "no_channel_0"):
        assert c[k]["w_recombined"] == 0.0
    assert c["no_channel_star"]["recombine_noise"] == dmn_deja_vu.NOISE_STAR
    assert c["noise_0"]["recombine_noise"] == 0.0


def test_lesion_shams_are_strength_zero_versions():
    conds = dmn_lesion.conditions_of(1.0)
    assert conds["intact"] == {}
    for lesioned, sham in dmn_lesion.SHAM.items():
        assert conds[lesioned]["lesion_strength"] == 1.0
        assert conds[sham] == {**dmn_lesion.CONDITIONS[lesioned], "lesion_strength": 0.0}
    for _, (measure, x, y) in dmn_lesion.DESIGN.items():
        assert measure in ("log_steps", "reached") and x in conds and y in conds


def test_lesion_measures_and_claims_on_planted_steps():
    rng = np.random.default_rng(0)
    n = 6
    fast = rng.integers(20, 30, size=(n, 12))
    slow = rng.integers(200, 300, size=(n, 12))
    l1 = {k: fast for k in dmn_lesion.conditions_of(1.0)}
    l1["lesioned"] = slow
    l1["matched_real_passes"] = slow
    l2 = {k: np.full((n, 8), 40) for k in l1}
    l2["lesioned"] = np.full((n, 8), dmn_lesion.MAX_STEPS)
    claims = {c.name: c for c in dmn_lesion.evaluate_claims(dmn_lesion.measures(l1, l2))}
    assert claims["lesion_slows_learning"].holds
    assert claims["lesion_blocks_new_route"].holds
    assert claims["random_backups_restore"].holds
    assert not claims["real_passes_restore"].holds
    assert not claims["lesion_beyond_fewer_updates"].holds
    assert claims["lesion_beyond_rehearsal"].holds
    for c in claims.values():  # the shams equal the intact agent: every control fails
        assert not c.control("lesion_strength_0").holds


def test_hassabis_conditions():
    c = hassabis_imagination.CONDITIONS
    assert c["lesioned"]["lesion"] == "hippocampus" and "lesion_strength" not in c["lesioned"]
    assert c["no_recombination"] == {"w_recombined": 0.0}


@pytest.mark.parametrize(
    ("script", "args", "match"),
    [
        ("dmn_deja_vu.py", ["--seeds", "1"], "--seeds must be >= 2"),
        ("hassabis_imagination.py", ["--seeds", "1"], "--seeds must be >= 2"),
        ("dmn_lesion.py", ["--strength", "2"], "--strength must be in"),
        ("dmn_lesion.py", ["--episodes1", "5"], "--episodes1 must be >= 10"),
    ],
)
def test_bad_arguments_exit_2(script, args, match, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and match in proc.stderr and "Traceback" not in proc.stderr
