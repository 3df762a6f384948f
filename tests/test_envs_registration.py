"""Gymnasium specs: an episode that could run forever has a time limit; every environment's
metadata carries its reference (taken from the docstring's References section)."""

import re

import gymnasium as gym
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.envs import ENV_IDS


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_metadata_has_the_reference(env_id):
    env = gym.make(env_id)
    ref = env.unwrapped.metadata["reference"]
    assert re.search(r"\((19|20)\d\d\)", ref), ref  # an author-year citation
    assert env.spec.id == env_id


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_no_episode_runs_forever(env_id):
    """A policy that repeats one action (never aiming for a goal) still sees the episode end:
    by the task itself (two-step, bandits, sentinel) or by the spec's TimeLimit."""
    env = gym.make(env_id)
    limit = env.spec.max_episode_steps
    env.reset(seed=0)
    steps, terminated, truncated = 0, False, False
    while steps < 20_000 and not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(0)
        steps += 1
    assert terminated or truncated, f"{env_id}: still running after {steps} steps"
    if limit is not None and truncated and not terminated:
        assert steps == limit  # the TimeLimit ended it, not something else
