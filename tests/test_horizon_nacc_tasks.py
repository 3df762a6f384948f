"""The tasks and statistics of scripts/dmn_horizon.py and scripts/nacc_prediction.py: exact
values of the temporal discounting task and of the iterated game, the Behavior handed to the fit,
and the partial correlation (fast; the studies themselves run in test_claim_studies.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from darkcontrol.envs import value_iteration

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"_study_{name}", SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


hz = _script("dmn_horizon")
nacc = _script("nacc_prediction")


@pytest.mark.parametrize("gamma", [0.3, 0.6, 0.8, 0.95])
def test_discounting_task_exact_values_are_gamma_to_the_delay(gamma):
    mdp = hz.discounting_mdp()
    Q = value_iteration(mdp, gamma).Q[: len(hz.DELAYS)]
    np.testing.assert_allclose(Q[:, hz.SOON], hz.R_SOON, atol=1e-8)
    np.testing.assert_allclose(Q[:, hz.LATE], [gamma**d * hz.R_LATE for d in hz.DELAYS], atol=1e-8)


def test_indifference_delay_grows_with_gamma():
    gammas = np.linspace(0.2, 0.99, 40)
    ind = [hz.indifference_delay(g) for g in gammas]
    assert ind == sorted(ind) and ind[0] == 0 and ind[-1] == max(hz.DELAYS)
    # gamma*(d) = (r_s / r_L)^(1/d): just above waits for d, just below does not
    for d in hz.DELAYS:
        g_star = (hz.R_SOON / hz.R_LATE) ** (1 / d)
        k = hz.DELAYS.index(d)
        assert hz.exact_waits(g_star + 1e-3)[k] and not hz.exact_waits(g_star - 1e-3)[k]


def test_no_delay_variant_does_not_depend_on_gamma():
    delays = tuple(0 for _ in hz.DELAYS)
    q = [value_iteration(hz.discounting_mdp(delays), g).Q[: len(delays)] for g in (0.1, 0.9)]
    np.testing.assert_allclose(q[0], q[1])


def test_gamma_of_is_a_function_of_the_seed():
    assert hz.gamma_of(3) == hz.gamma_of(3) != hz.gamma_of(4)
    assert all(hz.GAMMA_RANGE[0] <= hz.gamma_of(s) <= hz.GAMMA_RANGE[1] for s in range(50))


def test_horizon_behaviour_scores_only_the_choices():
    import pandas as pd

    K = len(hz.DELAYS)
    mdp = hz.discounting_mdp()
    trace = pd.DataFrame(
        {
            "phase": ["online", "online", "offline", "online", "online"],
            "state": [0, K, 0, 1, 1],
            "action": [1, 0, 1, 0, 1],
            "reward": [0.0, 3.0, 0.0, 1.0, 0.0],
            "next_state": [K, mdp.n_states - 1, K, mdp.n_states - 1, K + 1],
            "terminated": [False, True, False, True, False],
            "episode": [0, 0, 0, 1, 2],
            "time": [0.0, 2.0, 2.5, 4.0, 6.0],
        }
    )
    b = hz.behaviour(trace, K, mdp.n_states)
    assert b.n_trials == 4  # the offline row is not behaviour
    assert b.scored.tolist() == [True, False, True, True]


def test_game_exact_values_make_cooperation_optimal_only_far_sighted():
    ex = nacc.exact_values((0.0, 0.9))
    assert not ex["0.0"]["cooperation_optimal"] and ex["0.9"]["cooperation_optimal"]


def test_partial_correlation_removes_the_covariates():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2000, 2))
    x = z[:, 0] + rng.normal(size=2000)
    y = z[:, 0] + z[:, 1] + rng.normal(size=2000)
    assert abs(nacc.partial(x, y, z)) < 0.06
    assert nacc.partial(x, x + 0.1 * rng.normal(size=2000), z) > 0.9
    assert nacc.partial(np.ones(10), np.arange(10.0), np.arange(10.0)[:, None]) == 0.0
