"""Prioritised sweeping (Moore & Atkeson 1993, Mach Learn 13:103-130; Sutton & Barto 2018, §8.4).

Planning backs up the state-action pairs whose values would change most, working backwards
from where values changed, instead of drawing pairs at random as Dyna-Q does. After each real
step (s, a, r, s'):

1. the model is updated (``spe = 1 - P_hat(s' | s, a)`` before the update);
2. P = |y(s, a) - Q(s, a)| with y the model's expected target (below); if P > theta, (s, a)
   enters the priority queue with priority P. The real step itself changes no value (the
   book's algorithm): its online row records q, the sample target r + gamma max Q(s', .), the
   rpe, and ``update_norm = 0``.
3. planning, up to ``n_planning`` times while the queue is not empty: pop the pair of highest
   priority, back it up, Q(s, a) += alpha (y(s, a) - Q(s, a)), one offline row
   (``source = "model"``); then for every pair (s-, a-) the model predicts to lead to s,
   compute P = |y(s-, a-) - Q(s-, a-)| and queue it if P > theta (a pair already queued keeps
   the higher of its priorities).

The backup is the *expected* update of the stochastic extension (Sutton & Barto 2018, §8.4;
Moore & Atkeson 1993): y(s, a) = R_hat(s, a) + gamma sum_s' P_hat(s' | s, a) max_a' Q(s', a')
(0 for a terminal s'), equal to the sample update in a deterministic world. With
``model = "counts"`` and alpha = 1 the planned values converge to Q* of the learned model.

Trace: online rows fill every column but ``salience``. Offline rows: ``reward`` is R_hat(s, a),
``next_state``/``terminated`` the model's successor when it has a single one (else <NA>),
``spe``, ``choice_prob`` and ``policy_entropy`` are NaN (an expected backup processes no
sampled transition and no choice). ``n_updates`` counts the expected backups.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from darkcontrol._util import check_positive
from darkcontrol.agents.base import transition_fields
from darkcontrol.agents.model import MODEL_MODES, WorldModel
from darkcontrol.agents.tabular import QLearning, TDConfig, check_count


@dataclass
class PrioritizedSweepingConfig(TDConfig):
    """Hyper-parameters of prioritised sweeping (the TD fields as :class:`TDConfig`)."""

    n_planning: int = 5  #: at most this many queued backups after each real step
    theta: float = 1e-4  #: a pair is queued only if its priority |y - Q| exceeds theta, >= 0
    model: str = "last"  #: "last" (last outcome per (s, a); S&B's model) | "counts" (ML)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("n_planning", self.n_planning)
        check_positive("theta", self.theta, strict=False)
        if self.model not in MODEL_MODES:
            raise ValueError(f"model must be one of {MODEL_MODES}, got {self.model!r}")


class PrioritizedSweeping(QLearning):
    """Prioritised sweeping with expected backups from a learned model.

    Trace: ``salience`` is NaN; offline rows have NaN ``spe``, ``choice_prob`` and
    ``policy_entropy``; online rows have ``update_norm = 0`` (values change only offline)."""

    name = "prioritized_sweeping"
    Config = PrioritizedSweepingConfig
    nan_columns = ("salience",)

    def __init__(self, n_states, n_actions, config=None, **kw):
        super().__init__(n_states, n_actions, config, **kw)
        self.model = WorldModel(self.n_states, self.n_actions, mode=self.config.model)
        self._heap: list[tuple[float, int, int, int]] = []  # (-priority, order, s, a)
        self._queued: dict[tuple[int, int], float] = {}  # pair -> its current priority
        self._order = itertools.count()  # FIFO among equal priorities: reproducible

    @property
    def offline_budget(self) -> int:
        return self.config.n_planning

    def queue_size(self) -> int:
        """Number of pairs waiting in the priority queue."""
        return len(self._queued)

    def _value(self, s: int) -> float:
        return max(self.Q[s].tolist())

    def _target(self, s: int, a: int) -> float:
        return self.model.backup(s, a, self._value, self.config.gamma)

    def _push(self, s: int, a: int, priority: float) -> None:
        if priority > self.config.theta and priority > self._queued.get((s, a), 0.0):
            self._queued[(s, a)] = priority
            heapq.heappush(self._heap, (-priority, next(self._order), s, a))

    def _pop(self) -> tuple[int, int] | None:
        while self._heap:
            neg, _, s, a = heapq.heappop(self._heap)
            if self._queued.get((s, a)) == -neg:  # else a stale entry superseded by a push
                del self._queued[(s, a)]
                return s, a
        return None

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
        spe = self.model.update(state, action, reward, next_state, terminated)
        q = float(self.Q[state, action])
        y = reward if terminated else reward + self.config.gamma * self._value(next_state)
        self.recorder.online(
            fields,
            **transition_fields(state, action, reward, next_state, terminated, q, y, 0.0),
            spe=spe,
            **stats,
        )
        self._push(state, action, abs(self._target(state, action) - q))

    def plan(self, budget: int) -> int:
        done = 0
        model, Q, alpha, rec = self.model, self.Q, self.config.alpha, self.recorder
        while done < budget:
            pair = self._pop()
            if pair is None:
                break
            s, a = pair
            q = float(Q[s, a])
            y = self._target(s, a)
            step = alpha * (y - q)
            Q[s, a] = q + step
            self.n_updates += 1
            done += 1
            succ = model.successors(s, a)
            s2 = next(iter(succ)) if len(succ) == 1 else None
            rec.offline(
                "model",
                **transition_fields(
                    s,
                    a,
                    model.expected_reward(s, a),
                    s2,
                    None if s2 is None else model.terminal[s2],
                    q,
                    y,
                    abs(step),
                ),
            )
            for sp, ap in model.predecessor_pairs(s):
                self._push(sp, ap, abs(self._target(sp, ap) - float(Q[sp, ap])))
        return done

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
        """A fed transition gets a Q-learning sample backup and re-prioritises the
        predecessors of ``state`` (its value may have changed)."""
        row = self.backup(state, action, reward, next_state, terminated, gamma)
        spe = self.model.spe(state, action, next_state)
        self.recorder.offline(source, fields, **row, spe=spe)
        for sp, ap in self.model.predecessor_pairs(state):
            self._push(sp, ap, abs(self._target(sp, ap) - float(self.Q[sp, ap])))
