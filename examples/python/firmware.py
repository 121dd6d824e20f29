"""A small "firmware" that publishes telemetry through a Quectel module, as an MCU driver does.

It is the kind of code a firmware team tests against vmodem: it knows nothing of vmodem, only
of the module's serial line (pyserial), and follows the sequence of the Quectel MQTT
application note and of drivers in the field:

1. boot: wait for ``RDY``, ``ATE0``, ``AT+CMEE=1``, ``AT+CPIN?`` until ``READY``, poll
   ``AT+CEREG?`` until registered (stat 1 or 5), make sure PDP context 1 is active
   (``AT+QIACT?``, ``AT+QIACT=1`` only when it is not: activating an active context is ERROR);
2. connect: ``AT+QMTCFG="version",0,4``, ``AT+QMTOPEN=0,...`` then ``+QMTOPEN: 0,0``,
   ``AT+QMTCONN=0,...`` then ``+QMTCONN: 0,0,0`` (a non-zero return code is a refusal);
3. publish: ``AT+QMTPUBEX=0,<id>,1,0,"topic",<len>``, the payload after the ``>`` prompt, then
   ``OK`` and ``+QMTPUBEX: 0,<id>,0`` (on a BG96, whose ``AT+QMTPUBEX`` takes the payload
   inline, the note's ``AT+QMTPUB=0,<id>,1,0,"topic",<len>`` and ``+QMTPUB: 0,<id>,0``);
4. recover: ``+QMTSTAT`` (the module closed the link: open it again, after cycling the PDP
   context for code 2, as the note's table 3 says), ``+QIURC: "pdpdeact"`` (the network dropped
   the PDP context: ``AT+QIDEACT=1``, wait for registration, ``AT+QIACT=1``, open again) and an
   unexpected ``RDY`` (the module rebooted: boot again) all lead back to the step that is
   needed, and the message that was not acknowledged is sent again.

Run it by hand against a running module::

    vmodem run --link /tmp/ttyEC25 &
    python examples/python/firmware.py /tmp/ttyEC25 127.0.0.1 1883 hello world
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import serial  # type: ignore[import-untyped,unused-ignore]


class ModemError(Exception):
    """The module answered ERROR / +CME ERROR, or did not answer in time."""


class Rebooted(ModemError):
    """The module printed RDY: it restarted, and everything must be set up again."""


class LinkLost(ModemError):
    """The MQTT link closed (+QMTSTAT, or the PDP context went down)."""


class BrokerRefused(ModemError):
    """The broker refused the connection: ``+QMTCONN: 0,0,<ret_code>`` with ret_code != 0."""

    def __init__(self, ret_code: int) -> None:
        self.ret_code = ret_code
        reasons = {1: "unacceptable protocol version", 2: "identifier rejected",
                   3: "server unavailable", 4: "bad user name or password", 5: "not authorized"}
        super().__init__(f"broker refused the connection: {ret_code} ({reasons.get(ret_code, '?')})")


@dataclass
class Settings:
    """What the firmware is configured with."""

    broker_host: str
    broker_port: int
    client_id: str = "fw-device-1"
    topic: str = "fw/telemetry"
    username: Optional[str] = None
    password: Optional[str] = None
    boot_timeout: float = 15.0
    register_timeout: float = 30.0
    max_attempts: int = 5


@dataclass
class Counters:
    """What happened, for tests and for the device's own diagnostics."""

    boots: int = 0
    reboots_seen: int = 0
    connects: int = 0
    link_losses: int = 0
    pdp_losses: int = 0
    published: int = 0
    log: List[str] = field(default_factory=list)


class Firmware:
    """The firmware's modem driver and its telemetry loop."""

    def __init__(self, line: "serial.Serial", settings: Settings) -> None:
        self.line = line
        self.settings = settings
        self.counters = Counters()
        self._buffer = b""
        self._urcs: List[str] = []
        self._msg_id = 0
        self._link_up = False
        self._pdp_lost = False
        self._rebooted = False
        self.model = ""  # AT+CGMM: picks the publish command
        #: Called when the module shows the ``>`` prompt, before the payload is written (tests
        #: use it to make something happen mid-publish).
        self.on_prompt: Optional[Callable[[], None]] = None

    # -- the serial line ------------------------------------------------------------------

    def _note(self, text: str) -> None:
        self.counters.log.append(text)

    def _fill(self, deadline: float) -> bool:
        wait = deadline - time.monotonic()
        if wait <= 0:
            return False
        self.line.timeout = min(wait, 0.05)
        chunk: bytes = self.line.read(self.line.in_waiting or 1)
        self._buffer += chunk
        return bool(chunk)

    def _line(self, deadline: float) -> Optional[str]:
        """The next non-empty line from the module, or None at the deadline."""
        while True:
            while b"\n" in self._buffer or b"\r" in self._buffer:
                cut = min(i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n")) if i >= 0)
                raw, self._buffer = self._buffer[:cut], self._buffer[cut + 1:]
                text = raw.decode("utf-8", errors="replace").strip()
                if text:
                    return text
            if not self._fill(deadline) and time.monotonic() >= deadline:
                return None

    def _is_urc(self, text: str) -> bool:
        """Handles the URCs that change the driver's state; True if ``text`` was one."""
        if text == "RDY":
            self._note("urc: RDY (module restarted)")
            self._rebooted = True
            self._link_up = False
            return True
        if text.startswith("+QMTSTAT:"):
            # The note's table 3: the module has closed the client. 1 (closed by the peer),
            # 3/4 (CONNECT/CONNACK failed): open it again; 2 (PINGREQ failed): deactivate the
            # PDP context, activate it, then open again; 5 follows our own DISCONNECT.
            self._note(f"urc: {text}")
            code = text.split(",")[-1].strip()
            if code != "5":
                self.counters.link_losses += 1
            if code == "2":
                self._pdp_lost = True
            self._link_up = False
            return True
        if text.startswith('+QIURC: "pdpdeact"'):
            # The network deactivated the context: the TCP/IP manual's answer is AT+QIDEACT,
            # then activating it again once registered; the MQTT client must be opened anew.
            self._note(f"urc: {text}")
            self.counters.pdp_losses += 1
            self._pdp_lost = True
            self._link_up = False
            return True
        if text.startswith(("+CFUN:", "+CPIN:", "+QUSIM:", "+QIND:", "+CEREG:", "+CGREG:",
                            "+CREG:", "+QMTRECV:", "+QMTPING:")):
            self._urcs.append(text)
            return True
        return False

    def drain(self, quiet_for: float = 0.05) -> None:
        """Reads what the module wrote meanwhile (URCs), until the line is quiet."""
        while True:
            line = self._line(time.monotonic() + quiet_for)
            if line is None:
                return
            self._is_urc(line)

    def command(self, cmd: str, timeout: float = 1.0, prompt: Optional[bytes] = None) -> List[str]:
        """Sends ``cmd``; returns its information lines; raises ModemError on an error result.

        With ``prompt`` (the payload), waits for ``>`` and writes it before the final result.
        """
        self.line.write(cmd.encode() + b"\r")
        deadline = time.monotonic() + timeout
        info: List[str] = []
        # `+CPIN: READY` answers AT+CPIN? here, though the same text is a URC at boot.
        own = re.match(r"AT(\+[A-Z]+)", cmd.upper())
        answer_prefix = own.group(1) + ":" if own else None
        while True:
            if prompt is not None:
                self._buffer = self._buffer.lstrip(b"\r\n")
                if self._buffer.startswith(b">"):
                    self._buffer = self._buffer[1:].lstrip(b" ")
                    if self.on_prompt is not None:
                        self.on_prompt()
                    self.line.write(prompt)
                    prompt = None
                    continue
                if not (b"\r" in self._buffer or b"\n" in self._buffer):
                    if not self._fill(deadline) and time.monotonic() >= deadline:
                        raise ModemError(f"{cmd}: no > prompt")
                    continue
            line = self._line(deadline)
            if line is None:
                raise ModemError(f"{cmd}: no answer in {timeout:g} s")
            if answer_prefix and line.startswith(answer_prefix):
                info.append(line)
                continue
            if self._is_urc(line):
                if self._rebooted:
                    raise Rebooted(f"{cmd}: the module restarted")
                continue
            if line == "OK":
                return info
            if line == "ERROR" or line.startswith("+CME ERROR"):
                raise ModemError(f"{cmd}: {line}")
            info.append(line)

    def wait_urc(self, prefix: str, timeout: float) -> str:
        """Waits for a result URC starting with ``prefix``."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._line(deadline)
            if line is None:
                raise ModemError(f"no {prefix} in {timeout:g} s")
            if line.startswith(prefix):
                return line
            if self._is_urc(line):
                if self._rebooted:
                    raise Rebooted(f"waiting for {prefix}: the module restarted")
                if not self._link_up and line.startswith(("+QMTSTAT", '+QIURC: "pdpdeact"')):
                    raise LinkLost(f"waiting for {prefix}: {line}")

    # -- bring-up -------------------------------------------------------------------------

    def boot(self) -> None:
        """Waits for RDY (or checks the module answers), then SIM, registration and PDP."""
        s = self.settings
        deadline = time.monotonic() + s.boot_timeout
        # RDY may come before we could read it (pyserial's open() flushes the input, and a TCP
        # line may connect late), so, like many drivers, poll `AT` between waits for it.
        while not self._rebooted:
            line = self._line(min(deadline, time.monotonic() + 0.5))
            if line == "RDY":
                break
            if line is not None:
                self._is_urc(line)
                continue
            if time.monotonic() >= deadline:
                raise ModemError(f"the module did not come up in {s.boot_timeout:g} s")
            try:
                self.command("AT", timeout=0.3)
                break
            except Rebooted:
                break
            except ModemError:
                continue
        self._rebooted = False
        self.counters.boots += 1
        self.command("AT")
        self.command("ATE0")
        self.command("AT+CMEE=1")
        self.model = (self.command("AT+CGMM") or [""])[0]
        self._until(lambda: "+CPIN: READY" in self.command("AT+CPIN?", 5), s.boot_timeout, "SIM READY")
        self._until(self._registered, s.register_timeout, "registration (AT+CEREG? stat 1 or 5)")
        self._ensure_pdp()

    def _until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if check():
                    return
            except Rebooted:
                raise
            except ModemError:
                pass
            if time.monotonic() > deadline:
                raise ModemError(f"no {what} in {timeout:g} s")
            time.sleep(0.2)

    def _registered(self) -> bool:
        for line in self.command("AT+CEREG?"):
            found = re.match(r"\+CEREG: \d,(\d)", line)
            if found and found.group(1) in ("1", "5"):
                return True
        return False

    def _ensure_pdp(self) -> None:
        active = any(re.match(r"\+QIACT: 1,1", line) for line in self.command("AT+QIACT?"))
        if not active:
            self._note("activating PDP context 1")
            self.command("AT+QIACT=1", timeout=30)
        self._pdp_lost = False

    def _recover_pdp(self) -> None:
        """After ``+QIURC: "pdpdeact"`` or ``+QMTSTAT: 0,2``: context 1 down, then up again."""
        try:
            self.command("AT+QIDEACT=1", timeout=40)
        except Rebooted:
            raise
        except ModemError:
            pass  # already inactive: some firmware answers ERROR
        self._until(self._registered, self.settings.register_timeout, "registration")
        self._ensure_pdp()

    def connect(self) -> None:
        """Opens and connects MQTT client 0; raises BrokerRefused on a refusal."""
        s = self.settings
        self.command('AT+QMTCFG="version",0,4')
        self.command(f'AT+QMTOPEN=0,"{s.broker_host}",{s.broker_port}')
        opened = self.wait_urc("+QMTOPEN: 0,", 75)
        result = int(opened.split(",")[1])
        if result == 2:  # the client is still open from before: close it and try again
            self.command("AT+QMTCLOSE=0")
            self.wait_urc("+QMTCLOSE: 0,", 10)
            raise LinkLost("client 0 was still open")
        if result == 3:  # PDP activation failed: the context is down
            self._pdp_lost = True
        if result != 0:
            raise LinkLost(f"QMTOPEN failed: {opened}")
        creds = ""
        if s.username is not None:
            creds = f',"{s.username}","{s.password or ""}"'
        self.command(f'AT+QMTCONN=0,"{s.client_id}"{creds}')
        conn = self.wait_urc("+QMTCONN: 0,", 10)
        parts = [int(p) for p in conn.split(":")[1].split(",")]
        if parts[1] != 0:
            raise LinkLost(f"QMTCONN not sent: {conn}")
        if len(parts) > 2 and parts[2] != 0:
            raise BrokerRefused(parts[2])
        self._link_up = True
        self.counters.connects += 1
        self._note(f"connected ({self.counters.connects})")

    def publish_one(self, payload: bytes) -> None:
        """One QoS 1 publish, acknowledged by ``+QMTPUBEX: 0,<id>,0``."""
        self._msg_id = self._msg_id % 65535 + 1
        msg_id = self._msg_id
        verb = "QMTPUB" if self.model.startswith("BG9") else "QMTPUBEX"
        self.command(
            f'AT+{verb}=0,{msg_id},1,0,"{self.settings.topic}",{len(payload)}',
            timeout=5,
            prompt=payload,
        )
        done = self.wait_urc(f"+{verb}: 0,{msg_id},", 20)
        if done.split(",")[2] != "0":
            self._link_up = False
            raise LinkLost(f"publish not acknowledged: {done}")
        self.counters.published += 1

    def _close_quietly(self) -> None:
        """Closes client 0 if it is still open (its state is unknown after an error)."""
        try:
            self.command("AT+QMTCLOSE=0")
            self.wait_urc("+QMTCLOSE: 0,", 10)
        except Rebooted:
            self.counters.reboots_seen += 1
        except ModemError:
            pass  # already closed: ERROR

    # -- the application ------------------------------------------------------------------

    def run(self, payloads: Sequence[bytes]) -> int:
        """Publishes every payload, recovering from link loss, PDP loss and reboots.

        Each payload is sent until acknowledged (at least once), with up to ``max_attempts``
        recoveries per payload. Returns how many were published.
        """
        for payload in payloads:
            for attempt in range(self.settings.max_attempts):
                try:
                    self.drain()
                    if self._rebooted:
                        self.boot()
                    elif self._pdp_lost:
                        self._recover_pdp()
                    elif not self._link_up and self.counters.connects:
                        # A link lost for another reason (+QMTSTAT, an open that failed): the
                        # network may be gone too. Registered and context active, then open.
                        self._until(self._registered, self.settings.register_timeout, "registration")
                        self._ensure_pdp()
                    if not self._link_up:
                        self.connect()
                    self.publish_one(payload)
                    break
                except BrokerRefused:
                    raise  # no point hammering a broker that refuses our credentials
                except Rebooted:
                    self._note("module restarted: booting again")
                    self.counters.reboots_seen += 1
                except (LinkLost, ModemError) as e:
                    self._note(f"recovering: {e}")
                    self._link_up = False
                    time.sleep(min(0.2 * 2**attempt, 2.0))
                    self._close_quietly()
            else:
                raise ModemError(f"gave up publishing {payload!r} after "
                                 f"{self.settings.max_attempts} attempts: {self.counters.log[-3:]}")
        return self.counters.published


def main(argv: Sequence[str]) -> int:
    """``firmware.py DEVICE HOST PORT PAYLOAD...``"""
    if len(argv) < 4:
        print(__doc__)
        return 2
    device, host, port, *payloads = argv
    with serial.Serial(device, 115200, timeout=1) as line:
        fw = Firmware(line, Settings(host, int(port)))
        fw.boot()
        fw.run([p.encode() for p in payloads])
        print("\n".join(fw.counters.log))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
