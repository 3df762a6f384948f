"""scripts/dmn_node_hypotheses.py on --quick: the design is decorrelated and the results format is
kept (tests/test_claim_studies.py checks its claims and controls against the README)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "dmn_node_hypotheses.py"


def run_study(out: Path, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--quiet", "--out", str(out), "--seed", "0"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == f"wrote {out / 'dmn_node_hypotheses.png'}"  # --quiet
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_study(tmp_path_factory.mktemp("nodes"), "--quick")


def test_results_format_and_design_checks(results):
    assert results["study"] == "dmn_node_hypotheses" and results["version"]
    assert results["config"]["seeds"] == list(range(8))
    assert results["config"]["region_map"] == "hypotheses"
    for c in results["claims"]:
        assert c["n"] == 8 and c["ci"][0] <= c["effect"] <= c["ci"][1]
        assert c["statistic"] in ("paired_t", "bootstrap_mean")
    checks = results["checks"]
    # exact MDPs: revaluations change values only, swaps change the policy only
    assert checks["exact"]["r_value_policy"] == pytest.approx(-1.0)
    for row in checks["exact"]["changes"]:
        assert (row["value_change"] == 0) != (row["policy_change"] == 0)
    # the agents' own policy and value changes are decorrelated (0.93 in navigation)
    assert abs(checks["agents_policy_value_r"]["mean"]) < 0.2
    # the default map's rTPJ (|Q - y|) tracks value more than policy: the reason for the map
    assert not checks["figure4_map"]["rTPJ_policy_over_value"]["holds"]


def test_bad_arguments_exit_2_without_a_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--seeds", "1", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--seeds must be >= 2" in proc.stderr


def _numbers(cell: str) -> list[float]:
    return [float(x.replace("−", "-")) for x in re.findall(r"[+−-]\d+\.\d+", cell)]


@pytest.mark.slow
def test_the_default_run_gives_the_readme_table(tmp_path):
    """The README's figures are the default run's: effects, CIs and every control's outcome."""
    res = run_study(tmp_path)
    got = {c["name"]: c for c in res["claims"]}
    text = (ROOT / "README.md").read_text()
    for line in text[text.index("## Claims") :].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or "dmn_node_hypotheses" not in cells[1]:
            continue
        c = got[cells[0].strip("`")]
        effect, lo, hi = _numbers(cells[3])
        assert (c["effect"], *c["ci"]) == pytest.approx((effect, lo, hi), abs=6e-4)
        assert c["holds"] == (cells[4] == "yes")
        controls = {k["name"]: k for k in c["controls"]}
        for m in re.finditer(r"`(\w+)`\s+(fails|\*\*does not fail\*\*)", cells[5]):
            assert controls[m.group(1)]["holds"] == (m.group(2) != "fails"), (c["name"], m[0])
