//! The LF after a data-entry command's CR (issue 9, item 1): part of the
//! terminator while the prompt has not reached the host, data after it.
//!
//! `Harness::send` hands the module all of its bytes in one call, then takes
//! the output: a host writing `AT…\r\n` in one write is one `send`; a host
//! that waits for the prompt sends its payload in a later `send`, after the
//! prompt was handed out.

use core::time::Duration;

use vmodem_mqtt::{Packet, Protocol};

use super::harness::{show, Harness};
use super::mqtt::connected;

/// Client 0 connected, echo on again (the note's examples show the echo).
fn connected_with_echo() -> Harness {
    let mut h = super::mqtt::quiet();
    connected(&mut h);
    h.expect(b"ATE1\r", b"\r\nOK\r\n");
    h
}

/// The payloads of the PUBLISH packets the module sent since the last call.
fn published(h: &mut Harness) -> Vec<Vec<u8>> {
    h.sent(Protocol::V311)
        .into_iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p.payload.to_vec()),
            _ => None,
        })
        .collect()
}

#[test]
fn qmtpubex_from_a_cr_lf_host_takes_the_lf_as_the_terminator() {
    let mut h = connected_with_echo();
    // One write: the LF is neither echoed nor data.
    h.expect(
        b"AT+QMTPUBEX=0,0,0,0,\"t\",5\r\n",
        b"AT+QMTPUBEX=0,0,0,0,\"t\",5\r\r\n> ",
    );
    h.expect(b"hello", b"hello\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n");
    assert_eq!(published(&mut h), [b"hello".to_vec()]);
}

#[test]
fn qmtpubex_from_a_cr_only_host_keeps_a_payload_that_starts_with_lf() {
    let mut h = connected_with_echo();
    h.expect(
        b"AT+QMTPUBEX=0,0,0,0,\"t\",5\r",
        b"AT+QMTPUBEX=0,0,0,0,\"t\",5\r\r\n> ",
    );
    // Sent after the prompt came: the LF is the payload's first byte.
    h.expect(b"\nhell", b"\nhell\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n");
    assert_eq!(published(&mut h), [b"\nhell".to_vec()]);
}

#[test]
fn a_cr_lf_host_that_writes_command_and_payload_at_once_loses_nothing() {
    let mut h = connected_with_echo();
    h.expect(
        b"AT+QMTPUBEX=0,0,0,0,\"t\",5\r\nhello",
        b"AT+QMTPUBEX=0,0,0,0,\"t\",5\r\r\n> hello\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n",
    );
    assert_eq!(published(&mut h), [b"hello".to_vec()]);
    // A payload that is one LF, from a CR LF host: the first LF ends the
    // line, the second is the payload.
    h.expect(
        b"AT+QMTPUBEX=0,0,0,0,\"t\",1\r\n\n",
        b"AT+QMTPUBEX=0,0,0,0,\"t\",1\r\r\n> \n\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n",
    );
    assert_eq!(published(&mut h), [b"\n".to_vec()]);
}

#[test]
fn qmtpub_ctrl_z_and_fixed_forms_follow_the_same_rule() {
    let mut h = connected_with_echo();
    // Ctrl-Z form, CR LF host: the broker gets "zed", not "\nzed".
    h.expect(
        b"AT+QMTPUB=0,0,0,0,\"t\"\r\n",
        b"AT+QMTPUB=0,0,0,0,\"t\"\r\r\n> ",
    );
    h.expect(b"zed\x1a", b"zed\r\nOK\r\n\r\n+QMTPUB: 0,0,0\r\n");
    assert_eq!(published(&mut h), [b"zed".to_vec()]);
    // Ctrl-Z form, CR-only host whose payload starts with LF.
    h.expect(
        b"AT+QMTPUB=0,0,0,0,\"t\"\r",
        b"AT+QMTPUB=0,0,0,0,\"t\"\r\r\n> ",
    );
    h.expect(b"\nzed\x1a", b"\nzed\r\nOK\r\n\r\n+QMTPUB: 0,0,0\r\n");
    assert_eq!(published(&mut h), [b"\nzed".to_vec()]);
    // Fixed-length form, CR LF host.
    h.expect(
        b"AT+QMTPUB=0,0,0,0,\"t\",3\r\n",
        b"AT+QMTPUB=0,0,0,0,\"t\",3\r\r\n> ",
    );
    h.expect(b"zed", b"zed\r\nOK\r\n\r\n+QMTPUB: 0,0,0\r\n");
    assert_eq!(published(&mut h), [b"zed".to_vec()]);
}

#[test]
fn qfupl_after_connect_follows_the_same_rule() {
    let mut h = Harness::new();
    // The issue's case: a CR LF host used to give `+QFUPL: 10,a38` (a
    // leading LF, the last byte lost) for 0123456789, whose checksum is 3839.
    h.expect(
        b"AT+QFUPL=\"RAM:a.txt\",10,5\r\n",
        b"AT+QFUPL=\"RAM:a.txt\",10,5\r\r\nCONNECT\r\n",
    );
    h.expect(b"0123456789", b"\r\n+QFUPL: 10,3839\r\n\r\nOK\r\n");
    assert_eq!(h.modem.files.get("RAM:a.txt"), Some(&b"0123456789"[..]));
    // A CR-only host whose file starts with LF keeps it.
    h.expect(
        b"AT+QFUPL=\"RAM:b.txt\",10,5\r",
        b"AT+QFUPL=\"RAM:b.txt\",10,5\r\r\nCONNECT\r\n",
    );
    h.expect(b"\n123456789", b"\r\n+QFUPL: 10,239\r\n\r\nOK\r\n");
    assert_eq!(h.modem.files.get("RAM:b.txt"), Some(&b"\n123456789"[..]));
}

#[test]
fn the_rule_holds_for_lines_that_waited_while_a_command_ran() {
    // Realistic timing: `AT+QFUPL…\r\n` typed while `AT+CFUN?` still runs
    // waits, and is run from the held input; its LF is still the terminator.
    let mut h = Harness::realistic();
    h.advance(Duration::from_secs(10));
    assert_eq!(
        show(&h.send(b"AT+CFUN?\r\nAT+QFUPL=\"RAM:c.txt\",10,5\r\n")),
        show(b"AT+CFUN?\r")
    );
    let out = h.advance(Duration::from_secs(1));
    assert_eq!(
        show(&out),
        show(b"\r\n+CFUN: 1\r\n\r\nOK\r\nAT+QFUPL=\"RAM:c.txt\",10,5\r\r\nCONNECT\r\n")
    );
    h.expect(b"0123456789", b"\r\n+QFUPL: 10,3839\r\n\r\nOK\r\n");
}

#[test]
fn an_lf_after_the_prompt_was_handed_out_is_data_even_from_a_cr_lf_host() {
    // A host whose CR and LF reach the module in two reads, with the prompt
    // handed out between them: the module cannot tell it from a CR-only host
    // with an LF payload, so the LF is data (as on a real module, where the
    // prompt went out before the LF arrived).
    let mut h = Harness::new();
    h.expect(
        b"AT+QFUPL=\"RAM:d.txt\",10,5\r",
        b"AT+QFUPL=\"RAM:d.txt\",10,5\r\r\nCONNECT\r\n",
    );
    h.expect(b"\n012345678", b"\r\n+QFUPL: 10,a38\r\n\r\nOK\r\n");
}
