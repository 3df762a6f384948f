"""Figures and the HTML report of the demo: every number shown is computed in the run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from darkcontrol.demo.html import Report
from darkcontrol.demo.study import DemoResult, parallel_map, task_regressors
from darkcontrol.neuro.report import format_p


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def episode_returns(trace: pd.DataFrame) -> np.ndarray:
    """Reward summed over each episode's online steps (one trial of the two-step task)."""
    online = trace[trace["phase"] == "online"]
    return online.groupby("episode", sort=True)["reward"].sum().to_numpy(np.float64)


def chance_return(cfg, n_episodes: int = 400, seed: int = 12345) -> float:
    """Mean return per episode of a uniformly random policy on the demo's world (its own
    seeded generator; episodes capped at ``cfg.max_steps`` steps like the participants')."""
    from darkcontrol.simulation import make_env

    env = make_env(cfg.env, **cfg.env_params)
    rng = np.random.default_rng(seed)
    total = 0.0
    env.reset(seed=seed)
    for _ in range(n_episodes):
        for _ in range(cfg.max_steps):
            _, r, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            total += float(r)
            if terminated or truncated:
                break
        env.reset()
    env.close()
    return total / n_episodes


def learning_curve(res: DemoResult, bin_trials: int = 10) -> pd.DataFrame:
    """Per bin of ``bin_trials`` trials (episodes): mean return across participants and its
    95 % t confidence interval (each participant's bin mean is one observation)."""
    from scipy import stats

    returns = [episode_returns(p.trace) for p in res.participants]
    n = min(len(r) for r in returns)
    n_bins = max(n // bin_trials, 1)
    width = n // n_bins
    per = np.array([r[: n_bins * width].reshape(n_bins, width).mean(axis=1) for r in returns])
    m = per.mean(axis=0)
    k = per.shape[0]
    half = stats.t.ppf(0.975, k - 1) * per.std(axis=0, ddof=1) / np.sqrt(k)
    start = np.arange(n_bins) * width + 1
    return pd.DataFrame(
        {"first_trial": start, "last_trial": start + width - 1, "mean": m, "ci": half, "n": k}
    )


def fig_learning(res: DemoResult, curve: pd.DataFrame, chance: float):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    mid = (curve["first_trial"] + curve["last_trial"]) / 2
    ax.fill_between(
        mid, curve["mean"] - curve["ci"], curve["mean"] + curve["ci"], color="tab:blue", alpha=0.25
    )
    ax.plot(mid, curve["mean"], color="tab:blue", marker="o", lw=2, label="mean ± 95 % CI")
    ax.axhline(chance, color="0.3", ls="--", lw=1.2, label=f"chance (random policy) {chance:.2f}")
    width = int(curve["last_trial"].iloc[0] - curve["first_trial"].iloc[0] + 1)
    ax.set_xlabel(f"trial (bins of {width} trials)")
    ax.set_ylabel("reward per trial")
    ax.set_title(f"Learning curve across {int(curve['n'].iloc[0])} participants")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def fig_offline(res: DemoResult):
    plt = _plt()
    blocks = [
        pd.DataFrame(p.summary["blocks"]).assign(participant=p.index) for p in res.participants
    ]
    df = pd.concat(blocks, ignore_index=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    task = df[df["kind"] == "task"].copy()
    task["block"] = task.groupby("participant").cumcount() + 1
    g = task.groupby("block")["offline_share"]
    axes[0].errorbar(g.mean().index, g.mean(), yerr=g.sem(), marker="o", capsize=3)
    from matplotlib.ticker import MaxNLocator

    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_xlabel("task block (number)")
    axes[0].set_ylabel("offline share of steps (mean ± SEM)")
    axes[0].set_title("DMN engagement during task (ITIs)")
    p0 = res.participants[0].trace
    off = p0[p0["phase"] == "offline"]
    bins = np.arange(0, res.config.n_scans * res.config.t_r + 1, res.config.t_r * 2)
    for source in ("replay", "model", "recombined"):
        t = off.loc[off["source"] == source, "time"]
        if len(t):
            axes[1].hist(t, bins=bins, histtype="step", lw=1.5, label=source)
    for b in res.participants[0].summary["blocks"]:
        if b["kind"] == "rest":
            axes[1].axvspan(b["onset"], b["onset"] + b["duration"], color="0.9", zorder=0)
    axes[1].set_xlabel("time (s); grey = rest")
    axes[1].set_ylabel(f"offline steps per {2 * res.config.t_r:g} s bin")
    axes[1].set_title("Offline processing over time (participant 1)")
    axes[1].legend()
    fig.tight_layout()
    return fig


def fig_regions(res: DemoResult):
    from darkcontrol.regions import RegionMap

    plt = _plt()
    cfg = res.config
    ts = RegionMap.paper().time_series(
        res.participants[0].trace, dt=cfg.t_r, t_max=cfg.n_scans * cfg.t_r
    )
    fig, axes = plt.subplots(len(ts.columns), 1, figsize=(9, 1.1 * len(ts.columns)), sharex=True)
    from matplotlib.ticker import MaxNLocator

    for ax, node in zip(axes, ts.columns):
        ax.plot(ts.index, ts[node], lw=1)
        ax.set_ylabel(node, rotation=0, ha="right", va="center")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=2))
        ax.tick_params(axis="y", labelsize=7)
        for b in res.participants[0].summary["blocks"]:
            if b["kind"] == "rest":
                ax.axvspan(b["onset"], b["onset"] + b["duration"], color="0.9", zorder=0)
    axes[-1].set_xlabel("time (s); grey = rest")
    fig.suptitle(
        "Region time series of participant 1 (paper's Figure 4 map; each node's signal summed "
        "per TR, in the units of its Trace quantity)"
    )
    return fig


def fig_design(res: DemoResult):
    from nilearn.plotting import plot_design_matrix

    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    plot_design_matrix(res.voxel["design"], axes=ax)
    ax.set_title("Design matrix of participant 1 (task regressors, drifts, motion)")
    return fig


def fig_betas(res: DemoResult):
    from darkcontrol.neuro.report import annotated_heatmap

    plt = _plt()
    rec = res.recovery
    nodes = list(dict.fromkeys(rec["node"]))
    regs = list(dict.fromkeys(rec["regressor"]))

    def grid(col):
        return rec.pivot(index="node", columns="regressor", values=col).loc[nodes, regs]

    pl_m, rec_m, sig = grid("planted"), grid("recovered"), grid("significant")
    vmax = float(np.nanmax(np.abs(np.r_[rec_m.to_numpy().ravel(), pl_m.to_numpy().ravel()])))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    panels = (
        (axes[0], pl_m, None, "planted population betas"),
        (axes[1], rec_m, sig.to_numpy(bool), "recovered (group mean; * FDR q < "
         f"{res.config.alpha_level:g})"),
    )  # fmt: skip
    for k, (ax, m, marks, title) in enumerate(panels):
        im = annotated_heatmap(
            ax, m.to_numpy(), nodes, regs, marks=marks, vmax=vmax,
            xlabel="regressor (design column)", ylabel="ROI (DMN node)" if k == 0 else "",
        )  # fmt: skip
        ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=axes, shrink=0.8, label="beta (% signal change)")
    return fig


def glass_caption(res: DemoResult, regressor: str) -> str:
    maps = res.voxel["maps"][regressor]
    thr = maps["threshold"]
    n = int(np.count_nonzero(np.asarray(maps["thresholded"].dataobj)))
    what = f"|z| > {thr:.2f}, {n} voxels" if np.isfinite(thr) else "no voxel survives"
    return f"{regressor}: group z, FDR q < {res.config.alpha_level:g} ({what})"


def fig_glass(res: DemoResult, regressor: str):
    """The *thresholded* second-level map: empty (with the threshold stated) when nothing
    survives, never the unthresholded noise."""
    from darkcontrol.neuro.report import glass_brain_figure

    maps = res.voxel["maps"][regressor]
    return glass_brain_figure(maps["thresholded"], maps["threshold"], glass_caption(res, regressor))


def fig_recovery(res: DemoResult):
    plt = _plt()
    f = res.fits
    fig, axes = plt.subplots(2, 2, figsize=(8, 7))
    for row, (suffix, label) in enumerate((("", "replay-blind"), ("_aware", "replay-aware"))):
        for ax, name in zip(axes[row], ("alpha", "beta")):
            x, y = f[f"{name}_true"], f[f"{name}_fit{suffix}"]
            r = np.corrcoef(x, y)[0, 1]
            ax.scatter(x, y)
            lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
            ax.plot([lo, hi], [lo, hi], "k--", lw=1)
            ax.set_xlabel(f"true {name}")
            ax.set_ylabel(f"fitted {name}")
            ax.set_title(f"{label}: {name}, r = {r:.2f}")
    fig.suptitle("Parameter recovery from choices (q_nav, maximum likelihood)")
    fig.tight_layout()
    return fig


def _planted_range(cfg) -> str:
    values = [abs(v) for d in cfg.planted.values() for v in d.values() if v]
    return f"{min(values):g}-{max(values):g}" if values else "0"


def detection_power(rec: pd.DataFrame, cfg, n_sims: int = 4000, seed: int = 0) -> np.ndarray:
    """Power of each planted effect under the report's own test: the group one-sample t-test
    of every node x regressor cell, Benjamini-Hochberg FDR at ``cfg.alpha_level`` over the
    table. Simulated: per study, cell t-values ~ noncentral t (df = n - 1, noncentrality
    planted / SE with the SE observed across participants; central t for unplanted cells),
    two-sided p, BH; power = share of studies in which the cell is detected. NaN for
    unplanted cells."""
    from scipy import stats

    df = cfg.n_participants - 1
    planted = rec["planted"].to_numpy(np.float64)
    d = planted / rec["se"].to_numpy(np.float64)
    rng = np.random.default_rng(seed)
    t = stats.nct.rvs(df, np.where(np.isfinite(d), d, 0.0), size=(n_sims, len(d)), random_state=rng)
    p = 2 * stats.t.sf(np.abs(t), df)
    q = stats.false_discovery_control(p, axis=1, method="bh")
    power = (q < cfg.alpha_level).mean(axis=0)
    return np.where(planted != 0, power, np.nan)


def glass_png(res: DemoResult, regressor: str) -> bytes:
    """:func:`fig_glass` rendered (the demo renders the glass brains in parallel)."""
    from darkcontrol.demo.html import png_bytes

    return png_bytes(fig_glass(res, regressor))


def write_report(
    res: DemoResult,
    out_dir: Path,
    version: str,
    argv: list[str] | None,
    jobs: int | None = 1,
) -> Path:
    cfg = res.config
    rep = Report(
        out_dir,
        "darkcontrol demo: the DMN as a reinforcement-learning agent, end to end",
        f"darkcontrol {version} · seed {cfg.seed} · {cfg.n_participants} simulated participants "
        f"· {cfg.env} · DMN account '{cfg.account}' wrapping '{cfg.agent}'",
    )
    rep.text(
        "This report is the whole model-based fMRI study of Dohmatob, Dumas &amp; Bzdok (2020, "
        "<i>Human Brain Mapping</i> 41:3318) run on simulated participants: each one is a DMN "
        "agent that learns a task during task blocks and keeps learning offline (replay, "
        "simulation, recombination) between trials and at rest; its computations become brain "
        "regressors (the paper's Figure 4 map); fMRI data are synthesised with known effects at "
        "known nodes; GLMs must find them; and the agent is fitted back to the choices. Every "
        "number below was computed in this run."
    )
    rep.section("1. Behaviour")
    curve = learning_curve(res)
    chance = chance_return(cfg)
    rep.figure(
        fig_learning(res, curve, chance),
        "learning_curves",
        "Reward per trial (one trial = one episode), binned; the band is the 95 % t confidence "
        "interval across participants; dashed: a uniformly random policy on the same world.",
    )
    returns = [np.mean(p.summary["episode_returns"]) for p in res.participants]
    first, last = curve.iloc[0], curve.iloc[-1]
    rep.text(
        f"Mean return per episode across participants: <b>{np.mean(returns):.3f}</b> "
        f"(range {np.min(returns):.3f} to {np.max(returns):.3f}; chance {chance:.3f}). "
        f"First bin {first['mean']:.3f} ± {first['ci']:.3f}, last bin {last['mean']:.3f} ± "
        f"{last['ci']:.3f} (mean ± 95 % CI half-width)."
    )
    rep.section("2. Offline processing (the hippocampus / DMN at rest)")
    rep.figure(
        fig_offline(res),
        "offline_replay",
        "Left: share of computation steps that are offline during task blocks. Right: "
        "offline steps over time by source.",
    )
    rep.section("3. Region time series")
    rep.figure(fig_regions(res), "region_time_series")
    rep.section("4. Design matrix")
    rep.figure(fig_design(res), "design_matrix")
    rep.section(
        "5. ROI GLMs: planted vs recovered effects",
        "First level per participant (AR(1), % signal change), then a one-sample t-test "
        "across participants per node x regressor. The planted effects are "
        f"{_planted_range(cfg)} % signal change, the range of model-based fMRI effects, so "
        "detection is not guaranteed: each planted effect's <b>power</b> is estimated from "
        "the observed between-participant spread (simulated studies: noncentral t per cell, "
        f"then the same FDR correction at {cfg.alpha_level:g} over the table). A planted effect "
        "is <b>detected</b> when it survives FDR over the table; its estimate is "
        "<b>consistent</b> when the group mean lies within 3 standard errors of the planted "
        "value (a check of bias, which must hold whatever the power).",
    )
    rep.figure(fig_betas(res), "roi_betas")
    rec = res.recovery.assign(power=detection_power(res.recovery, cfg))
    planted = rec[rec["planted"] != 0]
    n_det = int(planted["significant"].sum())
    rep.text(
        f"Detected <b>{n_det} of {len(planted)}</b> planted effects; expected from the "
        f"estimated powers: {planted['power'].sum():.1f} (mean power "
        f"{planted['power'].mean():.2f})."
    )
    for _, r in planted.iterrows():
        consistent = bool(abs(r["recovered"] - r["planted"]) <= 3 * r["se"] + 1e-12)
        rep.check(
            f"{r['node']} carries {r['regressor']}: estimate consistent with the planted value",
            consistent,
            f"planted {r['planted']:.2f}, recovered {r['recovered']:.2f} ± {r['se']:.2f} (SE), "
            f"t = {r['t']:.1f}, p = {format_p(r['p'])}, "
            f"{'detected' if r['significant'] else 'not detected'} at power {r['power']:.2f}",
        )
    n_false = int(((rec["planted"] == 0) & rec["significant"]).sum())
    rep.check(
        "no unplanted node x regressor effect survives correction",
        n_false == 0,
        f"{n_false} of {int((rec['planted'] == 0).sum())} survive",
    )
    rep.table(rec.set_index(["node", "regressor"]), "all node x regressor tests")
    rep.section("6. Voxelwise second level (FDR)")
    rep.table(
        res.voxel["table"].set_index("regressor"),
        "share of planted-node voxels detected, and of voxels outside the planted nodes "
        "(false positives)",
    )
    glass = [reg for reg in task_regressors(cfg) if reg in res.voxel["maps"]]
    pngs = parallel_map(glass_png, [(res, reg) for reg in glass], jobs)
    for reg, png in zip(glass, pngs):
        rep.figure(png, f"glass_{reg}", glass_caption(res, reg))
    rep.section(
        "7. Parameter recovery from behaviour",
        "Replay-blind: the model sees only the participant's choices, as with real data. "
        "Replay-aware: it also learns from the offline transitions of the Trace (known only in "
        "simulation). The gap between the two is what offline learning hides from a "
        "behavioural fit.",
    )
    rep.figure(fig_recovery(res), "parameter_recovery")
    rep.table(res.fits.set_index("participant"), "per participant")
    h = res.hypotheses
    pv = h.attrs["checks"]["policy_value_r"]["mean"]
    rep.section(
        "8. The paper's node hypotheses",
        "Right TPJ should track policy change, vmPFC value change, PMC both (paper §4.3). "
        "Per participant (the unit), Pearson r between a node's simulated series (the demo's "
        "Figure 4 map) and the summed |change| per TR of the DMN's change log; across "
        "participants, the pre-declared test of <code>darkcontrol.results</code> "
        "(one-sample t, r &gt; 0, 95 % CI), with a <b>shuffled-map</b> control (each "
        "participant analysed with its own randomly deranged map), which must not hold. The "
        "same claims are written to <code>results.json</code>. This step is "
        "<b>descriptive</b>, not a test of the hypotheses: in this task policy and value "
        f"changes go together (mean r(policy change, value change) per TR = {pv:.2f}), so a "
        "node that tracks one tracks the other. The test of the dissociation is "
        "<code>scripts/dmn_node_hypotheses.py</code>, on a task that decorrelates the two "
        "changes, with its own controls (README, section Claims).",
    )
    for _, r in h.iterrows():
        ctl = "holds" if r["shuffled_map_holds"] else "does not hold"
        rep.check(
            f"{r['node']} tracks {r['quantity']}",
            bool(r["holds"]),
            f"mean r = {r['mean_r']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] (95 % CI), "
            f"p = {format_p(r['p'])}, n = {r['n']}; shuffled map {r['shuffled_map_r']:+.3f} "
            f"[{r['shuffled_map_ci_low']:+.3f}, {r['shuffled_map_ci_high']:+.3f}], {ctl}",
        )
    rep.section("Configuration")
    rep.config(
        {
            "darkcontrol_version": version,
            "command": argv,
            "config": cfg.to_dict(),
            "timings_s": {k: round(v, 1) for k, v in res.timings.items()},
        }
    )
    return rep.write()


def bids_task_label(env_id: str) -> str:
    """BIDS task label of an environment id: ``darkcontrol/TwoStep-v0`` -> ``twostep``."""
    name = env_id.split("/")[-1].rsplit("-v", 1)[0]
    return "".join(ch for ch in name.lower() if ch.isalnum()) or "task"


def write_outputs(res: DemoResult, out_dir: Path, version: str) -> list[Path]:
    """Tidy outputs beside the report: Traces, events, fits, recovery tables, config."""
    from darkcontrol._util import atomic_write_text
    from darkcontrol.trace import coerce_trace, write_trace

    out_dir = Path(out_dir)
    meta = {"darkcontrol_version": version, "config": res.config.to_dict()}
    trace = coerce_trace(pd.concat([p.trace for p in res.participants], ignore_index=True))
    paths = [write_trace(trace, out_dir / "traces.parquet", meta)]
    if "claims" in res.hypotheses.attrs:  # step 6 in the results format of the claim studies
        from darkcontrol.demo.study import HYPOTHESIS_STUDY
        from darkcontrol.results import write_results

        seeds = [p.seed for p in res.participants]
        hyp_config = {**res.config.to_dict(), "seeds": seeds, "calibration_seeds": []}
        paths.append(
            write_results(
                out_dir,
                HYPOTHESIS_STUDY,
                hyp_config,
                res.hypotheses.attrs["claims"],
                checks=res.hypotheses.attrs["checks"],
            )
        )
    for name, df in (
        ("roi_recovery", res.recovery),
        ("voxel_recovery", res.voxel["table"]),
        ("behaviour_fits", res.fits),
        ("node_hypotheses", res.hypotheses),
        ("roi_group", res.roi_group),
    ):
        paths.append(atomic_write_text(out_dir / f"{name}.tsv", df.to_csv(sep="\t", index=False)))
    ev_dir = out_dir / "events"
    task = bids_task_label(res.config.env)
    for p in res.participants:
        name = f"sub-{p.index + 1:02d}_task-{task}_run-1_events.tsv"  # BIDS: runs are 1-based
        text = p.events.to_csv(sep="\t", index=False, na_rep="n/a", lineterminator="\n")
        paths.append(atomic_write_text(ev_dir / name, text))
    map_dir = out_dir / "maps"
    map_dir.mkdir(exist_ok=True)
    for reg, maps in res.voxel["maps"].items():
        label = "".join(ch for ch in reg if ch.isalnum())
        final = map_dir / f"task-{task}_desc-{label}_stat-z_statmap.nii.gz"  # BIDS-Stats style
        tmp = map_dir / f".{final.name}.tmp.nii.gz"
        maps["z"].to_filename(tmp)
        os.replace(tmp, final)  # atomic: a reader never sees half a map
        paths.append(final)
    paths.append(
        atomic_write_text(out_dir / "config.json", json.dumps(meta, indent=2, default=str))
    )
    return paths
