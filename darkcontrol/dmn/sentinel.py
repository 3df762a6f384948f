"""The sentinel and DMN engagement: when to turn inward, when to return to the world.

Relevance (``salience="relevance"``, the default): Dohmatob, Dumas & Bzdok (2020), "Relation
to existing accounts", "Sentinel hypothesis": the DMN tracks the *relevance* of cues, and the
Bellman equation implies a stratified allocation of attention over relevant cues; social cues
matter as states of high value. So salience is what is at stake in the state reached, weighted
by how unexpected it was:

    salience = spe * K(s') / value_scale,   K(s') = max_a q(s', a) - min_a q(s', a)

q(s', a) = R_hat(s', a) + gamma sum_s'' P_hat(s'' | s', a) max_a'' Q(s'', a'') the one-step
look-ahead of the tried actions of s' in the learned model (K = 0 beyond a terminal s'),
spe = 1 - P_hat(s' | s, a). A rare cue of no consequence has a
small K and does not suspend offline processing, however surprising; a threat or a social cue
(a large loss unless escaped, a large gain if approached) has a large K and does, rare or common
(a common cue is still unpredictable step by step: spe = 1 - p_cue). ``salience="rarity"``
keeps the earlier formula below, surprise plus a small value term, for comparison.

Sentinel account (Gusnard & Raichle 2001, Nat Rev Neurosci; Hahn et al. 2007; Buckner et al.
2008, Ann NY Acad Sci): the DMN monitors the environment broadly for unexpected, relevant events.
Dohmatob, Dumas & Bzdok (2020, Hum Brain Mapp 41(12):3318-3341, §5.3, "relation to the sentinel
hypothesis") read it as the agent's relevance signal that interrupts vicarious trial and error.
Per real transition (s, a, r, s'):

    salience = w_spe * spe + (w_rpe * |delta| + w_value * c) / value_scale     ("rarity")
    c = max(|r|, max_a' Q(s', a') - min_a' Q(s', a'))

with spe = 1 - P_hat(s' | s, a) the transition's surprise under the learned model, delta =
r + gamma max_a' Q(s', a') - Q(s, a) the prediction error, and c the cue value: what is at
stake in the state reached, the spread of its learned action values (0 beyond a terminal s'),
or the reward itself if larger. A threat (a large loss unless escaped) and a social cue (a
large gain if approached) both have a large spread, whatever the baseline value of the routine.
A transition with salience >= threshold is *salient*: the offline processing that
would follow it is suspended and the agent returns to the world at once.

Engagement (how much offline processing the DMN does, in [0, 1]) grows as the world becomes
predictable and drops with novelty (the paper's §1/§3 reading of task-induced deactivation and
of the DMN's engagement in well-practised, automatic behaviour, "autopilot": Vatansever, Menon &
Stamatakis 2017, PNAS):

    spe_bar <- spe_bar + eta (spe - spe_bar)        (a running mean of recent surprise, from 1)
    engagement = max(min_engagement, 1 - spe_bar)   ("heuristic")  or 1 ("constant")
"""

from __future__ import annotations

import math

import numpy as np

from darkcontrol._util import check_choice
from darkcontrol.constants import SALIENCE

HEURISTIC_RULES = ("heuristic", "constant")  # the engagement rules the sentinel computes


class Sentinel:
    """The sentinel (Dohmatob et al. 2020, "Relation to existing accounts", "Sentinel
    hypothesis"; Gusnard & Raichle 2001): the salience of real transitions, relevance
    (surprise x stake) or rarity (surprise + value), that suspends offline processing, and the
    heuristic engagement 1 - spe_bar, which grows as the world becomes predictable."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        salience: str = "relevance",
        threshold: float = 1.0,
        w_spe: float = 1.0,
        w_rpe: float = 0.0,
        w_value: float = 0.05,
        value_scale: float = 1.0,
        engagement: str = "heuristic",
        spe_rate: float = 0.1,
        min_engagement: float = 0.0,
    ) -> None:
        check_choice("salience", salience, SALIENCE)
        check_choice("engagement", engagement, HEURISTIC_RULES)
        if not float(value_scale) > 0:
            raise ValueError(f"value_scale must be > 0, got {value_scale!r}")
        if not 0.0 <= float(spe_rate) <= 1.0:
            raise ValueError(f"spe_rate must be in [0, 1], got {spe_rate!r}")
        self.enabled = bool(enabled)
        self.salience_mode = salience
        self.threshold = float(threshold)
        self.w_spe, self.w_rpe, self.w_value = float(w_spe), float(w_rpe), float(w_value)
        self.value_scale = float(value_scale)
        self.mode = engagement
        self.spe_rate = float(spe_rate)
        self.min_engagement = float(min_engagement)
        self.spe_bar = 1.0  # a new world is unpredictable
        self.n_salient = 0

    @staticmethod
    def stake(model, Q: np.ndarray, s2: int, gamma: float, terminated: bool) -> float:
        """K(s') = max_a q(s', a) - min_a q(s', a) over the actions tried in s', with q the
        one-step look-ahead in the learned model, R_hat(s', a) + gamma sum_s''
        P_hat(s''|s', a) max_a'' Q(s'', a'') (``WorldModel.backup``), so that values never
        learnt do not count as stakes; 0 beyond a terminal s' or with < 2 tried actions."""
        if terminated:
            return 0.0
        tried = np.flatnonzero(model.visits[s2] > 0)
        if len(tried) < 2:
            return 0.0
        Qm = Q.max(axis=1)
        q = [model.backup(s2, int(a), lambda x: float(Qm[x]), gamma) for a in tried]
        return float(max(q) - min(q))

    def salience(
        self, spe: float, abs_rpe: float = 0.0, abs_value: float = 0.0, *, stake: float = 0.0
    ) -> float:
        """The salience of one real transition: spe * stake / value_scale ("relevance"), or
        w_spe spe + (w_rpe |delta| + w_value abs_value) / value_scale ("rarity", abs_value the
        cue value max(|r|, spread of Q(s', .)))."""
        if self.salience_mode == "relevance":
            return spe * stake / self.value_scale
        sal = self.w_spe * spe
        if self.w_rpe or self.w_value:
            sal += (self.w_rpe * abs_rpe + self.w_value * abs_value) / self.value_scale
        return sal

    def is_salient(self, salience: float) -> bool:
        """Whether a transition of this salience suspends offline processing."""
        hit = self.enabled and not math.isnan(salience) and salience >= self.threshold
        self.n_salient += hit
        return hit

    def observe_spe(self, spe: float) -> None:
        """Update the running mean of surprise with one real transition's spe."""
        self.spe_bar += self.spe_rate * (spe - self.spe_bar)

    @property
    def engagement(self) -> float:
        """The heuristic rule max(min_engagement, 1 - spe_bar) (1 for "constant")."""
        if self.mode == "constant":
            return 1.0
        return max(self.min_engagement, 1.0 - self.spe_bar)
