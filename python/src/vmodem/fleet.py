"""``vmodem.Fleet``: many modules in one ``vmodem fleet`` process (issue 13).

It runs ``vmodem fleet`` (``--count``, ``--tcp-base``, ``--pty-dir``, ``--shard``, ``--seed``,
``--duration``; and, with a vmodem that has them, ``--script``, ``--ramp``, ``--json`` and
``--control``). A flag the binary lacks is asked for only when you use what needs it, and then
raises :class:`vmodem.UnsupportedOption` naming it; a binary without ``vmodem fleet`` at all
raises it at start.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

from . import _binary
from ._process import Banner, VmodemProcess
from .control import Control, FleetFault
from .errors import ControlUnavailable, ModuleExited, UnsupportedOption, VmodemError
from .module import Listen, listen_arg
from .types import Event, ModuleSelection, ModuleStatus

PathLike = Union[str, "os.PathLike[str]"]


def _free_port_range(count: int, host: str = "127.0.0.1") -> int:
    """A base port with ``count`` consecutive ports free right now (best effort: a race)."""
    for base in range(20000, 60000 - count, max(count, 97)):
        sockets: List[socket.socket] = []
        try:
            for i in range(count):
                s = socket.socket()
                sockets.append(s)
                s.bind((host, base + i))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise VmodemError(f"no {count} consecutive free ports on {host}: pass tcp_base=PORT")


class Fleet:
    """``count`` virtual modules in one process, each with its own identity (issue 13).

    ::

        with vmodem.Fleet(200, script="telemetry.at", duration=60) as fleet:
            with fleet.fault("network_loss", modules="10%", duration=5):
                ...
            print(fleet.status()[0]["mqtt"])

    Args:
        count: how many modules (the fleet's total; with ``shard`` this process runs its share).
        script: a device script in the ``vmodem at`` script format (a path, or the script's text
            when it has several lines), run by an in-process host per module.
        serial: ``None`` (modules driven by the script only), ``"tcp"`` (module i on
            ``tcp_base + i``) or ``"pty"`` (``ports[i]``, links in the work folder).
        tcp_base: the first TCP port with ``serial="tcp"`` (default: a free range found now).
        duration: seconds after which the fleet ends by itself (``--duration``).
        ramp: start-up rate in modules per second (``--ramp``).
        shard: ``(i, n)``: run shard i of n.
        model, timing, network, broker, seed, binary, token, args, workdir, keep, start_timeout,
        stop_timeout, log_level: as for :class:`vmodem.Module` (``control=None``: the control
        API when the binary's ``vmodem fleet`` has ``--control``).
    """

    def __init__(
        self,
        count: int,
        script: Optional[PathLike] = None,
        *,
        model: str = "ec25",
        timing: str = "fast",
        network: Optional[str] = None,
        broker: Listen = True,
        serial: Optional[str] = None,
        tcp_base: Optional[int] = None,
        duration: Optional[float] = None,
        ramp: Optional[float] = None,
        shard: Optional[Tuple[int, int]] = None,
        seed: Optional[int] = None,
        control: Listen = None,
        token: Optional[str] = None,
        binary: Optional[PathLike] = None,
        args: Sequence[str] = (),
        workdir: Optional[PathLike] = None,
        keep: bool = False,
        start_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        log_level: str = "info",
    ) -> None:
        if count < 1:
            raise ValueError(f"a fleet has at least 1 module, not {count}")
        if serial not in (None, "tcp", "pty"):
            raise ValueError(f"serial is None, 'tcp' or 'pty', not {serial!r}")
        if isinstance(args, str):
            raise TypeError("args is a list of flags")
        self.count = count
        self.script = script
        self.model, self.timing, self.network = model, timing, network
        self._broker_arg = listen_arg(broker)
        self.serial = serial
        self.tcp_base = tcp_base
        self.duration, self.ramp, self.shard, self.seed = duration, ramp, shard, seed
        self._control_opt = control
        self._control_arg: Optional[str] = None
        self._control_missing = ""
        self.token = token
        self._binary_opt = binary
        self.args = list(args)
        self._workdir_opt = None if workdir is None else Path(workdir)
        self._keep = keep or workdir is not None
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.log_level = log_level
        self.workdir: Optional[Path] = None
        self._process: Optional[VmodemProcess] = None
        self._banner = Banner()
        self._control: Optional[Control] = None

    def command(self) -> List[str]:
        """The ``vmodem fleet`` command line."""
        binary = _binary.find_binary(self._binary_opt)
        _binary.require_flag(binary, "fleet", "--count", "vmodem.Fleet (issue 13)")
        assert self.workdir is not None
        cmd = [binary, "fleet", "--count", str(self.count), "--model", self.model]
        cmd += ["--timing", self.timing, "--log-level", self.log_level]
        if _binary.has_flag(binary, "fleet", "--json"):
            cmd += ["--json", str(self.report_path)]
        if self.script is not None:
            _binary.require_flag(binary, "fleet", "--script", "Fleet(script=...)")
            text = os.fspath(self.script)
            if "\n" in text:
                path = self.workdir / "script.at"
                path.write_text(text)
                text = str(path)
            cmd += ["--script", text]
        if self.serial == "tcp":
            if self.tcp_base is None:
                self.tcp_base = _free_port_range(self.count)
            cmd += ["--tcp-base", f"127.0.0.1:{self.tcp_base}"]
        elif self.serial == "pty":
            cmd += ["--pty-dir", str(self.workdir / "pty")]
        cmd += ["--no-broker"] if self._broker_arg is None else ["--broker-listen", self._broker_arg]
        control = self._control_opt
        if control is None:
            control = _binary.has_flag(binary, "fleet", "--control")
            if not control:
                self._control_missing = (
                    f"{binary}'s `vmodem fleet` has no control API (--control): status(), "
                    "fault(), clear_faults() and events() need it. Rebuild vmodem from a "
                    "checkout that has it, or point VMODEM_BIN at one."
                )
        elif control is False:
            self._control_missing = "this Fleet was made with control=False: pass control=True"
        else:
            _binary.require_flag(binary, "fleet", "--control", "Fleet(control=...)")
        self._control_arg = listen_arg(control)
        if self._control_arg is not None:
            cmd += ["--control", self._control_arg]
            if self.token:
                cmd += ["--control-token", self.token]
        for flag, value in (
            ("--network", self.network),  # not in `vmodem fleet` yet: named when asked for
            ("--seed", self.seed),
            ("--ramp", self.ramp),
            ("--duration", None if self.duration is None else f"{self.duration:g}"),
            ("--shard", None if self.shard is None else "{}/{}".format(*self.shard)),
        ):
            if value is not None:
                _binary.require_flag(binary, "fleet", flag, f"Fleet({flag.lstrip('-')}=...)")
                cmd += [flag, str(value)]
        return cmd + self.args

    @property
    def report_path(self) -> Path:
        """Where ``--json`` writes the fleet's summary."""
        if self.workdir is None:
            raise VmodemError("the fleet is not started")
        return self.workdir / "report.json"

    def start(self) -> "Fleet":
        """Starts the fleet and waits for its start-up message."""
        if self._process is not None:
            raise VmodemError("this Fleet is already started")
        self.workdir = self._workdir_opt or Path(tempfile.mkdtemp(prefix="vmodem-fleet-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            cmd = self.command()
        except BaseException:
            self._cleanup()
            raise

        def need(banner: Banner) -> List[str]:
            missing = []
            if "fleet" not in banner.lines:
                missing.append("vmodem fleet:")
            if self._control_arg is not None and banner.control is None:
                missing.append("control:")
            if self._broker_arg is not None and banner.broker is None:
                missing.append("broker:")
            return missing

        self._process = VmodemProcess(cmd, self.workdir, what_busy="pass broker=True (a free port)")
        try:
            self._banner = self._process.start(need, self.start_timeout)
        except BaseException:
            self._cleanup()
            raise
        if self._banner.control:
            self._control = Control(self._banner.control, token=self.token)
        try:
            self._wait_serial_lines()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_serial_lines(self) -> None:
        """Waits until every serial line of this process is there: vmodem prints its start-up
        message before it makes them. A pty is there when its link is; a TCP port when we can no
        longer bind it (connecting would attach a host, and power the module up)."""
        assert self._process is not None
        if self.serial is None:
            return
        first, end = self._ids()
        deadline = time.monotonic() + self.start_timeout
        for i in range(first, end):
            while not self._line_ready(i):
                if not self._process.alive():
                    raise ModuleExited(self._process.returncode(), self._process.output())
                if time.monotonic() > deadline:
                    raise VmodemError(
                        f"vmodem fleet did not make module {i}'s serial line within "
                        f"{self.start_timeout:g} s (start_timeout=)"
                    )
                time.sleep(0.01)

    def _ids(self) -> Tuple[int, int]:
        """The module ids this process runs (its shard's share): ``range(first, end)``."""
        found = re.match(r"modules (\d+)\.\.(\d+)", self._banner.lines.get("fleet", ""))
        return (int(found.group(1)), int(found.group(2))) if found else (0, self.count)

    def _line_ready(self, i: int) -> bool:
        if self.serial == "pty":
            return os.path.exists(self.ports[i])
        with socket.socket() as probe:
            try:
                probe.bind(self.tcp[i])
            except OSError:
                return True
        return False

    def stop(self) -> Optional[int]:
        """Stops the fleet (SIGTERM, then SIGKILL); returns its exit status."""
        if self._process is None:
            return None
        try:
            return self._process.stop(self.stop_timeout)
        finally:
            self._cleanup()

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        """Waits for a fleet with ``duration`` to end by itself; its exit status, or None."""
        if self._process is None:
            raise VmodemError("the fleet is not started")
        return self._process.wait(timeout)

    def _cleanup(self) -> None:
        if not self._keep and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Fleet":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- where things are -----------------------------------------------------------------

    @property
    def ports(self) -> List[str]:
        """The pty links, module i at ``ports[i]`` (``serial="pty"``)."""
        if self.serial != "pty" or self.workdir is None:
            raise VmodemError("this fleet has no ptys: pass serial='pty'")
        return [str(self.workdir / "pty" / f"tty{i}") for i in range(self.count)]

    @property
    def tcp(self) -> List[Tuple[str, int]]:
        """``(host, port)`` of each module's TCP serial line (``serial="tcp"``)."""
        if self.serial != "tcp" or self.tcp_base is None:
            raise VmodemError("this fleet has no TCP serial lines: pass serial='tcp'")
        return [("127.0.0.1", self.tcp_base + i) for i in range(self.count)]

    @property
    def broker(self) -> Tuple[str, int]:
        """``(host, port)`` of the built-in broker."""
        if self._banner.broker is None:
            raise VmodemError("this fleet has no built-in broker (broker=False)")
        return self._banner.broker

    @property
    def control(self) -> str:
        """The control API's URL."""
        if self._banner.control is None:
            raise ControlUnavailable(self._control_missing or "the control API did not start")
        return self._banner.control

    def report(self) -> Any:
        """The ``--json`` summary (after the fleet ended)."""
        if self._process is not None and "--json" not in self._process.command:
            raise UnsupportedOption(self._process.command[0], "fleet --json", "Fleet.report()")
        return json.loads(self.report_path.read_text())

    # -- the control API ------------------------------------------------------------------

    def _api(self) -> Control:
        if self._process is None:
            raise VmodemError("the fleet is not started")
        if self._control is None:
            raise ControlUnavailable(self._control_missing or "the control API did not start")
        if not self._process.alive():
            raise ModuleExited(self._process.returncode(), self._process.output())
        return self._control

    def status(self, module: Optional[int] = None) -> Any:
        """Every module's status (a list), or one module's (``status(3)``)."""
        if module is None:
            statuses: List[ModuleStatus] = self._api().modules()
            return statuses
        return self._api().status(module)

    def fault(
        self,
        kind: str,
        *,
        modules: ModuleSelection = "all",
        duration: Optional[float] = None,
        **params: Any,
    ) -> FleetFault:
        """One fault on a set of modules: a count, a list of ids, ``"10%"`` or ``"all"``."""
        return FleetFault(self._api(), self._api().fleet_fault(modules, kind, params, duration))

    def clear_faults(self) -> None:
        """Ends every active fault of every module."""
        api = self._api()
        for status in api.modules():
            if status.get("faults"):
                api.clear_faults(int(status["id"]))

    def events(self, module: Optional[int] = None, *, idle_timeout: float = 10.0) -> Iterator[Event]:
        """The timeline (of one module, or all)."""
        return self._api().events(module, idle_timeout=idle_timeout)

    def metrics(self) -> str:
        """The Prometheus metrics text."""
        return self._api().metrics()
