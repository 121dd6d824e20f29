//! `AT+QINDCFG` and `+QIND: "csq"`, `AT+QSIMSTAT` (EC2x AT manual), driven by the device
//! faults that change the signal and the SIM; `AT+QLTS` under a `clock` fault. Exact
//! bytes, virtual time.

use core::time::Duration;

use super::harness::{show, Harness};
use super::mqtt::quiet;
use crate::Fault;

fn add(h: &mut Harness, fault: Fault) -> crate::FaultId {
    h.modem.add_fault(h.now, fault, None)
}

#[test]
fn qindcfg_forms_and_factory_settings() {
    let mut h = quiet();
    h.expect(
        b"AT+QINDCFG=?\r",
        b"\r\n+QINDCFG: \"all\",(0,1),(0,1)\r\n+QINDCFG: \"csq\",(0,1),(0,1)\r\n+QINDCFG: \"smsfull\",(0,1),(0,1)\r\n+QINDCFG: \"ring\",(0,1),(0,1)\r\n+QINDCFG: \"smsincoming\",(0,1),(0,1)\r\n+QINDCFG: \"act\",(0,1),(0,1)\r\n+QINDCFG: \"ccinfo\",(0,1),(0,1)\r\n\r\nOK\r\n",
    );
    // Factory: "all", "ring", "smsincoming" on; "csq" off (the manual's defaults).
    h.expect(
        b"AT+QINDCFG=\"all\"\r",
        b"\r\n+QINDCFG: \"all\",1\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QINDCFG=\"csq\"\r",
        b"\r\n+QINDCFG: \"csq\",0\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QINDCFG=\"ring\"\r",
        b"\r\n+QINDCFG: \"ring\",1\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QINDCFG=\"CSQ\",1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QINDCFG=\"csq\"\r",
        b"\r\n+QINDCFG: \"csq\",1\r\n\r\nOK\r\n",
    );
    // Bad input gets ERROR: unknown type, enable out of range, too many, forms.
    h.expect(b"AT+QINDCFG=\"sqi\",1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QINDCFG=\"csq\",2\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QINDCFG=\"csq\",1,0,0\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QINDCFG=csq,1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QINDCFG?\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QINDCFG\r", b"\r\nERROR\r\n");
}

#[test]
fn csq_report_follows_a_signal_fault_only_when_enabled() {
    let mut h = quiet();
    // Off by default: a signal change writes nothing.
    let weak = add(&mut h, Fault::Signal { rssi: 5, ber: 2 });
    assert_eq!(show(&h.output()), "");
    h.modem.end_fault(h.now, weak);
    assert_eq!(show(&h.output()), "");

    h.expect(b"AT+QINDCFG=\"csq\",1\r", b"\r\nOK\r\n");
    // Turning it on reports nothing by itself.
    assert_eq!(show(&h.output()), "");
    let weak = add(&mut h, Fault::Signal { rssi: 5, ber: 2 });
    assert_eq!(show(&h.output()), show(b"\r\n+QIND: \"csq\",5,2\r\n"));
    // The report and AT+CSQ agree.
    h.expect(b"AT+CSQ\r", b"\r\n+CSQ: 5,2\r\n\r\nOK\r\n");
    // A second fault with the same value changes nothing on the line.
    let same = add(&mut h, Fault::Signal { rssi: 5, ber: 2 });
    assert_eq!(show(&h.output()), "");
    h.modem.end_fault(h.now, same);
    assert_eq!(show(&h.output()), "");
    h.modem.end_fault(h.now, weak);
    assert_eq!(show(&h.output()), show(b"\r\n+QIND: \"csq\",24,99\r\n"));
    h.expect(b"AT+CSQ\r", b"\r\n+CSQ: 24,99\r\n\r\nOK\r\n");

    // The main switch off silences it.
    h.expect(b"AT+QINDCFG=\"all\",0\r", b"\r\nOK\r\n");
    add(&mut h, Fault::Signal { rssi: 10, ber: 99 });
    assert_eq!(show(&h.output()), "");
}

#[test]
fn csq_report_on_network_loss_and_back() {
    let mut h = quiet();
    h.expect(b"AT+CEREG=1\r", b"\r\nOK\r\n");
    h.expect(b"AT+QINDCFG=\"csq\",1\r", b"\r\nOK\r\n");
    let loss = h.modem.add_fault(
        h.now,
        Fault::NetworkLoss { stat: 2 },
        Some(Duration::from_secs(3)),
    );
    // After the registration URC and the PDP teardown: no signal.
    assert_eq!(
        show(&h.output()),
        show(b"\r\n+CEREG: 2\r\n\r\n+QIURC: \"pdpdeact\",1\r\n\r\n+QIND: \"csq\",99,99\r\n")
    );
    h.expect(b"AT+CSQ\r", b"\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
    // Its end: registered again (fast timing: at once), the cell's signal.
    assert_eq!(
        show(&h.advance(Duration::from_secs(3))),
        show(b"\r\n+CEREG: 1\r\n\r\n+QIND: \"csq\",24,99\r\n")
    );
    assert!(!h.modem.end_fault(h.now, loss));
}

#[test]
fn qindcfg_survives_a_reboot_only_when_saved() {
    let mut h = quiet();
    h.expect(b"AT+QINDCFG=\"csq\",1\r", b"\r\nOK\r\n");
    h.expect(b"AT+QINDCFG=\"ring\",0,1\r", b"\r\nOK\r\n");
    h.send(b"AT+CFUN=1,1\r");
    h.advance(Duration::from_secs(30));
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h.expect(
        b"AT+QINDCFG=\"csq\"\r",
        b"\r\n+QINDCFG: \"csq\",0\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QINDCFG=\"ring\"\r",
        b"\r\n+QINDCFG: \"ring\",0\r\n\r\nOK\r\n",
    );

    // Saved: in force after a reboot.
    h.expect(b"AT+QINDCFG=\"csq\",1,1\r", b"\r\nOK\r\n");
    h.send(b"AT+CFUN=1,1\r");
    h.advance(Duration::from_secs(30));
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h.expect(
        b"AT+QINDCFG=\"csq\"\r",
        b"\r\n+QINDCFG: \"csq\",1\r\n\r\nOK\r\n",
    );
    add(&mut h, Fault::Signal { rssi: 31, ber: 0 });
    assert_eq!(show(&h.output()), show(b"\r\n+QIND: \"csq\",31,0\r\n"));
}

#[test]
fn clock_fault_shifts_qlts_as_well_as_cclk() {
    let mut h = quiet();
    h.expect(
        b"AT+QLTS=1\r",
        b"\r\n+QLTS: \"2025/01/01,00:00:00+00,0\"\r\n\r\nOK\r\n",
    );
    let id = add(
        &mut h,
        Fault::Clock {
            offset_s: 86_400 + 61,
        },
    );
    for mode in ["", "=0", "=1", "=2"] {
        h.expect(
            format!("AT+QLTS{mode}\r").as_bytes(),
            b"\r\n+QLTS: \"2025/01/02,00:01:01+00,0\"\r\n\r\nOK\r\n",
        );
    }
    h.expect(
        b"AT+CCLK?\r",
        b"\r\n+CCLK: \"25/01/02,00:01:01+00\"\r\n\r\nOK\r\n",
    );
    h.modem.end_fault(h.now, id);
    h.expect(
        b"AT+QLTS=2\r",
        b"\r\n+QLTS: \"2025/01/01,00:00:00+00,0\"\r\n\r\nOK\r\n",
    );
}

#[test]
fn qsimstat_reports_the_card_going_and_coming() {
    let mut h = quiet();
    h.expect(b"AT+QSIMSTAT=?\r", b"\r\n+QSIMSTAT: (0,1)\r\n\r\nOK\r\n");
    h.expect(b"AT+QSIMSTAT?\r", b"\r\n+QSIMSTAT: 0,1\r\n\r\nOK\r\n");
    h.expect(b"AT+QSIMSTAT=2\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QSIMSTAT\r", b"\r\nERROR\r\n");
    // Off (the default): the removal shows only as +CPIN and registration.
    let id = add(&mut h, Fault::SimRemoved);
    assert_eq!(
        show(&h.output()),
        show(b"\r\n+CPIN: NOT READY\r\n\r\n+QIURC: \"pdpdeact\",1\r\n")
    );
    h.expect(b"AT+QSIMSTAT?\r", b"\r\n+QSIMSTAT: 0,0\r\n\r\nOK\r\n");
    h.modem.end_fault(h.now, id);
    h.output();

    h.expect(b"AT+QSIMSTAT=1\r", b"\r\nOK\r\n");
    h.expect(b"AT+CEREG=1\r", b"\r\nOK\r\n");
    let id = add(&mut h, Fault::SimRemoved);
    assert_eq!(
        show(&h.output()),
        show(b"\r\n+QSIMSTAT: 1,0\r\n\r\n+CPIN: NOT READY\r\n\r\n+CEREG: 0\r\n")
    );
    h.expect(b"AT+QSIMSTAT?\r", b"\r\n+QSIMSTAT: 1,0\r\n\r\nOK\r\n");
    h.expect(b"AT+CIMI\r", b"\r\n+CME ERROR: 10\r\n");
    h.modem.end_fault(h.now, id);
    let back = String::from_utf8(h.output()).unwrap();
    assert!(
        back.starts_with("\r\n+QSIMSTAT: 1,1\r\n\r\n+CPIN: READY\r\n")
            && back.ends_with("\r\n+CEREG: 1\r\n"),
        "{back:?}"
    );
    h.expect(b"AT+QSIMSTAT?\r", b"\r\n+QSIMSTAT: 1,1\r\n\r\nOK\r\n");
}

#[test]
fn act_report_at_once_then_on_loss_and_return() {
    let mut h = quiet();
    // Reported at once when turned on (the manual), after the OK.
    h.expect(
        b"AT+QINDCFG=\"act\",1\r",
        b"\r\nOK\r\n\r\n+QIND: \"act\",\"LTE\"\r\n",
    );
    h.expect(
        b"AT+QINDCFG=\"act\"\r",
        b"\r\n+QINDCFG: \"act\",1\r\n\r\nOK\r\n",
    );
    h.modem.add_fault(
        h.now,
        Fault::NetworkLoss { stat: 0 },
        Some(Duration::from_secs(1)),
    );
    assert_eq!(
        show(&h.output()),
        show(b"\r\n+QIURC: \"pdpdeact\",1\r\n\r\n+QIND: \"act\",\"UNKNOWN\"\r\n")
    );
    assert_eq!(
        show(&h.advance(Duration::from_secs(1))),
        show(b"\r\n+QIND: \"act\",\"LTE\"\r\n")
    );
    // A signal change is not an access technology change.
    add(&mut h, Fault::Signal { rssi: 3, ber: 99 });
    assert_eq!(show(&h.output()), "");
}
