"""The study scripts' shared arguments: ``--seed`` moves every seed, bad values exit with a message.

(Every claim study's ``--quick`` run, its figure and numbers are checked against the README in
tests/test_claim_studies.py.)"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.mark.slow
def test_seed_moves_every_seed_of_a_study(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "nacc_prediction.py"), "--quick", "--quiet"]
        + ["--out", str(out), "--seed", "7"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    seeds = json.loads((out / "results.json").read_text())["config"]["seeds"]
    assert seeds[0] == 7 and seeds == list(range(7, 7 + len(seeds)))
    meta = json.loads((out / "nacc_prediction.json").read_text())
    assert meta["config"]["seeds"] == seeds


@pytest.mark.slow
def test_scripts_reject_bad_arguments(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "dmn_horizon.py"), "--seeds", "0", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "--seeds must be >= 1" in proc.stderr
    jobs = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "nacc_prediction.py"),
            "--jobs",
            "0",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert jobs.returncode == 2 and "Traceback" not in jobs.stderr
    assert "argument --jobs: must be >= 1, got 0" in jobs.stderr
