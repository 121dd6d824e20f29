"""The control API client's parsing (the API itself lands with issue 10)."""

from __future__ import annotations

from vmodem.control import SseParser, kinds_from_error


def test_the_kinds_listed_in_a_400_answer() -> None:
    # Fault::parse's text, as the API's 400 answer carries it.
    message = 'unknown fault kind "netwrk_loss"; allowed: network_loss, pdp_deact, signal, reset'
    assert kinds_from_error(message) == ["network_loss", "pdp_deact", "signal", "reset"]
    assert kinds_from_error('older: kinds: a, b or c') == ["a", "b", "c"]
    assert kinds_from_error("stat must be 0, 2, 3 or 4") == []


def test_server_sent_events_are_split_at_blank_lines() -> None:
    parser = SseParser()
    stream = [": keep-alive", "", "event: fault", 'data: {"type":"fault",', 'data: "t_ms":3}', "",
              "data: x", ""]
    got = [e for e in map(parser.feed, stream) if e is not None]
    assert got == [("fault", '{"type":"fault",\n"t_ms":3}'), ("message", "x")]
