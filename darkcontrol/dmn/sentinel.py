"""The sentinel and DMN engagement: when to turn inward, when to return to the world.

Sentinel account (Gusnard & Raichle 2001, Nat Rev Neurosci; Hahn et al. 2007; Buckner et al.
2008, Ann NY Acad Sci): the DMN monitors the environment broadly for unexpected, relevant events.
Dohmatob, Dumas & Bzdok (2020, Hum Brain Mapp 41(12):3318-3341, §5.3, "The sentinel
account") read it as the agent's relevance signal that interrupts vicarious trial and error.
Per real transition (s, a, r, s'):

    salience = w_spe * spe + (w_rpe * |delta| + w_value * c) / value_scale,
    c = max(|r|, max_a' Q(s', a') - min_a' Q(s', a'))

with spe = 1 - P_hat(s' | s, a) the transition's surprise under the learned model, delta =
r + gamma max_a' Q(s', a') - Q(s, a) the prediction error, and c the cue value: what is at
stake in the state reached, the spread of its learned action values (0 beyond a terminal s'),
or the reward itself if larger. A threat (a large loss unless escaped) and a social cue (a
large gain if approached) both have a large spread, whatever the baseline value of the routine.
A transition with salience >= threshold is *salient*: the offline processing that
would follow it is suspended and the agent returns to the world at once.

Engagement (how much offline processing the DMN does, in [0, 1]) grows as the world becomes
predictable and drops with novelty (the paper's §2/§4.3 reading of task-induced deactivation and
of the DMN's engagement in well-practised, automatic behaviour, "autopilot": Vatansever, Menon &
Stamatakis 2017, PNAS):

    spe_bar <- spe_bar + eta (spe - spe_bar)        (a running mean of recent surprise, from 1)
    engagement = max(min_engagement, 1 - spe_bar)   ("predictability")  or 1 ("constant")
"""

from __future__ import annotations

import math


class Sentinel:
    """The sentinel (Dohmatob et al. 2020, §5.3; Gusnard & Raichle 2001): the salience of real
    transitions (surprise, prediction error, cue value) that suspends offline processing, and
    the DMN's engagement 1 - spe_bar, which grows as the world becomes predictable (§2, §4.3)."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        threshold: float = 1.0,
        w_spe: float = 1.0,
        w_rpe: float = 0.0,
        w_value: float = 0.05,
        value_scale: float = 1.0,
        engagement: str = "predictability",
        spe_rate: float = 0.1,
        min_engagement: float = 0.0,
    ) -> None:
        self.enabled = bool(enabled)
        self.threshold = float(threshold)
        self.w_spe, self.w_rpe, self.w_value = float(w_spe), float(w_rpe), float(w_value)
        self.value_scale = float(value_scale)
        self.mode = engagement
        self.spe_rate = float(spe_rate)
        self.min_engagement = float(min_engagement)
        self.spe_bar = 1.0  # a new world is unpredictable
        self.n_salient = 0

    def salience(self, spe: float, abs_rpe: float, abs_value: float) -> float:
        """The relevance of one real transition (see the module docstring)."""
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
        if self.mode == "constant":
            return 1.0
        return max(self.min_engagement, 1.0 - self.spe_bar)
