"""Batched DMN process model: Q-learning agents acting online and learning offline at rest.

The batch of :class:`darkcontrol.dmn.DMNAgent` wrapping ``q_learning`` (Dohmatob, Dumas & Bzdok
2020, Hum Brain Mapp 41(12):3318-3341, §4-§5, Figure 4). Per agent:

- **online** (a trial): act, step the world, score the transition's surprise
  spe = 1 - P_hat(s'|s, a) under the DMN's learned model (left TPJ) and its salience
  w_spe spe + (w_rpe |delta| + w_value max(|r|, |V(s')|)) / value_scale (the sentinel),
  store it in the hippocampal memory (a ring buffer of ``memory_size`` transitions),
  update the running surprise spe_bar += spe_rate (spe - spe_bar), and make the Q-learning
  update Q(s, a) += alpha [r + gamma max Q(s', .) - Q(s, a)];
- **offline** (inter-trial intervals, rest): a window of T seconds holds
  floor(T replay_hz engagement + carry) offline steps (the fraction carries over), with
  engagement = max(min_engagement, 1 - spe_bar) ("heuristic") or 1 ("constant"); each
  step is, with weights w_replay : w_model, the replay of a stored transition (uniform, or
  prioritised by |TD error|, Schaul et al. 2016, ICLR) or one step of a Monte Carlo rollout of
  the agent's policy, restricted to tried actions, in the learned model (``rollout_length``
  steps from a remembered state), followed by the same Q-learning update;
- a **salient** transition (salience >= threshold, sentinel on) suspends the window after it;
- a **hippocampal lesion** (``lesion="hippocampus"``, per agent) or ``replay_hz = 0`` removes
  every offline step: the agent learns from real experience only.

Per-agent: every numeric field, ``lesion`` (a string or one per agent). Whole batch: the rest.
Supported subset of ``DMNConfig``: no recombination (``w_recombined = 0``), no reconsolidation
(the batched world is stationary; in a deterministic world reconsolidation never triggers),
no ``use_agent_planner``; the wrapped agent is Q-learning. With these settings a batched agent
is the reference with ``account="sentinel"``, ``w_recombined=0``, ``reconsolidate=False``
(``tests/test_batched_dmn.py`` compares offline counts exactly and learning curves
statistically). Prioritised replay redraws from the current priorities at every step (the
reference draws chunks of 64 from the priorities of the moment); it costs O(memory_size) per
agent and offline step, so keep memories small when prioritising.

Two clocks: :meth:`run` (episodes; each real step lasts ``trial_s`` and is followed by an ITI
of ``iti_s`` offline seconds, ``rest_s`` offline seconds between episodes, as
``DMNAgent.run_episodes``) and :meth:`run_schedule` (task and rest blocks of a
``darkcontrol.dmn.Schedule``, as ``darkcontrol.dmn.run_schedule``; region summaries per block).
Memory per agent: memory_size * (13 + itemsize (+ itemsize prioritised)) bytes for the ring
buffer, plus the model (see ``darkcontrol.batched.model``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from darkcontrol._util import check_choice
from darkcontrol.batched.base import (
    SLOT_ACTION,
    SLOT_ALGO,
    SLOT_RESET,
    SLOT_WORLD,
    BatchedLearner,
    BatchResult,
)
from darkcontrol.batched.model import MODEL_MODES, make_model, model_bytes_per_agent
from darkcontrol.batched.params import ArrayLike, check_range
from darkcontrol.constants import ENGAGEMENT, LESIONS, PRIORITIES
from darkcontrol.hyperparams import TDParams, check_td

PRIORITY_EPS = 1e-3  # p_i = |delta_i| + eps, as darkcontrol.dmn.memory
SLOTS_PER_OFFLINE = 6  # source, replay draw, rollout start, rollout restart, action, outcome
REST_COUNTER = 2**31  # counters of rest windows live above the real steps'
STEP_BLOCK = 64  # offline steps whose uniforms are drawn at once
BLOCK_STATS = (
    "n_online",
    "n_offline",
    "n_replay",
    "n_model",
    "n_suspended",
    "offline_share",
    "mean_spe",
    "engagement",
    "abs_rpe_online",
    "abs_rpe_offline",
    "update_norm_online",
    "update_norm_offline",
)


@dataclass
class BatchedDMNConfig(TDParams):
    """Hyper-parameters of the batched DMN (see the module docstring for what is supported)."""

    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "alpha",
        "gamma",
        "epsilon",
        "beta",
        "q_init",
        "replay_hz",
        "w_replay",
        "w_model",
        "priority_exponent",
        "spe_rate",
        "min_engagement",
        "salience_threshold",
        "w_spe",
        "w_rpe",
        "w_value",
        "value_scale",
        "lesion",
    )

    # -- the wrapped Q-learner -------------------------------------------------------------
    # -- offline processing (hippocampus) ------------------------------------------------------
    replay_hz: ArrayLike = 10.0  #: offline steps per second at full engagement (the budget), >= 0
    w_replay: ArrayLike = 1.0  #: mixture weight of replay of stored transitions, >= 0
    w_model: ArrayLike = 0.0  #: mixture weight of rollouts in the learned model, >= 0
    replay_priority: str = "uniform"  #: "uniform" | "prioritised" (|TD error|)
    priority_exponent: ArrayLike = 1.0  #: kappa of prioritised replay, >= 0
    memory_size: int = 10_000  #: capacity of the hippocampal ring buffer (whole batch)
    rollout_length: int = 5  #: steps of one imagined trajectory
    model: str = "counts"  #: the DMN's world model: "counts" (reference) | "last" (det. worlds)
    lesion: str | Sequence[str] = "none"  #: "none" | "hippocampus" (no offline steps), per agent
    # -- engagement and the sentinel -----------------------------------------------------------
    engagement: str = "heuristic"  #: "heuristic" (1 - spe_bar) | "constant" (1)
    spe_rate: ArrayLike = 0.1  #: eta of the running mean of spe, in [0, 1]
    min_engagement: ArrayLike = 0.0  #: floor of engagement, in [0, 1]
    sentinel: bool = True  #: whether salient transitions suspend the next offline window
    salience_threshold: ArrayLike = 1.0  #: salience at or above which a transition is salient
    w_spe: ArrayLike = 1.0  #: weight of surprise in salience, >= 0
    w_rpe: ArrayLike = 0.0  #: weight of |prediction error| in salience, >= 0
    w_value: ArrayLike = 0.1  #: weight of the cue value max(|r|, |V(s')|), >= 0
    value_scale: ArrayLike = 1.0  #: reward units dividing the |rpe| and value terms, > 0
    # -- the clock of run() (run_schedule takes a Schedule) ------------------------------------
    trial_s: float = 1.0  #: seconds per real step
    iti_s: float = 1.0  #: offline seconds after each real step
    rest_s: float = 0.0  #: offline seconds between episodes

    def __post_init__(self) -> None:
        check_td(self)
        for name in ("replay_hz", "w_replay", "w_model", "priority_exponent", "w_spe"):
            check_range(name, getattr(self, name), 0.0)
        for name in ("w_rpe", "w_value"):
            check_range(name, getattr(self, name), 0.0)
        check_range("value_scale", self.value_scale, 0.0, lo_open=True)
        check_range("spe_rate", self.spe_rate, 0.0, 1.0)
        check_range("min_engagement", self.min_engagement, 0.0, 1.0)
        check_range("salience_threshold", self.salience_threshold)
        check_choice("replay_priority", self.replay_priority, PRIORITIES)
        check_choice("engagement", self.engagement, ENGAGEMENT)
        if self.engagement == "allocation":
            raise ValueError(
                "the batched DMN implements engagement 'heuristic' and 'constant'; "
                "engagement='allocation' runs in darkcontrol.dmn.DMNAgent"
            )
        check_choice("model", self.model, MODEL_MODES)
        for name in ("memory_size", "rollout_length"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if not isinstance(self.sentinel, (bool, np.bool_)):
            raise TypeError(f"sentinel must be a bool, got {self.sentinel!r}")
        if float(self.trial_s) <= 0 or float(self.iti_s) < 0 or float(self.rest_s) < 0:
            raise ValueError(
                f"need trial_s > 0, iti_s >= 0, rest_s >= 0; got {self.trial_s}, "
                f"{self.iti_s}, {self.rest_s}"
            )
        lesion = np.atleast_1d(np.asarray(self.lesion, dtype=object))
        bad = [x for x in lesion if x not in LESIONS]
        if bad:
            raise ValueError(f"lesion must be one of {LESIONS} (per agent), got {bad[0]!r}")
        w = np.broadcast_arrays(np.asarray(self.w_replay, float), np.asarray(self.w_model, float))
        if np.any(w[0] + w[1] <= 0):
            raise ValueError(
                "w_replay + w_model must be > 0 for every agent (use lesion='hippocampus' or "
                "replay_hz=0 for no offline processing)"
            )


class BatchedDMN(BatchedLearner):
    """B DMN agents (reference: ``darkcontrol.dmn.DMNAgent`` around ``q_learning``)."""

    name = "dmn"
    reference = "dmn"
    Config = BatchedDMNConfig
    has_model = True

    def _param(self, name: str) -> torch.Tensor:
        if name != "lesion":
            return super()._param(name)
        lesion = np.asarray(self.config.lesion, dtype=object)
        if lesion.ndim == 1 and len(lesion) != self.n_agents:
            raise ValueError(f"lesion has {len(lesion)} values for {self.n_agents} agents")
        mask = np.broadcast_to(lesion == "hippocampus", (self.n_agents,)).copy()
        return torch.as_tensor(mask, device=self.device)

    def _setup(self) -> None:
        super()._setup()
        cfg, p = self.config, self.p
        B, S, A = self.n_agents, self.n_states, self.n_actions
        dev, dt = self.device, self.dtype
        f64 = dict(dtype=torch.float64, device=dev)
        self.model = make_model(cfg.model, B, S, A, dev, dt)
        C = self.capacity = int(cfg.memory_size)
        self.off_C = self.arange * C
        self.sink_C = B * C
        self.mem_s = torch.zeros(B * C + 1, dtype=torch.int32, device=dev)
        self.mem_a = torch.zeros(B * C + 1, dtype=torch.int32, device=dev)
        self.mem_s2 = torch.zeros(B * C + 1, dtype=torch.int32, device=dev)
        self.mem_r = torch.zeros(B * C + 1, dtype=dt, device=dev)
        self.mem_t = torch.zeros(B * C + 1, dtype=torch.bool, device=dev)
        self.prioritised = cfg.replay_priority == "prioritised"
        if self.prioritised:
            self.mem_p = torch.zeros(B * C + 1, dtype=dt, device=dev)
            self.max_prio = torch.ones(B, dtype=dt, device=dev)
        self.n_mem = torch.zeros(B, dtype=torch.int64, device=dev)
        self.next_slot = torch.zeros(B, dtype=torch.int64, device=dev)
        self.enabled = (~p["lesion"]) & (p["replay_hz"] > 0)
        self.hz = p["replay_hz"].double()
        w_r, w_m = p["w_replay"].double(), p["w_model"].double()
        self.c_replay = (w_r / (w_r + w_m)).to(dt)
        self._any_replay = bool((p["w_replay"] > 0).any())
        self._any_model = bool((p["w_model"] > 0).any())
        self.spe_bar = torch.ones(B, **f64)
        self.carry = torch.zeros(B, **f64)
        self.roll_s = torch.full((B,), -1, dtype=torch.int64, device=dev)
        self.roll_left = torch.zeros(B, dtype=torch.int64, device=dev)
        self.salient = torch.zeros(B, dtype=torch.bool, device=dev)
        zi = dict(dtype=torch.int64, device=dev)
        self.counts = {
            k: torch.zeros(B, **zi) for k in ("n_online", "n_replay", "n_model", "n_suspended")
        }
        self.spe_sum = torch.zeros(B, **f64)

    def state_tensors(self):
        out = super().state_tensors()
        for k in ("mem_s", "mem_a", "mem_s2", "mem_r", "mem_t", "mem_p"):
            if hasattr(self, k):
                out[k] = getattr(self, k)
        return out

    @classmethod
    def bytes_per_agent(cls, n_states, n_actions, config, itemsize):
        mem = config.memory_size * (
            13 + itemsize * (2 if config.replay_priority == "prioritised" else 1)
        )
        q = n_states * n_actions * itemsize
        return q + mem + model_bytes_per_agent(config.model, n_states, n_actions, itemsize)

    # -- engagement --------------------------------------------------------------------------
    def engagement(self) -> torch.Tensor:
        """Share of the replay budget used now, (B,) float64 (0 when offline is disabled)."""
        if self.config.engagement == "constant":
            eng = torch.ones_like(self.spe_bar)
        else:
            eng = torch.maximum(self.p["min_engagement"].double(), 1.0 - self.spe_bar)
        return torch.where(self.enabled, eng, 0.0)

    # -- online ------------------------------------------------------------------------------
    def observe(self, s, a, r, s2, term, mask):
        p, A = self.p, self.n_actions
        idx = self.pair_index(s, a)
        spe = self.model.update(idx, s * A + a, r, s2, term, mask)
        self._remember(s, a, r, s2, term, mask)
        spe64 = spe.double()
        self.spe_bar = torch.where(
            mask, self.spe_bar + p["spe_rate"].double() * (spe64 - self.spe_bar), self.spe_bar
        )
        self.spe_sum += spe64 * mask
        self.counts["n_online"] += mask
        if self.config.sentinel:
            q = self.Q.view(-1).index_select(0, idx)
            v2 = torch.where(term, 0.0, self.q_rows(s2).amax(1))
            abs_value = torch.maximum(r.abs(), v2.abs())
            abs_rpe = (r + p["gamma"] * v2 - q).abs()
            sal = (
                p["w_spe"] * spe
                + (p["w_rpe"] * abs_rpe + p["w_value"] * abs_value) / p["value_scale"]
            )
            self.salient = mask & (sal >= p["salience_threshold"])
        rpe, upd = self.td_update(idx, r, s2, term, p["alpha"] * mask)
        return rpe, upd, spe

    def _remember(self, s, a, r, s2, term, mask) -> None:
        pos = torch.where(mask, self.off_C + self.next_slot, self.sink_C)
        self.mem_s.scatter_(0, pos, s.to(torch.int32))
        self.mem_a.scatter_(0, pos, a.to(torch.int32))
        self.mem_s2.scatter_(0, pos, s2.to(torch.int32))
        self.mem_r.scatter_(0, pos, r)
        self.mem_t.scatter_(0, pos, term)
        if self.prioritised:
            self.mem_p.scatter_(0, pos, self.max_prio)
        self.next_slot = torch.where(mask, (self.next_slot + 1) % self.capacity, self.next_slot)
        self.n_mem = torch.where(mask, (self.n_mem + 1).clamp(max=self.capacity), self.n_mem)

    # -- offline -----------------------------------------------------------------------------
    def _mem_draw(self, u: torch.Tensor) -> torch.Tensor:
        """Flat memory slot per agent: uniform, or prioritised P(i) ~ p_i^kappa."""
        n = self.n_mem
        if not self.prioritised:
            pos = (u * n.to(u.dtype)).long()
            return self.off_C + torch.minimum(pos, (n - 1).clamp(min=0))
        C = self.capacity
        prio = self.mem_p[:-1].view(-1, C) ** self.p["priority_exponent"][:, None]
        filled = torch.arange(C, device=self.device)[None, :] < n[:, None]
        cdf = torch.where(filled, prio, 0.0).cumsum(1)
        pos = (cdf <= (u * cdf[:, -1])[:, None]).sum(1)
        return self.off_C + torch.minimum(pos, (n - 1).clamp(min=0))

    def _offline_step(self, m, U, stats):
        """One offline step for the agents in ``m`` from their six uniforms ``U`` (B, 6)."""
        p, A = self.p, self.n_actions
        use_replay = U[:, 0] < self.c_replay
        if not self._any_model:
            use_replay = torch.ones_like(m)
        elif not self._any_replay:
            use_replay = torch.zeros_like(m)
        parts = []
        if self._any_replay:
            i = self._mem_draw(U[:, 1])
            rs = self.mem_s.index_select(0, i).long()
            ra = self.mem_a.index_select(0, i).long()
            parts.append(
                (
                    rs,
                    ra,
                    self.mem_r.index_select(0, i),
                    self.mem_s2.index_select(0, i).long(),
                    self.mem_t.index_select(0, i),
                )
            )
            if self.prioritised:
                ridx = self.pair_index(rs, ra)
                q = self.Q.view(-1).index_select(0, ridx)
                r, s2, t = parts[-1][2:]
                y = torch.where(t, r, r + p["gamma"] * self.q_rows(s2).amax(1))
                prio = (y - q).abs() + PRIORITY_EPS
                hit = m & use_replay
                self.mem_p.scatter_(0, torch.where(hit, i, self.sink_C), prio)
                self.max_prio = torch.where(hit, torch.maximum(self.max_prio, prio), self.max_prio)
        if self._any_model:
            L = self.config.rollout_length
            new = (self.roll_s < 0) | (self.roll_left <= 0)
            start = self.mem_s.index_select(0, self._mem_draw(U[:, 2])).long()
            ms = torch.where(new, start, self.roll_s)
            left = torch.where(new, L, self.roll_left)
            tried = self._tried_rows(ms)
            dead = ~tried.any(1)
            restart = self.mem_s.index_select(0, self._mem_draw(U[:, 3])).long()
            ms = torch.where(dead, restart, ms)
            left = torch.where(dead, L, left)
            tried = self._tried_rows(ms)
            probs = self.sampler.probs(self.q_rows(ms)) * tried
            total = probs.sum(1)
            weights = torch.where((total > 0)[:, None], probs, tried.to(probs.dtype))
            norm = torch.where(total > 0, total, tried.sum(1).to(probs.dtype))
            cdf = weights.cumsum(1)
            ma = (cdf <= (U[:, 4] * norm)[:, None]).sum(1)
            last = A - 1 - torch.argmax((weights.flip(1) > 0).to(torch.uint8), dim=1)
            ma = torch.minimum(ma, last)
            mr, ms2, mt = self.model.outcome(self.pair_index(ms, ma), U[:, 5])
            parts.append((ms, ma, mr, ms2, mt))
            took = m & ~use_replay
            self.roll_left = torch.where(took, left - 1, self.roll_left)
            self.roll_s = torch.where(took, torch.where(mt, -1, ms2), self.roll_s)
        if len(parts) == 1:
            s, a, r, s2, t = parts[0]
        else:
            s, a, r, s2, t = (torch.where(use_replay, x, y) for x, y in zip(*parts))
        rpe, upd = self.td_update(self.pair_index(s, a), r, s2, t, p["alpha"] * m)
        self.counts["n_replay"] += m & use_replay
        self.counts["n_model"] += m & ~use_replay
        if stats is not None:
            stats[0] += rpe.abs() * m
            stats[1] += upd

    def _tried_rows(self, s: torch.Tensor) -> torch.Tensor:
        idx = (self.off_SA + s * self.n_actions)[:, None] + torch.arange(
            self.n_actions, device=self.device
        )
        return self.model.tried.index_select(0, idx.reshape(-1)).view(-1, self.n_actions)

    def window(self, seconds: float, who: torch.Tensor, counter: int, stats=None) -> torch.Tensor:
        """An offline window of ``seconds`` for the agents in ``who``; returns steps made."""
        zero = torch.zeros(self.n_agents, dtype=torch.int64, device=self.device)
        if seconds <= 0:
            return zero
        ok = who & self.enabled & (self.n_mem > 0)
        x = float(seconds) * self.hz * self.engagement() + self.carry
        n = torch.floor(x)
        self.carry = torch.where(ok, x - n, self.carry)
        n = torch.where(ok, n.long(), zero)
        n_max = int(n.max())
        for j0 in range(0, n_max, STEP_BLOCK):
            k = min(STEP_BLOCK, n_max - j0)
            U = self.rng.uniforms(
                counter, SLOT_ALGO + SLOTS_PER_OFFLINE * j0, SLOTS_PER_OFFLINE * k
            )
            for j in range(k):
                cols = U[:, SLOTS_PER_OFFLINE * j : SLOTS_PER_OFFLINE * (j + 1)]
                self._offline_step(j0 + j < n, cols, stats)
        return n

    def reset_rollouts(self, who: torch.Tensor) -> None:
        """Start of an episode: imagined rollouts restart."""
        self.roll_s = torch.where(who, -1, self.roll_s)
        self.roll_left = torch.where(who, 0, self.roll_left)

    def plan(self, counter, mask, stats=False, done=None):
        """The episodic clock: the ITI window after the real step (unless salient), then for
        agents whose episode ended and have another one, the rollout reset and rest_s."""
        cfg = self.config
        sums = None
        if stats:
            z = torch.zeros(self.n_agents, dtype=self.dtype, device=self.device)
            sums = [z, z.clone()]
        susp = mask & self.salient
        self.counts["n_suspended"] += susp
        n = self.window(cfg.iti_s, mask & ~self.salient, counter, sums)
        if done is not None:
            run = self._run
            more = mask & done & (run.ep + 1 < run.E)
            self.reset_rollouts(mask & done)
            n = n + self.window(cfg.rest_s, more, REST_COUNTER + counter, sums)
        return (n, sums[0], sums[1]) if stats else None

    # -- the schedule clock ------------------------------------------------------------------
    @torch.inference_mode()
    def run_schedule(
        self, schedule, *, max_steps: int | None = None, record_regions: bool = True
    ) -> BatchResult:
        """Run every agent through ``schedule`` (a ``darkcontrol.dmn.Schedule``).

        Task blocks: trials of one online step each followed by its ITI window (suspended
        after a salient step; the last ITI stretches to the block's end); rest blocks: one
        offline window. An episode that ends starts the next at the next trial; the world
        stays where it is across rest. ``max_steps`` truncates episodes. Curves hold the
        finished episodes (-1 after); ``regions`` one column per block (BLOCK_STATS)."""
        from darkcontrol.dmn.schedule import Schedule

        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
        if max_steps is not None and (isinstance(max_steps, bool) or int(max_steps) < 1):
            raise ValueError(f"max_steps must be an int >= 1 or None, got {max_steps!r}")
        t0 = time.perf_counter()
        B, dev, dt = self.n_agents, self.device, self.dtype
        n_trials = schedule.n_trials
        E = n_trials + 1
        lengths = torch.full((B, E + 1), -1, dtype=torch.int64, device=dev)
        returns = torch.full((B, E + 1), float("nan"), dtype=dt, device=dev)
        blocks = {k: np.full((B, len(schedule)), np.nan) for k in BLOCK_STATS}
        ep = torch.zeros(B, dtype=torch.int64, device=dev)
        ep_len = torch.zeros(B, dtype=torch.int64, device=dev)
        ep_ret = torch.zeros(B, dtype=dt, device=dev)
        every = torch.ones(B, dtype=torch.bool, device=dev)
        s = self.world.reset(self.rng.uniforms(0, SLOT_RESET, 1)[:, 0])
        trial = 0
        for b, block in enumerate(schedule.blocks):
            before = {k: v.clone() for k, v in self.counts.items()}
            spe0 = self.spe_sum.clone()
            on = [torch.zeros(B, dtype=dt, device=dev) for _ in range(2)]
            off = [torch.zeros(B, dtype=dt, device=dev) for _ in range(2)]
            n_off = torch.zeros(B, dtype=torch.int64, device=dev)
            if block.kind == "rest":
                n_off += self.window(block.duration, every, REST_COUNTER + b, off)
            for k in range(block.n_trials):
                trial += 1
                U = self.rng.uniforms(trial, 0, SLOT_ALGO)
                a = self.act(s, U[:, SLOT_ACTION])
                s2, r, term = self.world.step(s, a, U[:, SLOT_WORLD])
                ep_len += 1
                done = term if max_steps is None else term | (ep_len >= max_steps)
                rpe, upd, _ = self.observe(s, a, r, s2, term, every)
                on[0] += rpe.abs()
                on[1] += upd
                self.counts["n_suspended"] += self.salient
                n_off += self.window(block.iti_length(k), ~self.salient, trial, off)
                ep_ret += r
                fin = torch.where(done, ep, E)[:, None]
                lengths.scatter_(1, fin, ep_len[:, None])
                returns.scatter_(1, fin, ep_ret[:, None])
                ep += done.long()
                self.reset_rollouts(done)
                s = torch.where(done, self.world.reset(U[:, SLOT_RESET]), s2)
                ep_len.masked_fill_(done, 0)
                ep_ret.masked_fill_(done, 0.0)
            diff = {k: (v - before[k]).double().cpu().numpy() for k, v in self.counts.items()}
            n_on, n_o = diff["n_online"], n_off.double().cpu().numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                blocks["n_online"][:, b] = n_on
                blocks["n_offline"][:, b] = n_o
                blocks["n_replay"][:, b] = diff["n_replay"]
                blocks["n_model"][:, b] = diff["n_model"]
                blocks["n_suspended"][:, b] = diff["n_suspended"]
                blocks["offline_share"][:, b] = n_o / (n_on + n_o)
                blocks["mean_spe"][:, b] = (self.spe_sum - spe0).cpu().numpy() / n_on
                blocks["engagement"][:, b] = self.engagement().cpu().numpy()
                blocks["abs_rpe_online"][:, b] = on[0].double().cpu().numpy() / n_on
                blocks["update_norm_online"][:, b] = on[1].double().cpu().numpy() / n_on
                blocks["abs_rpe_offline"][:, b] = off[0].double().cpu().numpy() / n_o
                blocks["update_norm_offline"][:, b] = off[1].double().cpu().numpy() / n_o
        info = self.describe()
        info["schedule"] = schedule.to_dicts()
        return BatchResult(
            algorithm=self.name,
            seeds=self.seeds.copy(),
            lengths=lengths[:, :E].cpu().numpy(),
            returns=returns[:, :E].double().cpu().numpy(),
            Q=self.q_table().double().cpu().numpy(),
            regions=blocks if record_regions else {},
            index="block",
            steps=trial,
            seconds=time.perf_counter() - t0,
            info=info,
        )

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["reference_config"] = {
            "account": "sentinel",
            "w_recombined": 0.0,
            "reconsolidate": False,
            "agent": "q_learning",
        }
        return out
