"""Daw et al. (2011, Neuron 69:1204-1215, Fig. 2) signatures of simulated two-step choice.

20 simulated participants x 200 trials per agent (the study had 17 x 201). Model-free choice
(w = 0): stay probability rises after reward whatever the transition, and the reward x
transition interaction is null. Model-based choice (w = 1): the interaction, not the main
effect. The hybrid at Daw et al.'s median fits: both. Measured (seed 0, clustered SE): model-free
reward 1.12 (z 12.2), interaction -0.05 (z -0.5); model-based reward -0.02 (z -0.4),
interaction 0.40 (z 10.9); hybrid reward 0.42 (z 12.7), interaction 0.17 (z 4.9).
"""

import pytest

from darkcontrol.agents.two_step import PRESETS
from darkcontrol.analysis import stay_probabilities, stay_regression, two_step_trials
from darkcontrol.simulation import simulate

pytestmark = pytest.mark.slow

N_PARTICIPANTS, N_TRIALS = 20, 200


def _fit(preset):
    trace, _ = simulate(
        "darkcontrol/TwoStep-v0",
        "two_step_hybrid",
        episodes=N_TRIALS,
        seeds=N_PARTICIPANTS,
        **PRESETS[preset],
    )
    trials = two_step_trials(trace)
    assert len(trials) == N_PARTICIPANTS * N_TRIALS
    return stay_probabilities(trials)["mean"], stay_regression(trials)


def test_model_free_agents_show_only_the_reward_effect():
    stay, reg = _fit("model_free")
    reward, inter = reg.loc["reward"], reg.loc["reward_x_transition"]
    assert reward["coef"] > 0 and reward["z"] > 5
    assert inter["ci_low"] < 0 < inter["ci_high"]
    assert abs(inter["coef"]) < 0.2 * reward["coef"]
    for trans in ("common", "rare"):
        assert stay[("rewarded", trans)] > stay[("unrewarded", trans)] + 0.1
    # the transition does not matter after a reward, nor after no reward
    assert abs(stay[("rewarded", "common")] - stay[("rewarded", "rare")]) < 0.05
    assert abs(stay[("unrewarded", "common")] - stay[("unrewarded", "rare")]) < 0.05


def test_model_based_agents_show_the_interaction():
    stay, reg = _fit("model_based")
    reward, inter = reg.loc["reward"], reg.loc["reward_x_transition"]
    assert inter["coef"] > 0 and inter["z"] > 5
    assert reward["ci_low"] < 0 < reward["ci_high"]
    assert stay[("rewarded", "common")] > stay[("rewarded", "rare")] + 0.1
    assert stay[("unrewarded", "rare")] > stay[("unrewarded", "common")] + 0.1


def test_hybrid_agents_show_both():
    _, reg = _fit("hybrid")
    assert reg.loc["reward", "z"] > 5
    assert reg.loc["reward_x_transition", "z"] > 3
    assert reg.loc["reward", "coef"] > reg.loc["reward_x_transition", "coef"] > 0
