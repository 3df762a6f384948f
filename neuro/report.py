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
        """p-value columns (``p``, ``p_*``) with two significant digits (3.1e-04, never
        0.000), the other numbers rounded to ``digits``."""
        from darkcontrol.neuro.glm import format_p

        shown = df.round(digits)
        for c in df.columns:
            if (c == "p" or str(c).startswith("p_")) and pd.api.types.is_numeric_dtype(df[c]):
                shown[c] = df[c].map(format_p)
        self.parts.append(shown.to_html(index=index, border=0, na_rep="n/a"))

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


def heatmap_figure(table: pd.DataFrame, value: str, title: str = ""):
    """ROI x regressor heatmap of ``value`` (e.g. ``t``), symmetric colour scale."""
    plt = _agg()
    pivot = table.pivot(index="roi", columns="regressor", values=value)
    pivot = pivot.reindex(index=list(dict.fromkeys(table["roi"])))
    data = pivot.to_numpy(np.float64)
    lim = float(np.nanmax(np.abs(data))) if np.isfinite(data).any() else 1.0
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * pivot.shape[1], 1.0 + 0.45 * pivot.shape[0]))
    im = ax.imshow(data, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(pivot.shape[1]), pivot.columns, rotation=45, ha="right")
    ax.set_yticks(range(pivot.shape[0]), pivot.index)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(j, i, f"{data[i, j]:.1f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label=value)
    ax.set_title(title)
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
        caption = (
            f"{name} ({m['expression']}): {m['level']}, "
            f"{result.config.get('height_control')} alpha={result.config.get('alpha')}, "
            f"|z| > {thr:.2f}, {n_vox} voxels"
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
