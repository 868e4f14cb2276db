"""Fixtures of the deploy tests."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def local_servers() -> ModuleType:
    """``deploy/local/servers.py`` (a script, not a package), loaded as a module."""
    spec = importlib.util.spec_from_file_location("local_servers", ROOT / "deploy/local/servers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["local_servers"] = module
    spec.loader.exec_module(module)
    return module
