"""The package's tests: they run the real vmodem binary (VMODEM_BIN, else the usual search)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
try:
    import vmodem  # noqa: F401
except ImportError:  # from a checkout, not installed
    sys.path.insert(0, str(SRC))

pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    manager = config.pluginmanager
    if not any(manager.has_plugin(name) for name in ("vmodem", "vmodem.pytest_plugin")):
        manager.import_plugin("vmodem.pytest_plugin")


@pytest.fixture(scope="session")
def binary() -> str:
    """The vmodem binary the tests run."""
    from vmodem import find_binary

    return find_binary()
