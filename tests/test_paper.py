"""darkcontrol.paper: the article's sections, and the check of section citations."""

import pytest

from darkcontrol.paper import SECTIONS, check_text, cite, section


def test_sections_published_numbering_and_latex_source():
    numbered = [s.number for s in SECTIONS if s.number]
    assert numbered == [
        "1", "2", "3", "3.1", "3.2", "3.3", "3.4", "4", "4.1", "4.2", "4.3",
        "5", "5.1", "5.2", "5.3", "5.4", "6",
    ]  # fmt: skip
    assert section("4.3").title == "Summary and hypotheses for future studies"
    assert section("4.3").latex_title == "Putting everything together"
    assert section("2").latex_number == "1.1"  # a subsection of the Introduction in the LaTeX
    assert section("the sentinel account") is section("Sentinel hypothesis") is section("5.3")
    assert section("Value approximation and the policy matrix").parent == "4.2"
    assert cite("3.3") == '§3.3 "The hippocampus: memory, space, and experience replay"'
    with pytest.raises(KeyError, match="no section '7'"):
        section("7")


@pytest.mark.parametrize(
    "text, expect",
    [
        ("hippocampal replay (§2.4)", "§2.4 is no section"),
        ("recombination (*déjà vu*), §5", "'deja vu' is discussed in §4.3"),
        ("the sentinel (§4)", "'sentinel' is discussed in §5.3"),
        ('see "Summary and hypotheses for future study"', "not a section title"),
        ('"The hippocampus: memory and replay"', "not a section title"),
    ],
)
def test_wrong_citations_are_found(text, expect):
    problems = check_text(text)
    assert len(problems) == 1 and expect in problems[0], problems


@pytest.mark.parametrize(
    "text",
    [
        '§4.3 "Summary and hypotheses for future studies"',
        "recombination (déjà vu; §4.3) and hippocampal replay (§3.3, §4.2)",
        "the sentinel (§5.3); predictive coding (§5.1)",
        "Dyna-Q (Sutton & Barto 2018, §8.2); prioritised sweeping (S&B 2018,\n§8.4)",
        'section "Reinforcement learning control: a process model for DMN function"',
        'the LaTeX title "Putting everything together"',
        "hippocampus (§4: the process model)",  # a section enclosing 4.2
    ],
)
def test_right_citations_pass(text):
    assert check_text(text) == []


def test_line_numbers_of_problems():
    assert check_text("ok\nok\n§9 here")[0].startswith("line 3:")


def test_every_section_citation_in_the_code_and_docs_matches_the_article():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    skip = {".venv", ".git", "build", "dist", "node_modules", "dmn_output", "demo_output"}
    problems, n_files = [], 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.suffix not in (".py", ".md") or not path.is_file():
            continue
        if any(p in skip or p.endswith(".egg-info") for p in rel.parts):
            continue
        if rel == Path("tests/test_paper.py"):  # plants wrong citations on purpose
            continue
        n_files += 1
        problems += [f"{rel} {p}" for p in check_text(path.read_text(errors="replace"))]
    assert n_files > 50
    assert not problems, "\n".join(problems)
