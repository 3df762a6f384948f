"""The Python examples of README.md and darkcontrol/dmn/README.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "darkcontrol/dmn/README.md")


def _blocks(doc: str) -> list[str]:
    text = (ROOT / doc).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


@pytest.mark.parametrize("doc", DOCS)
def test_readme_python_blocks_run(doc, tmp_path, monkeypatch):
    blocks = _blocks(doc)
    assert blocks, f"{doc} has no python example"
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    namespace: dict = {"__name__": "__readme__"}
    for code in blocks:  # one namespace per document: later blocks use earlier names
        exec(compile(code, doc, "exec"), namespace)
    assert "trace" in namespace and len(namespace["trace"]) > 0
