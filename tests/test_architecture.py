"""Architecture checks of issue 11: one runner, one definition of each constant, the DMN is an
Agent, and the layers of the package (nothing imports upward)."""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import darkcontrol

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("darkcontrol", "agents", "envs", "neuro")

# the one runner: darkcontrol/simulation.py, its two private loops
RUNNER = {
    ("darkcontrol/simulation.py", "_run_episodes"),
    ("darkcontrol/simulation.py", "_run_schedule"),
}
# loops over an environment that are not agent runners, each with its reason:
NOT_AGENT_RUNNERS = {
    # the behavioural models' generative simulation (a likelihood model, not an Agent)
    ("neuro/likelihood.py", "simulate"),
    # B agents in lockstep as one tensor program (darkcontrol.batched), checked against the
    # reference agents run by darkcontrol.simulate in tests/test_batched_*.py
    ("darkcontrol/batched/dmn.py", "run_schedule"),
    # the chance level of the demo's learning curve: a uniformly random policy, no agent
    ("darkcontrol/demo/report.py", "chance_return"),
}


@functools.cache
def _sources() -> tuple[tuple[str, str], ...]:
    return tuple(
        (path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
        for d in PACKAGE_DIRS
        for path in sorted((ROOT / d).rglob("*.py"))
    )


def _receiver(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _loops_over_an_environment(fn: ast.AST) -> bool:
    """A loop stepping an environment (``env.step(...)``, or a local alias of it), or a loop
    calling an agent's ``act`` and ``observe``: the shape of a runner."""
    aliases = set()
    for n in ast.walk(fn):
        if not isinstance(n, ast.Assign):
            continue
        for target in n.targets:  # x = env.step, or a, x = ..., env.step
            pairs = [(target, n.value)]
            if isinstance(target, ast.Tuple) and isinstance(n.value, ast.Tuple):
                pairs = list(zip(target.elts, n.value.elts))
            for t, v in pairs:
                if isinstance(t, ast.Name) and isinstance(v, ast.Attribute) and v.attr == "step":
                    if "env" in _receiver(v.value).lower():
                        aliases.add(t.id)
    for loop in (n for n in ast.walk(fn) if isinstance(n, (ast.For, ast.While))):
        calls = [c for c in ast.walk(loop) if isinstance(c, ast.Call)]
        for c in calls:
            f = c.func
            if isinstance(f, ast.Attribute) and f.attr == "step":
                if "env" in _receiver(f.value).lower() or _receiver(f.value) == "world":
                    return True
            if isinstance(f, ast.Name) and f.id in aliases:
                return True
        attrs = {c.func.attr for c in calls if isinstance(c.func, ast.Attribute)}
        if {"act", "observe"} <= attrs:
            return True
    return False


def test_simulate_is_the_only_loop_over_episodes_and_schedules():
    found = set()
    for rel, text in _sources():
        for fn in ast.walk(ast.parse(text)):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if _loops_over_an_environment(fn):
                    found.add((rel, fn.name))
    assert RUNNER <= found, "the runner's loops are not where this test looks for them"
    assert found - RUNNER - NOT_AGENT_RUNNERS == set()


def _all_modules():
    names = ["darkcontrol"]
    for info in pkgutil.walk_packages(darkcontrol.__path__, "darkcontrol."):
        names.append(info.name)
    for sub in ("agents", "envs", "neuro"):
        pkg = importlib.import_module(f"darkcontrol.{sub}")
        names += [i.name for i in pkgutil.walk_packages(pkg.__path__, f"darkcontrol.{sub}.")]
    return sorted(set(names))


OLD_RUNNERS = ("run_episodes", "run_dmn_episodes", "run_schedule", "simulate_open_maze")


def test_no_module_exports_another_public_runner():
    seen = []
    for name in _all_modules():
        if name.startswith("darkcontrol.cli") and name.endswith("__main__"):
            continue
        try:
            mod = importlib.import_module(name)
        except ImportError as err:  # optional extras (e.g. a GPU-only module) may be missing
            pytest.skip(f"cannot import {name}: {err}")
        for attr in OLD_RUNNERS:
            if callable(getattr(mod, attr, None)):
                seen.append(f"{name}.{attr}")
        for attr in dir(mod):
            obj = getattr(mod, attr)
            if isinstance(obj, type) and obj.__module__ == name and attr != "BatchedLearner":
                for meth in ("run_episodes", "run_dmn_episodes"):
                    if callable(getattr(obj, meth, None)):
                        seen.append(f"{name}.{attr}.{meth}")
    assert seen == [], f"runners besides darkcontrol.simulate: {seen}"
    assert darkcontrol.simulate is importlib.import_module("darkcontrol.simulation").simulate


def test_the_runner_never_asks_an_agent_its_name():
    """No comparison with a string literal, no "dmn" outside docstrings, no DMNAgent."""
    tree = ast.parse((ROOT / "darkcontrol" / "simulation.py").read_text(encoding="utf-8"))
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            assert "dmn" not in node.value.lower(), node.value
        if isinstance(node, ast.Name):
            assert node.id != "DMNAgent"
        if isinstance(node, ast.Compare):
            names = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            assert "name" not in names, ast.unparse(node)


# -- one definition of each constant / helper -------------------------------------------------
DEFINED_ONCE = {
    # name: the one module allowed to define it
    "POLICIES": "darkcontrol/constants.py",
    "MODEL_MODES": "darkcontrol/constants.py",
    "DTYPE_NAMES": "darkcontrol/constants.py",
    "OFFLINE_SOURCES": "darkcontrol/constants.py",
    "LESIONS": "darkcontrol/constants.py",
    "PRIORITIES": "darkcontrol/constants.py",
    "ENGAGEMENT": "darkcontrol/constants.py",
    "RECOMBINE": "darkcontrol/constants.py",
    "ASSOCIATION": "darkcontrol/constants.py",
    "DTYPES": "darkcontrol/_torch.py",
    "ACCOUNTS": "darkcontrol/dmn/config.py",
}
FUNCTIONS_ONCE = {
    "resolve_device": "darkcontrol/_torch.py",
    "resolve_dtype": "darkcontrol/_torch.py",
    "check_choice": "darkcontrol/_util.py",
    "progress": "darkcontrol/_util.py",
    "simulate": "darkcontrol/simulation.py",
}
CLASSES_ONCE = {
    "Clock": "darkcontrol/clock.py",
    "Block": "darkcontrol/clock.py",
    "Schedule": "darkcontrol/clock.py",
    "EpisodeLog": "agents/base.py",
    "DMNConfig": "darkcontrol/dmn/config.py",
}
# left for the owners of these files (issue 11, reported): a second DTYPES tuple in the sweep
# spec (darkcontrol/sweep/*)
KNOWN_LEFT = {("DTYPES", "darkcontrol/sweep/spec.py")}


@functools.cache
def _definitions():
    out: dict[str, list[str]] = {}
    for rel, text in _sources():
        tree = ast.parse(text)
        for node in tree.body:  # module level: constants, functions, classes
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        out.setdefault(t.id, []).append(rel)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                out.setdefault(node.target.id, []).append(rel)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                out.setdefault(node.name, []).append(rel)
    return out


@pytest.mark.parametrize(
    "name, home", sorted({**DEFINED_ONCE, **FUNCTIONS_ONCE, **CLASSES_ONCE}.items())
)
def test_each_constant_and_helper_is_defined_once(name, home):
    where = [w for w in _definitions().get(name, []) if (name, w) not in KNOWN_LEFT]
    assert where == [home], f"{name} defined in {where}, expected only in {home}"


TD_FIELDS = ("alpha", "gamma", "epsilon", "beta", "q_init", "policy")


def test_the_td_block_is_declared_once():
    """The (alpha, gamma, epsilon, beta, q_init, policy) block of hyper-parameters is one
    dataclass (agents.tabular.TDConfig's base), inherited by every config that has it."""
    declaring = []
    for rel, text in _sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                own = {
                    s.target.id
                    for s in node.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                }
                if set(TD_FIELDS) <= own:
                    declaring.append(f"{rel}:{node.name}")
    assert declaring == ["darkcontrol/hyperparams.py:TDParams"], declaring


# -- the DMN is an Agent ----------------------------------------------------------------------
def test_make_agent_dmn_returns_an_agent():
    from darkcontrol.agents import Agent, make_agent
    from darkcontrol.dmn import DMNAgent
    from darkcontrol.simulation import make_env

    env = make_env("darkcontrol/DynaMaze-v0")
    dmn = make_agent("dmn", env, agent="dyna_q", account="sentinel", seed=0)
    assert isinstance(dmn, Agent) and isinstance(dmn, DMNAgent)
    assert dmn.agent.name == "dyna_q" and dmn.config.account == "sentinel"
    assert dmn.config.w_replay == 1.0 and dmn.supports_offline


def test_four_presets_in_the_code_and_the_docs():
    from darkcontrol.dmn import ACCOUNTS

    assert sorted(ACCOUNTS) == ["full", "predictive_coding", "semantic", "sentinel"]
    readme = (ROOT / "darkcontrol" / "dmn" / "README.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| `(\w+)` \|", readme.split("## The accounts as presets")[1], re.M)
    assert sorted(set(table) & set(ACCOUNTS)) == sorted(ACCOUNTS)
    doc = importlib.import_module("darkcontrol.dmn").__doc__
    assert all(f'"{a}"' in doc for a in ACCOUNTS)


def test_one_transition_store_under_every_replay_memory():
    from darkcontrol.agents.replay_memory import (
        PrioritizedReplayMemory,
        ReplayMemory,
        TransitionStore,
    )
    from darkcontrol.dmn.memory import ExperienceMemory

    for cls in (ReplayMemory, PrioritizedReplayMemory, ExperienceMemory):
        assert issubclass(cls, TransitionStore)
        for name in ("add", "get", "__len__"):
            assert getattr(cls, name) is getattr(TransitionStore, name) or name == "add"
    mem = ExperienceMemory(2, seed=0)
    for k in range(3):
        mem.add(k, 0, float(k), k + 1, False)
    assert len(mem) == 2 and mem.get(0) == (2, 0, 2.0, 3, False)  # the oldest overwritten
