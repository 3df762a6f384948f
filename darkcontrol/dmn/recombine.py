"""Recombination: never-experienced transitions built from pieces of real experience.

Dohmatob, Dumas & Bzdok (2020, Hum Brain Mapp 41(12):3318-3341, §4.3, the "deja vu" argument)
propose that the DMN does not only replay what happened: it recombines building blocks of past
experience into scenarios never lived, and learns from them as from real ones (cf. Hassabis &
Maguire 2007, TICS, scene construction; Schacter & Addis 2007, constructive episodic simulation).
Here a recombination step fills a *gap* of experience: a known state s and an action a never
tried in s, and builds a transition (s, a, r_hat, s_hat') from two other experiences:

1. **where a leads** (the first building block):
   - ``"analogy"``: a was tried in the state u most similar to s (nearest in the state
     features phi, e.g. a grid position) and took it from u to u' ~ P_hat(. | u, a). Carry the
     displacement over: s_hat' is the known state nearest to phi(s) + phi(u') - phi(u), kept
     only if it lies within half the smallest distance between two states (otherwise the
     destination is unknown and there is no transition to build);
   - ``"association"``: s_hat' ~ W[s, .] over known states, the semantic associations of s
     (:class:`darkcontrol.dmn.association.AssociationGraph`), leaving out the states that the
     already tried actions of s are known to reach (a new action is expected to go elsewhere).
2. **what arriving there brings** (the second building block): r_hat is the mean reward of the
   real arrivals in s_hat' (the reward of the analogous transition u -> u' when s_hat' was never
   arrived at), and the transition is terminal if s_hat' was seen to end an episode.

The agent then backs the transition up like any other (``source="recombined"``), so the
never-visited pair (s, a) acquires a value: Q(s, a) <- r_hat + gamma max_a' Q(s_hat', a').
A gap is found by drawing uniformly a state of the frontier (known non-terminal states with an
untried action, kept up to date in O(1) per real step) and an untried action in it;
:meth:`Recombiner.sample` returns None when there is no gap left or no destination was
found, and the caller decides what to do with the step (the DMN replays instead, see
:class:`darkcontrol.dmn.DMNAgent`).
"""

from __future__ import annotations

import numpy as np

from darkcontrol.agents.model import WorldModel
from darkcontrol.dmn.association import AssociationGraph

RECOMBINE_MODES = ("analogy", "association")


def feature_tolerance(features: np.ndarray) -> float:
    """Half the smallest distance between two distinct states' features."""
    from scipy.spatial import cKDTree

    phi = np.asarray(features, dtype=np.float64)
    if len(phi) < 2:
        return 0.5
    d, _ = cKDTree(phi).query(phi, k=2)
    nz = d[:, 1][d[:, 1] > 0]
    if len(nz) == 0:
        raise ValueError("all states have the same features; analogy needs distinct features")
    return 0.5 * float(nz.min())


def features_are_grid(features: np.ndarray | None) -> bool:
    """True for integer-valued positions (a grid), where displacements transfer across states."""
    if features is None:
        return False
    phi = np.asarray(features, dtype=np.float64)
    return bool(phi.ndim == 2 and np.isfinite(phi).all() and np.allclose(phi, np.round(phi)))


class Recombiner:
    """Deja vu (Dohmatob et al. 2020, §4.3): builds transitions for never-tried (s, a) pairs
    from two pieces of experience, where a leads (analogy or association) and what arriving
    there brought, so that never-visited pairs acquire values."""

    def __init__(
        self,
        model: WorldModel,
        mode: str,
        *,
        features: np.ndarray | None = None,
        association: AssociationGraph | None = None,
        rng: np.random.Generator,
    ) -> None:
        if mode not in RECOMBINE_MODES:
            raise ValueError(f"recombination mode must be one of {RECOMBINE_MODES}, got {mode!r}")
        S = model.n_states
        if mode == "analogy":
            if features is None:
                raise ValueError(
                    "recombine='analogy' needs state features (e.g. the grid positions "
                    "env.unwrapped.mdp.coords); pass features= or use recombine='association'"
                )
            features = np.asarray(features, dtype=np.float64)
            if features.ndim != 2 or features.shape[0] != S:
                raise ValueError(f"features must have shape ({S}, d), got {np.shape(features)}")
            self.tol = feature_tolerance(features)
        elif association is None:
            raise ValueError("recombine='association' needs an AssociationGraph")
        self.model = model
        self.mode = mode
        self.features = features
        self.association = association
        self.rng = rng
        # on a grid, the known states by position: the destination is a dict look-up
        self._grid = mode == "analogy" and features_are_grid(features)
        self._at: dict[tuple[int, ...], int] = {}
        self.known = np.zeros(S, dtype=np.int64)  # states met so far, in order of discovery
        self.is_known = np.zeros(S, dtype=bool)
        self.n_known = 0
        self.arrive_sum = np.zeros(S)  # sum of rewards of real arrivals in each state
        self.arrive_n = np.zeros(S, dtype=np.int64)
        # the frontier: known states with an untried action (list + position, O(1) updates)
        self._frontier: list[int] = []
        self._where: dict[int, int] = {}

    @property
    def n_gaps(self) -> int:
        """Known states that still have an untried action (candidates for recombination)."""
        return len(self._frontier)

    def observe(self, s: int, a: int, r: float, s2: int, terminated: bool) -> None:
        """Record a real transition (after the model's update): the states met, the reward
        of arriving in ``s2`` and the frontier of untried actions."""
        for x in (s, s2):
            if not self.is_known[x]:
                self.is_known[x] = True
                self.known[self.n_known] = x
                self.n_known += 1
                if self._grid:
                    self._at[tuple(np.rint(self.features[x]).astype(int).tolist())] = x
                self._add(x)
        self.arrive_sum[s2] += r
        self.arrive_n[s2] += 1
        visits = self.model.visits
        if s in self._where and visits[s].min() > 0:
            self._remove(s)
        if terminated:
            self._remove(s2)

    def refresh(self, x: int) -> None:
        """Re-check a known state's place in the frontier (after its terminal status changed)."""
        self._remove(x)
        if self.is_known[x]:
            self._add(x)

    def _add(self, x: int) -> None:
        if x not in self._where and not self.model.terminal[x] and self.model.visits[x].min() == 0:
            self._where[x] = len(self._frontier)
            self._frontier.append(x)

    def _remove(self, x: int) -> None:
        i = self._where.pop(x, None)
        if i is None:
            return
        last = self._frontier.pop()
        if last != x:
            self._frontier[i] = last
            self._where[last] = i

    def _gap(self) -> tuple[int, int] | None:
        """A known non-terminal state and an action never tried in it."""
        visits, terminal = self.model.visits, self.model.terminal
        while self._frontier:
            s = self._frontier[int(self.rng.random() * len(self._frontier))]
            untried = [a for a, n in enumerate(visits[s].tolist()) if n == 0]
            if untried and not terminal[s]:
                return s, untried[int(self.rng.random() * len(untried))]
            self._remove(s)  # became terminal (the world changed) or was tried meanwhile
        return None

    def sample(self) -> tuple[int, int, float, int, bool] | None:
        """A recombined transition (s, a, r_hat, s_hat', terminated), or None."""
        if self.n_known == 0:
            return None
        gap = self._gap()
        if gap is None:
            return None
        s, a = gap
        if self.mode == "analogy":
            built = self._analogy(s, a)
        else:
            built = self._association(s)
        if built is None:
            return None
        s2, r_fallback = built
        n = self.arrive_n[s2]
        r = float(self.arrive_sum[s2] / n) if n else r_fallback
        return s, a, r, s2, bool(self.model.terminal[s2])

    def _analogy(self, s: int, a: int) -> tuple[int, float] | None:
        phi = self.features
        cand = np.flatnonzero(self.model.visits[:, a] > 0)
        if len(cand) == 0:
            return None
        d = ((phi[cand] - phi[s]) ** 2).sum(axis=1)
        best = cand[d <= d.min() + 1e-12]
        u = int(best[int(self.rng.random() * len(best))])
        r_u, u2, _ = self.model.sample(u, a, self.rng)
        target = phi[s] + (phi[u2] - phi[u])
        if self._grid:  # exact positions: the destination is known or unknown
            s2 = self._at.get(tuple(np.rint(target).astype(int).tolist()))
            return None if s2 is None else (s2, r_u)
        known = self.known[: self.n_known]
        dk = ((phi[known] - target) ** 2).sum(axis=1)
        j = int(np.argmin(dk))
        if dk[j] > self.tol**2:
            return None
        return int(known[j]), r_u

    def _association(self, s: int) -> tuple[int, float] | None:
        known = self.known[: self.n_known]
        w = self.association.row(s)[known].copy()
        reached = self.model.counts[s].sum(axis=0)[known] > 0
        if (w[~reached] > 0).any():
            w[reached] = 0.0
        total = w.sum()
        if total <= 0:
            return None
        cdf = np.cumsum(w)
        j = min(int(np.searchsorted(cdf, self.rng.random() * total, side="right")), len(w) - 1)
        return int(known[j]), 0.0
