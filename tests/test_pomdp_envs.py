"""Partially observed worlds: the POMDP model, its wrappers, the tasks and the exact solvers,
checked against ground truth (brute-force Bayes, closed forms, exact policy evaluation)."""

from __future__ import annotations

import itertools
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import darkcontrol.envs as E
from darkcontrol.envs.cue_maze import CueMaze, memoryless_bound
from darkcontrol.envs.pomdp import PAD, TabularPOMDP, find_pomdp, reachable_windows
from darkcontrol.envs.pomdp_solvers import (
    belief_value_iteration,
    mdp_value,
    point_based_value_iteration,
    qmdp_value,
    reachable_beliefs,
)
from darkcontrol.envs.solvers import policy_evaluation, value_iteration

GAMMA = 0.95
POMDP_IDS = ("darkcontrol/CueMaze-v0", "darkcontrol/HiddenContext-v0")


def random_pomdp(seed: int, S: int = 4, A: int = 2, n_obs: int = 3) -> TabularPOMDP:
    rng = np.random.default_rng(seed)
    mdp = E.random_mdp(S, A, seed=rng)
    return TabularPOMDP.from_mdp(mdp, rng.dirichlet(np.ones(n_obs), size=S))


# -- the model -------------------------------------------------------------------------------
def test_pomdp_validation():
    mdp = E.random_mdp(3, 2, seed=0)
    with pytest.raises(ValueError, match="exactly one of O"):
        TabularPOMDP.from_mdp(mdp)
    with pytest.raises(ValueError, match="shape"):
        TabularPOMDP.from_mdp(mdp, np.ones((2, 2)) / 2)
    with pytest.raises(ValueError, match="sum to 1"):
        TabularPOMDP.from_mdp(mdp, np.ones((3, 2)))
    with pytest.raises(ValueError, match="never emitted"):
        TabularPOMDP.from_mdp(mdp, observation_of=[0, 2, 2])
    with pytest.raises(ValueError, match="one per state"):
        TabularPOMDP.from_mdp(mdp, observation_of=[0, 1])
    with pytest.raises(ValueError, match="needs an observation matrix"):
        TabularPOMDP(P=mdp.P, R=mdp.R, terminal=mdp.terminal, start=mdp.start)
    p = TabularPOMDP.from_mdp(mdp, observation_of=[0, 1, 1])
    assert p.n_obs == 2 and np.array_equal(p.O, [[1, 0], [0, 1], [0, 1]])
    with pytest.raises(ValueError, match="observation must be in"):
        p.initial_belief(2)


def test_filter_matches_brute_force_bayes():
    """b_t from the recursive filter = P(s_t | o_0..t, a_0..t-1) by summing over all paths."""
    pomdp = random_pomdp(1)
    S = pomdp.n_states
    rng = np.random.default_rng(2)
    for _ in range(5):
        acts = rng.integers(pomdp.n_actions, size=3)
        obs = rng.integers(pomdp.n_obs, size=4)
        b = pomdp.initial_belief(int(obs[0]))
        for t, a in enumerate(acts, start=1):
            b, _ = pomdp.update(b, int(a), int(obs[t]))
        joint = np.zeros(S)
        for path in itertools.product(range(S), repeat=4):
            p = pomdp.start[path[0]] * pomdp.O[path[0], obs[0]]
            for t, a in enumerate(acts, start=1):
                p *= pomdp.P[path[t - 1], a, path[t]] * pomdp.O[path[t], obs[t]]
            joint[path[-1]] += p
        np.testing.assert_allclose(b, joint / joint.sum(), atol=1e-12)


def test_filter_refuses_an_impossible_observation():
    env = CueMaze()
    pomdp = env.mdp
    b = pomdp.initial_belief(0)
    with pytest.raises(ValueError, match="probability 0"):
        pomdp.update(b, 0, 0)  # a cue cannot be seen in the corridor


# -- the wrappers ----------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", POMDP_IDS)
def test_registered_tasks_pass_the_checker_through_the_wrapper(env_id):
    env = gym.make(env_id).env.env.env  # the PartialObservation under TimeLimit etc.
    assert isinstance(env, E.PartialObservation)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*different from the unwrapped")
        check_env(env)
    assert isinstance(env.unwrapped.mdp, TabularPOMDP)
    assert env.observation_space == gym.spaces.Discrete(env.unwrapped.mdp.n_obs)


@pytest.mark.parametrize("validity", [1.0, 0.7])
def test_partial_observation_emits_O(validity):
    """Observation frequencies per hidden state agree with O (5 binomial sigmas)."""
    env = gym.make("darkcontrol/CueMaze-v0", cue_validity=validity)
    O = find_pomdp(env).O
    counts = np.zeros_like(O)
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=3)
    for _ in range(4000):
        counts[info["hidden_state"], obs] += 1
        obs, _, term, trunc, info = env.step(int(rng.integers(3)))
        if term or trunc:
            counts[info["hidden_state"], obs] += 1
            obs, info = env.reset()
    n = counts.sum(axis=1, keepdims=True)
    seen = n[:, 0] > 0
    expected = n * O
    tol = 5 * np.sqrt(n * O * (1 - O)) + 1e-9
    assert seen.sum() == O.shape[0]
    assert np.all(np.abs(counts - expected)[seen] <= tol[seen])


def test_partial_observation_aliases_any_discrete_env():
    maze = E.DynaMaze()
    env = E.PartialObservation(maze, observation_of=np.arange(54) % 9)  # the column only
    assert env.observation_space == gym.spaces.Discrete(9)
    obs, info = env.reset(seed=0)
    for _ in range(50):
        assert obs == info["hidden_state"] % 9
        obs, _, term, _, info = env.step(int(env.action_space.sample()))
        if term:
            obs, info = env.reset()
    assert env.pomdp.n_states == 54 and env.pomdp.n_obs == 9
    with pytest.raises(ValueError, match="give O"):
        E.PartialObservation(E.DynaMaze())


def test_history_of_length_one_is_the_observation():
    env = gym.make("darkcontrol/CueMaze-v0")
    h = E.HistoryObservation(env, 1, include_actions=False)
    assert h.histories == tuple((o,) for o in range(5))
    obs, info = h.reset(seed=0)
    assert obs == info["observation"]


@pytest.mark.parametrize("include_actions", [True, False])
def test_history_windows_hold_the_last_k_steps(include_actions):
    """The state decodes to the last k observations (and actions), and the enumerated windows
    are exactly those a random policy visits (all reachable, none missing)."""
    k = 3
    env = E.HistoryObservation(
        gym.make("darkcontrol/CueMaze-v0", corridor_length=2), k, include_actions=include_actions
    )
    rng = np.random.default_rng(1)
    visited = set()
    for ep in range(1500):
        state, info = env.reset(seed=ep)
        seq = [PAD] * (2 * k - 2 if include_actions else k - 1) + [info["observation"]]
        done = False
        while not done:
            width = 2 * k - 1 if include_actions else k
            assert env.histories[state] == tuple(seq[-width:])
            visited.add(state)
            a = int(rng.integers(3))
            state, _, term, trunc, info = env.step(a)
            seq += [a, info["observation"]] if include_actions else [info["observation"]]
            done = term or trunc
        visited.add(state)
    assert visited == set(range(env.observation_space.n))


def test_history_wrapper_validates():
    with pytest.raises(ValueError, match="k"):
        E.HistoryObservation(gym.make("darkcontrol/CueMaze-v0"), 0)
    with pytest.raises(TypeError, match="TabularPOMDP"):
        E.HistoryObservation(E.DynaMaze(), 2)
    with pytest.raises(ValueError, match="max_windows"):
        reachable_windows(find_pomdp(gym.make("darkcontrol/CueMaze-v0")), 6, max_windows=50)


# -- the tasks -------------------------------------------------------------------------------
def test_cue_maze_rejects_bad_arguments():
    with pytest.raises(ValueError, match="corridor_length"):
        CueMaze(corridor_length=0)
    with pytest.raises(ValueError, match="cue_validity"):
        CueMaze(cue_validity=0.3)
    with pytest.raises(ValueError, match="hazard"):
        E.HiddenContext(hazard=1.5)
    with pytest.raises(ValueError, match="p_reward"):
        E.HiddenContext(p_reward=0.2)


@pytest.mark.parametrize(
    "kw", [{}, {"wrong_reward": -1.0, "step_reward": -0.05}, {"cue_validity": 0.8}]
)
def test_memoryless_bound_holds_for_every_memoryless_policy(kw):
    """Exact values of every deterministic memoryless policy and of 200 random stochastic
    ones (pi(a|s) = Σ_o O(o|s) pi(a|o), evaluated on the hidden MDP) stay below the bound,
    and the bound is attained where the derivation says (always forward, one fixed arm)."""
    env = CueMaze(**kw)
    pomdp = env.mdp
    bound = memoryless_bound(env, GAMMA)
    values = []
    for det in itertools.product(range(3), repeat=pomdp.n_obs):
        values.append(pomdp.start @ policy_evaluation(pomdp, pomdp.O @ np.eye(3)[list(det)], GAMMA))
    rng = np.random.default_rng(0)
    for _ in range(200):
        pi_obs = rng.dirichlet(np.ones(3) * 0.3, size=pomdp.n_obs)
        values.append(pomdp.start @ policy_evaluation(pomdp, pomdp.O @ pi_obs, GAMMA))
    assert max(values) <= bound + 1e-12
    if not kw:
        assert max(values) == pytest.approx(bound)


def test_hidden_context_tracking_bounds_are_the_documented_ones():
    env = E.HiddenContext(hazard=0.1)
    m = env.mdp
    ctx = np.array([env.decode(s)[0] for s in range(12)])
    # the context marginal stays uniform under any policy: P(c' = 0) = 1/2
    P_ctx = np.zeros((2, 2))
    for s in range(12):
        for a in range(2):
            for s2 in range(12):
                P_ctx[ctx[s], ctx[s2]] += m.P[s, a, s2] / 12
    np.testing.assert_allclose(P_ctx.sum(axis=1), [1, 1])
    np.testing.assert_allclose(P_ctx, [[0.9, 0.1], [0.1, 0.9]])
    assert m.start @ (ctx == 0) == pytest.approx(0.5)


# -- the solvers -----------------------------------------------------------------------------
def test_belief_solver_on_a_fully_observed_pomdp_is_value_iteration():
    mdp = E.random_mdp(5, 3, seed=4, n_terminal=1)
    pomdp = TabularPOMDP.from_mdp(mdp, np.eye(5))
    sol = belief_value_iteration(pomdp, GAMMA)
    assert sol.converged
    assert sol.value == pytest.approx(mdp.start @ value_iteration(mdp, GAMMA).V, abs=1e-8)


@pytest.mark.parametrize("L", [1, 3])
def test_belief_solver_matches_the_closed_form_on_the_cue_maze(L):
    pomdp = CueMaze(corridor_length=L).mdp
    sol = belief_value_iteration(pomdp, GAMMA)
    assert sol.value == pytest.approx(GAMMA ** (L + 1), abs=1e-9)
    # the cue is seen at the start, so uncertainty never matters: QMDP and the MDP are exact
    assert qmdp_value(pomdp, GAMMA) == pytest.approx(sol.value, abs=1e-9)
    assert mdp_value(pomdp, GAMMA) == pytest.approx(sol.value, abs=1e-9)


def test_noisy_cue_rewards_looking_again_which_qmdp_cannot_value():
    """With cue validity 0.8 the exact optimum waits at the start to resample the cue: it beats
    acting on one look, gamma^(L+1) 0.8, which is QMDP's policy; the bounds are ordered."""
    pomdp = CueMaze(cue_validity=0.8).mdp
    sol = belief_value_iteration(pomdp, GAMMA)
    one_look = GAMMA**4 * 0.8
    assert sol.value > one_look + 0.02
    assert sol.value < qmdp_value(pomdp, GAMMA) <= mdp_value(pomdp, GAMMA) + 1e-12
    b0 = pomdp.initial_belief(0)
    i = sol.index_of(b0)
    assert np.argmax(sol.Q[i]) != 0  # first move: not forward, look again


def test_belief_solver_refuses_infinite_belief_sets():
    pomdp = E.HiddenContext().mdp
    with pytest.raises(ValueError, match="max_beliefs"):
        reachable_beliefs(pomdp, max_beliefs=500)
    assert qmdp_value(pomdp, 0.9) <= mdp_value(pomdp, 0.9) + 1e-9
    with pytest.raises(ValueError, match="gamma"):
        qmdp_value(pomdp, 1.0)
    with pytest.raises(TypeError, match="TabularPOMDP"):
        belief_value_iteration(E.random_mdp(3, 2, seed=0), 0.9)


def test_batched_sweeps_refuse_partially_observed_worlds():
    """A batched world is the env's exact MDP: on a POMDP task it would see the hidden state."""
    from darkcontrol.sweep.spec import EnvSpec

    with pytest.raises(ValueError, match="partially observed"):
        EnvSpec(id="darkcontrol/CueMaze-v0").build()
    mdp, limit = EnvSpec(id="darkcontrol/DynaMaze-v0").build()
    assert mdp.n_states == 54


@pytest.mark.parametrize("env_id", POMDP_IDS)
def test_registered_history_option_is_the_history_wrapper(env_id):
    a = gym.make(env_id, history=2)
    b = E.HistoryObservation(gym.make(env_id), 2)
    assert a.observation_space == b.observation_space
    rng = np.random.default_rng(0)
    sa, _ = a.reset(seed=5)
    sb, _ = b.reset(seed=5)
    for _ in range(30):
        assert sa == sb
        act = int(rng.integers(a.action_space.n))
        sa, ra, ta, *_ = a.step(act)
        sb, rb, tb, *_ = b.step(act)
        assert (ra, ta) == (rb, tb)
        if ta:
            sa, _ = a.reset(seed=6)
            sb, _ = b.reset(seed=6)
    with pytest.raises(ValueError, match="k"):
        gym.make(env_id, history=0)


def _rollout(env_id: str, seed: int, **kw) -> list:
    env = gym.make(env_id, **kw)
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=seed)
    out = [(obs, info["hidden_state"])]
    for _ in range(200):
        obs, r, term, trunc, info = env.step(int(rng.integers(env.action_space.n)))
        out.append((obs, r, term, trunc, info["hidden_state"]))
        if term or trunc:
            obs, info = env.reset()
            out.append((obs, info["hidden_state"]))
    return out


@pytest.mark.parametrize(
    "env_id, kw",
    [
        ("darkcontrol/CueMaze-v0", {"cue_validity": 0.6}),
        ("darkcontrol/CueMaze-v0", {"history": 3, "cue_validity": 0.6}),
        ("darkcontrol/HiddenContext-v0", {"history": 2}),
    ],
    ids=str,
)
def test_stochastic_observations_are_seeded(env_id, kw):
    assert _rollout(env_id, 3, **kw) == _rollout(env_id, 3, **kw)
    assert _rollout(env_id, 3, **kw) != _rollout(env_id, 4, **kw)


def test_point_based_values_are_exact_on_all_reachable_beliefs_and_lower_bounds_else():
    pomdp = CueMaze(corridor_length=2, cue_validity=0.8).mdp
    exact = belief_value_iteration(pomdp, GAMMA)
    full = point_based_value_iteration(pomdp, GAMMA, exact.beliefs, tol=1e-12)
    assert full.converged
    assert full.value == pytest.approx(exact.value, abs=1e-8)
    np.testing.assert_allclose(full.values(exact.beliefs), exact.V, atol=1e-8)
    few = point_based_value_iteration(pomdp, GAMMA, n_points=10)
    assert len(few.points) == 10
    assert np.all(few.values(exact.beliefs) <= exact.V + 1e-9)
    assert few.value < exact.value - 1e-3  # ten points are not enough here


def test_hidden_context_value_is_bracketed():
    """No exact solver (infinitely many beliefs): PBVI (lower) <= QMDP (upper) <= MDP."""
    pomdp = E.HiddenContext().mdp
    lower = point_based_value_iteration(pomdp, 0.9, n_points=100).value
    assert lower <= qmdp_value(pomdp, 0.9) <= mdp_value(pomdp, 0.9) + 1e-9
    assert lower > 0.5 / (1 - 0.9)  # better than guessing: the rule can be inferred
    with pytest.raises(ValueError, match="points"):
        point_based_value_iteration(pomdp, 0.9, np.ones((3, 5)))
