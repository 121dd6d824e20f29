"""vmodem.Module against the real binary: start, talk, stop, and never leave a process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import serial  # type: ignore[import-untyped,unused-ignore]

import vmodem
from vmodem import _binary
from vmodem._process import live_processes


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie of ours (not reaped yet) still answers kill(0): check its state
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return True
        except FileNotFoundError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _ask(port: "serial.Serial", command: bytes, until: bytes = b"OK\r\n") -> bytes:
    port.write(command)
    got = b""
    deadline = time.monotonic() + 5
    while not got.endswith(until) and time.monotonic() < deadline:
        got += port.read(port.in_waiting or 1)
    return got


def test_the_pty_answers_ati_with_the_models_exact_bytes() -> None:
    with vmodem.Module(model="bg96") as module:
        assert module.port.startswith("/dev/pts/")
        with serial.Serial(module.port, 115200, timeout=0.2) as port:
            _ask(port, b"AT\r")  # wait until it is up (the boot URCs may be flushed by open())
            answer = _ask(port, b"ATI\r")
        assert answer.endswith(b"ATI\r\r\nQuectel\r\nBG96\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n"), answer
        pid = module.pid
    assert _gone(pid)
    assert pid not in live_processes()


def test_tcp_serial_line_boots_when_the_host_connects_and_the_broker_accepts_mqtt() -> None:
    with vmodem.Module(tcp=True) as module:
        with socket.create_connection(module.tcp, timeout=5) as line:
            got = b""
            while b"PB DONE\r\n" not in got:
                got += line.recv(512)
        assert got.startswith(b"\r\nRDY\r\n")
        with socket.create_connection(module.broker, timeout=5) as mqtt:
            # CONNECT, MQTT 3.1.1, clean session, keep-alive 10 s, client id "t"
            mqtt.sendall(bytes.fromhex("100d00044d5154540402000a000174"))
            assert mqtt.recv(4) == bytes.fromhex("20020000")  # CONNACK, accepted
        with pytest.raises(vmodem.VmodemError, match="tcp=False"):
            module.port


def test_the_trace_records_the_conversation() -> None:
    with vmodem.Module() as module:
        with serial.Serial(module.port, 115200, timeout=0.2) as port:
            _ask(port, b"AT+CGMM\r")
        time.sleep(0.1)
        lines = [(l.dir, l.text) for l in vmodem.trace.last_lines(module.trace_path or "")]
        assert ("host_to_module", "AT+CGMM") in lines and ("module_to_host", "EC25") in lines
        assert "host>   AT+CGMM" in module.trace_excerpt()


def test_an_exception_in_the_block_still_stops_vmodem() -> None:
    pid = 0
    with pytest.raises(KeyboardInterrupt):
        with vmodem.Module(trace=False) as module:
            pid = module.pid
            raise KeyboardInterrupt
    assert pid and _gone(pid)


def test_a_vmodem_that_ignores_sigterm_is_killed_after_the_bound(tmp_path: Path) -> None:
    # A stand-in that prints the banner and ignores SIGTERM: the one case SIGKILL is for.
    fake = tmp_path / "vmodem"
    fake.write_text(textwrap.dedent("""\
        #!/bin/sh
        trap '' TERM
        echo "serial: /dev/pts/999"
        echo "broker: 127.0.0.1:1 (built in)"
        echo "stop:   Ctrl-C"
        while :; do sleep 0.05; done
    """))
    fake.chmod(0o755)
    module = vmodem.Module(binary=fake, trace=False, stop_timeout=0.5, control=False).start()
    pid = module.pid
    started = time.monotonic()
    assert module.stop() == -signal.SIGKILL
    assert time.monotonic() - started < 3
    assert _gone(pid)


def test_vmodem_dies_with_a_python_process_that_is_killed(tmp_path: Path, binary: str) -> None:
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(Path(vmodem.__file__).parents[1])!r})
        import vmodem
        m = vmodem.Module(binary={binary!r}, trace=False).start()
        print(m.pid, flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = 0
    try:
        assert child.stdout is not None
        pid = int(child.stdout.readline())
        child.kill()  # SIGKILL: no atexit, no finally
        child.wait(5)
        assert _gone(pid), "vmodem outlived the Python process that started it"
    finally:
        if child.poll() is None:
            child.kill()
        if pid and not _gone(pid, within=0):
            os.kill(pid, signal.SIGKILL)  # the orphan this test made, by its pid


@pytest.mark.parametrize("which", ["broker", "tcp"])
def test_a_busy_port_says_what_to_pass(which: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(vmodem.PortBusy, match="broker=True / tcp=True .*free ports") as e:
            vmodem.Module(**{which: port}).start()
        assert f"127.0.0.1:{port}" in str(e.value)


def test_an_unknown_model_is_refused_with_the_models_there_are() -> None:
    with pytest.raises(vmodem.StartError, match="refused its command line") as e:
        vmodem.Module(model="ec99").start()
    assert "bg96" in str(e.value) and "ec25" in str(e.value)


def test_wrong_arguments_fail_in_python_before_vmodem_runs() -> None:
    with pytest.raises(TypeError, match="list of flags"):
        vmodem.Module(args="--hosts a=1.2.3.4")  # a str is a Sequence[str]: caught at run time
    with pytest.raises(ValueError, match="0-65535"):
        vmodem.Module(broker=70000)
    with pytest.raises(ValueError, match="no pty"):
        vmodem.Module(tcp=True, link="/tmp/x")


def _calls(module: vmodem.Module) -> list:  # type: ignore[type-arg]
    return [module.status, module.clear_faults, lambda: module.fault("reset"),
            lambda: next(module.events()), lambda: module.control]


def test_control_methods_fail_clearly_with_control_false() -> None:
    with vmodem.Module(trace=False, control=False) as module:
        for call in _calls(module):
            with pytest.raises(vmodem.ControlUnavailable, match="control=False: pass control=True"):
                call()


def test_control_methods_fail_clearly_with_a_vmodem_older_than_the_api(tmp_path: Path) -> None:
    # A stand-in for a vmodem without --control: its help lacks the flag, it prints a banner.
    old = tmp_path / "vmodem"
    old.write_text(textwrap.dedent("""\
        #!/bin/sh
        if [ "$2" = "--help" ]; then echo "  --model <M>  --trace <F>  --broker-listen <A>"; exit 0; fi
        echo "serial: /dev/pts/999"
        echo "broker: 127.0.0.1:1 (built in)"
        echo "stop:   Ctrl-C"
        exec sleep 30
    """))
    old.chmod(0o755)
    with vmodem.Module(binary=old, trace=False) as module:
        for call in _calls(module):
            with pytest.raises(vmodem.ControlUnavailable, match="has no control API .*issue 10"):
                call()
    with pytest.raises(vmodem.UnsupportedOption, match="--control"):
        vmodem.Module(binary=old, control=True).start()


def test_a_flag_the_binary_lacks_is_named(tmp_path: Path) -> None:
    old = tmp_path / "vmodem"  # a stand-in whose `run --help` predates --network
    old.write_text('#!/bin/sh\necho "  --model <M>  --trace <F>  --control <A>"\n')
    old.chmod(0o755)
    with pytest.raises(vmodem.UnsupportedOption, match="network='catm1' needs `vmodem run --network`"):
        vmodem.Module(network="catm1", binary=old).start()


def test_fleet_says_it_needs_vmodem_fleet(tmp_path: Path) -> None:
    # A stand-in for a vmodem older than `vmodem fleet`: clap's answer to an unknown subcommand.
    old = tmp_path / "vmodem"
    old.write_text("#!/bin/sh\necho \"error: unrecognized subcommand '$1'\" >&2\nexit 2\n")
    old.chmod(0o755)
    with pytest.raises(vmodem.UnsupportedOption, match="vmodem.Fleet .*`vmodem fleet`"):
        vmodem.Fleet(3, binary=old).start()


def _silent_binary(tmp_path: Path) -> Path:
    """A stand-in that starts and prints nothing, like a vmodem hung before its banner."""
    fake = tmp_path / "vmodem"
    fake.write_text("#!/bin/sh\necho $$ > pid\nwhile :; do sleep 0.05; done\n")
    fake.chmod(0o755)
    return fake


def test_no_start_up_message_in_time_stops_it_and_says_so(tmp_path: Path) -> None:
    work = tmp_path / "work"
    module = vmodem.Module(binary=_silent_binary(tmp_path), control=False, start_timeout=0.3,
                           workdir=work)
    with pytest.raises(vmodem.StartError, match="did not print its serial: and broker: lines within 0.3 s"):
        module.start()
    assert _gone(int((work / "pid").read_text()))


def test_ctrl_c_while_starting_stops_it(tmp_path: Path) -> None:
    work = tmp_path / "work"
    module = vmodem.Module(binary=_silent_binary(tmp_path), control=False, start_timeout=10,
                           workdir=work)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            module.start()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert _gone(int((work / "pid").read_text()))
