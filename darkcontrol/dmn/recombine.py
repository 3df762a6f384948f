"""Recombination: never-experienced transitions built from pieces of real experience.

Modes (``Recombiner(mode=...)``); all but ``"analogy"`` use only what the agent learnt:

| mode          | where the untried action a leads from s                                   |
|---------------|---------------------------------------------------------------------------|
| "stitch"      | analogy in *learned* features phi (:class:`LearnedFeatures`, a spectral    |
|               | embedding of the agent's experienced-transition graph): the mean           |
|               | displacement Delta of a where it was tried (phi(u') - phi(u) over the      |
|               | ``analogues`` states u nearest to s in phi) picks, among the states        |
|               | experienced next to s and not yet reached from s, the one whose            |
|               | displacement from s points the same way (the largest cosine; with a finite |
|               | ``analogy_beta`` b, drawn with probability ~ exp(b cos)); a bump if        |
|               | ||Delta|| <= h / 4 (h below); fragments sharing the state s are stitched  |
|               | (v -> s experienced, s -> v recombined)                                    |
| "perturb"     | perturbed replay: a stored (u, a, r, u') replayed at s~, the known state   |
|               | nearest to phi(u) + noise * h * xi (xi ~ N(0, I), h the median distance    |
|               | between experienced neighbours in phi); at a tried (s~, a) the agent's     |
|               | model of it is replayed, at an untried one the fragment is carried over as |
|               | in "stitch"; ``noise=0`` is plain replay                                   |
| "association" | s_hat' ~ W[s, .], the semantic associations of s (below)                   |
| "analogy"     | displacement analogy on given features (the world's true coordinates:      |
|               | an *oracle* baseline, the DMN's ``recombine="oracle_analogy"``)            |

Dohmatob, Dumas & Bzdok (2020), "Reinforcement learning control: a process model for DMN
function", "Putting everything together" (published: "Summary and hypotheses for future
studies"): the hippocampus generates *perturbed* pseudo-experience, and stochastic
recombination of experience building blocks lets the agent learn from scenarios it never met
(deja vu); "Relation to existing accounts", "Semantic hypothesis": association to known similar
states, recombined building blocks. Learned features: Laplacian eigenmaps of the experienced
transition graph (Belkin & Niyogi 2003; proto-value functions, Mahadevan & Maggioni 2007, JMLR
8:2169), the eigenvectors of the successor representation of a random walk (Stachenfeld,
Botvinick & Gershman 2017, Nat Neurosci 20:1643).

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

RECOMBINE_MODES = ("stitch", "perturb", "association", "analogy")
LEARNED_MODES = ("stitch", "perturb")


class LearnedFeatures:
    """State features learnt from experience: the spectral embedding of the agent's graph of
    experienced transitions (adjacency A[s, s'] = 1 if s -> s' or s' -> s was experienced,
    from :attr:`AssociationGraph.counts`), restricted to the states met,

        L = I - D^-1/2 A D^-1/2,   phi(s) = D^-1/2 [u_1(s), ..., u_k(s)]

    u_1..u_k the eigenvectors of the k smallest eigenvalues after the first (constant) one,
    scaled to max |phi| = 1 (Laplacian eigenmaps, Belkin & Niyogi 2003; proto-value
    functions, Mahadevan & Maggioni 2007). Recomputed lazily when the graph has changed
    (O(n^3) for n states met). No coordinates of the world enter, only what followed what."""

    def __init__(self, association: AssociationGraph, dims: int = 5) -> None:
        if isinstance(dims, bool) or not isinstance(dims, (int, np.integer)) or dims < 1:
            raise ValueError(f"feature dims must be an int >= 1, got {dims!r}")
        self.association = association
        self.dims = int(dims)
        self.version = 0  # new edges seen (bumped by the owner)
        self._built = -1  # version of the last build
        self.phi = np.zeros((association.n_states, self.dims))
        self.scale = 1.0  # median distance in phi between experienced neighbours

    def touch(self) -> None:
        """Count a new edge of the experienced graph (the owner calls it)."""
        self.version += 1

    def get(self) -> np.ndarray:
        """phi (S, dims); rows of states never met are 0. Rebuilt once the edges added since
        the last build reach 5 % of the edges then (amortised O(n^2) per new edge)."""
        new = self.version - max(self._built, 0)
        if self._built < 0 or (new > 0 and new >= 0.05 * self._built):
            self._build()
        return self.phi

    def _build(self) -> None:
        counts = self.association.counts
        met = np.flatnonzero(counts.sum(axis=1) > 0)
        phi = np.zeros_like(self.phi)
        if len(met) >= 2:
            adj = (counts[np.ix_(met, met)] > 0).astype(np.float64)
            deg = adj.sum(axis=1)
            dinv = 1.0 / np.sqrt(deg)
            lap = np.eye(len(met)) - dinv[:, None] * adj * dinv[None, :]
            w, u = np.linalg.eigh(lap)
            k = min(self.dims, len(met) - 1)
            emb = dinv[:, None] * u[:, 1 : 1 + k]
            emb /= np.abs(emb).max() or 1.0
            phi[met, :k] = emb
            ii, jj = np.nonzero(np.triu(adj, k=1))
            if len(ii):
                d = np.linalg.norm(emb[ii] - emb[jj], axis=1)
                d = d[d > 0]
                self.scale = float(np.median(d)) if len(d) else 1.0
        self.phi = phi
        self._built = self.version


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
        noise: float = 1.0,
        feature_dims: int = 5,
        analogues: int = 4,
        analogy_beta: float = float("inf"),
    ) -> None:
        if mode not in RECOMBINE_MODES:
            raise ValueError(f"recombination mode must be one of {RECOMBINE_MODES}, got {mode!r}")
        if not float(noise) >= 0 or not np.isfinite(noise):
            raise ValueError(f"perturbation noise must be a finite number >= 0, got {noise!r}")
        S = model.n_states
        self.noise = float(noise)
        if (
            isinstance(analogues, bool)
            or not isinstance(analogues, (int, np.integer))
            or analogues < 1
        ):
            raise ValueError(f"analogues must be an int >= 1, got {analogues!r}")
        self.analogues = int(analogues)
        if not float(analogy_beta) >= 0:
            raise ValueError(f"analogy_beta must be >= 0 (inf: the best fit), got {analogy_beta!r}")
        self.analogy_beta = float(analogy_beta)
        self.learned: LearnedFeatures | None = None
        if mode in LEARNED_MODES:
            if features is not None:
                raise ValueError(
                    f"recombine={mode!r} learns its features from experience; features= is "
                    "for the oracle mode 'analogy' only"
                )
            if association is None:
                raise ValueError(f"recombine={mode!r} needs an AssociationGraph")
            self.learned = LearnedFeatures(association, feature_dims)
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
        elif mode == "association" and association is None:
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
        if self.learned is not None and s != s2 and self.association.counts[s, s2] <= 1.0:
            self.learned.touch()  # a new edge of the experienced graph
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

    def sample(self, memory=None) -> tuple[int, int, float, int, bool] | None:
        """A recombined transition (s, a, r_hat, s_hat', terminated), or None. ``"perturb"``
        replays from ``memory`` (an :class:`darkcontrol.dmn.memory.ExperienceMemory`)."""
        if self.n_known == 0:
            return None
        if self.mode == "perturb":
            return self._perturbed(memory)
        gap = self._gap()
        if gap is None:
            return None
        s, a = gap
        if self.mode == "analogy":
            built = self._analogy(s, a)
        elif self.mode == "stitch":
            built = self._stitch(s, a)
        else:
            built = self._association(s)
        if built is None:
            return None
        s2, r_fallback = built
        if s2 == s:
            return s, a, r_fallback, s, False  # a bump: the reward of the analogous bump
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

    # -- learned representations: stitching and perturbed replay ----------------------------
    def _stitch(
        self, s: int, a: int, hint: tuple[int, int] | None = None
    ) -> tuple[int, float] | None:
        """Where untried ``a`` leads from ``s``, by analogy in the learned features, among the
        states experienced next to ``s`` (plus ``s`` itself: a bump). ``hint``: the (u, u')
        of the fragment to carry over (perturbed replay); otherwise u is the state nearest to
        ``s`` in phi where ``a`` was tried and u' ~ P_hat(. | u, a)."""
        phi = self.learned.get()
        m = self.model
        nb = np.flatnonzero(self.association.counts[s] > 0)
        if len(nb):
            reached = m.counts[s].sum(axis=0)[nb] > 0
            nb = nb[~reached] if (~reached).any() else nb
        if hint is None:
            cand = np.flatnonzero(m.visits[:, a] > 0)
            cand = cand[cand != s]
            if len(cand) == 0:
                return self._association_among(s, nb)
            d = ((phi[cand] - phi[s]) ** 2).sum(axis=1)
            order = np.argsort(d, kind="stable")[: self.analogues]
            delta = np.zeros(phi.shape[1])
            rewards = []
            for u in cand[order].tolist():
                r_u, u2, _ = m.sample(u, a, self.rng)
                delta += (phi[u2] - phi[u]) / len(order)
                rewards.append(r_u)
            r_u = float(np.mean(rewards))
        else:
            u, u2 = hint
            r_u = m.reward(u, a, u2)
            delta = phi[u2] - phi[u]
        norm = float(np.linalg.norm(delta))
        if norm <= 0.25 * self.learned.scale:
            return s, r_u  # a mostly bumps where it was tried: it bumps here too
        if len(nb) == 0:
            return None
        disp = phi[nb] - phi[s]
        cos = disp @ delta / (np.linalg.norm(disp, axis=1) * norm + 1e-12)
        if np.isinf(self.analogy_beta):  # the best fit, ties broken at random
            best = nb[cos >= cos.max() - 1e-12]
            return int(best[int(self.rng.random() * len(best))]), r_u
        w = np.exp(self.analogy_beta * (cos - cos.max()))
        cdf = np.cumsum(w)
        j = min(int(np.searchsorted(cdf, self.rng.random() * cdf[-1], side="right")), len(nb) - 1)
        return int(nb[j]), r_u

    def _association_among(self, s: int, nb: np.ndarray) -> tuple[int, float] | None:
        if len(nb) == 0:
            return None
        w = self.association.row(s)[nb]
        if w.sum() <= 0:
            w = np.ones(len(nb))
        cdf = np.cumsum(w)
        j = min(int(np.searchsorted(cdf, self.rng.random() * cdf[-1], side="right")), len(nb) - 1)
        return int(nb[j]), 0.0

    def _perturbed(self, memory) -> tuple[int, int, float, int, bool] | None:
        """Perturbed replay: a stored (u, a, r, u') recalled at a nearby state s~ of the
        learned representation (see the module docstring); None with an empty memory."""
        if memory is None or len(memory) == 0:
            return None
        u, a, r, u2, term = memory.get(memory.sample())
        if self.noise == 0:
            return u, a, r, u2, term
        phi = self.learned.get()
        known = self.known[: self.n_known]
        xi = self.rng.standard_normal(phi.shape[1])
        target = phi[u] + self.noise * self.learned.scale * xi
        s = int(known[int(np.argmin(((phi[known] - target) ** 2).sum(axis=1)))])
        m = self.model
        if s == u:
            return u, a, r, u2, term
        if m.terminal[s]:
            return u, a, r, u2, term  # nothing is done from a terminal state
        if m.visits[s, a] > 0:
            r2, s2, t2 = m.sample(s, a, self.rng)
            return s, a, r2, s2, t2
        built = self._stitch(s, a, hint=(u, u2))
        if built is None:
            return u, a, r, u2, term
        s2, r_fallback = built
        if s2 == s:
            return s, a, r_fallback, s, False
        n = self.arrive_n[s2]
        r_hat = float(self.arrive_sum[s2] / n) if n else r_fallback
        return s, a, r_hat, s2, bool(m.terminal[s2])
