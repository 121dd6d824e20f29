"""The package's tests: they run the real vmodem binary (VMODEM_BIN, else the usual search)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
try:
    import vmodem  # noqa: F401
except ImportError:  # from a checkout, not installed
    sys.path.insert(0, str(SRC))


def _plugin_installed() -> bool:
    from importlib.metadata import entry_points

    try:
        group = entry_points(group="pytest11")  # Python 3.10+
    except TypeError:
        return False
    return any(ep.value == "vmodem.pytest_plugin" for ep in group)


# Installed, pytest loads the plugin by its entry point; from the sources, this conftest does.
pytest_plugins = ["pytester"] + ([] if _plugin_installed() else ["vmodem.pytest_plugin"])


@pytest.fixture
def plugin_args() -> List[str]:
    """What a pytester run needs to load the plugin (nothing once it is installed)."""
    return [] if _plugin_installed() else ["-p", "vmodem.pytest_plugin"]


@pytest.fixture(scope="session")
def binary() -> str:
    """The vmodem binary the tests run."""
    from vmodem import find_binary

    return find_binary()
