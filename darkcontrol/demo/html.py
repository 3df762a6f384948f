"""A small, dependency-free HTML report: sections of text, tables and figures.

Figures are embedded in the HTML as ``data:image/png;base64`` URIs, so ``report.html`` is one
self-contained file: it can be moved, mailed or archived alone and still shows every figure.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from darkcontrol._util import atomic_write_text

_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { border-bottom: 2px solid #345; padding-bottom: .3rem; }
h2 { margin-top: 2.2rem; color: #234; border-bottom: 1px solid #ccd; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }
th, td { border: 1px solid #ccd; padding: .25rem .6rem; text-align: right; }
th { background: #eef1f6; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; border: 1px solid #dde; }
figcaption { font-size: .9rem; color: #555; }
.pass { color: #11772d; font-weight: 600; } .fail { color: #b3261e; font-weight: 600; }
pre { background: #f6f8fa; padding: .8rem; overflow-x: auto; font-size: .85rem; }
.meta { color: #555; font-size: .9rem; }
"""


@dataclass
class Report:
    """Collects sections, then writes one self-contained ``report.html`` into ``out_dir``."""

    out_dir: Path
    title: str
    subtitle: str = ""
    parts: list[str] = field(default_factory=list)
    n_figures: int = 0

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)

    def section(self, title: str, text: str = "") -> None:
        self.parts.append(f"<h2>{html.escape(title)}</h2>")
        if text:
            self.text(text)

    def text(self, text: str) -> None:
        for para in text.strip().split("\n\n"):
            self.parts.append(f"<p>{para}</p>")

    def table(self, df: pd.DataFrame, caption: str = "", floatfmt: str = "{:.3g}") -> None:
        body = df.to_html(
            float_format=lambda x: floatfmt.format(x), border=0, escape=True, na_rep="–"
        )
        if caption:
            body = f"<p class='meta'>{html.escape(caption)}</p>" + body
        self.parts.append(body)

    def figure(self, fig: Any, name: str, caption: str = "") -> str:
        """Embed a matplotlib figure (closed) or the PNG :func:`png_bytes` made of one, as a
        base64 PNG; returns its id."""
        self.n_figures += 1
        fig_id = f"fig{self.n_figures:02d}_{name}"
        png = fig if isinstance(fig, bytes) else png_bytes(fig)
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(
            f"<figure id='{fig_id}'><img src='{uri}' alt='{html.escape(name)}'>{cap}</figure>"
        )
        return fig_id

    def check(self, label: str, ok: bool, detail: str = "") -> None:
        cls, word = ("pass", "PASS") if ok else ("fail", "FAIL")
        self.parts.append(
            f"<p><span class='{cls}'>{word}</span> {html.escape(label)}"
            f"{' — ' + html.escape(detail) if detail else ''}</p>"
        )

    def config(self, config: dict) -> None:
        self.parts.append(f"<pre>{html.escape(json.dumps(config, indent=2, default=str))}</pre>")

    def write(self, name: str = "report.html") -> Path:
        head = (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1><p class='meta'>{html.escape(self.subtitle)}</p>"
        )
        return atomic_write_text(
            self.out_dir / name, head + "\n".join(self.parts) + "</body></html>\n"
        )


def png_bytes(fig: Any) -> bytes:
    """The PNG the report embeds for a matplotlib figure (which is closed)."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
