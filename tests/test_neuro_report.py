"""The GLM report's pieces: p-values never printed as 0, heatmaps on a symmetric scale with
readable cell labels and FDR marks, and a self-contained HTML."""

import re

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from darkcontrol.neuro.report import (  # noqa: E402
    HTMLReport,
    annotated_heatmap,
    format_p,
    heatmap_figure,
)


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0003, "3.0e-04"), (0.049, "0.049"), (0.5, "0.50"), (1e-12, "1.0e-12"), (np.nan, "n/a")],
)
def test_format_p_keeps_significant_digits(p, text):
    assert format_p(p) == text


def test_table_prints_small_p_values_with_exponents():
    rep = HTMLReport("t")
    rep.table(pd.DataFrame({"roi": ["a", "b"], "t": [4.123456, 0.5], "p": [0.0003, 0.61]}))
    html = rep.render()
    assert "3.0e-04" in html and "0.000<" not in html and "4.123" in html


def test_heatmap_is_symmetric_readable_and_marks_fdr_survivors():
    import matplotlib.pyplot as plt

    rows, cols = ["vmPFC", "rTPJ"], ["q", "rpe"]
    table = pd.DataFrame(
        {
            "roi": np.repeat(rows, 2),
            "regressor": cols * 2,
            "t": [8.0, 0.3, -0.2, -6.0],
            "p": [1e-6, 0.7, 0.8, 1e-5],
        }
    )
    fig = heatmap_figure(table, "t", "t per ROI")
    ax = fig.axes[0]
    im = ax.images[0]
    lo, hi = im.get_clim()
    assert lo == -hi == -8.0  # symmetric around 0, the largest |t|
    texts = {t.get_text(): t for t in ax.texts}
    assert set(texts) == {"8.0*", "0.3", "-0.2", "-6.0*"}  # FDR survivors marked
    assert texts["8.0*"].get_color() == "white" and texts["0.3"].get_color() == "black"
    assert ax.get_xlabel() == "regressor" and ax.get_ylabel().startswith("ROI")
    assert "FDR" in ax.get_title()
    plt.close(fig)
    fig, ax = plt.subplots()
    annotated_heatmap(ax, np.array([[np.nan, 1.0]]), ["a"], ["x", "y"], vmax=2.0)
    assert [t.get_text() for t in ax.texts] == ["1.00"]  # NaN cells stay blank
    plt.close(fig)


def test_html_report_embeds_figures():
    import matplotlib.pyplot as plt

    rep = HTMLReport("t")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    rep.figure(fig, "a line")
    html = rep.render()
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"', html)
