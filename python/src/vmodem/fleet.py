"""``vmodem.Fleet``: many modules in one ``vmodem fleet`` process (issue 13).

UNTESTED: ``vmodem fleet`` does not exist yet. This is written against issue 13's command line
(``--count``, ``--script``, ``--tcp-base``, ``--pty-dir``, ``--ramp``, ``--duration``, ``--json``,
``--shard``) and the team's control API draft, so that it needs only testing and small
adjustments when the fleet lands. Until then starting a Fleet raises
:class:`vmodem.UnsupportedOption` saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

from . import _binary
from ._process import Banner, VmodemProcess
from .control import Control, FleetFault
from .errors import ControlUnavailable, ModuleExited, VmodemError
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
        stop_timeout, log_level: as for :class:`vmodem.Module`. ``control`` defaults to on:
        a Fleet is driven through it.
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
        control: Listen = True,
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
        self._control_arg = listen_arg(control)
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
        cmd += ["--json", str(self.report_path)]
        if self.script is not None:
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
        if self._control_arg is not None:
            cmd += ["--control", self._control_arg]
            if self.token:
                cmd += ["--control-token", self.token]
        for flag, value in (
            ("--network", self.network),
            ("--seed", self.seed),
            ("--ramp", self.ramp),
            ("--duration", None if self.duration is None else f"{self.duration:g}s"),
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
        return self

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
            raise ControlUnavailable("this Fleet was made with control=False")
        return self._banner.control

    def report(self) -> Any:
        """The ``--json`` summary (after the fleet ended)."""
        return json.loads(self.report_path.read_text())

    # -- the control API ------------------------------------------------------------------

    def _api(self) -> Control:
        if self._process is None:
            raise VmodemError("the fleet is not started")
        if self._control is None:
            raise ControlUnavailable("this Fleet was made with control=False")
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
