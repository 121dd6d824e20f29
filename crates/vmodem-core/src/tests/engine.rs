//! The V.250 engine: framing, echo, editing, several commands per line,
//! repeat, profiles, data entry and URC placement.

use core::time::Duration;

use super::harness::{show, Harness};

#[test]
fn echo_on_then_off() {
    let mut h = Harness::new();
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h.expect(b"AT\r", b"\r\nOK\r\n");
    h.expect(b"ATE1\r", b"\r\nOK\r\n");
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
    h.expect(b"ATE2\r", b"ATE2\r\r\nERROR\r\n");
}

#[test]
fn echo_is_immediate_per_character_and_lf_after_cr_is_swallowed() {
    let mut h = Harness::new();
    h.expect(b"A", b"A");
    h.expect(b"T", b"T");
    h.expect(b"\r\n", b"\r\r\nOK\r\n");
    h.expect(b"AT\r\nAT\r\n", b"AT\r\r\nOK\r\nAT\r\r\nOK\r\n");
}

#[test]
fn commands_are_case_insensitive() {
    let mut h = Harness::new();
    h.expect(b"at+cpin?\r", b"at+cpin?\r\r\n+CPIN: READY\r\n\r\nOK\r\n");
    h.expect(b"aT+CmEe?\r", b"aT+CmEe?\r\r\n+CMEE: 1\r\n\r\nOK\r\n");
}

#[test]
fn backspace_edits_the_line_and_is_echoed() {
    let mut h = Harness::new();
    h.expect(
        b"ATX\x08I\r",
        b"ATX\x08I\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n",
    );
}

#[test]
fn unknown_commands_answer_error() {
    let mut h = Harness::new();
    h.expect(b"ATBOGUS\r", b"ATBOGUS\r\r\nERROR\r\n");
    h.expect(b"AT+NONEXISTENT\r", b"AT+NONEXISTENT\r\r\nERROR\r\n");
    h.expect(b"AT+QCFG=\"nope\"\r", b"AT+QCFG=\"nope\"\r\r\nERROR\r\n");
}

#[test]
fn lines_without_prefix_are_ignored() {
    let mut h = Harness::new();
    h.expect(b"hello\r", b"hello\r");
    h.expect(b"\r", b"\r");
}

#[test]
fn several_commands_on_one_line_share_one_result_code() {
    let mut h = Harness::new();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h.expect(b"AT+CGMI;+CGMM\r", b"\r\nQuectel\r\n\r\nEC25\r\n\r\nOK\r\n");
    h.expect(b"ATE0V1Q0\r", b"\r\nOK\r\n");
    // Execution stops at the first failing command; what ran before stays.
    h.expect(b"AT+CGMI;+BOGUS;+CGMM\r", b"\r\nQuectel\r\n\r\nERROR\r\n");
    h.expect(b"AT+CMEE=2;+CMEE?\r", b"\r\n+CMEE: 2\r\n\r\nOK\r\n");
}

#[test]
fn a_slash_repeats_the_last_line() {
    let mut h = Harness::new();
    h.expect(b"A/", b"A/\r\nOK\r\n");
    h.expect(b"AT+CSQ\r", b"AT+CSQ\r\r\n+CSQ: 24,99\r\n\r\nOK\r\n");
    h.expect(b"A/", b"A/\r\n+CSQ: 24,99\r\n\r\nOK\r\n");
}

#[test]
fn numeric_result_codes_with_atv0() {
    let mut h = Harness::new();
    h.expect(b"ATV0\r", b"ATV0\r0\r");
    h.expect(b"AT\r", b"AT\r0\r");
    h.expect(b"ATBOGUS\r", b"ATBOGUS\r4\r");
    h.expect(b"AT+CSQ\r", b"AT+CSQ\r+CSQ: 24,99\r\n0\r");
    h.expect(
        b"AT+CPIN=\"1234\"\r",
        b"AT+CPIN=\"1234\"\r+CME ERROR: 3\r\n",
    );
    h.expect(b"ATV1\r", b"ATV1\r\r\nOK\r\n");
}

#[test]
fn atq1_suppresses_result_codes_but_not_information() {
    let mut h = Harness::new();
    h.expect(b"ATQ1\r", b"ATQ1\r");
    h.expect(b"AT\r", b"AT\r");
    h.expect(b"AT+CSQ\r", b"AT+CSQ\r\r\n+CSQ: 24,99\r\n");
    h.expect(b"ATBOGUS\r", b"ATBOGUS\r");
    h.expect(b"ATQ0\r", b"ATQ0\r\r\nOK\r\n");
}

#[test]
fn s_registers_read_write_and_frame_the_output() {
    let mut h = Harness::new();
    h.expect(b"ATS3?\r", b"ATS3?\r\r\n013\r\n\r\nOK\r\n");
    h.expect(b"ATS4?\r", b"ATS4?\r\r\n010\r\n\r\nOK\r\n");
    h.expect(b"ATS5?\r", b"ATS5?\r\r\n008\r\n\r\nOK\r\n");
    h.expect(b"ATS3=?\r", b"ATS3=?\r\r\nS3: (0-127)\r\n\r\nOK\r\n");
    h.expect(b"ATS3=128\r", b"ATS3=128\r\r\nERROR\r\n");
    h.expect(b"ATS99?\r", b"ATS99?\r\r\nERROR\r\n");
    // S4 is the formatting character after S3.
    h.expect(b"ATS4=35\r", b"ATS4=35\r\r#OK\r#");
    h.expect(b"ATS4=10\r", b"ATS4=10\r\r\nOK\r\n");
    // S3 ends lines and frames responses.
    h.expect(b"ATS3=33\r", b"ATS3=33\r!\nOK!\n");
    h.expect(b"AT!", b"AT!!\nOK!\n");
    h.expect(b"ATS3=13!", b"ATS3=13!\r\nOK\r\n");
    // S5 is the editing character.
    h.expect(b"ATS5=127\r", b"ATS5=127\r\r\nOK\r\n");
    h.expect(
        b"ATX\x7fI\r",
        b"ATX\x7fI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n",
    );
}

#[test]
fn profiles_factory_store_restore_and_view() {
    let mut h = Harness::new();
    h.expect(b"ATE0V1Q0\r", b"ATE0V1Q0\r\r\nOK\r\n");
    h.expect(b"AT&V\r", b"\r\n&C: 1\r\n&D: 2\r\n&F: 0\r\n&W: 0\r\nE: 0\r\nQ: 0\r\nV: 1\r\nX: 1\r\nZ: 0\r\nS0: 0\r\nS3: 13\r\nS4: 10\r\nS5: 8\r\nS6: 2\r\nS7: 0\r\nS8: 2\r\nS10: 15\r\n\r\nOK\r\n");
    h.expect(b"AT&W\r", b"\r\nOK\r\n");
    h.expect(b"AT&F\r", b"\r\nOK\r\n");
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
    h.expect(b"ATZ\r", b"ATZ\r\r\nOK\r\n");
    h.expect(b"AT\r", b"\r\nOK\r\n");
}

#[test]
fn cmee_modes_change_how_me_errors_read() {
    let mut h = Harness::new();
    h.expect(
        b"AT+CPIN=\"0000\"\r",
        b"AT+CPIN=\"0000\"\r\r\n+CME ERROR: 3\r\n",
    );
    h.expect(b"AT+CMEE=2\r", b"AT+CMEE=2\r\r\nOK\r\n");
    h.expect(
        b"AT+CPIN=\"0000\"\r",
        b"AT+CPIN=\"0000\"\r\r\n+CME ERROR: operation not allowed\r\n",
    );
    h.expect(b"AT+CMEE=0\r", b"AT+CMEE=0\r\r\nOK\r\n");
    h.expect(b"AT+CPIN=\"0000\"\r", b"AT+CPIN=\"0000\"\r\r\nERROR\r\n");
    h.expect(b"AT+CMEE=3\r", b"AT+CMEE=3\r\r\nERROR\r\n");
    h.expect(b"AT+CMEE=?\r", b"AT+CMEE=?\r\r\n+CMEE: (0-2)\r\n\r\nOK\r\n");
}

#[test]
fn fixed_length_data_entry_echoes_takes_exactly_n_bytes_and_swallows_a_trailing_crlf() {
    let mut h = Harness::new();
    h.expect(b"AT+VMTEST=0,5\r", b"AT+VMTEST=0,5\r\r\n> ");
    // Bytes that would be commands are data here, CR LF included.
    h.expect(b"A\r\nT", b"A\r\nT");
    h.expect(b"\x1a\r\n", b"\x1a\r\n+VMTEST: 5\r\n\r\nOK\r\n");
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
}

#[test]
fn ctrl_z_data_entry_sends_and_esc_cancels() {
    let mut h = Harness::new();
    h.expect(b"AT+VMTEST=1,3\r", b"AT+VMTEST=1,3\r\r\n> ");
    h.expect(b"hello\x1a", b"hello\r\n+VMTEST: 3\r\n\r\nOK\r\n");
    h.expect(b"AT+VMTEST=1,3\r", b"AT+VMTEST=1,3\r\r\n> ");
    h.expect(b"ab\x1b", b"ab\r\nOK\r\n");
}

#[test]
fn connect_prompt_data_is_not_echoed() {
    let mut h = Harness::new();
    h.expect(b"AT+VMTEST=2,4\r", b"AT+VMTEST=2,4\r\r\nCONNECT\r\n");
    h.expect(b"\x00\xff\"\r", b"\r\n+VMTEST: 4\r\n\r\nOK\r\n");
}

#[test]
fn abandoned_data_entry_times_out_with_error() {
    let mut h = Harness::new();
    h.expect(b"AT+VMTEST=0,100\r", b"AT+VMTEST=0,100\r\r\n> ");
    h.expect(b"abc", b"abc");
    assert_eq!(show(&h.advance(Duration::from_millis(9_999))), "");
    h.expect(b"d", b"d"); // each byte restarts the idle timer
    assert_eq!(
        show(&h.advance(Duration::from_secs(10))),
        show(b"\r\nERROR\r\n")
    );
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
}

#[test]
fn commands_after_a_prompting_one_run_after_the_data() {
    let mut h = Harness::new();
    h.expect(
        b"AT+CGMI;+VMTEST=0,2;+CGMM\r",
        b"AT+CGMI;+VMTEST=0,2;+CGMM\r\r\nQuectel\r\n\r\n> ",
    );
    h.expect(b"xy", b"xy\r\n+VMTEST: 2\r\n\r\nEC25\r\n\r\nOK\r\n");
}

#[test]
fn urcs_wait_for_a_data_entry_to_end() {
    let mut h = Harness::new();
    h.expect(b"AT+CREG=1\r", b"AT+CREG=1\r\r\nOK\r\n");
    h.expect(b"AT+VMTEST=0,2\r", b"AT+VMTEST=0,2\r\r\n> ");
    // Deregistering now would raise +CREG: 0; it must not land inside the data.
    h.modem.device.cfun = 4;
    h.modem.schedule_registration(h.now);
    assert_eq!(show(&h.output()), "");
    h.expect(b"ok", b"ok\r\n+VMTEST: 2\r\n\r\nOK\r\n\r\n+CREG: 0\r\n");
}

#[test]
fn urcs_wait_for_a_delayed_response_and_input_waits_too() {
    let mut h = Harness::realistic();
    h.advance(Duration::from_secs(10));
    h.send(b"AT+CREG=1\r");
    h.advance(Duration::from_secs(1));
    // AT+CFUN=4 takes 805 ms; its +CREG: 0 is raised at once but must follow the OK.
    assert_eq!(show(&h.send(b"AT+CFUN=4\r")), show(b"AT+CFUN=4\r"));
    // Typed while the command runs: held, not echoed, not lost.
    assert_eq!(show(&h.send(b"AT\r")), "");
    let chunks = h.advance_timed(Duration::from_secs(2));
    let got: Vec<(u64, String)> = chunks.into_iter().map(|(t, b)| (t, show(&b))).collect();
    assert_eq!(
        got,
        vec![
            (805, show(b"\r\nOK\r\n\r\n+CREG: 0\r\nAT\r")),
            (810, show(b"\r\nOK\r\n")),
        ]
    );
}
