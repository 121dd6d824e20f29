"""vmodem.Module's control-API methods against the real API (`vmodem run --control`, issue 10).

The fault kinds used here act in the core on their own (``urc`` writes its text, ``slow`` holds
answers), so these tests check the client, not the other helpers' fault effects; those are
tested through the example firmware (examples/python).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import List

import pytest
import serial  # type: ignore[import-untyped,unused-ignore]

import vmodem
from vmodem.control import Control

pytestmark = pytest.mark.vmodem_requires("--control", reason="the control API of issue 10")


def _wait_booted(module: vmodem.Module) -> "serial.Serial":
    port = serial.Serial(module.port, 115200, timeout=0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        port.write(b"AT\r")
        if b"OK\r\n" in port.read(64):
            return port
    pytest.fail("the module did not answer AT")


def _read_for(port: "serial.Serial", seconds: float) -> bytes:
    got = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got += port.read(port.in_waiting or 1)
    return got


def test_status_shows_the_module(vmodem_module: vmodem.Module) -> None:
    with _wait_booted(vmodem_module):
        status = vmodem_module.status()
    assert status["id"] == 0 and status["model"] == "ec25" and status["power"] == "on"
    assert len(status["imei"]) == 15 and status["imei"].isdigit()
    assert status["serial"] == {"kind": "pty", "path": vmodem_module.pty}
    assert all(c["state"] == "closed" for c in status["mqtt"]), status["mqtt"]
    assert isinstance(status["t_ms"], int) and status["faults"] == []
    assert vmodem_module.control.startswith("http://127.0.0.1:")


def test_a_fault_is_listed_until_it_ends(vmodem_module: vmodem.Module) -> None:
    with _wait_booted(vmodem_module) as port:
        _read_for(port, 0.1)
        fault = vmodem_module.fault("urc", text='+QIND: "csq",5,0')
        assert fault.kind == "urc" and fault.info["params"] == {"text": '+QIND: "csq",5,0'}
        assert fault.info["duration_ms"] is None and fault.active()
        assert _read_for(port, 0.3) == b'\r\n+QIND: "csq",5,0\r\n'
        assert [f["id"] for f in vmodem_module.faults()] == [fault.id]
        assert fault.end() is True
        assert not fault.active() and vmodem_module.faults() == []
        assert fault.end() is False  # already over: not an error


def test_a_fault_with_a_duration_ends_by_itself(vmodem_module: vmodem.Module) -> None:
    with _wait_booted(vmodem_module):
        fault = vmodem_module.fault("slow", delay_ms=10, duration=0.3)
        assert fault.info["duration_ms"] == 300
        assert fault.info["ends_ms"] == fault.info["started_ms"] + 300
        time.sleep(0.6)
        assert not fault.active()


def test_a_fault_as_a_context_manager_ends_at_the_block(vmodem_module: vmodem.Module) -> None:
    with _wait_booted(vmodem_module) as port:
        with vmodem_module.fault("slow", delay_ms=400):
            started = time.monotonic()
            port.write(b"AT\r")
            assert b"OK\r\n" in _read_for(port, 0.8)
            assert time.monotonic() - started >= 0.4
        assert vmodem_module.faults() == []


def test_clear_faults_ends_them_all(vmodem_module: vmodem.Module) -> None:
    with _wait_booted(vmodem_module):
        vmodem_module.fault("urc", text="+QIND: 1")
        vmodem_module.fault("slow", delay_ms=10)
        assert sorted(f["kind"] for f in vmodem_module.faults()) == ["slow", "urc"]
        vmodem_module.clear_faults()
        assert vmodem_module.faults() == []


def test_an_unknown_fault_kind_lists_the_kinds(vmodem_module: vmodem.Module) -> None:
    with pytest.raises(vmodem.UnknownFaultKind) as e:
        vmodem_module.fault("netwrk_loss")
    assert e.value.status == 400 and e.value.kind == "netwrk_loss"
    assert e.value.kinds == ["network_loss", "pdp_deact", "signal", "sim_removed", "dns_fail",
                             "clock", "link", "error", "no_answer", "slow", "urc", "reset",
                             "power_loss"]
    assert str(e.value).startswith("unknown fault kind 'netwrk_loss': use one of network_loss, ")


def test_bad_parameters_get_the_apis_message(vmodem_module: vmodem.Module) -> None:
    with pytest.raises(vmodem.ApiError) as e:
        vmodem_module.fault("network_loss", stat=9)
    assert e.value.status == 400 and not isinstance(e.value, vmodem.UnknownFaultKind)
    assert "stat" in e.value.message and "allowed" in e.value.message, e.value.message
    with pytest.raises(vmodem.ApiError, match="unknown parameter .*cid"):
        vmodem_module.fault("network_loss", cid=1)


def test_an_unknown_module_is_404_with_the_ids_there_are(vmodem_module: vmodem.Module) -> None:
    with pytest.raises(vmodem.ApiError) as e:
        Control(vmodem_module.control).status(7)
    assert e.value.status == 404 and "the only module is 0" in e.value.message


def test_events_show_the_serial_line_as_it_happens(vmodem_module: vmodem.Module) -> None:
    port = _wait_booted(vmodem_module)
    seen: List[vmodem.types.Event] = []

    def watch() -> None:
        for event in vmodem_module.events(idle_timeout=3):
            seen.append(event)
            if event.get("type") == "fault" and event.get("phase") == "end":
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(0.3)  # the stream is open
    with port:
        port.write(b"AT+CGMR\r")
        time.sleep(0.2)
        vmodem_module.fault("urc", text="+QIND: 1", duration=0.1)
        watcher.join(5)
    assert not watcher.is_alive()
    serial_in = [e["text"] for e in seen if e.get("type") == "serial" and e.get("dir") == "host_to_module"]
    assert "AT+CGMR\r" in "".join(serial_in), seen
    faults = [(e["phase"], e["kind"]) for e in seen if e.get("type") == "fault"]
    assert faults == [("start", "urc"), ("end", "urc")], seen
    assert all(e["module"] == 0 and isinstance(e["t_ms"], int) for e in seen)


def test_faults_are_in_the_trace_and_its_excerpt(vmodem_module: vmodem.Module) -> None:
    with _wait_booted(vmodem_module) as port:
        vmodem_module.fault("urc", text="+QIND: 1", duration=0.05)
        _read_for(port, 0.3)
    text = vmodem_module.trace_excerpt()
    assert "fault   start urc text=+QIND: 1" in text and "fault   end urc" in text, text
    assert "<modem  +QIND: 1" in text


def test_a_token_is_sent_and_a_missing_one_says_what_to_pass() -> None:
    with vmodem.Module(token="s3cret", trace=False) as module:
        assert module.status()["id"] == 0
        with pytest.raises(vmodem.ApiError) as e:
            Control(module.control).status(0)
        assert e.value.status == 401 and "pass token=" in str(e.value)


def test_a_busy_control_port_says_what_to_pass() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(vmodem.PortBusy, match="control=None") as e:
            vmodem.Module(control=port, trace=False).start()
        assert f"127.0.0.1:{port}" in str(e.value)


def test_the_metrics_are_prometheus_text(vmodem_module: vmodem.Module) -> None:
    text = vmodem_module.metrics()
    assert "# TYPE vmodem_" in text and "vmodem_" in text
