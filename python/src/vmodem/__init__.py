"""vmodem: a virtual Quectel LTE module (EC25, EG95, EM05, BG96) for pytest and pyserial rigs.

On its serial line (a pseudo-terminal, or TCP) it answers AT commands byte for byte like the real
module, MQTT commands included, and behind them speaks real MQTT to real brokers (one is built
in). This package starts it for your tests::

    import serial, vmodem

    with vmodem.Module(model="ec25") as module:
        line = serial.Serial(module.port, 115200, timeout=2)
        ...                       # your firmware's driver, talking to the module
        host, port = module.broker   # the built-in MQTT broker

With pytest the plugin gives a ``vmodem_module`` fixture; see the README.
"""

from __future__ import annotations

from . import trace, types
from ._binary import find_binary
from .control import Control, Fault, FleetFault
from .errors import (
    ApiError,
    BinaryNotFound,
    ControlUnavailable,
    ModuleExited,
    PortBusy,
    StartError,
    UnknownFaultKind,
    UnsupportedOption,
    VmodemError,
)
from .fleet import Fleet
from .module import Module
from .trace import TraceLine, excerpt

try:
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("vmodem")
    except PackageNotFoundError:  # running from a checkout (python/src on sys.path)
        __version__ = "0.0.0+checkout"
except ImportError:  # pragma: no cover
    __version__ = "0.0.0+checkout"

__all__ = [
    "ApiError",
    "BinaryNotFound",
    "Control",
    "ControlUnavailable",
    "Fault",
    "Fleet",
    "FleetFault",
    "Module",
    "ModuleExited",
    "PortBusy",
    "StartError",
    "TraceLine",
    "UnknownFaultKind",
    "UnsupportedOption",
    "VmodemError",
    "excerpt",
    "find_binary",
]
