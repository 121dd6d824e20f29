//! The BG96/BG95 dialect (issue 9, item 4) and a settable operator.

use core::time::Duration;

use super::harness::{show, Harness};
use crate::{Config, Model, Operator, Timing};

fn booted(model: Model) -> (Harness, Vec<u8>) {
    let mut h = Harness::with_config(Config {
        model,
        ..Config::default()
    });
    let boot = h.output();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    (h, boot)
}

const BG9X_BOOT: &[u8] =
    b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\nAPP RDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n";

#[test]
fn bg9x_boot_with_app_rdy_and_without_pb_done() {
    for model in [Model::Bg96, Model::Bg95] {
        let (mut h, boot) = booted(model);
        assert_eq!(show(&boot), show(BG9X_BOOT), "{model:?}");
        // AT+CFUN=0 then 1: the SIM comes back with the chain from +CPIN: READY on.
        h.expect(b"AT+CFUN=0\r", b"\r\nOK\r\n");
        h.expect(
            b"AT+CFUN=1\r",
            b"\r\nOK\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n",
        );
    }
}

#[test]
fn bg96_realistic_boot_spaces_app_rdy() {
    let mut h = Harness::with_config(Config {
        model: Model::Bg96,
        timing: Timing::Realistic,
        ..Config::default()
    });
    let got: Vec<(u64, String)> = h
        .advance_timed(Duration::from_secs(10))
        .into_iter()
        .map(|(t, b)| (t, show(&b)))
        .collect();
    assert_eq!(
        got,
        vec![
            (2500, show(b"\r\nRDY\r\n")),
            (2700, show(b"\r\n+CFUN: 1\r\n")),
            (3000, show(b"\r\nAPP RDY\r\n")),
            (3300, show(b"\r\n+CPIN: READY\r\n")),
            (3400, show(b"\r\n+QUSIM: 1\r\n")),
            (4900, show(b"\r\n+QIND: SMS DONE\r\n")),
        ]
    );
}

#[test]
fn bg96_registers_on_emtc_and_reports_act_8() {
    let (mut h, _) = booted(Model::Bg96);
    h.expect(
        b"AT+COPS?\r",
        b"\r\n+COPS: 0,0,\"VMODEM NET\",8\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CEREG=2;+CREG=2;+CGREG=2\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+CEREG?\r",
        b"\r\n+CEREG: 2,1,\"1A2B\",\"0C3D4E5\",8\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+CREG?\r",
        b"\r\n+CREG: 2,1,\"1A2B\",\"0C3D4E5\",8\r\n\r\nOK\r\n",
    );
    // A BG96 on Cat M1 has no GPRS registration: +CGREG stays 0.
    h.expect(b"AT+CGREG?\r", b"\r\n+CGREG: 2,0\r\n\r\nOK\r\n");
    h.expect(
        b"AT+QNWINFO\r",
        b"\r\n+QNWINFO: \"CAT-M1\",\"00101\",\"LTE BAND 20\",6300\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QCSQ\r",
        b"\r\n+QCSQ: \"CAT-M1\",-65,-95,150,-10\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+COPS=?\r",
        b"\r\n+COPS: (2,\"VMODEM NET\",\"VMODEM\",\"00101\",8),(1,\"VMODEM NET\",\"VMODEM\",\"00101\",9),,(0,1,2,3,4),(0,1,2)\r\n\r\nOK\r\n",
    );
}

#[test]
fn bg96_manual_selection_of_emtc_and_nbiot() {
    let (mut h, _) = booted(Model::Bg96);
    h.expect(b"AT+CEREG=2\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+COPS=1,2,\"00101\",9\r",
        b"\r\nOK\r\n\r\n+CEREG: 2\r\n\r\n+CEREG: 1,\"1A2B\",\"0C3D4E5\",9\r\n",
    );
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 1,2,\"00101\",9\r\n\r\nOK\r\n");
    h.expect(
        b"AT+QNWINFO\r",
        b"\r\n+QNWINFO: \"CAT-NB1\",\"00101\",\"LTE BAND 8\",3688\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+COPS=1,2,\"00101\",8\r",
        b"\r\nOK\r\n\r\n+CEREG: 2\r\n\r\n+CEREG: 1,\"1A2B\",\"0C3D4E5\",8\r\n",
    );
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 1,2,\"00101\",8\r\n\r\nOK\r\n");
    // E-UTRAN (7) is not a BG96 AcT; GSM (0) is, but the network has no GSM cell.
    h.expect(b"AT+COPS=1,2,\"00101\",7\r", b"\r\nERROR\r\n");
    h.expect(b"AT+COPS=1,2,\"00101\",0\r", b"\r\n+CME ERROR: 30\r\n");
    h.expect(b"AT+COPS=0\r", b"\r\nOK\r\n");
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 0,2,\"00101\",8\r\n\r\nOK\r\n");
}

#[test]
fn bg96_iotopmode_and_scan_sequence_choose_the_rat() {
    let (mut h, _) = booted(Model::Bg96);
    h.expect(b"AT+QCFG=\"iotopmode\",1,1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+COPS?\r",
        b"\r\n+COPS: 0,0,\"VMODEM NET\",9\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QCFG=\"iotopmode\",2,1\r", b"\r\nOK\r\n");
    h.expect(b"AT+QCFG=\"nwscanseq\",030201,1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+COPS?\r",
        b"\r\n+COPS: 0,0,\"VMODEM NET\",9\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QCFG=\"nwscanseq\",020301,1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+COPS?\r",
        b"\r\n+COPS: 0,0,\"VMODEM NET\",8\r\n\r\nOK\r\n",
    );
}

#[test]
fn bg95_names_its_rats_emtc_and_nbiot() {
    let (mut h, _) = booted(Model::Bg95);
    h.expect(
        b"AT+QNWINFO\r",
        b"\r\n+QNWINFO: \"eMTC\",\"00101\",\"LTE BAND 20\",6300\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+COPS=1,2,\"00101\",9\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QCSQ\r",
        b"\r\n+QCSQ: \"NBIoT\",-65,-95,150,-10\r\n\r\nOK\r\n",
    );
}

#[test]
fn ec25_refuses_the_bg9x_acts() {
    let (mut h, _) = booted(Model::Ec25);
    h.expect(b"AT+COPS=1,2,\"00101\",9\r", b"\r\nERROR\r\n");
    h.expect(b"AT+COPS=1,2,\"00101\",8\r", b"\r\nERROR\r\n");
    h.expect(b"AT+COPS=1,2,\"00101\",2\r", b"\r\n+CME ERROR: 30\r\n");
    h.expect(b"AT+COPS=1,2,\"00101\",7\r", b"\r\nOK\r\n");
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 1,2,\"00101\",7\r\n\r\nOK\r\n");
    // Mode 4 falls back to automatic instead of failing.
    h.expect(b"AT+COPS=4,2,\"99999\",7\r", b"\r\nOK\r\n");
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 0,2,\"00101\",7\r\n\r\nOK\r\n");
}

fn tmobile(model: Model) -> Harness {
    let mut h = Harness::with_config(Config {
        model,
        operator: Operator::new("310260", "T-Mobile").unwrap(),
        ..Config::default()
    });
    h.output();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h
}

#[test]
fn the_operator_is_settable_and_manual_selection_of_it_registers() {
    let mut h = tmobile(Model::Bg96);
    h.expect(
        b"AT+COPS?\r",
        b"\r\n+COPS: 0,0,\"T-Mobile\",8\r\n\r\nOK\r\n",
    );
    // The SIM is the operator's: its IMSI starts with the PLMN, so "home".
    h.expect(b"AT+CIMI\r", b"\r\n310260000000000\r\n\r\nOK\r\n");
    h.expect(b"AT+CEREG=1\r", b"\r\nOK\r\n");
    // As drivers written for the carrier select it.
    h.expect(
        b"AT+COPS=1,2,\"310260\",9\r",
        b"\r\nOK\r\n\r\n+CEREG: 2\r\n\r\n+CEREG: 1\r\n",
    );
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 1,2,\"310260\",9\r\n\r\nOK\r\n");
    h.expect(
        b"AT+QNWINFO\r",
        b"\r\n+QNWINFO: \"CAT-NB1\",\"310260\",\"LTE BAND 8\",3688\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+COPS=3,0\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+COPS?\r",
        b"\r\n+COPS: 1,0,\"T-Mobile\",9\r\n\r\nOK\r\n",
    );
    // Another network is not there; the old test network is gone too.
    h.expect(b"AT+COPS=1,2,\"00101\",8\r", b"\r\n+CME ERROR: 30\r\n");
    h.expect(b"AT+COPS=1,2,\"310410\"\r", b"\r\n+CME ERROR: 30\r\n");
    h.expect(
        b"AT+COPS=1,0,\"T-Mobile\",8\r",
        b"\r\nOK\r\n\r\n+CEREG: 2\r\n\r\n+CEREG: 1\r\n",
    );

    let mut ec = tmobile(Model::Ec25);
    ec.expect(b"AT+COPS=1,2,\"310260\",9\r", b"\r\nERROR\r\n");
    ec.expect(b"AT+COPS=1,2,\"310260\",7\r", b"\r\nOK\r\n");
    ec.expect(
        b"AT+COPS=?\r",
        b"\r\n+COPS: (2,\"T-Mobile\",\"T-Mobile\",\"310260\",7),,(0,1,2,3,4),(0,1,2)\r\n\r\nOK\r\n",
    );
}
