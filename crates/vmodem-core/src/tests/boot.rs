//! Power-up, restart and power-down.

use core::time::Duration;

use super::harness::{show, Harness, BOOT};
use crate::ModemEvent;

#[test]
fn fast_boot_writes_the_whole_chain_at_once_and_answers_at() {
    let mut h = Harness::new();
    assert_eq!(
        h.modem.poll_timeout(),
        None,
        "an idle module has no deadline"
    );
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
}

#[test]
fn realistic_boot_spaces_the_chain_and_ignores_input_before_rdy() {
    let mut h = Harness::realistic();
    assert_eq!(h.output(), b"");
    // The UART is not live yet: this is lost, as on hardware.
    assert_eq!(h.send(b"AT\r"), b"");
    let chunks = h.advance_timed(Duration::from_secs(10));
    let got: Vec<(u64, String)> = chunks.into_iter().map(|(t, b)| (t, show(&b))).collect();
    assert_eq!(
        got,
        vec![
            (2500, show(b"\r\nRDY\r\n")),
            (2700, show(b"\r\n+CFUN: 1\r\n")),
            (3000, show(b"\r\n+CPIN: READY\r\n")),
            (3100, show(b"\r\n+QUSIM: 1\r\n")),
            (4600, show(b"\r\n+QIND: SMS DONE\r\n")),
            (6600, show(b"\r\n+QIND: PB DONE\r\n")),
        ]
    );
    // Registration comes 2.5 s after the SIM is ready.
    h.expect(b"AT+CEREG?\r", b"AT+CEREG?\r");
    assert_eq!(
        show(&h.advance(Duration::from_millis(15))),
        show(b"\r\n+CEREG: 0,1\r\n\r\nOK\r\n")
    );
}

#[test]
fn realistic_registration_is_searching_until_it_completes() {
    let mut h = Harness::realistic();
    h.advance(Duration::from_millis(3_200)); // SIM ready at 3.0 s, +QUSIM at 3.1 s
    h.expect(b"AT+CREG?\r", b"AT+CREG?\r");
    assert_eq!(
        show(&h.advance(Duration::from_millis(100))),
        show(b"\r\n+CREG: 0,2\r\n\r\nOK\r\n")
    );
    h.advance(Duration::from_secs(3));
    h.expect(b"AT+CREG?\r", b"AT+CREG?\r");
    assert_eq!(
        show(&h.advance(Duration::from_millis(100))),
        show(b"\r\n+CREG: 0,1\r\n\r\nOK\r\n")
    );
}

#[test]
fn cfun_1_1_restarts_and_replays_the_boot_chain_with_stored_settings() {
    let mut h = Harness::new();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h.expect(b"AT+CMEE=2\r", b"\r\nOK\r\n");
    let mut want = b"\r\nOK\r\n".to_vec();
    want.extend_from_slice(BOOT);
    h.expect(b"AT+CFUN=1,1\r", &want);
    assert_eq!(h.events, vec![ModemEvent::Restarted]);
    // Not stored with AT&W, so echo and CMEE are back to factory values.
    h.expect(b"AT+CMEE?\r", b"AT+CMEE?\r\r\n+CMEE: 1\r\n\r\nOK\r\n");
}

#[test]
fn at_w_settings_survive_a_restart() {
    let mut h = Harness::new();
    h.expect(b"ATE0;&W\r", b"ATE0;&W\r\r\nOK\r\n");
    let mut want = b"\r\nOK\r\n".to_vec();
    want.extend_from_slice(BOOT);
    h.expect(b"AT+CFUN=1,1\r", &want);
    h.expect(b"AT\r", b"\r\nOK\r\n");
}

#[test]
fn qpowd_powers_down_until_the_power_key() {
    let mut h = Harness::new();
    h.expect(b"AT+QPOWD\r", b"AT+QPOWD\r\r\nOK\r\n\r\nPOWERED DOWN\r\n");
    assert_eq!(h.events, vec![ModemEvent::PoweredDown]);
    assert!(!h.modem.is_powered());
    h.expect(b"AT\r", b"");
    assert_eq!(h.advance(Duration::from_secs(60)), b"");
    h.modem.power_on(h.now);
    assert_eq!(show(&h.output()), show(BOOT));
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
}

#[test]
fn qpowd_takes_time_under_realistic_timing() {
    let mut h = Harness::realistic();
    h.advance(Duration::from_secs(10));
    h.expect(b"AT+QPOWD=1\r", b"AT+QPOWD=1\r");
    let chunks = h.advance_timed(Duration::from_secs(5));
    let got: Vec<(u64, String)> = chunks.into_iter().map(|(t, b)| (t, show(&b))).collect();
    assert_eq!(
        got,
        vec![
            (35, show(b"\r\nOK\r\n")),
            (1500, show(b"\r\nPOWERED DOWN\r\n"))
        ]
    );
}

#[test]
fn a_module_made_powered_off_is_silent_until_the_power_key() {
    let mut h = Harness::with_config(crate::Config::default());
    h.modem = crate::Modem::new_powered_off(crate::Config::default(), h.now);
    assert!(!h.modem.is_powered());
    assert_eq!(h.output(), b"");
    assert_eq!(h.send(b"AT\r"), b"");
    assert_eq!(h.modem.poll_timeout(), None);
    h.advance(Duration::from_secs(5));
    h.modem.power_on(h.now);
    assert_eq!(show(&h.output()), show(BOOT));
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
}
