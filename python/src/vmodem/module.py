"""``vmodem.Module``: one virtual module (``vmodem run``) for the length of a ``with`` block."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _binary, trace
from ._process import Banner, VmodemProcess
from .control import Control, Fault
from .errors import ControlUnavailable, ModuleExited, VmodemError
from .types import Event, FaultInfo, ModuleStatus

PathLike = Union[str, "os.PathLike[str]"]
#: ``True`` (a free port on 127.0.0.1), a port number, ``"IP:PORT"``, or ``False``/``None``.
Listen = Union[bool, int, str, None]


def listen_arg(value: Listen, default_host: str = "127.0.0.1") -> Optional[str]:
    """``True`` → ``127.0.0.1:0``; ``1883`` → ``127.0.0.1:1883``; a string as given; else None."""
    if value is None or value is False:
        return None
    if value is True:
        return f"{default_host}:0"
    if isinstance(value, int):
        if not 0 <= value <= 65535:
            raise ValueError(f"port {value} is out of range: give 0-65535 (0 picks a free port)")
        return f"{default_host}:{value}"
    if isinstance(value, str):
        return value
    raise TypeError(f"expected True, a port number or 'IP:PORT', not {value!r}")


class Module:
    """A virtual Quectel module: ``vmodem run`` started for a ``with`` block, stopped after it.

    ::

        with vmodem.Module(model="bg96") as module:
            port = serial.Serial(module.port, 115200, timeout=1)
            port.write(b"ATI\\r")

    Everything listens on loopback and on free ports, so modules run side by side (pytest-xdist
    too). The serial line is a pseudo-terminal (``port``) unless ``tcp`` is asked for; the
    module powers up (``RDY`` and the boot URCs) when the host first opens it, as a real module
    does when the MCU powers it, unless ``power_on="start"``.

    Args:
        model: ``ec25``, ``eg95``, ``em05`` or ``bg96`` (``vmodem run --help`` lists them).
        timing: ``fast`` (answers at once) or ``realistic`` (delays like hardware; boot ~7 s).
        network: a radio-network profile (``none``, ``lte``, ``catm1``, ``nbiot``; needs a vmodem
            with ``--network``).
        broker: the built-in MQTT broker: ``True`` on a free port, a port, ``"IP:PORT"``, or
            ``False`` for none (the module reaches your broker).
        tcp: serve the serial line on TCP instead of a pty: ``True`` (free port), a port, or
            ``"IP:PORT"``.
        trace: record the serial line (JSON lines): ``True`` into the work folder, a path, or
            ``False``.
        args: more ``vmodem run`` flags, as a list of strings.
        binary: the vmodem binary (default: see :func:`vmodem.find_binary`).
        control: the control API: ``None`` starts it when the binary has it, ``True`` requires it,
            ``False`` leaves it off, a port or ``"IP:PORT"`` puts it there.
        token: the control API's bearer token (``--control-token``).
        link: also make a symlink to the pty at this path (``--link``).
        power_on: ``"attach"`` (boot when the host opens the line) or ``"start"`` (at once).
        broker_users: ``{user: password}`` the built-in broker accepts (``--broker-user``); others
            are refused with ``+QMTCONN: <c>,0,4``-style answers.
        hosts: ``{name: ip}`` the module resolves (``--hosts``).
        seed: the seed of the module's randomness (``--seed``; needs a vmodem with it).
        workdir: where the trace, the output of vmodem and its state go. Default: a temporary
            folder removed at exit (so read ``trace_path`` inside the ``with``), unless
            ``keep=True``.
        start_timeout: seconds to wait for the start-up message.
        stop_timeout: seconds between SIGTERM and SIGKILL at exit.
        log_level: vmodem's ``--log-level`` (its log goes to ``log_path``).
    """

    def __init__(
        self,
        model: str = "ec25",
        timing: str = "fast",
        network: Optional[str] = None,
        broker: Listen = True,
        tcp: Listen = False,
        trace: Union[bool, PathLike] = True,
        args: Sequence[str] = (),
        *,
        binary: Optional[PathLike] = None,
        control: Listen = None,
        token: Optional[str] = None,
        link: Optional[PathLike] = None,
        power_on: str = "attach",
        broker_users: Optional[Mapping[str, str]] = None,
        hosts: Optional[Mapping[str, str]] = None,
        seed: Optional[int] = None,
        workdir: Optional[PathLike] = None,
        keep: bool = False,
        start_timeout: float = 20.0,
        stop_timeout: float = 5.0,
        log_level: str = "info",
    ) -> None:
        if isinstance(args, str):
            raise TypeError("args is a list of flags, e.g. args=['--hosts', 'b.test=127.0.0.1']")
        if power_on not in ("attach", "start"):
            raise ValueError(f"power_on is 'attach' or 'start', not {power_on!r}")
        if tcp and link:
            raise ValueError("link= makes a symlink to the pty; with tcp= there is no pty")
        self.model = model
        self.timing = timing
        self.network = network
        self._broker_arg = listen_arg(broker)
        self._tcp_arg = listen_arg(tcp)
        self._trace_opt = trace
        self.args = list(args)
        self._binary_opt = binary
        self._control_opt = control
        self.token = token
        self._link = None if link is None else str(link)
        self.power_on = power_on
        self.broker_users = dict(broker_users or {})
        self.hosts = dict(hosts or {})
        self.seed = seed
        self._workdir_opt = None if workdir is None else Path(workdir)
        self._keep = keep or workdir is not None
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_level = log_level
        self.binary: Optional[str] = None
        self.workdir: Optional[Path] = None
        self._process: Optional[VmodemProcess] = None
        self._banner = Banner()
        self._control: Optional[Control] = None
        self._control_missing = ""
        self._trace_path: Optional[Path] = None

    # -- life cycle -----------------------------------------------------------------------

    def command(self) -> List[str]:
        """The ``vmodem run`` command line this module starts with (finds the binary)."""
        binary = self.binary or _binary.find_binary(self._binary_opt)
        self.binary = binary
        assert self.workdir is not None, "command() is built by start()"
        cmd = [binary, "run", "--model", self.model, "--timing", self.timing]
        cmd += ["--log-level", self.log_level, "--power-on", self.power_on]
        cmd += ["--state-dir", str(self.workdir / "state")]
        if self._tcp_arg is not None:
            cmd += ["--tcp", self._tcp_arg]
        elif self._link is not None:
            cmd += ["--link", self._link]
        cmd += ["--no-broker"] if self._broker_arg is None else ["--broker-listen", self._broker_arg]
        if self._trace_path is not None:
            cmd += ["--trace", str(self._trace_path)]
        for name, ip in self.hosts.items():
            cmd += ["--hosts", f"{name}={ip}"]
        if self.network is not None:
            _binary.require_flag(binary, "run", "--network", f"network={self.network!r}")
            cmd += ["--network", self.network]
        if self.seed is not None:
            _binary.require_flag(binary, "run", "--seed", f"seed={self.seed}")
            cmd += ["--seed", str(self.seed)]
        if self.broker_users:
            if self._broker_arg is None:
                raise ValueError("broker_users= configures the built-in broker; broker=False has none")
            _binary.require_flag(binary, "run", "--broker-user", "broker_users=")
            for user, password in self.broker_users.items():
                if ":" in user:
                    raise ValueError(f"a broker user name cannot contain ':' ({user!r})")
                cmd += ["--broker-user", f"{user}:{password}"]
        control = self._control_opt
        if control is None:
            if _binary.has_flag(binary, "run", "--control"):
                control = True
            else:
                self._control_missing = (
                    f"{binary} has no control API (`vmodem run --control`, issue 10): status(), "
                    "fault(), clear_faults() and events() need it. Rebuild vmodem from a checkout "
                    "that has it, or point VMODEM_BIN at one."
                )
        elif control is True:
            _binary.require_flag(binary, "run", "--control", "control=True (status, faults, events)")
        elif control is False:
            self._control_missing = "this Module was made with control=False: pass control=True"
        if control not in (None, False):
            cmd += ["--control", str(listen_arg(control))]
            if self.token:
                cmd += ["--control-token", self.token]
        return cmd + self.args

    def start(self) -> "Module":
        """Starts vmodem and waits for its start-up message. Returns self."""
        if self._process is not None:
            raise VmodemError("this Module is already started; make a new one for a second module")
        if self._workdir_opt is not None:
            self.workdir = self._workdir_opt
            self.workdir.mkdir(parents=True, exist_ok=True)
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="vmodem-"))
        if self._trace_opt is True:
            self._trace_path = self.workdir / "trace.jsonl"
        elif self._trace_opt:
            self._trace_path = Path(self._trace_opt)
        try:
            cmd = self.command()
        except BaseException:
            self._cleanup_files()
            raise
        wants_control = "--control" in cmd

        def need(banner: Banner) -> List[str]:
            missing = []
            if banner.pty is None and banner.tcp is None:
                missing.append("serial:")
            if self._broker_arg is not None and banner.broker is None:
                missing.append("broker:")
            if wants_control and banner.control is None:
                missing.append("control:")
            return missing

        self._process = VmodemProcess(
            cmd,
            self.workdir,
            what_busy=(
                "pass broker=True / tcp=True / control=None (free ports), or other port numbers; "
                "broker=False uses the broker already there"
            ),
        )
        try:
            self._banner = self._process.start(need, self.start_timeout)
        except BaseException:
            self._cleanup_files()
            raise
        if self._banner.control:
            self._control = Control(self._banner.control, token=self.token)
        return self

    def stop(self) -> Optional[int]:
        """Stops vmodem (SIGTERM, then SIGKILL after ``stop_timeout``); returns its exit status."""
        if self._process is None:
            return None
        try:
            return self._process.stop(self.stop_timeout)
        finally:
            self._cleanup_files()

    def _cleanup_files(self) -> None:
        if not self._keep and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Module":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._banner.pty or self._banner.tcp or "not started"
        return f"Module(model={self.model!r}, timing={self.timing!r}, serial={where!r})"

    # -- where things are -----------------------------------------------------------------

    def _started(self) -> VmodemProcess:
        if self._process is None:
            raise VmodemError("the module is not started: use `with Module(...) as m:` or m.start()")
        return self._process

    @property
    def pid(self) -> int:
        """The vmodem process id."""
        pid = self._started().pid
        assert pid is not None
        return pid

    @property
    def port(self) -> str:
        """The serial device for pyserial: the ``link=`` path if given, else ``/dev/pts/N``."""
        self._started()
        if self._banner.pty is None:
            raise VmodemError("this module serves its serial line on TCP: use .tcp (or tcp=False)")
        return self._banner.link or self._banner.pty

    @property
    def pty(self) -> str:
        """The pseudo-terminal's own path, ``/dev/pts/N``."""
        self._started()
        if self._banner.pty is None:
            raise VmodemError("this module serves its serial line on TCP: use .tcp (or tcp=False)")
        return self._banner.pty

    @property
    def tcp(self) -> Tuple[str, int]:
        """``(host, port)`` of the TCP serial line (``tcp=True``)."""
        self._started()
        if self._banner.tcp is None:
            raise VmodemError("this module's serial line is a pty (.port): pass tcp=True for TCP")
        return self._banner.tcp

    @property
    def serial_url(self) -> str:
        """A pyserial URL of the line: the device path, or ``socket://HOST:PORT``."""
        if self._banner.tcp is not None:
            return "socket://{}:{}".format(*self._banner.tcp)
        return self.port

    @property
    def broker(self) -> Tuple[str, int]:
        """``(host, port)`` of the built-in MQTT broker."""
        self._started()
        if self._banner.broker is None:
            raise VmodemError("this module has no built-in broker (broker=False)")
        return self._banner.broker

    @property
    def control(self) -> str:
        """The control API's URL, ``http://127.0.0.1:PORT``."""
        self._started()
        if self._banner.control is None:
            raise ControlUnavailable(self._control_missing or "the control API did not start")
        return self._banner.control

    @property
    def trace_path(self) -> Optional[Path]:
        """The trace file (JSON lines), or None with ``trace=False``."""
        return self._trace_path

    @property
    def log_path(self) -> Path:
        """vmodem's log (its stderr)."""
        return self._started().stderr_path

    def output(self) -> str:
        """What vmodem printed: its start-up message and its log so far."""
        return self._started().output()

    def alive(self) -> bool:
        """Whether vmodem is still running."""
        return self._process is not None and self._process.alive()

    def trace_excerpt(self, last: int = 40) -> str:
        """The last ``last`` lines of the serial conversation, readable."""
        if self._trace_path is None:
            return "(no trace: the module was made with trace=False)"
        return trace.excerpt(self._trace_path, last)

    def open_serial(self, baudrate: int = 115200, timeout: Optional[float] = 1.0, **kw: Any) -> Any:
        """Opens the serial line with pyserial (``pip install vmodem[serial]``)."""
        try:
            import serial  # type: ignore[import-untyped,unused-ignore]
        except ImportError as e:
            raise VmodemError("open_serial() needs pyserial: pip install pyserial") from e
        return serial.serial_for_url(self.serial_url, baudrate=baudrate, timeout=timeout, **kw)

    # -- the control API (issue 10) -------------------------------------------------------

    def _api(self) -> Control:
        process = self._started()
        if self._control is None:
            raise ControlUnavailable(self._control_missing or "the control API did not start")
        if not process.alive():
            raise ModuleExited(process.returncode(), process.output())
        return self._control

    def status(self) -> ModuleStatus:
        """The module's status (power, registration, PDP contexts, MQTT clients, faults)."""
        return self._api().status(0)

    def fault(self, kind: str, *, duration: Optional[float] = None, **params: Any) -> Fault:
        """Starts a fault, e.g. ``fault("network_loss", stat=2)`` or ``fault("reset")``.

        ``duration`` (seconds) ends it by itself; otherwise call ``.end()`` on the handle, or
        use it as a context manager. An unknown kind raises :class:`vmodem.UnknownFaultKind`
        with the kinds the API knows (``.kinds``).
        """
        return Fault(self._api(), 0, self._api().add_fault(0, kind, params, duration))

    def faults(self) -> List[FaultInfo]:
        """The active faults."""
        return self._api().faults(0)

    def clear_faults(self) -> None:
        """Ends every active fault."""
        self._api().clear_faults(0)

    def events(self, *, idle_timeout: float = 10.0) -> Iterator[Event]:
        """The module's timeline as it happens (serial lines, MQTT packets, faults).

        Ends when nothing happened for ``idle_timeout`` seconds.
        """
        return self._api().events(None, idle_timeout=idle_timeout)

    def metrics(self) -> str:
        """The Prometheus metrics text."""
        return self._api().metrics()

