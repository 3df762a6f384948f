"""The one runner: any agent (the DMN model included) on any environment, episodes or a Schedule.

:func:`simulate` is the only loop over episodes and schedules in the package (``darkcontrol
simulate`` calls it; so do the studies in ``scripts/``). It owns the experiment's clock
(:class:`darkcontrol.clock.Clock`): a trial is one online step (the agent acts, the world
answers, ``agent.observe``), then the agent is handed the inter-trial interval,
``agent.offline(iti_s, kind="iti", clock=clock)``; between episodes (``rest_s``) and in the
rest blocks of a :class:`darkcontrol.clock.Schedule` it is handed a rest,
``agent.offline(seconds, kind="rest", clock=clock)``. How many offline steps an agent makes in a
window is its own rule (:meth:`darkcontrol.agents.Agent.offline`): Dyna's n for plain agents,
replay rate x engagement for the DMN. The runner never asks what an agent is called.

Episode mode: run k uses seed ``seeds[k]`` for the agent (when built by name) and for the
environment's first reset, so the same arguments give the same Trace. Trial t of an episode
starts when trial t - 1's ITI ends; the Trace's ``time`` is that clock (seconds). Schedule mode:
the clock starts at 0 s, the blocks give trial onsets and ITIs (their last ITI stretches to the
block's end), an episode that ends restarts at the next trial, and the world waits across rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol._util import progress as progress_bar
from darkcontrol.agents.base import Agent, EpisodeLog
from darkcontrol.agents.registry import AGENTS, make_agent
from darkcontrol.clock import Clock, Schedule
from darkcontrol.envs import ENV_IDS
from darkcontrol.trace import RECORD_MODES, TraceRecorder, coerce_trace, write_trace


def available_envs() -> list[str]:
    """darkcontrol's registered environment ids."""
    return list(ENV_IDS)


def available_agents() -> list[str]:
    """The registered agent names (``"dmn"`` included)."""
    return sorted(AGENTS)


def make_env(env_id: str, **env_params: Any) -> Any:
    """``gymnasium.make(env_id, **env_params)``, with the list of ours for an unknown id."""
    import gymnasium as gym  # deferred: only the runner and the CLI build environments

    if env_id not in gym.registry:
        ours = ", ".join(available_envs())
        raise ValueError(f"unknown environment {env_id!r}; darkcontrol's are: {ours}")
    return gym.make(env_id, **env_params)


@dataclass
class RunSummary(EpisodeLog):
    """One run: per-episode lengths and returns (:class:`EpisodeLog`), the agent's counts per
    episode (``episodes``: :meth:`Agent.stats_since`) and, in schedule mode, per block
    (``blocks``: kind, onset, duration, n_online, n_offline, offline_share, and the agent's
    counts, e.g. the DMN's n_replay, n_suspended, mean_spe, engagement)."""

    run: int = 0
    seed: int | None = None
    finished: int = 0  #: episodes that ended (the last one of a schedule may not have)
    episodes: list[dict[str, float]] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def offline_share(self) -> float:
        """Offline steps / all steps over the schedule's blocks (NaN without blocks)."""
        n_on = float(sum(b["n_online"] for b in self.blocks))
        n_off = float(sum(b["n_offline"] for b in self.blocks))
        return n_off / (n_on + n_off) if n_on + n_off else float("nan")


@dataclass
class Summary:
    """What :func:`simulate` reports besides the Trace; ``str()`` is a one-paragraph text."""

    runs: list[RunSummary]
    config: dict[str, Any]
    n_online: int = 0
    n_offline: int = 0
    out: str | None = None

    def __str__(self) -> str:
        lines = []
        for r in self.runs:
            if r.lengths:
                lengths, returns = r.as_arrays()
                lines.append(
                    f"run {r.run} (seed {r.seed}): first/last episode length "
                    f"{lengths[0]}/{lengths[-1]}, mean return {returns.mean():.3f}"
                )
            else:
                lines.append(f"run {r.run} (seed {r.seed}): no trials")
        lines.append(
            f"{self.n_online + self.n_offline} Trace rows ({self.n_online} online, "
            f"{self.n_offline} offline)"
        )
        if self.out:
            lines.append(f"wrote {self.out}")
        return "\n".join(lines)


def simulate(
    env: str | Any = "darkcontrol/DynaMaze-v0",
    agent: str | Agent = "q_learning",
    /,
    *,
    episodes: int | None = None,
    schedule: Schedule | None = None,
    seeds: int | Sequence[int | None] = 1,
    first_seed: int = 0,
    clock: Clock | Mapping[str, Any] | None = None,
    record: str = "full",
    max_steps: int | None = None,
    progress: bool = False,
    env_params: Mapping[str, Any] | None = None,
    out: str | None = None,
    **params: Any,
) -> tuple[pd.DataFrame, Summary]:
    """Run ``agent`` on ``env`` for ``episodes`` episodes or through ``schedule``, once per seed.

    Parameters
    ----------
    env : str | gymnasium.Env
        A registered id (built per run with ``env_params``) or an environment instance.
    agent : str | Agent
        (``env`` and ``agent`` are positional, so that ``agent=`` can name the DMN's learner.)
        A registry name (``"q_learning"``, ``"dyna_q"``, ``"dmn"``, ...; built per run with
        ``params``, e.g. ``simulate(env, "dmn", agent="dyna_q", account="sentinel")``) or an
        Agent instance (one run; it records into its own recorder, whose whole Trace is
        returned; its seed is its own and ``seeds`` seeds the environment only).
    episodes, schedule : exactly one of them.
    seeds : int | sequence
        The number of runs (seeds ``first_seed, first_seed + 1, ...``) or the seeds themselves.
    clock : Clock | dict, optional
        Trial, ITI and rest durations and the offline step spacing (default ``Clock()``). With
        a ``schedule`` the blocks carry trial_s and iti_s, so only ``offline_dt`` may be set.
    record : "full" | "summary" | "online"
        Trace recording mode of agents built by name (see :class:`TraceRecorder`).
    max_steps : int, optional
        Truncate episodes at this many steps (besides the environment's own limit).
    out : str, optional
        Write the Trace as Parquet there, with the configuration in its metadata.

    Returns
    -------
    (trace, summary): the pooled Trace (column ``run`` = run index) and a :class:`Summary`.
    """
    if (episodes is None) == (schedule is None):
        raise ValueError("give exactly one of episodes= (an int >= 1) and schedule= (a Schedule)")
    if episodes is not None and (
        isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1
    ):
        raise ValueError(f"episodes must be >= 1 (an int), got {episodes!r}")
    if schedule is not None and not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a darkcontrol.clock.Schedule, got {schedule!r}")
    if max_steps is not None and (isinstance(max_steps, bool) or int(max_steps) < 1):
        raise ValueError(f"max_steps must be an int >= 1 or None, got {max_steps!r}")
    if record not in RECORD_MODES:
        raise ValueError(f"record must be one of {RECORD_MODES}, got {record!r}")
    clock = Clock.coerce(clock)
    if schedule is not None and clock != Clock(offline_dt=clock.offline_dt):
        raise ValueError(
            "with a schedule the blocks carry trial_s and iti_s (and rest blocks the rests): "
            f"only clock.offline_dt may be set, got {clock}"
        )
    seed_list = _seeds(seeds, first_seed)
    by_name = isinstance(agent, str)
    if not by_name:
        if not isinstance(agent, Agent):
            raise TypeError(f"agent must be a registry name or an Agent, got {agent!r}")
        if len(seed_list) != 1:
            raise ValueError(f"an Agent instance makes one run; got {len(seed_list)} seeds")
        if params:
            raise ValueError(
                f"parameters {sorted(params)} given with an Agent instance; set them when "
                "building it"
            )
    elif agent not in AGENTS:
        raise ValueError(f"unknown agent {agent!r}; available: {available_agents()}")
    env_params = dict(env_params or {})
    if not isinstance(env, str) and env_params:
        raise ValueError("env_params are for an environment id, not an environment instance")

    frames, runs, described = [], [], None
    label = agent if by_name else agent.name
    env_label = env if isinstance(env, str) else type(env.unwrapped).__name__
    for k, seed in enumerate(
        progress_bar(seed_list, enabled=progress, desc=f"{label} on {env_label}", unit="run")
    ):
        world = make_env(env, **env_params) if isinstance(env, str) else env
        if by_name:
            rec = TraceRecorder(run=k, mode=record)
            learner = make_agent(agent, world, seed=seed, recorder=rec, **params)
        else:
            learner = agent
        if schedule is None:
            run = _run_episodes(learner, world, int(episodes), seed, max_steps, clock)
        else:
            run = _run_schedule(learner, world, schedule, seed, max_steps, clock)
        run.run, run.seed = k, seed
        if isinstance(env, str):
            world.close()
        frames.append(learner.recorder.to_frame())
        runs.append(run)
        described = described or learner.describe()
    trace = coerce_trace(pd.concat(frames, ignore_index=True))
    config = {
        "command": "simulate",
        "env": env_label,
        "env_params": env_params,
        "agent": label,
        "params": dict(params),
        "episodes": episodes,
        "schedule": None if schedule is None else schedule.to_dicts(),
        "seeds": seed_list,
        "max_steps": max_steps,
        "record": record if by_name else agent.recorder.mode,
        "clock": clock.to_dict(),
        "description": described,
    }
    trace.attrs["darkcontrol"] = {"config": config}
    n_off = int((trace["phase"] == "offline").sum())
    summary = Summary(runs, config, n_online=len(trace) - n_off, n_offline=n_off, out=out)
    if out:
        write_trace(trace, out, config)
    return trace, summary


def _seeds(seeds: int | Sequence[int | None], first_seed: int) -> list[int | None]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        return [int(first_seed) + k for k in range(int(seeds))]
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
        raise TypeError(
            f"seeds must be an int >= 1 or a non-empty sequence of seeds, got {seeds!r}"
        )
    if first_seed:
        raise ValueError("first_seed goes with seeds=<number of runs>, not with a list of seeds")
    bad = [
        s
        for s in seeds
        if s is not None and (isinstance(s, bool) or not isinstance(s, (int, np.integer)))
    ]
    if bad:
        raise TypeError(f"seeds must be ints (or None), got {bad[0]!r}")
    return [None if s is None else int(s) for s in seeds]


def _run_episodes(
    agent: Agent, env: Any, n_episodes: int, seed: int | None, max_steps: int | None, clock: Clock
) -> RunSummary:
    """The episodic loop: trial, ITI, trial, ...; ``rest_s`` of rest between episodes."""
    rec = agent.recorder
    trial_s, iti_s, rest_s = clock.trial_s, clock.iti_s, clock.rest_s
    spread = clock.offline_dt is None
    act, observe, offline, step = agent.act, agent.observe, agent.offline, env.step
    log = RunSummary()
    for ep in range(n_episodes):
        state, _ = env.reset(seed=seed if ep == 0 else None)
        agent.reset()
        rec.begin_episode()
        before = agent.counters()
        if ep > 0 and rest_s > 0:
            start = rec.time
            offline(rest_s, kind="rest", clock=clock)
            rec.time = clock.window_end(start, rest_s, rec.time)
        total, steps, done = 0.0, 0, False
        while not done:
            t0 = rec.time
            s = int(state)
            action = act(s)
            state, reward, terminated, truncated, info = step(action)
            steps += 1
            truncated = truncated or (max_steps is not None and steps >= max_steps)
            reward = float(reward)
            observe(s, action, reward, int(state), terminated, truncated, info=info)
            start = t0 + trial_s
            rec.time = start
            offline(iti_s, kind="iti", clock=clock)
            rec.time = start + iti_s if spread else max(start + iti_s, rec.time)
            total += reward
            done = terminated or truncated
        log.lengths.append(steps)
        log.returns.append(total)
        log.episodes.append(agent.stats_since(before))
    log.finished = n_episodes
    return log


def _run_schedule(
    agent: Agent,
    env: Any,
    schedule: Schedule,
    seed: int | None,
    max_steps: int | None,
    clock: Clock,
) -> RunSummary:
    """Task blocks: trial k starts at onset + k (trial_s + iti_s), its ITI (the last one
    stretched to the block's end) follows; rest blocks: offline for the whole block."""
    rec = agent.recorder
    rec.time = 0.0
    state, _ = env.reset(seed=seed)
    agent.reset()
    rec.begin_episode()
    log = RunSummary()
    steps, total = 0, 0.0
    for onset, block in zip(schedule.onsets, schedule.blocks):
        before = agent.counters()
        n_on = n_off = 0
        if block.kind == "rest":
            rec.time = onset
            n_off += agent.offline(block.duration, kind="rest", clock=clock)
        else:
            for k, t_on in enumerate(block.trial_onsets()):
                rec.time = onset + t_on
                s = int(state)
                action = agent.act(s)
                state, reward, terminated, truncated, info = env.step(action)
                steps += 1
                total += float(reward)
                truncated = truncated or (max_steps is not None and steps >= max_steps)
                agent.observe(
                    s, action, float(reward), int(state), terminated, truncated, info=info
                )
                n_on += 1
                rec.time = onset + t_on + block.trial_s
                n_off += agent.offline(block.iti_length(k), kind="iti", clock=clock)
                if terminated or truncated:
                    log.lengths.append(steps)
                    log.returns.append(total)
                    steps, total = 0, 0.0
                    state, _ = env.reset()
                    agent.reset()
                    rec.begin_episode()
        rec.time = onset + block.duration
        n = n_on + n_off
        row: dict[str, Any] = {"kind": block.kind, "onset": onset, "duration": block.duration}
        row.update(n_online=n_on, n_offline=n_off, offline_share=n_off / n if n else float("nan"))
        row.update(agent.stats_since(before))
        log.blocks.append(row)
    log.finished = len(log.lengths)
    if steps:
        log.lengths.append(steps)
        log.returns.append(total)
    return log
