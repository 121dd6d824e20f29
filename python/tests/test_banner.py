"""Reading vmodem's start-up message."""

from __future__ import annotations

from vmodem._process import parse_banner, split_addr

PTY = """\
vmodem 0.1.0: Quectel EC25 (revision EC25EFAR06A06M4G), timing fast
serial: /dev/pts/7
link:   /tmp/ttyEC25 -> /dev/pts/7
try:    picocom -q /tmp/ttyEC25
   or:  socat -,raw,echo=0,escape=0x1d /tmp/ttyEC25  (Ctrl-] quits)
broker: 127.0.0.1:44419 (built in, MQTT 3.1.1)
control: http://127.0.0.1:40001
then:   ATI    AT+QMTOPEN=0,"127.0.0.1",44419
stop:   Ctrl-C
"""

TCP = """\
serial: tcp 127.0.0.1:40749 (one host at a time; a new connection replaces it)
broker: none built in (--no-broker); the module reaches yours
stop:   Ctrl-C
power:  the module powers up (RDY) when a host opens the line; --power-on start boots it now
"""


def test_a_pty_banner_gives_the_device_link_broker_and_control() -> None:
    b = parse_banner(PTY)
    assert (b.pty, b.link, b.tcp) == ("/dev/pts/7", "/tmp/ttyEC25", None)
    assert b.broker == ("127.0.0.1", 44419)
    assert b.control == "http://127.0.0.1:40001"
    assert b.done


def test_a_tcp_banner_without_broker() -> None:
    b = parse_banner(TCP)
    assert (b.pty, b.tcp, b.broker, b.control) == (None, ("127.0.0.1", 40749), None, None)


def test_a_banner_cut_short_is_not_done() -> None:
    b = parse_banner("serial: /dev/pts/3\nbroker: 127.0.0.1:")
    assert b.pty == "/dev/pts/3" and b.broker is None and not b.done


def test_addresses_v4_and_v6() -> None:
    assert split_addr("127.0.0.1:1883") == ("127.0.0.1", 1883)
    assert split_addr("[::1]:8883") == ("::1", 8883)
