"""vmodem.Module's control-API methods against the real API (issue 10).

Pending: they are skipped, with the reason, until the binary has ``vmodem run --control``; they
are written to the team's draft so that they only need running (and small fixes) when it lands.
"""

from __future__ import annotations

import threading
import time
from typing import List

import pytest
import serial  # type: ignore[import-untyped,unused-ignore]

import vmodem

pytestmark = pytest.mark.vmodem_requires("--control", reason="the control API of issue 10")


def _wait_booted(module: vmodem.Module) -> "serial.Serial":
    port = serial.Serial(module.port, 115200, timeout=0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        port.write(b"AT\r")
        if b"OK\r\n" in port.read(64):
            return port
    pytest.fail("the module did not answer AT")


def test_status_shows_the_module(vmodem_module: vmodem.Module) -> None:
    with _wait_booted(vmodem_module):
        status = vmodem_module.status()
    assert status["id"] == 0 and status["model"] == "ec25" and status["power"] == "on"
    assert len(status["imei"]) == 15
    assert status["serial"] == {"kind": "pty", "path": vmodem_module.pty}
    assert all(c["state"] == "closed" for c in status["mqtt"]), status["mqtt"]
    assert vmodem_module.control.startswith("http://127.0.0.1:")


def test_a_fault_is_listed_until_it_ends(vmodem_module: vmodem.Module) -> None:
    with _wait_booted(vmodem_module) as port:
        fault = vmodem_module.fault("signal", rssi=5, ber=0)
        assert fault.kind == "signal" and fault.active()
        port.write(b"AT+CSQ\r")
        time.sleep(0.2)
        assert b"+CSQ: 5,0\r\n" in port.read(200)
        assert fault.end() is True
        assert not fault.active() and vmodem_module.faults() == []
        assert fault.end() is False  # already over: not an error


def test_a_fault_with_a_duration_ends_by_itself(vmodem_module: vmodem.Module) -> None:
    with _wait_booted(vmodem_module):
        fault = vmodem_module.fault("signal", rssi=3, duration=0.3)
        assert fault.info["duration_ms"] == 300
        time.sleep(0.6)
        assert not fault.active()


def test_clear_faults_ends_them_all(vmodem_module: vmodem.Module) -> None:
    with _wait_booted(vmodem_module):
        vmodem_module.fault("signal", rssi=3)
        vmodem_module.fault("slow", delay_ms=10)
        assert len(vmodem_module.faults()) == 2
        vmodem_module.clear_faults()
        assert vmodem_module.faults() == []


def test_an_unknown_fault_kind_lists_the_kinds(vmodem_module: vmodem.Module) -> None:
    with pytest.raises(vmodem.UnknownFaultKind) as e:
        vmodem_module.fault("netwrk_loss")
    assert e.value.status == 400
    assert {"network_loss", "pdp_deact", "reset"} <= set(e.value.kinds)
    assert "network_loss" in str(e.value)


def test_events_show_the_serial_line_as_it_happens(vmodem_module: vmodem.Module) -> None:
    port = _wait_booted(vmodem_module)
    seen: List[vmodem.types.Event] = []

    def watch() -> None:
        for event in vmodem_module.events(idle_timeout=3):
            seen.append(event)
            if event.get("type") == "serial" and "CGMR" in event.get("text", ""):
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(0.3)  # the stream is open
    with port:
        port.write(b"AT+CGMR\r")
        watcher.join(5)
    assert any(e.get("type") == "serial" and e.get("dir") == "host_to_module" for e in seen), seen
