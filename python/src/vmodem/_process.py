"""Starting a ``vmodem`` process, reading its start-up message, and stopping it by its own pid.

Its stdout and stderr go to files in the work folder (no pipes to fill up and block it); the
start-up message is read from the stdout file until the lines the caller needs are there.
Stopping is SIGTERM (vmodem shuts down cleanly: links closed, ``--link`` removed), then SIGKILL
after a bound. On Linux the child also gets SIGTERM if this Python process dies
(``PR_SET_PDEATHSIG``), and an ``atexit`` hook stops any that are still running, so no vmodem is
left behind by a crashed or interrupted test run.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import re
import signal
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .errors import PortBusy, StartError

_LIVE: "weakref.WeakSet[VmodemProcess]" = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


@dataclass
class Banner:
    """What the start-up message said, line by line (``key: value``)."""

    lines: Dict[str, str] = field(default_factory=dict)
    pty: Optional[str] = None
    link: Optional[str] = None
    tcp: Optional[Tuple[str, int]] = None
    broker: Optional[Tuple[str, int]] = None
    control: Optional[str] = None
    done: bool = False
    """The message's last line (``stop:``) was seen."""


_ADDR = re.compile(r"^\[?([0-9A-Fa-f:.]+|localhost)\]?:(\d+)$")


def split_addr(text: str) -> Tuple[str, int]:
    """``127.0.0.1:1883`` or ``[::1]:1883`` as ``(host, port)``."""
    found = _ADDR.match(text.strip())
    if not found:
        raise ValueError(f"not an address: {text!r}")
    return found.group(1), int(found.group(2))


def parse_banner(text: str) -> Banner:
    """Reads ``vmodem run``'s (or ``vmodem fleet``'s) start-up message."""
    banner = Banner()
    for raw in text.splitlines():
        key, sep, value = raw.partition(":")
        if key == "vmodem fleet" and sep:
            banner.lines.setdefault("fleet", value.strip())  # `vmodem fleet`'s first line
            continue
        if not sep or " " in key.strip() or not key.strip():
            continue
        key, value = key.strip(), value.strip()
        banner.lines.setdefault(key, value)
        if key == "serial":
            if value.startswith("tcp "):
                banner.tcp = split_addr(value.split()[1])
            elif value.startswith("/"):
                banner.pty = value.split()[0]
        elif key == "link" and "->" in value:
            banner.link = value.split("->")[0].strip()
        elif key == "broker" and not value.startswith("none"):
            try:
                banner.broker = split_addr(value.split()[0])
            except ValueError:
                pass
        elif key == "control":
            url = re.search(r"https?://\S+", value)
            if url:
                banner.control = url.group(0).rstrip("/")
        elif key == "stop":
            banner.done = True
    return banner


def _pdeathsig() -> Optional[Callable[[], None]]:
    """A preexec_fn that makes the child get SIGTERM when we die (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def set_it() -> None:
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return set_it


_ADDR_IN_USE = re.compile(r"in use|cannot listen on|address already|AddrInUse", re.IGNORECASE)


class VmodemProcess:
    """One running ``vmodem`` (``run`` or ``fleet``), its output files and its banner."""

    def __init__(
        self,
        command: Sequence[str],
        workdir: Path,
        *,
        env: Optional[Dict[str, str]] = None,
        what_busy: str = "",
    ) -> None:
        self.command = list(command)
        self.workdir = workdir
        self.stdout_path = workdir / "vmodem.stdout"
        self.stderr_path = workdir / "vmodem.stderr"
        self._what_busy = what_busy
        self.popen: Optional["subprocess.Popen[bytes]"] = None
        self.banner = Banner()
        self._env = env

    # -- start ----------------------------------------------------------------------------

    def start(self, need: Callable[[Banner], List[str]], timeout: float) -> Banner:
        """Starts vmodem and waits until ``need(banner)`` (the missing lines' names) is empty."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            try:
                self.popen = subprocess.Popen(
                    self.command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=str(self.workdir),
                    env=self._env,
                    preexec_fn=_pdeathsig(),
                )
            except OSError as e:
                raise StartError(f"cannot start vmodem: {e}", command=self.command) from e
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            return self._wait_banner(need, timeout)
        except BaseException:
            self.stop()  # Ctrl-C or an error while waiting: never leave it running
            raise

    def _wait_banner(self, need: Callable[[Banner], List[str]], timeout: float) -> Banner:
        assert self.popen is not None
        deadline = time.monotonic() + timeout
        grace: Optional[float] = None
        while True:
            self.banner = parse_banner(self._read(self.stdout_path))
            missing = need(self.banner)
            if not missing:
                return self.banner
            code = self.popen.poll()
            if code is not None:
                self.banner = parse_banner(self._read(self.stdout_path))
                self._raise_exited(code)
            now = time.monotonic()
            if self.banner.done and grace is None:
                grace = now + 1.0  # the message is out; give late lines a moment
            if now > deadline or (grace is not None and now > grace):
                output = self.output()
                self.stop()
                raise StartError(
                    f"vmodem did not print its {' and '.join(missing)} "
                    + ("line" if len(missing) == 1 else "lines")
                    + (" (the start-up message is complete without it)" if grace else
                       f" within {timeout:g} s"),
                    command=self.command,
                    output=output,
                )
            time.sleep(0.01)

    def _raise_exited(self, code: int) -> None:
        output = self.output()
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if _ADDR_IN_USE.search(output):
            raise PortBusy(
                f"vmodem could not listen on a port it was given (exit status {code}): "
                f"{self._what_busy or 'pass 0 to take a free port'}",
                command=self.command,
                output=output,
            )
        hint = (
            "vmodem refused its command line: check the arguments (model, timing, args=...)"
            if code == 2
            else f"vmodem exited at start (status {code})"
        )
        raise StartError(hint, command=self.command, output=output)

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def output(self) -> str:
        """What vmodem printed so far: its start-up message and its log."""
        return (self._read(self.stdout_path) + self._read(self.stderr_path)).strip()

    # -- run / stop -----------------------------------------------------------------------

    @property
    def pid(self) -> Optional[int]:
        """The process id, while started."""
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.popen is not None and self.popen.poll() is None

    def returncode(self) -> Optional[int]:
        """The exit status once it has ended."""
        return None if self.popen is None else self.popen.poll()

    def wait(self, timeout: Optional[float]) -> Optional[int]:
        """Waits for the process to end by itself; None if it is still running after timeout."""
        if self.popen is None:
            return None
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 5.0) -> Optional[int]:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit status."""
        popen = self.popen
        if popen is None:
            return None
        try:
            if popen.poll() is None:
                try:
                    popen.send_signal(signal.SIGTERM)  # our own child, by its pid
                    popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    popen.kill()
                    popen.wait(timeout)
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(self)
        return popen.returncode


@atexit.register
def _stop_all() -> None:  # pragma: no cover - runs at interpreter exit
    with _LIVE_LOCK:
        live = list(_LIVE)
    for process in live:
        try:
            process.stop(timeout=2.0)
        except Exception:
            pass


def live_processes() -> List[int]:
    """Pids of the vmodem processes this package started that still run (for tests)."""
    with _LIVE_LOCK:
        return [p.pid for p in _LIVE if p.pid is not None and p.alive()]


