"""A self-contained HTML report of a GLM study (figures embedded as base64 PNG).

Sections: configuration and versions; design matrix of the first run with its collinearity
diagnostics (VIF); the ROI x regressor table (group t-tests, or the participant's first level)
with a heatmap; a glass-brain view of each thresholded z map; optional model comparison.
Every ``<img>`` is a ``data:image/png;base64`` URI, so the file can be moved or mailed alone.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f0f0f0} pre{background:#f7f7f7;padding:0.6em;overflow-x:auto;font-size:0.8em}
img{max-width:100%} figcaption{font-size:0.85em;color:#555} .warn{color:#a40}
"""


def _agg():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def figure_to_png(fig) -> bytes:
    """PNG bytes of a matplotlib figure (closed afterwards)."""
    plt = _agg()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


class HTMLReport:
    """Sections of headings, paragraphs, tables, figures and JSON, rendered to one HTML file."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, css: str = "") -> None:
        cls = f' class="{css}"' if css else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def table(self, df: pd.DataFrame, digits: int = 3, index: bool = False) -> None:
        """A table; p-value columns (``p``, ``p_*``, ``*_p``, ``q``) keep two significant
        digits (``3.1e-04``, never ``0.000``), other numbers ``digits`` decimals."""
        df = df.copy()
        for col in df.columns:
            name = str(col)
            is_p = name in ("p", "q") or name.startswith("p_") or name.endswith("_p")
            if is_p and pd.api.types.is_numeric_dtype(df[col]):
                df[col] = df[col].map(format_p)
        self.parts.append(df.round(digits).to_html(index=index, border=0, na_rep="n/a"))

    def png(self, data: bytes, caption: str = "") -> None:
        if not data.startswith(b"\x89PNG"):
            raise ValueError("not PNG data")
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(f'<figure><img src="{uri}" alt="{html.escape(caption)}">{cap}</figure>')

    def figure(self, fig, caption: str = "") -> None:
        self.png(figure_to_png(fig), caption)

    def json(self, obj: Any) -> None:
        text = json.dumps(obj, indent=2, default=str, sort_keys=True)
        self.parts.append(f"<pre>{html.escape(text)}</pre>")

    def render(self) -> str:
        body = "\n".join(self.parts)
        return (
            f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>"
            f"{html.escape(self.title)}</title><style>{_CSS}</style></head><body>\n"
            f"<h1>{html.escape(self.title)}</h1>\n{body}\n</body></html>\n"
        )

    def write(self, path: str | os.PathLike) -> Path:
        from darkcontrol._util import atomic_write_text

        return atomic_write_text(path, self.render())


def versions() -> dict[str, str]:
    import nilearn

    from darkcontrol import __version__

    return {
        "darkcontrol": __version__,
        "nilearn": nilearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
    }


def design_figure(design: pd.DataFrame, title: str = ""):
    from darkcontrol.neuro.design import plot_design

    return plot_design(design, title=title)


def format_p(p: float) -> str:
    """A p-value with two significant digits (``3.1e-04``, ``0.042``), never ``0.000``."""
    if p is None or not np.isfinite(p):
        return "n/a"
    if p >= 0.001:
        return f"{p:.2g}" if p < 0.1 else f"{p:.2f}"
    return f"{p:.1e}"


def annotated_heatmap(
    ax,
    data: np.ndarray,
    rows: list[str],
    cols: list[str],
    *,
    marks: np.ndarray | None = None,
    fmt: str = "{:.2f}",
    vmax: float | None = None,
    xlabel: str = "regressor",
    ylabel: str = "ROI (DMN node)",
    cmap: str = "RdBu_r",
):
    """A heatmap on a symmetric diverging scale [-vmax, vmax] (default: the largest |value|)
    with each cell's value written in a colour readable on it (white on dark cells), ``*``
    after values where ``marks`` is True, and axis titles. Returns the image (for a colorbar).
    """
    data = np.asarray(data, dtype=np.float64)
    if vmax is None:
        vmax = float(np.nanmax(np.abs(data))) if np.isfinite(data).any() else 1.0
    vmax = max(vmax, 1e-12)
    im = ax.imshow(data, cmap=cmap, vmin=-vmax, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            v = data[i, j]
            if not np.isfinite(v):
                continue
            dark = abs(v) / vmax > 0.55  # both ends of RdBu are dark
            star = "*" if marks is not None and bool(marks[i, j]) else ""
            label = fmt.format(v)
            if label.startswith("-") and float(label) == 0:  # no "-0.00"
                label = label[1:]
            ax.text(
                j,
                i,
                label + star,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
                fontweight="bold" if star else "normal",
            )
    return im


def heatmap_figure(table: pd.DataFrame, value: str, title: str = "", alpha: float = 0.05):
    """ROI x regressor heatmap of ``value`` (e.g. ``t``), symmetric colour scale; cells whose
    ``p`` survives Benjamini-Hochberg FDR at ``alpha`` over the whole table are marked ``*``."""
    from scipy.stats import false_discovery_control

    plt = _agg()
    rows = list(dict.fromkeys(table["roi"]))
    cols = list(dict.fromkeys(table["regressor"]))
    pivot = table.pivot(index="roi", columns="regressor", values=value).reindex(
        index=rows, columns=cols
    )
    marks = None
    if "p" in table:
        p = table["p"].to_numpy(np.float64)
        ok = np.isfinite(p)
        q = np.full_like(p, np.nan)
        if ok.any():
            q[ok] = false_discovery_control(p[ok], method="bh")
        sig = table.assign(_sig=q < alpha).pivot(index="roi", columns="regressor", values="_sig")
        marks = sig.reindex(index=rows, columns=cols).to_numpy(dtype=bool)
    fig, ax = plt.subplots(figsize=(2.0 + 0.9 * len(cols), 1.4 + 0.45 * len(rows)))
    im = annotated_heatmap(ax, pivot.to_numpy(np.float64), rows, cols, marks=marks, fmt="{:.1f}")
    fig.colorbar(im, ax=ax, label=value)
    note = f" (* FDR q < {alpha:g} over the table)" if marks is not None else ""
    ax.set_title(title + note)
    return fig


def glass_brain_figure(img, threshold: float, title: str = ""):
    """Glass brain of a thresholded z map; empty, with the threshold stated, when nothing
    survives (:func:`darkcontrol.neuro.glm.plot_thresholded`)."""
    import warnings

    from darkcontrol.neuro.glm import plot_thresholded

    plt = _agg()
    fig = plt.figure(figsize=(8, 3))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*empty mask.*")  # nothing survived
        warnings.filterwarnings("ignore", message=".*vmin.*vmax.*")
        plot_thresholded(img, threshold, title=title, figure=fig)
    return fig


def study_report(
    result,
    path: str | os.PathLike,
    *,
    title: str = "darkcontrol GLM report",
    run_config: Mapping[str, Any] | None = None,
    model_comparison: pd.DataFrame | None = None,
    notes: list[str] | None = None,
) -> Path:
    """Write the HTML report of a :class:`darkcontrol.neuro.study.StudyResult`."""
    from darkcontrol.neuro.design import diagnostics
    from darkcontrol.neuro.glm import participant_effects

    rep = HTMLReport(title)
    for note in [*(notes or []), *getattr(result, "notes", [])]:
        rep.paragraph(note)
    rep.heading("Configuration")
    rep.json({"versions": versions(), "study": result.config, "run": dict(run_config or {})})
    design = result.designs[0][0]
    rep.heading("Design matrix (participant 0, run 0)")
    rep.figure(design_figure(design), "columns: regressors; rows: scans (nilearn)")
    diag = diagnostics(design)
    rep.paragraph(f"condition number (columns normalised): {diag['condition_number']:.3g}")
    vif = diag["vif"].to_frame()
    rep.table(vif, index=True)
    high = vif.index[vif["vif"] > 10].tolist()
    if high:
        rep.paragraph(f"VIF > 10 (collinear): {high}", css="warn")
    rep.heading("ROI x regressor")
    if result.roi_group is not None:
        table, value = result.roi_group, "t"
        rep.paragraph(
            f"one-sample t-tests across {int(table['n'].iloc[0])} participants of the "
            "first-level betas (two-sided p; p_fdr, p_bonferroni over ROI x regressor; d = "
            "mean / sd)"
        )
    else:
        table, value = participant_effects(result.roi_tables[0]), "t"
        rep.paragraph(
            "first level of the single participant (two-sided p; p_fdr, p_bonferroni over "
            "ROI x regressor; r_partial = t / sqrt(t^2 + dof))"
        )
    rep.figure(heatmap_figure(table, value, f"{value} per ROI and regressor"), "")
    rep.table(table.drop(columns=[c for c in ("run",) if c in table]))
    if result.maps:
        rep.heading("Voxelwise maps")
    for name, m in result.maps.items():
        thr = m["threshold"]
        n_vox = int(np.count_nonzero(np.asarray(m["thresholded"].dataobj)))
        survive = f"|z| > {thr:.2f}, {n_vox} voxels" if np.isfinite(thr) else "no voxel survives"
        caption = (
            f"{name} ({m['expression']}): {m['level']}, "
            f"{result.config.get('height_control')} alpha={result.config.get('alpha')}, "
            f"{survive} (the map shows only suprathreshold voxels)"
        )
        rep.figure(glass_brain_figure(m["thresholded"], thr, name), caption)
        peaks = m.get("peaks")
        if peaks is not None and len(peaks):
            rep.paragraph(f"{name}: clusters and peaks (MNI mm; nearest atlas label)")
            rep.table(peaks, digits=2)
    if model_comparison is not None:
        rep.heading("Model comparison")
        rep.table(model_comparison)
    return rep.write(path)
