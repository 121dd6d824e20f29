"""Reading a module's trace (``vmodem run --trace FILE``) and turning it into readable lines.

The trace is JSON lines. Serial bytes are ``{"t_ms":12,"dir":"host_to_module","text":"AT\\r",
"hex":"41540d"}``; faults ``{"t_ms":6210,"fault":"start","id":1,"kind":"network_loss",
"params":{"stat":0},"duration_ms":5000}`` and scenario steps ``{"t_ms":..,"scenario":"fired",
"source":"step[0]",..}`` (``crates/vmodem-tokio/src/fault_log.rs``), each shown as one line.
The timeline's events (``Module.events()``: ``"type": "serial"|"fault"|...``, ``"phase"``) read
the same way. Every other record is skipped, so newer traces stay readable.

Chunk boundaries are whatever the transport delivered, so lines are rebuilt per direction: a line
ends at CR or LF, and a direction's unfinished text (the ``>`` prompt, a payload) is shown when
the other direction speaks, so the excerpt stays in time order.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from collections import deque
from typing import Any, Deque, Dict, Iterator, List, Union

PathLike = Union[str, "os.PathLike[str]"]

#: How a trace line's direction is shown: what the host sent, what the module answered.
ARROWS = {"host_to_module": "host>", "module_to_host": "<modem", "fault": "fault",
          "scenario": "step"}


@dataclass(frozen=True)
class TraceLine:
    """One line of the serial conversation (or one fault or scenario event)."""

    t_ms: int
    """The module's clock when the line was complete (ms since the module was created)."""
    dir: str
    """``host_to_module``, ``module_to_host``, ``fault`` or ``scenario``."""
    text: str
    """The line without its terminator; control bytes shown as ``\\xNN``."""

    def __str__(self) -> str:
        return f"{self.t_ms:>8} ms  {ARROWS.get(self.dir, self.dir):<6}  {self.text}"


def read_records(path: PathLike) -> Iterator[Dict[str, Any]]:
    """The trace's records as dicts, in order. A half-written last line is skipped."""
    try:
        with open(path, "rb") as f:
            for raw in f:
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue  # the writer was killed mid-line, or this is not JSON
                if isinstance(record, dict):
                    yield record
    except FileNotFoundError:
        return


def _printable(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\t" or " " <= ch <= "~" or ord(ch) > 0x9F:
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}")
    return "".join(out)


def _decode(record: Dict[str, Any]) -> str:
    hex_text = record.get("hex")
    if isinstance(hex_text, str):
        try:
            return bytes.fromhex(hex_text).decode("utf-8", errors="replace")
        except ValueError:
            pass
    text = record.get("text")
    return text if isinstance(text, str) else ""


def lines(records: Iterator[Dict[str, Any]]) -> Iterator[TraceLine]:
    """Rebuilds the serial conversation line by line (empty lines dropped)."""
    pending: Dict[str, str] = {}
    started: Dict[str, int] = {}

    def flush(direction: str, t_ms: int) -> Iterator[TraceLine]:
        text = pending.pop(direction, "")
        started.pop(direction, None)
        if text:
            yield TraceLine(t_ms, direction, _printable(text))

    last_t = 0
    for record in records:
        kind = record.get("type", "serial")
        t_ms = record.get("t_ms")
        t = t_ms if isinstance(t_ms, int) else last_t
        last_t = t
        # A fault record: in the trace {"fault": "start", "id", "kind", "params", ...}; on the
        # timeline (events()) {"type": "fault", "phase": "start", ...}. Scenario steps alike.
        for name in ("fault", "scenario"):
            phase = record.get(name) if isinstance(record.get(name), str) else None
            if kind == name and phase is None:
                phase = record.get("phase")
            if phase is not None:
                kind = name
                break
        if kind in ("fault", "scenario"):
            for d in list(pending):
                yield from flush(d, t)
            params = record.get("params") or {}
            shown = " ".join(f"{k}={v}" for k, v in params.items()) if isinstance(params, dict) else ""
            what = record.get("kind") or ""
            if kind == "scenario":
                what = f"{record.get('source', '?')} {what}".rstrip()
                if record.get("line"):
                    shown = f"on {record['line']!r}"
                elif record.get("error"):
                    shown = str(record["error"])
            yield TraceLine(t, kind, f"{phase} {what} {shown}".rstrip())
            continue
        if kind != "serial":
            continue
        direction = record.get("dir")
        if direction not in ("host_to_module", "module_to_host"):
            continue
        assert isinstance(direction, str)
        for other in [d for d in pending if d != direction]:
            yield from flush(other, started.get(other, t))
        text = pending.get(direction, "") + _decode(record)
        started.setdefault(direction, t)
        while True:
            cut = min((i for i in (text.find("\r"), text.find("\n")) if i >= 0), default=-1)
            if cut < 0:
                break
            line, text = text[:cut], text[cut + 1 :]
            if line:
                yield TraceLine(t, direction, _printable(line))
        if text:
            pending[direction] = text
        else:
            pending.pop(direction, None)
            started.pop(direction, None)
    for d in list(pending):
        yield from flush(d, last_t)


def excerpt(path: PathLike, last: int = 40) -> str:
    """The last ``last`` lines of the trace at ``path``, readable, one per line.

    Returns an explanation instead when the trace is missing or empty.
    """
    if not Path(path).exists():
        return f"(no trace at {path})"
    kept: Deque[TraceLine] = deque(maxlen=max(last, 1))
    total = 0
    for line in lines(read_records(path)):
        total += 1
        kept.append(line)
    if not kept:
        return f"(the trace {path} has no serial bytes: nothing was said on the line)"
    head = f"last {len(kept)} of {total} lines of {path}" if total > len(kept) else f"{path}"
    return head + "\n" + "\n".join(str(line) for line in kept)


def last_lines(path: PathLike, last: int = 40) -> List[TraceLine]:
    """The last ``last`` lines of the trace, as :class:`TraceLine` values."""
    return list(deque(lines(read_records(path)), maxlen=max(last, 1)))


__all__ = ["TraceLine", "read_records", "lines", "excerpt", "last_lines"]
