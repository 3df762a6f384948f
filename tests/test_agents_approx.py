"""The paper's agent (replay_q): exact SGD algebra, determinism, Trace, and learning vs. solvers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from pandas.testing import assert_frame_equal

import darkcontrol.envs  # noqa: F401  (registers the ids)
from darkcontrol.agents import make_agent
from darkcontrol.agents.approx import ReplayQAgent, ReplayQConfig
from darkcontrol.agents.features import build_features, tile_features
from darkcontrol.agents.tabular import QLearning
from darkcontrol.envs.solvers import greedy_path, value_iteration
from darkcontrol.simulation import simulate
from darkcontrol.trace import validate_trace

CORE = ["episode", "step", "phase", "state", "action", "reward", "next_state", "terminated"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny networks: intra-op threads only add contention (results do not depend on it)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def maze():
    return gym.make("darkcontrol/DynaMaze-v0")


def shortest_path(env, gamma=0.95) -> int:
    mdp = env.unwrapped.mdp
    start = int(np.argmax(mdp.start))
    return len(greedy_path(mdp, value_iteration(mdp, gamma).Q, start)) - 1


def greedy_length(agent, env) -> tuple[int, bool]:
    mdp = env.unwrapped.mdp
    path = greedy_path(mdp, agent.q_values(), int(np.argmax(mdp.start)), max_len=200)
    return len(path) - 1, bool(mdp.terminal[path[-1]])


# -- exact algebra ------------------------------------------------------------------------------
def test_linear_onehot_without_replay_is_tabular_q_learning_exactly():
    """SGD on 1/2 (W[a] . e_s - y)^2 with step alpha is Q(s, a) += alpha (y - Q(s, a))."""
    env_a, env_b = maze(), maze()
    params = {"alpha": 0.3, "gamma": 0.9, "epsilon": 0.2}
    rq = make_agent("replay_q", env_a, seed=5, n_replay=0, dtype="float64", **params)
    ql = make_agent("q_learning", env_b, seed=5, **params)
    assert isinstance(rq, ReplayQAgent) and isinstance(ql, QLearning)
    log_a = simulate(env_a, rq, episodes=3, seeds=[2], max_steps=80)[1].runs[0]
    log_b = simulate(env_b, ql, episodes=3, seeds=[2], max_steps=80)[1].runs[0]
    assert log_a == log_b
    np.testing.assert_array_equal(rq.q_values(), ql.q_values())
    ta, tb = rq.recorder.to_frame(), ql.recorder.to_frame()
    cols = [*CORE, "q", "target", "rpe", "update_norm", "choice_prob", "policy_entropy"]
    assert_frame_equal(ta[cols], tb[cols])
    assert (ta["phase"] == "online").all()


@pytest.mark.parametrize("replay", ["uniform", "prioritized"])
def test_replayed_minibatch_step_is_the_weighted_sgd_step(replay):
    """Linear one-hot: Q(s, a) += alpha / K sum_k w_k delta_k [(s_k, a_k) = (s, a)]."""
    env = maze()
    agent = make_agent(
        "replay_q", env, seed=1, replay=replay, batch_size=8, n_replay=0, dtype="float64"
    )
    simulate(env, agent, episodes=2, seeds=[0], max_steps=60)[1].runs[0]
    # draw the batch the next replay_step will draw, then rewind the agent's generator
    saved = agent.rng.bit_generator.state
    batch = agent.memory.sample(8)
    agent.rng.bit_generator.state = saved
    if replay == "prioritized":
        agent.memory.n_sampled -= 1  # undo the probe's beta annealing step
    Q = agent.q_values()
    cfg = agent.config
    y = batch.rewards + cfg.gamma * Q[batch.next_states].max(1) * (1 - batch.terminated)
    delta = y - Q[batch.states, batch.actions]
    expected = Q.copy()
    np.add.at(expected, (batch.states, batch.actions), cfg.alpha * batch.weights * delta / 8)
    res = agent.replay_step()
    np.testing.assert_allclose(res.rpe, delta, atol=1e-12)
    np.testing.assert_allclose(agent.q_values(), expected, atol=1e-12)
    row = agent.recorder.to_frame().iloc[-1]
    assert row["phase"] == "offline" and row["source"] == "replay"
    assert row["update_norm"] == pytest.approx(np.linalg.norm(expected - Q), rel=1e-5)
    assert row["rpe"] == pytest.approx(delta.mean(), rel=1e-5, abs=1e-7)
    assert row["abs_rpe"] == pytest.approx(np.abs(delta).mean(), rel=1e-5)
    assert row["replay_ids"] == tuple(batch.ids.tolist())
    if replay == "prioritized":
        np.testing.assert_allclose(
            agent.memory.tree[batch.indices], (np.abs(delta) + cfg.per_eps) ** cfg.per_alpha
        )


def test_online_rows_carry_the_pmc_signal_and_choice():
    env = maze()
    agent = make_agent("replay_q", env, seed=3, alpha=0.2, n_replay=2, dtype="float64")
    simulate(env, agent, episodes=2, seeds=[0], max_steps=80)[1].runs[0]
    df = validate_trace(agent.recorder.to_frame())
    on = df[df["phase"] == "online"]
    # a single-transition SGD step on the one-hot linear model moves one weight by alpha delta
    np.testing.assert_allclose(on["update_norm"], 0.2 * on["rpe"].abs(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(on["rpe"], on["target"] - on["q"], atol=1e-6)
    assert on["choice_prob"].between(0, 1).all() and on["policy_entropy"].notna().all()
    assert df["spe"].isna().all() and df["salience"].isna().all()
    assert on["experience_id"].tolist() == list(range(len(on)))
    off = df[df["phase"] == "offline"]
    # n_replay minibatches after every real step once D holds replay_start transitions
    assert len(off) == 2 * (len(on) - agent.config.replay_start + 1)
    assert (off["source"] == "replay").all() and off["state"].isna().all()
    # replayed experiences are ones already seen
    for ids, row_step in zip(off["replay_ids"], off.index):
        seen = on.loc[:row_step, "experience_id"].max()
        assert max(ids) <= seen


def test_without_online_update_only_replay_changes_theta():
    env = maze()
    agent = make_agent("replay_q", env, seed=0, online_update=False, n_replay=0)
    simulate(env, agent, episodes=1, seeds=[0], max_steps=40)[1].runs[0]
    assert np.all(agent.q_values() == 0.0)
    on = agent.recorder.to_frame()
    assert (on["update_norm"] == 0.0).all() and len(agent.memory) == len(on)


def test_learn_offline_is_one_sgd_step_on_the_given_transition():
    env = maze()
    agent = make_agent("replay_q", env, seed=0, alpha=0.5, dtype="float64")
    agent.learn_offline(7, 1, 1.0, 8, True, source="model")
    q = agent.q_values()
    assert q[7, 1] == pytest.approx(0.5) and np.count_nonzero(q) == 1
    assert len(agent.memory) == 0 and agent.n_updates == 1
    row = agent.recorder.to_frame().iloc[0]
    assert (row["phase"], row["source"], row["state"], row["next_state"]) == (
        "offline",
        "model",
        7,
        8,
    )
    assert row["rpe"] == pytest.approx(1.0) and row["update_norm"] == pytest.approx(0.5)


def test_target_network_is_frozen_between_copies():
    env = maze()
    agent = make_agent("replay_q", env, seed=0, approximator="mlp", target_update=5, n_replay=1)
    simulate(env, agent, episodes=1, seeds=[0], max_steps=30)[1].runs[0]
    n = agent.n_updates
    theta = agent.parameters_vector()
    theta_minus = torch.nn.utils.parameters_to_vector(agent.target_net.parameters())
    theta_minus = theta_minus.detach().numpy().astype(np.float64)
    if n % 5 == 0:
        np.testing.assert_array_equal(theta, theta_minus)
    else:
        assert not np.array_equal(theta, theta_minus)
    # targets use theta^-: y = r + gamma max_a' Q(s', a' | theta^-)
    s, a, r, s2 = 18, 0, 0.0, 9
    q_minus = agent.target_net(torch.tensor([s2])).max().item()
    agent.learn_offline(s, a, r, s2, False)
    row = agent.recorder.to_frame().iloc[-1]
    assert row["target"] == pytest.approx(agent.config.gamma * q_minus, rel=1e-5)


# -- reproducibility ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {"replay": "prioritized"},
        {"approximator": "mlp", "optimizer": "adam", "alpha": 1e-3, "target_update": 20},
    ],
)
def test_same_seed_same_trace(params):
    def trace(seed):
        env = maze()
        agent = make_agent("replay_q", env, seed=seed, n_replay=2, batch_size=4, **params)
        simulate(env, agent, episodes=2, seeds=[seed], max_steps=25)[1].runs[0]
        return agent.recorder.to_frame()

    a, b = trace(11), trace(11)
    assert_frame_equal(a, b)
    assert (a["phase"] == "offline").any()
    with pytest.raises(AssertionError):
        assert_frame_equal(a, trace(12))


def test_seeding_leaves_global_generators_alone():
    torch.manual_seed(0)
    legacy = np.random.get_state()  # noqa: NPY002  (the global state must stay untouched)
    expected = torch.rand(1).item()
    torch.manual_seed(0)
    env = maze()
    agent = make_agent("replay_q", env, seed=4, approximator="mlp", n_replay=1)
    simulate(env, agent, episodes=1, seeds=[0], max_steps=30)[1].runs[0]
    assert torch.rand(1).item() == expected
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == legacy[0] and np.array_equal(after[1], legacy[1]) and after[2] == legacy[2]


# -- features and configuration -----------------------------------------------------------------
def test_tile_features_activate_n_tilings_tiles_and_generalise_locally():
    coords = np.array([(r, c) for r in range(6) for c in range(9)], dtype=float)
    x = tile_features(coords, n_tilings=8, n_tiles=4)
    np.testing.assert_array_equal(x.sum(axis=1), 8)
    overlap = x @ x.T
    dist = np.abs(coords[:, None, :] - coords[None, :, :]).sum(-1)
    near, far = overlap[dist == 1].mean(), overlap[dist == 2].mean()
    assert 0 < far < near < 8  # neighbours share more tiles than cells two steps apart
    assert overlap[dist >= 6].max() == 0
    assert len(np.unique(x, axis=0)) == len(coords)  # every cell has its own code


def test_custom_action_features_reproduce_the_tabular_agent():
    env_a, env_b = maze(), maze()
    S, A = 54, 4
    phi = np.eye(S * A).reshape(S, A, S * A)  # phi(s, a) = e_(s, a)
    kw = {"n_replay": 0, "dtype": "float64"}
    custom = make_agent("replay_q", env_a, seed=2, features="custom", feature_matrix=phi, **kw)
    onehot = make_agent("replay_q", env_b, seed=2, **kw)
    simulate(env_a, custom, episodes=2, seeds=[0], max_steps=80)[1].runs[0]
    simulate(env_b, onehot, episodes=2, seeds=[0], max_steps=80)[1].runs[0]
    np.testing.assert_array_equal(custom.q_values(), onehot.q_values())


@pytest.mark.parametrize("features", ["coords", "tiles"])
def test_coordinate_features_need_and_use_mdp_coords(features):
    env = maze()
    agent = make_agent("replay_q", env, seed=0, features=features)
    assert agent.net.features.shape[0] == 54
    with pytest.raises(ValueError, match="coords"):
        ReplayQAgent(54, 4, seed=0, features=features)  # no mdp given


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"replay": "rank"}, "replay"),
        ({"approximator": "cnn"}, "approximator"),
        ({"hidden": 64}, "hidden"),
        ({"alpha": 0.0}, "alpha"),
        ({"batch_size": 0}, "batch_size"),
        ({"replay_start": 20, "memory_size": 10}, "replay_start"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"device": "tpu"}, "device"),
        ({"nonsense": 1}, "unknown parameter"),
    ],
)
def test_config_validation(bad, match):
    with pytest.raises(ValueError, match=match):
        ReplayQAgent(54, 4, seed=0, **bad)


def test_feature_matrix_only_with_custom_features():
    with pytest.raises(ValueError, match="custom"):
        build_features("onehot", 3, 2, matrix=np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        build_features("custom", 3, 2, matrix=np.eye(4))
    with pytest.raises(ValueError, match="state features"):
        ReplayQAgent(
            3, 2, seed=0, approximator="mlp", features="custom", feature_matrix=np.ones((3, 2, 5))
        )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_without_gpu_is_an_error_not_a_fallback():
    # the one resolve_device (darkcontrol._torch): ValueError, as for any bad device
    with pytest.raises(ValueError, match="no CUDA device"):
        ReplayQConfig(device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_agent_matches_cpu_agent():
    def run(device):
        env = maze()
        agent = make_agent(
            "replay_q", env, seed=3, approximator="mlp", device=device, dtype="float64"
        )
        simulate(env, agent, episodes=2, seeds=[0], max_steps=60)[1].runs[0]
        return agent

    cpu, gpu = run("cpu"), run("cuda")
    assert next(gpu.net.parameters()).is_cuda
    np.testing.assert_allclose(gpu.q_values(), cpu.q_values(), rtol=1e-6, atol=1e-9)


# -- learning to the exact optimum --------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("replay", ["uniform", "prioritized"])
def test_linear_replay_q_learns_the_dyna_maze(replay):
    env = maze()
    optimum = shortest_path(env)
    assert optimum == 14
    agent = make_agent("replay_q", env, seed=0, replay=replay, n_replay=5)
    log = simulate(env, agent, episodes=25, seeds=[0], max_steps=500)[1].runs[0]
    length, reached = greedy_length(agent, env)
    assert reached and length <= optimum + 2, (length, log.lengths)
    assert np.mean(log.lengths[-5:]) < 0.1 * np.mean(log.lengths[:2])


@pytest.mark.slow
@pytest.mark.parametrize("replay", ["uniform", "prioritized"])
def test_mlp_replay_q_learns_a_lattice_graph(replay):
    """An MLP on one-hot states (Adam, target network) finds the shortest path, 3 seeds of 3."""
    for seed in range(3):
        env = gym.make("darkcontrol/LatticeGraph-v0")  # 5x5, start (0, 0), goal (4, 4)
        optimum = shortest_path(env)
        assert optimum == 8
        agent = make_agent(
            "replay_q",
            env,
            seed=seed,
            approximator="mlp",
            hidden=(64,),
            optimizer="adam",
            alpha=1e-3,
            replay=replay,
            target_update=50,
            n_replay=3,
        )
        log = simulate(env, agent, episodes=50, seeds=[seed], max_steps=200)[1].runs[0]
        length, reached = greedy_length(agent, env)
        assert reached and length <= optimum + 2, (seed, length, log.lengths)
