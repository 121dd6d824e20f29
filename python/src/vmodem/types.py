"""The JSON shapes of the control API (issue 10), as typed dicts.

They follow the API's answers (``docs/control.md``; the server is
``crates/vmodem-tokio/src/control/http.rs``). They are plain dicts at
run time, so a field the API adds later is still there to read; ``total=False`` because a module
that is off, or a fleet module without a serial line, leaves some out.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict, Union


class Registration(TypedDict, total=False):
    """``+CREG``-style registration: ``stat`` 1 home, 5 roaming, 2 searching, 0/3/4 not."""

    stat: int
    act: int
    plmn: str


class Signal(TypedDict, total=False):
    """``AT+CSQ`` values."""

    rssi: int
    ber: int


class Pdp(TypedDict, total=False):
    """One PDP context."""

    cid: int
    active: bool
    address: Optional[str]


class MqttClient(TypedDict, total=False):
    """One of the module's six MQTT clients (``AT+QMTOPEN`` index 0-5)."""

    client: int
    state: str  # closed | opening | open | connecting | connected | disconnecting
    host: Optional[str]
    port: Optional[int]
    in_flight: int
    sent: int
    received: int


class FaultInfo(TypedDict, total=False):
    """A fault as the API returns it."""

    id: int
    kind: str
    params: Dict[str, Any]
    started_ms: int
    duration_ms: Optional[int]
    ends_ms: Optional[int]


class SerialInfo(TypedDict, total=False):
    """Where the module's serial line is: ``pty`` (``path``), ``tcp`` (``addr``) or ``none``."""

    kind: str
    path: str
    addr: str


class ModuleStatus(TypedDict, total=False):
    """``GET /v1/modules/{id}``."""

    id: int
    t_ms: int  # the module's clock when the status was taken
    model: str
    imei: str
    imsi: str
    iccid: str
    power: str  # on | off | booting
    registration: Registration
    signal: Signal
    pdp: List[Pdp]
    mqtt: List[MqttClient]
    faults: List[FaultInfo]
    serial: SerialInfo
    errors: Dict[str, int]  # final error results by code: "ERROR" or the +CME ERROR number


class Event(TypedDict, total=False):
    """One timeline event (``GET /v1/events``; the same shape as ``--trace`` lines).

    ``type`` is ``serial`` (``dir``, ``text``, ``truncated``), ``fault`` (``phase`` start|end,
    ``id``, ``kind``, ``params``, ``duration_ms``), ``scenario``, ``lagged`` (``missed``), and
    more may come; see docs/control.md.
    """

    type: str
    module: int
    t_ms: int
    dir: str
    text: str
    hex: str
    client: int
    packet: str
    pkid: int
    qos: int
    topic: str
    len: int
    size: int
    truncated: int
    phase: str
    id: int
    kind: str
    params: Dict[str, Any]
    duration_ms: int
    missed: int
    source: str


#: What ``Fleet.fault(modules=...)`` accepts: a count, a list of ids, ``"10%"`` or ``"all"``.
ModuleSelection = Union[int, List[int], str]
