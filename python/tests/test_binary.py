"""Finding the vmodem binary: the documented order, and errors that say what to do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import vmodem
from vmodem import _binary


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No VMODEM_BIN, no installed binary, an empty PATH, no checkout."""
    monkeypatch.delenv("VMODEM_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.setattr(_binary, "_bundled", lambda: [tmp_path / "site" / "bin" / "vmodem"])
    monkeypatch.setattr(_binary, "_checkouts", lambda: [])
    return tmp_path


def test_an_explicit_binary_wins_over_vmodem_bin(nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _exe(nowhere / "a" / "vmodem"), _exe(nowhere / "b" / "vmodem")
    monkeypatch.setenv("VMODEM_BIN", str(b))
    assert vmodem.find_binary(a) == str(a)
    assert vmodem.find_binary() == str(b)


def test_vmodem_bin_naming_a_missing_file_is_an_error_not_a_fallback(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _exe(nowhere / "empty-path" / "vmodem")  # one on PATH that must not be used silently
    monkeypatch.setenv("VMODEM_BIN", str(nowhere / "missing" / "vmodem"))
    with pytest.raises(vmodem.VmodemError, match="VMODEM_BIN .* does not exist.*cargo build"):
        vmodem.find_binary()


def test_the_installed_binary_comes_before_path(nowhere: Path) -> None:
    on_path = _exe(nowhere / "empty-path" / "vmodem")
    assert vmodem.find_binary() == str(on_path)
    installed = _exe(nowhere / "site" / "bin" / "vmodem")
    assert vmodem.find_binary() == str(installed)


def test_a_checkout_gives_its_newest_build(nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = nowhere / "checkout"
    debug = _exe(root / "target" / "debug" / "vmodem")
    release = _exe(root / "target" / "release" / "vmodem")
    os.utime(debug, (1000, 1000))
    os.utime(release, (2000, 2000))
    monkeypatch.setattr(_binary, "_checkouts", lambda: [root])
    assert vmodem.find_binary() == str(release)
    os.utime(debug, (3000, 3000))
    assert vmodem.find_binary() == str(debug)


def test_no_binary_anywhere_lists_the_places_and_what_to_do(nowhere: Path) -> None:
    with pytest.raises(vmodem.BinaryNotFound) as e:
        vmodem.find_binary()
    text = str(e.value)
    assert "VMODEM_BIN: not set" in text
    assert str(nowhere / "site" / "bin" / "vmodem") in text
    assert "pip install ./python" in text and "cargo build -p vmodem-cli" in text
    assert "VMODEM_BIN=/path/to/vmodem" in text


def test_a_module_without_a_binary_raises_before_starting_anything(nowhere: Path) -> None:
    with pytest.raises(vmodem.BinaryNotFound):
        with vmodem.Module():
            pass  # pragma: no cover


def test_flags_are_read_from_the_binarys_help(binary: str) -> None:
    run = _binary.flags(binary, "run")
    assert run is not None and {"--model", "--timing", "--trace", "--broker-listen"} <= run
    assert _binary.flags(binary, "no-such-command") is None
