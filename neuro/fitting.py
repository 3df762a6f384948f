"""Maximum-likelihood and MAP fits of a model to one participant's choices.

The objective is minimised on the unbounded scale u (``Param.to_unbounded``: a scaled logit
so that every parameter stays inside its bounds, or a log for inverse temperatures) with
``scipy.optimize.minimize`` (L-BFGS-B, in each parameter's box ``Param.u_bounds`` against
runaway flat directions) from several starts: the prior mean, then draws from the prior
N(mu, sd^2) on u, from one seeded Generator. Gradients are central finite differences
computed in *one* vectorised pass over the participant's history (the model evaluates the
2P + 1 stencil points as a (2P + 1, P) parameter array), so a gradient costs about as much as
a function value. Models whose likelihood is piecewise constant (``smooth=False``,
epsilon-greedy) use Nelder-Mead instead.

- MLE: minimise NLL(u) = -sum_t log P(c_t | theta(u))
- MAP: minimise NLP(u) = NLL(u) - log N(u; mu, diag sd^2)  (the Gaussian prior lives on the
  unbounded scale, as in Huys et al. 2011 and Daw 2011)

Reported, per participant: parameters, NLL, AIC = 2 NLL + 2k, BIC = 2 NLL + k ln n (n = number
of observed choices, k = free parameters), for MAP also the Laplace log model evidence
log p(D) ~ -NLP + k/2 ln 2 pi - 1/2 ln det H, and convergence information (starts that
converged, starts that reached the best optimum within ``tol_best``), standard errors from the
inverse Hessian H^-1 on the unbounded scale (``se_u``) and on the natural scale by the delta
method, se(x) = |dx/du| se(u) (``se``), and a flag per parameter whose optimum sits at an end of
its box (``at_bound``: alpha = 1, beta at its upper limit, ...), where the SE is not defined.

References: Daw, N. D. (2011) Trial-by-trial data analysis using computational models. In
Decision Making, Affect, and Learning: Attention and Performance XXIII, OUP. Wilson, R. C. &
Collins, A. G. E. (2019) Ten simple rules for the computational modeling of behavioral data.
eLife 8:e49547. Schwarz, G. (1978) Ann Stat 6:461 (BIC). Akaike, H. (1974) IEEE TAC 19:716 (AIC).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from darkcontrol._util import make_rng
from darkcontrol.neuro.behavior import Behavior
from darkcontrol.neuro.likelihood import Model, make_model

FD_STEP = 1e-5  # central-difference step on the unbounded scale (gradients)
HESS_STEP = 1e-3  # step of the finite-difference Hessian
METHODS = ("mle", "map")
BOUND_TOL = 1e-3  #: an optimum within this share of its box width of an edge is 'at the bound'
ARRAY_FIELDS = ("u", "hessian", "se_u", "se")


@dataclass(frozen=True)
class FitConfig:
    """How to fit one participant."""

    method: str = "mle"  #: "mle" | "map" (Gaussian prior on the unbounded scale)
    starts: int = 10  #: optimiser starts (the first at the prior mean, the rest random)
    seed: int | None = 0  #: seed of the Generator that draws the random starts
    max_iter: int = 500  #: iterations per start
    tol_best: float = 0.01  #: starts within this NLL (NLP) of the best count as 'at best'
    start_sd: float | None = None  #: sd of random starts on the unbounded scale (None: prior sd)
    hessian: bool = True  #: compute the Hessian at the optimum (standard errors, Laplace)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not isinstance(self.starts, int) or self.starts < 1:
            raise ValueError(f"starts must be an int >= 1, got {self.starts!r}")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if self.tol_best <= 0:
            raise ValueError(f"tol_best must be > 0, got {self.tol_best}")
        if self.start_sd is not None and self.start_sd <= 0:
            raise ValueError(f"start_sd must be > 0, got {self.start_sd}")


@dataclass
class FitResult:
    """The fit of one model to one participant."""

    model: str  #: model name
    participant: str  #: participant label
    method: str  #: "mle" | "map"
    params: dict[str, float]  #: all parameters, natural scale (fixed ones included)
    free: tuple[str, ...]  #: names of the fitted parameters
    u: np.ndarray  #: fitted free parameters on the unbounded scale
    nll: float  #: negative log-likelihood at the optimum
    nlp: float  #: objective at the optimum (NLL for MLE; NLL - log prior for MAP)
    n_trials: int  #: trials with a response
    n_choices: int  #: observed choices (the n of BIC)
    aic: float  #: 2 NLL + 2 k
    bic: float  #: 2 NLL + k ln(n_choices)
    converged: bool  #: the best start reported success
    n_starts: int  #: starts run
    n_converged: int  #: starts that reported success
    n_at_best: int  #: starts within tol_best of the best objective
    message: str  #: optimiser message of the best start
    n_evals: int  #: likelihood passes over the data, all starts together
    hessian: np.ndarray | None = None  #: Hessian of the objective on the unbounded scale
    se_u: np.ndarray | None = None  #: standard errors on the unbounded scale (Laplace)
    log_evidence: float = float("nan")  #: Laplace log model evidence (MAP)
    extra: dict[str, Any] = field(default_factory=dict)
    #: standard errors on the natural scale by the delta method, se_x = |dx/du| se_u (NaN for a
    #: parameter at a bound, where the Laplace approximation does not hold)
    se: np.ndarray | None = None
    #: per free parameter "lower" | "upper" if the optimum sits at that end of the box, else ""
    at_bound: tuple[str, ...] = ()

    @property
    def k(self) -> int:
        return len(self.free)

    def to_row(self) -> dict[str, Any]:
        """One flat row for a table of fits."""
        row: dict[str, Any] = {
            "participant": self.participant,
            "model": self.model,
            "method": self.method,
        }
        row.update(self.params)
        row.update(
            nll=self.nll,
            nlp=self.nlp,
            aic=self.aic,
            bic=self.bic,
            k=self.k,
            n_trials=self.n_trials,
            n_choices=self.n_choices,
            log_evidence=self.log_evidence,
            converged=self.converged,
            n_converged=self.n_converged,
            n_at_best=self.n_at_best,
            n_starts=self.n_starts,
        )
        for i, name in enumerate(self.free):
            if self.se is not None:
                row[f"se_{name}"] = float(self.se[i])
            if self.se_u is not None:
                row[f"se_u_{name}"] = float(self.se_u[i])
            if self.at_bound:
                row[f"at_bound_{name}"] = self.at_bound[i] or "no"
        return row

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ARRAY_FIELDS:
            if d[key] is not None:
                d[key] = np.asarray(d[key]).tolist()
        d["free"] = list(self.free)
        d["at_bound"] = list(self.at_bound)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> FitResult:
        """The inverse of :meth:`to_json` (NaN/inf survive as JSON's NaN/Infinity)."""
        d = dict(d)
        for key in ARRAY_FIELDS:
            if d.get(key) is not None:
                d[key] = np.asarray(d[key], dtype=np.float64)
        d["free"] = tuple(d["free"])
        d["at_bound"] = tuple(d.get("at_bound", ()))
        return cls(**d)


class Objective:
    """NLL (MLE) or NLP (MAP) of one participant on the unbounded scale, with cheap gradients.

    ``prior`` is (mean, sd) on the unbounded scale of the free parameters, or None (MLE)."""

    def __init__(
        self,
        model: Model,
        behavior: Behavior,
        prior: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        model.check(behavior)
        self.model = model
        self.behavior = behavior
        self.prior = None
        if prior is not None:
            mu, sd = (np.asarray(x, dtype=np.float64).reshape(-1) for x in prior)
            if mu.shape != (model.n_free,) or sd.shape != (model.n_free,) or (sd <= 0).any():
                raise ValueError(f"prior needs {model.n_free} means and positive sds")
            self.prior = (mu, sd)
        self.n_evals = 0

    def nll_many(self, U: np.ndarray) -> np.ndarray:
        """NLL at K points (K, n_free) -> (K,), in one pass."""
        self.n_evals += 1
        return -self.model.loglik(self.model.from_unbounded(U), self.behavior)

    def neg_log_prior(self, U: np.ndarray) -> np.ndarray:
        if self.prior is None:
            return np.zeros(np.atleast_2d(U).shape[0])
        mu, sd = self.prior
        z = (np.atleast_2d(U) - mu) / sd
        return 0.5 * (z**2).sum(axis=1) + np.log(sd * math.sqrt(2 * math.pi)).sum()

    def many(self, U: np.ndarray) -> np.ndarray:
        U = np.atleast_2d(U)
        return self.nll_many(U) + self.neg_log_prior(U)

    def value(self, u: np.ndarray) -> float:
        return float(self.many(u[None, :])[0])

    def value_and_grad(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        P = len(u)
        if self.model.has_gradient:  # exact, from one compiled pass (neuro.kernels)
            self.n_evals += 1
            f, grad = self.model.nll_and_grad_u(u, self.behavior)
            if self.prior is not None:
                mu, sd = self.prior
                f += float(self.neg_log_prior(u[None, :])[0])
                grad = grad + (u - mu) / sd**2
            if not np.isfinite(f):
                return 1e300, np.zeros(P)
            return f, np.where(np.isfinite(grad), grad, 0.0)
        h = FD_STEP
        U = np.repeat(u[None, :], 2 * P + 1, axis=0)
        idx = np.arange(P)
        U[1 + idx, idx] += h
        U[1 + P + idx, idx] -= h
        f = self.many(U)
        grad = (f[1 : P + 1] - f[P + 1 :]) / (2 * h)
        if not np.isfinite(f[0]):
            return 1e300, np.zeros(P)
        return float(f[0]), np.where(np.isfinite(grad), grad, 0.0)

    def hessian(self, u: np.ndarray, h: float = HESS_STEP) -> np.ndarray:
        """Finite-difference Hessian of the objective, all stencil points in one pass."""
        P = len(u)
        pts = [np.zeros(P)]
        for i in range(P):
            for s in (1.0, -1.0):
                e = np.zeros(P)
                e[i] = s * h
                pts.append(e)
        pairs = [(i, j) for i in range(P) for j in range(i + 1, P)]
        for i, j in pairs:
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                e = np.zeros(P)
                e[i], e[j] = si * h, sj * h
                pts.append(e)
        f = self.many(u[None, :] + np.array(pts))
        H = np.empty((P, P))
        f0 = f[0]
        for i in range(P):
            H[i, i] = (f[1 + 2 * i] - 2 * f0 + f[2 + 2 * i]) / h**2
        base = 1 + 2 * P
        for k, (i, j) in enumerate(pairs):
            fpp, fpm, fmp, fmm = f[base + 4 * k : base + 4 * k + 4]
            H[i, j] = H[j, i] = (fpp - fpm - fmp + fmm) / (4 * h**2)
        return H


def start_points(
    model: Model,
    n: int,
    rng: np.random.Generator,
    prior: tuple[np.ndarray, np.ndarray] | None = None,
    sd: float | None = None,
) -> np.ndarray:
    """(n, n_free) starts on the unbounded scale: the prior mean, then N(mu, sd^2) draws."""
    mu, psd = prior if prior is not None else model.prior()
    sd_ = psd if sd is None else np.full_like(psd, sd)
    U = mu + sd_ * rng.standard_normal((n, len(mu)))
    U[0] = mu
    lo, hi = np.array([p.u_bounds for p in model.free_params]).T
    return np.clip(U, lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo))


def _minimize(obj: Objective, u0: np.ndarray, max_iter: int, smooth: bool):
    bounds = [p.u_bounds for p in obj.model.free_params]
    if smooth:
        return minimize(
            obj.value_and_grad,
            u0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter},
        )
    return minimize(
        obj.value,
        u0,
        method="Nelder-Mead",
        bounds=bounds,
        options={"maxiter": max_iter * len(u0), "xatol": 1e-4, "fatol": 1e-6},
    )


def fit(
    model: Model | str,
    behavior: Behavior,
    config: FitConfig | None = None,
    *,
    prior: tuple[np.ndarray, np.ndarray] | None = None,
    starts_u: np.ndarray | None = None,
    **kw: Any,
) -> FitResult:
    """Fit ``model`` to one participant (MLE or MAP, several starts; see the module doc).

    ``prior`` overrides the model's default prior (mean, sd on the unbounded scale) for MAP;
    ``starts_u`` gives the starts explicitly ((n, n_free), unbounded scale); ``kw`` are
    :class:`FitConfig` fields.
    """
    if isinstance(model, str):
        model = make_model(model)
    if config is None:
        config = FitConfig(**kw)
    elif kw:
        config = FitConfig(**{**asdict(config), **kw})
    if config.method == "map" and prior is None:
        prior = model.prior()
    if config.method == "mle" and prior is not None:
        raise ValueError("a prior was given but method='mle'; use method='map'")
    obj = Objective(model, behavior, prior)
    P = model.n_free
    n_choices = behavior.n_choices
    if P == 0:
        nll = float(obj.nll_many(np.zeros((1, 0)))[0])
        return _result(model, behavior, config, obj, np.zeros(0), nll, nll, [], n_choices)
    if starts_u is None:
        rng = make_rng(config.seed)
        starts_u = start_points(model, config.starts, rng, prior, config.start_sd)
    starts_u = np.atleast_2d(np.asarray(starts_u, dtype=np.float64))
    if starts_u.shape[1] != P:
        raise ValueError(f"starts_u must have {P} columns, got {starts_u.shape}")
    runs = [_minimize(obj, u0, config.max_iter, model.smooth) for u0 in starts_u]
    best = min(runs, key=lambda r: r.fun)
    u = np.asarray(best.x, dtype=np.float64)
    nll = float(obj.nll_many(u[None, :])[0])
    return _result(model, behavior, config, obj, u, nll, float(best.fun), runs, n_choices, best)


def _result(model, behavior, config, obj, u, nll, nlp, runs, n_choices, best=None) -> FitResult:
    k = model.n_free
    theta = model.from_unbounded(u[None, :])[0] if k else model.theta({})
    funs = np.array([r.fun for r in runs]) if runs else np.zeros(0)
    H = se = None
    log_ev = float("nan")
    if config.hessian and k:
        H = obj.hessian(u)
        try:
            cov = np.linalg.inv(H)
            se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        except np.linalg.LinAlgError:
            se = np.full(k, np.nan)
        if obj.prior is not None:
            sign, logdet = np.linalg.slogdet(H)
            log_ev = -nlp + 0.5 * k * math.log(2 * math.pi) - 0.5 * logdet if sign > 0 else np.nan
    elif obj.prior is not None and not k:
        log_ev = -nlp
    at_bound = bound_flags(model, u) if k else ()
    se_nat = None if se is None else delta_se(model, u, se, at_bound)
    return FitResult(
        model=model.name,
        participant=behavior.participant,
        method=config.method,
        params=model.as_dict(theta),
        free=model.free_names,
        u=u,
        nll=nll,
        nlp=nlp,
        n_trials=int(behavior.valid.sum()),
        n_choices=n_choices,
        aic=2 * nll + 2 * k,
        bic=2 * nll + k * math.log(max(n_choices, 1)),
        converged=bool(best.success) if best is not None else True,
        n_starts=len(runs),
        n_converged=int(sum(bool(r.success) for r in runs)),
        n_at_best=int((funs <= nlp + config.tol_best).sum()) if runs else 0,
        message=str(best.message) if best is not None else "no free parameters",
        n_evals=obj.n_evals,
        hessian=H,
        se_u=se,
        log_evidence=float(log_ev),
        se=se_nat,
        at_bound=at_bound,
    )


def bound_flags(model: Model, u: np.ndarray) -> tuple[str, ...]:
    """ "lower" / "upper" / "" per free parameter: is the optimum at an end of its box?

    The box is the optimiser's (``Param.u_bounds``); within ``BOUND_TOL`` of its width counts
    as at the bound (e.g. alpha = 1 or an inverse temperature at its upper limit)."""
    flags = []
    for p, x in zip(model.free_params, np.asarray(u, dtype=np.float64)):
        lo, hi = p.u_bounds
        tol = BOUND_TOL * (hi - lo)
        flags.append("lower" if x <= lo + tol else "upper" if x >= hi - tol else "")
    return tuple(flags)


def delta_se(
    model: Model, u: np.ndarray, se_u: np.ndarray, at_bound: Sequence[str] = ()
) -> np.ndarray:
    """Natural-scale standard errors by the delta method: se_x = |dx/du| se_u.

    dx/du is a central difference of each parameter's own transform (``Param.to_natural``),
    so any registered transform works. NaN where the parameter sits at a bound."""
    h = 1e-6
    out = np.empty(len(se_u))
    for i, (p, x) in enumerate(zip(model.free_params, np.asarray(u, dtype=np.float64))):
        dxdu = (float(p.to_natural(x + h)) - float(p.to_natural(x - h))) / (2 * h)
        out[i] = abs(dxdu) * float(se_u[i])
        if at_bound and at_bound[i]:
            out[i] = np.nan
    return out


def fit_many(
    model: Model | str,
    behaviors: Sequence[Behavior],
    config: FitConfig | None = None,
    *,
    progress: bool = False,
    n_jobs: int = 1,
    **kw: Any,
) -> list[FitResult]:
    """Fit each participant separately (same config; participant i's starts use seed + i).

    ``n_jobs > 1`` fits participants in that many processes."""
    if isinstance(model, str):
        model = make_model(model)
    config = config or FitConfig(**kw)
    seeds = [None if config.seed is None else config.seed + i for i in range(len(behaviors))]
    configs = [FitConfig(**{**asdict(config), "seed": s}) for s in seeds]
    jobs = list(zip([model] * len(behaviors), behaviors, configs))
    return list(_map(_fit_job, jobs, n_jobs, progress, f"fit {model.name}", "participant"))


def _fit_job(job) -> FitResult:
    model, behavior, config = job
    return fit(model, behavior, config)


def _map(fn, jobs: list, n_jobs: int, progress: bool, desc: str, unit: str = "it"):
    """Map ``fn`` over ``jobs`` in order, in processes if ``n_jobs > 1``, with a progress bar."""
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    if n_jobs == 1 or len(jobs) < 2:
        it = map(fn, jobs)
    else:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=n_jobs)
        it = pool.map(fn, jobs, chunksize=max(1, len(jobs) // (4 * n_jobs)))
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, total=len(jobs), desc=desc, leave=False, unit=unit)
    try:
        yield from it
    finally:
        if n_jobs > 1 and len(jobs) >= 2:
            pool.shutdown()


def fits_table(results: Sequence[FitResult]) -> pd.DataFrame:
    """A table with one row per fit (participant x model)."""
    return pd.DataFrame([r.to_row() for r in results])


def compare_models(fits: Mapping[str, Sequence[FitResult]], criterion: str = "bic") -> pd.DataFrame:
    """Per participant and model the criterion, the winner, and the group sum per model.

    ``criterion``: "bic" | "aic" | "nll" | "log_evidence" (higher evidence is better; the
    others lower)."""
    if criterion not in ("bic", "aic", "nll", "log_evidence"):
        raise ValueError(f"criterion must be bic, aic, nll or log_evidence, got {criterion!r}")
    rows = []
    for name, results in fits.items():
        for r in results:
            rows.append(
                {"participant": r.participant, "model": name, criterion: getattr(r, criterion)}
            )
    table = pd.DataFrame(rows).pivot(index="participant", columns="model", values=criterion)
    sign = -1.0 if criterion == "log_evidence" else 1.0
    table["best"] = (sign * table[list(fits)]).idxmin(axis=1)
    return table
