"""Every claim study in the README's Claims table, run on its ``--quick`` configuration.

For each study (a ``scripts/<study>.py`` named in the table's second column) the test runs
``--quick --quiet --seed 0`` once and checks its ``results.json`` against the table: the study
reports exactly the claims the table lists; a claim the table marks "yes" holds and one marked
"no" does not; every control marked "fails" does not hold. A control marked "**does not fail**"
is a finding of the default run; ``--quick`` has fewer units and may lack the power to repeat
it, so only the failing direction is checked there (the default-run figures are the README's).
A mechanism removed or broken, or a README that says more than the model produces, turns this
red. The run also checks the outputs every script promises: its figure and numbers in
``--out`` and nothing beside it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTROL = re.compile(r"`(\w+)`\s+(fails|\*\*does not fail\*\*)")


def readme_table() -> dict[str, dict[str, dict]]:
    """study -> claim -> {"holds": bool, "controls_fail": {control: bool}} from the README."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Claims") :]
    section = section[: section.index("\n## ", 1)]
    table: dict[str, dict[str, dict]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        study = re.search(r"`(\w+)\.py`", cells[1]) if len(cells) == 6 else None
        if study is None:
            continue
        controls = {m.group(1): m.group(2) == "fails" for m in CONTROL.finditer(cells[5])}
        table.setdefault(study.group(1), {})[cells[0].strip("`")] = {
            "holds": cells[4] == "yes",
            "controls_fail": controls,
        }
    return table


TABLE = readme_table()


def test_the_table_lists_studies_that_exist():
    assert len(TABLE) >= 1
    writers = {p.stem for p in (ROOT / "scripts").glob("*.py") if "write_results(" in p.read_text()}
    assert writers == set(TABLE), "every script that writes results.json is in the table"
    for study, claims in TABLE.items():
        assert (ROOT / "scripts" / f"{study}.py").is_file(), study
        for name, row in claims.items():
            assert row["controls_fail"], f"{study}: claim {name} lists no control"


@pytest.mark.slow
@pytest.mark.parametrize("study", sorted(TABLE))
def test_quick_run_agrees_with_the_readme(study, tmp_path):
    out = tmp_path / study
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / f"{study}.py")]
        + ["--quick", "--quiet", "--out", str(out), "--seed", "0"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "results.json").read_text())
    assert doc["study"] == study and doc["version"] and doc["config"]
    assert proc.stdout.strip().splitlines()[-1] == f"wrote {out / study}.png"
    assert (out / f"{study}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((out / f"{study}.json").read_text())  # the figure's numbers
    assert meta["numbers"] and meta["darkcontrol_version"] and meta["config"]["seeds"][0] == 0
    assert [p.name for p in tmp_path.iterdir()] == [study], "nothing beside --out"
    got = {c["name"]: c for c in doc["claims"]}
    expected = TABLE[study]
    assert set(got) == set(expected), "the README lists every claim of the study, no more"
    for name, row in expected.items():
        c = got[name]
        assert c["n"] >= 2 and c["ci"][0] <= c["effect"] <= c["ci"][1], (name, c)
        assert c["holds"] == row["holds"], (name, c["effect"], c["ci"], c["p"])
        controls = {k["name"]: k for k in c["controls"]}
        for ctl, must_fail in row["controls_fail"].items():
            assert ctl in controls, (name, ctl)
            if must_fail:
                assert not controls[ctl]["holds"], (name, ctl, controls[ctl])
