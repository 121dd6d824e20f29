"""The pytest plugin, run on small test files with pytester."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import List

import pytest


def _plugin_args() -> List[str]:
    try:
        group = entry_points(group="pytest11")  # Python 3.10+
    except TypeError:  # 3.9: the plugin is passed with -p, which works either way
        return ["-p", "vmodem.pytest_plugin"]
    installed = any(ep.value == "vmodem.pytest_plugin" for ep in group)
    return [] if installed else ["-p", "vmodem.pytest_plugin"]


def test_a_failed_test_reports_the_modules_serial_lines(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import time, serial
        def test_fails(vmodem_module):
            with serial.Serial(vmodem_module.port, 115200, timeout=0.2) as port:
                port.write(b"AT+CGMR\\r")
                time.sleep(0.3)
                port.read(500)
            assert False, "the firmware did not publish"
    """)
    result = pytester.runpytest(*_plugin_args(), "--vmodem-trace-lines", "5")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*vmodem trace (module 0)*",
        "* host>   AT+CGMR",
        "* <modem  EC25EFAR06A06M4G",
        "* <modem  OK",
    ])


def test_marker_beats_option_beats_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        def test_option(vmodem_module):
            assert vmodem_module.model == "eg95"
        @pytest.mark.vmodem(model="bg96", tcp=True)
        def test_marker(vmodem_module):
            assert vmodem_module.model == "bg96"
            assert vmodem_module.tcp[0] == "127.0.0.1"
        def test_two(vmodem_factory):
            a, b = vmodem_factory(), vmodem_factory(model="em05")
            assert a.pid != b.pid and a.broker != b.broker and b.model == "em05"
    """)
    result = pytester.runpytest(*_plugin_args(), "--vmodem-model", "eg95")
    result.assert_outcomes(passed=3)


def test_vmodem_requires_skips_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.vmodem_requires("--no-such-flag", reason="issue 99")
        def test_pending(vmodem_module):
            raise AssertionError("must not run")
        @pytest.mark.vmodem_requires("--trace")
        def test_runs():
            pass
    """)
    result = pytester.runpytest(*_plugin_args(), "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*pending: * has no `vmodem run --no-such-flag` (issue 99)*"])


def test_options_are_documented_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*_plugin_args(), "--help")
    result.stdout.fnmatch_lines(["*--vmodem-bin=PATH*", "*--vmodem-model=MODEL*"])


def test_timing_and_network_options_reach_vmodem_and_a_marker_overrides_them(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import pytest
        def _cmdline(module):
            with open(f"/proc/{module.pid}/cmdline", "rb") as f:
                return f.read().split(b"\\0")
        def test_options(vmodem_module):
            args = _cmdline(vmodem_module)
            assert args[args.index(b"--timing") + 1] == b"realistic"
            assert args[args.index(b"--network") + 1] == b"catm1"
        @pytest.mark.vmodem(timing="fast", network="none")
        def test_marker(vmodem_module):
            args = _cmdline(vmodem_module)
            assert args[args.index(b"--timing") + 1] == b"fast"
            assert args[args.index(b"--network") + 1] == b"none"
    """)
    result = pytester.runpytest(
        *_plugin_args(), "--vmodem-timing", "realistic", "--vmodem-network", "catm1"
    )
    result.assert_outcomes(passed=2)


def test_a_passing_test_has_no_trace_and_a_dead_module_shows_its_log(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import os, signal, time
        def test_passes(vmodem_module):
            pass
        def test_module_died(vmodem_module):
            os.kill(vmodem_module.pid, signal.SIGTERM)  # the fixture's own module, by its pid
            deadline = time.monotonic() + 5
            while vmodem_module.alive() and time.monotonic() < deadline:
                time.sleep(0.02)
            vmodem_module.status()  # raises: the module is gone
    """)
    result = pytester.runpytest(*_plugin_args(), "-rA")
    result.assert_outcomes(passed=1, failed=1)
    text = result.stdout.str()
    assert text.count("vmodem trace (module 0)") == 1, text
    result.stdout.fnmatch_lines(["*vmodem log (module 0, exited 0)*", "*serial: /dev/pts/*"])
