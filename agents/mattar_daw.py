"""Prioritised replay by the expected value of a backup (Mattar & Daw 2018).

Mattar, M. G. & Daw, N. D. (2018). Prioritized memory access explains planning and hippocampal
replay. Nature Neuroscience 21:1609-1617. Reference code (MATLAB):
github.com/marcelomattar/PrioritizedReplay (``replaySim.m``, ``gainTerm.m``, ``needTerm.m``).

The agent is tabular Q-learning with a softmax policy, pi(a|s) = exp(beta Q(s,a)) / Z(s), plus a
memory of experienced transitions (the hippocampus): the last outcome (r, s') of every (s, a)
tried. Offline, it replays one memory at a time, always the one whose backup is worth most now,

    EVB(e_k) = Gain(e_k) x Need(s_k)        (expected value of backup)

- **Gain** (how much the backup would improve choices at s_k): with Q_new the action values of
  s_k after the backup Q_new(s_k, a_k) = Q(s_k, a_k) + alpha (y_k - Q(s_k, a_k)),

      Gain = sum_a pi_new(a|s_k) Q_new(s_k, a) - sum_a pi_old(a|s_k) Q_new(s_k, a),

  with pi_old, pi_new the softmax policies before and after (vectorised over all memories).
  Gains are floored at ``baseline_gain`` (the paper's 1e-10), so that when no backup would
  change a choice, replay is led by the need term alone.
- **Need** (how soon and how often s_k will be visited): on task, the successor representation
  of the agent's location ``loc``,

      M = (I - gamma T)^-1,   Need(s) = M[loc, s],

  computed by one linear solve ((I - gamma T)^T m = e_loc). T is the agent's learned
  state-to-state transition matrix (``need_model``): ``"experienced"`` (default, the reference
  code's) moves row T[s] towards the observed s' by ``transition_lr`` at every real step (the
  first step from s sets it), i.e. where the agent has recently gone from s; ``"policy"`` is
  T_pi(s, s') = sum_a pi(a|s) P_hat(s'|s, a) under the current softmax policy and the
  counts-based model (recomputed after every backup, as pi changes). Terminal states lead to
  the start states seen so far (the reference code's goal-to-start transition). At rest the
  agent has no location and Need is the stationary distribution of T.
- **n-step backups**: besides every one-step memory, the candidates include the last replayed
  sequence extended by one step (the greedy action at its end, no loops). Replaying the sequence
  (s_1, a_1, r_1, ..., s_n, a_n, r_n, s_{n+1}) backs up every (s_j, a_j) towards its n-step
  return y_j = sum_{i=j..n} gamma^(i-j) r_i + gamma^(n-j+1) max_a Q(s_{n+1}, a); its EVB is
  Need(s_n) x sum_j max(Gain_j, baseline_gain), as in the reference code.

A bout replays until the best EVB is not above ``evb_threshold`` or ``n_planning`` backups are
done. As in the paper, replay happens only *before a run* (after the first step of an episode,
need from the start state) and *after reward* (after the step that ends the episode; need from
the state that step was taken in, as the reference code does: the goal has no actions of its
own and wraps to the start), and not before the first non-zero reward. With reward that varies
from lap to lap (the paper's sd 0.1), replay after reward propagates the news backwards from
the goal (reverse sequences: gain sits just behind the last change), while before a run,
where values are up to date, need leads and n-step extensions run ahead of the agent (forward
sequences): the paper's Figure 3, checked in ``tests/test_agents_mattar_daw_signatures.py``.

Trace: online rows are Q-learning steps with ``spe`` from the learned model; ``salience`` is
NaN. Each replayed step is an offline row (source ``"replay"``) for the *last* transition of the
backed-up sequence (the newly appended one), with ``q``, ``target``, ``rpe`` of that transition,
``update_norm`` the L2 norm of the change of Q over the whole sequence, ``spe`` of that
transition under the model, ``choice_prob`` and ``policy_entropy`` NaN, and extra columns

    replay_bout   index of the replay bout (one per planning call that replayed)
    replay_order  0, 1, ... within the bout
    replay_at     "start" (before a run) | "goal" (after the episode's last step) | "step"
                  (``plan_at="every_step"``) | "rest" (:meth:`MattarDawReplay.rest`)
    n_step        length of the backed-up sequence (1 for a one-step memory)
    gain, need, evb   sum_j max(Gain_j, baseline_gain), Need of the last state, their product
    direction     "forward" if the row's state is the previous row's next_state, "reverse" if
                  its next_state is the previous row's state, "none" otherwise (the first row
                  of a bout; a jump; a step straight back, which is both)

:func:`darkcontrol.analysis.direction_summary` and :func:`darkcontrol.analysis.replay_events`
count forward and reverse replay in a Trace
(events: runs of >= 4 same-direction steps, the reference analysis' 5 states).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from darkcontrol._util import check_positive, check_probability
from darkcontrol.agents.base import DEFAULT_CLOCK, Agent, transition_fields
from darkcontrol.agents.model import WorldModel
from darkcontrol.agents.policies import softmax_probs
from darkcontrol.agents.tabular import check_count
from darkcontrol.clock import Clock

NEED_MODES = ("auto", "sr", "stationary", "uniform")
NEED_MODELS = ("experienced", "policy")
PLAN_AT = ("start_goal", "every_step")
TARGETS = ("max", "expected")
TIE_BREAKS = ("shortest", "longest", "random")
DIRECTIONS = ("forward", "reverse", "none")


@dataclass
class MattarDawConfig:
    """Hyper-parameters of Mattar-Daw prioritised replay (defaults: the paper's open maze)."""

    alpha: float = 1.0  #: learning rate of online and replayed backups, in (0, 1]
    gamma: float = 0.9  #: discount factor (also the horizon of the need term), in [0, 1)
    beta: float = 5.0  #: softmax inverse temperature (acting, and the policies in the gain)
    n_planning: int = 20  #: maximum replayed backups per bout (the paper's nPlan)
    evb_threshold: float = 0.0  #: replay continues while the best EVB is > this
    baseline_gain: float = 1e-10  #: floor of every gain (paper: 1e-10); 0 disables it
    need: str = "auto"  #: "auto" (SR on task, stationary at rest) | "sr" | "stationary" | "uniform"
    need_model: str = "experienced"  #: T of the need term: "experienced" (paper) | "policy"
    transition_lr: float = 0.9  #: learning rate of the experienced transition matrix (paper: 0.9)
    plan_at: str = "start_goal"  #: when plan() replays: "start_goal" (paper) | "every_step"
    wait_for_reward: bool = True  #: no replay before the first non-zero reward (paper)
    n_step: bool = True  #: extend the last replayed sequence by one step (paper's expandFurther)
    allow_loops: bool = False  #: let an extension revisit a state of its sequence
    skip_self_transitions: bool = True  #: never replay memories with s' == s (bumps into walls)
    wrap_to_start: bool = True  #: terminal states lead to the start states in the need's T
    target: str = "max"  #: backup target: "max" (Q-learning, paper) | "expected" (softmax)
    tie_break: str = "shortest"  #: EVB ties: "shortest" sequence (paper) | "longest" | "random"
    pre_explore: bool = False  #: first try every reachable (s, a) of env's mdp, reward 0 (paper)
    q_init: float = 0.0  #: initial action value

    def __post_init__(self) -> None:
        check_probability("alpha", self.alpha)
        check_positive("alpha", self.alpha)
        check_probability("gamma", self.gamma)
        if self.gamma >= 1.0:
            raise ValueError("gamma must be < 1 (the need term is a discounted sum), got 1.0")
        check_positive("beta", self.beta, strict=False)
        check_count("n_planning", self.n_planning)
        check_probability("transition_lr", self.transition_lr)
        check_positive("baseline_gain", self.baseline_gain, strict=False)
        for name, value, allowed in (
            ("need", self.need, NEED_MODES),
            ("need_model", self.need_model, NEED_MODELS),
            ("plan_at", self.plan_at, PLAN_AT),
            ("target", self.target, TARGETS),
            ("tie_break", self.tie_break, TIE_BREAKS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if not np.isfinite(float(self.evb_threshold)):
            raise ValueError(f"evb_threshold must be finite, got {self.evb_threshold!r}")


class MattarDawReplay(Agent):
    """Q-learning + replay of the memory with the highest gain x need (Mattar & Daw 2018).

    ``plan(budget)`` replays one bout (at most ``budget`` backups) when the last real step
    started or ended an episode (``plan_at="start_goal"``); ``rest(budget)`` replays with the
    stationary need and no location (a rest period). Trace: see the module docstring."""

    name = "mattar_daw"
    Config = MattarDawConfig
    nan_columns = ("salience",)
    supports_offline = True

    def __init__(self, n_states, n_actions, config=None, **kw):
        super().__init__(n_states, n_actions, config, **kw)
        S, A = self.n_states, self.n_actions
        self.Q = np.full((S, A), self.config.q_init, dtype=np.float64)
        self.model = WorldModel(S, A)  # P_hat for the need term, spe for the Trace
        # the memory: last outcome of every (s, a) tried (-1: never tried)
        self.mem_next = np.full((S, A), -1, dtype=np.int64)
        self.mem_reward = np.zeros((S, A))
        # state-to-state transitions as experienced, each row moved towards the observed s'
        # by transition_lr (the reference code's T; need_model="experienced")
        self.T_exp = np.zeros((S, S))
        self.start_counts = np.zeros(S)  # first states of the episodes seen
        self.seen_reward = False
        self.n_bouts = 0
        self._first_step = True  # the next observed step starts an episode
        self._pending: tuple[str, int] | None = None  # (replay_at, location) for plan()
        self._P_cache: tuple | None = None  # (model.time, P_hat, tried) for need_model="policy"
        if self.config.pre_explore:
            self._pre_explore()

    # -- acting ------------------------------------------------------------------------------
    def q_values(self) -> np.ndarray:
        return self.Q

    def policy(self, state: int) -> np.ndarray:
        return softmax_probs(self.Q[int(state)], self.config.beta)

    def reset(self) -> None:
        super().reset()
        self._first_step = True
        self._pending = None

    @property
    def offline_budget(self) -> int:
        return self.config.n_planning

    # -- learning from real experience -------------------------------------------------------
    def _value(self, s: int) -> float:
        """V(s) in backup targets: max_a Q(s, a), or sum_a pi(a|s) Q(s, a)."""
        q = self.Q[s]
        if self.config.target == "max":
            return float(q.max())
        return float(softmax_probs(q, self.config.beta) @ q)

    def _remember(self, s: int, a: int, r: float, s2: int, terminated: bool) -> float:
        spe = self.model.update(s, a, r, s2, terminated)
        self.mem_next[s, a] = s2
        self.mem_reward[s, a] = r
        return spe

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
        s, a, s2, r = int(state), int(action), int(next_state), float(reward)
        stats = self.choice_stats(s, a)
        if self._first_step:
            self.start_counts[s] += 1.0
        spe = self._remember(s, a, r, s2, terminated)
        row = self.T_exp[s]
        if row.any():
            row *= 1.0 - self.config.transition_lr
            row[s2] += self.config.transition_lr
        else:  # the first step from s: the row becomes a distribution at once
            row[s2] = 1.0
        if r != 0.0:
            self.seen_reward = True
        q = float(self.Q[s, a])
        y = r if terminated else r + self.config.gamma * self._value(s2)
        step = self.config.alpha * (y - q)
        self.Q[s, a] = q + step
        self.n_updates += 1
        self.recorder.online(
            fields,
            **transition_fields(s, a, r, s2, terminated, q, y, abs(step)),
            spe=spe,
            **stats,
        )
        if terminated:
            self._pending = ("goal", s)
        elif self._first_step:
            self._pending = ("start", s)
        elif self.config.plan_at == "every_step" and not truncated:
            self._pending = ("step", s2)
        else:
            self._pending = None
        self._first_step = False

    def _pre_explore(self) -> None:
        """Try every action once in every state reachable from the start, with reward 0.

        The paper lets the animal explore the maze before rewards are introduced, so that the
        model and the memory know the consequences of every action (its ``preExplore``)."""
        mdp = self.mdp
        if mdp is None:
            raise ValueError(
                "pre_explore=True needs the environment's exact model: build the agent with "
                "mdp=env.unwrapped.mdp (make_agent does this)"
            )
        if mdp.P.shape != (self.n_states, self.n_actions, self.n_states):
            raise ValueError(
                f"mdp has shape {mdp.P.shape}, the agent {(self.n_states, self.n_actions)}"
            )
        reach = mdp.start > 0
        frontier = reach.copy()
        while frontier.any():  # breadth-first search over the support of P
            nxt = (mdp.P[frontier & ~mdp.terminal].sum(axis=(0, 1)) > 0) & ~reach
            reach |= nxt
            frontier = nxt
        for s in np.flatnonzero(reach & ~mdp.terminal):
            for a in range(self.n_actions):
                s2 = int(self.rng.choice(self.n_states, p=mdp.P[s, a]))
                self._remember(int(s), a, 0.0, s2, bool(mdp.terminal[s2]))
                self.T_exp[s, s2] += 1.0 / self.n_actions  # a uniformly random explorer's T

    # -- replay ------------------------------------------------------------------------------
    def plan(self, budget: int) -> int:
        """Replay a bout after the first or the last step of an episode (see ``plan_at``)."""
        check_count("budget", budget)
        pending, self._pending = self._pending, None
        if pending is None or budget == 0:
            return 0
        if self.config.wait_for_reward and not self.seen_reward:
            return 0
        where, loc = pending
        mode = "sr" if self.config.need == "auto" else self.config.need
        return self._bout(budget, where, loc, mode)

    def offline(self, seconds: float, *, kind: str = "iti", clock: Clock | None = None) -> int:
        """The base rule for the number of steps (:meth:`Agent.offline`); a rest window is a
        :meth:`rest` bout (need from the stationary distribution), an ITI the bout planned
        after the last step."""
        n = self._offline_count(seconds, kind, clock)
        if kind == "iti":
            return self._plan_window(seconds, n, clock)
        if n <= 0:
            return 0
        self.recorder.offline_dt = (DEFAULT_CLOCK if clock is None else clock).spacing(seconds, n)
        return self.rest(n)

    def rest(self, budget: int) -> int:
        """Replay a bout during rest: need is the stationary distribution (``need="auto"``)."""
        check_count("budget", budget)
        mode = "stationary" if self.config.need == "auto" else self.config.need
        if mode == "sr":
            raise ValueError("need='sr' needs the agent's location; at rest use need='auto'")
        if budget == 0 or (self.config.wait_for_reward and not self.seen_reward):
            return 0
        return self._bout(budget, "rest", None, mode)

    def transition_matrix(self) -> np.ndarray:
        """The state-to-state transition matrix T (S, S) of the need term.

        ``need_model="experienced"``: ``T_exp``, each row moved towards the observed successor
        by ``transition_lr`` at every real step (the reference code's T: where the agent has
        recently gone from each state). ``"policy"``: T_pi(s, s') = sum_a pi(a|s) P_hat(s'|s, a)
        under the current softmax policy and the learned model, untried actions getting no
        probability (pi renormalised over the tried ones). Terminal states lead to the start
        states seen so far (``wrap_to_start``); states never left have all-zero rows."""
        if self.config.need_model == "experienced":
            T = self.T_exp.copy()
        else:
            if self._P_cache is None or self._P_cache[0] != self.model.time:
                self._P_cache = (self.model.time, self.model.P_hat(), self.model.total > 0)
            _, P, tried = self._P_cache
            pi = softmax_probs(self.Q, self.config.beta) * tried
            z = pi.sum(axis=1, keepdims=True)
            pi = np.divide(pi, z, out=np.zeros_like(pi), where=z > 0)
            T = np.einsum("sa,sat->st", pi, P)
        if self.config.wrap_to_start and self.start_counts.sum() > 0:
            term = self.model.terminal
            T[term] = self.start_counts / self.start_counts.sum()
        return T

    def need_vector(self, loc: int | None, mode: str) -> np.ndarray:
        """Need(s) for every state: SR row of ``loc``, stationary distribution, or ones."""
        S = self.n_states
        if mode == "uniform":
            return np.ones(S)
        T = self.transition_matrix()
        if mode == "sr":
            e = np.zeros(S)
            e[loc] = 1.0
            return np.linalg.solve(np.eye(S) - self.config.gamma * T.T, e)
        return _stationary(T, self.model.total.sum(axis=1) > 0)

    def _gains(self, s: np.ndarray, a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gain of backing up each (s_k, a_k) towards y_k (vectorised), and Q_new(s_k, a_k)."""
        q = self.Q[s]  # (K, A) copy
        beta = self.config.beta
        p_old = softmax_probs(q, beta)
        rows = np.arange(len(s))
        q_sa = q[rows, a] + self.config.alpha * (y - q[rows, a])
        q[rows, a] = q_sa
        p_new = softmax_probs(q, beta)
        return ((p_new - p_old) * q).sum(axis=1), q_sa

    def _candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """The one-step memories replay may choose from: (s, a) with a stored outcome."""
        ok = self.mem_next >= 0
        if self.config.skip_self_transitions:
            ok &= self.mem_next != np.arange(self.n_states)[:, None]
        s, a = np.nonzero(ok)
        return s, a

    def _extension(self, seq: list[tuple[int, int]]) -> list[tuple[int, int]] | None:
        """The last replayed sequence plus one step from its end, or None."""
        end = int(self.mem_next[seq[-1]])
        if self.model.terminal[end]:
            return None
        known = np.flatnonzero(self.mem_next[end] >= 0)
        if len(known) == 0:
            return None
        q = self.Q[end, known]
        if self.config.target == "max":  # appended greedily (off-policy), ties at random
            best = known[q >= q.max()]
            an = int(best[0] if len(best) == 1 else self.rng.choice(best))
        else:  # appended on-policy
            an = int(known[self.rng.choice(len(known), p=softmax_probs(q, self.config.beta))])
        nxt = int(self.mem_next[end, an])
        visited = {s for s, _ in seq} | {int(self.mem_next[p]) for p in seq}
        if nxt == end or (not self.config.allow_loops and nxt in visited):
            return None
        return [*seq, (end, an)]

    def _sequence_targets(self, seq: list[tuple[int, int]]) -> np.ndarray:
        """n-step returns y_j of every step of ``seq`` (bootstrapped at its final state)."""
        gamma = self.config.gamma
        end = int(self.mem_next[seq[-1]])
        boot = 0.0 if self.model.terminal[end] else self._value(end)
        y = np.empty(len(seq))
        acc = boot
        for j in range(len(seq) - 1, -1, -1):
            acc = self.mem_reward[seq[j]] + gamma * acc
            y[j] = acc
        return y

    def _bout(self, budget: int, where: str, loc: int | None, mode: str) -> int:
        cfg = self.config
        cs, ca = self._candidates()
        if len(cs) == 0:
            return 0
        cr = self.mem_reward[cs, ca]
        cn = self.mem_next[cs, ca]
        cterm = self.model.terminal[cn]
        # T_exp only changes with real steps: then the need is fixed for the whole bout
        static_need = mode == "uniform" or cfg.need_model == "experienced"
        need = self.need_vector(loc, mode) if static_need else None
        seq: list[tuple[int, int]] | None = None
        prev: tuple[int, int] | None = None  # (state, next_state) of the previous row
        bout = self.n_bouts
        done = 0
        for order in range(budget):
            # one-step targets y = r + gamma V(s') with the current Q
            if cfg.target == "max":
                v = self.Q.max(axis=1)
            else:
                v = (softmax_probs(self.Q, cfg.beta) * self.Q).sum(axis=1)
            y1 = cr + cfg.gamma * np.where(cterm, 0.0, v[cn])
            ext = self._extension(seq) if (cfg.n_step and seq) else None
            if ext is not None:
                es = np.array([p[0] for p in ext])
                ea = np.array([p[1] for p in ext])
                ey = self._sequence_targets(ext)
                gains, _ = self._gains(
                    np.concatenate([cs, es]), np.concatenate([ca, ea]), np.concatenate([y1, ey])
                )
                g1, gext = gains[: len(cs)], gains[len(cs) :]
            else:
                g1, _ = self._gains(cs, ca, y1)
            if not static_need:
                need = self.need_vector(loc, mode)
            g1f = np.maximum(g1, cfg.baseline_gain)
            evb = need[cs] * g1f
            lengths = np.ones(len(cs), dtype=np.int64)
            if ext is not None:
                gext_sum = float(np.maximum(gext, cfg.baseline_gain).sum())
                evb = np.append(evb, need[ext[-1][0]] * gext_sum)
                lengths = np.append(lengths, len(ext))
            best = float(evb.max())
            if not best > cfg.evb_threshold:
                break
            ties = np.flatnonzero(evb >= best - 1e-9 * abs(best))
            if len(ties) > 1 and cfg.tie_break != "random":
                pick = lengths[ties].min() if cfg.tie_break == "shortest" else lengths[ties].max()
                ties = ties[lengths[ties] == pick]
            k = int(ties[0] if len(ties) == 1 else self.rng.choice(ties))
            if k < len(cs):
                chosen = [(int(cs[k]), int(ca[k]))]
                gain_sum = float(g1f[k])
            else:
                chosen = ext
                gain_sum = gext_sum
            need_k = float(need[chosen[-1][0]])
            row = self._apply(chosen)
            s, s2 = row["state"], row["next_state"]
            if prev is None:
                direction = "none"
            else:
                fwd, rev = s == prev[1], s2 == prev[0]
                direction = (
                    "forward" if fwd and not rev else "reverse" if rev and not fwd else "none"
                )
            self.recorder.offline(
                "replay",
                **row,
                replay_bout=bout,
                replay_order=order,
                replay_at=where,
                n_step=len(chosen),
                gain=gain_sum,
                need=need_k,
                evb=float(evb[k]),
                direction=direction,
            )
            prev = (s, s2)
            seq = chosen
            done += 1
        if done:
            self.n_bouts += 1
        return done

    def _apply(self, seq: list[tuple[int, int]]) -> dict:
        """Back up every step of ``seq`` towards its n-step return; Trace values of the last."""
        cfg = self.config
        y = self._sequence_targets(seq)
        sq = 0.0
        for (s, a), target in zip(seq, y):
            q = float(self.Q[s, a])
            step = cfg.alpha * (target - q)
            self.Q[s, a] = q + step
            sq += step * step
            self.n_updates += 1
        s, a = seq[-1]
        s2 = int(self.mem_next[s, a])
        return {
            "state": s,
            "action": a,
            "reward": float(self.mem_reward[s, a]),
            "next_state": s2,
            "terminated": bool(self.model.terminal[s2]),
            "q": q,
            "target": float(y[-1]),
            "rpe": float(y[-1]) - q,
            "spe": 0.0 if self.model.total[s, a] == 0 else self.model.spe(s, a, s2),
            "update_norm": float(np.sqrt(sq)),
        }

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
        """One Q-learning backup on a transition fed from outside (no prioritisation)."""
        s, a, s2, r = int(state), int(action), int(next_state), float(reward)
        q = float(self.Q[s, a])
        g = self.config.gamma if gamma is None else gamma
        y = r if terminated else r + g * self._value(s2)
        step = self.config.alpha * (y - q)
        self.Q[s, a] = q + step
        self.n_updates += 1
        self.recorder.offline(
            source,
            fields,
            **transition_fields(s, a, r, s2, terminated, q, y, abs(step)),
        )


def _stationary(T: np.ndarray, visited: np.ndarray) -> np.ndarray:
    """Long-run occupancy of the chain T started uniformly on the visited states.

    Rows without mass (never-left states) become self-loops; the lazy chain (I + T) / 2 has the
    same stationary distributions and is aperiodic, so its powers (by repeated squaring)
    converge."""
    S = T.shape[0]
    M = T.copy()
    empty = M.sum(axis=1) <= 0
    M[empty, empty] = 1.0
    M = 0.5 * (np.eye(S) + M)
    for _ in range(30):  # M^(2^30)
        M = M @ M
    mu = visited.astype(np.float64)
    if mu.sum() == 0:
        return np.full(S, 1.0 / S)
    d = (mu / mu.sum()) @ M
    return d / d.sum()
