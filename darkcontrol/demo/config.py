"""The demo's configuration: one dataclass, every field documented, a quick preset for tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from darkcontrol._util import build_config, check_positive


def _default_planted() -> dict[str, dict[str, float]]:
    # node -> {design column: beta in % signal change}; the paper's Figure 4 pairs, sized like
    # model-based fMRI effects (a few tenths of a percent; e.g. value and prediction-error
    # effects in O'Doherty et al. 2007, Ann N Y Acad Sci 1104:35), so detection is not certain
    return {
        "vmPFC": {"vmPFC": 0.4},  # value Q(s, a)
        "rTPJ": {"rTPJ": 0.3},  # |prediction error|
        "HPC": {"offline": 0.5},  # replay / simulation steps (offline onsets)
        "NAcc": {"NAcc": 0.2},  # reward
    }


@dataclass
class DemoConfig:
    """Everything the demo does, in one place (recorded in the report and outputs)."""

    env: str = "darkcontrol/TwoStep-v0"  #: the world (Daw et al. 2011's fMRI task by default)
    env_params: dict[str, Any] = field(default_factory=dict)  #: keyword arguments of the env
    agent: str = "q_learning"  #: learner the DMN wraps (owns the values)
    account: str = "full"  #: DMN preset: full | predictive_coding | semantic | sentinel
    n_participants: int = 16  #: simulated participants (one fMRI run each)
    n_blocks: int = 5  #: task + rest block pairs in the run
    task_s: float = 60.0  #: seconds per task block
    rest_s: float = 20.0  #: seconds per rest block (offline processing only)
    trial_s: float = 0.5  #: seconds per trial (one move in the world)
    iti_s: float = 0.5  #: inter-trial interval, seconds (offline processing)
    replay_hz: float = 4.0  #: offline steps per second at full engagement
    gamma: float = 0.95  #: discount factor of every participant (the horizon)
    alpha_range: tuple[float, float] = (0.2, 0.8)  #: participants' learning rates ~ U(range)
    beta_range: tuple[float, float] = (2.0, 8.0)  #: participants' inverse temperatures ~ U
    max_steps: int = 200  #: an episode that has not ended by then starts again
    t_r: float = 2.0  #: repetition time of the synthetic fMRI, seconds
    #: parametric modulators: the paper's nodes (RegionMap.paper()) or numeric Trace columns
    regressors: tuple[str, ...] = ("vmPFC", "rTPJ", "NAcc")
    planted: dict[str, dict[str, float]] = field(default_factory=_default_planted)
    subject_sd: float = 0.1  #: between-participant sd of planted betas (% signal change)
    noise_sd: float = 0.6  #: sd of the AR(1) noise, % signal change (tSNR ~170 at 6 mm)
    resolution: int = 6  #: mm, voxel size of the synthetic images
    smoothing_fwhm: float = 6.0  #: mm, Gaussian smoothing of the voxelwise first level
    fit_starts: int = 5  #: random starts per participant of the behavioural fit
    alpha_level: float = 0.05  #: error rate of the FDR / Bonferroni corrections
    seed: int = 0  #: seeds everything (participant k gets spawned streams)

    def __post_init__(self) -> None:
        if self.n_participants < 3:
            raise ValueError(
                f"n_participants must be >= 3 (second level), got {self.n_participants}"
            )
        for name in ("task_s", "rest_s", "trial_s", "t_r", "replay_hz", "noise_sd"):
            check_positive(name, getattr(self, name), strict=name != "rest_s")
        for name in ("alpha_range", "beta_range"):
            lo, hi = getattr(self, name)
            if not 0 < lo < hi:
                raise ValueError(f"{name} must be (low, high) with 0 < low < high, got {(lo, hi)}")
        if self.alpha_range[1] > 1:
            raise ValueError(f"alpha_range must lie in (0, 1], got {self.alpha_range}")
        self.alpha_range = tuple(self.alpha_range)
        self.beta_range = tuple(self.beta_range)
        self.regressors = tuple(self.regressors)
        self._check_names()

    def _check_names(self) -> None:
        """Names are checked before any work, each against the full list of valid ones."""
        from darkcontrol.agents import AGENTS
        from darkcontrol.dmn import ACCOUNTS
        from darkcontrol.envs import ENV_IDS
        from darkcontrol.regions import RegionMap

        if self.env not in ENV_IDS:
            raise ValueError(f"unknown env {self.env!r}; darkcontrol's are: {', '.join(ENV_IDS)}")
        if self.agent not in AGENTS:
            raise ValueError(f"unknown agent {self.agent!r}; available: {sorted(AGENTS)}")
        if self.account not in ACCOUNTS:
            raise ValueError(f"unknown account {self.account!r}; available: {sorted(ACCOUNTS)}")
        from darkcontrol.trace import FLOAT_COLUMNS

        nodes = list(RegionMap.paper().nodes)
        bad = [r for r in self.regressors if r not in nodes and r not in FLOAT_COLUMNS]
        if bad:
            raise ValueError(
                f"unknown regressor(s) {bad}; allowed: the paper's nodes {nodes} or the "
                f"numeric Trace columns {list(FLOAT_COLUMNS)}"
            )
        bad = [n for n in self.planted if n not in nodes]
        if bad:
            raise ValueError(f"planted names unknown node(s) {bad}; the paper's nodes: {nodes}")

    @property
    def n_scans(self) -> int:
        return int(round(self.n_blocks * (self.task_s + self.rest_s) / self.t_r))

    @classmethod
    def quick(cls, **overrides: Any) -> DemoConfig:
        """A reduced configuration (about a minute): fewer participants, shorter run."""
        base = {"n_participants": 12, "n_blocks": 4, "fit_starts": 3}
        base.update(overrides)
        return build_config(cls, base)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
