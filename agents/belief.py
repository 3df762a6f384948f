"""A belief-state agent for partially observed worlds with discrete hidden states.

The paper's formal account is a partially observable MDP (Dohmatob, Dumas & Bzdok 2020,
"Reinforcement learning control: a process model for DMN function", Figure 3), and it names
belief-state updates among what hippocampal simulation serves ("The components of
reinforcement learning in the DMN"). This agent keeps a belief b over the hidden states of a
known :class:`~darkcontrol.envs.pomdp.TabularPOMDP` and acts on values of beliefs.

Bayesian filter (Kaelbling, Littman & Cassandra 1998, Artif. Intell. 101:99), known model:

    b_0(s) ∝ mu(s) O(o_0 | s),    b'(s') ∝ O(o' | s') Σ_s P(s' | s, a) b(s),

and ``spe = 1 - P(o' | b, a)`` (the surprise of the observation under the filter's
prediction, the left-TPJ "world semantics" signal).

Values of beliefs (``values``):

- ``"linear_q"`` (default; Littman, Cassandra & Kaelbling 1995, ICML, "linear Q-learning"):
  Q(b, a) = Σ_s b(s) q(s, a), q learned from experience with the target
  y = r + gamma max_a' Q(b', a') (y = r at an episode end) and the gradient step
  q(·, a) += alpha (y - Q(b, a)) b, so ``update_norm = alpha |delta| ||b||_2``. With a certain
  belief it is tabular Q-learning over hidden states.
- ``"qmdp"`` (Littman et al. 1995): Q(b, a) = Σ_s b(s) Q*_MDP(s, a), the optimal values of the
  fully observed world (value iteration on the model, once); nothing is learned
  (``update_norm = 0``, ``n_updates`` counts nothing).
- ``"pbvi"`` (Pineau, Gordon & Thrun 2003, IJCAI): point-based value iteration on the model
  at the first ``n_points`` reachable beliefs
  (:func:`darkcontrol.envs.pomdp_solvers.point_based_value_iteration`), then
  Q(b, a) = Σ_s b(s) R(s, a) + gamma Σ_o max_i b . G[a, o, i] (one-step lookahead on the alpha
  vectors, G their backprojection). Piecewise linear and convex in b, so it values
  information; planned once, nothing learned (``update_norm = 0``).

Limits. The first two are linear in b, while the optimal Q*(b, a) is piecewise linear and
convex: neither can value information. QMDP acts as if the hidden state became known after
one step: it never pays to gather information, and it over-values actions that delay a
decision (in the cue maze with a noisy cue it waits at the junction for ever, because bumping
there is worth gamma g under every state, more than the uncertain arm; see ``CueMaze``); it
is exact only where uncertainty does not change the best action. Linear Q-learning averages
the values of the states a belief mixes, and can oscillate where a mixture needs a value no
linear function gives. PBVI is exact only at its points (a lower bound on V* everywhere), and
its cost grows with the number of points and alpha vectors. The filter needs the model: P and
O are given (from ``env.unwrapped.mdp`` when it is a TabularPOMDP, or ``pomdp=``); learning
them from observations (EM / Baum-Welch) is not done here. Cost O(S^2) per step.

Offline (hippocampal replay of belief transitions): with ``n_planning > 0``, the agent stores
(b, a, r, b', terminated) of its real steps (the last ``memory_size``) and after each real
step replays ``n_planning`` of them uniformly with the same backup (``linear_q`` only); one
offline row per backup, ``source = "replay"``, with the observation indices of the stored step.
:meth:`learn_offline` is not supported: a transition between observations carries no belief.

Trace: ``state``/``next_state`` are observation indices; every column but ``salience`` is
filled online; offline rows leave ``choice_prob`` and ``policy_entropy`` empty. Extra columns:
``belief_entropy`` (nats, of b') and ``belief_state`` (argmax b'), for regressors of the
inferred task state (orbitofrontal / ventromedial prefrontal, Schuck et al. 2016, Neuron
91:1402; Wilson et al. 2014, Neuron 81:267).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from darkcontrol.agents.base import Agent, transition_fields
from darkcontrol.agents.policies import action_probs_list, entropy, sample_index
from darkcontrol.agents.tabular import check_count
from darkcontrol.envs.pomdp import TabularPOMDP
from darkcontrol.envs.pomdp_solvers import (
    lookahead_q,
    observation_backprojection,
    point_based_value_iteration,
)
from darkcontrol.envs.solvers import value_iteration
from darkcontrol.hyperparams import TDParams

VALUES = ("linear_q", "qmdp", "pbvi")
PLANNED = ("qmdp", "pbvi")  # values planned once on the model, never learned


@dataclass
class BeliefConfig(TDParams):
    """Hyper-parameters of the belief-state agent: the TD block (:class:`TDParams`; ``alpha``
    and ``q_init`` are those of linear Q-learning, ``gamma`` must be < 1 when planned) and:"""

    values: str = "linear_q"  #: "linear_q" (learned) | "qmdp" | "pbvi" (planned on the model)
    n_planning: int = 0  #: replayed belief transitions after each real step ("linear_q")
    memory_size: int = 10_000  #: belief transitions kept for replay (oldest dropped)
    n_points: int = 300  #: belief points of "pbvi" (the first reachable ones)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.values not in VALUES:
            raise ValueError(f"values must be one of {VALUES}, got {self.values!r}")
        if self.values in PLANNED and self.gamma >= 1.0:
            raise ValueError(f"values={self.values!r} needs gamma < 1 (planning), got {self.gamma}")
        check_count("n_planning", self.n_planning)
        check_count("memory_size", self.memory_size, minimum=1)
        check_count("n_points", self.n_points, minimum=1)
        if self.values in PLANNED and self.n_planning:
            raise ValueError(
                f"values={self.values!r} learns nothing, so n_planning must be 0, "
                f"got {self.n_planning}"
            )


class BeliefAgent(Agent):
    """Bayesian filter over hidden states + values of beliefs (linear Q, QMDP or PBVI).

    Needs the POMDP: ``pomdp=`` or ``mdp`` (what ``make_agent`` passes from
    ``env.unwrapped.mdp``) a :class:`TabularPOMDP` whose observations are the agent's states.
    Trace: ``salience`` is NaN; see the module docstring."""

    name = "belief"
    Config = BeliefConfig
    nan_columns = ("salience",)
    default_env = "darkcontrol/CueMaze-v0"

    def __init__(self, n_states, n_actions, config=None, *, pomdp=None, **kw):
        super().__init__(n_states, n_actions, config, **kw)
        pomdp = self.mdp if pomdp is None else pomdp
        if not isinstance(pomdp, TabularPOMDP):
            raise TypeError(
                "the belief agent needs the world's TabularPOMDP (pomdp=..., or an env whose "
                f"unwrapped.mdp is one), got {type(pomdp).__name__}"
            )
        if pomdp.n_obs != self.n_states or pomdp.n_actions != self.n_actions:
            raise ValueError(
                f"the POMDP has {pomdp.n_obs} observations and {pomdp.n_actions} actions; the "
                f"agent was built for {self.n_states} states and {self.n_actions} actions"
            )
        self.pomdp = pomdp
        cfg = self.config
        self._G: np.ndarray | None = None  # PBVI: backprojected alpha vectors (A, O, I, S)
        if cfg.values == "qmdp":
            self.q = value_iteration(pomdp.hidden_mdp, cfg.gamma).Q.copy()
        elif cfg.values == "pbvi":
            sol = point_based_value_iteration(pomdp, cfg.gamma, n_points=cfg.n_points)
            self.pbvi = sol
            self._G = observation_backprojection(pomdp, sol.alphas)
            self.q = np.zeros((pomdp.n_states, self.n_actions))  # unused
        else:
            self.q = np.full((pomdp.n_states, self.n_actions), cfg.q_init, dtype=np.float64)
        self.belief: np.ndarray | None = None  # b over hidden states; None before the 1st act
        self._memory: list[tuple] = []
        self._mem_pos = 0

    # -- values and policy -------------------------------------------------------------------
    def belief_q(self, belief: np.ndarray) -> np.ndarray:
        """Q(b, ·): b @ q, or the PBVI lookahead."""
        if self._G is not None:
            return lookahead_q(self.pomdp, self._G, belief, self.config.gamma)
        return np.asarray(belief, dtype=np.float64) @ self.q

    def q_values(self) -> np.ndarray:
        """Q over observations: Q(b_o, ·) with b_o ∝ O(o | ·), the belief that knows only o
        (the filter's values depend on the whole history, these are a summary)."""
        O = self.pomdp.O
        b = O / np.maximum(O.sum(axis=0, keepdims=True), 1e-300)
        return np.array([self.belief_q(b[:, o]) for o in range(O.shape[1])])

    def _probs(self, belief: np.ndarray) -> list[float]:
        cfg = self.config
        return action_probs_list(
            self.belief_q(belief).tolist(), cfg.policy, beta=cfg.beta, epsilon=cfg.epsilon
        )

    def policy(self, state: int) -> np.ndarray:
        """pi(· | b), b the current belief (or b_0 of ``state`` at an episode start)."""
        b = self.belief if self.belief is not None else self.pomdp.initial_belief(int(state))
        return np.asarray(self._probs(b))

    def act(self, state: int) -> int:
        if self.belief is None:
            self.belief = self.pomdp.initial_belief(int(state))
        probs = self._probs(self.belief)
        self._last_probs, self._last_state = probs, int(state)
        return sample_index(probs, self.rng.random())

    def reset(self) -> None:
        super().reset()
        self.belief = None

    # -- learning ----------------------------------------------------------------------------
    def _backup(self, b, a, r, b2, terminated) -> tuple[float, float, float]:
        """(q, target, update_norm) of one backup of (b, a, r, b'); updates q for linear_q."""
        qa = float(self.belief_q(b)[a])
        y = r if terminated else r + self.config.gamma * float(self.belief_q(b2).max())
        if self.config.values in PLANNED:
            return qa, y, 0.0
        step = self.config.alpha * (y - qa)
        self.q[:, a] += step * b
        self.n_updates += 1
        return qa, y, abs(step) * float(np.sqrt(b @ b))

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
        b = self.belief if self.belief is not None else self.pomdp.initial_belief(int(state))
        b2, p_obs = self.pomdp.update(b, int(action), int(next_state))
        qa, y, norm = self._backup(b, int(action), float(reward), b2, terminated)
        self.recorder.online(
            fields,
            **transition_fields(state, action, reward, next_state, terminated, qa, y, norm),
            spe=1.0 - p_obs,
            **stats,
            **self._belief_columns(b2),
        )
        if self.config.n_planning:
            self._store((b, int(action), float(reward), b2, bool(terminated), state, next_state))
        self.belief = None if (terminated or truncated) else b2

    @staticmethod
    def _belief_columns(b: np.ndarray) -> dict[str, float | int]:
        return {"belief_entropy": float(entropy(b)), "belief_state": int(np.argmax(b))}

    def _store(self, item: tuple) -> None:
        if len(self._memory) < self.config.memory_size:
            self._memory.append(item)
        else:
            self._memory[self._mem_pos] = item
            self._mem_pos = (self._mem_pos + 1) % self.config.memory_size

    @property
    def offline_budget(self) -> int:
        return self.config.n_planning

    def plan(self, budget: int) -> int:
        """Replay ``budget`` stored belief transitions, drawn uniformly (linear_q only)."""
        if not self._memory or self.config.values in PLANNED:
            return 0
        for _ in range(int(budget)):
            b, a, r, b2, term, o, o2 = self._memory[int(self.rng.integers(len(self._memory)))]
            qa, y, norm = self._backup(b, a, r, b2, term)
            p_obs = float(self.pomdp.predict(b, a) @ self.pomdp.O[:, o2])
            self.recorder.offline(
                "replay",
                **transition_fields(o, a, r, o2, term, qa, y, norm),
                spe=1.0 - p_obs,
                **self._belief_columns(b2),
            )
        return int(budget)
