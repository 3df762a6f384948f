"""gamma as the horizon, longer at rest than on task (DESIGN.md's hypothesis): with
``rest_gamma`` the backups of rest blocks use a farther horizon, and the values they leave
behind are those of that horizon; the task's gamma is untouched."""

import gymnasium as gym
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.clock import Schedule
from darkcontrol.dmn import DMNAgent
from darkcontrol.envs.solvers import value_iteration
from darkcontrol.simulation import simulate
from darkcontrol.trace import TraceRecorder


def _value_at_start_after_rest(rest_gamma, seed=0):
    env = gym.make("darkcontrol/LinearTrack-v0")
    dmn = DMNAgent(
        "q_learning",
        env,
        account="full",
        seed=seed,
        recorder=TraceRecorder(),
        gamma=0.5,
        alpha=0.5,
        epsilon=0.2,
        w_replay=1.0,
        w_model=0.0,
        w_recombined=0.0,
        replay_hz=20.0,
        sentinel=False,
        engagement="constant",
        rest_gamma=rest_gamma,
    )
    # learn the track on task (no ITI replay), then rest for a long block
    schedule = Schedule.from_blocks(
        [
            {"kind": "task", "duration": 300.0, "trial_s": 1.0, "iti_s": 0.0},
            {"kind": "rest", "duration": 200.0},
        ]
    )
    simulate(env, dmn, schedule=schedule, seeds=[seed])
    assert dmn.agent.config.gamma == 0.5 and dmn.gamma == 0.5  # task horizon restored
    return dmn.agent.q_values(), env.unwrapped.mdp


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rest_backups_use_the_rest_horizon(seed):
    q_far, mdp = _value_at_start_after_rest(0.95, seed)
    q_task, _ = _value_at_start_after_rest(None, seed)
    far = value_iteration(mdp, 0.95).Q
    near = value_iteration(mdp, 0.5).Q
    start = 0
    # replay of the experienced (deterministic) track converges to Q* of the horizon used
    assert q_far[start].max() == pytest.approx(far[start].max(), rel=0.05)
    assert q_task[start].max() == pytest.approx(near[start].max(), rel=0.05, abs=1e-3)
    assert q_far[start].max() > 20 * q_task[start].max()


def test_rest_gamma_is_validated():
    env = gym.make("darkcontrol/LinearTrack-v0")
    with pytest.raises(ValueError, match="rest_gamma must be in"):
        DMNAgent("q_learning", env, rest_gamma=1.0)
