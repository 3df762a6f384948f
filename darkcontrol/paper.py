"""The sections of the paper, so that every citation in the code and docs can be checked.

Dohmatob, E., Dumas, G. & Bzdok, D. (2020). Dark control: The default mode network as a
reinforcement learning agent. Human Brain Mapping 41(12), 3318-3341. doi:10.1002/hbm.25019.

:data:`SECTIONS` lists the article's sections with the numbers and titles of the published
article (as the project's issue 13 and DESIGN.md give them), and, for each, the number and
title in the authors' LaTeX source (GitHub ``banilo/darkcontrol``, ``paper/paper.tex``, commit
77ef921416b0954177ee5ffa0656ee570d6c2071), which is an earlier version: there "Towards a formal
account of default mode function" is subsection 1.1 of the Introduction (so every later
section number is one lower), the summary of section 4 is titled "Putting everything together"
and the subsections of "Relation to existing accounts" are "Predictive coding hypothesis",
"Semantic hypothesis", "Sentinel hypothesis" and "The free-energy principle and active
inference". The unnumbered sub-subsections of the LaTeX source are listed too (cited by title).

Cite a section by its title, optionally with its published number: ``§4.3 "Summary and
hypotheses for future studies"`` (:func:`cite`). :func:`check_text` finds the citations in a
text (``§N``, ``§N.M`` and quoted titles) and returns what disagrees with this list: numbers
that are no section, quoted titles that are no section's, and numbers cited next to a topic
that the cited section does not discuss (:data:`TOPICS`, e.g. the hippocampus is in 3.3, 4.2
and 4.3, *deja vu* in 4.3; code spans in backticks are not prose and are skipped).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

REFERENCE = (
    "Dohmatob, E., Dumas, G. & Bzdok, D. (2020). Dark control: The default mode network as a "
    "reinforcement learning agent. Human Brain Mapping 41(12), 3318-3341. doi:10.1002/hbm.25019"
)
LATEX_SOURCE = (
    "https://github.com/banilo/darkcontrol/blob/77ef921416b0954177ee5ffa0656ee570d6c2071/"
    "paper/paper.tex"
)


@dataclass(frozen=True)
class Section:
    """One section: published number and title, and number and title in the LaTeX source."""

    number: str | None  #: published number ("4.3"); None for unnumbered sub-subsections
    title: str
    latex_number: str | None = None
    latex_title: str | None = None
    parent: str | None = None  #: number of the enclosing section

    @property
    def titles(self) -> tuple[str, ...]:
        return (self.title,) if not self.latex_title else (self.title, self.latex_title)


SECTIONS: tuple[Section, ...] = (
    Section("1", "Introduction", "1", "Introduction"),
    Section(
        "2",
        "Towards a formal account of default mode function: higher-order control of the organism",
        "1.1",
        "Towards a formal account of default mode function: higher-order control of the organism",
    ),
    Section(
        "3",
        "Known neurobiological properties of the DMN",
        "2",
        "Known neurobiological properties of the default mode network",
    ),
    Section(
        "3.1",
        "The posteromedial cortex: global monitoring and information integration",
        "2.1",
        parent="3",
    ),
    Section(
        "3.2",
        "The prefrontal cortex: action consideration and stimulus-value association",
        "2.2",
        parent="3",
    ),
    Section("3.3", "The hippocampus: memory, space, and experience replay", "2.3", parent="3"),
    Section(
        "3.4",
        "The right and left TPJ: prediction error signaling and world semantics",
        "2.4",
        parent="3",
    ),
    Section("4", "Reinforcement learning control: a process model for DMN function", "3"),
    Section("4.1", "Markov decision processes", "3.1", parent="4"),
    Section(None, "Accumulated rewards and policies", parent="4.1"),
    Section("4.2", "The components of reinforcement learning in the DMN", "3.2", parent="4"),
    Section(None, "Optimal behavior and the Bellman equation", parent="4.2"),
    Section(None, "Value approximation and the policy matrix", parent="4.2"),
    Section(None, "Self-training and the loss function", parent="4.2"),
    Section(None, "Optimal control via stochastic gradient descent in the DMN", parent="4.2"),
    Section(None, "Does the hippocampus subserve Monte Carlo sampling?", parent="4.2"),
    Section(
        "4.3",
        "Summary and hypotheses for future studies",
        "3.3",
        "Putting everything together",
        parent="4",
    ),
    Section("5", "Relation to existing accounts", "4", "Relation to existing accounts"),
    Section("5.1", "Predictive coding", "4.1", "Predictive coding hypothesis", parent="5"),
    Section("5.2", "The semantic account", "4.2", "Semantic hypothesis", parent="5"),
    Section("5.3", "The sentinel account", "4.3", "Sentinel hypothesis", parent="5"),
    Section(
        "5.4",
        "A note on the free-energy principle and active inference",
        "4.4",
        "The free-energy principle and active inference",
        parent="5",
    ),
    Section("6", "Conclusion", "5", "Conclusion"),
)

#: topic (a lower-case word stem found on the line of a citation) -> published sections that
#: discuss it; a ``§`` citation on a line that names the topic must cite one of them or a
#: section enclosing one (e.g. "§4" for 4.2)
TOPICS: dict[str, tuple[str, ...]] = {
    "hippocamp": ("3.3", "4.2", "4.3", "5.2", "5.4"),
    "deja vu": ("4.3",),
    "sentinel": ("5.3",),
    "predictive coding": ("5.1",),
    "semantic": ("3.4", "5.2"),
    "node hypothes": ("4.3",),
    "free-energy": ("5.4",),
    "dark room": ("5.4",),
    "autopilot": ("4.3",),
    "monte carlo": ("4.2",),
    "horizon": ("4.1", "5.1", "5.3"),
}

#: names that, when they are the nearest author before a ``§``, make it a citation of another
#: work (Sutton & Barto's book is cited by section throughout the agents)
OTHER_WORKS = ("Barto", "S&B", "Sutton")
PAPER_AUTHORS = ("Dohmatob", "Bzdok", "Dumas", "the paper", "paper")

_BY_NUMBER = {s.number: s for s in SECTIONS if s.number}
_CITE = re.compile(r"§\s?(\d+(?:\.\d+)?)")
_QUOTED = re.compile(r"[\"“]([A-Z][^\"“”\n]{5,120}?)[\"”]")


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("–", "-").replace("—", "-").replace("’", "'")
    return re.sub(r"\s+", " ", text).strip().lower()


_TITLES = {_norm(t): s for s in SECTIONS for t in s.titles}


def section(key: str) -> Section:
    """A section by published number ("4.3") or by a title (published or LaTeX)."""
    if key in _BY_NUMBER:
        return _BY_NUMBER[key]
    found = _TITLES.get(_norm(key))
    if found is None:
        raise KeyError(f"no section {key!r}; numbers: {sorted(_BY_NUMBER)}; or a title of SECTIONS")
    return found


def cite(key: str) -> str:
    """``§4.3 "Summary and hypotheses for future studies"`` (the title alone if unnumbered)."""
    s = section(key)
    return f'§{s.number} "{s.title}"' if s.number else f'"{s.title}"'


def _enclosing(number: str) -> set[str]:
    out = {number}
    s = _BY_NUMBER.get(number)
    while s is not None and s.parent:
        out.add(s.parent)
        s = _BY_NUMBER.get(s.parent)
    return out


def _looks_like_title(quoted: str) -> Section | None:
    """The section whose title the quoted text starts like (its first three words)."""
    q = _words(quoted)
    for t, s in _TITLES.items():
        words = _words(t)
        if len(words) >= 3 and q[:3] == words[:3]:
            return s
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9-]+", _norm(text))


def _other_work(text: str, pos: int) -> bool:
    """Whether the citation at ``pos`` is of another work: the nearest author named in the
    120 characters before it is one of :data:`OTHER_WORKS` (e.g. Sutton & Barto's book)."""
    before = text[max(0, pos - 120) : pos]
    best, other = -1, False
    for name in (*OTHER_WORKS, *PAPER_AUTHORS):
        k = before.rfind(name)
        if k > best:
            best, other = k, name in OTHER_WORKS
    return other


def paper_citations(text: str) -> list[tuple[int, str]]:
    """(line, number) of every ``§N`` / ``§N.M`` in ``text`` that cites the paper."""
    out = []
    for m in _CITE.finditer(text):
        if not _other_work(text, m.start()):
            out.append((text.count("\n", 0, m.start()) + 1, m.group(1)))
    return out


def check_text(text: str) -> list[str]:
    """Problems with the section citations in ``text``, one string per problem (line: what)."""
    problems = []
    lines = text.splitlines()
    by_line: dict[int, list[str]] = {}
    for i, n in paper_citations(text):
        by_line.setdefault(i, []).append(n)
        if n not in _BY_NUMBER:
            problems.append(f"line {i}: §{n} is no section of the article")
    for i, numbers in sorted(by_line.items()):
        # the line's prose: code spans (`sentinel=False`) name settings, not topics
        low = _norm(re.sub(r"`[^`]*`", " ", lines[i - 1])) if i <= len(lines) else ""
        cited = {n for n in numbers if n in _BY_NUMBER}
        for topic, where in TOPICS.items():
            allowed = set().union(*(_enclosing(w) for w in where))
            if topic in low and cited and not cited & allowed:
                problems.append(
                    f"line {i}: {topic!r} is discussed in "
                    f"{', '.join('§' + w for w in where)}, cited {sorted(cited)}"
                )
    for i, line in enumerate(lines, 1):
        for quoted in _QUOTED.findall(line):
            if _norm(quoted) in _TITLES:
                continue
            like = _looks_like_title(quoted)
            if like is not None:
                problems.append(
                    f"line {i}: {quoted!r} is not a section title (did you mean {like.title!r}?)"
                )
    return problems
