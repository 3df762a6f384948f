"""The stable-baselines3 DQN adapter: Trace from SB3's loop and from ours, learning, seeding."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from pandas.testing import assert_frame_equal

import darkcontrol.envs  # noqa: F401  (registers the ids)
from darkcontrol.agents import make_agent
from darkcontrol.agents.sb3 import SB3DQNAgent
from darkcontrol.clock import Clock
from darkcontrol.envs.solvers import greedy_path, value_iteration
from darkcontrol.simulation import simulate
from darkcontrol.trace import validate_trace

SMALL = {"learning_starts": 20, "batch_size": 8, "net_arch": (32,), "exploration_steps": 200}


@pytest.fixture(autouse=True)
def one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def track(n=7):
    return gym.make("darkcontrol/LinearTrack-v0", n=n)


def test_sb3_loop_and_agent_loop_give_the_same_trace():
    """run() (SB3's collect_rollouts/train) == darkcontrol.simulate (act/observe/offline), row
    for row, on the clock SB3's loop keeps (1-s trials, offline steps at the trial's end)."""
    a = make_agent("sb3_dqn", track(), seed=1, **SMALL)
    clock = Clock(trial_s=1.0, iti_s=0.0, offline_dt=0.0)
    log = simulate(track(), a, episodes=4, seeds=[3], max_steps=30, clock=clock)[1].runs[0]
    b = SB3DQNAgent(7, 2, seed=1, **SMALL)
    trace, log_b = b.run(track(), sum(log.lengths), seed=3, max_steps=30)
    assert (log_b.lengths, log_b.returns) == (log.lengths, log.returns)
    assert_frame_equal(a.recorder.to_frame(), trace)
    validate_trace(trace)


def test_trace_rows_online_and_offline():
    agent = SB3DQNAgent(7, 2, seed=0, gradient_steps=2, **SMALL)
    trace, log = agent.run(track(), 120, seed=0, max_steps=40)
    on = trace[trace["phase"] == "online"]
    off = trace[trace["phase"] == "offline"]
    assert len(on) == 120
    # gradient_steps rows after every step beyond learning_starts
    assert len(off) == 2 * (120 - SMALL["learning_starts"])
    assert (off["source"] == "replay").all() and (on["source"] == "env").all()
    assert (on["update_norm"] == 0).all() and (off["update_norm"] > 0).all()
    np.testing.assert_allclose(off["rpe"], off["target"] - off["q"], atol=1e-6)
    assert (off["abs_rpe"] >= off["rpe"].abs() - 1e-6).all()
    assert off["replay_ids"].map(len).eq(SMALL["batch_size"]).all()
    # replayed ids are transitions stored before the update
    for ids, ep, step in zip(off["replay_ids"], off["episode"], off["step"]):
        stored = on[(on["episode"] < ep) | ((on["episode"] == ep) & (on["step"] < step))]
        assert max(ids) <= stored["experience_id"].max()
    # uniform warm-up, then epsilon-greedy with the annealed epsilon
    warm = on.iloc[: SMALL["learning_starts"]]
    assert np.allclose(warm["choice_prob"], 0.5) and np.allclose(warm["policy_entropy"], np.log(2))
    assert on["choice_prob"].iloc[-1] != 0.5
    assert trace["spe"].isna().all()
    # an episode ends at the goal (terminated, reward 1) or at max_steps (truncated)
    assert on["terminated"].sum() == sum(r > 0 for r in log.returns)
    assert all(r > 0 or n == 40 for n, r in zip(log.lengths, log.returns))


def test_online_target_uses_the_target_network():
    agent = SB3DQNAgent(7, 2, seed=0, **SMALL)
    simulate(track(), agent, episodes=1, seeds=[0], max_steps=40)[1].runs[0]
    s, a = 2, 1
    q_next = agent.model.q_net_target(agent._obs([3])).max().item()
    q_sa = agent.q_values()[s, a]
    agent._record_online(s, a, 0.0, 3, False)
    row = agent.recorder.to_frame().iloc[-1]
    assert row["q"] == pytest.approx(q_sa, rel=1e-6)
    assert row["target"] == pytest.approx(agent.config.gamma * q_next, rel=1e-6)


def test_learn_offline_and_plan_hooks():
    agent = SB3DQNAgent(7, 2, seed=0, **SMALL)
    assert agent.plan(3) == 0  # nothing before learning_starts
    theta = torch.nn.utils.parameters_to_vector(agent.model.q_net.parameters()).clone()
    agent.learn_offline(5, 1, 1.0, 6, True, source="model")
    after = torch.nn.utils.parameters_to_vector(agent.model.q_net.parameters())
    row = agent.recorder.to_frame().iloc[-1]
    assert (row["phase"], row["source"], row["state"], row["action"]) == ("offline", "model", 5, 1)
    assert row["target"] == pytest.approx(1.0)  # terminal: y = r
    assert row["update_norm"] == pytest.approx((after - theta).norm().item(), rel=1e-5)
    assert agent.model.replay_buffer.n_added == 0


def test_same_seed_same_trace_and_global_generators_untouched():
    torch.manual_seed(0)
    expected = torch.rand(1).item()
    torch.manual_seed(0)
    a = SB3DQNAgent(7, 2, seed=5, **SMALL).run(track(), 60, seed=1)[0]
    assert torch.rand(1).item() == expected
    b = SB3DQNAgent(7, 2, seed=5, **SMALL).run(track(), 60, seed=1)[0]
    assert_frame_equal(a, b)
    c = SB3DQNAgent(7, 2, seed=6, **SMALL).run(track(), 60, seed=1)[0]
    assert not a["q"].equals(c["q"])


def test_learn_needs_an_environment_and_config_is_validated():
    agent = SB3DQNAgent(7, 2, seed=0)
    with pytest.raises(RuntimeError, match="set_env"):
        agent.learn(10)
    with pytest.raises(ValueError, match="batch_size"):
        SB3DQNAgent(7, 2, batch_size=0)
    with pytest.raises(ValueError, match="net_arch"):
        SB3DQNAgent(7, 2, net_arch=64)
    with pytest.raises(ValueError, match="unknown parameter"):
        SB3DQNAgent(7, 2, train_freq=4)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_sb3_on_cuda():
    agent = SB3DQNAgent(7, 2, seed=0, device="cuda", **SMALL)
    trace, _ = agent.run(track(), 50, seed=0)
    assert next(agent.model.q_net.parameters()).is_cuda
    assert (trace["phase"] == "offline").any()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_sb3_dqn_learns_a_linear_track_to_the_optimum(seed):
    env = track(7)
    mdp = env.unwrapped.mdp
    gamma = 0.9
    exact = value_iteration(mdp, gamma)
    start = int(np.argmax(mdp.start))
    optimum = len(greedy_path(mdp, exact.Q, start)) - 1
    assert optimum == 6
    agent = make_agent(
        "sb3_dqn",
        env,
        seed=seed,
        gamma=gamma,
        learning_starts=100,
        exploration_steps=800,
        target_update_interval=100,
        net_arch=(64,),
    )
    trace, log = agent.run(env, 1500, seed=seed, max_steps=50)
    path = greedy_path(mdp, agent.q_values(), start, max_len=50)
    assert mdp.terminal[path[-1]] and len(path) - 1 == optimum
    # greedy values approach the exact ones (gamma^(steps to goal - 1))
    v_hat = agent.q_values().max(axis=1)[~mdp.terminal]
    np.testing.assert_allclose(v_hat, exact.V[~mdp.terminal], atol=0.1)
    assert np.mean(log.lengths[-5:]) <= optimum + 2
    assert (trace["phase"] == "offline").sum() == 1500 - 100
