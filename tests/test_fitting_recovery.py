"""Recovery on simulated participants (Wilson & Collins 2019, rules 5-6): parameters, models,
the two-step task's model-based weight, and the hierarchical fit's group prior."""

import numpy as np
import pytest

from darkcontrol.neuro.fitting import FitConfig, fit_many
from darkcontrol.neuro.hierarchical import fit_hierarchical
from darkcontrol.neuro.likelihood import make_model
from darkcontrol.neuro.recovery import (
    model_recovery,
    parameter_recovery,
    plot_confusion,
    plot_parameter_recovery,
    recovery_stats,
    sample_params,
    simulate_participants,
)


def test_recovery_stats_and_sampling_ranges():
    import pandas as pd

    true = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    stats = recovery_stats(true, true * 2 + 1)
    assert stats.loc["a", "r"] == pytest.approx(1.0) and stats.loc["a", "bias"] == 2.5
    m = make_model("q_learning")
    ps = sample_params(m, 200, np.random.default_rng(0), {"alpha": (0.2, 0.3)})
    alphas = np.array([p["alpha"] for p in ps])
    betas = np.array([p["beta"] for p in ps])
    assert alphas.min() >= 0.2 and alphas.max() <= 0.3
    assert betas.min() >= 1.0 and betas.max() <= 10.0  # the default sim_range
    with pytest.raises(ValueError, match="unknown/fixed"):
        sample_params(m, 2, np.random.default_rng(0), {"gamma": (0, 1)})


def test_small_recovery_runs_and_plots(tmp_path):
    res = parameter_recovery(
        "q_learning", 5, n_trials=60, seed=3, fit_config=FitConfig(starts=2, hessian=False)
    )
    assert list(res.true.columns) == ["alpha", "beta"] and len(res.fitted) == 5
    assert plot_parameter_recovery(res, tmp_path / "p.png").stat().st_size > 1000
    mr = model_recovery(
        ["wsls", "q_learning"], 3, n_trials=60, seed=1, fit_config=FitConfig(starts=2)
    )
    assert mr.confusion.to_numpy().sum() == 6
    assert plot_confusion(mr, tmp_path / "c.png").stat().st_size > 1000


@pytest.mark.slow
def test_parameter_recovery_q_learning_restless_bandit():
    """50 participants, 200 trials of the 4-armed restless bandit, alpha ~ U(0.1, 0.9),
    beta ~ U(1, 10); MAP fits with the default weak prior (Wilson & Collins 2019 recommend a
    prior against the MLE's runaway inverse temperatures). Measured: r = 0.96 / 0.88."""
    res = parameter_recovery(
        "q_learning",
        50,
        n_trials=200,
        ranges={"alpha": (0.1, 0.9), "beta": (1.0, 10.0)},
        fit_config=FitConfig(method="map", starts=5, hessian=False),
        seed=7,
    )
    assert res.r("alpha") >= 0.8, res.stats
    assert res.r("beta") >= 0.8, res.stats
    assert abs(res.stats.loc["alpha", "bias"]) < 0.1


@pytest.mark.slow
def test_model_recovery_diagonal_dominates():
    """On the 4-armed restless bandit: random (biased), WSLS, Q-learning and Q-learning with
    perseveration, 15 simulated participants each, chosen by BIC: each generating model is the
    most frequent choice for its own data."""
    res = model_recovery(
        [make_model("random", n_actions=4), "wsls", "q_learning", "q_persev"],
        15,
        n_trials=200,
        criterion="bic",
        fit_config=FitConfig(starts=3, hessian=False),
        seed=4,
    )
    frac = res.fractions.to_numpy()
    assert (np.argmax(frac, axis=1) == np.arange(4)).all(), res.confusion
    assert np.diag(frac).min() >= 0.6, res.confusion
    assert res.accuracy >= 0.8, res.confusion


@pytest.mark.slow
def test_two_step_fits_separate_model_based_from_model_free():
    """Daw et al. (2011) two-step task, 200 trials: participants simulated with w = 1 get a far
    larger fitted w than those simulated with w = 0 (7-parameter hybrid, MAP)."""
    rng = np.random.default_rng(0)
    params = []
    for w in (0.0, 1.0):
        for _ in range(8):
            params.append(
                dict(
                    alpha1=rng.uniform(0.3, 0.7),
                    alpha2=rng.uniform(0.3, 0.7),
                    beta1=rng.uniform(3, 7),
                    beta2=rng.uniform(3, 7),
                    w=w,
                    lam=rng.uniform(0.3, 0.9),
                    perseveration=rng.uniform(0.0, 0.3),
                )
            )
    behaviors = simulate_participants(make_model("two_step_hybrid"), params, n_trials=200, seed=1)
    fits = fit_many("two_step_hybrid", behaviors, FitConfig(method="map", starts=3, hessian=False))
    w = np.array([f.params["w"] for f in fits])
    w_mf, w_mb = w[:8], w[8:]
    assert w_mb.mean() - w_mf.mean() > 0.4, (w_mf, w_mb)
    # probability that a random MB participant has the larger w (area under the ROC curve)
    auc = (w_mb[:, None] > w_mf[None, :]).mean()
    assert auc >= 0.95, (w_mf, w_mb)


@pytest.mark.slow
def test_hierarchical_fit_recovers_the_group_and_ibic_picks_the_model():
    """Participants drawn from a known group distribution on the unbounded scale; EM recovers
    its mean, shrinks individual estimates towards it (smaller error than separate MLE), and
    the integrated BIC prefers the generating Q-learner over WSLS and a Q-learner with lapses."""
    model = make_model("q_learning")
    rng = np.random.default_rng(5)
    mu_true = np.array([0.0, np.log(4.0)])  # logit alpha, log beta
    U = mu_true + np.array([0.6, 0.3]) * rng.standard_normal((16, 2))
    theta = model.from_unbounded(U)
    params = [model.as_dict(t) for t in theta]
    behaviors = simulate_participants(model, params, n_trials=100, seed=2)
    h = fit_hierarchical(model, behaviors, seed=0, tol=1e-2)
    assert h.converged
    np.testing.assert_allclose(h.mu, U.mean(axis=0), atol=0.35)
    mle = fit_many(model, behaviors, FitConfig(starts=5, hessian=False))
    err_mle = np.abs(np.array([[f.params[n] for n in ("alpha", "beta")] for f in mle]) - theta)
    err_h = np.abs(np.array([[f.params[n] for n in ("alpha", "beta")] for f in h.fits]) - theta)
    assert err_h[:, 1].mean() < err_mle[:, 1].mean()  # shrinkage helps beta most
    ibic = {m: fit_hierarchical(m, behaviors, seed=0, tol=1e-2).ibic for m in ("wsls", "q_lapse")}
    assert h.ibic < min(ibic.values()), (h.ibic, ibic)
