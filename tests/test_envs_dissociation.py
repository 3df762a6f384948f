"""Dissociation-v0: revaluations change values but not the greedy action, contingency swaps
change the greedy action but no value (checked with value iteration on the exact MDPs)."""

import gymnasium as gym
import numpy as np
import pytest

import darkcontrol.envs  # noqa: F401  (registers the environments)
from darkcontrol.envs import value_iteration
from darkcontrol.envs.dissociation import DEFAULT_PHASES, Dissociation


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.95])
def test_revaluations_change_values_and_swaps_change_the_policy(gamma):
    env = Dissociation(corridor=3)
    sol = [value_iteration(env.phase_mdp(k), gamma) for k in range(len(DEFAULT_PHASES))]
    live = ~env.phase_mdp(0).terminal
    for k in range(len(DEFAULT_PHASES)):
        before, after = sol[k - 1], sol[k]  # phase k-1 -> k (cyclic)
        dv = np.abs(after.V - before.V)[live]
        flipped = np.flatnonzero(before.Q[live].argmax(1) != after.Q[live].argmax(1))
        swap = DEFAULT_PHASES[k][2] != DEFAULT_PHASES[k - 1][2]
        if swap:
            assert dv.max() < 1e-9  # no value changes
            assert flipped.tolist() == [env.choice]  # the choice state, only
        else:
            assert dv.max() > 0.4  # the better outcome went 1 -> 2 or back
            assert len(flipped) == 0
    # the closed form of the docstring
    r_x, r_y, _ = DEFAULT_PHASES[1]
    V = sol[1].V
    assert V[env.x] == pytest.approx(r_x) and V[env.y] == pytest.approx(r_y)
    assert V[0] == pytest.approx(gamma ** (env.corridor + 1) * max(r_x, r_y))


def test_the_world_moves_through_its_phases_on_the_lifetime_step_clock():
    env = gym.make("darkcontrol/Dissociation-v0", phase_steps=5).unwrapped
    obs, info = env.reset(seed=0)
    assert obs == 0 and info["phase"] == 0
    seen, arrived, rewards = [], [], []
    for _ in range(5 * len(DEFAULT_PHASES) + 1):
        s = env.state
        s2, r, term, trunc, info = env.step(0)  # always "go" / "collect"
        seen.append(info["phase"])
        if s == env.choice:
            arrived.append((info["phase"], s2))
        if s in (env.x, env.y):
            rewards.append((info["phase"], s, r))
        if term:
            env.reset()
    assert seen[:5] == [0] * 5 and seen[5] == 1 and seen[-1] == 0  # cycles back
    assert env.total_steps == 5 * len(DEFAULT_PHASES) + 1
    # action 0 in C leads to X unless swapped; X pays r_X of the phase
    assert arrived and rewards
    for phase, s2 in arrived:
        assert s2 == (env.y if DEFAULT_PHASES[phase][2] else env.x)
    for phase, s, r in rewards:
        r_x, r_y, _ = DEFAULT_PHASES[phase]
        assert r == (r_x if s == env.x else r_y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"corridor": -1}, "corridor must be an int >= 0"),
        ({"phase_steps": 0}, "phase_steps must be an int >= 1"),
        ({"phase_steps": True}, "phase_steps must be an int >= 1"),
        ({"phases": []}, "at least one"),
        ({"phases": [(1.0, 0.5)]}, "must be \\(r_X, r_Y, swapped\\)"),
        ({"phases": [(1.0, float("nan"), False)]}, "finite r_X"),
        ({"phases": [(1.0, 0.5, "yes")]}, "bool swapped"),
    ],
)
def test_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Dissociation(**kwargs)
    with pytest.raises(ValueError, match="phase must be in"):
        Dissociation().phase_mdp(6)
