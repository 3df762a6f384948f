"""scripts/dmn_learner.py's parts (fast): the exact return ratio and the PMC-rTPJ correlation.

The study itself (claims, controls, README agreement) is run by tests/test_claim_studies.py."""

from __future__ import annotations

import numpy as np
import pytest

from darkcontrol.envs import GridWorld
from darkcontrol.envs.mazes import DYNA_MAZE
from darkcontrol.envs.solvers import value_iteration


@pytest.fixture(scope="module")
def study(load_script):
    return load_script("dmn_learner")


def test_return_ratio_is_one_for_the_optimal_q_and_zero_for_a_policy_that_never_arrives(study):
    mdp = GridWorld(DYNA_MAZE).unwrapped.mdp
    q_star = value_iteration(mdp, study.GAMMA).Q
    assert study.return_ratio(mdp, q_star) == pytest.approx(1.0)
    assert study.return_ratio(mdp, -q_star) < 0.05


def test_tabular_control_is_collinear_and_the_lesioned_paper_learner_steps_online(study):
    tab = study.run_condition("tabular", 0, 3)
    assert tab["r"] > 0.999 and tab["separation"] < 1e-3
    les = study.run_condition("no_replay", 0, 1)
    assert les["offline_steps"] == 0 and les["real_steps"] > 0
    assert np.isfinite(les["r"])  # it learns online: its update norms vary


def test_bad_arguments_exit_2(study):
    for argv in (["--seeds", "1"], ["--episodes", "0"]):
        with pytest.raises(SystemExit) as e:
            study.main(argv + ["--out", "/nonexistent/never_written"])
        assert e.value.code == 2
