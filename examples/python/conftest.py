"""Loads the vmodem pytest plugin when the package is used from the checkout (not installed)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # `import firmware`
try:
    import vmodem  # noqa: F401
except ImportError:  # running from a checkout without `pip install ./python`
    sys.path.insert(0, str(HERE.parents[1] / "python" / "src"))


def _plugin_installed() -> bool:
    from importlib.metadata import entry_points

    try:
        group = entry_points(group="pytest11")  # Python 3.10+
    except TypeError:
        return False
    return any(ep.value == "vmodem.pytest_plugin" for ep in group)


# Installed, pytest loads the plugin by its entry point; from the sources, this conftest does.
pytest_plugins = [] if _plugin_installed() else ["vmodem.pytest_plugin"]
