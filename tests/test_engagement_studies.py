"""Fast checks of the pieces of scripts/dmn_engagement.py and scripts/vatansever_practice.py
(the studies themselves run in tests/test_claim_studies.py and tests/test_dmn_scripts.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import dmn_engagement as eng  # noqa: E402
import vatansever_practice as vat  # noqa: E402


def test_mirror_wrapper_changes_the_world_after_the_change_step():
    env = eng.MirrorFrom(gym.make(eng.ENV_ID), change=2)
    assert [env.action(a) for a in (0, 1, 0, 1, 2, 3)] == [0, 1, 2, 3, 0, 1]
    never = eng.MirrorFrom(gym.make(eng.ENV_ID), change=None)
    assert [never.action(a) for a in range(4)] == [0, 1, 2, 3]


def test_windows_are_the_declared_trial_ranges():
    x = np.r_[np.zeros(10), np.ones(10), np.full(10, 0.5)]
    assert eng.windows(x, change=20, w=5) == {"early": 0.0, "practised": 1.0, "after_change": 0.5}


def test_exact_shortest_paths_are_whole_steps_and_the_maze_takes_14():
    sol, optimal, d = vat.exact()
    finite = np.isfinite(d)
    assert np.allclose(d[finite], np.round(d[finite]))
    mdp = gym.make(vat.ENV_ID).unwrapped.mdp
    assert d[mdp.start > 0].min() == pytest.approx(14.0)  # Sutton & Barto's Dyna maze
    assert optimal.any(axis=1)[~mdp.terminal].all()


def test_partial_correlation_removes_a_shared_learning_trend():
    rng = np.random.default_rng(0)
    t = np.arange(200.0)
    x, y = t + rng.normal(0, 5, 200), t + rng.normal(0, 5, 200)
    assert vat.corr(x, y) > 0.9
    assert abs(vat.partial(x, y, t)) < 0.2
    assert vat.corr(np.ones(5), np.arange(5.0)) == 0.0  # a constant relates to nothing


def test_bad_arguments_exit_2():
    with pytest.raises(SystemExit) as e:
        vat.main(["--acquisition", "50", "--practised", "10"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        eng.main(["--window", "5000"])
    assert e.value.code == 2
