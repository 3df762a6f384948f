"""The sweep specification: parameters x environments x seeds, from TOML (or YAML) or Python.

A spec is one or more *experiments*; keys at the top level of the file are defaults for every
``[[experiment]]`` table (and, without any, the top level is the one experiment)::

    name = "dyna-planning"
    episodes = 50                  # episodes per agent
    max_steps = 2000               # truncation of an episode (default: the env's time limit)
    seeds = 20                     # an int n (seeds first_seed .. first_seed + n - 1) or a list
    envs = ["darkcontrol/DynaMaze-v0"]

    [[experiment]]
    algorithm = "dyna_q"           # a name of darkcontrol.batched.registry.BATCHED
    grid = { n_planning = [0, 5, 50], alpha = [0.1, 0.5] }   # full factorial
    fixed = { gamma = 0.95 }

    [[experiment]]
    algorithm = "q_learning"
    samples = 16                   # random configurations per grid point
    random = { alpha = { dist = "loguniform", low = 0.01, high = 1.0 } }

Random distributions: ``uniform`` / ``loguniform`` (low, high), ``randint`` (low, high
exclusive), ``choice`` (values). They are drawn from ``numpy.random.default_rng([sampling_seed,
experiment index])``, so the design is a function of the spec alone. An environment is a
registered id, ``{id = ..., kwargs = {...}}``, or ``{factory = "module:callable", kwargs =
{...}}`` for a callable returning a ``TabularMDP`` (or an env exposing ``unwrapped.mdp``).
DMN experiments may give ``schedule`` (a list of blocks ``{kind, duration, trial_s, iti_s}``)
instead of episodes.

The *design* (:meth:`SweepSpec.design`) has one row per agent: ``agent`` (its id), ``experiment``,
``algorithm``, ``env``, ``seed``, and one column per parameter. Agents of one experiment, env and
static setting (a parameter the batch shares, e.g. ``policy`` or ``model``) are contiguous, so
that a chunk is a range of agent ids.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol.batched.registry import BATCHED, batched_class

DESIGN_COLUMNS = ("agent", "experiment", "algorithm", "env", "seed")
DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")
EXPERIMENT_KEYS = (
    "name",
    "algorithm",
    "envs",
    "grid",
    "fixed",
    "random",
    "samples",
    "episodes",
    "max_steps",
    "seeds",
    "first_seed",
    "schedule",
)
GLOBAL_KEYS = ("name", "description", "dtype", "record_regions", "save_q", "sampling_seed")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class EnvSpec:
    """One environment of a sweep: a registered Gymnasium id or a factory of a TabularMDP."""

    id: str | None = None  #: registered Gymnasium id (e.g. "darkcontrol/DynaMaze-v0")
    kwargs: Mapping[str, Any] = field(default_factory=dict)  #: keyword arguments of the env
    factory: str | None = None  #: "module:callable" returning a TabularMDP or an env
    label: str = ""  #: the name in outputs (default: the id or factory plus kwargs)

    def __post_init__(self) -> None:
        if (self.id is None) == (self.factory is None):
            raise ValueError(f"an env needs exactly one of id= or factory=, got {self!r}")
        if self.factory is not None and ":" not in self.factory:
            raise ValueError(f"factory must be 'module:callable', got {self.factory!r}")
        if not isinstance(self.kwargs, Mapping):
            raise TypeError(f"env kwargs must be a table, got {self.kwargs!r}")
        object.__setattr__(self, "kwargs", dict(self.kwargs))
        if not self.label:
            base = self.id or self.factory
            extra = ",".join(f"{k}={v}" for k, v in sorted(self.kwargs.items()))
            object.__setattr__(self, "label", f"{base}({extra})" if extra else base)

    @classmethod
    def parse(cls, value: Any) -> EnvSpec:
        if isinstance(value, EnvSpec):
            return value
        if isinstance(value, str):
            return cls(id=value)
        if isinstance(value, Mapping):
            unknown = set(value) - {"id", "kwargs", "factory", "label"}
            if unknown:
                raise ValueError(
                    f"unknown env keys {sorted(unknown)}; allowed: id, kwargs, factory, label"
                )
            return cls(**value)
        raise TypeError(f"an env is an id string or a table, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "kwargs": dict(self.kwargs)}
        out["id" if self.id else "factory"] = self.id or self.factory
        return out

    def build(self):
        """(TabularMDP, max_episode_steps or None) of this environment."""
        from darkcontrol.envs.mdp import TabularMDP

        if self.id is not None:
            import gymnasium as gym

            import darkcontrol.envs  # noqa: F401  (registers the ids)

            env = gym.make(self.id, **self.kwargs)
            limit = env.spec.max_episode_steps if env.spec is not None else None
        else:
            module, name = self.factory.split(":")
            env = getattr(importlib.import_module(module), name)(**self.kwargs)
            limit = None
        if isinstance(env, TabularMDP):
            return env, limit
        mdp = getattr(getattr(env, "unwrapped", env), "mdp", None)
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"env {self.label!r} exposes no TabularMDP as unwrapped.mdp")
        if type(mdp).__name__ == "TabularPOMDP":  # batched agents would see the hidden state
            raise ValueError(f"env {self.label!r} is partially observed; batched worlds are not")
        if type(env.unwrapped).__name__ in ("ChangingMaze", "BlockingMaze", "ShortcutMaze"):
            raise ValueError(
                f"env {self.label!r} changes during a run; batched worlds are stationary"
            )
        return mdp, limit


@dataclass
class Experiment:
    """One algorithm over a parameter design, environments and seeds."""

    algorithm: str  #: name in darkcontrol.batched.registry.BATCHED
    envs: list[EnvSpec]  #: environments (each agent runs in one)
    seeds: list[int]  #: agent seeds (every configuration runs with each)
    episodes: int | None = None  #: episodes per agent (not with a schedule)
    max_steps: int | None = None  #: episode truncation (default: the env's time limit)
    grid: dict[str, list] = field(default_factory=dict)  #: full-factorial parameter values
    fixed: dict[str, Any] = field(default_factory=dict)  #: parameters shared by all agents
    random: dict[str, dict] = field(default_factory=dict)  #: parameter distributions
    samples: int = 1  #: random configurations per grid point (with ``random``)
    schedule: list[dict] | None = None  #: DMN only: blocks instead of episodes
    name: str = ""  #: label (default: the algorithm)

    def __post_init__(self) -> None:
        if not isinstance(self.algorithm, str) or self.algorithm not in BATCHED:
            raise ValueError(f"algorithm must be one of {sorted(BATCHED)}, got {self.algorithm!r}")
        if not isinstance(self.name, str):
            raise ValueError(f"experiment name must be a string, got {self.name!r}")
        self.name = self.name or self.algorithm
        where = f"experiment {self.name!r}"
        if self.schedule is None:
            _check_int(f"{where}: episodes", self.episodes, 1)
        _check_int(f"{where}: max_steps", self.max_steps, 1, optional=True)
        _check_int(f"{where}: samples", self.samples, 1)
        for name, table in (("grid", self.grid), ("fixed", self.fixed), ("random", self.random)):
            if not isinstance(table, Mapping):
                raise ValueError(f"{where}: {name} must be a table, got {table!r}")
        if isinstance(self.envs, (str, Mapping)):
            self.envs = [self.envs]
        if not isinstance(self.envs, Sequence):
            raise ValueError(f"{where}: envs must be a list of ids or tables, got {self.envs!r}")
        self.envs = [EnvSpec.parse(e) for e in self.envs]
        if not self.envs:
            raise ValueError(f"experiment {self.name!r} has no envs")
        for env in self.envs:
            check_env_known(env)
        labels = [e.label for e in self.envs]
        if len(set(labels)) != len(labels):
            raise ValueError(f"experiment {self.name!r} lists an env twice: {labels}")
        if not self.seeds:
            raise ValueError(f"experiment {self.name!r} has no seeds")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"experiment {self.name!r} repeats seeds")
        if self.schedule is not None:
            if self.algorithm != "dmn":
                raise ValueError("schedule is for the 'dmn' algorithm; others run episodes")
            if self.episodes is not None:
                raise ValueError("give either episodes or schedule, not both")
        elif self.episodes is None or self.episodes < 1:
            raise ValueError(f"experiment {self.name!r} needs episodes >= 1, got {self.episodes}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        for key, values in self.grid.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
                raise ValueError(f"grid.{key} must be a non-empty list, got {values!r}")
            if not all(_scalar(v) for v in values):
                raise ValueError(f"grid.{key} must list numbers, strings or booleans: {values!r}")
        for key, value in self.fixed.items():
            if not _scalar(value):
                raise ValueError(
                    f"fixed.{key} must be a number, string or boolean, got {value!r} (put "
                    "alternatives in grid)"
                )
        overlap = (
            (set(self.grid) & set(self.fixed))
            | (set(self.random) & set(self.grid))
            | (set(self.random) & set(self.fixed))
        )
        if overlap:
            raise ValueError(f"parameters {sorted(overlap)} given twice (grid/fixed/random)")
        reserved = set(self.params) & set(DESIGN_COLUMNS)
        if reserved:
            raise ValueError(f"parameter names {sorted(reserved)} are reserved for the design")
        for key, dist in self.random.items():
            _check_distribution(key, dist)
        if self.random and self.samples < 1:
            raise ValueError(f"samples must be >= 1, got {self.samples}")
        if not self.random and self.samples != 1:
            raise ValueError("samples needs a [random] table of distributions")
        cls = batched_class(self.algorithm)
        allowed = {f for f in cls.Config.__dataclass_fields__ if f != "PER_AGENT"}
        unknown = set(self.params) - allowed
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {sorted(unknown)} for {self.algorithm}; allowed: "
                f"{sorted(allowed)}"
            )
        kinds = _field_kinds(cls.Config)
        for key, value in self.fixed.items():
            _check_value_type(f"{where}: fixed", key, value, kinds.get(key))
        for key, values in self.grid.items():
            for value in values:
                _check_value_type(f"{where}: grid", key, value, kinds.get(key))
        for key, dist in self.random.items():
            if dist.get("dist") == "choice":
                for value in dist["values"]:
                    _check_value_type(f"{where}: random", key, value, kinds.get(key))

    @property
    def params(self) -> list[str]:
        return [*self.fixed, *self.grid, *self.random]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "algorithm": self.algorithm,
            "envs": [e.to_dict() for e in self.envs],
            "seeds": list(self.seeds),
            "episodes": self.episodes,
            "max_steps": self.max_steps,
            "grid": {k: list(v) for k, v in self.grid.items()},
            "fixed": dict(self.fixed),
            "random": {k: dict(v) for k, v in self.random.items()},
            "samples": self.samples,
            "schedule": self.schedule,
        }


def _scalar(v: Any) -> bool:
    return isinstance(v, (int, float, str, bool))


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check_int(where: str, value: Any, low: int, optional: bool = False) -> None:
    """``where`` must be an integer >= ``low`` (or None if ``optional``); TOML strings such as
    ``"two"`` or floats such as ``2.5`` are refused with the value shown."""
    if value is None and optional:
        return
    if not _is_int(value):
        kind = type(value).__name__
        raise ValueError(
            f"{where} must be an integer >= {low}{' (or absent)' if optional else ''}, got "
            f"{value!r} ({kind})"
        )
    if value < low:
        raise ValueError(f"{where} must be >= {low}, got {value}")


_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _field_kinds(cls: type) -> dict[str, type]:
    """Plain types (int, float, bool, str) of a Config's fields, where the annotation is one."""
    import typing

    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # pragma: no cover - unresolvable annotations: no type check
        return {}
    out = {}
    for name, hint in hints.items():
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        base = args[0] if len(args) == 1 else hint
        if base in _TYPE_WORDS:
            out[name] = base
        elif float in args:  # per-agent numbers (float | int | array), a value in a spec
            out[name] = float
    return out


def _check_value_type(where: str, key: str, value: Any, kind: type | None) -> None:
    if kind is None:
        return
    ok = {
        int: _is_int(value),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        bool: isinstance(value, bool),
        str: isinstance(value, str),
    }[kind]
    if not ok:
        raise ValueError(
            f"{where}: {key} takes {_TYPE_WORDS[kind]}, got {value!r} ({type(value).__name__})"
        )


def check_env_known(env: EnvSpec) -> None:
    """A registered Gymnasium id, or an importable factory: checked before any chunk runs."""
    if env.id is not None:
        import gymnasium as gym

        import darkcontrol.envs  # noqa: F401  (registers the ids)
        from darkcontrol.envs import ENV_IDS

        if env.id not in gym.registry:
            raise ValueError(
                f"unknown environment {env.id!r}; darkcontrol's are: {', '.join(ENV_IDS)}"
            )
        return
    module, name = env.factory.split(":", 1)
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"env factory {env.factory!r}: cannot import {module!r} ({exc})") from None
    if not callable(getattr(mod, name, None)):
        raise ValueError(f"env factory {env.factory!r}: {module} has no callable {name!r}")


def _check_distribution(key: str, dist: Any) -> None:
    if not isinstance(dist, Mapping) or dist.get("dist") not in DISTRIBUTIONS:
        raise ValueError(f"random.{key} must be a table with dist in {DISTRIBUTIONS}, got {dist!r}")
    kind = dist["dist"]
    need = {"choice": {"values"}}.get(kind, {"low", "high"})
    if set(dist) - {"dist"} != need:
        raise ValueError(f"random.{key} ({kind}) needs exactly {sorted(need)}, got {dict(dist)}")
    if kind == "choice":
        if not isinstance(dist["values"], Sequence) or not dist["values"]:
            raise ValueError(f"random.{key}.values must be a non-empty list")
        return
    lo, hi = dist["low"], dist["high"]
    if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo < hi):
        raise ValueError(f"random.{key} needs numbers low < high, got {lo!r}, {hi!r}")
    if kind == "loguniform" and lo <= 0:
        raise ValueError(f"random.{key}: loguniform needs low > 0, got {lo}")
    if kind == "randint" and not (isinstance(lo, int) and isinstance(hi, int)):
        raise ValueError(f"random.{key}: randint needs integer bounds, got {lo!r}, {hi!r}")


def _draw(rng: np.random.Generator, dist: Mapping[str, Any]) -> Any:
    kind = dist["dist"]
    if kind == "uniform":
        return float(rng.uniform(dist["low"], dist["high"]))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(dist["low"]), math.log(dist["high"]))))
    if kind == "randint":
        return int(rng.integers(dist["low"], dist["high"]))
    values = list(dist["values"])
    return values[int(rng.integers(len(values)))]


@dataclass
class SweepSpec:
    """A whole sweep: experiments plus output settings. See the module docstring."""

    experiments: list[Experiment]  #: the experiments (at least one)
    name: str = "sweep"  #: label of the sweep
    description: str = ""  #: free text kept in the metadata
    dtype: str = "float32"  #: float precision of the learners ("float32" | "float64")
    record_regions: bool = True  #: write per-episode (per-block) region summaries
    save_q: bool = False  #: write every agent's final Q table
    sampling_seed: int = 0  #: seeds the random parameter draws

    def __post_init__(self) -> None:
        if not self.experiments:
            raise ValueError("a sweep needs at least one experiment")
        for key, kind in (("name", str), ("description", str)):
            if not isinstance(getattr(self, key), kind):
                raise ValueError(f"sweep {key} must be a string, got {getattr(self, key)!r}")
        for key in ("record_regions", "save_q"):
            if not isinstance(getattr(self, key), bool):
                raise ValueError(f"{key} must be true or false, got {getattr(self, key)!r}")
        _check_int("sampling_seed", self.sampling_seed, 0)
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        names = [e.name for e in self.experiments]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment names must be unique, got {names} (set name = ...)")

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        data = dict(data)
        unknown = set(data) - set(GLOBAL_KEYS) - set(EXPERIMENT_KEYS) - {"experiment"}
        if unknown:
            raise ValueError(
                f"unknown sweep keys {sorted(unknown)}; allowed: "
                f"{sorted({*GLOBAL_KEYS, *EXPERIMENT_KEYS, 'experiment'})}"
            )
        globals_ = {k: data.pop(k) for k in GLOBAL_KEYS if k in data}
        tables = data.pop("experiment", None)
        defaults = data
        if tables is None:
            tables = [{}]
        elif isinstance(tables, Mapping):
            tables = [tables]
        experiments = []
        if not isinstance(tables, Sequence) or isinstance(tables, str):
            raise ValueError(f"[[experiment]] must be a list of tables, got {tables!r}")
        for i, table in enumerate(tables):
            if not isinstance(table, Mapping):
                raise ValueError(f"experiment {i} must be a table, got {table!r}")
            bad = set(table) - set(EXPERIMENT_KEYS)
            if bad:
                raise ValueError(
                    f"unknown keys {sorted(bad)} in experiment {i}; allowed: "
                    f"{sorted(EXPERIMENT_KEYS)}"
                )
            merged = {**defaults, **table}
            if "algorithm" not in merged:
                raise ValueError(f"experiment {i} has no algorithm")
            if "seeds" not in merged:
                raise ValueError(f"experiment {i} has no seeds")
            seeds = merged.pop("seeds")
            first = merged.pop("first_seed", 0)
            _check_int(f"experiment {i}: first_seed", first, 0)
            if (
                isinstance(seeds, list)
                and first
                and ("first_seed" in table or "first_seed" in defaults)
            ):
                raise ValueError("first_seed goes with seeds = <count>, not a list")
            if isinstance(seeds, list):
                bad_seeds = [s for s in seeds if not _is_int(s) or s < 0]
                if bad_seeds or not seeds:
                    raise ValueError(
                        f"experiment {i}: seeds must be a count >= 1 or a non-empty list of "
                        f"integers >= 0, got {seeds!r}"
                    )
            else:
                _check_int(f"experiment {i}: seeds (a count, or a list of seeds)", seeds, 1)
                seeds = list(range(int(first), int(first) + seeds))
            envs = merged.pop("envs", None)
            if envs is None:
                raise ValueError(f"experiment {i} has no envs")
            if isinstance(envs, (str, Mapping)):
                envs = [envs]
            if merged.get("name") is None and len(tables) > 1:
                merged["name"] = f"{merged['algorithm']}-{i}"
            experiments.append(Experiment(envs=list(envs), seeds=[int(s) for s in seeds], **merged))
        return cls(experiments=experiments, **globals_)

    @classmethod
    def from_file(cls, path: str | Path) -> SweepSpec:
        """Load a ``.toml`` file (or ``.yaml``/``.yml`` when PyYAML is installed)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"sweep spec {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        if suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                try:
                    import tomli as tomllib
                except ModuleNotFoundError as exc:
                    raise ModuleNotFoundError(
                        "reading TOML on Python 3.10 needs the 'tomli' package (pip install "
                        "tomli), or write the spec as YAML"
                    ) from exc
            try:
                with path.open("rb") as fh:
                    data = tomllib.load(fh)
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ValueError(f"sweep spec {path} is not valid TOML: {exc}") from None
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ModuleNotFoundError as exc:
                raise ModuleNotFoundError("YAML specs need PyYAML (pip install pyyaml)") from exc
            try:
                data = yaml.safe_load(path.read_text())
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise ValueError(f"sweep spec {path} is not valid YAML: {exc}") from None
            if not isinstance(data, Mapping):
                raise ValueError(f"{path} does not hold a mapping at the top level")
        else:
            raise ValueError(f"sweep spec must be .toml, .yaml or .yml, got {path.name!r}")
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "dtype": self.dtype,
            "record_regions": self.record_regions,
            "save_q": self.save_q,
            "sampling_seed": self.sampling_seed,
            "experiment": [e.to_dict() for e in self.experiments],
        }

    def config_hash(self) -> str:
        """sha256 of the canonical JSON of the spec: what a resume must match."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    # -- the design ----------------------------------------------------------------------------
    def design(self) -> pd.DataFrame:
        """One row per agent (see the module docstring); agent ids are 0 .. N-1."""
        rows: list[dict[str, Any]] = []
        for e_idx, exp in enumerate(self.experiments):
            static = static_params(exp)
            keys = list(exp.grid)
            points = [dict(zip(keys, vals)) for vals in itertools.product(*exp.grid.values())]
            rng = np.random.default_rng([int(self.sampling_seed), e_idx])
            configs = []
            for point in points:
                for _ in range(exp.samples):
                    drawn = {k: _draw(rng, d) for k, d in exp.random.items()}
                    configs.append({**exp.fixed, **point, **drawn})
            # static settings outermost, so that a chunk is a contiguous range of agents
            configs.sort(key=lambda c: [_order(c.get(k)) for k in static])
            for env in exp.envs:
                for params in configs:
                    for seed in exp.seeds:
                        rows.append(
                            {
                                "experiment": exp.name,
                                "algorithm": exp.algorithm,
                                "env": env.label,
                                "seed": int(seed),
                                **params,
                            }
                        )
        frame = pd.DataFrame(rows)
        for col in frame.columns[4:]:
            values = [r[col] for r in rows if col in r]
            if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                frame[col] = frame[col].astype("Int64")  # integers stay integers next to NaN
        frame.insert(0, "agent", np.arange(len(frame), dtype=np.int64))
        return frame

    def n_agents(self) -> int:
        total = 0
        for exp in self.experiments:
            n_points = math.prod(len(v) for v in exp.grid.values())
            total += n_points * exp.samples * len(exp.envs) * len(exp.seeds)
        return total


def _order(v: Any) -> tuple:
    """Sort key putting numbers (numerically) before strings."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, float(v), "")
    return (1, 0.0, str(v))


def column_values(series: pd.Series) -> np.ndarray:
    """A design column as a plain numpy array (nullable integers as int64)."""
    if isinstance(series.dtype, pd.Int64Dtype):
        return series.to_numpy(dtype=np.int64)
    values = series.to_numpy()
    if values.dtype == object:
        values = np.asarray(values.tolist())
    return values


def static_params(exp: Experiment) -> list[str]:
    """Parameters of ``exp`` that are one value per chunk: the static ones (not PER_AGENT)
    and those that set a chunk's cost (``SPLIT_BY``, e.g. ``n_planning``: a chunk runs as
    many planning steps as its largest budget, so mixing budgets would waste work)."""
    config = batched_class(exp.algorithm).Config
    per_agent = set(config.PER_AGENT) - set(getattr(config, "SPLIT_BY", ()))
    return [p for p in exp.params if p not in per_agent]
