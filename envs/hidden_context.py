"""A stimulus-response task whose rule depends on an unobservable context that switches."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from darkcontrol.envs import _render as rr
from darkcontrol.envs._base import TabularEnv
from darkcontrol.envs.pomdp import TabularPOMDP, observe_partially

FEEDBACK = ("none", "rewarded", "unrewarded")
RULES = ("same", "opposite")


class HiddenContext(TabularEnv):
    """Respond to a stimulus by a rule that depends on a hidden context that switches.

    ## Description
    Each trial shows a stimulus ``x`` in {0, 1}; the agent responds ``a`` in {0, 1}. Under
    context 0 the correct response is ``x`` (rule "same"), under context 1 it is ``1 - x``
    (rule "opposite"). A correct response is rewarded with probability ``p_reward``, a wrong
    one with ``1 - p_reward``. After every trial the context switches with probability
    ``hazard``; the next stimulus is drawn uniformly. The registered id
    ``darkcontrol/HiddenContext-v0`` wraps the world in
    :class:`~darkcontrol.envs.pomdp.PartialObservation`: the agent sees the stimulus and the
    feedback of the previous trial, never the context, which it must infer from the history of
    stimuli, responses and outcomes. The hidden state is the task state that orbitofrontal
    cortex is proposed to represent (Wilson, Takahashi, Schoenbaum & Niv 2014; Schuck, Cai,
    Wilson & Niv 2016, whose task rule depended on hidden information from past trials), and
    the belief over it the abstract state-based inference of ventromedial prefrontal cortex
    in reversal learning (Hampton, Bossaerts & O'Doherty 2006). Tracking chance: the context
    chain is symmetric and starts uniform, so ``P(c_t = 0) = 1/2`` at every trial and a guess
    that ignores the observations is right with probability 1/2; an observer that knew the
    previous context would be right with probability ``1 - hazard`` (for ``hazard <= 1/2``).

    ## Spaces
    Unwrapped: observation ``Discrete(12)``, the hidden state
    ``6 c + 2 f + x`` (f the feedback of the previous trial: 0 none, at the first trial;
    1 rewarded; 2 unrewarded). Registered id: observation ``Discrete(6)``, ``2 f + x``.
    Action ``Discrete(2)``: the response.

    ## Reward
    ``reward`` (1.0) when the feedback is "rewarded", else 0: Bernoulli(``p_reward``) after a
    correct response, Bernoulli(``1 - p_reward``) after a wrong one.

    ## Episode end
    Never terminated; the registered id truncates after 200 trials. The context persists only
    within an episode (each reset draws it anew).

    ## Arguments
    ``hazard=0.05`` (in [0, 1]), ``p_reward=0.9`` (in [0.5, 1]), ``reward=1.0``,
    ``render_mode=None``. info carries ``context``, ``stimulus`` and ``feedback`` of the
    returned state. The registered id also takes ``history=None`` and
    ``include_actions=True`` (the history-expanded state, as in ``CueMaze``).

    ## References
    Hampton, A. N., Bossaerts, P. & O'Doherty, J. P. (2006). The role of the ventromedial
    prefrontal cortex in abstract state-based inference during decision making in humans.
    Journal of Neuroscience 26:8360-8367. Wilson, R. C., Takahashi, Y. K., Schoenbaum, G. &
    Niv, Y. (2014). Orbitofrontal cortex as a cognitive map of task space. Neuron 81:267-279.
    Schuck, N. W., Cai, M. B., Wilson, R. C. & Niv, Y. (2016). Human orbitofrontal cortex
    represents a cognitive map of state space. Neuron 91:1402-1412.

    ## Version history
    v0: initial version.
    """

    def __init__(
        self,
        *,
        hazard: float = 0.05,
        p_reward: float = 0.9,
        reward: float = 1.0,
        render_mode: str | None = None,
    ) -> None:
        if isinstance(hazard, bool) or not 0.0 <= float(hazard) <= 1.0:
            raise ValueError(f"hazard must be a probability in [0, 1], got {hazard!r}")
        if isinstance(p_reward, bool) or not 0.5 <= float(p_reward) <= 1.0:
            raise ValueError(f"p_reward must be in [0.5, 1], got {p_reward!r}")
        if isinstance(reward, bool) or not np.isfinite(float(reward)):
            raise ValueError(f"reward must be a finite number, got {reward!r}")
        super().__init__(12, 2, render_mode)
        self.hazard = float(hazard)
        self.p_reward = float(p_reward)
        self.reward = float(reward)
        self._terminal = np.zeros(12, dtype=bool)

    @staticmethod
    def state_of(context: int, stimulus: int, feedback: int) -> int:
        if not (context in (0, 1) and stimulus in (0, 1) and feedback in (0, 1, 2)):
            raise ValueError(
                f"no state for context {context!r}, stimulus {stimulus!r}, feedback {feedback!r}"
            )
        return 6 * context + 2 * feedback + stimulus

    def decode(self, state: int) -> tuple[int, int, int]:
        """(context, stimulus, feedback) of a state."""
        c, rest = divmod(self._check_state(state), 6)
        f, x = divmod(rest, 2)
        return c, x, f

    @staticmethod
    def correct_response(context: int, stimulus: int) -> int:
        return stimulus if context == 0 else 1 - stimulus

    def _build_mdp(self) -> TabularPOMDP:
        S = self.n_states
        P = np.zeros((S, 2, S))
        R_sas = np.zeros((S, 2, S))
        h, p = self.hazard, self.p_reward
        for s in range(S):
            c, x, _ = self.decode(s)
            for a in range(2):
                p_rew = p if a == self.correct_response(c, x) else 1.0 - p
                for c2, pc in ((c, 1.0 - h), (1 - c, h)):
                    for x2 in (0, 1):
                        for f2, pf in ((1, p_rew), (2, 1.0 - p_rew)):
                            s2 = self.state_of(c2, x2, f2)
                            P[s, a, s2] += pc * 0.5 * pf
                            R_sas[s, a, s2] = self.reward if f2 == 1 else 0.0
        R = (P * R_sas).sum(axis=2)
        start = np.zeros(S)
        start[[self.state_of(c, x, 0) for c in (0, 1) for x in (0, 1)]] = 0.25
        O = np.zeros((S, 6))
        O[np.arange(S), np.arange(S) % 6] = 1.0
        labels = tuple(
            f"{RULES[c]}|x={x}|{FEEDBACK[f]}" for c, x, f in (self.decode(s) for s in range(S))
        )
        obs_labels = tuple(f"x={o % 2}|{FEEDBACK[o // 2]}" for o in range(6))
        return TabularPOMDP(
            P=P,
            R=R,
            terminal=self._terminal.copy(),
            start=start,
            R_sas=R_sas,
            labels=labels,
            O=O,
            obs_labels=obs_labels,
        )

    def _info(self) -> dict:
        c, x, f = self.decode(self._state)
        return {"context": c, "stimulus": x, "feedback": FEEDBACK[f]}

    def _reset_info(self) -> dict:
        return self._info()

    def step(self, action):
        a = self._check_action(action)
        s = self._require_state()
        c, x, _ = self.decode(s)
        rng = self.np_random
        p_rew = self.p_reward if a == self.correct_response(c, x) else 1.0 - self.p_reward
        rewarded = rng.random() < p_rew
        c2 = 1 - c if rng.random() < self.hazard else c
        x2 = int(rng.random() < 0.5)
        self._state = self.state_of(c2, x2, 1 if rewarded else 2)
        return self._state, self.reward if rewarded else 0.0, False, False, self._info()

    def _render_ansi(self) -> str:
        if self._state is None:
            return "(not reset)\n"
        c, x, f = self.decode(self._state)
        return f"rule={RULES[c]} stimulus={x} last={FEEDBACK[f]}\n"

    def _render_rgb(self) -> np.ndarray:
        if self._state is None:
            return rr.bars(np.zeros(3))
        c, x, f = self.decode(self._state)
        return rr.bars([float(c), float(x), f / 2.0], highlight=0)


def hidden_context_task(
    *, history: int | None = None, include_actions: bool = True, **kwargs
) -> gym.Env:
    """The registered task: :class:`HiddenContext` seen through its ``O``; with ``history=k`` the
    agent's state is the last k observations (and actions), see
    :func:`~darkcontrol.envs.pomdp.observe_partially`."""
    return observe_partially(HiddenContext(**kwargs), history, include_actions)


hidden_context_task.env_class = HiddenContext  # type: ignore[attr-defined]  (the registry reads its docstring)
