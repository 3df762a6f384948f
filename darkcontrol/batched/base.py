"""The batched learner: B tabular agents as one tensor program, and its episodic loop.

All agents step in lockstep: at lockstep step t every agent acts once in its own copy of the
world (``BatchedWorld``), learns online, then plans offline. An agent whose episode ends
(terminal state or ``max_steps`` reached, the runner's truncation) starts a new one at once
(auto-reset); an agent that has finished its ``n_episodes`` keeps stepping with every update
masked off (its values, model and curves no longer change) until all agents are done. This is
:func:`darkcontrol.simulate` for each agent: act, step, observe (truncated
episodes bootstrap), plan after every real step.

Randomness: agent i's uniforms are ``CounterRNG`` draws of (seed_i, t, slot), slots 0-2 the
action, the world transition and the reset state, slots from 3 on for the algorithm's planning
draws. Nothing an agent computes depends on the other agents of the batch.

Per-episode region summaries (``record_regions=True``), the per-episode means of the Trace
quantities the paper maps onto DMN nodes (Dohmatob, Dumas & Bzdok 2020, Hum Brain Mapp,
Figure 4): ``abs_rpe_online`` / ``abs_rpe_offline`` (right TPJ), ``update_norm_online`` /
``update_norm_offline`` (PMC), ``n_offline`` (hippocampus: offline steps), and ``spe_online``
(left TPJ) for learners with a world model.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from darkcontrol._torch import resolve_device, resolve_dtype
from darkcontrol._util import build_config, check_choice
from darkcontrol.batched.params import batch_size_of, per_agent
from darkcontrol.batched.policy import ATOL, PolicySampler
from darkcontrol.batched.rng import CounterRNG, check_seeds
from darkcontrol.batched.world import BatchedWorld
from darkcontrol.constants import POLICIES
from darkcontrol.envs.mdp import TabularMDP

SLOT_ACTION, SLOT_WORLD, SLOT_RESET, SLOT_ALGO = 0, 1, 2, 3
BACKENDS = ("auto", "torch", "numba")
REGION_SUMS = ("abs_rpe_online", "update_norm_online", "abs_rpe_offline", "update_norm_offline")


@dataclass
class BatchResult:
    """What a batched run produced, as numpy arrays on the host.

    ``lengths``/``returns`` (B, E): steps and undiscounted return of each episode (-1 / NaN
    for an episode that did not happen, only in schedule runs). ``Q`` (B, S, A) the final
    action values. ``regions``: name -> (B, E) per-episode (or per-block) summaries."""

    algorithm: str
    seeds: np.ndarray
    lengths: np.ndarray
    returns: np.ndarray
    Q: np.ndarray
    regions: dict[str, np.ndarray] = field(default_factory=dict)
    index: str = "episode"  #: what the columns of ``regions`` count: "episode" | "block"
    steps: int = 0  #: lockstep steps taken
    seconds: float = 0.0  #: wall-clock time of the run
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_agents(self) -> int:
        return len(self.seeds)

    def curves(self, agent_ids: Sequence[int] | np.ndarray | None = None) -> pd.DataFrame:
        """Learning curves in long format: ``agent, episode, steps, return``."""
        B, E = self.lengths.shape
        ids = np.arange(B) if agent_ids is None else np.asarray(agent_ids, dtype=np.int64)
        if len(ids) != B:
            raise ValueError(f"agent_ids has {len(ids)} entries for {B} agents")
        keep = self.lengths.reshape(-1) >= 0
        return pd.DataFrame(
            {
                "agent": np.repeat(ids, E)[keep].astype(np.int64),
                "episode": np.tile(np.arange(E, dtype=np.int32), B)[keep],
                "steps": self.lengths.reshape(-1)[keep].astype(np.int32),
                "return": self.returns.reshape(-1)[keep].astype(np.float32),
            }
        )

    def region_frame(self, agent_ids: Sequence[int] | np.ndarray | None = None) -> pd.DataFrame:
        """Region summaries in long format: ``agent, <index>, <one column per quantity>``."""
        if not self.regions:
            return pd.DataFrame()
        B, E = next(iter(self.regions.values())).shape
        ids = np.arange(B) if agent_ids is None else np.asarray(agent_ids, dtype=np.int64)
        out = {
            "agent": np.repeat(ids, E).astype(np.int64),
            self.index: np.tile(np.arange(E, dtype=np.int32), B),
        }
        for name, arr in self.regions.items():
            out[name] = arr.reshape(-1).astype(np.float32)
        frame = pd.DataFrame(out)
        if self.index == "episode":
            frame = frame[self.lengths.reshape(-1) >= 0].reset_index(drop=True)
        return frame


class BatchedLearner(ABC):
    """Base class: config, seeds, world, counter RNG, Q table, policy, the episodic loop.

    Subclasses define ``name``, ``reference`` (the registry name of the single-agent
    algorithm they batch), a dataclass ``Config`` with a ``PER_AGENT`` tuple, ``_setup``
    (allocate their state), ``observe`` (online learning) and optionally ``plan``."""

    name: ClassVar[str] = "batched"
    reference: ClassVar[str] = ""
    Config: ClassVar[type]
    has_model: ClassVar[bool] = False

    def __init__(
        self,
        mdp: TabularMDP,
        seeds: Sequence[int] | np.ndarray,
        config: Any = None,
        *,
        device: str | torch.device | None = "cpu",
        dtype: str | torch.dtype = "float32",
        backend: str = "auto",
        **params: Any,
    ) -> None:
        if config is None or isinstance(config, Mapping):
            self.config = build_config(self.Config, config, **params)
        elif isinstance(config, self.Config):
            self.config = (
                build_config(self.Config, {**asdict(config), **params}) if params else config
            )
        else:
            raise TypeError(f"config must be a {self.Config.__name__} or a dict, got {config!r}")
        self.seeds = check_seeds(seeds)
        B = len(self.seeds)
        implied = batch_size_of(self.config)
        if implied is not None and implied != B:
            raise ValueError(f"per-agent parameters have {implied} values for {B} seeds")
        self.n_agents = B
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        self.world = BatchedWorld(mdp, self.device, self.dtype)
        S, A = self.world.n_states, self.world.n_actions
        self.n_states, self.n_actions = S, A
        self.rng = CounterRNG(self.seeds, self.device, self.dtype)
        self.p = {n: self._param(n) for n in self.Config.PER_AGENT}
        dev = self.device
        self.arange = torch.arange(B, device=dev)
        self.off_S = self.arange * S  # row offsets into (B*S, ...) views
        self.off_SA = self.arange * (S * A)
        cfg = self.config
        if hasattr(cfg, "policy"):
            check_choice("policy", cfg.policy, POLICIES)
            self.sampler = PolicySampler(cfg.policy, A, self.p["epsilon"], self.p["beta"])
        self._setup()
        self.backend = self._resolve_backend(backend)
        self._run: _RunState | None = None

    # -- backends ------------------------------------------------------------------------------
    def kernel_unsupported(self) -> str | None:
        """Why this learner cannot run on the compiled CPU kernel (None: it can). Learners
        with a kernel override this; the default is torch only."""
        return f"{self.name} has no compiled kernel"

    def _resolve_backend(self, backend: str) -> str:
        """ "torch" | "numba" | "auto" (numba on CPU where the learner has a kernel, else
        torch). Both give the same results for the same seeds (tests/test_batched_*.py)."""
        check_choice("backend", backend, BACKENDS)
        if backend == "torch":
            return "torch"
        from darkcontrol.batched import kernels

        why = self.kernel_unsupported()
        if why is None and self.device.type != "cpu":
            why = f"the numba kernel runs on the CPU, not on {self.device}"
        if why is None and not kernels.HAVE_NUMBA:
            why = "numba is not installed"
        if backend == "numba" and why is not None:
            raise ValueError(f"backend='numba' is not available: {why}; use backend='torch'")
        return "torch" if why is not None else "numba"

    def _kernel_model(self) -> tuple:
        """(has_model, tried, terminal, pairs, n_pairs, next, reward) for the kernel."""
        z = np.zeros(1, dtype=np.int64)
        dt = torch.empty(0, dtype=self.dtype).numpy().dtype
        return (False, z.astype(bool), z.astype(bool), z, z, z.astype(np.int32), z.astype(dt))

    def _param(self, name: str) -> torch.Tensor:
        return per_agent(self.config, name, self.n_agents, self.device, self.dtype)

    # -- subclass hooks ------------------------------------------------------------------------
    def _setup(self) -> None:
        """Allocate the learner's state (default: a Q table filled with ``q_init``)."""
        q0 = self.p.get("q_init")
        S, A = self.n_states, self.n_actions
        self.Q = torch.empty((self.n_agents, S, A), dtype=self.dtype, device=self.device)
        self.Q[:] = (q0 if q0 is not None else torch.zeros(self.n_agents))[:, None, None]

    def q_rows(self, s: torch.Tensor) -> torch.Tensor:
        """Action values Q(s_b, .) of every agent's state, (B, A)."""
        return self.Q.view(-1, self.n_actions).index_select(0, self.off_S + s)

    def q_table(self) -> torch.Tensor:
        """All action values (B, S, A)."""
        return self.Q

    def act(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.sampler.sample(self.q_rows(s), u)[0]

    @abstractmethod
    def observe(self, s, a, r, s2, term, mask) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Learn from real transitions of the agents in ``mask``; (rpe, update_norm, spe|None)."""

    def plan(self, counter: int, mask: torch.Tensor, stats: bool = False, done=None):
        """Offline steps after real step ``counter`` for the agents in ``mask`` (``done``:
        whose episode just ended).

        Returns None (no planning, or ``stats`` False) or (n_steps, sum |rpe|,
        sum update_norm), each (B,)."""
        return None

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The learner's persistent per-agent tensors (for memory accounting)."""
        out = {"Q": self.Q}
        model = getattr(self, "model", None)
        if model is not None:
            out.update(
                {
                    f"model.{k}": v
                    for k, v in vars(model).items()
                    if isinstance(v, torch.Tensor) and v.numel() > self.n_agents
                }
            )
        return out

    def nbytes(self) -> int:
        return int(sum(t.element_size() * t.nelement() for t in self.state_tensors().values()))

    @classmethod
    def bytes_per_agent(cls, n_states: int, n_actions: int, config: Any, itemsize: int) -> int:
        """Persistent bytes per agent of this learner (the sweep's chunking estimate)."""
        return n_states * n_actions * itemsize

    # -- the Q-learning backup shared by most learners ------------------------------------------
    def pair_index(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Flat index of (agent, s, a) into (B*S*A,) tables."""
        return self.off_SA + s * self.n_actions + a

    def td_update(self, idx, r, s2, term, alpha):
        """Q(s, a) += alpha [y - Q(s, a)], y = r (terminal s') or r + gamma max Q(s', .).

        ``idx`` from :meth:`pair_index`; ``alpha`` (B,) is zero for masked agents. Returns
        (rpe, |Delta Q|), computed as the reference's ``QLearning.backup``."""
        Qf = self.Q.view(-1)
        q = Qf.index_select(0, idx)
        boot = self.q_rows(s2).amax(1)
        y = torch.where(term, r, r + self.p["gamma"] * boot)
        delta = y - q
        step = alpha * delta
        Qf.scatter_(0, idx, q + step)
        return delta, step.abs()

    # -- the episodic loop ---------------------------------------------------------------------
    def start(self, n_episodes: int, max_steps: int, *, record_regions: bool = False) -> None:
        """Begin a run of ``n_episodes`` episodes per agent, each truncated at ``max_steps``."""
        if isinstance(n_episodes, bool) or not isinstance(n_episodes, (int, np.integer)):
            raise TypeError(f"n_episodes must be an int, got {n_episodes!r}")
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)):
            raise TypeError(
                f"max_steps must be an int (batched runs need a bound on episodes), "
                f"got {max_steps!r}"
            )
        if n_episodes < 1 or max_steps < 1:
            raise ValueError(
                f"need n_episodes >= 1 and max_steps >= 1, got {n_episodes}, {max_steps}"
            )
        self._run = _RunState(self, int(n_episodes), int(max_steps), record_regions)

    @torch.inference_mode()
    def step(self) -> bool:
        """One lockstep real step (plus planning) of every agent; False once all are done."""
        run = self._run
        if run is None:
            raise RuntimeError("call start(n_episodes, max_steps) before step()")
        return run.step()

    @torch.inference_mode()
    def advance(self, n_steps: int) -> bool:
        """``n_steps`` lockstep steps (fewer at the end of the run); False once all are done.

        The same as ``n_steps`` calls of :meth:`step`; the numba backend runs them agent by
        agent (each agent's tables stay in cache), which is much faster than one at a time."""
        run = self._run
        if run is None:
            raise RuntimeError("call start(n_episodes, max_steps) before advance()")
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive int, got {n_steps!r}")
        if run.kernel is not None:
            run.advance(int(n_steps))
        else:
            for _ in range(int(n_steps)):
                run.step()
        return run.t < run.t_max and bool(run.active.any())

    def result(self) -> BatchResult:
        if self._run is None:
            raise RuntimeError("nothing has run yet")
        return self._run.result()

    def run(
        self,
        n_episodes: int,
        max_steps: int,
        *,
        record_regions: bool = False,
        progress: bool = False,
        check_every: int = 32,
    ) -> BatchResult:
        """Run every agent for ``n_episodes`` episodes; returns the :class:`BatchResult`.

        ``check_every``: lockstep steps between checks whether all agents are done (a check
        synchronises with the device)."""
        self.start(n_episodes, max_steps, record_regions=record_regions)
        run = self._run
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_episodes, desc=self.name, unit="ep", leave=False)
        if run.kernel is not None:  # agent-major: each agent runs all its episodes at once
            last = run.advance(run.t_max)
            if bool(run.active.any()):
                last = run.t_max
            # the step count at which the lockstep loop below would have stopped
            run.t = min(run.t_max, -(-max(last, 1) // check_every) * check_every)
            if bar is not None:
                bar.close()
            return run.result()
        with torch.inference_mode():
            while True:
                for _ in range(check_every):
                    run.step()
                if run.t >= run.t_max or not bool(run.active.any()):
                    break
                if bar is not None:
                    bar.n = int(run.ep.min())
                    bar.refresh()
        if bar is not None:
            bar.n = n_episodes
            bar.close()
        return run.result()

    def describe(self) -> dict[str, Any]:
        cfg = asdict(self.config) if is_dataclass(self.config) else dict(self.config)
        for k, v in cfg.items():
            if isinstance(v, np.ndarray):
                cfg[k] = v.tolist()
        return {
            "algorithm": self.name,
            "reference": self.reference,
            "config": cfg,
            "device": str(self.device),
            "backend": self.backend,
            "dtype": str(self.dtype).replace("torch.", ""),
            "world_deterministic": self.world.deterministic,
        }


class _RunState:
    """Tensors of one episodic run: current states, episode counters, curves, summaries."""

    def __init__(self, learner: BatchedLearner, n_episodes: int, max_steps: int, regions: bool):
        self.L = learner
        B, dev, dt = learner.n_agents, learner.device, learner.dtype
        self.E, self.max_steps = n_episodes, max_steps
        self.t = 0
        self.t_max = n_episodes * max_steps
        self.t0 = time.perf_counter()
        u = learner.rng.uniforms(0, SLOT_RESET, 1)[:, 0]
        self.s = learner.world.reset(u)
        self.ep = torch.zeros(B, dtype=torch.int64, device=dev)
        self.ep_len = torch.zeros(B, dtype=torch.int64, device=dev)
        self.ep_ret = torch.zeros(B, dtype=dt, device=dev)
        self.active = torch.ones(B, dtype=torch.bool, device=dev)
        # one extra column: the sink that absorbs writes of agents that are done
        self.lengths = torch.full((B, self.E + 1), -1, dtype=torch.int64, device=dev)
        self.returns = torch.full((B, self.E + 1), float("nan"), dtype=dt, device=dev)
        self.regions = regions
        if regions:
            names = [*REGION_SUMS, "n_offline"] + (["spe_online"] if learner.has_model else [])
            self.stacked = torch.zeros((len(names), B, self.E + 1), dtype=dt, device=dev)
            self.sums = {n: self.stacked[i] for i, n in enumerate(names)}
        self.kernel = _KernelArgs(self) if learner.backend == "numba" else None

    def advance(self, n_steps: int) -> int:
        """The compiled kernel: up to ``n_steps`` steps of every agent, agent by agent; returns
        the latest step at which an agent finished (0 if none did)."""
        if self.t >= self.t_max:
            return 0
        t_end = min(self.t + n_steps, self.t_max)
        done_at = self.kernel.call(self.t, t_end - self.t)
        self.t = t_end
        return int(done_at.max())

    def step(self) -> bool:
        L, t = self.L, self.t
        if t >= self.t_max:
            return False
        if self.kernel is not None:
            self.advance(1)
            return True
        U = L.rng.uniforms(t + 1, 0, SLOT_ALGO)  # counter 0 is the first reset
        active = self.active
        s = self.s
        a = L.act(s, U[:, SLOT_ACTION])
        s2, r, term = L.world.step(s, a, U[:, SLOT_WORLD])
        self.ep_len += 1
        done = term | (self.ep_len >= self.max_steps)
        rpe, upd, spe = L.observe(s, a, r, s2, term, active)
        off = L.plan(t + 1, active, self.regions, done)
        self.ep_ret += r
        col = torch.where(active, self.ep, self.E)[:, None]
        if self.regions:
            sums = self.sums
            sums["abs_rpe_online"].scatter_add_(1, col, rpe.abs()[:, None])
            sums["update_norm_online"].scatter_add_(1, col, upd[:, None])
            if spe is not None:
                sums["spe_online"].scatter_add_(1, col, spe[:, None])
            if off is not None:
                n_off, rpe_off, upd_off = off
                sums["n_offline"].scatter_add_(1, col, n_off.to(L.dtype)[:, None])
                sums["abs_rpe_offline"].scatter_add_(1, col, rpe_off[:, None])
                sums["update_norm_offline"].scatter_add_(1, col, upd_off[:, None])
        fin = torch.where(done & active, self.ep, self.E)[:, None]
        self.lengths.scatter_(1, fin, self.ep_len[:, None])
        self.returns.scatter_(1, fin, self.ep_ret[:, None])
        self.ep += (done & active).long()
        self.active = self.ep < self.E
        self.s = torch.where(done, L.world.reset(U[:, SLOT_RESET]), s2)
        self.ep_len.masked_fill_(done, 0)
        self.ep_ret.masked_fill_(done, 0.0)
        self.t = t + 1
        return True

    def result(self) -> BatchResult:
        L = self.L
        lengths = self.lengths[:, : self.E].cpu().numpy()
        regions = {}
        if self.regions:
            n_on = np.maximum(lengths, 1).astype(np.float64)
            n_off = self.sums["n_offline"][:, : self.E].double().cpu().numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                for name, tensor in self.sums.items():
                    arr = tensor[:, : self.E].double().cpu().numpy()
                    if name == "n_offline":
                        regions[name] = arr
                    elif name.endswith("_offline"):
                        regions[name] = np.where(n_off > 0, arr / n_off, np.nan)
                    else:
                        regions[name] = arr / n_on
        return BatchResult(
            algorithm=L.name,
            seeds=L.seeds.copy(),
            lengths=lengths,
            returns=self.returns[:, : self.E].double().cpu().numpy(),
            Q=L.q_table().double().cpu().numpy(),
            regions=regions,
            index="episode",
            steps=self.t,
            seconds=time.perf_counter() - self.t0,
            info=L.describe(),
        )


class _KernelArgs:
    """The arguments of :func:`darkcontrol.batched.kernels.advance` for one run: numpy views
    of the learner's and the run's CPU tensors (the kernel writes into them in place)."""

    def __init__(self, run: _RunState) -> None:
        from darkcontrol.batched import kernels

        self.fn = kernels.advance
        L = run.L
        B, A = L.n_agents, L.n_actions
        np_dt = torch.empty(0, dtype=L.dtype).numpy().dtype
        w = L.world
        eps = L.sampler.eps  # (B, 1), zero for "greedy"
        k = torch.arange(A + 1, dtype=torch.int64).clamp(min=1)[None, :]
        uniform = eps / A
        greedy = (1.0 - eps) / k + uniform  # the torch values of PolicySampler.probs
        n_plan = getattr(L, "n_planning", torch.zeros(B, dtype=torch.int64))
        n_top = max(L.n_states * A, int(n_plan.max()) if B else 0) + 1
        if w.deterministic:
            det = (w.next_state.numpy(), w.reward.numpy())
            sto = (np.zeros((1, 1), np_dt), np.zeros(1, np.int64), np.zeros(1, np_dt))
        else:
            det = (np.zeros(1, np.int64), np.zeros(1, np_dt))
            sto = (w.cdf.numpy(), w.last_pos.numpy(), w.reward_sas.numpy())
        if w.single_start is not None:
            start = (w.single_start, np.zeros(1, np_dt), 0)
        else:
            start = (-1, w.start_cdf.numpy(), w.start_last)
        rng = L.rng
        slots = 3 + 2 * int(n_plan.max()) if B else 3
        slot_mix = rng._slot_mix(0, slots).numpy().copy()
        self.done_at = np.zeros(B, dtype=np.int64)
        sums = run.stacked.numpy() if run.regions else np.zeros((1, 1, 1), np_dt)
        self.args = (
            run.t_max,
            run.max_steps,
            run.E,
            L.Q.numpy(),
            L.p["alpha"].numpy(),
            L.p["gamma"].numpy(),
            greedy.contiguous().numpy(),
            uniform[:, 0].contiguous().numpy(),
            np_dt.type(ATOL),  # in the learner's dtype, as torch rounds it
            n_plan.numpy(),
            rng.key.numpy(),
            rng._shift,
            rng._scale,
            slot_mix,
            np.arange(n_top, dtype=np_dt),
            w.deterministic,
            *det,
            *sto,
            w.terminal.numpy(),
            *start,
            run.s.numpy(),
            run.ep.numpy(),
            run.ep_len.numpy(),
            run.ep_ret.numpy(),
            run.active.numpy(),
            run.lengths.numpy(),
            run.returns.numpy(),
            *L._kernel_model(),
            run.regions,
            sums,
            self.done_at,
        )
        if not L.has_model and kernels.MAX_TABLE_ACTIONS >= A:
            # Q-learning: the lean kernel (agents interleaved), without the model's arguments
            a = self.args
            self.fn = kernels.advance_q
            self.args = (*a[:9], *a[10:14], *a[15:32], *a[39:])

    def call(self, t0: int, n_steps: int) -> np.ndarray:
        self.done_at[:] = 0
        self.fn(t0, n_steps, *self.args)
        return self.done_at
