"""vmodem.Fleet and the vmodem_fleet fixture against the real `vmodem fleet` (issue 13)."""

from __future__ import annotations

import re
import socket
import time
from typing import Callable, List

import pytest
import serial  # type: ignore[import-untyped,unused-ignore]

import vmodem

pytestmark = pytest.mark.vmodem_requires("--count", command="fleet", reason="vmodem fleet, issue 13")


def _read_until(read: Callable[[], bytes], end: bytes, within: float = 5.0) -> bytes:
    got = b""
    deadline = time.monotonic() + within
    while end not in got and time.monotonic() < deadline:
        got += read()
    return got


def test_each_tcp_module_boots_when_its_host_connects_with_its_own_identity() -> None:
    with vmodem.Fleet(3, serial="tcp") as fleet:
        assert [port - fleet.tcp[0][1] for _, port in fleet.tcp] == [0, 1, 2]
        imeis = []
        for address in (fleet.tcp[0], fleet.tcp[2]):
            with socket.create_connection(address, timeout=5) as line:
                line.settimeout(0.2)

                def recv() -> bytes:
                    try:
                        return line.recv(512)
                    except socket.timeout:
                        return b""

                assert _read_until(recv, b"PB DONE\r\n").startswith(b"\r\nRDY\r\n")
                line.sendall(b"AT+GSN\r")
                answer = _read_until(recv, b"OK\r\n")
                found = re.search(rb"AT\+GSN\r\r\n(\d{15})\r\n\r\nOK\r\n", answer)
                assert found, answer
                imeis.append(found.group(1))
        assert len(set(imeis)) == 2, imeis
        with socket.create_connection(fleet.broker, timeout=5) as mqtt:
            mqtt.sendall(bytes.fromhex("100d00044d5154540402000a000174"))  # CONNECT "t"
            assert mqtt.recv(4) == bytes.fromhex("20020000")  # CONNACK accepted
        pid = fleet._process.pid if fleet._process else None
    assert pid is not None and fleet.wait(0) is not None  # stopped


def test_pty_modules_answer_on_their_links() -> None:
    with vmodem.Fleet(2, serial="pty", model="bg96") as fleet:
        assert [p.rsplit("/", 1)[1] for p in fleet.ports] == ["tty0", "tty1"]
        with serial.Serial(fleet.ports[1], 115200, timeout=0.2) as port:
            got = b""
            deadline = time.monotonic() + 5
            while b"OK\r\n" not in got and time.monotonic() < deadline:
                port.write(b"AT+CGMM\r")
                got = port.read(200)
        assert b"\r\nBG96\r\n\r\nOK\r\n" in got, got


def test_a_fleet_with_a_duration_ends_by_itself() -> None:
    fleet = vmodem.Fleet(1, serial="tcp", duration=0.5).start()
    try:
        assert fleet.wait(10) == 0
    finally:
        fleet.stop()


def test_fleet_refuses_what_it_cannot_do_in_python() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        vmodem.Fleet(0)
    with pytest.raises(ValueError, match="'tcp' or 'pty'"):
        vmodem.Fleet(2, serial="usb")
    with vmodem.Fleet(1, serial="tcp") as fleet:
        with pytest.raises(vmodem.VmodemError, match="serial='pty'"):
            fleet.ports


def test_the_vmodem_fleet_fixture_takes_its_marker(
    pytester: pytest.Pytester, plugin_args: List[str]
) -> None:
    pytester.makepyfile("""
        import socket, pytest
        @pytest.mark.vmodem_fleet(count=2, serial="tcp")
        def test_fleet(vmodem_fleet):
            assert vmodem_fleet.count == 2 and len(vmodem_fleet.tcp) == 2
            with socket.create_connection(vmodem_fleet.tcp[1], timeout=5) as line:
                line.settimeout(5)
                got = b""
                while b"RDY" not in got:
                    got += line.recv(100)
    """)
    result = pytester.runpytest(*plugin_args)
    result.assert_outcomes(passed=1)


SCRIPT = """\
AT+QMTCFG="version",0,4
@connect backoff 200ms
? AT+QIACT=1
AT+QMTOPEN=0,"{broker_host}",{broker_port}
<< +QMTOPEN: 0,0
AT+QMTCONN=0,"dev-{imei}"
<< +QMTCONN: 0,0,0
@every 200ms times 10
AT+QMTPUBEX=0,{msgid},1,0,"fleet/{id}",{len}
>> {seq}
<< +QMTPUBEX: 0,{msgid},0
@end
"""


@pytest.mark.vmodem_requires("--script", "--control", "--json", command="fleet",
                             reason="fleet scripts and control, issue 13")
def test_a_scripted_fleet_takes_a_fault_on_some_modules_and_reports() -> None:
    with vmodem.Fleet(4, script=SCRIPT, seed=7) as fleet:
        statuses = fleet.status()
        assert [s["id"] for s in statuses] == [0, 1, 2, 3]
        assert len({s["imei"] for s in statuses}) == 4
        assert fleet.status(2)["imei"] == statuses[2]["imei"]
        deadline = time.monotonic() + 10
        while not all(s["mqtt"][0]["state"] == "connected" for s in fleet.status()):
            assert time.monotonic() < deadline, fleet.status()
            time.sleep(0.05)
        hit = fleet.fault("pdp_deact", modules=2, cid=1)
        assert len(hit.modules) == 2 and set(hit.modules) <= {0, 1, 2, 3}
        assert all(f.kind == "pdp_deact" for f in hit.faults)
        listed = {s["id"]: [f["kind"] for f in s["faults"]] for s in fleet.status()}
        assert sorted(i for i, kinds in listed.items() if kinds == ["pdp_deact"]) == sorted(hit.modules)
        assert hit.end() == 2
        with pytest.raises(vmodem.UnknownFaultKind) as e:
            fleet.fault("pdp", modules="all")
        assert "pdp_deact" in e.value.kinds
        assert fleet.wait(20) == 0  # the scripts end after their 10 publishes
        report = fleet.report()
    assert report["fleet"]["count"] == 4 and report["modules"]["scripts_finished"] == 4, report
    # Two modules lost their context once (+QMTSTAT: 0,7) and connected again; ticks that fell
    # in their reconnect are skipped, not made up (docs/scale.md), so up to 40 publishes.
    assert report["qmtstat"] == {"7": 2} and report["connected"]["connects"] == 6, report
    assert 30 <= report["published"] <= 40, report
