"""The whole study on the embedded default, step by step.

1. simulate the DMN agent (Dohmatob et al. 2020) for each participant over task and rest blocks;
2. derive the DMN node regressors from each Trace (the paper's Figure 4 map);
3. synthesise one fMRI run per participant with known effects at known nodes;
4. fit ROI and voxelwise GLMs, first and second level, and compare with the planted effects;
5. fit the agent back to each participant's choices (parameter recovery);
6. relate the simulated node series to policy and value changes, with 95 % CIs and a shuffled-map
   control (descriptive: the dissociation study scripts/dmn_node_hypotheses.py is the test).

Every number comes from this run; :func:`run_study` returns them and the report shows them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from darkcontrol._util import progress as progress_bar
from darkcontrol.clock import Schedule
from darkcontrol.demo.config import DemoConfig
from darkcontrol.dmn import DMNAgent
from darkcontrol.simulation import make_env, simulate
from darkcontrol.trace import TraceRecorder


@dataclass
class DemoParticipant:
    """One simulated participant: true parameters, Trace, block summary, change log."""

    index: int
    seed: int
    alpha: float
    beta: float
    trace: pd.DataFrame
    summary: dict[str, Any]
    changes: pd.DataFrame
    events: pd.DataFrame | None = None
    design: pd.DataFrame | None = None


@dataclass
class DemoResult:
    config: DemoConfig
    participants: list[DemoParticipant]
    sims: list = field(default_factory=list)
    roi_tables: list[pd.DataFrame] = field(default_factory=list)
    roi_group: pd.DataFrame | None = None
    recovery: pd.DataFrame | None = None  # planted vs recovered per (node, regressor)
    voxel: dict[str, Any] = field(default_factory=dict)
    fits: pd.DataFrame | None = None  # behavioural fits: true and fitted parameters
    hypotheses: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _progress(iterable, desc: str, enabled: bool, total: int | None = None):
    return progress_bar(
        iterable, enabled=enabled, desc=desc, total=total, unit="participant", leave=True
    )


_WORK: list = []  # the items of the running parallel_map (inherited by forked workers)


def _call(i: int):
    fn, args = _WORK[i]
    return fn(*args)


def default_jobs() -> int:
    """Worker processes of the demo: the machine's cores, at most 2 (its per-participant
    steps are independent; a worker is a fork, so it costs no imports)."""
    import os

    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(2, n or 1))


def parallel_map(fn, items: list[tuple], jobs: int | None = 1):
    """``fn(*item)`` for every item, in order: in this process (``jobs`` 1) or in ``jobs``
    forked workers (None: :func:`default_jobs`). Every item's result depends only on the item
    (each participant has its own seeds), so the results are the same either way."""
    import multiprocessing as mp

    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1 or len(items) <= 1 or "fork" not in mp.get_all_start_methods():
        for item in items:
            yield fn(*item)
        return
    _WORK[:] = [(fn, item) for item in items]
    try:
        with mp.get_context("fork").Pool(min(jobs, len(items))) as pool:
            yield from pool.imap(_call, range(len(items)))
    finally:
        _WORK.clear()


# -- 1. simulate -------------------------------------------------------------------------------
def schedule_of(cfg: DemoConfig) -> Schedule:
    return Schedule.blocked(cfg.n_blocks, cfg.task_s, cfg.rest_s, cfg.trial_s, cfg.iti_s)


def simulate_cohort(
    cfg: DemoConfig, progress: bool = False, jobs: int | None = 1
) -> list[DemoParticipant]:
    """DemoParticipant k: alpha, beta drawn from the config's ranges; its own spawned seed; one
    :func:`darkcontrol.simulate` run of the DMN through the demo's Schedule."""

    root = np.random.SeedSequence(cfg.seed)
    draw = np.random.default_rng(root.spawn(1)[0])
    alphas = draw.uniform(*cfg.alpha_range, size=cfg.n_participants)
    betas = draw.uniform(*cfg.beta_range, size=cfg.n_participants)
    seeds = [int(s.generate_state(1)[0]) for s in root.spawn(cfg.n_participants + 1)[1:]]
    work = [
        (cfg, k, seeds[k], float(alphas[k]), float(betas[k])) for k in range(cfg.n_participants)
    ]
    done = parallel_map(simulate_participant, work, jobs)
    return list(_progress(done, "1/6 simulate DMN agents", progress, total=len(work)))


def simulate_participant(
    cfg: DemoConfig, k: int, seed: int, alpha: float, beta: float
) -> DemoParticipant:
    """Participant ``k``: the DMN agent with these parameters through the demo's Schedule."""
    env = make_env(cfg.env, **cfg.env_params)
    dmn = DMNAgent(
        cfg.agent,
        env,
        account=cfg.account,
        seed=seed,
        recorder=TraceRecorder(run=k),
        replay_hz=cfg.replay_hz,
        record_changes=True,
        alpha=alpha,
        beta=beta,
        policy="softmax",
        gamma=cfg.gamma,
    )
    trace, result = simulate(
        env, dmn, schedule=schedule_of(cfg), seeds=[seed], max_steps=cfg.max_steps
    )
    env.close()
    run = result.runs[0]
    summary = {
        "blocks": run.blocks,
        "episode_lengths": run.lengths,
        "episode_returns": run.returns,
        "episodes_finished": run.finished,
        "offline_share": run.offline_share,
    }
    return DemoParticipant(k, seed, alpha, beta, trace, summary, dmn.change_log())


# -- 2. regressors -----------------------------------------------------------------------------
def make_regressors(cfg: DemoConfig, participants: list[DemoParticipant]) -> None:
    """Events (one modulator per node of ``cfg.regressors`` + online/offline onsets) and the
    design matrix used to *generate* each participant's data (no confounds yet)."""
    from darkcontrol.neuro.design import DesignConfig, make_design
    from darkcontrol.neuro.events import trace_to_events
    from darkcontrol.regions import RegionMap

    dcfg = DesignConfig(t_r=cfg.t_r, n_scans=cfg.n_scans)
    for p in participants:
        p.events = trace_to_events(
            p.trace,
            region_map=RegionMap.paper(),
            quantities=cfg.regressors,
            phases=("online", "offline"),
            online_duration=cfg.trial_s,
            offline_duration=1.0 / cfg.replay_hz,
        )
        p.design = make_design(p.events, dcfg)


# -- 3. synthetic fMRI -------------------------------------------------------------------------
def synthesise(cfg: DemoConfig, participants: list[DemoParticipant], progress: bool = False):
    from darkcontrol.neuro.synthetic import SyntheticConfig, simulate_group

    scfg = SyntheticConfig(
        t_r=cfg.t_r, n_scans=cfg.n_scans, resolution=cfg.resolution, noise_sd=cfg.noise_sd
    )
    return simulate_group(
        [p.design for p in participants],
        cfg.planted,
        subject_sd=cfg.subject_sd,
        config=scfg,
        seed=cfg.seed,
        progress=progress,
    )


# -- 4. GLMs -----------------------------------------------------------------------------------
def glm_design(cfg: DemoConfig, p: DemoParticipant, sim) -> pd.DataFrame:
    """The analysis design: the same events plus the run's motion confounds (the generating
    design with the confound columns added: the events are not convolved again)."""
    from darkcontrol.neuro.design import CONFOUND_STRATEGIES, add_confounds

    motion6 = list(CONFOUND_STRATEGIES["motion6"])
    return add_confounds(p.design, sim.confounds[motion6])


def task_regressors(cfg: DemoConfig) -> list[str]:
    return ["trial", "offline", *cfg.regressors]


def _first_level(cfg: DemoConfig, p: DemoParticipant, sim) -> tuple:
    """One participant's analysis design, ROI GLM table and voxelwise contrast maps."""
    from darkcontrol.neuro.glm import (
        GLMConfig,
        contrast_maps,
        fit_first_level,
        fit_roi_glm,
        roi_signals,
    )

    regs = task_regressors(cfg)
    dm = glm_design(cfg, p, sim)
    signals = roi_signals(sim.img, sim.atlas, sim.mask_img, cfg.t_r)
    table = fit_roi_glm(signals, dm, GLMConfig(t_r=cfg.t_r), regressors=regs)
    vcfg = GLMConfig(t_r=cfg.t_r, smoothing_fwhm=cfg.smoothing_fwhm)
    maps = contrast_maps(fit_first_level(sim.img, dm, sim.mask_img, vcfg), regs)
    return dm, table, {r: {"effect": maps[r]["effect"]} for r in regs}


def fit_glms(
    cfg: DemoConfig, participants, sims, progress: bool = False, jobs: int | None = 1
) -> dict[str, Any]:
    from darkcontrol.neuro.glm import fit_second_level, roi_second_level, threshold_map

    regs = task_regressors(cfg)
    tables, effects = [], {r: [] for r in regs}
    designs = []
    work = [(cfg, p, sim) for p, sim in zip(participants, sims)]
    done = parallel_map(_first_level, work, jobs)
    for dm, table, maps in _progress(done, "4/6 fit GLMs", progress, total=len(work)):
        designs.append(dm)
        tables.append(table)
        for r in regs:
            effects[r].append(maps[r]["effect"])
    group = roi_second_level(tables)
    mask = sims[0].mask_img
    voxel = {}
    for r in regs:
        second = fit_second_level(effects[r], mask)
        thr_img, thr = threshold_map(second["z"], mask, alpha=cfg.alpha_level, height_control="fdr")
        voxel[r] = {"z": second["z"], "thresholded": thr_img, "threshold": thr}
    return {"tables": tables, "group": group, "voxel": voxel, "designs": designs}


def planted_vs_recovered(cfg: DemoConfig, group: pd.DataFrame, sims) -> pd.DataFrame:
    """Each (node, regressor): planted population beta, recovered mean beta, t, p, verdict.

    A planted effect is recovered when its second-level p survives Benjamini-Hochberg FDR
    over the table and the mean beta lies within 3 standard errors of the planted value; an
    unplanted one when it does not survive."""
    from scipy.stats import false_discovery_control

    table = sims[0].meta.get("population_betas", sims[0].betas)
    q = false_discovery_control(group["p"].to_numpy(np.float64), method="bh")
    rows = []
    for (_, g), q_value in zip(group.iterrows(), q):
        node, reg = g["roi"], g["regressor"]
        planted = (
            float(table.loc[node, reg]) if reg in table.columns and node in table.index else 0.0
        )
        se = g["sd"] / np.sqrt(g["n"])
        significant = q_value < cfg.alpha_level
        if planted != 0:
            ok = bool(significant and abs(g["mean"] - planted) <= 3 * se + 1e-12)
        else:
            ok = not significant
        rows.append(
            {
                "node": node,
                "regressor": reg,
                "planted": planted,
                "recovered": g["mean"],
                "se": se,
                "t": g["t"],
                "p": g["p"],
                "significant": bool(significant),
                "ok": ok,
            }
        )
    return pd.DataFrame(rows)


def voxel_recovery(cfg: DemoConfig, voxel: dict, sims) -> pd.DataFrame:
    """Per regressor: share of planted-node voxels above the FDR threshold, and of voxels
    outside every planted node (false positives; nodes dilated by one voxel for smoothness)."""
    from scipy import ndimage

    atlas = sims[0].atlas
    labels = np.asarray(atlas.labels_img.dataobj).astype(int)
    mask = np.asarray(sims[0].mask_img.dataobj) > 0
    rows = []
    for reg, res in voxel.items():
        z = np.asarray(res["thresholded"].get_fdata())
        nodes = [n for n, d in cfg.planted.items() if reg in d and d[reg] != 0]
        inside = np.isin(labels, [atlas.names.index(n) + 1 for n in nodes])
        near = ndimage.binary_dilation(inside, iterations=1)
        outside = mask & ~near
        rows.append(
            {
                "regressor": reg,
                "planted_nodes": ",".join(nodes) or "-",
                "detected_in_nodes": float((z[inside] != 0).mean()) if inside.any() else np.nan,
                "false_positive_share": float((z[outside] != 0).mean()),
                "z_threshold": res["threshold"],
            }
        )
    return pd.DataFrame(rows)


# -- 6. node hypotheses ------------------------------------------------------------------------
#: (claim, node, logged change) of the paper's section 4.3 predictions ("Summary and hypotheses
#: for future studies"): right TPJ ~ policy change, vmPFC ~ value change, PMC ~ both
HYPOTHESES = (
    ("rTPJ_tracks_policy_change", "rTPJ", "policy_change"),
    ("vmPFC_tracks_value_change", "vmPFC", "value_change"),
    ("PMC_tracks_policy_change", "PMC", "policy_change"),
    ("PMC_tracks_value_change", "PMC", "value_change"),
)
HYPOTHESIS_STUDY = "demo_node_hypotheses"
SHUFFLED_MAP_SEED = 10_000  #: participant k's wrong map: RegionMap.paper().shuffled(10_000 + k)


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r; 0 for a constant series (a node that never varies tracks nothing)."""
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def node_hypotheses(cfg: DemoConfig, participants: list[DemoParticipant]) -> pd.DataFrame:
    """The paper's §4.3 predictions on the simulated region series, in the results format.

    Per participant (the unit) and hypothesis, the effect is Pearson r between the node's
    series of the demo's map (``RegionMap.paper()``, the map its regressors use; one bin per
    TR) and the |change| (policy or value) of the DMN's change log summed per bin (0 for a
    constant series). Each hypothesis is a :class:`darkcontrol.results.ClaimSpec`
    (``one_sample_t``, r > 0, alpha 0.05) evaluated by :func:`darkcontrol.results.claim`
    with the control ``shuffled_map``: participant k analysed with a randomly deranged map
    (:meth:`RegionMap.shuffled`, seed 10,000 + k), which must not hold. Also per participant:
    r(policy change, value change), the confound that makes this descriptive: where the two
    changes go together a node that tracks one tracks the other. The test of the dissociation
    is ``scripts/dmn_node_hypotheses.py`` (a task that decorrelates them).

    Returns one row per claim (effect, CI, n, p, holds and the control's); the
    :class:`~darkcontrol.results.Claim` objects are in ``.attrs["claims"]`` and the design
    checks in ``.attrs["checks"]`` (``write_outputs`` writes them as ``results.json``)."""
    from darkcontrol.regions import RegionMap
    from darkcontrol.results import ClaimSpec, claim

    rmap = RegionMap.paper()
    t_max = cfg.n_scans * cfg.t_r
    effects = {name: [] for name, _, _ in HYPOTHESES}
    shuffled = {name: [] for name, _, _ in HYPOTHESES}
    pv = []
    for p in participants:
        ts = rmap.time_series(p.trace, dt=cfg.t_r, t_max=t_max)
        wrong = rmap.shuffled(SHUFFLED_MAP_SEED + p.index).time_series(
            p.trace, dt=cfg.t_r, t_max=t_max
        )
        ch = p.changes
        idx = np.floor(ch["time"].to_numpy() / cfg.t_r).astype(int)
        ok = (idx >= 0) & (idx < len(ts))
        binned = {
            col: np.bincount(idx[ok], weights=np.abs(ch[col].to_numpy()[ok]), minlength=len(ts))
            for col in ("policy_change", "value_change")
        }
        pv.append(_corr(binned["policy_change"], binned["value_change"]))
        for name, node, col in HYPOTHESES:
            effects[name].append(_corr(binned[col], ts[node].to_numpy()))
            shuffled[name].append(_corr(binned[col], wrong[node].to_numpy()))
    claims, rows = [], []
    for k, (name, node, col) in enumerate(HYPOTHESES):
        spec = ClaimSpec(
            name,
            "one_sample_t",
            description=f"r({node} series, summed |{col}| per TR) > 0 across participants",
        )
        c = claim(
            spec,
            effects[name],
            controls={"shuffled_map": shuffled[name]},
            descriptions={"shuffled_map": "each participant with its own randomly deranged map"},
            seed=1000 * k,
            reason="descriptive: policy and value changes are not decorrelated in this task; "
            "the dissociation is tested by scripts/dmn_node_hypotheses.py",
        )
        claims.append(c)
        ctl = c.control("shuffled_map")
        rows.append(
            {
                "claim": name,
                "node": node,
                "quantity": col,
                "statistic": spec.statistic,
                "n": c.n,
                "mean_r": c.effect,
                "ci_low": c.ci[0],
                "ci_high": c.ci[1],
                "p": c.p,
                "holds": c.holds,
                "shuffled_map_r": ctl.effect,
                "shuffled_map_ci_low": ctl.ci[0],
                "shuffled_map_ci_high": ctl.ci[1],
                "shuffled_map_holds": ctl.holds,
            }
        )
    table = pd.DataFrame(rows)
    pv_arr = np.array(pv)
    table.attrs["claims"] = claims
    table.attrs["checks"] = {
        "policy_value_r": {
            "mean": float(pv_arr.mean()),
            "per_participant": pv_arr.tolist(),
            "meaning": "r(policy change, value change) per TR: where it is high, a node that "
            "tracks one change tracks the other, so the claims cannot dissociate them",
        },
        "region_map": "figure4",
        "test_of_the_hypotheses": "scripts/dmn_node_hypotheses.py",
    }
    return table


# -- the whole study ---------------------------------------------------------------------------
def run_study(
    cfg: DemoConfig, progress: bool = False, log=print, jobs: int | None = None
) -> DemoResult:
    """The six steps; ``jobs`` worker processes for the first-level GLMs of step 4 (None:
    :func:`default_jobs`; the numbers do not depend on it). Steps 1 and 5 can run on workers
    too (their ``jobs``), but measured they gain nothing: a fork and the return of the results
    cost about what a participant's simulation or fit does."""
    timings = {}
    t0 = time.perf_counter()
    participants = simulate_cohort(cfg, progress)  # serial: faster than forking for it
    result = DemoResult(cfg, participants)
    timings["simulate"] = time.perf_counter() - t0
    shares = [p.summary["offline_share"] for p in participants]
    log(
        f"[1/6] simulated {len(participants)} DMN agents on {cfg.env}: "
        f"mean offline share {np.mean(shares):.2f}"
    )

    t0 = time.perf_counter()
    make_regressors(cfg, participants)
    timings["regressors"] = time.perf_counter() - t0
    cols = ", ".join(task_regressors(cfg))
    log(f"[2/6] regressors per participant ({cfg.n_scans} scans, TR {cfg.t_r} s): {cols}")

    t0 = time.perf_counter()
    result.sims = synthesise(cfg, participants, progress)
    timings["synthesise"] = time.perf_counter() - t0
    log(
        f"[3/6] synthesised {len(result.sims)} fMRI runs with planted effects at "
        f"{', '.join(cfg.planted)}"
    )

    t0 = time.perf_counter()
    glms = fit_glms(cfg, participants, result.sims, progress, jobs)
    result.roi_tables, result.roi_group = glms["tables"], glms["group"]
    result.recovery = planted_vs_recovered(cfg, glms["group"], result.sims)
    result.voxel = {
        "maps": glms["voxel"],
        "table": voxel_recovery(cfg, glms["voxel"], result.sims),
        "design": glms["designs"][0],
    }
    timings["glm"] = time.perf_counter() - t0
    rec = result.recovery
    planted = rec["planted"] != 0
    n_det = int((planted & rec["significant"]).sum())
    n_false = int((~planted & rec["significant"]).sum())
    log(
        f"[4/6] GLMs: {n_det}/{int(planted.sum())} planted effects detected (FDR), "
        f"{n_false}/{int((~planted).sum())} unplanted node x regressor cells survive"
    )

    t0 = time.perf_counter()
    from darkcontrol.demo.behaviour import fit_participants

    result.fits = fit_participants(cfg, participants, progress)  # serial, as step 1
    timings["fit"] = time.perf_counter() - t0
    f = result.fits
    r = {
        k: np.corrcoef(f[f"{k.split('_')[0]}_true"], f[k])[0, 1]
        for k in ("alpha_fit", "beta_fit", "alpha_fit_aware", "beta_fit_aware")
    }
    log(
        f"[5/6] behavioural fits: r(alpha) = {r['alpha_fit']:.2f}, r(beta) = {r['beta_fit']:.2f} "
        f"from choices; {r['alpha_fit_aware']:.2f}, {r['beta_fit_aware']:.2f} with replay known"
    )

    result.hypotheses = node_hypotheses(cfg, participants)
    h = result.hypotheses
    log(
        f"[6/6] node hypotheses (descriptive; the test is scripts/dmn_node_hypotheses.py): "
        f"{int(h['holds'].sum())}/{len(h)} hold (95% CI > 0), shuffled-map control holds for "
        f"{int(h['shuffled_map_holds'].sum())}/{len(h)}; r(policy, value change) = "
        f"{h.attrs['checks']['policy_value_r']['mean']:.2f}"
    )
    result.timings = timings
    return result


def write_example_run(result: DemoResult, out_dir, participant: int = 0) -> list:
    """One participant's inputs as a user would have them, so the README's ``glm`` and ``fit``
    commands have something to read: the synthetic BOLD run (4D NIfTI, MNI, TR in the
    header), its events (the regressors' BIDS events.tsv) and the choices (BIDS-style
    behaviour TSV, online steps only: what a participant's log records)."""
    from pathlib import Path

    from darkcontrol.demo.behaviour import behaviour_of
    from darkcontrol.neuro.behavior import write_behavior as write_behaviour
    from darkcontrol.neuro.events import write_events
    from darkcontrol.simulation import make_env

    out_dir = Path(out_dir)
    p, sim = result.participants[participant], result.sims[participant]
    stem = out_dir / f"sub-{p.index + 1:02d}"
    bold = Path(f"{stem}_bold.nii.gz")
    tmp = bold.with_name(f".{bold.name}.tmp.nii.gz")
    sim.img.to_filename(tmp)
    tmp.replace(bold)  # atomic
    env = make_env(result.config.env, **result.config.env_params)
    S, A = int(env.observation_space.n), int(env.action_space.n)
    beh = behaviour_of(p.trace, S, A, stem.name)
    return [
        bold,
        write_events(p.events, f"{stem}_events.tsv")[0],
        write_behaviour(beh, f"{stem}_beh.tsv"),
    ]
