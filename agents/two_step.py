"""The hybrid model-based / model-free learner of the two-step task (Daw et al. 2011).

Daw, N. D., Gershman, S. J., Seymour, B., Dayan, P. & Dolan, R. J. (2011). Model-based
influences on humans' choices and striatal prediction errors. Neuron 69:1204-1215 (the model
of its Supplemental Experimental Procedures, 7 parameters: beta1, beta2, alpha1, alpha2,
lambda, p, w).

Task (``darkcontrol/TwoStep-v0``): stage-1 state 0 with two actions; action 0 leads commonly
(0.7) to stage-2 state 1, action 1 commonly to state 2; each stage-2 state has two actions
paying 1 with slowly drifting probabilities; state 3 ends the trial.

Model-free values Q_MF (SARSA(lambda), per trial with stage-1 choice a1, stage-2 state s2,
choice a2 and reward r):

    delta1 = Q_MF(s2, a2) - Q_MF(0, a1);    Q_MF(0, a1) += alpha1 delta1
    delta2 = r - Q_MF(s2, a2);              Q_MF(s2, a2) += alpha2 delta2
                                            Q_MF(0, a1) += alpha1 lambda delta2

Model-based values from the known transition structure T (``common_prob``) and the stage-2
values (Daw et al. 2011, eq. 4):

    Q_MB(0, a) = sum_{s'} T(s' | a) max_{a'} Q_MF(s', a')

Choice: at stage 1, Q_net = w Q_MB + (1 - w) Q_MF and

    P(a1 = a) proportional to exp(beta1 [Q_net(0, a) + p rep(a)]),   rep(a) = [a == previous a1]

(perseveration p, "stickiness"); at stage 2, P(a2 = a | s2) proportional to
exp(beta2 Q_MF(s2, a)). ``w = 0`` is a pure model-free learner, ``w = 1`` pure model-based
(:data:`PRESETS`).

Trace (one online row per stage; the stage-1 row is recorded when a2 is known, SARSA-style,
with the clock time of the stage-1 step): ``q`` = Q_MF(s, a) before the update, ``target`` and
``rpe`` the model-free target and prediction error (stage 1: Q_MF(s2, a2) and delta1; stage 2:
r and delta2), ``spe`` = 1 - T(s2 | a1) at stage 1 (0.3 common, 0.7 rare; Glascher et al. 2010)
and 0 at stage 2 (the end of a trial is certain), ``update_norm`` the L2 norm of the change of
Q_MF. ``salience`` is NaN. Extra columns: ``stage`` (1 | 2), ``common`` (the trial's transition
type under the agent's T), ``q_mb`` and ``q_net`` (stage 1: Q_MB(0, a1), Q_net(0, a1) before the
update; NaN at stage 2).

Analysis of behaviour (Daw et al. 2011, Fig. 2) lives in :mod:`darkcontrol.analysis`
(``two_step_trials``, ``stay_probabilities``, ``stay_regression``): model-free choice shows a
main effect of reward, model-based choice a reward x transition interaction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from darkcontrol._util import check_positive, check_probability
from darkcontrol.agents.base import Agent, transition_fields
from darkcontrol.agents.policies import softmax_probs
from darkcontrol.envs.two_step import END, STAGE1, STAGE2_A, STAGE2_B

STAGE2 = (STAGE2_A, STAGE2_B)  #: the two second-stage states


@dataclass
class TwoStepConfig:
    """Hyper-parameters of the Daw et al. (2011) hybrid (defaults: their median fits, Table 1)."""

    alpha1: float = 0.54  #: stage-1 learning rate, in (0, 1]
    alpha2: float = 0.42  #: stage-2 learning rate, in (0, 1]
    lam: float = 0.57  #: eligibility trace lambda: stage-2 error reaching stage-1 values, [0, 1]
    beta1: float = 5.19  #: stage-1 softmax inverse temperature, >= 0
    beta2: float = 3.69  #: stage-2 softmax inverse temperature, >= 0
    perseveration: float = 0.11  #: p, bonus for repeating the last stage-1 choice (any sign)
    w: float = 0.39  #: model-based weight in Q_net = w Q_MB + (1 - w) Q_MF, in [0, 1]
    common_prob: float = 0.7  #: the agent's belief P(common transition), in [0, 1]
    q_init: float = 0.0  #: initial model-free values

    def __post_init__(self) -> None:
        for name in ("alpha1", "alpha2"):
            check_probability(name, getattr(self, name))
            check_positive(name, getattr(self, name))
        check_probability("lam", self.lam)
        check_probability("w", self.w)
        check_probability("common_prob", self.common_prob)
        check_positive("beta1", self.beta1, strict=False)
        check_positive("beta2", self.beta2, strict=False)
        for name in ("perseveration", "q_init"):
            if not math.isfinite(float(getattr(self, name))):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)!r}")


#: Named parameter sets: pure model-free (w = 0, lambda = 1: stage-1 values learn from the
#: reward itself, TD(1)), pure model-based (w = 1) and the hybrid of Daw et al.'s median fits.
PRESETS: dict[str, dict[str, float]] = {
    "model_free": {"w": 0.0, "lam": 1.0},
    "model_based": {"w": 1.0},
    "hybrid": {},
}


class TwoStepHybrid(Agent):
    """Daw et al. (2011) hybrid learner: SARSA(lambda) + model-based values, mixed by w.

    Needs the two-step layout: 4 states (0 stage 1; 1, 2 stage 2; 3 end), 2 actions; action a
    at stage 1 commonly leads to state a + 1. Trace: see the module docstring."""

    name = "two_step_hybrid"
    Config = TwoStepConfig
    nan_columns = ("salience",)
    supports_offline = True
    default_env = "darkcontrol/TwoStep-v0"

    def __init__(self, n_states, n_actions, config=None, **kw):
        super().__init__(n_states, n_actions, config, **kw)
        if (self.n_states, self.n_actions) != (4, 2):
            raise ValueError(
                "TwoStepHybrid needs the two-step task's 4 states and 2 actions, got "
                f"n_states={self.n_states}, n_actions={self.n_actions}"
            )
        cfg = self.config
        self.Q_mf = np.full((4, 2), cfg.q_init, dtype=np.float64)
        self.Q_mf[END] = 0.0
        c = cfg.common_prob
        # T[a, k]: P(stage-2 state k + 1 | stage-1 action a)
        self.T = np.array([[c, 1.0 - c], [1.0 - c, c]])
        self.prev_choice: int | None = None  # last stage-1 choice (perseveration)
        self._pending: dict[str, Any] | None = None  # stage-1 step waiting for a2
        self._trial_choice: int | None = None  # this trial's a1, for the eligibility update

    @classmethod
    def from_preset(cls, preset: str, n_states: int = 4, n_actions: int = 2, **kw):
        """Build from a named :data:`PRESETS` entry; keyword hyper-parameters override it."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; available: {sorted(PRESETS)}")
        params = {k: v for k, v in kw.items() if k in TwoStepConfig.__dataclass_fields__}
        other = {k: v for k, v in kw.items() if k not in params}
        return cls(n_states, n_actions, {**PRESETS[preset], **params}, **other)

    # -- values and choice -------------------------------------------------------------------
    def q_mb(self) -> np.ndarray:
        """Q_MB(0, .) = T max_a' Q_MF(s', a') over the stage-2 states."""
        return self.T @ self.Q_mf[1:3].max(axis=1)

    def q_net(self) -> np.ndarray:
        """Q_net(0, .) = w Q_MB + (1 - w) Q_MF."""
        w = self.config.w
        return w * self.q_mb() + (1.0 - w) * self.Q_mf[STAGE1]

    def q_values(self) -> np.ndarray:
        """Q_net at stage 1, Q_MF at stage 2, zeros at the end state (4, 2)."""
        q = self.Q_mf.copy()
        q[STAGE1] = self.q_net()
        return q

    def policy(self, state: int) -> np.ndarray:
        state = int(state)
        cfg = self.config
        if state == STAGE1:
            v = self.q_net()
            if self.prev_choice is not None:
                v = v.copy()
                v[self.prev_choice] += cfg.perseveration
            return softmax_probs(v, cfg.beta1)
        if state in STAGE2:
            return softmax_probs(self.Q_mf[state], cfg.beta2)
        if state == END:
            return np.full(2, 0.5)
        raise ValueError(f"state must be 0, 1, 2 or 3, got {state}")

    def reset(self) -> None:
        super().reset()  # the previous choice (perseveration) persists across trials
        self._pending = None
        self._trial_choice = None

    def act(self, state: int) -> int:
        action = super().act(state)
        if self._pending is not None and int(state) in STAGE2:
            self._finish_stage1(float(self.Q_mf[int(state), action]))
        return action

    # -- learning ----------------------------------------------------------------------------
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
        s, a, r, s2 = int(state), int(action), float(reward), int(next_state)
        stats = self.choice_stats(s, a)
        if s == STAGE1:
            if s2 not in STAGE2:
                raise ValueError(f"a stage-1 step must lead to state 1 or 2, got {s2}")
            self._trial_choice = a
            self.prev_choice = a
            self._pending = {
                "time": self.recorder.time,
                "state": s,
                "action": a,
                "reward": r,
                "next_state": s2,
                "stats": stats,
                "q_mb": float(self.q_mb()[a]),
                "q_net": float(self.q_net()[a]),
                "fields": fields,
            }
            if terminated or truncated:  # no stage-2 choice will come: expected SARSA target
                probs = softmax_probs(self.Q_mf[s2], self.config.beta2)
                self._finish_stage1(float(probs @ self.Q_mf[s2]), terminated=bool(terminated))
            return
        if s not in STAGE2:
            raise ValueError(f"observe() got a step from state {s}; the task acts in 0, 1, 2")
        if self._pending is not None:  # act() was bypassed: a2 is this step's action
            self._finish_stage1(float(self.Q_mf[s, a]))
        cfg = self.config
        q = float(self.Q_mf[s, a])
        delta2 = r - q
        step2 = cfg.alpha2 * delta2
        self.Q_mf[s, a] = q + step2
        sq = step2 * step2
        if self._trial_choice is not None:
            step1 = cfg.alpha1 * cfg.lam * delta2
            self.Q_mf[STAGE1, self._trial_choice] += step1
            sq += step1 * step1
        self.n_updates += 1
        self.recorder.online(
            fields,
            state=s,
            action=a,
            reward=r,
            next_state=s2,
            terminated=bool(terminated),
            q=q,
            target=r,
            rpe=delta2,
            spe=0.0,
            update_norm=math.sqrt(sq),
            stage=2,
            common=self._common(self._trial_choice, s),
            **stats,
        )

    def _common(self, a1: int | None, s2: int) -> bool | None:
        """Whether a1 -> s2 is the more probable transition under the agent's T."""
        if a1 is None:
            return None
        return bool(self.T[a1, s2 - 1] >= self.T[a1, 2 - s2])

    def _finish_stage1(self, boot: float, terminated: bool = False) -> None:
        """The stage-1 SARSA update once Q_MF(s2, a2) is known; records the stage-1 row."""
        p, self._pending = self._pending, None
        a, s2 = p["action"], p["next_state"]
        q = float(self.Q_mf[STAGE1, a])
        y = p["reward"] + boot
        delta1 = y - q
        step = self.config.alpha1 * delta1
        self.Q_mf[STAGE1, a] = q + step
        self.n_updates += 1
        self.recorder.online(
            p["fields"],
            time=p["time"],
            state=STAGE1,
            action=a,
            reward=p["reward"],
            next_state=s2,
            terminated=terminated,
            q=q,
            target=y,
            rpe=delta1,
            spe=float(1.0 - self.T[a, s2 - 1]),
            update_norm=abs(step),
            stage=1,
            common=self._common(a, s2),
            q_mb=p["q_mb"],
            q_net=p["q_net"],
            **p["stats"],
        )

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
        """A one-step model-free backup of a transition fed from outside (no eligibility):
        stage 2 towards r, stage 1 towards sum_a' pi(a'|s2) Q_MF(s2, a')."""
        s, a, r, s2 = int(state), int(action), float(reward), int(next_state)
        if s not in (STAGE1, *STAGE2):
            raise ValueError(f"learn_offline got a step from state {s}; the task acts in 0, 1, 2")
        cfg = self.config
        q = float(self.Q_mf[s, a])
        if terminated or s2 == END:
            y = r
        else:
            g = 1.0 if gamma is None else gamma  # the task's own backups are undiscounted
            y = r + g * float(softmax_probs(self.Q_mf[s2], cfg.beta2) @ self.Q_mf[s2])
        step = (cfg.alpha1 if s == STAGE1 else cfg.alpha2) * (y - q)
        self.Q_mf[s, a] = q + step
        self.n_updates += 1
        self.recorder.offline(
            source,
            fields,
            **transition_fields(s, a, r, s2, terminated, q, y, abs(step)),
        )
