"""Loads the vmodem pytest plugin when the package is used from the checkout (not installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # `import firmware`
try:
    import vmodem  # noqa: F401
except ImportError:  # running from a checkout without `pip install ./python`
    sys.path.insert(0, str(HERE.parents[1] / "python" / "src"))


def pytest_configure(config: pytest.Config) -> None:
    manager = config.pluginmanager
    if not any(manager.has_plugin(name) for name in ("vmodem", "vmodem.pytest_plugin")):
        manager.import_plugin("vmodem.pytest_plugin")
