//! Bad input gets the module's answer and never wedges the line.

use core::time::Duration;

use proptest::prelude::*;

use super::harness::{show, Harness};
use vmodem_at::MAX_LINE_LEN;

fn quiet() -> Harness {
    let mut h = Harness::new();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h
}

#[test]
fn overlong_lines_answer_error_and_the_line_recovers() {
    let mut h = quiet();
    let mut line = b"AT+QMTCONN=0,\"".to_vec();
    line.resize(MAX_LINE_LEN + 100, b'x');
    line.extend_from_slice(b"\"\r");
    h.expect(&line, b"\r\nERROR\r\n");
    h.expect(b"AT\r", b"\r\nOK\r\n");
}

#[test]
fn nul_non_ascii_and_control_bytes_in_commands_answer_error() {
    let mut h = quiet();
    h.expect(b"AT\x00\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CSQ\xff\r", b"\r\nERROR\r\n");
    h.expect(b"AT\xc3\xa9\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CFUN=\x01\r", b"\r\nERROR\r\n");
    // Junk before the prefix is ignored (V.250), so this is a plain AT.
    h.expect(b"\x00\xff\x1b\x1aAT\r", b"\r\nOK\r\n");
}

#[test]
fn unterminated_quotes_huge_numbers_and_missing_parameters_answer_error() {
    let mut h = quiet();
    h.expect(b"AT+CSCS=\"GSM\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CMEE=99999999999999999999999999\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CMEE=-1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CMEE=\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CMEE=1,2\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CMEE=\"1\"\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CREG=,\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QIACT=65536\r", b"\r\nERROR\r\n");
    h.expect(b"ATS3=99999\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QICSGP=1,1\r", b"\r\nERROR\r\n");
    h.expect(b"AT\r", b"\r\nOK\r\n");
}

#[test]
fn a_flood_while_busy_is_bounded_and_the_line_recovers() {
    let mut h = Harness::realistic();
    h.advance(Duration::from_secs(10));
    h.send(b"ATE0\r");
    h.advance(Duration::from_secs(1));
    h.send(b"AT+COPS=?\r");
    // Four seconds of a host that does not wait: far more than the module keeps.
    for _ in 0..200 {
        h.send(&[b'x'; 1000]);
    }
    assert!(h.modem.engine.pending_input.len() <= crate::engine::MAX_PENDING_INPUT);
    h.advance(Duration::from_secs(5));
    h.send(b"\rAT\r");
    assert_eq!(
        show(&h.advance(Duration::from_secs(1))),
        show(b"\r\nOK\r\n")
    );
}

/// Gets a module that was fed anything back to a known state, as a host
/// would: cancel a data entry, wait out every timer, press the power key if
/// it powered down, end any partial line, restore factory settings.
fn recover(h: &mut Harness) {
    h.send(b"\x1b");
    h.advance(Duration::from_secs(120));
    if !h.modem.is_powered() {
        h.modem.power_on(h.now);
        h.advance(Duration::from_secs(120));
    }
    let s3 = h.modem.engine.active.format.s3;
    let mut line = vec![s3];
    line.extend_from_slice(b"AT&F");
    line.push(s3);
    h.send(&line);
    h.advance(Duration::from_secs(5));
}

/// Inputs mixing real command fragments with random bytes, so the fuzzing
/// reaches deep states (prompts, numeric mode, changed S3) and not only junk.
fn host_input() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        Just(b"AT".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b";".to_vec()),
        Just(b"A/".to_vec()),
        Just(b"E0".to_vec()),
        Just(b"V0".to_vec()),
        Just(b"Q1".to_vec()),
        Just(b"S3=".to_vec()),
        Just(b"S5=".to_vec()),
        Just(b"+CFUN=1,1".to_vec()),
        Just(b"+CFUN=0".to_vec()),
        Just(b"+QPOWD".to_vec()),
        Just(b"+CREG=2".to_vec()),
        Just(b"+VMTEST=0,3".to_vec()),
        Just(b"+VMTEST=1,3".to_vec()),
        Just(b"+VMTEST=2,3".to_vec()),
        Just(b"\"".to_vec()),
        Just(b",".to_vec()),
        Just(b"\x1a".to_vec()),
        Just(b"\x1b".to_vec()),
        Just(b"\x08".to_vec()),
        "[0-9]{1,25}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 1..8),
    ];
    prop::collection::vec(fragment, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_input_leaves_a_module_that_answers_at_with_ok(
        input in host_input(),
        chunk in 1usize..17,
        realistic in any::<bool>(),
    ) {
        let mut h = if realistic { Harness::realistic() } else { Harness::new() };
        h.advance(Duration::from_secs(10));
        h.output();
        for part in input.chunks(chunk) {
            h.send(part);
            h.advance(Duration::from_millis(3));
        }
        recover(&mut h);
        h.output();
        let mut answer = h.send(b"AT\r");
        answer.extend(h.advance(Duration::from_secs(1)));
        prop_assert_eq!(show(&answer), show(b"AT\r\r\nOK\r\n"));
    }

    #[test]
    fn same_input_same_bytes(input in host_input()) {
        let run = |input: &[u8]| {
            let mut h = Harness::realistic();
            let mut out = Vec::new();
            for part in input.chunks(5) {
                out.extend(h.send(part));
                out.extend(h.advance(Duration::from_millis(700)));
            }
            out
        };
        prop_assert_eq!(run(&input), run(&input));
    }
}
