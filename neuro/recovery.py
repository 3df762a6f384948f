"""Parameter and model recovery: can the fitting procedure find what generated the data?

Wilson & Collins (2019, eLife 8:e49547, rules 5-6): before fitting real participants,
simulate participants with known parameters on the real task, fit them, and check that

- *parameter recovery*: fitted values track the true ones (Pearson r, Spearman rho, RMSE and
  bias per parameter, over true values drawn uniformly from a sensible range);
- *model recovery*: fitting every candidate model to data simulated from each model and picking
  the best by BIC (or AIC) recovers the generating model: the confusion matrix
  P(chosen model | generating model) is dominated by its diagonal.

Participants are simulated on the registered Gymnasium task (by default the 4-armed
``darkcontrol/RestlessBandit-v0`` of Daw et al. 2006 for bandit models and
``darkcontrol/TwoStep-v0`` for the two-step models), each with its own seeded session.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol._util import make_rng
from darkcontrol.neuro.behavior import Behavior
from darkcontrol.neuro.fitting import FitConfig, FitResult, fit_many
from darkcontrol.neuro.likelihood import Model, make_model

DEFAULT_ENVS: dict[str, tuple[str, dict[str, Any]]] = {
    "bandit": ("darkcontrol/RestlessBandit-v0", {}),
    "two_step": ("darkcontrol/TwoStep-v0", {}),
}


def make_env(task: str, env_id: str | None = None, env_kwargs: Mapping | None = None):
    """The Gymnasium environment participants of ``task`` are simulated on."""
    import gymnasium as gym

    import darkcontrol.envs  # noqa: F401  (registers the ids)

    if env_id is None:
        if task not in DEFAULT_ENVS:
            raise ValueError(f"no default environment for task {task!r}; pass env_id")
        env_id, default_kw = DEFAULT_ENVS[task]
        env_kwargs = {**default_kw, **dict(env_kwargs or {})}
    if env_id not in gym.registry:
        from darkcontrol.envs import ENV_IDS

        raise ValueError(f"unknown environment {env_id!r}; darkcontrol's are: {', '.join(ENV_IDS)}")
    return gym.make(env_id, **dict(env_kwargs or {}))


def _build(model: Model | str, env_id: str | None, env_kwargs: Mapping | None) -> Model:
    """A registered model by name; ``random`` gets the action count of the task's env."""
    if not isinstance(model, str):
        return model
    if model == "random":
        env = make_env("bandit", env_id, env_kwargs)
        return make_model(model, n_actions=int(env.action_space.n))
    return make_model(model)


def sample_params(
    model: Model,
    n: int,
    rng: np.random.Generator,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> list[dict[str, float]]:
    """n parameter sets, each free parameter ~ U(range) (default ``Param.sim_range``)."""
    ranges = dict(ranges or {})
    unknown = sorted(set(ranges) - set(model.free_names))
    if unknown:
        raise ValueError(f"ranges for unknown/fixed parameter(s) {unknown} of {model.name!r}")
    cols = {}
    for p in model.free_params:
        lo, hi = ranges.get(p.name, p.sim_range)
        if not (p.lower <= lo <= hi <= p.upper):
            raise ValueError(f"range {(lo, hi)} of {p.name} outside [{p.lower}, {p.upper}]")
        cols[p.name] = rng.uniform(lo, hi, size=n)
    return [{k: float(v[i]) for k, v in cols.items()} for i in range(n)]


def simulate_participants(
    model: Model,
    params: Sequence[Mapping[str, float]],
    *,
    n_trials: int = 200,
    seed: int | None = 0,
    env_id: str | None = None,
    env_kwargs: Mapping | None = None,
    prefix: str = "sub-",
    **simulate_kw: Any,
) -> list[Behavior]:
    """One simulated participant per parameter set, each in a fresh, seeded session."""
    rng = make_rng(seed)
    out = []
    for i, p in enumerate(params):
        env = make_env(model.task, env_id, env_kwargs)
        b = model.simulate(
            p,
            env,
            n_trials=n_trials,
            seed=int(rng.integers(2**31 - 1)),
            participant=f"{prefix}{i + 1:02d}",
            **simulate_kw,
        )
        env.close()
        out.append(b)
    return out


@dataclass
class ParameterRecovery:
    """True vs fitted parameters of simulated participants."""

    model: str  #: the generating and fitted model
    true: pd.DataFrame  #: one row per participant, one column per free parameter
    fitted: pd.DataFrame  #: same layout
    stats: pd.DataFrame  #: per parameter: r (Pearson), rho (Spearman), rmse, bias
    fits: list[FitResult] = field(default_factory=list)

    def r(self, name: str) -> float:
        return float(self.stats.loc[name, "r"])


def recovery_stats(true: pd.DataFrame, fitted: pd.DataFrame) -> pd.DataFrame:
    """Pearson r, Spearman rho, RMSE and bias (fitted - true) per column."""
    rows = {}
    for c in true.columns:
        x, y = true[c].to_numpy(float), fitted[c].to_numpy(float)
        rows[c] = {
            "r": float(np.corrcoef(x, y)[0, 1]),
            "rho": float(pd.Series(x).corr(pd.Series(y), method="spearman")),
            "rmse": float(np.sqrt(np.mean((y - x) ** 2))),
            "bias": float(np.mean(y - x)),
        }
    return pd.DataFrame(rows).T


def parameter_recovery(
    model: Model | str,
    n_participants: int = 50,
    *,
    n_trials: int = 200,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    fit_config: FitConfig | None = None,
    seed: int = 0,
    env_id: str | None = None,
    env_kwargs: Mapping | None = None,
    progress: bool = False,
    n_jobs: int = 1,
) -> ParameterRecovery:
    """Simulate ``n_participants`` with parameters ~ U(ranges), fit, compare (module doc)."""
    model = _build(model, env_id, env_kwargs)
    if n_participants < 3:
        raise ValueError(f"need >= 3 participants for correlations, got {n_participants}")
    rng = make_rng(seed)
    params = sample_params(model, n_participants, rng, ranges)
    behaviors = simulate_participants(
        model,
        params,
        n_trials=n_trials,
        seed=int(rng.integers(2**31 - 1)),
        env_id=env_id,
        env_kwargs=env_kwargs,
    )
    config = fit_config or FitConfig(seed=seed)
    fits = fit_many(model, behaviors, config, progress=progress, n_jobs=n_jobs)
    true = pd.DataFrame(params)
    fitted = pd.DataFrame([{n: f.params[n] for n in model.free_names} for f in fits])
    return ParameterRecovery(model.name, true, fitted, recovery_stats(true, fitted), fits)


@dataclass
class ModelRecovery:
    """Which model wins on data generated by each model."""

    models: list[str]  #: candidate (and generating) models
    criterion: str  #: "bic" | "aic"
    confusion: pd.DataFrame  #: counts, rows = generating model, columns = chosen model
    table: pd.DataFrame  #: one row per (participant, fitted model): criterion values

    @property
    def fractions(self) -> pd.DataFrame:
        """P(chosen | generating): the confusion matrix normalised by rows."""
        return self.confusion.div(self.confusion.sum(axis=1), axis=0)

    @property
    def accuracy(self) -> float:
        c = self.confusion.to_numpy()
        return float(np.trace(c) / c.sum())


def model_recovery(
    models: Sequence[Model | str],
    n_per_model: int = 30,
    *,
    n_trials: int = 200,
    criterion: str = "bic",
    ranges: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
    fit_config: FitConfig | None = None,
    seed: int = 0,
    env_id: str | None = None,
    env_kwargs: Mapping | None = None,
    progress: bool = False,
    n_jobs: int = 1,
) -> ModelRecovery:
    """Simulate ``n_per_model`` participants from each model, fit every model to each, and
    count which model ``criterion`` picks. ``ranges`` maps model name -> parameter ranges."""
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion must be 'bic' or 'aic', got {criterion!r}")
    built = [_build(m, env_id, env_kwargs) for m in models]
    names = [m.name for m in built]
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be distinct, got {names}")
    tasks = {m.task for m in built}
    if len(tasks) != 1:
        raise ValueError(f"all models must be for the same task, got {sorted(tasks)}")
    ranges = dict(ranges or {})
    rng = make_rng(seed)
    config = fit_config or FitConfig(seed=seed, starts=5, hessian=False)
    rows = []
    for gen in built:
        params = sample_params(gen, n_per_model, rng, ranges.get(gen.name))
        behaviors = simulate_participants(
            gen,
            params,
            n_trials=n_trials,
            seed=int(rng.integers(2**31 - 1)),
            env_id=env_id,
            env_kwargs=env_kwargs,
            prefix=f"sub-{gen.name}",
        )
        for cand in built:
            fits = fit_many(cand, behaviors, config, progress=progress, n_jobs=n_jobs)
            for i, f in enumerate(fits):
                rows.append(
                    {
                        "generating": gen.name,
                        "participant": i,
                        "model": cand.name,
                        "bic": f.bic,
                        "aic": f.aic,
                        "nll": f.nll,
                    }
                )
    table = pd.DataFrame(rows)
    wide = table.pivot_table(index=["generating", "participant"], columns="model", values=criterion)
    chosen = wide[names].idxmin(axis=1)
    confusion = pd.crosstab(chosen.index.get_level_values("generating"), chosen.to_numpy()).reindex(
        index=names, columns=names, fill_value=0
    )
    confusion.index.name, confusion.columns.name = "generating", "chosen"
    return ModelRecovery(names, criterion, confusion, table)


# -- figures ---------------------------------------------------------------------------------
def plot_parameter_recovery(result: ParameterRecovery, path: str | os.PathLike) -> Path:
    """Scatter of true vs fitted value per parameter, with r in the titles (PNG)."""
    from matplotlib.figure import Figure

    names = list(result.true.columns)
    fig = Figure(figsize=(3.2 * len(names), 3.2))
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, n in zip(axes[0], names):
        x, y = result.true[n], result.fitted[n]
        ax.scatter(x, y, s=14, alpha=0.7)
        lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"true {n}")
        ax.set_ylabel(f"fitted {n}")
        ax.set_title(f"{n}: r = {result.r(n):.2f}")
    fig.suptitle(f"parameter recovery, {result.model} (n = {len(result.true)})")
    fig.tight_layout()
    return _save(fig, path)


def plot_confusion(result: ModelRecovery, path: str | os.PathLike) -> Path:
    """The confusion matrix P(chosen | generating) as a heat map (PNG)."""
    from matplotlib.figure import Figure

    frac = result.fractions.to_numpy()
    n = len(result.models)
    fig = Figure(figsize=(1.3 * n + 2, 1.1 * n + 1.5))
    ax = fig.subplots()
    im = ax.imshow(frac, vmin=0, vmax=1, cmap="viridis")
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                f"{frac[i, j]:.2f}",
                ha="center",
                va="center",
                color="w" if frac[i, j] < 0.6 else "k",
            )
    ax.set_xticks(range(n), result.models, rotation=30, ha="right")
    ax.set_yticks(range(n), result.models)
    ax.set_xlabel(f"chosen by {result.criterion.upper()}")
    ax.set_ylabel("generating model")
    ax.set_title(f"model recovery (accuracy {result.accuracy:.2f})")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path) -> Path:
    """Write a matplotlib Figure (no pyplot, no global backend change) as PNG, atomically."""
    import io

    from darkcontrol._util import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return atomic_write_bytes(path, buf.getvalue())
