"""Shared fixture: a study script loaded as a module, so that its parts can be tested fast."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load(name: str):
    """``scripts/<name>.py`` as the module ``_study_<name>`` (once per process; the script puts
    scripts/ on sys.path itself for its helpers)."""
    key = f"_study_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, SCRIPTS / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[key] = mod
        spec.loader.exec_module(mod)
    return sys.modules[key]


@pytest.fixture(scope="session")
def load_script():
    """``load_script("dmn_learner")`` -> the script's module."""
    return _load
