"""Monte Carlo simulation from a learned model: value learning from imagined trajectories.

The paper's question "does the hippocampus subserve Monte Carlo sampling?" (Dohmatob, Dumas &
Bzdok 2020, Hum Brain Mapp, §4.2): instead of single replayed transitions (Dyna), the agent
spends its offline budget on whole simulated *trajectories* (rollouts) in its learned model
(``WorldModel``), under its current policy, and learns from their returns (every-visit Monte
Carlo, Sutton & Barto 2018, §5.1-5.3; rollouts in a learned model, §8.10).

Rollouts. A rollout starts at the agent's current state (``start = "current"``: the state it
is in after its last real step; after an episode ended, the first state of that episode, a
rehearsal of the next attempt) or at a state drawn uniformly among the states the model knows
an action of (``start = "visited"``). From state s_t the simulated action a_t is drawn from the
agent's policy rule (epsilon-greedy / softmax on Q) applied to the actions the model knows at
s_t (all of them once explored; a model cannot simulate an untried action), and
(r_{t+1}, s_{t+1}) from the model. The rollout ends at a state the model has seen end an
episode, at a state where the model knows no action, after ``horizon`` steps, or when the
offline budget is spent (one simulated step = one unit of budget = one offline Trace row).

Backups: every-visit Monte Carlo returns, truncated and bootstrapped where the rollout stops,

    G_t = r_{t+1} + gamma r_{t+2} + ... + gamma^(T-t-1) r_T + gamma^(T-t) V(s_T)
    V(s_T) = 0 at an end of episode, else sum_a pi(a|s_T) Q(s_T, a)   (on-policy)
    Q(s_t, a_t) += alpha (G_t - Q(s_t, a_t)),  t = T-1, ..., 0

with all G_t computed from the values before the rollout's updates. Real steps get the
on-policy one-step special case of this backup (expected SARSA, y = r + gamma V(s')). The
values therefore converge to those of the agent's own (epsilon-greedy) policy improved
on-policy, Q_eps (see ``agents/tabular.py``), not to Q*.

Trace: online rows fill every column but ``salience``. Offline rows (``source = "model"``) fill
every column but ``salience``: ``target`` is G_t, ``spe`` the model's surprise at its own
sample, ``choice_prob``/``policy_entropy`` those of the rollout policy over the known actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from darkcontrol.agents.base import transition_fields
from darkcontrol.agents.model import MODEL_MODES, WorldModel
from darkcontrol.agents.policies import action_probs_list, entropy_list, sample_index
from darkcontrol.agents.tabular import QLearning, TDConfig, check_count

START_MODES = ("current", "visited")


@dataclass
class MCRolloutConfig(TDConfig):
    """Hyper-parameters of Monte Carlo rollouts (the TD fields as :class:`TDConfig`)."""

    n_planning: int = 20  #: simulated steps (summed over rollouts) after each real step
    horizon: int = 50  #: longest rollout, in steps (>= 1)
    start: str = "current"  #: "current" (the agent's state) | "visited" (uniform over known)
    model: str = "last"  #: "last" (last outcome per (s, a)) | "counts" (maximum likelihood)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("n_planning", self.n_planning)
        check_count("horizon", self.horizon, minimum=1)
        if self.start not in START_MODES:
            raise ValueError(f"start must be one of {START_MODES}, got {self.start!r}")
        if self.model not in MODEL_MODES:
            raise ValueError(f"model must be one of {MODEL_MODES}, got {self.model!r}")


class MCRollout(QLearning):
    """Every-visit Monte Carlo control on rollouts simulated from a learned model.

    Trace: ``salience`` is NaN (online and offline rows fill every other column)."""

    name = "mc_rollout"
    Config = MCRolloutConfig
    nan_columns = ("salience",)

    def __init__(self, n_states, n_actions, config=None, **kw):
        super().__init__(n_states, n_actions, config, **kw)
        self.model = WorldModel(self.n_states, self.n_actions, mode=self.config.model)
        self._known: list[list[int]] = [[] for _ in range(self.n_states)]  # tried actions
        self._known_states: list[int] = []  # states with a tried action, first-seen order
        self._current: int | None = None  # where rollouts start ("current")
        self._episode_start: int | None = None
        self._new_episode = True

    @property
    def offline_budget(self) -> int:
        return self.config.n_planning

    # -- acting and real steps ---------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self._new_episode = True

    def act(self, state: int) -> int:
        if self._new_episode:
            self._episode_start, self._new_episode = int(state), False
        return super().act(state)

    def bootstrap(self, next_state: int) -> float:
        """V(s') = sum_a pi(a|s') Q(s', a), the on-policy value."""
        probs = self._probs(next_state)
        return sum(p * v for p, v in zip(probs, self.Q[next_state].tolist()))

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
        stats = self.choice_stats(state, action)
        if self.model.visits[state, action] == 0:
            if not self._known[state]:
                self._known_states.append(state)
            self._known[state].append(action)
        spe = self.model.update(state, action, reward, next_state, terminated)
        row = self.backup(state, action, reward, next_state, terminated)
        self.recorder.online(fields, **row, spe=spe, **stats)
        self._current = self._episode_start if (terminated or truncated) else int(next_state)

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
        spe = self.model.spe(state, action, next_state)
        row = self.backup(state, action, reward, next_state, terminated, gamma)
        self.recorder.offline(source, fields, **row, spe=spe)

    # -- rollouts ------------------------------------------------------------------------------
    def plan(self, budget: int) -> int:
        done = 0
        while done < budget:
            n = self._rollout(min(self.config.horizon, budget - done))
            if n == 0:
                break
            done += n
        return done

    def _start_state(self) -> int | None:
        if self.config.start == "current":
            return self._current
        known = self._known_states
        return known[int(self.rng.random() * len(known))] if known else None

    def _rollout(self, length: int) -> int:
        """Simulate one trajectory of at most ``length`` steps and back up its returns."""
        s = self._start_state()
        if s is None or not self._known[s]:
            return 0
        model, rng, cfg, Q = self.model, self.rng, self.config, self.Q
        steps = []  # (s, a, r, s', terminated, spe, choice_prob, entropy)
        end = False
        while len(steps) < length:
            acts = self._known[s]
            if not acts:
                break
            q = Q[s].tolist()
            probs = self._restricted_probs([q[b] for b in acts])
            i = sample_index(probs, rng.random())
            a = acts[i]
            r, s2, end = model.sample(s, a, rng)
            steps.append((s, a, r, s2, end, model.spe(s, a, s2), probs[i], entropy_list(probs)))
            if end:
                break
            s = s2
        g = 0.0 if end else self.bootstrap(steps[-1][3])
        targets = []
        for step in reversed(steps):
            g = step[2] + cfg.gamma * g
            targets.append(g)
        rec, alpha = self.recorder, cfg.alpha
        for (s, a, r, s2, term, spe, prob, ent), y in zip(reversed(steps), targets):
            q = float(Q[s, a])
            step = alpha * (y - q)
            Q[s, a] = q + step
            self.n_updates += 1
            rec.offline(
                "model",
                **transition_fields(s, a, r, s2, term, q, y, abs(step)),
                spe=spe,
                choice_prob=prob,
                policy_entropy=ent,
            )
        return len(steps)

    def _restricted_probs(self, q_known: list[float]) -> list[float]:
        """The agent's policy rule applied to the known actions only."""
        cfg = self.config
        return action_probs_list(q_known, cfg.policy, beta=cfg.beta, epsilon=cfg.epsilon)
