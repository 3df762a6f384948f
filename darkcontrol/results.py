"""One results format for every claim study: pre-declared tests, claims, controls, results.json.

A claim study declares each test *in code, before any data exist* as a :class:`ClaimSpec`
(statistic, direction, threshold, alpha), computes one effect per independent unit (a seed, an
agent, a participant), and hands the effects to :func:`claim`, which evaluates the declared test
on them and on each control's effects, independently. ``holds`` comes from the spec alone: the
study never chooses it after looking. :func:`write_results` writes ``results.json``:

    {"study", "config", "version",
     "claims": [{"name", "statistic", "effect", "ci": [lo, hi], "n", "holds", "p",
                 "direction", "threshold", "alpha", "description", "reason",
                 "controls": [{"name", "effect", "ci", "n", "holds", "p", "description"}]}],
     "checks": {...}}                      # optional: design checks, not claims

The test (two-sided level 1 - alpha; the claim holds when the effect lies beyond the threshold
on the declared side, i.e. the one-sided p-value is < alpha / 2 and the (1 - alpha) interval
excludes the threshold):

- ``one_sample_t`` (x): effect mean(x); t interval, one-sample t-test.
- ``paired_t`` (x, y paired): effect mean(x - y); t interval, paired t-test.
- ``bootstrap_mean`` (x, or x - y): effect the mean; percentile bootstrap interval (seeded),
  p = share of bootstrap means on the wrong side of the threshold.
- ``sign_flip`` (x, or x - y): effect the mean; exact sign-flip permutation test (all 2^n
  flips for n <= 16, else 20,000 seeded ones), percentile-bootstrap interval.
- ``spearman`` (x, y paired): effect Spearman's rho; bootstrap interval over pairs; exact
  permutation p for n <= 8 and threshold 0, else Fisher's z with variance 1.06 / (n - 3).

Every random draw comes from one ``numpy.random.Generator`` seeded by the ``seed`` argument, so
the same data and seed give the same ``results.json``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

STATISTICS = ("one_sample_t", "paired_t", "bootstrap_mean", "sign_flip", "spearman")
PAIRED = ("paired_t", "spearman")  # need y
DIRECTIONS = (">", "<")
RESULTS_FILE = "results.json"
N_BOOT = 10_000
N_FLIP = 20_000


@dataclass(frozen=True)
class ClaimSpec:
    """A pre-declared test: ``effect <direction> threshold`` at two-sided level ``alpha``."""

    name: str
    statistic: str
    direction: str = ">"
    threshold: float = 0.0
    alpha: float = 0.05
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty str, got {self.name!r}")
        if self.statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {STATISTICS}, got {self.statistic!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")
        if not math.isfinite(float(self.threshold)):
            raise ValueError(f"threshold must be finite, got {self.threshold!r}")
        if not 0.0 < float(self.alpha) < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")


@dataclass(frozen=True)
class Test:
    """What the declared test says about one set of effects."""

    effect: float
    ci: tuple[float, float]
    n: int
    p: float
    holds: bool


@dataclass(frozen=True)
class Control:
    """The claim's test on a control condition's effects (a control that removes the mechanism
    must *not* hold)."""

    name: str
    effect: float
    ci: tuple[float, float]
    n: int
    p: float
    holds: bool
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "effect": _num(self.effect),
            "ci": [_num(self.ci[0]), _num(self.ci[1])],
            "n": self.n,
            "holds": self.holds,
            "p": _num(self.p),
            "description": self.description,
        }


@dataclass(frozen=True)
class Claim:
    """A claim: its spec, its test on the study's effects, and its controls."""

    spec: ClaimSpec
    effect: float
    ci: tuple[float, float]
    n: int
    p: float
    holds: bool
    controls: tuple[Control, ...] = field(default_factory=tuple)
    reason: str = ""  #: why it does not hold (or any caveat), in words

    @property
    def name(self) -> str:
        return self.spec.name

    def control(self, name: str) -> Control:
        for c in self.controls:
            if c.name == name:
                return c
        raise KeyError(f"claim {self.name!r} has no control {name!r}")

    def describe(self) -> str:
        """One line: the claim's effect, interval, verdict and each control's (for the console)."""
        ctl = "; ".join(
            f"{k.name} {k.effect:+.3f} [{k.ci[0]:+.3f}, {k.ci[1]:+.3f}] "
            f"{'HOLDS' if k.holds else 'fails'}"
            for k in self.controls
        )
        return (
            f"{self.name}: {self.effect:+.3f} [{self.ci[0]:+.3f}, {self.ci[1]:+.3f}] "
            f"{'holds' if self.holds else 'does not hold'} | controls: {ctl}"
        )

    def to_dict(self) -> dict[str, Any]:
        s = self.spec
        return {
            "name": s.name,
            "statistic": s.statistic,
            "effect": _num(self.effect),
            "ci": [_num(self.ci[0]), _num(self.ci[1])],
            "n": self.n,
            "holds": self.holds,
            "p": _num(self.p),
            "direction": s.direction,
            "threshold": float(s.threshold),
            "alpha": float(s.alpha),
            "description": s.description,
            "reason": self.reason,
            "controls": [c.to_dict() for c in self.controls],
        }


def evaluate(spec: ClaimSpec, x: Sequence[float], y: Sequence[float] | None = None, *, seed=0):
    """The declared test of ``spec`` on per-unit effects ``x`` (and paired ``y``): a :class:`Test`.

    Raises ValueError for fewer than 2 units, non-finite values, mismatched lengths, or a
    paired statistic without ``y``."""
    x = _vector(x, "x")
    if y is not None:
        y = _vector(y, "y")
        if len(y) != len(x):
            raise ValueError(f"x and y must pair up; got {len(x)} and {len(y)} values")
    if spec.statistic in PAIRED and y is None:
        raise ValueError(f"statistic {spec.statistic!r} compares paired x and y; pass y")
    rng = np.random.default_rng(seed)
    n, a, t0 = len(x), float(spec.alpha), float(spec.threshold)
    sign = 1.0 if spec.direction == ">" else -1.0
    if spec.statistic == "spearman":
        effect, lo, hi, p = _spearman(x, y, a, t0, sign, rng)
    else:
        d = x - y if y is not None else x
        effect = float(d.mean())
        if spec.statistic in ("one_sample_t", "paired_t"):
            lo, hi, p = _t_test(d, a, t0, sign)
        else:
            boot = _bootstrap_means(d, rng)
            lo, hi = (float(v) for v in np.quantile(boot, [a / 2, 1 - a / 2]))
            if spec.statistic == "bootstrap_mean":
                p = float((np.sum(sign * (boot - t0) <= 0) + 1) / (len(boot) + 1))
            else:
                p = _sign_flip_p(d - t0, sign, rng)
    holds = bool(p < a / 2 and (lo > t0 if sign > 0 else hi < t0))
    return Test(effect=effect, ci=(lo, hi), n=n, p=p, holds=holds)


def claim(
    spec: ClaimSpec,
    x: Sequence[float],
    y: Sequence[float] | None = None,
    *,
    controls: Mapping[str, Any] | None = None,
    descriptions: Mapping[str, str] | None = None,
    seed: int = 0,
    reason: str = "",
) -> Claim:
    """Evaluate ``spec`` on the study's effects and, independently, on each control's.

    ``controls`` maps a control's name to its effects: ``x`` or ``(x, y)`` like the claim's."""
    t = evaluate(spec, x, y, seed=seed)
    out = []
    for k, (name, data) in enumerate((controls or {}).items()):
        cx, cy = data if isinstance(data, tuple) else (data, None)
        ct = evaluate(spec, cx, cy, seed=seed + 1 + k)
        out.append(
            Control(
                name=name,
                effect=ct.effect,
                ci=ct.ci,
                n=ct.n,
                p=ct.p,
                holds=ct.holds,
                description=(descriptions or {}).get(name, ""),
            )
        )
    return Claim(
        spec=spec,
        effect=t.effect,
        ci=t.ci,
        n=t.n,
        p=t.p,
        holds=t.holds,
        controls=tuple(out),
        reason=reason,
    )


def write_results(
    out_dir: str | Path,
    study: str,
    config: Mapping[str, Any],
    claims: Iterable[Claim],
    checks: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``out_dir/results.json`` atomically; returns its path. Claim names must be unique."""
    from darkcontrol import __version__
    from darkcontrol._util import atomic_write_text

    claims = list(claims)
    names = [c.name for c in claims]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"claim names must be unique; repeated: {dupes}")
    if not isinstance(study, str) or not study:
        raise ValueError(f"study must be a non-empty str, got {study!r}")
    doc = {
        "study": study,
        "config": dict(config),
        "version": __version__,
        "claims": [c.to_dict() for c in claims],
    }
    if checks:
        doc["checks"] = dict(checks)
    text = json.dumps(doc, indent=2, default=_jsonable, allow_nan=False)
    return atomic_write_text(Path(out_dir) / RESULTS_FILE, text + "\n")


def read_results(path: str | Path) -> dict[str, Any]:
    """Load a ``results.json`` (a file or its folder) and check its keys."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    doc = json.loads(path.read_text())
    missing = {"study", "config", "version", "claims"} - set(doc)
    if missing:
        raise ValueError(f"{path} is not a results file: missing {sorted(missing)}")
    for c in doc["claims"]:
        lacks = {"name", "statistic", "effect", "ci", "n", "holds", "controls"} - set(c)
        if lacks:
            raise ValueError(f"{path}: claim {c.get('name')!r} lacks {sorted(lacks)}")
    return doc


# -- the tests ----------------------------------------------------------------------------------
def _vector(v, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64).ravel()
    if len(a) < 2:
        raise ValueError(f"{name} needs at least 2 units (seeds, agents), got {len(a)}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} has non-finite values: {a[~np.isfinite(a)][:5].tolist()}")
    return a


def _t_test(d: np.ndarray, a: float, t0: float, sign: float) -> tuple[float, float, float]:
    from scipy import stats

    n = len(d)
    m, se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(1 - a / 2, n - 1)) * se
    if se == 0.0:
        p = 0.0 if sign * (m - t0) > 0 else 1.0
    else:
        p = float(stats.t.sf(sign * (m - t0) / se, n - 1))
    return m - half, m + half, p


def _bootstrap_means(d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, len(d), size=(N_BOOT, len(d)))
    return d[idx].mean(axis=1)


def _sign_flip_p(d: np.ndarray, sign: float, rng: np.random.Generator) -> float:
    """One-sided p of mean(d) > 0 (sign +1) or < 0 (sign -1) under random sign flips."""
    n = len(d)
    observed = sign * d.mean()
    if n <= 16:
        flips = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        null = sign * (flips * d).mean(axis=1)
        return float(np.mean(null >= observed - 1e-12))
    flips = rng.choice((1.0, -1.0), size=(N_FLIP, n))
    null = sign * (flips * d).mean(axis=1)
    return float((np.sum(null >= observed - 1e-12) + 1) / (N_FLIP + 1))


def _spearman(x, y, a, t0, sign, rng) -> tuple[float, float, float, float]:
    from scipy import stats

    n = len(x)
    rho = float(stats.spearmanr(x, y).statistic)
    if not math.isfinite(rho):
        raise ValueError("spearman needs x and y that both vary")
    idx = rng.integers(0, n, size=(N_BOOT, n))
    rx = np.apply_along_axis(stats.rankdata, 1, x[idx])
    ry = np.apply_along_axis(stats.rankdata, 1, y[idx])
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx**2).sum(1) * (ry**2).sum(1))
    boot = np.divide((rx * ry).sum(1), den, out=np.zeros(N_BOOT), where=den > 0)
    lo, hi = (float(v) for v in np.quantile(boot, [a / 2, 1 - a / 2]))
    if t0 == 0.0 and n <= 8:  # exact: every permutation of y's ranks
        r_x, r_y = stats.rankdata(x), stats.rankdata(y)
        perms = np.array(list(itertools.permutations(r_y)))
        null = np.array([stats.pearsonr(r_x, p).statistic for p in perms])
        p = float(np.mean(sign * null >= sign * rho - 1e-12))
    else:  # Fisher z of rho against t0, variance 1.06 / (n - 3) (Fieller, Hartley & Pearson)
        z = (math.atanh(np.clip(rho, -0.999999, 0.999999)) - math.atanh(t0)) * math.sqrt(
            max(n - 3, 1) / 1.06
        )
        p = float(stats.norm.sf(sign * z))
    return rho, lo, hi, p


def _num(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (set, frozenset, tuple)):
        return list(x)
    return str(x)
