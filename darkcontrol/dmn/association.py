"""World semantics: an association graph over states, learnt from experience.

The semantic account of the DMN (Binder et al. 2009, Cereb Cortex; Binder & Desai 2011, TICS)
sees it as a store of conceptual associations. Dohmatob, Dumas & Bzdok (2020, Hum Brain Mapp
41(12):3318-3341, §5.2, "The semantic account", and §3.4 on the left TPJ, "world
semantics": the state transitions s0 -> s1 -> s2 ...) read it as the agent's knowledge of which
states follow which. Two association measures, both learnt online from real transitions:

- ``"cooccurrence"``: W[s, s'] = number of transitions between s and s' in either direction,
  the graph of experienced transitions (O(1) per step);
- ``"sr"``: the successor representation (Dayan 1993, Neural Comput; Stachenfeld, Botvinick &
  Gershman 2017, Nat Neurosci), M[s, .] += alpha_M (1_s + gamma_M M[s', .] - M[s, .]) (without
  the bootstrap at a terminal s'), so that M -> sum_k gamma_M^k P_pi^k; associations are
  W = (M + M^T) / 2 with a zero diagonal (O(S) per step). gamma_M sets how far ahead the
  association reaches: gamma_M -> 0 leaves the one-step transitions, the predictive-coding
  limit of an immediate prediction.

Random walks on a graph with community structure give associations that recover the
communities (Schapiro, Rogers, Cordova, Turk-Browne & Botvinick 2013, Nat Neurosci);
:meth:`AssociationGraph.communities` finds them by modularity (Louvain; Blondel et al. 2008).
The DMN uses the graph to generalise: it recombines experience by letting a never-tried action
lead to an associated state (:mod:`darkcontrol.dmn.recombine`).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from darkcontrol.constants import ASSOCIATION as ASSOCIATIONS


def sr_update(M: np.ndarray, s: int, s2: int, terminated: bool, alpha: float, gamma: float):
    """One TD step of the successor representation, in place (Dayan 1993):
    M[s, .] += alpha (1_s + gamma M[s2, .] - M[s, .]), without the bootstrap at a terminal s2."""
    row = M[s]
    target = -row
    target[s] += 1.0
    if not terminated:
        target += gamma * M[s2]
    row += alpha * target


class AssociationGraph:
    """World semantics (Dohmatob et al. 2020, §3.4 left TPJ and §5.2 semantic account):
    associations between states learnt from real transitions, by co-occurrence or the
    successor representation (Dayan 1993), as a networkx graph with Louvain communities."""

    def __init__(
        self,
        n_states: int,
        kind: str = "cooccurrence",
        *,
        sr_gamma: float = 0.9,
        sr_alpha: float = 0.1,
    ) -> None:
        if kind not in ASSOCIATIONS:
            raise ValueError(f"association must be one of {ASSOCIATIONS}, got {kind!r}")
        if not 0.0 <= sr_gamma < 1.0:
            raise ValueError(f"sr_gamma must be in [0, 1), got {sr_gamma}")
        if not 0.0 < sr_alpha <= 1.0:
            raise ValueError(f"sr_alpha must be in (0, 1], got {sr_alpha}")
        self.n_states = int(n_states)
        self.kind = kind
        self.sr_gamma = float(sr_gamma)
        self.sr_alpha = float(sr_alpha)
        self.counts = np.zeros((self.n_states, self.n_states), dtype=np.float64)
        self.M = np.eye(self.n_states) if kind == "sr" else None

    def update(self, s: int, s2: int, terminated: bool = False) -> None:
        """Learn from one real transition s -> s2."""
        if s != s2:
            self.counts[s, s2] += 1.0
            self.counts[s2, s] += 1.0
        if self.M is not None:
            sr_update(self.M, s, s2, terminated, self.sr_alpha, self.sr_gamma)

    def row(self, s: int) -> np.ndarray:
        """Association weights of ``s`` to every state (>= 0, zero on the diagonal)."""
        if self.M is None:
            return self.counts[s]
        w = 0.5 * (self.M[s] + self.M[:, s])
        w = np.maximum(w, 0.0)
        w[s] = 0.0
        return w

    def weights(self) -> np.ndarray:
        """The full (S, S) association matrix W (symmetric, >= 0, zero diagonal)."""
        if self.M is None:
            return self.counts.copy()
        W = np.maximum(0.5 * (self.M + self.M.T), 0.0)
        np.fill_diagonal(W, 0.0)
        return W

    def graph(self, states: np.ndarray | None = None) -> nx.Graph:
        """A weighted networkx graph over the experienced states (or ``states``)."""
        W = self.weights()
        if states is None:
            states = np.flatnonzero(self.counts.sum(axis=1) > 0)
        states = np.asarray(states, dtype=np.int64)
        G = nx.Graph()
        G.add_nodes_from(int(s) for s in states)
        sub = W[np.ix_(states, states)]
        ii, jj = np.nonzero(np.triu(sub, k=1))
        G.add_weighted_edges_from(
            (int(states[i]), int(states[j]), float(sub[i, j])) for i, j in zip(ii, jj)
        )
        return G

    def communities(self, seed: int = 0, resolution: float = 1.0) -> list[set[int]]:
        """Communities of the association graph by Louvain modularity maximisation."""
        G = self.graph()
        if G.number_of_edges() == 0:
            raise ValueError("the association graph has no edges yet: no experience to group")
        parts = nx.community.louvain_communities(
            G, weight="weight", resolution=resolution, seed=seed
        )
        return sorted((set(map(int, p)) for p in parts), key=min)
