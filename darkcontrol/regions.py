"""The paper's map from agent quantities to DMN nodes, and the named alternatives.

Dohmatob, Dumas & Bzdok (2020) give the map twice, in words that do not quite agree. Their
Figure 4 (section "Reinforcement learning control: a process model for DMN function") assigns
to each node one term of the replay Q-learner; their "Summary and hypotheses for future
studies" predicts that the right TPJ relates to policy changes driven by *non-value* prediction
errors, while Figure 4 gives the right TPJ the value prediction error Q(s, a) - y. The named
maps (:data:`MAPS`, :meth:`RegionMap.named`):

| node  | computation (paper)           | "figure4"        | "hypotheses"  | "figure4_entropy" |
|-------|-------------------------------|------------------|---------------|-------------------|
| PMC   | global monitoring: delta th.  | update_norm, sum | update_norm   | update_norm       |
| dmPFC | action consideration: argmax  | choice_prob, on  | choice_prob   | policy_entropy    |
| vmPFC | stimulus-value assoc. Q(s, a) | q                | q             | q                 |
| rTPJ  | prediction error              | abs(rpe)         | spe, online   | abs(rpe)          |
| lTPJ  | world semantics: s -> s'      | spe              | spe, offline  | spe               |
| HPC   | replay (s, a, r, s') ~ D      | offline steps    | offline steps | offline steps     |
| NAcc  | reward and punishment         | reward, sum      | reward, sum   | reward, sum       |

"figure4" is the default (:meth:`RegionMap.paper`); abs(rpe) = abs(Q(s, a) - y); "on": online
steps only. PMC posteromedial cortex; dmPFC / vmPFC dorso- / ventromedial prefrontal cortex
(BA9 / BA10); r/lTPJ right / left temporo-parietal junction; HPC hippocampus; NAcc nucleus
accumbens.

Choices, and why:

- **dmPFC** carries ``choice_prob``, pi(a_t | s_t) of the action taken, in every map but the
  old one: the paper's dmPFC implements the hard-max lookup a = argmax_a Q(s, a | theta)
  ("Value approximation and the policy matrix"), i.e. the choice, not the uncertainty of the
  policy; ``policy_entropy`` (the previous default) is kept in ``"figure4_entropy"`` for
  comparison.
- **rTPJ** keeps Figure 4's value prediction error |Q - y| in the default map, so that
  regressors built with ``RegionMap.paper()`` keep their meaning (a silent change of every
  events file would be worse than a documented inconsistency). The ``"hypotheses"`` map follows
  the paper's hypotheses instead: the right TPJ signals the non-value prediction error of the
  world it acts in, the state-prediction error ``spe = 1 - P(s' | s, a)`` of real transitions
  ("The right and left TPJ: prediction error signaling and world semantics": detection of
  environmental changes, a circuit breaker for unexpected events), and the left TPJ the same
  world model's prediction on internally generated transitions (world semantics used in
  replay, simulation and recombination). ``scripts/dmn_node_hypotheses.py`` tests the
  dissociation with this map and reports the default map next to it.

A :class:`RegionMap` is a tuple of :class:`NodeSignal` (one per node); users pass their own
(:meth:`RegionMap.from_dict`). It turns a Trace into (a) events, one row per contributing Trace
row with an onset and a value, for parametric fMRI regressors, and (b) one binned time series
per node. :meth:`RegionMap.shuffled` reassigns the signals to the nodes at random (a control:
a claim that holds under any assignment says nothing about the map).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TRANSFORMS = ("identity", "abs", "square", "count")
AGGREGATIONS = ("sum", "mean")
PHASE_SETS = ("online", "offline")


@dataclass(frozen=True)
class NodeSignal:
    """One DMN node and the Trace quantity it carries.

    ``transform``: identity | abs | square | count (1 per step, or ``n_steps`` of a summary row).
    ``phases``: which Trace phases contribute. ``agg``: how steps within a time bin combine.
    """

    node: str
    column: str
    transform: str = "identity"
    phases: tuple[str, ...] = PHASE_SETS
    agg: str = "mean"
    region: str = ""
    computation: str = ""

    def __post_init__(self) -> None:
        if not self.node.isidentifier():
            raise ValueError(
                f"node name must be an identifier (used in contrasts), got {self.node!r}"
            )
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {TRANSFORMS}, got {self.transform!r}")
        if self.agg not in AGGREGATIONS:
            raise ValueError(f"agg must be one of {AGGREGATIONS}, got {self.agg!r}")
        bad = set(self.phases) - set(PHASE_SETS)
        if bad or not self.phases:
            raise ValueError(
                f"phases must be a non-empty subset of {PHASE_SETS}, got {self.phases}"
            )

    def values(self, trace: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of the Trace rows this node listens to, NaNs dropped."""
        rows = trace[trace["phase"].isin(self.phases)]
        if self.transform == "count":
            v = (
                rows["n_steps"].fillna(1.0).to_numpy(np.float64)
                if "n_steps" in rows
                else np.ones(len(rows))
            )
        else:
            if self.column not in rows:
                raise ValueError(f"Trace has no column {self.column!r} (node {self.node})")
            v = rows[self.column].astype("float64").to_numpy(np.float64, na_value=np.nan)
            if self.transform == "abs":
                v = np.abs(v)
            elif self.transform == "square":
                v = v**2
        t = rows["time"].to_numpy(np.float64)
        keep = np.isfinite(v)
        return t[keep], v[keep]


@dataclass(frozen=True)
class RegionMap:
    """A map from Trace quantities to brain nodes; :meth:`paper` is the paper's Figure 4."""

    signals: tuple[NodeSignal, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        nodes = [s.node for s in self.signals]
        if not nodes:
            raise ValueError("a RegionMap needs at least one NodeSignal")
        dupes = sorted({n for n in nodes if nodes.count(n) > 1})
        if dupes:
            raise ValueError(f"each node appears once in a RegionMap; repeated: {dupes}")

    @classmethod
    def paper(cls) -> RegionMap:
        """The default map: Dohmatob, Dumas & Bzdok (2020), Figure 4 (``MAPS["figure4"]``)."""
        return cls(PAPER_SIGNALS)

    @classmethod
    def named(cls, name: str) -> RegionMap:
        """One of :data:`MAPS`: "figure4" (the default), "hypotheses", "figure4_entropy"."""
        if name not in MAPS:
            raise ValueError(f"unknown region map {name!r}; named maps: {sorted(MAPS)}")
        return cls(MAPS[name])

    def shuffled(self, seed: int | np.random.Generator | None = None) -> RegionMap:
        """The same nodes with their signals reassigned by a random derangement: no node keeps
        its own signal (column, transform, phases and aggregation move together)."""
        from darkcontrol._util import make_rng

        rng = make_rng(seed)
        content = [(s.column, s.transform, s.phases, s.agg) for s in self.signals]
        if len(set(content)) < 2:
            raise ValueError("shuffling needs at least two different node signals")
        n = len(self.signals)
        while True:
            perm = rng.permutation(n)
            if all(content[perm[i]] != content[i] for i in range(n)):
                break
        return RegionMap(
            tuple(
                NodeSignal(
                    s.node,
                    self.signals[perm[i]].column,
                    transform=self.signals[perm[i]].transform,
                    phases=self.signals[perm[i]].phases,
                    agg=self.signals[perm[i]].agg,
                    region=s.region,
                    computation=f"(shuffled) {self.signals[perm[i]].computation}",
                )
                for i, s in enumerate(self.signals)
            )
        )

    @classmethod
    def from_dict(cls, mapping: dict[str, dict | str]) -> RegionMap:
        """``{"vmPFC": "q", "rTPJ": {"column": "rpe", "transform": "abs"}}``."""
        signals = []
        for node, spec in mapping.items():
            spec = {"column": spec} if isinstance(spec, str) else dict(spec)
            if "phases" in spec:
                spec["phases"] = tuple(spec["phases"])
            signals.append(NodeSignal(node=node, **spec))
        return cls(tuple(signals))

    @property
    def nodes(self) -> list[str]:
        return [s.node for s in self.signals]

    def __getitem__(self, node: str) -> NodeSignal:
        for s in self.signals:
            if s.node == node:
                return s
        raise KeyError(f"no node {node!r}; nodes: {self.nodes}")

    def subset(self, nodes: Iterable[str]) -> RegionMap:
        return RegionMap(tuple(self[n] for n in nodes))

    def events(self, trace: pd.DataFrame) -> pd.DataFrame:
        """Long table ``run, node, time, value``: every Trace row that feeds a node."""
        frames = []
        runs = trace["run"].unique() if len(trace) else []
        for run in runs:
            sub = trace[trace["run"] == run]
            for sig in self.signals:
                t, v = sig.values(sub)
                frames.append(pd.DataFrame({"run": run, "node": sig.node, "time": t, "value": v}))
        if not frames:
            return pd.DataFrame({"run": [], "node": [], "time": [], "value": []})
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["run", "node", "time"], kind="stable").reset_index(drop=True)

    def time_series(
        self,
        trace: pd.DataFrame,
        dt: float = 1.0,
        t_max: float | None = None,
        run: int | None = None,
    ) -> pd.DataFrame:
        """One column per node, one row per time bin [k dt, (k+1) dt) of one run.

        Bins without a contributing step are 0 (no computation, no signal)."""
        if dt <= 0:
            raise ValueError(f"dt must be > 0, got {dt}")
        if run is None:
            runs = trace["run"].unique()
            if len(runs) > 1:
                raise ValueError(f"the Trace has {len(runs)} runs; pass run=")
            run = runs[0] if len(runs) else 0
        sub = trace[trace["run"] == run]
        if t_max is None:  # up to and including the bin of the last step
            n_bins = int(np.floor(float(sub["time"].max()) / dt)) + 1 if len(sub) else 1
        else:
            n_bins = max(int(np.ceil(t_max / dt)), 1)
        data = {}
        for sig in self.signals:
            t, v = sig.values(sub)
            idx = np.floor(t / dt).astype(np.int64)
            ok = (idx >= 0) & (idx < n_bins)
            sums = np.bincount(idx[ok], weights=v[ok], minlength=n_bins)
            if sig.agg == "mean":
                counts = np.bincount(idx[ok], minlength=n_bins)
                sums = np.divide(sums, counts, out=np.zeros(n_bins), where=counts > 0)
            data[sig.node] = sums
        return pd.DataFrame(data, index=pd.Index(np.arange(n_bins) * dt, name="time"))


PAPER_SIGNALS: tuple[NodeSignal, ...] = (
    NodeSignal(
        "PMC",
        "update_norm",
        agg="sum",
        region="posteromedial cortex",
        computation="global monitoring: parameter update delta theta",
    ),
    NodeSignal(
        "dmPFC",
        "choice_prob",
        phases=("online",),
        region="dorsomedial prefrontal cortex (BA9)",
        computation="action consideration: argmax_a Q(s, a | theta), pi(a_t | s_t) of the choice",
    ),
    NodeSignal(
        "vmPFC",
        "q",
        region="ventromedial prefrontal cortex (BA10)",
        computation="stimulus-value association: Q(s, a | theta)",
    ),
    NodeSignal(
        "rTPJ",
        "rpe",
        transform="abs",
        region="right temporo-parietal junction",
        computation="prediction-error signalling: Q(s, a | theta) - y",
    ),
    NodeSignal(
        "lTPJ",
        "spe",
        region="left temporo-parietal junction",
        computation="world semantics: state transitions s -> s'",
    ),
    NodeSignal(
        "HPC",
        "phase",
        transform="count",
        phases=("offline",),
        agg="sum",
        region="hippocampus",
        computation="memory and experience replay: (s, a, r, s') ~ D",
    ),
    NodeSignal(
        "NAcc",
        "reward",
        phases=("online",),
        agg="sum",
        region="nucleus accumbens",
        computation="reward and punishment signals",
    ),
)


def _replace(signals: tuple[NodeSignal, ...], **changes: NodeSignal) -> tuple[NodeSignal, ...]:
    return tuple(changes.get(sig.node, sig) for sig in signals)


#: Figure 4 with the previous dmPFC signal, the entropy of the policy (for comparison).
FIGURE4_ENTROPY_SIGNALS = _replace(
    PAPER_SIGNALS,
    dmPFC=NodeSignal(
        "dmPFC",
        "policy_entropy",
        phases=("online",),
        region="dorsomedial prefrontal cortex (BA9)",
        computation="action consideration, as the entropy H[pi(.|s)] of the policy",
    ),
)

#: The wording of the paper's "Summary and hypotheses for future studies": rTPJ signals the
#: non-value (state) prediction error of real transitions, lTPJ the world model's prediction
#: on internally generated ones.
HYPOTHESES_SIGNALS = _replace(
    PAPER_SIGNALS,
    rTPJ=NodeSignal(
        "rTPJ",
        "spe",
        phases=("online",),
        region="right temporo-parietal junction",
        computation="non-value prediction error: spe = 1 - P(s' | s, a) of real transitions",
    ),
    lTPJ=NodeSignal(
        "lTPJ",
        "spe",
        phases=("offline",),
        region="left temporo-parietal junction",
        computation="world semantics: the model's prediction of replayed and imagined s -> s'",
    ),
)

MAPS: dict[str, tuple[NodeSignal, ...]] = {
    "figure4": PAPER_SIGNALS,
    "hypotheses": HYPOTHESES_SIGNALS,
    "figure4_entropy": FIGURE4_ENTROPY_SIGNALS,
}
