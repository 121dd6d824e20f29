"""The firmware's test suite, run against vmodem with the plugin's ``vmodem_module`` fixture.

The tests that make the module misbehave start faults through the control API
(``vmodem_module.fault(...)``, issue 10); a vmodem binary without ``--control`` skips them,
saying so. Every test checks what a user would see: the messages that reach an outside
subscriber, the bytes the module wrote (its trace), and what the firmware did to get there.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from typing import Iterator, List, Optional, Tuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
import pytest
import serial  # type: ignore[import-untyped,unused-ignore]

import vmodem
from firmware import BrokerRefused, Firmware, Settings

pending_control = pytest.mark.vmodem_requires(
    "--control", reason="faults need the control API of issue 10"
)


class Subscriber:
    """An MQTT client outside the module, on the same broker: what the cloud side sees."""

    def __init__(self, broker: Tuple[str, int], topic: str,
                 credentials: Optional[Tuple[str, str]] = None) -> None:
        self.messages: "queue.Queue[Tuple[str, bytes]]" = queue.Queue()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}")
        if credentials:
            self.client.username_pw_set(*credentials)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.connect(*broker, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise RuntimeError(f"the subscriber could not subscribe on {broker}")

    def take(self, count: int, timeout: float = 10.0) -> List[bytes]:
        """The next ``count`` payloads (fails the test if they do not come)."""
        got: List[bytes] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            try:
                got.append(self.messages.get(timeout=max(0.01, deadline - time.monotonic()))[1])
            except queue.Empty:
                pytest.fail(f"the subscriber got {got!r}, expected {count} messages")
        return got

    def close(self) -> None:
        self.client.disconnect()  # first, so the network thread ends at once
        self.client.loop_stop()


@pytest.fixture
def topic() -> str:
    return f"fw/{uuid.uuid4().hex[:8]}/telemetry"


@pytest.fixture
def cloud(vmodem_module: vmodem.Module, topic: str) -> Iterator[Subscriber]:
    sub = Subscriber(vmodem_module.broker, topic)
    yield sub
    sub.close()


@pytest.fixture
def line(vmodem_module: vmodem.Module) -> Iterator["serial.Serial"]:
    with serial.Serial(vmodem_module.port, 115200, timeout=1) as port:
        yield port


def firmware(line: "serial.Serial", module: vmodem.Module, topic: str, **kw: object) -> Firmware:
    host, port = module.broker
    return Firmware(line, Settings(host, port, topic=topic, **kw))  # type: ignore[arg-type]


def test_boots_connects_and_publishes(vmodem_module: vmodem.Module, line: "serial.Serial",
                                      cloud: Subscriber, topic: str) -> None:
    fw = firmware(line, vmodem_module, topic)
    fw.boot()
    assert fw.run([b"t=21.5", b"t=21.6", b"t=21.7"]) == 3
    assert cloud.take(3) == [b"t=21.5", b"t=21.6", b"t=21.7"]
    assert fw.counters.connects == 1 and fw.counters.link_losses == 0


@pytest.mark.vmodem(tcp=True)
def test_same_firmware_over_a_tcp_serial_line(vmodem_module: vmodem.Module, topic: str) -> None:
    """The rig of a QEMU/Renode setup: the serial line is a TCP port."""
    sub = Subscriber(vmodem_module.broker, topic)
    try:
        with vmodem_module.open_serial() as port:
            fw = firmware(port, vmodem_module, topic)
            fw.boot()
            fw.run([b"over tcp"])
        assert sub.take(1) == [b"over tcp"]
    finally:
        sub.close()


@pytest.mark.vmodem_requires("--broker-user", reason="built-in broker users, issue 12 item 3")
@pytest.mark.vmodem(broker_users={"device-1": "s3cret", "cloud": "c"})
def test_broker_refuses_a_wrong_password_and_accepts_the_right_one(
    vmodem_module: vmodem.Module, line: "serial.Serial", topic: str
) -> None:
    # With users, the built-in broker (like mosquitto) refuses anonymous clients: the cloud
    # side logs in too.
    cloud = Subscriber(vmodem_module.broker, topic, credentials=("cloud", "c"))
    try:
        fw = firmware(line, vmodem_module, topic)  # no user name at all
        fw.boot()
        with pytest.raises(BrokerRefused) as refused:
            fw.run([b"never"])
        assert refused.value.ret_code == 5  # not authorized
        fw.settings.username, fw.settings.password = "device-1", "wrong"
        with pytest.raises(BrokerRefused) as refused:
            fw.run([b"never"])
        assert refused.value.ret_code == 4  # bad user name or password
        fw.settings.password = "s3cret"
        assert fw.run([b"let in"]) == 1
        assert cloud.take(1) == [b"let in"]
        assert fw.counters.connects == 1
        said = [l.text for l in vmodem.trace.last_lines(vmodem_module.trace_path or "", 200)
                if l.dir == "module_to_host" and l.text.startswith("+QMTCONN:")]
        assert said == ["+QMTCONN: 0,0,5", "+QMTCONN: 0,0,4", "+QMTCONN: 0,0,0"], said
    finally:
        cloud.close()


MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@pytest.fixture
def mosquitto_with_users() -> Iterator[Tuple[str, int]]:
    """Debian's mosquitto on a loopback port, accepting only device-1 / s3cret and cloud / c."""
    if not os.path.exists(MOSQUITTO) or not shutil.which("mosquitto_passwd"):
        pytest.skip("mosquitto is not installed: apt-get install mosquitto (bash .ci/run does)")
    # Started as root, mosquitto drops to its own user: its files must be readable by it.
    folder = tempfile.mkdtemp(prefix="vmodem-mosquitto-")
    os.chmod(folder, 0o755)
    passwords = os.path.join(folder, "passwords")
    open(passwords, "w").close()
    for user, password in (("device-1", "s3cret"), ("cloud", "c")):
        subprocess.run(["mosquitto_passwd", "-b", passwords, user, password], check=True)
    os.chmod(passwords, 0o644)
    with socket.socket() as probe:  # mosquitto cannot take port 0: take a free one, then give it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = os.path.join(folder, "mosquitto.conf")
    with open(config, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
                "persistence false\n")
    os.chmod(config, 0o644)
    broker = subprocess.Popen([MOSQUITTO, "-c", config], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if broker.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mosquitto did not start on port {port}")
                time.sleep(0.05)
        yield ("127.0.0.1", port)
    finally:
        broker.terminate()  # our own child, by its pid
        try:
            broker.wait(5)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait(5)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.vmodem(broker=False)
def test_mosquitto_refuses_a_wrong_password_and_accepts_the_right_one(
    vmodem_module: vmodem.Module, line: "serial.Serial", mosquitto_with_users: Tuple[str, int],
    topic: str,
) -> None:
    """The same refusal against a broker of your own (Module(broker=False))."""
    host, port = mosquitto_with_users
    sub = Subscriber(mosquitto_with_users, topic, credentials=("cloud", "c"))
    try:
        fw = Firmware(line, Settings(host, port, topic=topic, username="device-1", password="bad"))
        fw.boot()
        with pytest.raises(BrokerRefused) as refused:
            fw.run([b"never"])
        assert refused.value.ret_code in (4, 5), refused.value
        assert fw.counters.connects == 0
        fw.settings.password = "s3cret"
        assert fw.run([b"let in"]) == 1
        assert sub.take(1) == [b"let in"]
    finally:
        sub.close()


@pending_control
def test_reconnects_after_network_loss(vmodem_module: vmodem.Module, line: "serial.Serial",
                                       cloud: Subscriber, topic: str) -> None:
    fw = firmware(line, vmodem_module, topic)
    fw.boot()
    fw.run([b"before"])
    fault = vmodem_module.fault("network_loss", stat=2)
    time.sleep(0.5)
    fw.drain()
    assert fw.counters.link_losses == 1, fw.counters.log  # +QMTSTAT reached the firmware
    assert any(re.fullmatch(r"\+CEREG: \d,2", l) for l in fw.command("AT+CEREG?")), "not searching"
    assert vmodem_module.status()["mqtt"][0]["state"] == "closed"
    fault.end()
    fw.run([b"after"])  # waits for registration, activates the context, opens, connects
    assert cloud.take(2) == [b"before", b"after"]
    assert fw.counters.connects == 2, fw.counters.log
    status = vmodem_module.status()
    assert status["registration"]["stat"] == 1 and status["mqtt"][0]["state"] == "connected"


@pending_control
def test_reconnects_after_pdp_deactivation(vmodem_module: vmodem.Module, line: "serial.Serial",
                                           cloud: Subscriber, topic: str) -> None:
    fw = firmware(line, vmodem_module, topic)
    fw.boot()
    fw.run([b"before"])
    vmodem_module.fault("pdp_deact", cid=1)
    time.sleep(0.3)
    fw.drain()
    assert fw.counters.pdp_losses == 1, fw.counters.log  # +QIURC: "pdpdeact",1 was seen
    assert not any(p["active"] for p in vmodem_module.status()["pdp"] if p["cid"] == 1)
    fw.run([b"after"])
    assert "activating PDP context 1" in fw.counters.log
    assert cloud.take(2) == [b"before", b"after"]
    assert fw.counters.connects == 2, fw.counters.log
    said = [l.text for l in vmodem.trace.last_lines(vmodem_module.trace_path or "", 400)]
    assert '+QIURC: "pdpdeact",1' in said, said


@pending_control
def test_recovers_from_a_module_reset_mid_publish(vmodem_module: vmodem.Module, line: "serial.Serial",
                                                 cloud: Subscriber, topic: str) -> None:
    fw = firmware(line, vmodem_module, topic)
    fw.boot()
    fw.run([b"one"])
    resets: List[vmodem.Fault] = []

    def reset_once() -> None:  # after the > prompt, before the payload: mid-publish
        if not resets:
            resets.append(vmodem_module.fault("reset"))

    fw.on_prompt = reset_once
    fw.run([b"two"])
    assert resets and fw.counters.reboots_seen == 1, fw.counters.log
    assert fw.counters.boots == 2 and fw.counters.connects == 2
    got = cloud.take(2)
    assert got == [b"one", b"two"]  # the interrupted message was sent again, once
    with pytest.raises(pytest.fail.Exception):
        cloud.take(1, timeout=0.5)  # and not twice
    said = [(l.dir, l.text) for l in vmodem.trace.last_lines(vmodem_module.trace_path or "", 400)]
    assert said.count(("module_to_host", "RDY")) == 2, said
    status = vmodem_module.status()
    assert status["power"] == "on" and status["mqtt"][0]["state"] == "connected"
