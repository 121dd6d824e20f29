"""The errors the package raises. Each message says what went wrong and what to do next."""

from __future__ import annotations

from typing import Optional, Sequence


class VmodemError(Exception):
    """Base class of every error this package raises."""


class BinaryNotFound(VmodemError):
    """No ``vmodem`` binary was found in any of the places looked in."""

    def __init__(self, looked_in: Sequence[str]) -> None:
        self.looked_in = list(looked_in)
        places = "\n".join(f"  - {p}" for p in self.looked_in)
        super().__init__(
            "cannot find the vmodem binary. Looked in:\n"
            f"{places}\n"
            "Do one of these:\n"
            "  - install the package with its binary: pip install ./python (from a vmodem "
            "checkout, needs Rust) or pip install vmodem-*.whl (a wheel built by "
            "`maturin build --release`);\n"
            "  - build it in a checkout: cargo build -p vmodem-cli (then run from the checkout);\n"
            "  - point at one: set VMODEM_BIN=/path/to/vmodem, or pass binary=... "
            "(pytest: --vmodem-bin PATH)."
        )


class UnsupportedOption(VmodemError):
    """The vmodem binary in use does not have a flag the request needs (it is older)."""

    def __init__(self, binary: str, flag: str, what: str) -> None:
        self.binary = binary
        self.flag = flag
        super().__init__(
            f"{what} needs `vmodem {flag}`, which {binary} does not have (it is older than the "
            "feature). Rebuild it (cargo build -p vmodem-cli, or pip install ./python again), or "
            "point VMODEM_BIN at a newer vmodem."
        )


class StartError(VmodemError):
    """``vmodem`` exited, or did not print where its serial line is, while starting."""

    def __init__(self, message: str, *, command: Sequence[str], output: str = "") -> None:
        self.command = list(command)
        self.output = output
        text = message
        if output.strip():
            text += "\nvmodem said:\n" + "\n".join(
                "  " + line for line in output.strip().splitlines()[-15:]
            )
        text += "\ncommand: " + " ".join(self.command)
        super().__init__(text)


class PortBusy(StartError):
    """A port asked for (``broker=PORT``, ``tcp=PORT``, ``control=PORT``) is in use."""


class ControlUnavailable(VmodemError):
    """The control API (``vmodem run --control``) is not running for this module."""


class ApiError(VmodemError):
    """The control API answered with an error status; ``message`` is its ``error`` text."""

    def __init__(self, status: int, message: str, *, method: str, url: str) -> None:
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        super().__init__(f"{method} {url}: {status}: {message}")


class UnknownFaultKind(ApiError):
    """The control API refused a fault kind; ``kinds`` lists the ones it knows."""

    def __init__(
        self,
        kind: str,
        kinds: Sequence[str],
        status: int,
        message: str,
        *,
        method: str,
        url: str,
    ) -> None:
        self.kind = kind
        self.kinds = list(kinds)
        ApiError.__init__(self, status, message, method=method, url=url)
        listed = ", ".join(self.kinds) if self.kinds else "(the API did not list them)"
        self.args = (f"unknown fault kind {kind!r}: use one of {listed}",)


class ModuleExited(VmodemError):
    """The vmodem process ended while it was expected to run."""

    def __init__(self, returncode: Optional[int], output: str) -> None:
        self.returncode = returncode
        self.output = output
        tail = "\n".join("  " + line for line in output.strip().splitlines()[-15:])
        super().__init__(
            f"vmodem exited (status {returncode}) while the module was in use"
            + (f"; it said:\n{tail}" if tail else "")
        )
