"""Every script under scripts/ takes ``--out --seed --quick --quiet``, has a real ``--help``
(its docstring and a line of help per option), and its ``--quick`` run succeeds and writes its
outputs into ``--out``."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
HELPERS = {"dmn_common", "script_args"}  # imported by the scripts, not run
NAMES = sorted(p.stem for p in SCRIPTS.glob("*.py") if p.stem not in HELPERS)
# the claim studies' --quick runs (the scripts that write results.json) are checked, outputs
# included, in test_claim_studies.py
QUICK = [n for n in NAMES if "write_results(" not in (SCRIPTS / f"{n}.py").read_text()]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _run(name, *args, cwd=None, timeout=300):
    return subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=ENV,
    )


def test_every_script_is_covered():
    assert len(NAMES) >= 13 and "two_step_signatures" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_help_documents_the_common_options_and_every_option(name):
    proc = _run(name, "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout
    doc = ast.get_docstring(ast.parse((SCRIPTS / f"{name}.py").read_text()))
    assert doc.splitlines()[0] in text  # the docstring is the description
    for flag in ("--out", "--seed", "--quick", "--quiet"):
        assert flag in text
    assert "{'" not in text  # no raw dict (an unescaped % in an option's help)
    # every option has a help line: argparse prints 'FLAG METAVAR' then text on the same or
    # the next line; an option without help leaves the flag alone on its line
    lines = text.splitlines()
    options = [i for i, line in enumerate(lines) if line.startswith("  -")]
    assert len(options) >= 5
    for i in options:
        s = lines[i].strip()
        if len(s.split()) <= 2:  # the help text is on the next line, indented further
            follow = lines[i + 1] if i + 1 < len(lines) else ""
            assert follow.startswith("     "), f"{name}: {s!r} has no help"


@pytest.mark.slow
@pytest.mark.parametrize("name", QUICK)
def test_quick_run_writes_into_out(name, tmp_path):
    out = tmp_path / "out"
    proc = _run(name, "--quick", "--quiet", "--seed", "1", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written, f"{name} --quick wrote nothing into --out"
    assert not [p for p in tmp_path.iterdir() if p.name != "out"]  # nothing beside --out
    assert str(out) in proc.stdout  # the script says where its outputs are
