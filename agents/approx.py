"""The paper's agent: Q-learning with a function approximator and experience replay.

Dohmatob, Dumas & Bzdok (2020, Human Brain Mapping 41(12), §4.2) model the DMN as a deep
Q-learner in the style of Mnih et al. (2015, Nature). Every real experience
e = (s, a, r, s') enters a replay memory D (the hippocampus); minibatches replayed from D give
targets

    y_k = r_k + gamma max_a' Q~(s'_k, a' | theta^-)        (y_k = r_k at a terminal s'_k)

with theta^- a periodically copied target network (or theta itself when ``target_update`` is
0), and theta descends the loss

    L(theta) = E_(s, a, r, s') ~ D [ 1/2 (Q~(s, a | theta) - y)^2 ]

by stochastic gradient descent: delta theta = -alpha grad L (PMC's signal is ||delta theta||).
Replay is uniform or prioritised (Schaul et al. 2016, ICLR; see
:mod:`darkcontrol.agents.replay_memory`); with prioritised replay each squared error is
weighted by its importance-sampling weight w_k.

Approximators (:mod:`darkcontrol.agents.features` for the features x(s)):

- ``linear``: Q~(s, a | W) = W[a] . x(s) (or w . phi(s, a) for user features of shape
  (S, A, d)), weights initialised to 0. With one-hot features and ``n_replay = 0`` the agent is
  tabular Q-learning, exactly.
- ``mlp``: x(s) -> [Linear -> ReLU] x len(hidden) -> Linear -> A values; PyTorch's default
  initialisation (He-uniform with a = sqrt(5)) drawn from the agent's ``torch.Generator``.

Step sizes: constant ``alpha``, or (``step_size="robbins_monro"``) the schedule
alpha_k = alpha / (1 + k / rm_tau)^rm_power with rm_power in (0.5, 1], so that
sum_k alpha_k = inf and sum_k alpha_k^2 < inf (Robbins & Monro 1951; the paper's "Optimal
control via stochastic gradient descent").

Optimiser: ``torch.optim.SGD`` with learning rate ``alpha`` (the paper's rule), or ``adam``
(Kingma & Ba 2015, ICLR), which is usually faster for MLPs; Adam's step is not -alpha grad L,
but ``update_norm`` is always the norm of the actual change of theta.

Trace
-----
- online rows (``observe``): the real transition is stored in D, then, if ``online_update``
  (default), one SGD step is taken on it alone (weight 1); ``q``, ``target``, ``rpe`` are
  computed before that step, ``update_norm`` is its ||delta theta||_2 (0 without the online
  step); ``choice_prob``, ``policy_entropy`` of the behaviour policy. With ``record_ids`` the
  row also carries ``experience_id``, the run-wide index of the stored transition.
- offline rows (``plan``, source "replay"): **one row per replayed minibatch** (= one SGD
  step = one ``plan`` step). ``q``, ``target``, ``rpe`` are the batch means of Q~(s_k, a_k)
  before the step, y_k and y_k - Q~(s_k, a_k) (so rpe = target - q); extra column ``abs_rpe``
  is the mean |y_k - Q~(s_k, a_k)|; ``update_norm`` is the step's ||delta theta||_2. With
  ``batch_size == 1`` the row also carries the transition (state, action, reward, next_state,
  terminated); otherwise these are <NA>. With ``record_ids`` the extra column ``replay_ids``
  holds the tuple of ``experience_id`` values replayed (the content of the replay).
- ``learn_offline`` (the DMN model's hook for simulated / recombined experience): one SGD step
  on the given transition (weight 1, not stored in D), one offline row with its ``source``.
- ``learn_offline_batch`` (the DMN model's hook for hippocampal replay of minibatches from its
  own memory): one SGD step on the K given transitions (weight 1 each, not stored in D), one
  offline row laid out like a replayed-minibatch row (batch means; ``abs_rpe``).
- ``spe`` (no world model) and ``salience`` are NaN.

Reproducibility: one ``numpy.random.Generator`` (action choice and replay sampling) and one
``torch.Generator`` (network initialisation, seeded from a child of the numpy seed sequence,
so it does not consume the numpy stream) per agent; on CPU all torch operations used are
deterministic, so the same seed gives the same Trace. On CUDA the backward pass of indexing
(``gather``, feature lookup) uses atomic additions, whose order, and so the last bits of the
results, can vary between runs unless ``torch.use_deterministic_algorithms(True)`` is set
(which needs ``CUBLAS_WORKSPACE_CONFIG=:4096:8``).

Speed: the networks are tiny, so each SGD step costs the fixed overhead of a few dozen torch
calls; on a busy machine ``torch.set_num_threads(1)`` avoids thread contention and is several
times faster (the agent does not change this process-wide setting itself). For many agents or
parameter settings at once, use the batched agents instead.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from darkcontrol._torch import DTYPES, resolve_device
from darkcontrol._util import check_positive, check_probability
from darkcontrol.agents.base import Agent
from darkcontrol.agents.features import FEATURES, build_features
from darkcontrol.agents.policies import action_probs
from darkcontrol.agents.replay_memory import PrioritizedReplayMemory, ReplayMemory
from darkcontrol.constants import POLICIES

APPROXIMATORS = ("linear", "mlp")
OPTIMIZERS = ("sgd", "adam")
REPLAYS = ("uniform", "prioritized")
STEP_SIZES = ("constant", "robbins_monro")


@dataclass
class ReplayQConfig:
    """Hyper-parameters of :class:`ReplayQAgent`."""

    alpha: float = 0.1  #: learning rate of the optimiser (SGD step size), > 0
    gamma: float = 0.95  #: discount factor (the agent's horizon), in [0, 1]
    policy: str = "epsilon_greedy"  #: behaviour policy: "epsilon_greedy" | "softmax" | "greedy"
    epsilon: float = 0.1  #: exploration rate of epsilon-greedy
    beta: float = 5.0  #: inverse temperature of softmax
    optimizer: str = "sgd"  #: "sgd" (the paper's rule) | "adam"
    #: step sizes alpha_k: "constant" (alpha) | "robbins_monro",
    #: alpha_k = alpha / (1 + k / rm_tau)^rm_power (k = SGD steps taken so far)
    step_size: str = "constant"
    rm_tau: float = 1000.0  #: Robbins-Monro: steps over which alpha_k halves (rm_power = 1)
    rm_power: float = 1.0  #: Robbins-Monro exponent kappa in (0.5, 1]
    approximator: str = "linear"  #: "linear" | "mlp"
    hidden: tuple[int, ...] = (64,)  #: hidden layer sizes of the MLP
    features: str = "onehot"  #: x(s): "onehot" | "coords" | "tiles" | "custom" (feature_matrix)
    n_tilings: int = 8  #: tile coding: number of offset tilings
    n_tiles: int = 4  #: tile coding: tiles per axis of each tiling
    batch_size: int = 16  #: transitions per replayed minibatch
    memory_size: int = 10_000  #: capacity of the replay memory D (a ring buffer)
    replay_start: int = 16  #: transitions stored in D before replay begins, >= 1
    n_replay: int = 5  #: replayed minibatches (SGD steps) per real step = offline_budget
    online_update: bool = True  #: one SGD step on each real transition as it happens
    replay: str = "uniform"  #: "uniform" | "prioritized" (Schaul et al. 2016, proportional)
    per_alpha: float = 0.6  #: prioritised replay: P(i) ~ p_i^per_alpha
    per_beta0: float = 0.4  #: prioritised replay: initial importance-sampling exponent
    per_beta_steps: int = 10_000  #: prioritised replay: minibatches over which beta -> 1
    per_eps: float = 1e-6  #: prioritised replay: p_i = |delta_i| + per_eps
    target_update: int = 0  #: SGD steps between copies theta -> theta^- (0 = no target net)
    device: str = "cpu"  #: torch device: "cpu" | "cuda" | "cuda:N" (or a torch.device)
    dtype: str = "float32"  #: parameter dtype: "float32" | "float64"
    record_ids: bool = True  #: record experience_id (online) and replay_ids (offline) columns

    def __post_init__(self) -> None:
        check_positive("alpha", self.alpha)
        check_probability("gamma", self.gamma)
        check_probability("epsilon", self.epsilon)
        check_positive("beta", self.beta, strict=False)
        for name, value, allowed in (
            ("policy", self.policy, POLICIES),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("step_size", self.step_size, STEP_SIZES),
            ("approximator", self.approximator, APPROXIMATORS),
            ("features", self.features, FEATURES),
            ("replay", self.replay, REPLAYS),
            ("dtype", self.dtype, tuple(DTYPES)),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if isinstance(self.hidden, int) or not all(
            isinstance(h, (int, np.integer)) and h >= 1 for h in self.hidden
        ):
            raise ValueError(f"hidden must be a sequence of layer sizes >= 1, got {self.hidden!r}")
        self.hidden = tuple(int(h) for h in self.hidden)
        for name in ("n_tilings", "n_tiles", "batch_size", "memory_size", "replay_start"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        for name in ("n_replay", "target_update"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if self.replay_start > self.memory_size:
            raise ValueError(
                f"replay_start ({self.replay_start}) cannot exceed memory_size ({self.memory_size})"
            )
        check_positive("rm_tau", self.rm_tau)
        if not 0.5 < float(self.rm_power) <= 1.0:
            raise ValueError(
                f"rm_power must be in (0.5, 1] (Robbins-Monro: sum alpha_k = inf, "
                f"sum alpha_k^2 < inf), got {self.rm_power!r}"
            )
        check_positive("per_alpha", self.per_alpha, strict=False)
        check_probability("per_beta0", self.per_beta0)
        check_positive("per_eps", self.per_eps)
        if self.per_beta_steps < 1:
            raise ValueError(f"per_beta_steps must be >= 1, got {self.per_beta_steps}")
        resolve_device(self.device)


class LinearQ(nn.Module):
    """Q~(s, . | W) = W x(s) for state features (S, k); w . phi(s, .) for (S, A, d) features."""

    def __init__(self, features: torch.Tensor, n_actions: int) -> None:
        super().__init__()
        self.register_buffer("features", features)
        self.action_features = features.ndim == 3
        if self.action_features:
            shape = (features.shape[2],)
        else:
            shape = (n_actions, features.shape[1])
        self.weight = nn.Parameter(torch.zeros(shape, dtype=features.dtype))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        x = self.features[states]
        if self.action_features:
            return x @ self.weight
        return x @ self.weight.T


class MLPQ(nn.Module):
    """x(s) -> [Linear -> ReLU] * len(hidden) -> Linear -> Q~(s, .)."""

    def __init__(
        self,
        features: torch.Tensor,
        n_actions: int,
        hidden: tuple[int, ...],
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        if features.ndim != 2:
            raise ValueError(
                f"the MLP takes state features of shape (S, k), got {tuple(features.shape)}"
            )
        self.register_buffer("features", features)
        sizes = [features.shape[1], *hidden, n_actions]
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            # built on the meta device (nn.Linear would draw from torch's global generator),
            # then materialised and initialised from the agent's generator
            lin = nn.Linear(fan_in, fan_out, dtype=features.dtype, device="meta")
            lin = lin.to_empty(device=features.device)
            # nn.Linear's default initialisation, drawn from the agent's generator
            nn.init.kaiming_uniform_(lin.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(lin.bias, -bound, bound, generator=generator)
            layers.append(lin)
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.net(self.features[states])


@dataclass
class StepResult:
    """What one SGD step computed, per transition (before the update) and for theta."""

    q: np.ndarray
    target: np.ndarray
    rpe: np.ndarray
    update_norm: float


class ReplayQAgent(Agent):
    """Q-learning with a linear or MLP approximator, SGD and (prioritised) experience replay.

    See the module docstring for the equations and the Trace it records. ``feature_matrix``
    (with ``features="custom"``) gives x(s) as an (S, k) array, or phi(s, a) as (S, A, d) for the
    linear approximator. Trace: ``spe`` and ``salience`` are NaN."""

    name = "replay_q"
    Config = ReplayQConfig
    nan_columns = ("spe", "salience")
    supports_offline = True
    slow = True  # a few episodes with replay take seconds (torch overhead per SGD step)

    def __init__(
        self,
        n_states: int,
        n_actions: int,
        config: Any = None,
        *,
        feature_matrix: np.ndarray | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(n_states, n_actions, config, **kw)
        cfg = self.config
        self.device = resolve_device(cfg.device)
        self.dtype = DTYPES[cfg.dtype]
        x = build_features(
            cfg.features,
            self.n_states,
            self.n_actions,
            mdp=self.mdp,
            matrix=feature_matrix,
            n_tilings=cfg.n_tilings,
            n_tiles=cfg.n_tiles,
        )
        feats = torch.as_tensor(x, dtype=self.dtype)
        # A child of the numpy seed sequence seeds torch without consuming the numpy stream.
        child = self.rng.bit_generator.seed_seq.spawn(1)[0]
        self.torch_generator = torch.Generator().manual_seed(
            int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
        )
        if cfg.approximator == "linear":
            net: nn.Module = LinearQ(feats, self.n_actions)
        else:
            net = MLPQ(feats, self.n_actions, cfg.hidden, self.torch_generator)
        self.net = net.to(self.device)
        self.target_net = None
        if cfg.target_update > 0:
            self.target_net = copy.deepcopy(self.net).requires_grad_(False)
        params = list(self.net.parameters())
        if cfg.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(params, lr=cfg.alpha)
        else:
            self.optimizer = torch.optim.Adam(params, lr=cfg.alpha)
        if cfg.replay == "prioritized":
            self.memory: ReplayMemory = PrioritizedReplayMemory(
                cfg.memory_size,
                self.rng,
                alpha=cfg.per_alpha,
                beta0=cfg.per_beta0,
                beta_steps=cfg.per_beta_steps,
                eps=cfg.per_eps,
            )
        else:
            self.memory = ReplayMemory(cfg.memory_size, self.rng)
        self.n_updates = 0  # SGD steps taken (online, replayed and learn_offline)

    # -- values and policy -------------------------------------------------------------------
    def _tensor(self, values, dtype=torch.long) -> torch.Tensor:
        return torch.as_tensor(np.asarray(values), dtype=dtype, device=self.device)

    @torch.no_grad()
    def q_values(self) -> np.ndarray:
        """Q~(s, a | theta) for every state, shape (S, A), float64."""
        states = torch.arange(self.n_states, device=self.device)
        return self.net(states).cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def state_values(self, state: int) -> np.ndarray:
        """Q~(state, . | theta), shape (A,)."""
        return self.net(self._tensor([int(state)]))[0].cpu().numpy().astype(np.float64)

    def policy(self, state: int) -> np.ndarray:
        cfg = self.config
        return action_probs(
            self.state_values(state), cfg.policy, beta=cfg.beta, epsilon=cfg.epsilon
        )

    @property
    def offline_budget(self) -> int:
        return self.config.n_replay

    def parameters_vector(self) -> np.ndarray:
        """theta, flattened (float64 copy)."""
        vec = nn.utils.parameters_to_vector(self.net.parameters())
        return vec.detach().cpu().numpy().astype(np.float64)

    # -- learning ----------------------------------------------------------------------------
    def _q_and_target(self, states, actions, rewards, next_states, terminated, gamma=None):
        """Q~(s_k, a_k | theta) (with its graph) and the targets y_k (without); ``gamma``
        None is ``config.gamma``."""
        g = self.config.gamma if gamma is None else gamma
        s = self._tensor(states)
        a = self._tensor(actions)
        boot = self.target_net if self.target_net is not None else self.net
        with torch.no_grad():
            next_q = boot(self._tensor(next_states)).max(dim=1).values
            done = self._tensor(terminated, self.dtype)
            y = self._tensor(rewards, self.dtype) + g * next_q * (1.0 - done)
        q = self.net(s).gather(1, a[:, None]).squeeze(1)
        return q, y

    def step_size(self, k: int) -> float:
        """alpha_k of the (k+1)-th SGD step: alpha (constant) or the Robbins-Monro schedule
        alpha / (1 + k / rm_tau)^rm_power, whose sum diverges and whose sum of squares
        converges for rm_power in (0.5, 1] (Robbins & Monro 1951), the conditions under
        which SGD on E_D[1/2 (Q - y)^2] converges (paper section "Reinforcement learning
        control: a process model for DMN function", "Optimal control via stochastic gradient
        descent")."""
        cfg = self.config
        if cfg.step_size == "constant":
            return float(cfg.alpha)
        return float(cfg.alpha) / (1.0 + k / float(cfg.rm_tau)) ** float(cfg.rm_power)

    def sgd_step(
        self, states, actions, rewards, next_states, terminated, weights=None, *, gamma=None
    ) -> StepResult:
        """One SGD step on sum_k w_k 1/2 (Q~(s_k, a_k | theta) - y_k)^2 / K; returns StepResult.

        y_k = r_k + gamma (1 - terminated_k) max_a' Q~(s'_k, a' | theta^-), theta^- = theta
        without a target network. Every ``target_update`` steps theta^- <- theta."""
        cfg = self.config
        q, y = self._q_and_target(states, actions, rewards, next_states, terminated, gamma)
        err = q - y
        sq = err * err
        if weights is not None:
            sq = sq * self._tensor(weights, self.dtype)
        loss = 0.5 * sq.mean()
        before = nn.utils.parameters_to_vector(self.net.parameters()).detach().clone()
        if cfg.step_size == "robbins_monro":
            lr = self.step_size(self.n_updates)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        after = nn.utils.parameters_to_vector(self.net.parameters()).detach()
        norm = float(torch.linalg.vector_norm(after - before).item())
        self.n_updates += 1
        if self.target_net is not None and self.n_updates % cfg.target_update == 0:
            self.target_net.load_state_dict(self.net.state_dict())
        q_np = q.detach().cpu().numpy().astype(np.float64)
        y_np = y.cpu().numpy().astype(np.float64)
        return StepResult(q=q_np, target=y_np, rpe=y_np - q_np, update_norm=norm)

    def _transition_row(self, s, a, r, s2, terminated, res: StepResult) -> dict[str, Any]:
        return {
            "state": int(s),
            "action": int(a),
            "reward": float(r),
            "next_state": int(s2),
            "terminated": bool(terminated),
            "q": float(res.q[0]),
            "target": float(res.target[0]),
            "rpe": float(res.rpe[0]),
            "update_norm": res.update_norm,
        }

    @torch.no_grad()
    def _evaluate(self, s, a, r, s2, terminated) -> StepResult:
        """q, y, rpe of a transition without updating (online rows when online_update=False)."""
        q, y = self._q_and_target([s], [a], [r], [s2], [terminated])
        q_np = q.cpu().numpy().astype(np.float64)
        y_np = y.cpu().numpy().astype(np.float64)
        return StepResult(q=q_np, target=y_np, rpe=y_np - q_np, update_norm=0.0)

    def observe(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        truncated: bool = False,
        *,
        fields: Mapping[str, Any] | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        """Store e = (s, a, r, s') in D; one SGD step on it if ``online_update``; online row."""
        stats = self.choice_stats(state, action)
        s, a, s2 = int(state), int(action), int(next_state)
        slot = self.memory.add(s, a, float(reward), s2, bool(terminated))
        if self.config.online_update:
            res = self.sgd_step([s], [a], [reward], [s2], [terminated])
        else:
            res = self._evaluate(s, a, reward, s2, terminated)
        row = self._transition_row(s, a, reward, s2, terminated, res)
        if self.config.record_ids:
            row["experience_id"] = int(self.memory.ids[slot])
        self.recorder.online(fields, **row, **stats)

    def learn_offline(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        *,
        source: str = "replay",
        gamma: float | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        """One SGD step on a replayed / simulated / recombined transition (not stored in D)."""
        res = self.sgd_step([state], [action], [reward], [next_state], [terminated], gamma=gamma)
        row = self._transition_row(state, action, reward, next_state, terminated, res)
        self.recorder.offline(source, fields, **row)

    def learn_offline_batch(
        self,
        batch: Mapping[str, Any],
        *,
        source: str = "replay",
        gamma: float | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> StepResult:
        """ONE SGD step on a minibatch handed over by a wrapper (the DMN's hippocampal replay);
        one offline row (``source``), laid out as a :meth:`replay_step` row.

        ``batch``: a mapping with equal-length sequences ``states, actions, rewards,
        next_states, terminated`` (K transitions, weight 1 each, not stored in D). The step is
        delta theta = -alpha grad_theta (1/K) sum_k 1/2 (Q~(s_k, a_k | theta) - y_k)^2 with
        y_k = r_k + gamma (1 - terminated_k) max_a' Q~(s'_k, a' | theta^-) (paper section
        "Reinforcement learning control: a process model for DMN function": "Self-training
        and the loss function", "Optimal control via stochastic gradient descent in the DMN").
        Returns the step's :class:`StepResult` (per-transition q, y, rpe before the step)."""
        cols = ("states", "actions", "rewards", "next_states", "terminated")
        missing = [c for c in cols if c not in batch]
        if missing:
            raise ValueError(f"a batch needs the keys {cols}; missing {missing}")
        sizes = {c: len(batch[c]) for c in cols}
        if len(set(sizes.values())) != 1 or sizes["states"] == 0:
            raise ValueError(f"batch columns must have one length >= 1, got {sizes}")
        res = self.sgd_step(*(batch[c] for c in cols), gamma=gamma)
        row = self._batch_row(res, *(batch[c] for c in cols))
        self.recorder.offline(source, fields, **row)
        return res

    def _batch_row(self, res: StepResult, states, actions, rewards, next_states, terminated):
        """The offline row of one minibatch step: batch means of q, y, rpe; mean |rpe|;
        ||delta theta||; the transition itself when the batch holds one."""
        row: dict[str, Any] = {
            "q": float(res.q.mean()),
            "target": float(res.target.mean()),
            "rpe": float(res.rpe.mean()),
            "abs_rpe": float(np.abs(res.rpe).mean()),
            "update_norm": res.update_norm,
        }
        if len(states) == 1:
            row.update(
                state=int(states[0]),
                action=int(actions[0]),
                reward=float(rewards[0]),
                next_state=int(next_states[0]),
                terminated=bool(terminated[0]),
            )
        return row

    def replay_step(self) -> StepResult:
        """Replay one minibatch from D: one SGD step, priorities updated, one offline row."""
        batch = self.memory.sample(self.config.batch_size)
        weights = batch.weights if self.memory.prioritized else None
        res = self.sgd_step(
            batch.states, batch.actions, batch.rewards, batch.next_states, batch.terminated, weights
        )
        self.memory.update_priorities(batch.indices, res.rpe)
        row = self._batch_row(
            res, batch.states, batch.actions, batch.rewards, batch.next_states, batch.terminated
        )
        if self.config.record_ids:
            row["replay_ids"] = tuple(int(i) for i in batch.ids)
        self.recorder.offline("replay", **row)
        return res

    def plan(self, budget: int) -> int:
        """Replay ``budget`` minibatches from D (none until D holds ``replay_start``)."""
        budget = int(budget)
        if budget < 0:
            raise ValueError(f"budget must be >= 0, got {budget}")
        if len(self.memory) < self.config.replay_start:
            return 0
        for _ in range(budget):
            self.replay_step()
        return budget
