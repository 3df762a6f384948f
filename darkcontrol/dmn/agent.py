"""The DMN process model: any agent, run online in the world and offline in its own head.

Dohmatob, Dumas & Bzdok (2020), "Dark control: The default mode network as a reinforcement
learning agent", Hum Brain Mapp 41(12):3318-3341. Their claim (§4, Figure 4): the DMN is an
agent that improves its policy pi(s) = argmax_a Q(s, a | theta) from value estimates refined by
*vicarious trial and error*, minimising

    L(theta) = E_{(s, a, r, s') ~ D} [ (Q(s, a | theta) - y)^2 / 2 ],
    y = r + gamma max_a' Q(s', a'),

over experience that is replayed (the hippocampus, §3.3), simulated and recombined (§4.3), with
the earlier accounts - predictive coding, semantic associations, the sentinel (§5) - as special
cases. :class:`DMNAgent` makes that runnable around any agent of :mod:`darkcontrol.agents`
that declares ``supports_offline`` (the agent owns theta and the update; the DMN decides what it
learns from and when). It is itself an :class:`darkcontrol.agents.Agent`, built by
``make_agent("dmn", env, agent="q_learning", account=...)`` and run by
:func:`darkcontrol.simulate` like any other:

- **online** (a trial): the agent acts, the world answers, the DMN's learned model scores the
  transition's surprise ``spe`` and the sentinel its ``salience`` (handed to the agent's
  Trace row as ``observe(..., fields=...)``), the hippocampal memory stores it, and the agent
  learns from it (``observe``);
- **offline** (inter-trial intervals and rest): for a window of T seconds the DMN makes
  floor(T * replay_hz * engagement) offline steps, each drawn from the mixture
  w_replay : w_model : w_recombined of
  replay of a stored transition (``source="replay"``), one step of a Monte Carlo rollout in the
  learned model (``"model"``), or a recombined never-experienced transition (``"recombined"``),
  and fed to the agent through ``agent.learn_offline`` (one offline Trace row each, spaced
  evenly over the window on the experiment's clock);
- a salient transition suspends the offline window that would follow it (the sentinel returns
  the agent to the world; :meth:`DMNAgent.offline` with ``kind="iti"`` is the window after a
  trial, ``kind="rest"`` a rest, backed up with ``rest_gamma`` if set); the sentinel's
  salience is relevance, surprise x stake (:mod:`darkcontrol.dmn.sentinel`); engagement is the
  share of capacity the agent allocates to offline computation, sigmoid(beta (V - D + bias)),
  the value of the best backup against the demand of attending to the world
  (:mod:`darkcontrol.dmn.allocation`; ``engagement="heuristic"``: the earlier rule 1 - recent
  mean spe), so offline processing grows as the world becomes predictable and drops with
  novelty, change and high stakes;
- a hippocampal lesion (``lesion="hippocampus"``) removes all offline processing: no replay and,
  since the hippocampus is needed to imagine new experiences too (Hassabis, Kumaran, Vann &
  Maguire 2007, PNAS), no model simulation and no recombination either; what is left is the
  agent learning from real experience only.

Issue 12 additions (paper section "Reinforcement learning control: a process model for DMN
function"; equations in the methods' docstrings and in ``darkcontrol/dmn/README.md``):

- **the paper's learner**: a wrapped agent with ``learn_offline_batch`` (``agent="replay_q"``)
  gets a minibatch of its ``batch_size`` memories from D per replay step and makes ONE SGD
  step on (1/K) sum_k (Q(s_k, a_k | theta) - y_k)^2 / 2 (:meth:`DMNAgent._replay_batch`), so
  PMC (||delta theta||) and rTPJ (|mean_k delta_k|) are distinct signals;
- **graded, compute-matched lesions**: ``lesion_strength`` lam scales memory capacity,
  replay rate and replay fidelity by 1 - lam; ``lesion_control`` makes the backups the
  lesion removed from the intact budget without the hippocampus (:meth:`_control_backups`);
- **decision-time Monte Carlo evaluation**: ``decision_rollouts`` K rollouts of depth
  ``decision_depth`` per candidate action in the learned model before each choice
  (:meth:`DMNAgent._decide`), recorded as offline rows with ``purpose="decision"``.

Each offline step costs O(1) Python work (a few O(S) or O(A) numpy reads for rollouts and
recombination; prioritised replay redraws a chunk of 64 memories in O(|D|) numpy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from darkcontrol.agents.base import DEFAULT_CLOCK, Agent
from darkcontrol.agents.model import WorldModel
from darkcontrol.agents.registry import agent_class, make_agent
from darkcontrol.clock import OFFLINE_KINDS, Clock
from darkcontrol.constants import OFFLINE_SOURCES
from darkcontrol.dmn.allocation import Allocator
from darkcontrol.dmn.association import AssociationGraph
from darkcontrol.dmn.config import DMNConfig, split_params
from darkcontrol.dmn.memory import ExperienceMemory
from darkcontrol.dmn.recombine import Recombiner
from darkcontrol.dmn.sentinel import Sentinel
from darkcontrol.trace import TraceRecorder


class DMNAgent(Agent):
    """The DMN as a reinforcement-learning agent (Dohmatob, Dumas & Bzdok 2020, §4-§5).

    An :class:`~darkcontrol.agents.Agent` wrapping another one. Trace: the wrapped agent's
    columns, with ``spe`` filled by the DMN's world model (online and offline) and
    ``salience`` by the sentinel (NaN when the sentinel is off); ``engagement`` is an extra
    column of online rows, with ``allocation, demand, uncertainty, stake, voc`` under
    ``engagement="allocation"`` (:class:`darkcontrol.dmn.allocation.Allocation`).

    Parameters
    ----------
    agent : str | Agent
        The learner that owns the values: a registry name (``"q_learning"``, ``"dyna_q"``, ...)
        built for ``env``, or an Agent instance (its recorder is used).
    env : gymnasium.Env, optional
        Needed to build an agent by name; its ``unwrapped.mdp.coords`` are the state features
        for analogical recombination.
    account : str
        Preset of :data:`darkcontrol.dmn.config.ACCOUNTS`: "full", "predictive_coding",
        "semantic" or "sentinel".
    config : DMNConfig | dict, optional
        Complete DMN configuration (then ``account`` and DMN keys in ``params`` must be absent).
    seed : int, optional
        Seeds the agent, the memory and the DMN's own generator (one stream each).
    recorder : TraceRecorder, optional
    features : array (S, d) | str, optional
        State features for the oracle ``recombine="oracle_analogy"`` (default: the MDP's coords);
        refused for the learned modes. A string is the wrapped learner's ``features``
        (``agent="replay_q", features="onehot"|"tiles"``), as ``agent_features=`` would be.
    agent_params : dict, optional
        The agent's hyper-parameters.
    **params
        Flat parameters split by :func:`darkcontrol.dmn.config.split_params`: DMNConfig
        fields go to the DMN, ``agent_``-prefixed keys and the agent's config fields go to the
        agent; anything else is an error.
    """

    name = "dmn"
    wraps_learner = True
    Config = DMNConfig
    supports_offline = True

    def __init__(
        self,
        agent: str | Agent = "q_learning",
        env: Any = None,
        *,
        account: str | None = None,
        config: DMNConfig | Mapping[str, Any] | None = None,
        seed: int | None = None,
        recorder: TraceRecorder | None = None,
        features: np.ndarray | None = None,
        agent_params: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> None:
        agent_cls = _agent_class(agent)
        if isinstance(features, str):  # a name: the learner's features (replay_q's x(s))
            params = {**params, "agent_features": features}
            features = None
        dmn_params, flat_agent_params = split_params(params, getattr(agent_cls, "Config", None))
        self.config = _build_config(account, config, dmn_params)
        cfg = self.config
        seeds = np.random.SeedSequence(seed).spawn(3)
        agent_seed, memory_seed, own_seed = (int(s.generate_state(1)[0]) for s in seeds)
        self.seed = seed
        self.rng = np.random.default_rng(own_seed)
        a_params = {**dict(agent_params or {}), **flat_agent_params}
        if isinstance(agent, Agent):
            if a_params:
                raise ValueError(
                    f"agent parameters {sorted(a_params)} given for an agent instance; set them "
                    "when building the agent"
                )
            if recorder is not None and recorder is not agent.recorder:
                raise ValueError("the agent instance records into another recorder than recorder=")
            self.agent = agent
        else:
            if env is None:
                raise ValueError(f"building agent {agent!r} by name needs env=")
            if agent == self.name:
                raise ValueError("the DMN wraps a learner, not another DMN")
            self.agent = make_agent(
                agent,
                env,
                seed=agent_seed,
                recorder=recorder if recorder is not None else TraceRecorder(),
                **a_params,
            )
        self.recorder: TraceRecorder = self.agent.recorder
        S, A = self.agent.n_states, self.agent.n_actions
        self.n_states, self.n_actions = S, A
        self.mdp = self.agent.mdp
        self.gamma = getattr(self.agent.config, "gamma", None)
        if cfg.rest_gamma is not None and self.gamma is None:
            raise ValueError(
                f"rest_gamma={cfg.rest_gamma} needs an agent with a discount factor; "
                f"{self.agent.name!r} has no gamma"
            )
        if self.gamma is None and (cfg.w_rpe > 0 or cfg.replay_priority == "prioritised"):
            raise ValueError(
                f"agent {self.agent.name!r} has no gamma; w_rpe > 0 and prioritised replay need "
                "the agent's discount to score prediction errors"
            )
        if cfg.rest_gamma is not None and cfg.use_agent_planner:
            raise ValueError(
                "rest_gamma sets the discount of the DMN's own offline backups; the agent's own "
                "planner (use_agent_planner=True) plans with its own gamma: set one of them"
            )
        # an agent without learn_offline (the belief agent) can still be the DMN's learner
        # when its own planner is the only offline source (it replays what it stored itself)
        planner_only = cfg.use_agent_planner and cfg.w_replay == 0 and cfg.w_recombined == 0
        if cfg.offline_enabled and not self.agent.supports_offline and not planner_only:
            raise TypeError(
                f"agent {self.agent.name!r} does not implement learn_offline, so the DMN cannot "
                "feed it offline experience; use an agent that does (e.g. q_learning), "
                "lesion='hippocampus', or its own planner only (use_agent_planner=True, "
                "w_replay=0, w_recombined=0)"
            )
        # the DMN's own knowledge of the world (paper Figure 4: left TPJ, hippocampus)
        self.model = WorldModel(S, A)
        self.memory = ExperienceMemory(
            _lesioned_capacity(cfg),
            prioritised=cfg.replay_priority == "prioritised",
            exponent=cfg.priority_exponent,
            seed=memory_seed,
        )
        self.association = AssociationGraph(
            S, cfg.association, sr_gamma=cfg.sr_gamma, sr_alpha=cfg.sr_alpha
        )
        self.sentinel = Sentinel(
            enabled=cfg.sentinel,
            salience=cfg.salience,
            threshold=cfg.salience_threshold,
            w_spe=cfg.w_spe,
            w_rpe=cfg.w_rpe,
            w_value=cfg.w_value,
            value_scale=cfg.value_scale,
            engagement="constant" if cfg.engagement == "constant" else "heuristic",
            spe_rate=cfg.spe_rate,
            min_engagement=cfg.min_engagement,
        )
        self.allocator: Allocator | None = None
        if cfg.engagement == "allocation" and cfg.offline_enabled:
            if self.gamma is None:
                raise ValueError(
                    f"engagement='allocation' needs an agent with a discount factor; "
                    f"{self.agent.name!r} has no gamma (use engagement='heuristic')"
                )
            self.allocator = Allocator(
                S, A, cfg.allocation_config(), rng=np.random.default_rng(seeds[2].spawn(1)[0])
            )
        self.recombine_mode = cfg.recombine
        self.features = None
        if cfg.recombine == "oracle_analogy" and cfg.w_recombined > 0:
            # the oracle baseline: the world's true coordinates, never learnt by the agent
            if features is None:
                mdp = getattr(getattr(env, "unwrapped", None), "mdp", None) or self.agent.mdp
                features = getattr(mdp, "coords", None)
            if features is None:
                raise ValueError(
                    "recombine='oracle_analogy' reads the world's coordinates (mdp.coords) or "
                    "features=; this world has none: use recombine='stitch'"
                )
            self.features = np.asarray(features, dtype=np.float64)
        elif features is not None:
            raise ValueError(
                f"features= is for recombine='oracle_analogy' only, got recombine="
                f"{cfg.recombine!r} (which learns from experience)"
            )
        self.recombiner = (
            Recombiner(
                self.model,
                "analogy" if cfg.recombine == "oracle_analogy" else cfg.recombine,
                features=self.features,
                association=self.association,
                rng=self.rng,
                noise=cfg.recombine_noise,
            )
            if cfg.w_recombined > 0
            else None
        )
        w = np.array([cfg.w_replay, cfg.w_model, cfg.w_recombined], dtype=np.float64)
        self._cum = np.cumsum(w / w.sum()) if w.sum() > 0 else np.array([1.0, 1.0, 1.0])
        self._u = self.rng.random(256)
        self._upos = 0
        self._carry = 0.0
        self._roll_s: int | None = None
        self._roll_left = 0
        self.changes: dict[str, list] | None = (
            {k: [] for k in ("time", "phase", "source", "state", "value_change", "policy_change")}
            if cfg.record_changes
            else None
        )
        self.last_salient = False
        self.last_salience = float("nan")
        self._last_state = 0  # where the agent last arrived (the need of a rest allocation)
        # counters (cumulative; runners take differences)
        self.n_online = 0
        self.n_offline = dict.fromkeys(OFFLINE_SOURCES, 0)
        self.n_planner = 0  # offline steps done by the agent's own plan()
        self.n_suspended = 0  # offline windows suspended by a salient event
        self.n_recombine_failed = 0  # recombination steps that found no gap (replayed instead)
        self.n_reconsolidated = 0  # (s, a) pairs whose memories were rewritten
        self.spe_sum = 0.0
        self.arrivals = np.zeros(S, dtype=np.int64)  # real arrivals in each state
        self._init_learner_lesion_decision()

    def _init_learner_lesion_decision(self) -> None:
        """The batch learner, graded lesion and decision-time evaluation (issue 12, items 3, 5
        and 6): what they need of the wrapped agent, checked before any work starts."""
        cfg = self.config
        # item 3: an agent that declares batch learning gets minibatches from the memory D
        self._learn_batch = getattr(self.agent, "learn_offline_batch", None)
        self.batch_size = 1
        if self._learn_batch is not None:
            k = getattr(self.agent.config, "batch_size", None)
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
                raise ValueError(
                    f"agent {self.agent.name!r} learns offline from minibatches but its "
                    f"config has no batch_size >= 1 (got {k!r})"
                )
            self.batch_size = int(k)
        if self._learn_batch is not None and cfg.record_changes:
            raise ValueError(
                f"record_changes logs the change of one state per backup; agent "
                f"{self.agent.name!r} learns offline from minibatches of {self.batch_size}: "
                "use record_changes=False"
            )
        # item 5: graded lesion (fidelity) and its compute-matched control
        self._noise = cfg.lesion_level if cfg.offline_enabled else 0.0
        if cfg.lesion_control != "none" and not self.agent.supports_offline:
            raise TypeError(
                f"lesion_control={cfg.lesion_control!r} feeds extra backups through "
                f"learn_offline, which agent {self.agent.name!r} does not implement"
            )
        self._carry_intact = 0.0
        self._last_real: tuple[int, int, float, int, bool] | None = None
        self.n_control = 0  # compute-matched control backups (lesion_control)
        # item 6: decision-time Monte Carlo evaluation
        self.decision_k = round((1.0 - cfg.lesion_level) * cfg.decision_rollouts)
        if cfg.decision_rollouts and self.gamma is None:
            raise ValueError(
                f"decision_rollouts={cfg.decision_rollouts} discounts rollout returns with the "
                f"agent's gamma; agent {self.agent.name!r} has none"
            )
        self.n_decision = 0  # decision-time rollouts made
        self.decision_values: np.ndarray | None = None  # Qbar of the last evaluated choice
        # offline rows say what they are for once decisions or controls make rows of
        # another purpose: "learning" | "decision" | "control"
        self._purpose = cfg.decision_rollouts > 0 or cfg.lesion_control != "none"

    # -- the agent's face --------------------------------------------------------------------
    @classmethod
    def from_env(
        cls,
        env: Any,
        *,
        seed: int | np.random.Generator | None = None,
        recorder: TraceRecorder | None = None,
        **params: Any,
    ) -> DMNAgent:
        """``make_agent("dmn", env, agent="q_learning", account="full", **params)``."""
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"the DMN is seeded by an int (or None), got {type(seed).__name__}")
        agent = params.pop("agent", "q_learning")
        return cls(agent, env, seed=seed, recorder=recorder, **params)

    @property
    def label(self) -> str:
        """``dmn[account](agent)``, for progress bars and messages."""
        return f"dmn[{self.config.account}]({self.agent.name})"

    @property
    def nan_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        """The wrapped agent's, less ``spe`` (the DMN's model fills it) and ``salience``
        (filled when the sentinel is on)."""
        filled = {"spe", "salience"} if self.sentinel.enabled else {"spe"}
        return tuple(c for c in self.agent.nan_columns if c not in filled) + (
            () if self.sentinel.enabled else ("salience",)
        )

    @property
    def n_updates(self) -> int:  # type: ignore[override]
        return self.agent.n_updates

    @property
    def offline_budget(self) -> int:
        """Offline steps in one ITI of the default clock at full engagement (0 when offline
        processing is off; (1 - lam) of it under a lesion of strength lam, all of it with a
        compute-matched control): the DMN's budget scales with the window, see
        :meth:`offline`."""
        cfg = self.config
        if cfg.lesion_control != "none":  # compute-matched: the intact budget
            return int(cfg.replay_hz * DEFAULT_CLOCK.iti_s)
        if not cfg.offline_enabled:
            return 0
        return int(cfg.replay_hz * (1.0 - cfg.lesion_level) * DEFAULT_CLOCK.iti_s)

    @property
    def engagement(self) -> float:
        """Current share of the replay budget the DMN uses, in [0, 1]: the allocator's share
        (``engagement="allocation"``, :mod:`darkcontrol.dmn.allocation`; 0 before the first
        step) or the sentinel's heuristic / constant rule."""
        if not self.config.offline_enabled:
            return 0.0
        if self.allocator is not None:
            share = self.allocator.last.share
            return 0.0 if share != share else share
        return self.sentinel.engagement

    def q_values(self) -> np.ndarray:
        return self.agent.q_values()

    def policy(self, state: int) -> np.ndarray:
        return self.agent.policy(state)

    def act(self, state: int) -> int:
        """The agent's choice, or, with ``decision_rollouts`` K > 0, the choice of a
        decision-time Monte Carlo evaluation in the learned model (:meth:`_decide`)."""
        if self.decision_k and self.model.visits[int(state)].any():
            return self._decide(int(state))
        return self.agent.act(state)

    # -- decision-time Monte Carlo evaluation (issue 12 item 6) ---------------------------------
    def _decide(self, s: int) -> int:
        """Evaluate every candidate action of ``s`` by K rollouts in the learned model, choose.

        Paper section "Reinforcement learning control: a process model for DMN function" (the
        hippocampus' Monte Carlo simulation of trajectories to evaluate candidate actions,
        i.e. tree search at decision time). For a candidate a tried in s, rollout k draws
        (r_1, s_1) ~ P_hat(. | s, a), then follows the agent's policy pi (restricted to the
        actions the model has seen in each state) for at most d - 1 more model steps:

            G_k(a) = sum_{i=1..n} gamma^(i-1) r_i + gamma^n max_a' Q(s_n, a')   (n <= d),

        the bootstrap term absent when s_n is terminal; a rollout also stops (and
        bootstraps) in a state where the model has seen no action. The evaluation is
        Qbar(a) = mean_k G_k(a) (an untried a keeps its cached Q(s, a)); the choice is
        greedy, argmax_a Qbar(a) with ties broken uniformly, or softmax,
        P(a) ~ exp(decision_beta Qbar(a)) (``decision_choice``). choice_prob and
        policy_entropy of the online row are those of this choice rule. Each rollout is one
        offline Trace row at the trial's onset (the clock does not move), ``source="model"``,
        ``purpose="decision"``: state s, action a, reward r_1, next_state s_1, terminated
        (the rollout ended in a terminal state), q = Q(s, a), target = G_k(a),
        rpe = G_k(a) - Q(s, a), update_norm = 0 (evaluation changes no theta), and extra
        column ``rollout_steps`` = n. Rollouts are not learning: ``n_offline`` does not
        count them (``n_decision`` does)."""
        cfg, m, rng = self.config, self.model, self.rng
        Q = self.agent.q_values()
        g = float(self.gamma)
        values = Q[s].astype(np.float64).copy()
        rec = self.recorder
        t0, dt = rec.time, rec.offline_dt
        rec.offline_dt = 0.0
        fields = {"purpose": "decision", "spe": float("nan")}
        tried_s = np.flatnonzero(m.visits[s] > 0).tolist()
        for a in tried_s:
            total = 0.0
            for _ in range(self.decision_k):
                G, disc, x, b, n = 0.0, 1.0, s, a, 0
                first = None
                while True:
                    r, x2, t = m.sample(x, b, rng)
                    n += 1
                    G += disc * r
                    disc *= g
                    if first is None:
                        first = (r, x2, t)
                    if t:
                        break
                    x = x2
                    tried = np.flatnonzero(m.visits[x] > 0).tolist()
                    if n >= cfg.decision_depth or not tried:
                        G += disc * float(Q[x].max())
                        break
                    p = np.asarray(self.agent.policy(x), dtype=np.float64)[tried]
                    if not p.sum() > 0:  # pi puts no mass on what the model can simulate
                        p = np.ones(len(tried))
                    u = rng.random() * float(p.sum())
                    b = tried[min(int(np.searchsorted(np.cumsum(p), u, side="right")), len(p) - 1)]
                total += G
                q = float(Q[s, a])
                rec.offline(
                    "model",
                    fields,
                    state=s,
                    action=a,
                    reward=float(first[0]),
                    next_state=int(first[1]),
                    terminated=bool(t),
                    q=q,
                    target=G,
                    rpe=G - q,
                    update_norm=0.0,
                    rollout_steps=n,
                )
                self.n_decision += 1
            values[a] = total / self.decision_k
        rec.time, rec.offline_dt = t0, dt
        if cfg.decision_choice == "greedy":
            best = np.flatnonzero(values == values.max())
            probs = np.zeros(self.n_actions)
            probs[best] = 1.0 / len(best)
        else:
            z = cfg.decision_beta * (values - values.max())
            probs = np.exp(z) / np.exp(z).sum()
        action = int(
            min(np.searchsorted(np.cumsum(probs), rng.random(), side="right"), len(probs) - 1)
        )
        # the online row's choice_prob / policy_entropy are of this choice (Agent.choice_stats)
        self.agent._last_probs, self.agent._last_state = probs, s
        self.decision_values = values
        return action

    def choice_stats(self, state: int, action: int) -> dict[str, float]:
        return self.agent.choice_stats(state, action)

    def reset(self) -> None:
        """Start of an episode: the agent's reset; imagined rollouts restart too."""
        self.agent.reset()
        self._roll_s, self._roll_left = None, 0

    def describe(self) -> dict[str, Any]:
        return {
            "agent": self.name,
            "dmn": self.config.to_dict(),
            "recombine_mode": self.recombine_mode,
            "learner": self.agent.describe(),
            "seed": self.seed,
        }

    def counters(self) -> dict[str, float]:
        """Cumulative counts: online steps, offline steps per source, suspensions, ..."""
        out: dict[str, float] = {"n_online": self.n_online}
        for src in OFFLINE_SOURCES:
            out[f"n_{src}"] = self.n_offline[src]
        out["n_planner"] = self.n_planner
        out["n_control"] = self.n_control
        out["n_offline"] = sum(self.n_offline.values()) + self.n_planner + self.n_control
        out["n_decision"] = self.n_decision
        out["n_suspended"] = self.n_suspended
        out["n_recombine_failed"] = self.n_recombine_failed
        out["n_reconsolidated"] = self.n_reconsolidated
        out["spe_sum"] = self.spe_sum
        return out

    # -- online: one trial in the world ------------------------------------------------------
    def observe(
        self,
        s: int,
        a: int,
        r: float,
        s2: int,
        terminated: bool,
        truncated: bool = False,
        *,
        fields: Mapping[str, Any] | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        """Learn from a real transition; a salient one (``last_salient``) suspends the ITI that
        follows. ``info["cue"]``, if any, becomes a Trace column."""
        cfg, m = self.config, self.model
        spe = m.spe(s, a, s2)
        if cfg.reconsolidate:
            self._reconsolidate(s, a, r, s2, terminated)
        else:
            m.update(s, a, r, s2, terminated)
        self.arrivals[s2] += 1
        self.memory.add(s, a, r, s2, terminated)
        self._last_real = (s, a, r, s2, terminated)
        self.association.update(s, s2, terminated)
        if self.recombiner is not None:
            self.recombiner.observe(s, a, r, s2, terminated)
        self.sentinel.observe_spe(spe)
        self.spe_sum += spe
        sal = float("nan")
        if self.sentinel.enabled:
            Q = self.agent.q_values()
            if cfg.salience == "relevance":
                # what is at stake in the state reached, weighted by surprise
                stake = self.sentinel.stake(m, Q, s2, self.gamma or 0.0, terminated)
                sal = self.sentinel.salience(spe, stake=stake)
            else:
                abs_rpe = abs_value = 0.0
                if cfg.w_rpe or cfg.w_value:
                    q2 = Q[s2]
                    # the cue value: the spread of Q(s', .) as it stands (or the reward)
                    abs_value = abs(r) if terminated else max(abs(r), float(q2.max() - q2.min()))
                    if cfg.w_rpe:
                        v2 = 0.0 if terminated else float(q2.max())
                        abs_rpe = abs(r + self.gamma * v2 - float(Q[s, a]))
                sal = self.sentinel.salience(spe, abs_rpe, abs_value)
        salient = self.sentinel.is_salient(sal)
        ctx: dict[str, Any] = {"spe": spe, "salience": sal}
        self._last_state = s2
        if self.allocator is not None:
            self.allocator.observe(s, a, r, s2, terminated)
            alloc = self.allocator.allocate(
                s2,
                self.agent.q_values(),
                self.agent.policy(s2),
                self.memory,
                self.gamma,
                idle=terminated,
            )
            ctx.update(alloc._asdict())
            ctx["allocation"] = ctx.pop("share")
        ctx["engagement"] = self.engagement
        if info and "cue" in info:
            ctx["cue"] = info["cue"]
        if fields:
            ctx.update(fields)
        if self.changes is not None:
            before = self._snapshot(s)
            t = self.recorder.time
        self.agent.observe(s, a, r, s2, terminated, truncated, fields=ctx, info=info)
        if self.changes is not None:
            self._log_change(t, "online", "env", s, before)
        self.n_online += 1
        self.last_salient, self.last_salience = salient, sal

    def _reconsolidate(self, s: int, a: int, r: float, s2: int, terminated: bool) -> None:
        """Update the model with a real transition, rewriting what a violated sure
        prediction said: (a) (s, a) tried ``reconsolidate_after`` times always led to one
        state and now leads to another (a wall appeared or vanished): the model and the
        memories of (s, a) keep only the new outcome; (b) a place reached that often changed
        its terminal status (the goal moved): every memory of arriving there, and the model's
        rewards of arriving there, take the new reward and terminal flag."""
        m, k = self.model, self.config.reconsolidate_after
        succ = m.successors(s, a)
        if m.total[s, a] >= k and len(succ) == 1 and s2 not in succ:
            m.update(s, a, r, s2, terminated, mode="last")
            self.memory.reconsolidate(s, a, r, s2, terminated)
            self.n_reconsolidated += 1
        else:
            m.update(s, a, r, s2, terminated)
        if self.arrivals[s2] >= k and bool(m.terminal[s2]) != terminated:
            m.terminal[s2] = terminated
            for p, b in m.predecessor_pairs(s2):
                m.reward_sum[p, b, s2] = r * m.counts[p, b, s2]
            self.memory.rewrite_arrivals(s2, r, terminated)
            if self.recombiner is not None:
                self.recombiner.arrive_sum[s2] = r * self.recombiner.arrive_n[s2]
                self.recombiner.refresh(s2)
            self.n_reconsolidated += 1

    # -- offline: vicarious trial and error ----------------------------------------------------
    def offline(self, seconds: float, *, kind: str = "iti", clock: Clock | None = None) -> int:
        """Process offline for a window of ``seconds``; returns the number of offline steps.

        n = floor(seconds * replay_hz * engagement) steps (fractions carry over to the next
        window), placed from the recorder's current time by ``clock.spacing`` (evenly over
        the window by default); nothing without a memory. ``kind="iti"``: the window after a
        trial, suspended (0 steps, counted in ``n_suspended``) if that trial was salient;
        ``kind="rest"``: a rest, whose backups use ``rest_gamma`` (if set) as their
        discount (DESIGN: a shorter horizon on task than at rest)."""
        if kind not in OFFLINE_KINDS:
            raise ValueError(f"offline kind must be one of {OFFLINE_KINDS}, got {kind!r}")
        if not seconds >= 0:
            raise ValueError(f"an offline window lasts >= 0 s, got {seconds!r}")
        if kind == "iti" and self.last_salient:
            self.n_suspended += 1
            return 0
        cfg = self.config
        if seconds == 0 or len(self.memory) == 0:
            return 0
        if kind == "rest" and self.allocator is not None:
            # at rest no action is required: the allocation without attention demand
            q, at = self.agent.q_values(), self._last_state
            self.allocator.allocate(at, q, None, self.memory, self.gamma, idle=True)
        n = 0
        if cfg.offline_enabled:  # a lesion of strength lam keeps (1 - lam) of the rate
            x = seconds * cfg.replay_hz * (1.0 - cfg.lesion_level) * self.engagement
            x += self._carry
            n = int(x)
            self._carry = x - n
        n_control = self._control_count(seconds, n)
        if n + n_control == 0:
            return 0
        spacing = (DEFAULT_CLOCK if clock is None else clock).spacing(seconds, n + n_control)
        self.recorder.offline_dt = spacing
        gamma = cfg.rest_gamma if kind == "rest" else None
        gamma = None if gamma is None else float(gamma)
        done = self._offline_steps(n, gamma) if n else 0
        return done + self._control_backups(n_control, gamma)

    # -- graded lesion: the compute-matched control (issue 12 item 5) --------------------------
    def _control_count(self, seconds: float, n: int) -> int:
        """Backups the intact agent's budget would make in this window, floor(T replay_hz
        engagement) (its own fractional carry), less the ``n`` the lesioned DMN makes."""
        if self.config.lesion_control == "none":
            return 0
        x = seconds * self.config.replay_hz * self.sentinel.engagement + self._carry_intact
        n_intact = int(x)
        self._carry_intact = x - n_intact
        return max(0, n_intact - n)

    def _control_backups(self, n: int, gamma: float | None) -> int:
        """``n`` compute-matched backups without the hippocampus (one ``learn_offline`` each,
        ``purpose="control"``): ``"real_passes"`` re-learns the last real transition
        (``source="replay"``: a memory of one item, rehearsed); ``"random_backups"`` backs
        up (s, a) drawn uniformly from the pairs the DMN's world model has seen, with an
        outcome sampled from the model (``source="model"``: Dyna-Q's random-sample
        planning, Sutton 1991, not hippocampal replay)."""
        if n <= 0 or self._last_real is None:
            return 0
        fields = {"purpose": "control"}
        if self.config.lesion_control == "real_passes":
            for _ in range(n):
                self._learn(*self._last_real, "replay", gamma, fields, count=False)
        else:
            m = self.model
            pairs = np.flatnonzero(m.visits.ravel() > 0)
            for k in self.rng.integers(0, len(pairs), size=n).tolist():
                s, a = divmod(int(pairs[k]), self.n_actions)
                r, s2, t = m.sample(s, a, self.rng)
                self._learn(s, a, r, s2, t, "model", gamma, fields, count=False)
        self.n_control += n
        return n

    def plan(self, budget: int) -> int:
        """``budget`` offline steps from the source mixture (no clock, no engagement)."""
        return self._offline_steps(int(budget), None)

    def learn_offline(
        self,
        s: int,
        a: int,
        r: float,
        s2: int,
        terminated: bool,
        *,
        source: str = "replay",
        gamma: float | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        """Feed one vicarious transition to the agent, scored by the DMN's model (``spe``)."""
        self._learn(int(s), int(a), float(r), int(s2), bool(terminated), source, gamma, fields)

    def _offline_steps(self, n: int, gamma: float | None) -> int:
        """Make ``n`` offline steps from the source mixture; returns how many were made.
        ``gamma``: the discount of the backups (None: the agent's own)."""
        if not self.config.offline_enabled or len(self.memory) == 0 or n <= 0:
            return 0
        c_replay, c_model = self._cum[0], self._cum[1]
        use_planner = self.config.use_agent_planner
        n_plan = 0
        for _ in range(n):
            u = self._rand()
            if u < c_replay:
                self._replay(gamma)
            elif u < c_model:
                if use_planner:
                    n_plan += 1
                else:
                    self._simulate(gamma)
            else:
                self._recombine(gamma)
        if n_plan:
            done = self.agent.plan(n_plan)
            self.n_planner += int(done)
            return n - n_plan + int(done)
        return n

    def _rand(self) -> float:
        if self._upos >= len(self._u):
            self._u = self.rng.random(256)
            self._upos = 0
        u = self._u[self._upos]
        self._upos += 1
        return u

    def _learn(
        self,
        s: int,
        a: int,
        r: float,
        s2: int,
        t: bool,
        source: str,
        gamma: float | None = None,
        fields: Mapping[str, Any] | None = None,
        count: bool = True,
    ) -> None:
        ctx = {"spe": self.model.spe(s, a, s2), **(fields or {})}
        if self._purpose:
            ctx.setdefault("purpose", "learning")
        if self.changes is not None:
            before, time = self._snapshot(s), self.recorder.time
        self.agent.learn_offline(s, a, r, s2, t, source=source, gamma=gamma, fields=ctx)
        if self.changes is not None:
            self._log_change(time, "offline", source, s, before)
        if count:
            self.n_offline[source] += 1

    def _recall(self, i: int) -> tuple[int, int, float, int, bool]:
        """Memory ``i`` as replayed: under a lesion of strength lam, with probability lam its
        outcome (r, s', terminated) is that of another random memory (a confabulation: the
        replay's fidelity is 1 - lam)."""
        s, a, r, s2, t = self.memory.get(i)
        if self._noise and self._rand() < self._noise:
            _, _, r, s2, t = self.memory.get(self.memory.sample())
        return s, a, r, s2, t

    def _replay_batch(self, gamma: float | None) -> None:
        """One replay step of a batch learner: K = ``batch_size`` memories drawn from D
        (uniform or prioritised, with replacement), ONE SGD step on
        (1/K) sum_k 1/2 (Q(s_k, a_k | theta) - y_k)^2 (the agent's ``learn_offline_batch``),
        one offline row: PMC's ``update_norm`` = ||delta theta|| of that step, ``rpe`` the
        batch mean of y_k - Q(s_k, a_k) (rTPJ = its absolute value), ``abs_rpe`` the mean of
        |y_k - Q(s_k, a_k)|, ``spe`` the batch mean of the model's surprise."""
        mem = self.memory
        idx = [mem.sample() for _ in range(self.batch_size)]
        s, a, r, s2, t = (list(c) for c in zip(*(self._recall(i) for i in idx)))
        spe = self.model.spe
        ctx: dict[str, Any] = {"spe": float(np.mean([spe(*x) for x in zip(s, a, s2)]))}
        if self._purpose:
            ctx["purpose"] = "learning"
        batch = {"states": s, "actions": a, "rewards": r, "next_states": s2, "terminated": t}
        res = self._learn_batch(batch, source="replay", gamma=gamma, fields=ctx)
        if mem.prioritised:
            for i, d in zip(idx, res.rpe.tolist()):
                mem.set_priority(i, d)
        self.n_offline["replay"] += 1

    def _replay(self, gamma: float | None = None) -> None:
        if self._learn_batch is not None:
            self._replay_batch(gamma)
            return
        mem = self.memory
        i = mem.sample()
        s, a, r, s2, t = self._recall(i)
        if mem.prioritised:
            Q = self.agent.q_values()
            g = self.gamma if gamma is None else gamma
            y = r if t else r + g * float(Q[s2].max())
            mem.set_priority(i, y - float(Q[s, a]))
        self._learn(s, a, r, s2, t, "replay", gamma)

    def _simulate(self, gamma: float | None = None) -> None:
        """One step of a Monte Carlo rollout of the agent's policy in the learned model."""
        m = self.model
        for _ in range(2):
            if self._roll_s is None or self._roll_left <= 0:
                self._roll_s = int(self.memory.states[self.memory.sample()])
                self._roll_left = self.config.rollout_length
            s = self._roll_s
            tried = [a for a, n in enumerate(m.visits[s].tolist()) if n]
            if tried:
                break
            self._roll_s = None  # a dead end of the model: restart from a remembered state
        # the agent's policy restricted to the actions the model can simulate
        probs = self.agent.policy(s).tolist()
        p = [probs[a] for a in tried]
        u = self._rand() * sum(p)
        a = tried[-1]
        for k, pk in enumerate(p):
            u -= pk
            if u < 0.0:
                a = tried[k]
                break
        r, s2, t = m.sample(s, a, self.rng)
        self._learn(s, a, r, s2, t, "model", gamma)
        self._roll_left -= 1
        self._roll_s = None if t else s2

    def _recombine(self, gamma: float | None = None) -> None:
        built = self.recombiner.sample(self.memory) if self.recombiner is not None else None
        if built is None:
            # nothing left to recombine (no gap of experience or no destination): replay
            self.n_recombine_failed += 1
            self._replay(gamma)
            return
        self._learn(*built, "recombined", gamma)

    # -- value and policy change log (record_changes) ------------------------------------------
    def _snapshot(self, s: int) -> tuple[float, np.ndarray]:
        return float(self.agent.q_values()[s].max()), self.agent.policy(s).copy()

    def _log_change(self, time: float, phase: str, source: str, s: int, before) -> None:
        v_before, p_before = before
        v_after, p_after = self._snapshot(s)
        log = self.changes
        log["time"].append(time)
        log["phase"].append(phase)
        log["source"].append(source)
        log["state"].append(s)
        log["value_change"].append(v_after - v_before)
        log["policy_change"].append(0.5 * float(np.abs(p_after - p_before).sum()))

    def change_log(self):
        """value_change (Delta max_a Q(s, .)) and policy_change (total variation of pi(.|s))
        of every update, with its time, phase and source (needs ``record_changes=True``)."""
        import pandas as pd

        if self.changes is None:
            raise ValueError("build the DMNAgent with record_changes=True to log changes")
        return pd.DataFrame(self.changes)

    def stats_since(self, before: Mapping[str, float]) -> dict[str, float]:
        """Counts since ``before = self.counters()``, with ``mean_spe``, ``offline_share`` and
        the current ``engagement``."""
        return _difference(self.counters(), dict(before), self.engagement)


def _lesioned_capacity(cfg: DMNConfig) -> int:
    """The hippocampal memory's capacity under a lesion of strength lam:
    max(1, round((1 - lam) memory_size))."""
    lam = cfg.lesion_level
    return max(1, round((1.0 - lam) * cfg.memory_size)) if lam else cfg.memory_size


def _difference(after: dict, before: dict, engagement: float) -> dict[str, float]:
    out = {k: after[k] - before[k] for k in after}
    spe_sum = out.pop("spe_sum")
    out["mean_spe"] = spe_sum / out["n_online"] if out["n_online"] else float("nan")
    total = out["n_online"] + out["n_offline"]
    out["offline_share"] = out["n_offline"] / total if total else float("nan")
    out["engagement"] = engagement
    return out


def _agent_class(agent: str | Agent) -> type | None:
    if isinstance(agent, Agent):
        return type(agent)
    if isinstance(agent, str):
        return agent_class(agent)
    raise TypeError(f"agent must be a registry name or an Agent instance, got {agent!r}")


def _build_config(
    account: str | None, config: DMNConfig | Mapping[str, Any] | None, params: Mapping[str, Any]
) -> DMNConfig:
    """The one way to a DMNConfig: ``account`` (default "full") fills the account's fields."""
    if config is None:
        return DMNConfig.preset("full" if account is None else account, **params)
    if params:
        raise ValueError(
            f"pass DMN parameters either in config= or as keywords, not both: {sorted(params)}"
        )
    if isinstance(config, DMNConfig):
        if account is not None and account != config.account:
            raise ValueError(f"account={account!r} given with a {config.account!r} config")
        return config
    if isinstance(config, Mapping):
        cfg = dict(config)
        if account is not None and cfg.setdefault("account", account) != account:
            raise ValueError(f"account={account!r} given with config account {cfg['account']!r}")
        return DMNConfig.preset(cfg.pop("account", "full"), **cfg)
    raise TypeError(f"config must be a DMNConfig or a dict, got {config!r}")
