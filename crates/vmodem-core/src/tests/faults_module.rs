//! The module's own faults (`error`, `no_answer`, `slow`, `reset`,
//! `power_loss`): exact bytes on the serial line, virtual time.

use core::time::Duration;

use vmodem_mqtt::{Packet, Protocol, QoS};

use super::files::upload;
use super::harness::{show, Harness, BOOT};
use super::mqtt::{connected, publish, quiet};
use crate::{ClientState, Fault, ModemEvent, NetAction, PowerState};

fn error(command: &str, cme: Option<&str>) -> Fault {
    let mut params = vec![("command", command)];
    if let Some(cme) = cme {
        params.push(("cme", cme));
    }
    Fault::parse("error", &params).unwrap()
}

/// Everything since the last call, as events.
fn events(h: &mut Harness) -> Vec<ModemEvent> {
    h.output();
    std::mem::take(&mut h.events)
}

// ---- error ------------------------------------------------------------------

#[test]
fn an_error_fault_fails_qmtpubex_under_cmee_0_1_and_2_without_a_prompt_or_a_packet() {
    let mut h = quiet();
    connected(&mut h);
    let id = h
        .modem
        .add_fault(h.now, error("at+qmtpubex", Some("3")), None);
    let line = b"AT+QMTPUBEX=0,1,1,0,\"a/b\",5\r";
    // Factory CMEE=1: the number.
    h.expect(line, b"\r\n+CME ERROR: 3\r\n");
    h.expect(b"AT+CMEE=2\r", b"\r\nOK\r\n");
    h.expect(line, b"\r\n+CME ERROR: operation not allowed\r\n");
    h.expect(b"AT+CMEE=0\r", b"\r\nOK\r\n");
    h.expect(line, b"\r\nERROR\r\n");
    // No prompt was given, so payload bytes are just a line without `AT`,
    // which the module ignores.
    h.expect(b"hello\r", b"");
    // Nothing reached the broker: the command did not run.
    assert_eq!(h.sent(Protocol::V311), vec![]);
    // Other commands, and the other forms' neighbours, are untouched.
    h.expect(b"AT+QMTCONN?\r", b"\r\n+QMTCONN: 0,3\r\n\r\nOK\r\n");
    assert!(h.modem.end_fault(h.now, id));
    h.expect(line, b"\r\n> ");
    h.expect(b"hello", b"\r\nOK\r\n");
    assert_eq!(
        h.sent(Protocol::V311),
        vec![publish(QoS::AtLeastOnce, 1, "a/b", b"hello")]
    );
}

#[test]
fn an_error_fault_without_cme_gives_plain_error_and_matches_by_prefix_and_form() {
    let mut h = quiet();
    h.modem.add_fault(h.now, error("AT+QMTOPEN=", None), None);
    h.modem.add_fault(h.now, error("AT+CS", Some("100")), None);
    h.expect(b"AT+QMTOPEN=0,\"broker.test\",1883\r", b"\r\nERROR\r\n");
    assert!(h.actions().is_empty(), "no link was opened");
    // The read form is not `AT+QMTOPEN=`.
    h.expect(b"AT+QMTOPEN?\r", b"\r\nOK\r\n");
    // `AT+CS` is a prefix of AT+CSQ (case-insensitive); CMEE=1 by default.
    h.expect(b"at+csq\r", b"\r\n+CME ERROR: 100\r\n");
    // A line stops at the failing command; the commands before it ran.
    h.expect(b"ATE1;+CSQ;+CGMI\r", b"\r\n+CME ERROR: 100\r\n");
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
    h.modem.clear_faults(h.now);
    h.expect(b"AT+CSQ\r", b"AT+CSQ\r\r\n+CSQ: 24,99\r\n\r\nOK\r\n");
}

// ---- no_answer --------------------------------------------------------------

#[test]
fn no_answer_drops_input_holds_urcs_and_keeps_mqtt_running() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.modem
        .add_fault(h.now, Fault::NoAnswer, Some(Duration::from_secs(5)));
    // No echo, no answer: the bytes are lost (the module keeps taking them,
    // so none waits to be read after the hang).
    assert!(h.modem.wants_host_input());
    assert_eq!(h.send(b"ATE1\r"), b"");
    assert_eq!(h.send(b"AT+CSQ\r"), b"");
    // The MQTT stack still acknowledges; the URC waits for the line.
    assert_eq!(
        show(&h.broker_sends(link, &publish(QoS::AtLeastOnce, 7, "t", b"one"))),
        ""
    );
    assert_eq!(h.sent(Protocol::V311), vec![Packet::Puback { pkid: 7 }]);
    assert_eq!(h.modem.status().mqtt[0].state, ClientState::Connected);
    assert_eq!(show(&h.advance(Duration::from_millis(4_999))), "");
    // The hang ends: what waited comes out, in order, and the module answers
    // again with the settings it had (ATE1 was never read).
    assert_eq!(
        show(&h.advance(Duration::from_millis(1))),
        show(b"\r\n+QMTRECV: 0,7,\"t\",\"one\"\r\n")
    );
    h.expect(b"AT\r", b"\r\nOK\r\n");
}

#[test]
fn no_answer_holds_a_result_that_was_due_until_the_hang_ends() {
    let mut h = Harness::realistic();
    h.advance(Duration::from_secs(10));
    // AT+CSQ answers after its latency; the hang starts before that.
    assert_eq!(show(&h.send(b"AT+CSQ\r")), show(b"AT+CSQ\r"));
    h.modem
        .add_fault(h.now, Fault::NoAnswer, Some(Duration::from_secs(2)));
    let chunks = h.advance_timed(Duration::from_secs(3));
    let got: Vec<(u64, String)> = chunks.into_iter().map(|(t, b)| (t, show(&b))).collect();
    assert_eq!(got, vec![(2000, show(b"\r\n+CSQ: 24,99\r\n\r\nOK\r\n"))]);
}

// ---- slow -------------------------------------------------------------------

#[test]
fn slow_delays_every_answer_with_fast_timing_and_input_waits_unechoed() {
    let mut h = Harness::new();
    h.modem
        .add_fault(h.now, Fault::Slow { delay_ms: 300 }, None);
    // Echo at once; information text and result 300 ms later.
    assert_eq!(show(&h.send(b"AT+CSQ\r")), show(b"AT+CSQ\r"));
    assert_eq!(show(&h.advance(Duration::from_millis(100))), "");
    // Typed while the answer is pending: held, unechoed, as under realistic timing.
    assert_eq!(show(&h.send(b"AT\r")), "");
    let chunks = h.advance_timed(Duration::from_millis(1_000));
    let got: Vec<(u64, String)> = chunks.into_iter().map(|(t, b)| (t, show(&b))).collect();
    assert_eq!(
        got,
        vec![
            (200, show(b"\r\n+CSQ: 24,99\r\n\r\nOK\r\nAT\r")),
            (500, show(b"\r\nOK\r\n")),
        ]
    );
    // Errors are answers too.
    h.send(b"AT+NOPE\r");
    assert_eq!(show(&h.advance(Duration::from_millis(299))), "");
    assert_eq!(
        show(&h.advance(Duration::from_millis(1))),
        show(b"\r\nERROR\r\n")
    );
    h.modem.clear_faults(h.now);
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
}

#[test]
fn slow_keeps_the_prompt_immediate_and_delays_the_result_after_the_data() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.modem
        .add_fault(h.now, Fault::Slow { delay_ms: 250 }, None);
    h.expect(b"AT+QMTPUBEX=0,1,1,0,\"a/b\",5\r", b"\r\n> ");
    // The side effect happens as usual: the PUBLISH leaves at once.
    assert_eq!(show(&h.send(b"hello")), "");
    assert_eq!(
        h.sent(Protocol::V311),
        vec![publish(QoS::AtLeastOnce, 1, "a/b", b"hello")]
    );
    // The PUBACK's URC waits for the pending OK.
    assert_eq!(show(&h.broker_sends(link, &Packet::Puback { pkid: 1 })), "");
    assert_eq!(
        show(&h.advance(Duration::from_millis(250))),
        show(b"\r\nOK\r\n\r\n+QMTPUBEX: 0,1,0\r\n")
    );
}

// ---- reset ------------------------------------------------------------------

#[test]
fn reset_mid_publish_drops_the_link_silently_and_the_host_sees_rdy() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.expect(b"AT+QMTPUBEX=0,1,1,0,\"a/b\",5\r", b"\r\n> ");
    h.expect(b"hello", b"\r\nOK\r\n");
    assert_eq!(h.sent(Protocol::V311).len(), 1);
    // Reset before the PUBACK: the link is closed, no +QMTSTAT, the boot chain.
    h.modem.add_fault(h.now, Fault::Reset, None);
    assert_eq!(show(&h.output()), show(BOOT));
    assert_eq!(h.actions(), vec![NetAction::Close { link }]);
    assert!(events(&mut h).contains(&ModemEvent::Restarted));
    // The PUBACK arriving late on the dead link gives no result: the
    // publish is never reported (the host must publish again).
    assert_eq!(show(&h.broker_sends(link, &Packet::Puback { pkid: 1 })), "");
    assert_eq!(show(&h.advance(Duration::from_secs(60))), "");
    // ATE0 was not stored: echo is back; the client is closed.
    h.expect(b"AT+QMTCONN?\r", b"AT+QMTCONN?\r\r\nOK\r\n");
    let s = h.modem.status();
    assert!(s.mqtt.iter().all(|c| c.state == ClientState::Closed));
    // A reset is a one-shot: it stays listed until removed, without effect.
    assert_eq!(h.modem.faults().len(), 1);
    h.modem.clear_faults(h.now);
    assert_eq!(show(&h.output()), "");
}

#[test]
fn reset_in_a_data_entry_loses_the_payload() {
    let mut h = quiet();
    connected(&mut h);
    h.expect(b"AT+QMTPUBEX=0,1,1,0,\"a/b\",5\r", b"\r\n> ");
    h.expect(b"hel", b"");
    h.modem.add_fault(h.now, Fault::Reset, None);
    assert_eq!(show(&h.output()), show(BOOT));
    // The rest of the payload is a line without `AT` to the new boot: echoed
    // (factory ATE1), ignored.
    h.expect(b"lo\r", b"lo\r");
    assert!(h.sent(Protocol::V311).is_empty());
}

#[test]
fn reset_keeps_ufs_and_the_stored_profile_and_forgets_ram_and_mqtt_settings() {
    let mut h = Harness::new();
    h.expect(b"ATE0;&W\r", b"ATE0;&W\r\r\nOK\r\n");
    upload(&mut h, "keep.pem", b"abc");
    upload(&mut h, "RAM:gone.txt", b"xyz");
    h.expect(b"AT+QMTCFG=\"keepalive\",0,30\r", b"\r\nOK\r\n");
    h.modem.add_fault(h.now, Fault::Reset, None);
    assert_eq!(show(&h.output()), show(BOOT));
    // Echo stays off (AT&W), UFS stays, RAM and the MQTT configuration do not.
    h.expect(
        b"AT+QFLST=\"*\"\r",
        b"\r\n+QFLST: \"UFS:keep.pem\",3\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QFLST=\"RAM:*\"\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QMTCFG=\"keepalive\",0\r",
        b"\r\n+QMTCFG: \"keepalive\",120\r\n\r\nOK\r\n",
    );
}

#[test]
fn realistic_reset_boots_registers_again_and_status_says_booting() {
    let mut h = Harness::realistic();
    h.advance(Duration::from_secs(10));
    h.expect(b"AT+CEREG=1\r", b"AT+CEREG=1\r");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.modem.status().power, PowerState::On);
    assert_eq!(h.modem.status().registration.stat, 1);
    h.modem.add_fault(h.now, Fault::Reset, None);
    assert_eq!(h.modem.status().power, PowerState::Booting);
    assert_eq!(h.modem.status().registration.stat, 0);
    // The UART is dead until RDY, as at power-up.
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
    // +CEREG=1 was volatile: registration comes back without a URC.
    assert_eq!(h.modem.status().power, PowerState::On);
    assert_eq!(h.modem.status().registration.stat, 1);
}

// ---- power_loss -------------------------------------------------------------

#[test]
fn power_loss_with_a_duration_is_silence_then_a_cold_boot() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.modem
        .add_fault(h.now, Fault::PowerLoss, Some(Duration::from_secs(10)));
    // No POWERED DOWN, no +QMTSTAT: the power is just gone.
    assert_eq!(show(&h.output()), "");
    assert_eq!(h.actions(), vec![NetAction::Close { link }]);
    assert!(!events(&mut h).contains(&ModemEvent::PoweredDown));
    assert_eq!(h.modem.status().power, PowerState::Off);
    assert!(!h.modem.is_powered());
    assert_eq!(h.send(b"AT\r"), b"");
    // The power key does nothing without power.
    h.modem.power_on(h.now);
    assert_eq!(show(&h.output()), "");
    assert_eq!(
        show(&h.broker_sends(link, &publish(QoS::AtLeastOnce, 3, "t", b"x"))),
        ""
    );
    assert_eq!(show(&h.advance(Duration::from_millis(9_999))), "");
    assert_eq!(show(&h.advance(Duration::from_millis(1))), show(BOOT));
    assert_eq!(h.modem.status().power, PowerState::On);
    assert!(h.modem.faults().is_empty());
    // A cold boot: factory echo, input from the boot on.
    h.expect(b"AT\r", b"AT\r\r\nOK\r\n");
}

#[test]
fn power_loss_without_a_duration_lasts_until_the_fault_is_deleted() {
    let mut h = Harness::realistic();
    h.advance(Duration::from_secs(10));
    let id = h.modem.add_fault(h.now, Fault::PowerLoss, None);
    assert_eq!(
        h.modem.poll_timeout(),
        None,
        "nothing is scheduled while off"
    );
    assert_eq!(show(&h.advance(Duration::from_secs(3600))), "");
    assert_eq!(h.modem.status().power, PowerState::Off);
    assert!(h.modem.end_fault(h.now, id));
    assert_eq!(h.modem.status().power, PowerState::Booting);
    let chunks = h.advance_timed(Duration::from_secs(3));
    assert_eq!(chunks[0], (2500, b"\r\nRDY\r\n".to_vec()));
}

#[test]
fn a_reset_while_the_power_is_off_does_nothing_and_overlapping_losses_boot_once() {
    let mut h = Harness::new();
    let a = h.modem.add_fault(h.now, Fault::PowerLoss, None);
    let b = h
        .modem
        .add_fault(h.now, Fault::PowerLoss, Some(Duration::from_secs(1)));
    h.modem.add_fault(h.now, Fault::Reset, None);
    assert_eq!(show(&h.output()), "");
    // The shorter loss ends; the other still holds the power off.
    assert_eq!(show(&h.advance(Duration::from_secs(2))), "");
    assert!(!h.modem.end_fault(h.now, b));
    assert!(h.modem.end_fault(h.now, a));
    assert_eq!(show(&h.output()), show(BOOT));
    h.modem.clear_faults(h.now);
    assert_eq!(show(&h.output()), "");
}

#[test]
fn reset_on_an_lte_network_registers_again_after_the_radio_delay() {
    let mut h = Harness::on_network(crate::Network::Lte, 7);
    h.advance(Duration::from_secs(60));
    assert_eq!(h.modem.status().registration.stat, 1);
    h.modem.add_fault(h.now, Fault::Reset, None);
    assert_eq!(h.modem.status().registration.stat, 0);
    let out = h.advance(Duration::from_millis(2_600));
    assert_eq!(show(&out), show(b"\r\nRDY\r\n"));
    // Not registered before the SIM is ready (3.0 s); again within a minute.
    assert_eq!(h.modem.status().registration.stat, 0);
    let mut registered = None;
    for s in 0..60 {
        if h.modem.status().registration.stat == 1 {
            registered = Some(s);
            break;
        }
        h.advance(Duration::from_secs(1));
    }
    assert!(
        registered.is_some(),
        "not registered a minute after the reset"
    );
    assert_eq!(h.modem.status().power, PowerState::On);
}

#[test]
fn slow_adds_its_delay_on_top_of_realistic_latencies() {
    let mut h = Harness::realistic();
    h.advance(Duration::from_secs(10));
    let answer = b"\r\n+CSQ: 24,99\r\n\r\nOK\r\n".to_vec();
    h.expect(b"AT+CSQ\r", b"AT+CSQ\r");
    let healthy = h.advance_timed(Duration::from_secs(2));
    assert_eq!(healthy.len(), 1);
    assert_eq!(show(&healthy[0].1), show(&answer));
    h.modem
        .add_fault(h.now, Fault::Slow { delay_ms: 300 }, None);
    h.expect(b"AT+CSQ\r", b"AT+CSQ\r");
    let slow = h.advance_timed(Duration::from_secs(2));
    assert_eq!(slow, vec![(healthy[0].0 + 300, answer)]);
}

#[test]
fn every_module_fault_started_mid_data_entry_leaves_a_module_that_answers_after_clear() {
    let kinds = [
        error("AT", Some("3")),
        Fault::NoAnswer,
        Fault::Slow { delay_ms: 50 },
        Fault::Reset,
        Fault::PowerLoss,
    ];
    for fault in kinds {
        let mut h = quiet();
        connected(&mut h);
        h.expect(b"AT+QMTPUBEX=0,1,1,0,\"a/b\",5\r", b"\r\n> ");
        h.send(b"he");
        h.modem.add_fault(h.now, fault.clone(), None);
        h.send(b"llo\rAT\r");
        h.advance(Duration::from_secs(30));
        h.modem.clear_faults(h.now);
        h.advance(Duration::from_secs(30));
        assert!(h.modem.faults().is_empty());
        // Echo may be on or off now (a reboot restores ATE1): both end in OK.
        let got = h.send(b"AT\r");
        assert!(
            got == b"\r\nOK\r\n" || got == b"AT\r\r\nOK\r\n",
            "{}: {}",
            fault.kind(),
            show(&got)
        );
    }
}
