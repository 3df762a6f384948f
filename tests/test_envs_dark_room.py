"""The dark-room world (envs/dark_room.py) and the surprise minimiser of scripts/dark_room.py.

The registry-generated contract tests (test_envs_contract.py) run DarkRoom-v0 through the
Gymnasium and SB3 checkers, seeded determinism and model-vs-step agreement; here: its exact
model, its ground truth (the optimal reward-seeking policy leaves the dark room, the optimal
surprise-minimising one stays), its arguments, and the surprise minimiser's objective."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import darkcontrol.envs as E
from darkcontrol.envs.dark_room import DARK_ROOM, FORAGE, STAY, DarkRoom
from darkcontrol.simulation import simulate


def test_registered_with_its_exact_model():
    env = gym.make("darkcontrol/DarkRoom-v0")
    m = env.unwrapped.mdp
    assert m.n_states == 5 and m.n_actions == 2
    assert np.all(m.P[:, STAY, DARK_ROOM] == 1.0)  # the dark room: always the same outcome
    assert np.allclose(m.P[:, FORAGE, 1:], 0.25) and np.all(m.P[:, FORAGE, DARK_ROOM] == 0)
    assert np.allclose(m.R[:, FORAGE], 0.25) and np.all(m.R[:, STAY] == 0)
    assert m.start[DARK_ROOM] == 1.0 and not m.terminal.any()


def test_exact_optimum_leaves_the_dark_room_and_a_surprise_minimiser_stays():
    m = DarkRoom().mdp
    sol = E.value_iteration(m, 0.9)
    assert sol.policy[DARK_ROOM, FORAGE] == 1.0  # reward seeking leaves
    assert np.allclose(sol.V, 0.25 / (1 - 0.9))
    surprise = E.TabularMDP(
        P=m.P, R=-(1.0 - (m.P**2).sum(axis=2)), terminal=m.terminal, start=m.start
    )
    sol = E.value_iteration(surprise, 0.9)
    assert sol.policy[:, STAY].tolist() == [1.0] * 5  # every state: go back into the dark
    assert sol.V[DARK_ROOM] == 0.0
    # nothing to seek: indifferent
    sol = E.value_iteration(DarkRoom(food_reward=0.0).mdp, 0.9)
    assert np.allclose(sol.Q, 0.0)


def test_steps_truncation_and_info():
    env = DarkRoom(n_lit=3, episode_length=5)
    s, info = env.reset(seed=0)
    assert s == DARK_ROOM and info == {"dark": True}
    s, r, term, trunc, info = env.step(STAY)
    assert (s, r, term, trunc, info["dark"]) == (DARK_ROOM, 0.0, False, False, True)
    seen = set()
    for t in range(4):
        s, r, term, trunc, info = env.step(FORAGE)
        seen.add(s)
        assert 1 <= s <= 3 and r == (1.0 if s == 1 else 0.0) and not info["dark"]
        assert trunc == (t == 3) and not term
    assert "dark" in env.reset(seed=1)[1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_lit": 1}, "n_lit must be an int >= 2, got 1"),
        ({"n_lit": 2.5}, "n_lit must be an int >= 2, got 2.5"),
        ({"episode_length": 0}, "episode_length must be an int >= 1, got 0"),
        ({"food_reward": float("nan")}, "food_reward must be a finite number, got nan"),
        ({"food_reward": True}, "food_reward must be a finite number, got True"),
    ],
)
def test_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DarkRoom(**kwargs)


def test_the_surprise_minimiser_learns_from_minus_its_own_surprise(load_script):
    mod = load_script("dark_room")
    env = gym.make("darkcontrol/DarkRoom-v0", episode_length=300)
    agent = mod.SurpriseMinimiser(
        "q_learning", env, account="predictive_coding", seed=3, epsilon=0.1, agent_gamma=0.9
    )
    trace, _ = simulate(env, agent, episodes=1, seeds=[3])
    online = trace[trace["phase"] == "online"]
    assert np.allclose(online["reward"], -online["spe"], atol=1e-6)
    assert "env_reward" in online and (online["env_reward"] > 0).any()  # it ignored food
    q = agent.q_values()[DARK_ROOM]
    assert q[STAY] > q[FORAGE]  # it has learnt to stay in the dark
    # and the exact ground truth of the script agrees with the test above
    truth = mod.exact()
    assert truth["reward/rewarded"]["leaves_dark_room"]
    assert not truth["surprise/rewarded"]["leaves_dark_room"]
    assert truth["reward/rewarded"]["dark_share_epsilon_greedy"] == pytest.approx(0.05)
