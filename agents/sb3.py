"""stable-baselines3's DQN (Mnih et al. 2015, Nature; Raffin et al. 2021, JMLR) as an agent.

SB3's DQN is the engineered cousin of the paper's agent (:mod:`darkcontrol.agents.approx`): an
MLP Q-network on one-hot states (SB3 one-hot encodes ``Discrete`` observations itself, so our
environments need no wrapper), uniform replay, a target network copied every
``target_update_interval`` steps, epsilon-greedy exploration annealed linearly, and updates
that minimise the **Huber** loss of y - Q(s, a) with **Adam** and gradient-norm clipping,
where y = r + gamma (1 - terminated) max_a' Q(s', a' | theta^-). Use ``replay_q`` for the
paper's squared loss and SGD.

Two ways to drive it, the same algorithm (with the same seed they give the same Trace):

- SB3's own loop: :meth:`SB3DQNAgent.run` (``env``, ``total_timesteps``, ``seed``) or
  :meth:`SB3DQNAgent.learn` after :meth:`SB3DQNAgent.set_env`. Online rows come from an SB3
  callback after every environment step; offline rows from the overridden ``DQN.train`` (SB3
  has no callback per gradient step).
- the darkcontrol Agent interface, so that :func:`darkcontrol.simulate`
  (``darkcontrol simulate --agent sb3_dqn``) and the DMN model can schedule it:
  ``act`` = epsilon-greedy choice (uniform during the first ``learning_starts`` steps, as SB3);
  ``observe`` = record the online row and store the transition in SB3's replay buffer (SB3's
  ``_store_transition`` + ``_on_step``: target-network copy, exploration schedule);
  ``plan(budget)`` = ``budget`` SB3 gradient steps on replayed minibatches (none before
  ``learning_starts`` steps); ``offline_budget`` = ``gradient_steps``. This is SB3's loop with
  ``train_freq = 1`` step, which is what this adapter always uses.
  ``learn_offline`` = one gradient step (same loss, optimiser and clipping) on the given
  transition alone, not stored in the buffer.

Trace
-----
- online rows, one per environment step: the transition, ``q`` = Q(s, a | theta),
  ``target`` = y computed with the target network, ``rpe`` = y - q (no update is made at
  the environment step, so ``update_norm`` = 0), ``choice_prob`` / ``policy_entropy`` of the
  epsilon-greedy policy that chose the action; ``experience_id`` (extra, with
  ``record_ids``): the run-wide index of the transition in the replay buffer.
- offline rows, one per gradient step (source "replay"): batch means of ``q``, ``target``,
  ``rpe`` (= target - q), extra ``abs_rpe`` (mean |y - q|) and ``loss`` (Huber), the step's
  ``update_norm`` = ||delta theta||_2 of the Q-network, and (``record_ids``) ``replay_ids``:
  the ``experience_id`` of each sampled transition. With ``batch_size = 1`` the row also carries
  the transition itself.
- ``spe`` and ``salience`` are NaN.

Reproducibility: SB3 normally seeds Python's, NumPy's and torch's *global* generators. Here
none is touched: the Q-network is initialised inside ``torch.random.fork_rng`` from a seed
derived from the agent's seed, and exploration and replay sampling use the agent's one
``numpy.random.Generator``; ``run(..., seed=s)`` seeds the environment's first reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from stable_baselines3 import DQN
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.type_aliases import ReplayBufferSamples

from darkcontrol._torch import resolve_device
from darkcontrol._util import check_positive, check_probability, progress
from darkcontrol.agents.base import Agent, EpisodeLog
from darkcontrol.agents.policies import entropy


@dataclass
class SB3DQNConfig:
    """Hyper-parameters of :class:`SB3DQNAgent` (SB3's names; defaults for small worlds)."""

    learning_rate: float = 1e-3  #: Adam step size
    gamma: float = 0.95  #: discount factor, in [0, 1]
    buffer_size: int = 10_000  #: replay buffer capacity
    learning_starts: int = 50  #: environment steps of uniform exploration before learning
    batch_size: int = 32  #: transitions per gradient step
    gradient_steps: int = 1  #: gradient steps after each environment step (offline_budget)
    target_update_interval: int = 250  #: environment steps between target-network updates
    tau: float = 1.0  #: target update: theta^- <- tau theta + (1 - tau) theta^- (1 = copy)
    exploration_initial_eps: float = 1.0  #: epsilon at the first learning step
    exploration_final_eps: float = 0.05  #: epsilon after the annealing
    exploration_steps: int = 1000  #: environment steps over which epsilon anneals linearly
    max_grad_norm: float = 10.0  #: gradient-norm clipping
    net_arch: tuple[int, ...] = (64, 64)  #: hidden layer sizes of the Q-network
    device: str = "cpu"  #: torch device ("cpu", "cuda", "cuda:N")
    record_ids: bool = True  #: record experience_id (online) and replay_ids (offline)

    def __post_init__(self) -> None:
        check_positive("learning_rate", self.learning_rate)
        check_probability("gamma", self.gamma)
        check_probability("tau", self.tau)
        check_positive("tau", self.tau)
        check_probability("exploration_initial_eps", self.exploration_initial_eps)
        check_probability("exploration_final_eps", self.exploration_final_eps)
        check_positive("max_grad_norm", self.max_grad_norm)
        for name, low in (
            ("buffer_size", 1),
            ("batch_size", 1),
            ("target_update_interval", 1),
            ("learning_starts", 0),
            ("gradient_steps", 0),
            ("exploration_steps", 0),
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if isinstance(self.net_arch, int) or not all(
            isinstance(h, (int, np.integer)) and h >= 1 for h in self.net_arch
        ):
            raise ValueError(f"net_arch must be a sequence of sizes >= 1, got {self.net_arch!r}")
        self.net_arch = tuple(int(h) for h in self.net_arch)
        resolve_device(self.device)


class _SpacesOnly(gym.Env):
    """Stands in for an environment until one is attached: the agent is then driven by
    act/observe/plan, never by SB3's own loop."""

    def __init__(self, n_states: int, n_actions: int) -> None:
        self.observation_space = gym.spaces.Discrete(n_states)
        self.action_space = gym.spaces.Discrete(n_actions)

    def reset(self, *, seed=None, options=None):
        raise RuntimeError(
            "no environment attached: call SB3DQNAgent.set_env(env) or run(env, ...)"
        )

    def step(self, action):
        raise RuntimeError(
            "no environment attached: call SB3DQNAgent.set_env(env) or run(env, ...)"
        )


class SeededReplayBuffer(ReplayBuffer):
    """SB3's replay buffer (one environment), sampling uniformly with a given numpy Generator.

    Remembers the run-wide id of every stored transition (``ids``) and the slots and ids of the
    last minibatch (``last_indices``, ``last_ids``)."""

    rng: np.random.Generator

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.n_envs != 1 or self.optimize_memory_usage:
            raise ValueError(
                "SeededReplayBuffer supports one environment, without memory optimisation"
            )
        self.ids = np.zeros(self.buffer_size, dtype=np.int64)
        self.n_added = 0
        self.last_indices = np.zeros(0, dtype=np.int64)
        self.last_ids = np.zeros(0, dtype=np.int64)

    def add(self, obs, next_obs, action, reward, done, infos) -> None:
        self.ids[self.pos] = self.n_added
        self.n_added += 1
        super().add(obs, next_obs, action, reward, done, infos)

    def sample(self, batch_size: int, env=None) -> ReplayBufferSamples:
        if env is not None:
            raise ValueError("SeededReplayBuffer does not support VecNormalize")
        upper = self.buffer_size if self.full else self.pos
        if upper == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        inds = self.rng.integers(0, upper, size=int(batch_size))
        self.last_indices, self.last_ids = inds, self.ids[inds]
        data = (
            self.observations[inds, 0, :],
            self.actions[inds, 0, :],
            self.next_observations[inds, 0, :],
            # a time-limit truncation is not a termination: bootstrap through it
            (self.dones[inds, 0] * (1 - self.timeouts[inds, 0])).reshape(-1, 1),
            self.rewards[inds, 0].reshape(-1, 1),
        )
        return ReplayBufferSamples(*tuple(map(self.to_torch, data)))


class TracedDQN(DQN):
    """SB3's DQN whose exploration, sampling and gradient steps report to an SB3DQNAgent."""

    agent: SB3DQNAgent

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "agent"]

    def _sample_action(self, learning_starts, action_noise=None, n_envs=1):
        self.agent._maybe_begin_episode()
        state = int(np.asarray(self._last_obs).reshape(-1)[0])
        action = self.agent.act(state)
        return np.array([action]), np.array([action])

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        """SB3's predict, exploring with the agent's Generator instead of NumPy's global one."""
        action, state = self.policy.predict(observation, state, episode_start, deterministic=True)
        if deterministic:
            return action, state
        action = np.array(action, copy=True)
        flat = action.reshape(-1)
        explore = self.agent.rng.random(flat.shape) < self.exploration_rate
        flat[explore] = self.agent.rng.integers(0, self.action_space.n, size=int(explore.sum()))
        return flat.reshape(action.shape), state

    def _on_step(self) -> None:
        super()._on_step()  # target-network update (and SB3's own schedule, replaced below)
        self.exploration_rate = self.agent.epsilon
        self.logger.record("rollout/exploration_rate", self.exploration_rate)

    def gradient_step(self, data: ReplayBufferSamples) -> dict[str, Any]:
        """SB3 DQN's update on one minibatch; returns per-transition q, y and ||delta theta||."""
        discounts = data.discounts if data.discounts is not None else self.gamma
        with torch.no_grad():
            next_q = self.q_net_target(data.next_observations).max(dim=1).values.reshape(-1, 1)
            target = data.rewards + (1 - data.dones) * discounts * next_q
        current = torch.gather(self.q_net(data.observations), dim=1, index=data.actions.long())
        loss = F.smooth_l1_loss(current, target)
        params = list(self.q_net.parameters())
        before = torch.nn.utils.parameters_to_vector(params).detach().clone()
        self.policy.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.policy.optimizer.step()
        after = torch.nn.utils.parameters_to_vector(params).detach()
        q = current.detach().cpu().numpy().reshape(-1).astype(np.float64)
        y = target.cpu().numpy().reshape(-1).astype(np.float64)
        return {
            "q": q,
            "target": y,
            "loss": float(loss.item()),
            "update_norm": float(torch.linalg.vector_norm(after - before).item()),
        }

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """DQN.train, one offline Trace row per gradient step."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses = []
        for _ in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            stats = self.gradient_step(data)
            losses.append(stats["loss"])
            self.agent._record_offline("replay", data, stats, self.replay_buffer.last_ids)
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", np.mean(losses))


class _TraceCallback(BaseCallback):
    """Records an online row after every environment step of SB3's loop; logs episodes."""

    def __init__(self, agent: SB3DQNAgent, trial_duration: float, progress: int | None) -> None:
        super().__init__()
        self.agent = agent
        self.trial_duration = float(trial_duration)
        self.log = EpisodeLog()
        self._progress_total = progress
        self._bar = None

    def _on_training_start(self) -> None:
        if self._progress_total:  # a bar updated by hand, one tick per environment step
            self._bar = progress(None, desc="sb3_dqn", unit="step", total=self._progress_total)

    def _on_step(self) -> bool:
        agent, model = self.agent, self.model
        state = int(np.asarray(model._last_obs).reshape(-1)[0])
        action = int(np.asarray(self.locals["actions"]).reshape(-1)[0])
        reward = float(np.asarray(self.locals["rewards"]).reshape(-1)[0])
        done = bool(np.asarray(self.locals["dones"]).reshape(-1)[0])
        info = self.locals["infos"][0]
        truncated = bool(info.get("TimeLimit.truncated", False))
        terminated = done and not truncated
        if done:
            next_state = int(np.asarray(info["terminal_observation"]).reshape(-1)[0])
        else:
            next_state = int(np.asarray(self.locals["new_obs"]).reshape(-1)[0])
        rec = agent.recorder
        t0 = rec.time
        agent._record_online(state, action, reward, next_state, terminated)
        rec.time = t0 + self.trial_duration
        agent._episode_length += 1
        agent._episode_return += reward
        if done:
            self.log.lengths.append(agent._episode_length)
            self.log.returns.append(agent._episode_return)
            agent._episode_length, agent._episode_return = 0, 0.0
            agent._new_episode = True
        if self._bar is not None:
            self._bar.update(1)
        return True

    def _on_training_end(self) -> None:
        if self._bar is not None:
            self._bar.close()


class SB3DQNAgent(Agent):
    """stable-baselines3 DQN, recording the darkcontrol Trace (see the module docstring).

    Trace: ``spe`` and ``salience`` are NaN; online ``update_norm`` is 0 (updates are the
    offline rows)."""

    name = "sb3_dqn"
    Config = SB3DQNConfig
    nan_columns = ("spe", "salience")
    supports_offline = True
    slow = True  # importing SB3 and torch alone takes seconds

    def __init__(self, n_states: int, n_actions: int, config: Any = None, **kw: Any) -> None:
        super().__init__(n_states, n_actions, config, **kw)
        cfg = self.config
        self.device = resolve_device(cfg.device)
        # A child of the numpy seed sequence seeds torch without consuming the numpy stream.
        child = self.rng.bit_generator.seed_seq.spawn(1)[0]
        torch_seed = int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed)
            self.model = TracedDQN(
                "MlpPolicy",
                _SpacesOnly(self.n_states, self.n_actions),
                learning_rate=cfg.learning_rate,
                buffer_size=cfg.buffer_size,
                learning_starts=cfg.learning_starts,
                batch_size=cfg.batch_size,
                tau=cfg.tau,
                gamma=cfg.gamma,
                train_freq=1,
                gradient_steps=cfg.gradient_steps,
                replay_buffer_class=SeededReplayBuffer,
                target_update_interval=cfg.target_update_interval,
                exploration_initial_eps=cfg.exploration_initial_eps,
                exploration_final_eps=cfg.exploration_final_eps,
                max_grad_norm=cfg.max_grad_norm,
                policy_kwargs={"net_arch": list(cfg.net_arch)},
                seed=None,  # do not seed the global generators
                device=self.device,
            )
        self.model.agent = self
        self.model.replay_buffer.rng = self.rng
        self.model.set_logger(Logger(folder=None, output_formats=[]))
        self.model.exploration_rate = self.epsilon
        self._has_env = False
        self._new_episode = True
        self._episode_length, self._episode_return = 0, 0.0

    # -- values and policy -------------------------------------------------------------------
    @property
    def epsilon(self) -> float:
        """Exploration rate after ``num_timesteps`` steps (linear from initial to final)."""
        cfg = self.config
        if cfg.exploration_steps == 0:
            return float(cfg.exploration_final_eps)
        frac = min(1.0, self.model.num_timesteps / cfg.exploration_steps)
        eps0, eps1 = cfg.exploration_initial_eps, cfg.exploration_final_eps
        return float(eps0 + frac * (eps1 - eps0))

    def _obs(self, states) -> torch.Tensor:
        return torch.as_tensor(
            np.asarray(states, dtype=np.int64).reshape(-1, 1), device=self.device
        )

    @torch.no_grad()
    def q_values(self) -> np.ndarray:
        """Q(s, a | theta) of the online network for every state, shape (S, A)."""
        q = self.model.q_net(self._obs(np.arange(self.n_states)))
        return q.cpu().numpy().astype(np.float64)

    def policy(self, state: int) -> np.ndarray:
        """SB3's behaviour policy: uniform before ``learning_starts`` steps, then
        epsilon-greedy on Q (greedy action: the first maximum, as torch.argmax)."""
        if self.model.num_timesteps < self.config.learning_starts:
            return np.full(self.n_actions, 1.0 / self.n_actions)
        with torch.no_grad():
            q = self.model.q_net(self._obs([int(state)]))[0].cpu().numpy()
        eps = self.epsilon
        probs = np.full(self.n_actions, eps / self.n_actions)
        probs[int(np.argmax(q))] += 1.0 - eps
        return probs

    @property
    def offline_budget(self) -> int:
        return self.config.gradient_steps

    # -- Trace rows ----------------------------------------------------------------------------
    @torch.no_grad()
    def _record_online(self, state, action, reward, next_state, terminated, fields=None) -> None:
        m = self.model
        q = float(m.q_net(self._obs([state]))[0, action].item())
        next_q = m.q_net_target(self._obs([next_state])).max(dim=1).values
        r = torch.tensor([reward], dtype=next_q.dtype, device=next_q.device)
        y = float((r + (1.0 - float(terminated)) * m.gamma * next_q)[0].item())
        probs = self._last_probs if self._last_state == int(state) else self.policy(state)
        row = {
            "state": int(state),
            "action": int(action),
            "reward": float(reward),
            "next_state": int(next_state),
            "terminated": bool(terminated),
            "q": q,
            "target": y,
            "rpe": y - q,
            "update_norm": 0.0,
            "choice_prob": float(probs[action]),
            "policy_entropy": float(entropy(probs)),
        }
        if self.config.record_ids:
            row["experience_id"] = int(m.replay_buffer.n_added)  # the id it is about to get
        self.recorder.online(fields, **row)

    def _record_offline(self, source, data: ReplayBufferSamples, stats, ids, fields=None) -> None:
        rpe = stats["target"] - stats["q"]
        row: dict[str, Any] = {
            "q": float(stats["q"].mean()),
            "target": float(stats["target"].mean()),
            "rpe": float(rpe.mean()),
            "abs_rpe": float(np.abs(rpe).mean()),
            "loss": stats["loss"],
            "update_norm": stats["update_norm"],
        }
        if len(rpe) == 1:
            row.update(
                state=int(data.observations.reshape(-1)[0].item()),
                action=int(data.actions.reshape(-1)[0].item()),
                reward=float(data.rewards.reshape(-1)[0].item()),
                next_state=int(data.next_observations.reshape(-1)[0].item()),
                terminated=bool(data.dones.reshape(-1)[0].item()),
            )
        if self.config.record_ids and ids is not None:
            row["replay_ids"] = tuple(int(i) for i in ids)
        self.n_updates += 1  # one gradient step
        self.recorder.offline(source, fields, **row)

    # -- the Agent interface -------------------------------------------------------------------
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
        """Online row, then SB3's _store_transition and _on_step for this transition."""
        s, a, r, s2 = int(state), int(action), float(reward), int(next_state)
        self._record_online(s, a, r, s2, terminated, fields)
        m = self.model
        m.replay_buffer.add(
            np.array([state]),
            np.array([next_state]),
            np.array([action]),
            np.array([reward], dtype=np.float32),
            np.array([bool(terminated or truncated)]),
            [{"TimeLimit.truncated": bool(truncated and not terminated)}],
        )
        m.num_timesteps += 1
        m._on_step()

    def plan(self, budget: int) -> int:
        """``budget`` DQN gradient steps on replayed minibatches, once past ``learning_starts``."""
        budget = int(budget)
        if budget < 0:
            raise ValueError(f"budget must be >= 0, got {budget}")
        m = self.model
        if budget == 0 or not (m.num_timesteps > 0 and m.num_timesteps > m.learning_starts):
            return 0
        m.train(gradient_steps=budget, batch_size=m.batch_size)
        return budget

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
        """One DQN gradient step on this transition alone (not stored in the buffer). SB3's
        DQN has one discount: a ``gamma`` other than its own raises ValueError."""
        if gamma is not None and gamma != self.model.gamma:
            raise ValueError(
                f"{self.name} backs up with its DQN's gamma={self.model.gamma}; got gamma={gamma}"
            )
        dev = self.device
        data = ReplayBufferSamples(
            observations=self._obs([state]),
            actions=torch.tensor([[int(action)]], dtype=torch.int64, device=dev),
            next_observations=self._obs([next_state]),
            dones=torch.tensor([[float(bool(terminated))]], dtype=torch.float32, device=dev),
            rewards=torch.tensor([[float(reward)]], dtype=torch.float32, device=dev),
        )
        self.model.policy.set_training_mode(True)
        stats = self.model.gradient_step(data)
        self._record_offline(source, data, stats, None, fields)

    # -- SB3's own loop ------------------------------------------------------------------------
    def _maybe_begin_episode(self) -> None:
        """SB3's loop: start a Trace episode before the first action of each episode."""
        if self._new_episode:
            self.recorder.begin_episode()
            self.reset()
            self._new_episode = False

    def set_env(self, env, *, seed: int | None = None, max_steps: int | None = None) -> None:
        """Attach a Gymnasium env (Discrete spaces matching the agent) for :meth:`learn`.

        ``seed`` seeds its first reset; ``max_steps`` truncates episodes (a TimeLimit)."""
        if max_steps is not None:
            if int(max_steps) < 1:
                raise ValueError(f"max_steps must be >= 1, got {max_steps}")
            env = gym.wrappers.TimeLimit(env, max_episode_steps=int(max_steps))
        self.model.set_env(env)
        if seed is not None:
            self.model.env.seed(int(seed))
        self._has_env = True
        self._new_episode = True
        self._episode_length, self._episode_return = 0, 0.0

    def learn(
        self,
        total_timesteps: int,
        *,
        trial_duration: float = 1.0,
        offline_dt: float = 0.0,
        progress: bool = False,
    ) -> EpisodeLog:
        """Train with SB3's loop for ``total_timesteps`` more environment steps.

        Returns the episodes completed during this call; an episode cut by the end continues at
        the next call. Clock as in :func:`darkcontrol.simulate`."""
        if not self._has_env:
            raise RuntimeError("no environment attached: call set_env(env) or run(env, ...) first")
        if int(total_timesteps) < 1:
            raise ValueError(f"total_timesteps must be >= 1, got {total_timesteps}")
        self.recorder.offline_dt = offline_dt
        callback = _TraceCallback(self, trial_duration, int(total_timesteps) if progress else None)
        self.model.learn(
            int(total_timesteps), callback=callback, log_interval=None, reset_num_timesteps=False
        )
        return callback.log

    def run(
        self,
        env,
        total_timesteps: int,
        seed: int | None = None,
        *,
        max_steps: int | None = None,
        trial_duration: float = 1.0,
        offline_dt: float = 0.0,
        progress: bool = False,
    ) -> tuple[pd.DataFrame, EpisodeLog]:
        """Attach ``env`` and train for ``total_timesteps``; returns (Trace so far, EpisodeLog)."""
        self.set_env(env, seed=seed, max_steps=max_steps)
        log = self.learn(
            total_timesteps, trial_duration=trial_duration, offline_dt=offline_dt, progress=progress
        )
        return self.recorder.to_frame(), log
