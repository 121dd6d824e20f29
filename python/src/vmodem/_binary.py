"""Finding the ``vmodem`` binary, and which flags it has.

The order is the one a user expects: what they named (argument, then ``VMODEM_BIN``), the binary
this package was installed with, the one on ``PATH``, then a checkout's ``target/`` (the newest of
``debug`` and ``release``, so the last ``cargo build`` wins).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import FrozenSet, List, Optional, Tuple, Union

from .errors import BinaryNotFound, UnsupportedOption, VmodemError

PathLike = Union[str, "os.PathLike[str]"]

EXE = "vmodem.exe" if sys.platform == "win32" else "vmodem"


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _bundled() -> List[Path]:
    """Where the wheel put its binary: the distribution's file list, then the scripts folders."""
    found: List[Path] = []
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        try:
            dist = distribution("vmodem")
        except PackageNotFoundError:
            dist = None
        if dist is not None:
            for file in dist.files or []:
                if file.name == EXE and file.parent.name in ("bin", "scripts", "Scripts"):
                    found.append(Path(str(dist.locate_file(file))).resolve())
    except Exception:  # a broken installation must not hide the other places
        pass
    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path(
                "scripts"
            )
        except KeyError:
            continue
        if scripts:
            found.append(Path(scripts) / EXE)
    return found


def _checkouts() -> List[Path]:
    """Roots of vmodem checkouts: above this file (running from ``python/src``) and above cwd."""
    roots: List[Path] = []
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / "crates" / "vmodem-cli" / "Cargo.toml").is_file():
                if folder not in roots:
                    roots.append(folder)
                break
    return roots


def find_binary(explicit: Optional[PathLike] = None) -> str:
    """Returns the path of the ``vmodem`` binary to run.

    Looks, in order, at ``explicit``, ``$VMODEM_BIN``, the binary installed with this package,
    ``PATH``, and ``target/debug/vmodem`` / ``target/release/vmodem`` of a vmodem checkout above
    this package or the current directory (the newer of the two). Raises :class:`BinaryNotFound`
    with every place looked in and what to do.
    """
    looked: List[str] = []
    for name, value in (("argument", explicit), ("VMODEM_BIN", os.environ.get("VMODEM_BIN"))):
        if value is None or str(value) == "":
            looked.append(f"{name}: not set")
            continue
        path = Path(value).expanduser()
        if _is_executable(path):
            return str(path.resolve())
        # A name the user gave that does not exist is their mistake: say so, do not fall back.
        which = shutil.which(str(value))
        if which:
            return which
        raise VmodemError(
            f"the vmodem binary named by {name} ({value}) does not exist or is not executable: "
            "fix the path (build it with `cargo build -p vmodem-cli`: target/debug/vmodem), or "
            "unset it to use the installed one"
        )
    for path in _bundled():
        looked.append(f"installed with the package: {path}")
        if _is_executable(path):
            return str(path)
    which = shutil.which(EXE)
    looked.append(f"PATH: {which or 'no vmodem on PATH'}")
    if which:
        return which
    candidates: List[Tuple[float, Path]] = []
    for root in _checkouts():
        for profile in ("debug", "release"):
            path = root / "target" / profile / EXE
            looked.append(f"checkout: {path}")
            if _is_executable(path):
                candidates.append((path.stat().st_mtime, path))
    if candidates:
        return str(max(candidates)[1])
    if not _checkouts():
        looked.append("checkout: none above this package or the current directory")
    raise BinaryNotFound(looked)


@functools.lru_cache(maxsize=32)
def _help(binary: str, command: str, _mtime: float) -> Optional[str]:
    try:
        done = subprocess.run(
            [binary, command, "--help"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise VmodemError(f"cannot run {binary} {command} --help: {e}") from e
    if done.returncode != 0:
        return None  # no such subcommand (e.g. `fleet` before issue 13)
    return done.stdout


def flags(binary: str, command: str = "run") -> Optional[FrozenSet[str]]:
    """The long flags ``vmodem COMMAND --help`` lists, or None when the subcommand is missing."""
    text = _help(binary, command, os.stat(binary).st_mtime)
    if text is None:
        return None
    found = set()
    for word in text.replace(",", " ").replace("[", " ").replace("]", " ").split():
        if word.startswith("--") and len(word) > 2:
            found.add(word.split("=")[0].split("<")[0])
    return frozenset(found)


def require_flag(binary: str, command: str, flag: str, what: str) -> None:
    """Raises :class:`UnsupportedOption` unless ``vmodem COMMAND`` has ``flag``."""
    have = flags(binary, command)
    if have is None:
        raise UnsupportedOption(binary, command, what)
    if flag not in have:
        raise UnsupportedOption(binary, f"{command} {flag}", what)


def has_flag(binary: str, command: str, flag: str) -> bool:
    """Whether ``vmodem COMMAND`` has ``flag``."""
    have = flags(binary, command)
    return have is not None and flag in have
