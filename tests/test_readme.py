"""The README's command-line section runs as written, in order, in an empty folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def command_line_block() -> str:
    text = README.read_text()
    section = text.split("## Command line", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert match, "no bash block in the README's command-line section"
    return match.group(1)


def test_the_block_uses_only_the_package_and_files_it_makes():
    block = command_line_block()
    assert "--n-scans auto" in block
    assert "demo/sub-01_bold.nii.gz" in block and "demo --quick --out demo/" in block
    assert "[" not in block.replace('["darkcontrol/', "").replace("[0, 5]", "")  # no optionals


@pytest.mark.slow
def test_readme_command_line_section_runs_in_an_empty_folder(tmp_path):
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NILEARN_DATA=str(tmp_path / ".nl"))
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command_line_block()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    for path in (
        "trace.parquet",
        "dmn.parquet",
        "reg/sub-01_task-dynamaze_run-1_design.tsv",
        "demo/report.html",
        "glm/roi_table.tsv",
        "glm/report.html",
        "fits/fits.tsv",
        "sweep/manifest.json",
    ):
        assert (tmp_path / path).exists(), path
    table = pd.read_csv(tmp_path / "glm" / "roi_table.tsv", sep="\t")
    assert {"p_fdr", "p_bonferroni", "n_voxels"} <= set(table.columns)
    assert len(pd.read_parquet(tmp_path / "sweep" / "summary")) == 8
