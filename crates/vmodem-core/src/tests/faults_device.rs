//! Device faults (issue 10 §2): what the module writes when its world
//! changes — coverage, PDP contexts, signal, SIM, DNS, clock. Exact bytes,
//! virtual time (docs/faults.md, "Byte reference").

use core::time::Duration;

use super::harness::{show, Harness};
use super::mqtt::{connected, quiet};
use crate::{Fault, NetAction};

fn add(h: &mut Harness, fault: Fault, secs: Option<u64>) -> crate::FaultId {
    h.modem
        .add_fault(h.now, fault, secs.map(Duration::from_secs))
}

/// A quiet module with +CREG URCs with location and +CEREG URCs, client 0 connected.
fn connected_with_reg_urcs() -> (Harness, crate::LinkId) {
    let mut h = quiet();
    h.expect(b"AT+CREG=2\r", b"\r\nOK\r\n");
    h.expect(b"AT+CEREG=1\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    (h, link)
}

#[test]
fn network_loss_deregisters_tears_down_pdp_and_ends_mqtt_then_comes_back() {
    let (mut h, link) = connected_with_reg_urcs();
    add(&mut h, Fault::NetworkLoss { stat: 0 }, Some(5));
    assert_eq!(
        show(&h.output()),
        show(
            b"\r\n+CREG: 0\r\n\r\n+CEREG: 0\r\n\r\n+QIURC: \"pdpdeact\",1\r\n\r\n+QMTSTAT: 0,7\r\n"
        )
    );
    assert!(h
        .actions()
        .iter()
        .any(|a| matches!(a, NetAction::Close { link: l } if *l == link)));
    h.expect(b"AT+CREG?\r", b"\r\n+CREG: 2,0\r\n\r\nOK\r\n");
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 0\r\n\r\nOK\r\n");
    h.expect(b"AT+CSQ\r", b"\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
    h.expect(b"AT+QIACT?\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QMTOPEN=0,\"127.0.0.1\",1883\r",
        b"\r\nOK\r\n\r\n+QMTOPEN: 0,3\r\n",
    );
    // The end: searching, then registered again (fast timing: at once).
    assert_eq!(show(&h.advance(Duration::from_millis(4999))), "");
    assert_eq!(
        show(&h.advance(Duration::from_millis(1))),
        show(b"\r\n+CREG: 2\r\n\r\n+CEREG: 2\r\n\r\n+CREG: 1,\"1A2B\",\"0C3D4E5\",7\r\n\r\n+CEREG: 1\r\n")
    );
    // The context the network tore down stays down until the host activates it.
    h.expect(b"AT+QIACT?\r", b"\r\nOK\r\n");
    h.expect(b"AT+QIACT=1\r", b"\r\nOK\r\n");
    let qiact = h.send(b"AT+QIACT?\r");
    assert!(
        show(&qiact).starts_with("\\r\\n+QIACT: 1,1,1,\\\"10."),
        "{}",
        show(&qiact)
    );
    h.expect(b"AT+QMTOPEN=0,\"127.0.0.1\",1883\r", b"\r\nOK\r\n");
}

#[test]
fn network_loss_reports_its_stat_and_overlapping_losses_compose() {
    let (mut h, _) = connected_with_reg_urcs();
    let first = add(&mut h, Fault::NetworkLoss { stat: 2 }, None);
    assert_eq!(
        show(&h.output()),
        show(
            b"\r\n+CREG: 2\r\n\r\n+CEREG: 2\r\n\r\n+QIURC: \"pdpdeact\",1\r\n\r\n+QMTSTAT: 0,7\r\n"
        )
    );
    let second = add(&mut h, Fault::NetworkLoss { stat: 3 }, None);
    // Registration denied now: the newer fault's <stat>.
    assert_eq!(
        show(&h.output()),
        show(b"\r\n+CREG: 3\r\n\r\n+CEREG: 3\r\n")
    );
    // Ending the newer one leaves the older one's loss.
    assert!(h.modem.end_fault(h.now, second));
    assert_eq!(
        show(&h.output()),
        show(b"\r\n+CREG: 2\r\n\r\n+CEREG: 2\r\n")
    );
    h.expect(b"AT+CEREG?\r", b"\r\n+CEREG: 1,2\r\n\r\nOK\r\n");
    assert!(h.modem.end_fault(h.now, first));
    assert_eq!(
        show(&h.output()),
        show(b"\r\n+CREG: 1,\"1A2B\",\"0C3D4E5\",7\r\n\r\n+CEREG: 1\r\n")
    );
}

#[test]
fn network_loss_outlives_a_reboot() {
    let mut h = quiet();
    add(&mut h, Fault::NetworkLoss { stat: 0 }, None);
    h.output();
    h.send(b"AT+CFUN=1,1\r");
    h.advance(Duration::from_secs(30));
    h.expect(b"AT+CREG?\r", b"AT+CREG?\r\r\n+CREG: 0,0\r\n\r\nOK\r\n");
    h.modem.clear_faults(h.now);
    h.output();
    h.expect(b"AT+CREG?\r", b"AT+CREG?\r\r\n+CREG: 0,1\r\n\r\nOK\r\n");
    // A reboot brings the default bearer again (it is the host's, not the network's).
    let qiact = h.send(b"AT+QIACT?\r");
    assert!(show(&qiact).contains("+QIACT: 1,1,1,"), "{}", show(&qiact));
}

#[test]
fn pdp_deact_tears_one_context_down_and_its_mqtt_client_reports() {
    let (mut h, link) = connected_with_reg_urcs();
    add(&mut h, Fault::PdpDeact { cid: 1 }, None);
    assert_eq!(
        show(&h.output()),
        show(b"\r\n+QIURC: \"pdpdeact\",1\r\n\r\n+QMTSTAT: 0,7\r\n")
    );
    assert!(h
        .actions()
        .iter()
        .any(|a| matches!(a, NetAction::Close { link: l } if *l == link)));
    // Still registered; the host brings the context back.
    h.expect(
        b"AT+CREG?\r",
        b"\r\n+CREG: 2,1,\"1A2B\",\"0C3D4E5\",7\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QIACT=1\r", b"\r\nOK\r\n");
    h.expect(b"AT+QMTOPEN=0,\"127.0.0.1\",1883\r", b"\r\nOK\r\n");
    // A context that was not active: nothing to say.
    add(&mut h, Fault::PdpDeact { cid: 5 }, None);
    assert_eq!(show(&h.output()), "");
}

#[test]
fn signal_sets_csq_and_qcsq_until_it_ends() {
    let mut h = quiet();
    let id = add(&mut h, Fault::Signal { rssi: 5, ber: 2 }, None);
    assert_eq!(show(&h.output()), "");
    h.expect(b"AT+CSQ\r", b"\r\n+CSQ: 5,2\r\n\r\nOK\r\n");
    h.expect(
        b"AT+QCSQ\r",
        b"\r\n+QCSQ: \"LTE\",-103,-133,150,-10\r\n\r\nOK\r\n",
    );
    h.modem.end_fault(h.now, id);
    h.expect(b"AT+CSQ\r", b"\r\n+CSQ: 24,99\r\n\r\nOK\r\n");
    add(&mut h, Fault::Signal { rssi: 99, ber: 99 }, None);
    h.expect(b"AT+CSQ\r", b"\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
    h.expect(b"AT+QCSQ\r", b"\r\n+QCSQ: \"NOSERVICE\"\r\n\r\nOK\r\n");
}

#[test]
fn sim_removed_and_back() {
    let mut h = quiet();
    h.expect(b"AT+CEREG=1\r", b"\r\nOK\r\n");
    let id = add(&mut h, Fault::SimRemoved, None);
    assert_eq!(
        show(&h.output()),
        show(b"\r\n+CPIN: NOT READY\r\n\r\n+CEREG: 0\r\n\r\n+QIURC: \"pdpdeact\",1\r\n")
    );
    h.expect(b"AT+CPIN?\r", b"\r\n+CME ERROR: 10\r\n");
    h.modem.end_fault(h.now, id);
    assert_eq!(
        show(&h.output()),
        show(b"\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n\r\n+CEREG: 2\r\n\r\n+CEREG: 1\r\n")
    );
    h.expect(b"AT+CPIN?\r", b"\r\n+CPIN: READY\r\n\r\nOK\r\n");
}

#[test]
fn dns_fail_fails_host_names_not_ip_literals() {
    let mut h = quiet();
    add(&mut h, Fault::DnsFail, None);
    h.expect(
        b"AT+QMTOPEN=0,\"broker.example.com\",1883\r",
        b"\r\nOK\r\n\r\n+QMTOPEN: 0,4\r\n",
    );
    assert!(h.actions().is_empty());
    h.expect(b"AT+QMTOPEN=1,\"127.0.0.1\",1883\r", b"\r\nOK\r\n");
    assert!(matches!(&h.actions()[..], [NetAction::Connect { .. }]));
}

#[test]
fn clock_shifts_cclk() {
    let mut h = quiet();
    h.expect(
        b"AT+CCLK?\r",
        b"\r\n+CCLK: \"25/01/01,00:00:00+00\"\r\n\r\nOK\r\n",
    );
    let id = add(&mut h, Fault::Clock { offset_s: -3600 }, None);
    h.expect(
        b"AT+CCLK?\r",
        b"\r\n+CCLK: \"24/12/31,23:00:00+00\"\r\n\r\nOK\r\n",
    );
    h.modem.end_fault(h.now, id);
    h.expect(
        b"AT+CCLK?\r",
        b"\r\n+CCLK: \"25/01/01,00:00:00+00\"\r\n\r\nOK\r\n",
    );
}
