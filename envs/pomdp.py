"""Partially observed worlds: the exact POMDP model, an observation wrapper and the paper's
history-expanded state.

The paper's formal account (Dohmatob, Dumas & Bzdok 2020, "Reinforcement learning control: a
process model for DMN function", subsection "Markov decision processes", Figure 3) is a
partially observable MDP: "only limited aspects of the environment's state are accessible to
the agent's sensory input", and "rational probabilistic planning can thus be reformulated as a
standard memoryless Markov process by simply expanding the definition of the state s to include
experience episodes of the past". This module gives both halves:

- :class:`TabularPOMDP`: a :class:`~darkcontrol.envs.mdp.TabularMDP` over *hidden* states plus
  an observation matrix ``O[s, o] = P(o | s)`` (the observation emitted in the state an agent
  is in, including the first state of an episode), so that ground truth (Bayesian filtering,
  exact belief-MDP values, bounds) can be computed. Being a TabularMDP, it can be handed to
  every MDP solver, which then solves the *fully observed* world (an upper bound on the
  POMDP's value).
- :class:`PartialObservation`: a Gymnasium wrapper that hides part of the state: an aliased
  (many-to-one) map from states to observations, or any stochastic ``O``.
- :class:`HistoryObservation`: the agent's state is the last ``k`` observations (and the
  ``k - 1`` actions between them), as a ``Discrete`` index of the history tuple, so that any
  tabular agent of ``darkcontrol.agents`` runs on it unchanged.

The Bayesian filter over hidden states (Kaelbling, Littman & Cassandra 1998, Artif. Intell.
101:99, eq. for SE(b, a, o)):

    b_0(s) ∝ mu(s) O(o_0 | s),       b'(s') ∝ O(o' | s') Σ_s P(s' | s, a) b(s),

with normaliser P(o' | b, a) = Σ_s' O(o' | s') Σ_s P(s' | s, a) b(s).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, fields
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from darkcontrol.envs.mdp import TabularMDP

PAD = -1  #: placeholder in a history window for the time before the episode started


@dataclass(frozen=True)
class TabularPOMDP(TabularMDP):
    """A finite POMDP: the hidden-state MDP (``P``, ``R``, ``terminal``, ``start``, ...) and
    ``O`` (S, n_obs), ``O[s, o] = P(o | s)``; ``start`` is the initial belief before the first
    observation."""

    O: np.ndarray | None = None
    obs_labels: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.O is None:
            raise ValueError("a TabularPOMDP needs an observation matrix O of shape (S, n_obs)")
        O = np.asarray(self.O, dtype=np.float64)
        S = self.n_states
        if O.ndim != 2 or O.shape[0] != S or O.shape[1] < 1:
            raise ValueError(f"O must have shape (S, n_obs) = ({S}, n_obs >= 1), got {O.shape}")
        if (O < -1e-12).any() or not np.isfinite(O).all():
            raise ValueError("O must hold probabilities (finite, non-negative)")
        bad = np.flatnonzero(np.abs(O.sum(axis=1) - 1.0) > 1e-6)
        if len(bad):
            raise ValueError(
                f"O[s, :] must sum to 1; O[{bad[0]}, :] sums to {O[bad[0]].sum():.6g} "
                f"({len(bad)} states are off)"
            )
        if self.obs_labels and len(self.obs_labels) != O.shape[1]:
            n = len(self.obs_labels)
            raise ValueError(f"obs_labels must have {O.shape[1]} entries, got {n}")
        O.setflags(write=False)
        object.__setattr__(self, "O", O)
        labels = tuple(self.obs_labels) or tuple(f"o{o}" for o in range(O.shape[1]))
        object.__setattr__(self, "obs_labels", labels)

    @classmethod
    def from_mdp(
        cls,
        mdp: TabularMDP,
        O: np.ndarray | None = None,
        *,
        observation_of: Any = None,
        obs_labels: tuple[str, ...] = (),
    ) -> TabularPOMDP:
        """The POMDP of ``mdp`` seen through ``O`` (S, n_obs), or through the deterministic
        many-to-one map ``observation_of[s]`` (an int per state; observations 0..max)."""
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
        if (O is None) == (observation_of is None):
            raise ValueError("give exactly one of O (S, n_obs) and observation_of (S,)")
        if observation_of is not None:
            O = aliasing_matrix(observation_of, mdp.n_states)
        base = {f.name: getattr(mdp, f.name) for f in fields(TabularMDP)}
        return cls(**base, O=O, obs_labels=obs_labels)

    @property
    def n_obs(self) -> int:
        return self.O.shape[1]

    @property
    def hidden_mdp(self) -> TabularMDP:
        """The world with its state fully observed."""
        return TabularMDP(**{f.name: getattr(self, f.name) for f in fields(TabularMDP)})

    def first_obs_probs(self) -> np.ndarray:
        """P(o_0 = o) = Σ_s mu(s) O(o | s)."""
        return self.start @ self.O

    def initial_belief(self, obs: int) -> np.ndarray:
        """b_0(s) ∝ mu(s) O(o_0 | s); ValueError if ``obs`` cannot be the first observation."""
        o = self._check_obs(obs)
        b = self.start * self.O[:, o]
        z = b.sum()
        if z <= 0.0:
            raise ValueError(f"observation {o} ({self.obs_labels[o]}) cannot start an episode")
        return b / z

    def predict(self, belief: np.ndarray, action: int) -> np.ndarray:
        """The predicted hidden state after ``action``: Σ_s P(s' | s, a) b(s)."""
        return np.asarray(belief, dtype=np.float64) @ self.P[:, int(action), :]

    def update(self, belief: np.ndarray, action: int, obs: int) -> tuple[np.ndarray, float]:
        """One step of the Bayesian filter: (b', P(o' | b, a)).

        ValueError when the model gives ``obs`` probability 0 (the model is wrong)."""
        o = self._check_obs(obs)
        joint = self.predict(belief, action) * self.O[:, o]
        z = float(joint.sum())
        if z <= 0.0:
            raise ValueError(
                f"observation {o} ({self.obs_labels[o]}) has probability 0 after action "
                f"{action} under the model: the POMDP does not describe this world"
            )
        return joint / z, z

    def _check_obs(self, obs: Any) -> int:
        if isinstance(obs, bool) or not isinstance(obs, (int, np.integer)):
            raise TypeError(f"observation must be an int, got {type(obs).__name__} {obs!r}")
        if not 0 <= int(obs) < self.n_obs:
            raise ValueError(f"observation must be in [0, {self.n_obs}), got {obs}")
        return int(obs)


def aliasing_matrix(observation_of: Any, n_states: int) -> np.ndarray:
    """One-hot ``O`` (S, n_obs) of a deterministic many-to-one map from states to observations
    ``0 .. n_obs - 1`` (every observation must be used, so indices stay dense)."""
    obs = np.asarray(observation_of)
    if obs.shape != (n_states,) or not np.issubdtype(obs.dtype, np.integer):
        raise ValueError(
            f"observation_of must be {n_states} ints (one per state), got shape {obs.shape} "
            f"of dtype {obs.dtype}"
        )
    if obs.min() < 0:
        raise ValueError(f"observation_of must be >= 0, got {obs.min()}")
    n_obs = int(obs.max()) + 1
    unused = sorted(set(range(n_obs)) - set(obs.tolist()))
    if unused:
        raise ValueError(f"observations {unused} are never emitted: use dense indices 0..n_obs-1")
    O = np.zeros((n_states, n_obs))
    O[np.arange(n_states), obs] = 1.0
    return O


def find_pomdp(env: gym.Env) -> TabularPOMDP:
    """The POMDP of ``env``: a wrapper's ``pomdp`` attribute, else ``env.unwrapped.mdp`` when it
    is a :class:`TabularPOMDP`."""
    try:
        pomdp = env.get_wrapper_attr("pomdp")
    except AttributeError:
        pomdp = getattr(env.unwrapped, "mdp", None)
    if not isinstance(pomdp, TabularPOMDP):
        raise TypeError(
            f"{env} exposes no TabularPOMDP: wrap a discrete env in PartialObservation first"
        )
    return pomdp


class PartialObservation(gym.ObservationWrapper):
    """Hide part of a discrete env's state: emit ``o ~ O[s, :]`` instead of the state ``s``.

    ``O`` defaults to the one of the env's own model when ``env.unwrapped.mdp`` is a
    :class:`TabularPOMDP` (the registered partially observed tasks); otherwise give ``O``
    (S, n_obs) or a many-to-one ``observation_of`` (S,) map (aliased states). Stochastic
    observations are drawn with the env's own generator (``env.unwrapped.np_random``), so a
    seeded reset fixes them too. The hidden state stays readable as :attr:`hidden_state`
    (for analysis and tests, never for agents), and the exact model as :attr:`pomdp`
    (rebuilt when the world changes). ``info["hidden_state"]`` carries the state after each
    reset and step.
    """

    def __init__(
        self,
        env: gym.Env,
        O: np.ndarray | None = None,
        *,
        observation_of: Any = None,
        obs_labels: tuple[str, ...] = (),
    ) -> None:
        super().__init__(env)
        base = env.unwrapped
        mdp = getattr(base, "mdp", None)
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"env must expose its exact model as env.unwrapped.mdp, got {mdp!r}")
        if env.observation_space != spaces.Discrete(mdp.n_states):
            raise ValueError(
                f"env must observe the state itself (Discrete({mdp.n_states})), "
                f"got {env.observation_space}"
            )
        if O is None and observation_of is None:
            if not isinstance(mdp, TabularPOMDP):
                raise ValueError(
                    "give O (S, n_obs) or observation_of (S,): the env's model has no observations"
                )
            pomdp = mdp
        else:
            pomdp = TabularPOMDP.from_mdp(
                mdp, O, observation_of=observation_of, obs_labels=obs_labels
            )
        self._O = pomdp.O
        self._obs_labels = pomdp.obs_labels
        self._pomdp, self._pomdp_of = pomdp, mdp
        self._deterministic = bool(np.all(self._O.max(axis=1) == 1.0))
        self._obs_of = self._O.argmax(axis=1)
        self._cdf = np.cumsum(self._O, axis=1)
        self.observation_space = spaces.Discrete(self._O.shape[1])

    @property
    def pomdp(self) -> TabularPOMDP:
        """The exact POMDP of the current world (the env's model seen through ``O``)."""
        mdp = self.env.unwrapped.mdp
        if mdp is not self._pomdp_of:
            self._pomdp = TabularPOMDP.from_mdp(mdp, self._O, obs_labels=self._obs_labels)
            self._pomdp_of = mdp
        return self._pomdp

    @property
    def hidden_state(self) -> int | None:
        return self.env.unwrapped.state

    def observation(self, observation):
        s = int(observation)
        if self._deterministic:
            return int(self._obs_of[s])
        cdf = self._cdf[s]
        u = self.env.unwrapped.np_random.random() * cdf[-1]
        return int(min(np.searchsorted(cdf, u, side="right"), len(cdf) - 1))

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        state, info = self.env.reset(seed=seed, options=options)
        return self.observation(state), {**info, "hidden_state": int(state)}

    def step(self, action):
        state, reward, terminated, truncated, info = self.env.step(action)
        info = {**info, "hidden_state": int(state)}
        return self.observation(state), reward, terminated, truncated, info


def reachable_windows(
    pomdp: TabularPOMDP, k: int, include_actions: bool = True, max_windows: int = 100_000
) -> list[tuple[int, ...]]:
    """Every history window of positive probability under some action sequence, sorted.

    A window is ``(o_{t-k+1}, a_{t-k+1}, ..., a_{t-1}, o_t)`` (``include_actions``) or
    ``(o_{t-k+1}, ..., o_t)``, with :data:`PAD` before the episode start. Exact: a breadth-first
    search over (window, support of the belief) pairs, the support being the hidden states of
    positive probability given the *whole* past; episodes end when every state of the support
    is terminal. ValueError when more than ``max_windows`` (window, support) pairs are met."""
    k = _check_k(k)
    A, O, P, term = pomdp.n_actions, pomdp.O, pomdp.P, pomdp.terminal
    width = 2 * k - 1 if include_actions else k
    seen: set[tuple[tuple[int, ...], frozenset[int]]] = set()
    queue: deque = deque()
    for o in np.flatnonzero(pomdp.first_obs_probs() > 0):
        support = frozenset(np.flatnonzero((pomdp.start > 0) & (O[:, o] > 0)).tolist())
        node = ((PAD,) * (width - 1) + (int(o),), support)
        seen.add(node)
        queue.append(node)
    while queue:
        window, support = queue.popleft()
        live = [s for s in support if not term[s]]
        if not live:
            continue
        for a in range(A):
            succ = np.flatnonzero(P[live, a, :].sum(axis=0) > 0)
            for o2 in np.flatnonzero(O[succ].sum(axis=0) > 0):
                sup2 = frozenset(succ[O[succ, o2] > 0].tolist())
                tail = (a, int(o2)) if include_actions else (int(o2),)
                node = (window[len(tail) :] + tail, sup2)
                if node not in seen:
                    seen.add(node)
                    if len(seen) > max_windows:
                        raise ValueError(
                            f"more than max_windows={max_windows} reachable (history, support) "
                            f"pairs for k={k}: use a smaller k or raise max_windows"
                        )
                    queue.append(node)
    return sorted({w for w, _ in seen})


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k (observations in the history) must be an int >= 1, got {k!r}")
    return int(k)


class HistoryObservation(gym.Wrapper):
    """The paper's history-expanded state: the last ``k`` observations (and actions) as one
    ``Discrete`` state.

    The agent's state at time t is the index of the window
    ``h_t = (o_{t-k+1}, a_{t-k+1}, ..., a_{t-1}, o_t)`` (``include_actions=True``) or
    ``(o_{t-k+1}, ..., o_t)`` in :attr:`histories`, the sorted list of every window the model
    makes reachable (:func:`reachable_windows`), padded with :data:`PAD` at the episode start.
    With ``k`` large enough to hold what the hidden state depends on, the process over windows
    is Markov ("expanding the definition of the state s to include experience episodes of the
    past", Dohmatob et al. 2020, subsection "Markov decision processes"); with a smaller ``k``
    it is an aliased approximation. ``info["observation"]`` carries the last raw observation.

    ``env`` must expose a :class:`TabularPOMDP` (a :class:`PartialObservation` wrapper, or a
    registered partially observed task); ``max_windows`` bounds the enumeration.
    """

    def __init__(
        self, env: gym.Env, k: int, *, include_actions: bool = True, max_windows: int = 100_000
    ) -> None:
        super().__init__(env)
        self.k = _check_k(k)
        if not isinstance(include_actions, bool):
            raise TypeError(f"include_actions must be a bool, got {include_actions!r}")
        self.include_actions = include_actions
        pomdp = find_pomdp(env)
        if env.observation_space != spaces.Discrete(pomdp.n_obs):
            raise ValueError(
                f"env's observation space {env.observation_space} is not the POMDP's "
                f"Discrete({pomdp.n_obs})"
            )
        self.histories: tuple[tuple[int, ...], ...] = tuple(
            reachable_windows(pomdp, self.k, include_actions, max_windows)
        )
        self._index = {w: i for i, w in enumerate(self.histories)}
        self._width = 2 * self.k - 1 if include_actions else self.k
        self._window: tuple[int, ...] | None = None
        self.observation_space = spaces.Discrete(len(self.histories))

    def index_of(self, window: tuple[int, ...]) -> int:
        """The state index of a window (KeyError names an unreachable window)."""
        try:
            return self._index[tuple(int(x) for x in window)]
        except KeyError:
            raise KeyError(f"window {window} is not reachable under the model") from None

    def _emit(self) -> int:
        try:
            return self._index[self._window]
        except KeyError:
            raise RuntimeError(
                f"history {self._window} was not enumerated from the model: the env does not "
                "follow its POMDP"
            ) from None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._window = (PAD,) * (self._width - 1) + (int(obs),)
        return self._emit(), {**info, "observation": int(obs)}

    def step(self, action):
        if self._window is None:
            raise RuntimeError("call reset() before step()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        tail = (int(action), int(obs)) if self.include_actions else (int(obs),)
        self._window = self._window[len(tail) :] + tail
        return self._emit(), reward, terminated, truncated, {**info, "observation": int(obs)}


def observe_partially(
    world: gym.Env, history: int | None = None, include_actions: bool = True
) -> gym.Env:
    """A world with a :class:`TabularPOMDP` model as its agent sees it: through
    :class:`PartialObservation`, and with ``history=k`` through :class:`HistoryObservation`
    (the entry points of the registered partially observed tasks: ``gym.make(id, history=k)``,
    or ``darkcontrol simulate --env-set history=k``)."""
    env = PartialObservation(world)
    if history is None:
        return env
    return HistoryObservation(env, history, include_actions=include_actions)
