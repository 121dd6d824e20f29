"""Turning the JSON-lines trace into readable lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from vmodem.trace import excerpt, last_lines


def _write(path: Path, records: List[Dict[str, Any]], tail: str = "") -> Path:
    with open(path, "w") as f:
        for r in records:
            if "hex" not in r and "text" in r:
                r["hex"] = r["text"].encode().hex()
            f.write(json.dumps(r) + "\n")
        f.write(tail)
    return path


H, M = "host_to_module", "module_to_host"


def test_lines_split_across_chunks_are_joined(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.jsonl", [
        {"t_ms": 1, "dir": H, "text": "AT+QMT"},
        {"t_ms": 2, "dir": H, "text": "OPEN=0\r"},
        {"t_ms": 3, "dir": M, "text": "\r\nO"},
        {"t_ms": 4, "dir": M, "text": "K\r\n\r\n+QMTOPEN: 0,0\r\n"},
    ])
    assert [(l.t_ms, l.dir, l.text) for l in last_lines(path)] == [
        (2, H, "AT+QMTOPEN=0"), (4, M, "OK"), (4, M, "+QMTOPEN: 0,0"),
    ]


def test_the_prompt_and_payload_stay_in_time_order(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.jsonl", [
        {"t_ms": 1, "dir": H, "text": 'AT+QMTPUBEX=0,1,1,0,"t",5\r'},
        {"t_ms": 2, "dir": M, "text": "\r\n> "},
        {"t_ms": 3, "dir": H, "text": "hel\x1alo"},
        {"t_ms": 4, "dir": M, "text": "\r\nOK\r\n"},
    ])
    assert [l.text for l in last_lines(path)] == [
        'AT+QMTPUBEX=0,1,1,0,"t",5', "> ", "hel\\x1alo", "OK",
    ]


def test_unknown_event_types_are_skipped_and_faults_shown(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.jsonl", [
        {"type": "serial", "t_ms": 1, "dir": M, "text": "\r\nRDY\r\n"},
        {"type": "mqtt", "t_ms": 2, "client": 0, "dir": "up", "packet": "PUBLISH"},
        {"t_ms": 3, "scenario": "fired", "source": "step[0]", "due_ms": 3, "fault_id": 1,
         "kind": "network_loss", "params": {"stat": 2}, "duration_ms": 5000},
        {"t_ms": 3, "fault": "start", "id": 1, "kind": "network_loss", "params": {"stat": 2},
         "duration_ms": 5000},
        {"type": "fault", "t_ms": 9, "phase": "end", "id": 1, "kind": "network_loss",
         "params": {"stat": 2}},  # the timeline's shape (events())
        {"type": "something_new", "t_ms": 4, "text": "not serial"},
    ], tail='{"t_ms": 5, "dir": "module_')  # the writer was killed mid-line
    assert [str(l).split(None, 2)[2] for l in last_lines(path)] == [
        "<modem  RDY", "step    fired step[0] network_loss stat=2",
        "fault   start network_loss stat=2", "fault   end network_loss stat=2",
    ]


def test_the_excerpt_keeps_the_last_lines_and_says_how_many(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.jsonl", [
        {"t_ms": i, "dir": H, "text": f"AT+N{i}\r"} for i in range(100)
    ])
    text = excerpt(path, last=3)
    assert text.splitlines()[0] == f"last 3 of 100 lines of {path}"
    assert [l.split()[-1] for l in text.splitlines()[1:]] == ["AT+N97", "AT+N98", "AT+N99"]
    assert "no trace" in excerpt(tmp_path / "missing.jsonl")
