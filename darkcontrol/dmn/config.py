"""The DMN model's hyper-parameters and the four accounts as presets of one agent.

Dohmatob, Dumas & Bzdok (2020, Hum Brain Mapp 41(12):3318-3341) argue (abstract, §4) that three
earlier accounts of the default mode network are special cases of their reinforcement-learning
process model. Here each account is a preset of :class:`DMNConfig` (:data:`ACCOUNTS`), applied by
the one constructor: the account-controlled fields (:data:`ACCOUNT_FIELDS`) default to None,
"from the account", and ``__post_init__`` fills them from the preset, so ``DMNConfig(account=
"sentinel")`` always carries the sentinel's settings. A preset stores only its differences from
:data:`ACCOUNT_DEFAULTS` (the full model's values). A field given explicitly still wins, e.g.
``account="sentinel", sentinel=False`` is the sentinel with the sentinel switched off.

| account           | offline sources (weights)     | sentinel | engagement | recombine   |
|-------------------|-------------------------------|----------|------------|-------------|
| predictive_coding | model (1)                     | off      | allocation | -           |
| semantic          | replay (.5), recombined (.5)  | off      | constant   | association |
|                   |                               |          |            | (SR)        |
| sentinel          | replay (1)                    | on       | allocation | -           |
| full              | replay .6, model .2, recomb .2| on       | allocation | stitch      |

The horizon is the wrapped agent's discount factor gamma (``agent_gamma=...``), not a DMN field.
The clock (trial, ITI and rest durations) is the runner's :class:`darkcontrol.clock.Clock`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import partial
from typing import Any

from darkcontrol._util import build_config, check_choice, check_positive
from darkcontrol.constants import (
    ASSOCIATION,
    DEMAND,
    ENGAGEMENT,
    LESIONS,
    PRIORITIES,
    RECOMBINE,
    SALIENCE,
)
from darkcontrol.dmn.allocation import AllocationConfig

AGENT_PREFIXES = ("agent_", "agent.")
#: compute-matched controls of a lesion (issue 12 item 5; see DMNAgent._control_backups)
LESION_CONTROLS = ("none", "real_passes", "random_backups")
#: how a decision-time Monte Carlo evaluation turns mean returns into a choice
DECISION_CHOICES = ("greedy", "softmax")

#: the fields an account sets, with the values of the full model (the defaults)
ACCOUNT_DEFAULTS: dict[str, Any] = {
    "w_replay": 0.6,
    "w_model": 0.2,
    "w_recombined": 0.2,
    "recombine": "stitch",
    "association": "cooccurrence",
    "sentinel": True,
    "engagement": "allocation",
}
ACCOUNT_FIELDS = tuple(ACCOUNT_DEFAULTS)


@dataclass
class DMNConfig:
    """Hyper-parameters of the DMN process model (:class:`darkcontrol.dmn.DMNAgent`).

    ``account`` (default ``"full"``, the paper's model) fills every account-controlled field
    left at None (:data:`ACCOUNT_FIELDS`) from its preset (``ACCOUNTS``: predictive coding,
    semantic, sentinel; paper section "Relation to existing accounts")."""

    account: str = "full"  #: the account whose preset fills the None fields (see ACCOUNTS)
    # -- offline processing: vicarious trial and error (paper §3, Figure 4: hippocampus) ------
    replay_hz: float = 10.0  #: offline steps per second at full engagement (the replay budget)
    w_replay: float | None = None  #: mixture weight of replay of stored real transitions
    w_model: float | None = None  #: mixture weight of Monte Carlo rollouts in the learned model
    w_recombined: float | None = None  #: mixture weight of recombined, never-experienced ones
    replay_priority: str = "uniform"  #: "uniform" | "prioritised" (|TD error|, Schaul 2016)
    priority_exponent: float = 1.0  #: kappa in P(i) ~ p_i^kappa of prioritised replay
    memory_size: int = 100_000  #: capacity of the hippocampal memory (ring buffer)
    reconsolidate: bool = True  #: rewrite memories of (s, a) when a sure prediction fails
    reconsolidate_after: int = 3  #: visits of (s, a) before its prediction counts as sure
    rollout_length: int = 5  #: steps of one imagined trajectory in the learned model
    use_agent_planner: bool = False  #: route the model share to the agent's own plan()
    #: "stitch" | "perturb" (learned features) | "association" | "oracle_analogy" (the world's
    #: true coordinates: an oracle baseline); see darkcontrol.dmn.recombine
    recombine: str | None = None
    recombine_noise: float = 1.0  #: scale of the perturbation of recombine="perturb", >= 0
    association: str | None = None  #: association graph: "cooccurrence" | "sr"
    sr_gamma: float = 0.9  #: discount of the successor representation (association reach)
    sr_alpha: float = 0.1  #: learning rate of the successor representation
    # -- engagement: the offline share (paper "Putting everything together") ---------------
    #: "allocation" (dmn.allocation: sigmoid(beta (V - D + bias))) | "heuristic" (the earlier
    #: rule 1 - recent spe) | "constant" (1)
    engagement: str | None = None
    demand: str = "learned"  #: attention demand of the allocation: "learned" | "constant"
    constant_demand: float = 0.3  #: the demand under demand="constant", >= 0
    allocation_beta: float = 10.0  #: sensitivity of the allocation to V - D, > 0
    allocation_bias: float = 0.3  #: worth of offline processing beyond the best backup
    w_uncertainty: float = 1.0  #: weight of predicted uncertainty in the demand, >= 0
    w_stake: float = 0.3  #: weight of the stake in the demand, >= 0
    w_voc: float = 10.0  #: weight of the value of computation (gain x need), >= 0
    forgetting: float = 0.1  #: volatility of the allocation's predictive model, in [0, 1)
    spe_rate: float = 0.1  #: eta of the running mean of spe behind the heuristic
    min_engagement: float = 0.0  #: floor of the heuristic engagement
    # -- sentinel: salient events return the agent to the world (paper §5.3) -------------------
    sentinel: bool | None = None  #: whether salient transitions suspend offline processing
    salience: str = "relevance"  #: "relevance" (spe x stake) | "rarity" (spe + value term)
    salience_threshold: float = 1.0  #: salience at or above which a transition is salient
    w_spe: float = 1.0  #: weight of surprise (spe) in the rarity salience
    w_rpe: float = 0.0  #: weight of |prediction error| in the rarity salience
    w_value: float = 0.05  #: weight of the cue value max(|r|, spread of Q(s', .)) (rarity)
    value_scale: float = 1.0  #: reward units dividing the |rpe| and value terms
    # -- manipulations -----------------------------------------------------------------------
    lesion: str = "none"  #: "none" | "hippocampus" (no replay, no simulation, no recombination)
    #: discount of offline backups during rest blocks (None: the agent's own gamma, as on
    #: task). DESIGN's hypothesis: the horizon is shorter during task than at rest.
    rest_gamma: float | None = None
    # -- extra Trace columns -----------------------------------------------------------------
    record_changes: bool = False  #: add value_change and policy_change columns (2 q reads/step)
    # -- graded, compute-matched lesions (paper "Summary and hypotheses for future studies";
    #    Hassabis et al. 2007). Mapping at strength lam (lesion="hippocampus"): memory
    #    capacity max(1, round((1 - lam) memory_size)); replay rate (1 - lam) replay_hz (and
    #    round((1 - lam) decision_rollouts)); replay fidelity: a replayed transition's outcome
    #    (r, s', terminated) is, with probability lam, that of another random memory.
    #: lesion strength lam in [0, 1] (None: 1 under lesion="hippocampus"; needs that lesion)
    lesion_strength: float | None = None
    #: compute-matched control of a lesion: "none" | "real_passes" (the intact budget's missing
    #: backups re-learn the last real transition) | "random_backups" (on random (s, a) of the
    #: DMN's memory-free world model)
    lesion_control: str = "none"
    # -- decision-time Monte Carlo evaluation (paper "Reinforcement learning control: a process
    #    model for DMN function": Monte Carlo simulation / tree search; see DMNAgent.act) ------
    decision_rollouts: int = 0  #: K rollouts per candidate action before a choice (0: off)
    decision_depth: int = 3  #: d model steps per rollout, then the bootstrapped leaf value
    decision_choice: str = "greedy"  #: choice from mean returns: "greedy" | "softmax"
    decision_beta: float = 5.0  #: inverse temperature of decision_choice="softmax"

    def __post_init__(self) -> None:
        if self.account not in ACCOUNTS:
            raise ValueError(f"account must be one of {sorted(ACCOUNTS)}, got {self.account!r}")
        preset = ACCOUNTS[self.account]["settings"]
        for name in ACCOUNT_FIELDS:
            if getattr(self, name) is None:
                setattr(self, name, preset.get(name, ACCOUNT_DEFAULTS[name]))
        if not isinstance(self.sentinel, bool):
            raise TypeError(f"sentinel must be a bool, got {self.sentinel!r}")
        _choice("replay_priority", self.replay_priority, PRIORITIES)
        _choice("recombine", self.recombine, RECOMBINE)
        _choice("association", self.association, ASSOCIATION)
        _choice("engagement", self.engagement, ENGAGEMENT)
        _choice("demand", self.demand, DEMAND)
        _choice("salience", self.salience, SALIENCE)
        for name in ("recombine_noise", "constant_demand", "w_uncertainty", "w_stake", "w_voc"):
            if not 0.0 <= float(getattr(self, name)) < float("inf"):
                raise ValueError(f"{name} must be in [0, inf), got {getattr(self, name)!r}")
        if not 0.0 < float(self.allocation_beta) < float("inf"):
            raise ValueError(f"allocation_beta must be in (0, inf), got {self.allocation_beta!r}")
        if not abs(float(self.allocation_bias)) < float("inf"):
            raise ValueError(f"allocation_bias must be finite, got {self.allocation_bias!r}")
        if not 0.0 <= float(self.forgetting) < 1.0:
            raise ValueError(f"forgetting must be in [0, 1), got {self.forgetting!r}")
        _choice("lesion", self.lesion, LESIONS)
        for name in ("w_replay", "w_model", "w_recombined", "priority_exponent"):
            _nonneg(name, getattr(self, name))
        for name in ("w_spe", "w_rpe", "w_value", "replay_hz"):
            _nonneg(name, getattr(self, name))
        if not float(self.value_scale) > 0:
            raise ValueError(f"value_scale must be > 0, got {self.value_scale!r}")
        for name in ("memory_size", "rollout_length", "reconsolidate_after"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.w_replay + self.w_model + self.w_recombined <= 0 and self.offline_enabled:
            raise ValueError(
                "w_replay + w_model + w_recombined must be > 0 (use lesion='hippocampus' or "
                "replay_hz=0 for no offline processing)"
            )
        if self.rest_gamma is not None and not 0.0 <= float(self.rest_gamma) < 1.0:
            raise ValueError(f"rest_gamma must be in [0, 1) or None, got {self.rest_gamma!r}")
        for name in ("sr_gamma", "spe_rate", "min_engagement"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        if self.sr_gamma >= 1.0:
            raise ValueError(f"sr_gamma must be < 1, got {self.sr_gamma}")
        if not 0.0 < self.sr_alpha <= 1.0:
            raise ValueError(f"sr_alpha must be in (0, 1], got {self.sr_alpha}")
        self._check_lesion_and_decision()

    def _check_lesion_and_decision(self) -> None:
        """Validate the graded-lesion and decision-time fields (issue 12, items 5 and 6)."""
        lam = self.lesion_strength
        if lam is not None:
            if isinstance(lam, bool) or not isinstance(lam, (int, float)):
                raise TypeError(f"lesion_strength must be a number in [0, 1], got {lam!r}")
            if not 0.0 <= float(lam) <= 1.0:
                raise ValueError(f"lesion_strength must be in [0, 1], got {lam!r}")
            if self.lesion == "none":
                raise ValueError(
                    f"lesion_strength={lam!r} needs lesion='hippocampus' (lesion='none' is "
                    "strength 0)"
                )
        _choice("lesion_control", self.lesion_control, LESION_CONTROLS)
        if self.lesion_control != "none" and self.lesion == "none":
            raise ValueError(
                f"lesion_control={self.lesion_control!r} compute-matches a lesion: it needs "
                "lesion='hippocampus'"
            )
        for name in ("decision_rollouts", "decision_depth"):
            value = getattr(self, name)
            low = 0 if name == "decision_rollouts" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        _choice("decision_choice", self.decision_choice, DECISION_CHOICES)
        _nonneg("decision_beta", self.decision_beta)

    @property
    def lesion_level(self) -> float:
        """The lesion strength in force: 0 without a lesion, else ``lesion_strength`` (1 if
        None)."""
        if self.lesion == "none":
            return 0.0
        return 1.0 if self.lesion_strength is None else float(self.lesion_strength)

    def allocation_config(self) -> AllocationConfig:
        """The :class:`~darkcontrol.dmn.allocation.AllocationConfig` of these fields."""
        return AllocationConfig(
            demand=self.demand,
            beta=self.allocation_beta,
            bias=self.allocation_bias,
            w_uncertainty=self.w_uncertainty,
            w_stake=self.w_stake,
            value_scale=self.value_scale,
            w_voc=self.w_voc,
            forgetting=self.forgetting,
            constant_demand=self.constant_demand,
        )

    @property
    def offline_enabled(self) -> bool:
        """False under a complete hippocampal lesion (strength 1) or a zero replay budget."""
        return self.lesion_level < 1.0 and self.replay_hz > 0

    @classmethod
    def preset(cls, account: str = "full", **overrides: Any) -> DMNConfig:
        """``DMNConfig(account=account, **overrides)``, rejecting unknown keys by name."""
        return build_config(cls, {"account": account}, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_choice = check_choice
_nonneg = partial(check_positive, strict=False)


#: The four accounts: DMNConfig settings, the paper's claim and where it is made.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "predictive_coding": {
        "settings": {"w_replay": 0.0, "w_model": 1.0, "w_recombined": 0.0, "sentinel": False},
        "claim": (
            "Predictive coding (Friston 2005; Bar 2007) as a special case (paper §5.1): the DMN "
            "keeps a generative model of transitions P_hat(s'|s, a) and signals the "
            "state-prediction error spe = 1 - P_hat(s'|s, a) (left TPJ); offline it simulates "
            "from that model (Monte Carlo rollouts). The horizon of the prediction is the "
            "agent's gamma: gamma -> 0 reduces the value to the immediate prediction of r."
        ),
    },
    "semantic": {
        "settings": {
            "w_replay": 0.5,
            "w_model": 0.0,
            "w_recombined": 0.5,
            "recombine": "association",
            "association": "sr",
            "sentinel": False,
            "engagement": "constant",
        },
        "claim": (
            "Semantic associations (Binder et al. 2009) as a special case (paper §5.2, §3.4 "
            "'world semantics'): an association graph over states learnt from experience (the "
            "successor representation) that generalises value to never-tried actions by "
            "recombining experience along associations."
        ),
    },
    "sentinel": {
        "settings": {"w_replay": 1.0, "w_model": 0.0, "w_recombined": 0.0},
        "claim": (
            "The sentinel (Gusnard & Raichle 2001) as a special case (paper §5.3): a relevance "
            "signal (surprise, prediction error, cue value) that suspends offline replay at "
            "salient events; offline processing grows as the world becomes predictable."
        ),
    },
    "full": {
        "settings": {},  # the defaults (ACCOUNT_DEFAULTS) are the full model
        "claim": (
            "The paper's full process model (§3, Figure 4): Q-values refined by replayed, "
            "simulated and recombined experience, gated by the sentinel and by an allocation "
            "of capacity between the world and offline computation."
        ),
    },
}


def split_params(
    params: Mapping[str, Any], agent_config: type | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split flat parameters between the DMN (:class:`DMNConfig`) and the wrapped agent.

    Rule: a key with the prefix ``agent_`` (or ``agent.``) goes, without it, to the agent;
    a DMNConfig field goes to the DMN; any other key goes to the agent if it is a field of the
    agent's config. Unknown keys and keys that are fields of both raise ``ValueError``.
    """
    dmn_fields = {f.name for f in fields(DMNConfig)}
    agent_fields = {f.name for f in fields(agent_config)} if agent_config is not None else set()
    dmn, agent, unknown = {}, {}, []
    for key, value in params.items():
        prefix = next((p for p in AGENT_PREFIXES if key.startswith(p)), None)
        if prefix is not None:
            name = key[len(prefix) :]
            if name in agent or name in params:
                raise ValueError(f"agent parameter {name!r} is given twice (as {key!r} too)")
            agent[name] = value
        elif key in dmn_fields and key in agent_fields:
            raise ValueError(
                f"parameter {key!r} belongs to both the DMN and the agent; write agent_{key} "
                "for the agent's"
            )
        elif key in dmn_fields:
            dmn[key] = value
        elif key in agent_fields:
            if key in agent:
                raise ValueError(f"agent parameter {key!r} is given twice (prefixed too)")
            agent[key] = value
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {sorted(unknown)}; allowed DMN parameters: "
            f"{sorted(dmn_fields)}; agent parameters (optionally prefixed agent_): "
            f"{sorted(agent_fields)}"
        )
    return dmn, agent
