"""The one Agent protocol: every learner, and the DMN model wrapping one, implements it.

An agent acts in the world (:meth:`Agent.act`), learns from a real transition
(:meth:`Agent.observe`, an *online* Trace row), learns from one replayed / simulated /
recombined transition handed to it (:meth:`Agent.learn_offline`, an *offline* row; only agents
with ``supports_offline = True``), and plans on its own for a budget of steps
(:meth:`Agent.plan`). The runner, :func:`darkcontrol.simulate`, owns the clock
(:class:`darkcontrol.clock.Clock`): after each trial it hands the agent the inter-trial
interval, and between episodes or in rest blocks a rest window, through one method,
:meth:`Agent.offline` ``(seconds, kind=..., clock=...)``, which returns the number of offline
steps made. The base rule (plain agents): Dyna's n, i.e. ``offline_budget`` steps after each
trial whatever the ITI's length; at rest ``offline_budget`` steps per trial period
(``trial_s + iti_s``) of rest, i.e. the task's rate. The DMN model overrides it with its replay
rate times its engagement (:class:`darkcontrol.dmn.DMNAgent`).

Quantities a wrapper computes for the agent's Trace rows (the DMN's ``spe``, ``salience``,
``engagement``, ...) are passed explicitly: ``observe(..., fields=...)`` and
``learn_offline(..., fields=...)``; a field the agent computes itself wins. The discount of an
offline backup may be given per call (``learn_offline(..., gamma=...)``, e.g. a rest horizon);
None means the agent's own ``config.gamma``.

Subclasses define ``name``, a dataclass ``Config`` (one documented field per hyper-parameter),
``nan_columns`` (Trace columns the agent cannot compute), and the three learning methods.

Class attributes every agent may set (the contract tests in ``tests/test_agents_schema.py``
read them):

- ``nan_columns``: Trace columns the agent never fills (all NaN / <NA> in its rows). Every
  other column is filled in every *online* row.
- ``default_env``: id of the environment the agent is built for (e.g.
  ``"darkcontrol/TwoStep-v0"``); None means any environment with Discrete observation and
  action spaces. The contract tests run the agent there.
- ``slow``: True when a few episodes take more than a few seconds (function approximation,
  stable-baselines3); its contract test is then marked ``slow``.
- ``wraps_learner``: True for a wrapper (the DMN) that builds a learner of its own and splits
  flat parameters between itself and that learner (so ``Config`` alone does not type them).
- ``supports_offline``: True when :meth:`Agent.learn_offline` is implemented (the DMN model
  can feed the agent vicarious experience); the contract tests check the declaration.

Every agent counts the value updates it makes in ``n_updates`` (online and offline), so that
the efficiency of planning schemes can be compared (Sutton & Barto 2018, Example 8.4).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from darkcontrol._util import build_config, make_rng
from darkcontrol.agents.policies import action_probs, entropy, entropy_list, sample_index
from darkcontrol.clock import OFFLINE_KINDS, Clock
from darkcontrol.trace import TraceRecorder

#: the clock an agent assumes when :meth:`Agent.offline` is called without one
DEFAULT_CLOCK = Clock()


@dataclass
class EpisodeLog:
    """Per-episode outcome: number of real steps and undiscounted return."""

    lengths: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)

    def as_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.lengths), np.asarray(self.returns)


def transition_fields(
    state: int,
    action: int,
    reward: float,
    next_state: int | None,
    terminated: bool | None,
    q: float,
    target: float,
    update_norm: float,
) -> dict[str, Any]:
    """The Trace fields of one value backup of (s, a, r, s'): q = Q(s, a) before it, the
    target y, rpe = y - q and the size of the update. ``next_state``/``terminated`` may be
    None where the backup has no single successor (expected backups)."""
    return {
        "state": state,
        "action": action,
        "reward": reward,
        "next_state": next_state,
        "terminated": None if terminated is None else bool(terminated),
        "q": q,
        "target": target,
        "rpe": target - q,
        "update_norm": update_norm,
    }


class Agent(ABC):
    """Base class: hyper-parameters, one RNG, one Trace recorder, the act/observe/plan loop."""

    name: ClassVar[str] = "agent"
    Config: ClassVar[type]
    nan_columns: ClassVar[tuple[str, ...]] = ()
    default_env: ClassVar[str | None] = None
    slow: ClassVar[bool] = False
    supports_offline: ClassVar[bool] = False
    wraps_learner: ClassVar[bool] = False

    def __init__(
        self,
        n_states: int,
        n_actions: int,
        config: Any = None,
        *,
        seed: int | np.random.Generator | None = None,
        recorder: TraceRecorder | None = None,
        mdp: Any = None,
        **params: Any,
    ) -> None:
        if int(n_states) < 1 or int(n_actions) < 1:
            raise ValueError(f"need n_states >= 1 and n_actions >= 1, got {n_states}, {n_actions}")
        self.n_states = int(n_states)
        self.n_actions = int(n_actions)
        if config is None or isinstance(config, Mapping):
            self.config = build_config(self.Config, config, **params)
        elif isinstance(config, self.Config):
            if params:
                self.config = build_config(self.Config, {**asdict(config), **params})
            else:
                self.config = config
        else:
            raise TypeError(f"config must be a {self.Config.__name__} or a dict, got {config!r}")
        self.seed = seed if isinstance(seed, (int, np.integer)) else None
        self.rng = make_rng(seed)
        self.recorder = recorder if recorder is not None else TraceRecorder()
        self.mdp = mdp
        self._last_probs: np.ndarray | None = None
        self._last_state: int | None = None
        self.n_updates = 0  # value updates made so far (online + offline)

    @classmethod
    def from_env(
        cls,
        env: Any,
        *,
        seed: int | np.random.Generator | None = None,
        recorder: TraceRecorder | None = None,
        **params: Any,
    ) -> Agent:
        """Build the agent for a Gymnasium env with Discrete observation and action spaces
        (its exact model ``env.unwrapped.mdp``, if any, is handed over as ``mdp``)."""
        import gymnasium as gym  # deferred: gymnasium is heavy and only needed here

        obs, act = env.observation_space, env.action_space
        if not isinstance(obs, gym.spaces.Discrete) or not isinstance(act, gym.spaces.Discrete):
            raise TypeError(
                f"{cls.name} needs Discrete observation and action spaces, got {obs} and {act}"
            )
        mdp = getattr(env.unwrapped, "mdp", None)
        return cls(int(obs.n), int(act.n), seed=seed, recorder=recorder, mdp=mdp, **params)

    # -- values and policy -------------------------------------------------------------------
    @abstractmethod
    def q_values(self) -> np.ndarray:
        """Current action values, shape (n_states, n_actions)."""

    def policy(self, state: int) -> np.ndarray:
        """pi(.|state) under the agent's behaviour policy."""
        cfg = self.config
        return action_probs(
            self.q_values()[state],
            getattr(cfg, "policy", "epsilon_greedy"),
            beta=getattr(cfg, "beta", 1.0),
            epsilon=getattr(cfg, "epsilon", 0.1),
        )

    def act(self, state: int) -> int:
        """Sample from pi(.|state); remember pi for ``choice_prob`` and ``policy_entropy``."""
        probs = self.policy(int(state))
        self._last_probs = probs
        self._last_state = int(state)
        # one uniform per choice, inverse CDF (the draw rng.choice(p=probs) makes, 20x cheaper)
        return sample_index(np.asarray(probs, dtype=np.float64).tolist(), self.rng.random())

    def choice_stats(self, state: int, action: int) -> dict[str, float]:
        """``choice_prob`` and ``policy_entropy`` of the last act() in ``state``."""
        if self._last_probs is None or self._last_state != int(state):
            probs = self.policy(int(state))
        else:
            probs = self._last_probs
        h = entropy_list(probs) if isinstance(probs, list) else float(entropy(probs))
        return {"choice_prob": float(probs[action]), "policy_entropy": h}

    # -- learning ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Called at the start of every episode (clear eligibility traces etc.)."""
        self._last_probs = None
        self._last_state = None

    @abstractmethod
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
        """Learn from one real transition and record one online Trace row.

        ``fields``: extra Trace values for the row (a wrapper's ``spe``, ``salience``...);
        the agent's own non-missing values win. ``info``: the environment's step info."""

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
        """One backup on a replayed / simulated / recombined transition (one offline row).

        This is the hook through which the DMN model feeds vicarious experience to any agent
        that declares ``supports_offline = True``. ``gamma``: the discount of this backup
        (None: the agent's ``config.gamma``); ``fields``: extra Trace values for the row."""
        raise NotImplementedError(f"agent {self.name!r} cannot learn from offline transitions")

    def plan(self, budget: int) -> int:
        """Learn offline for up to ``budget`` simulated steps; return how many were done.

        Agents without offline processing do nothing (this default)."""
        return 0

    @property
    def offline_budget(self) -> int:
        """Offline steps the agent takes after each real step when run on its own."""
        return 0

    def offline(self, seconds: float, *, kind: str = "iti", clock: Clock | None = None) -> int:
        """Process offline for a window of ``seconds`` handed over by the runner; returns the
        number of offline steps made (their rows start at the recorder's current time, spaced
        by ``clock.spacing``).

        The rule for plain agents: after a trial (``kind="iti"``) n = ``offline_budget`` steps
        (Dyna's n; the ITI's length does not matter); at rest (``kind="rest"``)
        n = offline_budget x floor(seconds / (trial_s + iti_s)), the task's rate."""
        n = self._offline_count(seconds, kind, clock)
        return self._plan_window(seconds, n, clock)

    def _offline_count(self, seconds: float, kind: str, clock: Clock | None) -> int:
        if kind not in OFFLINE_KINDS:
            raise ValueError(f"offline kind must be one of {OFFLINE_KINDS}, got {kind!r}")
        if not seconds >= 0:
            raise ValueError(f"an offline window lasts >= 0 s, got {seconds!r}")
        budget = self.offline_budget
        if kind == "iti" or not budget:
            return budget
        clock = DEFAULT_CLOCK if clock is None else clock
        return budget * math.floor(seconds / (clock.trial_s + clock.iti_s) + 1e-9)

    def _plan_window(self, seconds: float, n: int, clock: Clock | None) -> int:
        if n <= 0:
            return 0
        clock = DEFAULT_CLOCK if clock is None else clock
        self.recorder.offline_dt = clock.spacing(seconds, n)
        return int(self.plan(n))

    def counters(self) -> dict[str, float]:
        """Cumulative counts the runner differences per episode and per block."""
        return {"n_updates": self.n_updates}

    def stats_since(self, before: Mapping[str, float]) -> dict[str, float]:
        """What happened since ``before = self.counters()``: the differences of the counts."""
        return {k: v - before[k] for k, v in self.counters().items()}

    def describe(self) -> dict[str, Any]:
        """Name, hyper-parameters and seed, for the metadata of outputs."""
        return {"agent": self.name, "params": asdict(self.config), "seed": self.seed}
