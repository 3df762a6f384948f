"""scripts/pomdp_memory.py's parts (fast): the returns, the context recording, the read-out.

The study itself (claims, controls, README agreement) is run by tests/test_claim_studies.py."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import darkcontrol.envs  # noqa: F401
from darkcontrol.agents import make_agent
from darkcontrol.simulation import simulate


@pytest.fixture(scope="module")
def study(load_script):
    return load_script("pomdp_memory")


def test_discounted_returns_per_episode(study):
    env = gym.make("darkcontrol/CueMaze-v0", corridor_length=2)
    agent = make_agent("belief", env, seed=0, gamma=0.95)
    trace, summary = simulate(env, agent, episodes=5, seeds=[0])
    g = study.discounted_returns(trace, 0.95)
    assert len(g) == 5
    on = trace[trace["phase"] == "online"]
    for ep, ret in enumerate(g):
        r = on[on["episode"] == ep]["reward"].to_numpy()
        assert ret == pytest.approx(sum(0.95**t * x for t, x in enumerate(r)))
    # undiscounted, they are the runner's returns
    np.testing.assert_allclose(study.discounted_returns(trace, 1.0), summary.runs[0].returns)


def test_with_context_records_the_hidden_context_and_the_agents_own_belief(study):
    env = gym.make("darkcontrol/HiddenContext-v0")
    base = env.unwrapped
    ctx = np.array([base.decode(s)[0] for s in range(base.n_states)], dtype=float)
    agent = study.with_context(make_agent("belief", env, seed=1, gamma=0.5), ctx)
    trace, _ = simulate(env, agent, episodes=2, seeds=[1])
    on = trace[trace["phase"] == "online"]
    assert set(on["context"].unique()) <= {0, 1} and len(agent.p_context1) == len(on)
    # P(context 1 | b') agrees with the agent's own recorded argmax of b'
    believed = ctx[on["belief_state"].to_numpy(np.int64)]
    p1 = np.asarray(agent.p_context1)
    assert np.mean((p1 > 0.5) == (believed == 1)) > 0.99
    # the filter tracks the context far above chance
    assert study.readout_accuracy(p1, on["context"].to_numpy()) > 0.75


def test_readout_scores_ties_as_half(study):
    truth = np.array([0, 1, 1, 0])
    assert study.readout_accuracy(np.array([0.2, 0.9, 0.4, 0.5]), truth) == pytest.approx(
        (1 + 1 + 0 + 0.5) / 4
    )
    assert study.readout_accuracy(np.full(4, 0.5), truth) == 0.5


def test_bad_arguments_exit_2(study, capsys):
    for argv in (["--seeds", "1"], ["--train", "0"], ["--hazard", "0.7"]):
        with pytest.raises(SystemExit) as e:
            study.main(argv + ["--out", "/nonexistent/never_written"])
        assert e.value.code == 2
    assert "must be" in capsys.readouterr().err
