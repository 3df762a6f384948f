"""The DMN process model: any agent, run online in the world and offline in its own head.

Dohmatob, Dumas & Bzdok (2020), "Dark control: The default mode network as a reinforcement
learning agent", Hum Brain Mapp 41(12):3318-3341. Their claim (§3, Figure 4): the DMN is an
agent that improves its policy pi(s) = argmax_a Q(s, a | theta) from value estimates refined by
*vicarious trial and error*, minimising

    L(theta) = E_{(s, a, r, s') ~ D} [ (Q(s, a | theta) - y)^2 / 2 ],
    y = r + gamma max_a' Q(s', a'),

over experience that is replayed (the hippocampus, §2.4), simulated and recombined (§5), with
the earlier accounts - predictive coding, semantic associations, the sentinel (§4) - as special
cases. :class:`DMNAgent` makes that runnable around any agent of :mod:`darkcontrol.agents`
that implements ``learn_offline`` (the agent owns theta and the update; the DMN decides what it
learns from and when):

- **online** (a trial): the agent acts, the world answers, the DMN's learned model scores the
  transition's surprise ``spe`` and the sentinel its ``salience`` (written into the agent's
  Trace row through ``recorder.context``), the hippocampal memory stores it, and the agent
  learns from it (``observe``);
- **offline** (inter-trial intervals and rest): for a window of T seconds the DMN makes
  floor(T * replay_hz * engagement) offline steps, each drawn from the mixture
  w_replay : w_model : w_recombined of
  replay of a stored transition (``source="replay"``), one step of a Monte Carlo rollout in the
  learned model (``"model"``), or a recombined never-experienced transition (``"recombined"``),
  and fed to the agent through ``agent.learn_offline`` (one offline Trace row each, spaced
  evenly over the window on the experiment's clock);
- a salient transition suspends the offline window that would follow it (the sentinel returns
  the agent to the world; :meth:`DMNAgent.interval` is the window after a trial); engagement
  (1 - recent mean spe) lets offline processing grow as the world becomes predictable and drop
  with novelty;
- a hippocampal lesion (``lesion="hippocampus"``) removes all offline processing: no replay and,
  since the hippocampus is needed to imagine new experiences too (Hassabis, Kumaran, Vann &
  Maguire 2007, PNAS), no model simulation and no recombination either; what is left is the
  agent learning from real experience only.

Each offline step costs O(1) Python work (a few O(S) or O(A) numpy reads for rollouts and
recombination; prioritised replay redraws a chunk of 64 memories in O(|D|) numpy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from darkcontrol.agents.base import Agent
from darkcontrol.agents.model import WorldModel
from darkcontrol.agents.runner import EpisodeLog
from darkcontrol.dmn.association import AssociationGraph
from darkcontrol.dmn.config import DMNConfig, split_params
from darkcontrol.dmn.memory import ExperienceMemory
from darkcontrol.dmn.recombine import Recombiner, features_are_grid
from darkcontrol.dmn.sentinel import Sentinel
from darkcontrol.trace import TraceRecorder

OFFLINE_SOURCES = ("replay", "model", "recombined")


class DMNAgent:
    """The DMN as a reinforcement-learning agent (Dohmatob, Dumas & Bzdok 2020, §3-§5).

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
    features : array (S, d), optional
        State features for ``recombine="analogy"`` (default: the MDP's coords).
    agent_params : dict, optional
        The agent's hyper-parameters.
    **params
        Flat parameters split by :func:`darkcontrol.dmn.config.split_params`: DMNConfig
        fields go to the DMN, ``agent_``-prefixed keys and the agent's config fields go to the
        agent; anything else is an error.
    """

    def __init__(
        self,
        agent: str | Agent = "q_learning",
        env: Any = None,
        *,
        account: str = "full",
        config: DMNConfig | Mapping[str, Any] | None = None,
        seed: int | None = None,
        recorder: TraceRecorder | None = None,
        features: np.ndarray | None = None,
        agent_params: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> None:
        agent_cls = _agent_class(agent)
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
            from darkcontrol.agents.registry import make_agent

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
        if cfg.offline_enabled and type(self.agent).learn_offline is Agent.learn_offline:
            raise TypeError(
                f"agent {self.agent.name!r} does not implement learn_offline, so the DMN cannot "
                "feed it offline experience; use an agent that does (e.g. q_learning) or "
                "lesion='hippocampus'"
            )
        # the DMN's own knowledge of the world (paper Figure 4: left TPJ, hippocampus)
        self.model = WorldModel(S, A)
        self.memory = ExperienceMemory(
            cfg.memory_size,
            prioritised=cfg.replay_priority == "prioritised",
            exponent=cfg.priority_exponent,
            seed=memory_seed,
        )
        self.association = AssociationGraph(
            S, cfg.association, sr_gamma=cfg.sr_gamma, sr_alpha=cfg.sr_alpha
        )
        self.sentinel = Sentinel(
            enabled=cfg.sentinel,
            threshold=cfg.salience_threshold,
            w_spe=cfg.w_spe,
            w_rpe=cfg.w_rpe,
            w_value=cfg.w_value,
            value_scale=cfg.value_scale,
            engagement=cfg.engagement,
            spe_rate=cfg.spe_rate,
            min_engagement=cfg.min_engagement,
        )
        if features is None:
            mdp = getattr(getattr(env, "unwrapped", None), "mdp", None) or self.agent.mdp
            features = getattr(mdp, "coords", None)
        self.features = None if features is None else np.asarray(features, dtype=np.float64)
        mode = cfg.recombine
        if mode == "auto":
            mode = "analogy" if features_are_grid(self.features) else "association"
        self.recombine_mode = mode
        self.recombiner = (
            Recombiner(
                self.model,
                mode,
                features=self.features if mode == "analogy" else None,
                association=self.association,
                rng=self.rng,
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
        # counters (cumulative; runners take differences)
        self.n_online = 0
        self.n_offline = dict.fromkeys(OFFLINE_SOURCES, 0)
        self.n_planner = 0  # offline steps done by the agent's own plan()
        self.n_suspended = 0  # offline windows suspended by a salient event
        self.n_recombine_failed = 0  # recombination steps that found no gap (replayed instead)
        self.n_reconsolidated = 0  # (s, a) pairs whose memories were rewritten
        self.spe_sum = 0.0
        self.arrivals = np.zeros(S, dtype=np.int64)  # real arrivals in each state

    # -- the agent's face --------------------------------------------------------------------
    @property
    def name(self) -> str:
        return f"dmn[{self.config.account}]({self.agent.name})"

    @property
    def engagement(self) -> float:
        """Current share of the replay budget the DMN uses, in [0, 1]."""
        return self.sentinel.engagement if self.config.offline_enabled else 0.0

    def q_values(self) -> np.ndarray:
        return self.agent.q_values()

    def policy(self, state: int) -> np.ndarray:
        return self.agent.policy(state)

    def act(self, state: int) -> int:
        return self.agent.act(state)

    def reset(self) -> None:
        """Start of an episode: the agent's reset; imagined rollouts restart too."""
        self.agent.reset()
        self._roll_s, self._roll_left = None, 0

    def describe(self) -> dict[str, Any]:
        return {
            "model": "dmn",
            "dmn": self.config.to_dict(),
            "recombine_mode": self.recombine_mode,
            "agent": self.agent.describe(),
            "seed": self.seed,
        }

    def counters(self) -> dict[str, float]:
        """Cumulative counts: online steps, offline steps per source, suspensions, ..."""
        out: dict[str, float] = {"n_online": self.n_online}
        for src in OFFLINE_SOURCES:
            out[f"n_{src}"] = self.n_offline[src]
        out["n_planner"] = self.n_planner
        out["n_offline"] = sum(self.n_offline.values()) + self.n_planner
        out["n_suspended"] = self.n_suspended
        out["n_recombine_failed"] = self.n_recombine_failed
        out["n_reconsolidated"] = self.n_reconsolidated
        out["spe_sum"] = self.spe_sum
        return out

    # -- online: one trial in the world ------------------------------------------------------
    def step(self, env: Any, state: int) -> tuple[int, float, bool, bool, dict]:
        """Act in ``env`` from ``state`` and learn from the outcome (one online row)."""
        state = int(state)
        action = self.agent.act(state)
        s2, r, terminated, truncated, info = env.step(action)
        self.observe(state, action, float(r), int(s2), bool(terminated), bool(truncated), info)
        return int(s2), float(r), bool(terminated), bool(truncated), info

    def observe(
        self,
        s: int,
        a: int,
        r: float,
        s2: int,
        terminated: bool,
        truncated: bool = False,
        info: Mapping[str, Any] | None = None,
    ) -> bool:
        """Learn from a real transition; returns whether it was salient (suspends offline)."""
        cfg, m = self.config, self.model
        spe = m.spe(s, a, s2)
        if cfg.reconsolidate:
            self._reconsolidate(s, a, r, s2, terminated)
        else:
            m.update(s, a, r, s2, terminated)
        self.arrivals[s2] += 1
        self.memory.add(s, a, r, s2, terminated)
        self.association.update(s, s2, terminated)
        if self.recombiner is not None:
            self.recombiner.observe(s, a, r, s2, terminated)
        self.sentinel.observe_spe(spe)
        self.spe_sum += spe
        sal = float("nan")
        if self.sentinel.enabled:
            abs_rpe = abs_value = 0.0
            if cfg.w_rpe or cfg.w_value:
                Q = self.agent.q_values()
                q2 = Q[s2]
                # the cue value: what is at stake in the state reached (or the reward itself)
                abs_value = abs(r) if terminated else max(abs(r), float(q2.max() - q2.min()))
                if cfg.w_rpe:
                    v2 = 0.0 if terminated else float(q2.max())
                    abs_rpe = abs(r + self.gamma * v2 - float(Q[s, a]))
            sal = self.sentinel.salience(spe, abs_rpe, abs_value)
        salient = self.sentinel.is_salient(sal)
        ctx: dict[str, Any] = {"spe": spe, "salience": sal, "engagement": self.engagement}
        if info and "cue" in info:
            ctx["cue"] = info["cue"]
        rec = self.recorder
        if self.changes is not None:
            before = self._snapshot(s)
            t = rec.time
        rec.context = ctx
        try:
            self.agent.observe(s, a, r, s2, terminated, truncated)
        finally:
            rec.context = {}
        if self.changes is not None:
            self._log_change(t, "online", "env", s, before)
        self.n_online += 1
        self.last_salient, self.last_salience = salient, sal
        return salient

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
            m.mode = "last"
            try:
                m.update(s, a, r, s2, terminated)
            finally:
                m.mode = "counts"
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
    def offline(self, seconds: float) -> int:
        """Process offline for a window of ``seconds``; returns the number of offline steps.

        floor(seconds * replay_hz * engagement) steps (fractions carry over to the next
        window), spaced evenly from the recorder's current time; nothing without a memory."""
        if seconds < 0:
            raise ValueError(f"an offline window lasts >= 0 s, got {seconds}")
        cfg = self.config
        if not cfg.offline_enabled or seconds == 0 or len(self.memory) == 0:
            return 0
        x = seconds * cfg.replay_hz * self.engagement + self._carry
        n = int(x)
        self._carry = x - n
        if n == 0:
            return 0
        self.recorder.offline_dt = seconds / n
        return self.offline_steps(n)

    def rest(self, seconds: float) -> int:
        """Offline processing in a rest block: :meth:`offline` with the discount factor
        ``rest_gamma`` (if set) in every backup, the agent's own gamma restored afterwards."""
        horizon = self.config.rest_gamma
        if horizon is None:
            return self.offline(seconds)
        agent_cfg, task_gamma = self.agent.config, self.gamma
        agent_cfg.gamma = self.gamma = float(horizon)
        try:
            return self.offline(seconds)
        finally:
            agent_cfg.gamma = self.gamma = task_gamma

    def interval(self, seconds: float) -> int:
        """The offline window after a trial: suspended (0 steps) if the trial was salient,
        else :meth:`offline` for ``seconds``; returns the number of offline steps."""
        if self.last_salient:
            self.n_suspended += 1
            return 0
        return self.offline(seconds)

    def offline_steps(self, n: int) -> int:
        """Make ``n`` offline steps from the source mixture; returns how many were made."""
        if not self.config.offline_enabled or len(self.memory) == 0 or n <= 0:
            return 0
        c_replay, c_model = self._cum[0], self._cum[1]
        use_planner = self.config.use_agent_planner
        n_plan = 0
        for _ in range(n):
            u = self._rand()
            if u < c_replay:
                self._replay()
            elif u < c_model:
                if use_planner:
                    n_plan += 1
                else:
                    self._simulate()
            else:
                self._recombine()
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

    def _learn(self, s: int, a: int, r: float, s2: int, t: bool, source: str) -> None:
        rec = self.recorder
        rec.context = {"spe": self.model.spe(s, a, s2)}
        if self.changes is not None:
            before, time = self._snapshot(s), rec.time
        try:
            self.agent.learn_offline(s, a, r, s2, t, source=source)
        finally:
            rec.context = {}
        if self.changes is not None:
            self._log_change(time, "offline", source, s, before)
        self.n_offline[source] += 1

    def _replay(self) -> None:
        mem = self.memory
        i = mem.sample()
        s, a, r, s2, t = mem.get(i)
        if mem.prioritised:
            Q = self.agent.q_values()
            y = r if t else r + self.gamma * float(Q[s2].max())
            mem.set_priority(i, y - float(Q[s, a]))
        self._learn(s, a, r, s2, t, "replay")

    def _simulate(self) -> None:
        """One step of a Monte Carlo rollout of the agent's policy in the learned model."""
        m = self.model
        for _ in range(2):
            if self._roll_s is None or self._roll_left <= 0:
                self._roll_s = int(self.memory.s[self.memory.sample()])
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
        self._learn(s, a, r, s2, t, "model")
        self._roll_left -= 1
        self._roll_s = None if t else s2

    def _recombine(self) -> None:
        built = self.recombiner.sample() if self.recombiner is not None else None
        if built is None:
            # nothing left to recombine (no gap of experience or no destination): replay
            self.n_recombine_failed += 1
            self._replay()
            return
        self._learn(*built, "recombined")

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

    # -- episodic runner ---------------------------------------------------------------------
    def run_episodes(
        self,
        env: Any,
        n_episodes: int,
        *,
        seed: int | None = None,
        max_steps: int | None = None,
        progress: bool = False,
    ) -> EpisodeLog:
        """Episodes of trials: each real step lasts ``trial_s`` and is followed by an ITI of
        ``iti_s`` offline seconds (unless salient); ``rest_s`` offline seconds between episodes.

        ``seed`` seeds the environment's first reset. Per-episode counts land in
        ``self.history``."""
        if n_episodes < 1:
            raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        cfg, rec = self.config, self.recorder
        log = EpisodeLog()
        self.history: list[dict[str, float]] = []
        episodes = range(n_episodes)
        if progress:
            from tqdm.auto import tqdm

            episodes = tqdm(episodes, desc=self.name, unit="ep", leave=False)
        for ep in episodes:
            state, _ = env.reset(seed=seed if ep == 0 else None)
            self.reset()
            rec.begin_episode()
            before = self.counters()
            if ep > 0 and cfg.rest_s > 0:
                t0 = rec.time
                self.rest(cfg.rest_s)
                rec.time = t0 + cfg.rest_s
            total, steps, done = 0.0, 0, False
            while not done:
                t0 = rec.time
                state, reward, terminated, truncated, _ = self.step(env, state)
                steps += 1
                truncated = truncated or (max_steps is not None and steps >= max_steps)
                rec.time = t0 + cfg.trial_s
                self.interval(cfg.iti_s)
                rec.time = t0 + cfg.trial_s + cfg.iti_s
                total += reward
                done = terminated or truncated
            log.lengths.append(steps)
            log.returns.append(total)
            self.history.append(_difference(self.counters(), before, self.engagement))
        return log


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
        from darkcontrol.agents.registry import agent_class

        return agent_class(agent)
    raise TypeError(f"agent must be a registry name or an Agent instance, got {agent!r}")


def _build_config(
    account: str, config: DMNConfig | Mapping[str, Any] | None, params: Mapping[str, Any]
) -> DMNConfig:
    if config is None:
        params = dict(params)
        return DMNConfig.preset(params.pop("account", account), **params)
    if params:
        raise ValueError(
            f"pass DMN parameters either in config= or as keywords, not both: {sorted(params)}"
        )
    if isinstance(config, DMNConfig):
        return config
    if isinstance(config, Mapping):
        cfg = dict(config)
        return DMNConfig.preset(cfg.pop("account", account), **cfg)
    raise TypeError(f"config must be a DMNConfig or a dict, got {config!r}")
