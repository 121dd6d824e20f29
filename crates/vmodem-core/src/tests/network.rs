//! SIM, radio and registration commands.

use super::harness::{show, Harness, BOOT};

fn quiet() -> Harness {
    let mut h = Harness::new();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h
}

#[test]
fn cpin_and_cfun() {
    let mut h = quiet();
    h.expect(b"AT+CPIN?\r", b"\r\n+CPIN: READY\r\n\r\nOK\r\n");
    h.expect(b"AT+CPIN=?\r", b"\r\nOK\r\n");
    h.expect(b"AT+CFUN?\r", b"\r\n+CFUN: 1\r\n\r\nOK\r\n");
    h.expect(b"AT+CFUN=?\r", b"\r\n+CFUN: (0,1,4),(0,1)\r\n\r\nOK\r\n");
    h.expect(b"AT+CFUN=0\r", b"\r\nOK\r\n");
    h.expect(b"AT+CFUN?\r", b"\r\n+CFUN: 0\r\n\r\nOK\r\n");
    h.expect(b"AT+CPIN?\r", b"\r\n+CME ERROR: 13\r\n");
    h.expect(b"AT+CIMI\r", b"\r\n+CME ERROR: 13\r\n");
    h.expect(b"AT+CSQ\r", b"\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
    h.expect(
        b"AT+CFUN=1\r",
        b"\r\nOK\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n",
    );
    h.expect(b"AT+CPIN?\r", b"\r\n+CPIN: READY\r\n\r\nOK\r\n");
    h.expect(b"AT+CFUN=4\r", b"\r\nOK\r\n");
    h.expect(b"AT+CPIN?\r", b"\r\n+CPIN: READY\r\n\r\nOK\r\n");
    h.expect(b"AT+CFUN=2\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CFUN=5\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CFUN=1,2\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CFUN\r", b"\r\nERROR\r\n");
}

#[test]
fn cfun_reset_from_any_level_reboots() {
    let mut h = quiet();
    let mut want = b"\r\nOK\r\n".to_vec();
    want.extend_from_slice(BOOT);
    h.expect(b"AT+CFUN=1,1\r", &want);
    h.expect(b"AT+CFUN?\r", b"AT+CFUN?\r\r\n+CFUN: 1\r\n\r\nOK\r\n");
}

#[test]
fn csq() {
    let mut h = quiet();
    h.expect(b"AT+CSQ\r", b"\r\n+CSQ: 24,99\r\n\r\nOK\r\n");
    h.expect(b"AT+CSQ=?\r", b"\r\n+CSQ: (0-31,99),(0-7,99)\r\n\r\nOK\r\n");
    h.expect(b"AT+CSQ?\r", b"\r\nERROR\r\n");
}

#[test]
fn registration_reads_in_modes_0_1_2() {
    let mut h = quiet();
    for name in ["CREG", "CGREG", "CEREG"] {
        let q = format!("AT+{name}?\r");
        h.expect(
            q.as_bytes(),
            format!("\r\n+{name}: 0,1\r\n\r\nOK\r\n").as_bytes(),
        );
        h.expect(format!("AT+{name}=1\r").as_bytes(), b"\r\nOK\r\n");
        h.expect(
            q.as_bytes(),
            format!("\r\n+{name}: 1,1\r\n\r\nOK\r\n").as_bytes(),
        );
        h.expect(format!("AT+{name}=2\r").as_bytes(), b"\r\nOK\r\n");
        h.expect(
            q.as_bytes(),
            format!("\r\n+{name}: 2,1,\"1A2B\",\"0C3D4E5\",7\r\n\r\nOK\r\n").as_bytes(),
        );
        h.expect(
            format!("AT+{name}=?\r").as_bytes(),
            format!("\r\n+{name}: (0-2)\r\n\r\nOK\r\n").as_bytes(),
        );
        h.expect(format!("AT+{name}=3\r").as_bytes(), b"\r\nERROR\r\n");
    }
}

#[test]
fn registration_urcs_follow_the_mode() {
    let mut h = quiet();
    h.expect(b"AT+CREG=1;+CEREG=2\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+CFUN=4\r",
        b"\r\nOK\r\n\r\n+CREG: 0\r\n\r\n+CEREG: 0\r\n",
    );
    h.expect(b"AT+CEREG?\r", b"\r\n+CEREG: 2,0\r\n\r\nOK\r\n");
    // Radio on: searching at once, then registered (fast timing: the same instant).
    h.expect(
        b"AT+CFUN=1\r",
        b"\r\nOK\r\n\r\n+CREG: 2\r\n\r\n+CEREG: 2\r\n\r\n+CREG: 1\r\n\r\n+CEREG: 1,\"1A2B\",\"0C3D4E5\",7\r\n",
    );
}

#[test]
fn cops_read_test_and_selection() {
    let mut h = quiet();
    h.expect(
        b"AT+COPS?\r",
        b"\r\n+COPS: 0,0,\"VMODEM NET\",7\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+COPS=?\r",
        b"\r\n+COPS: (2,\"VMODEM NET\",\"VMODEM\",\"00101\",7),,(0,1,2,3,4),(0,1,2)\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+COPS=3,2\r", b"\r\nOK\r\n");
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 0,2,\"00101\",7\r\n\r\nOK\r\n");
    h.expect(b"AT+CEREG=1\r", b"\r\nOK\r\n");
    h.expect(b"AT+COPS=2\r", b"\r\nOK\r\n\r\n+CEREG: 0\r\n");
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 2\r\n\r\nOK\r\n");
    h.expect(b"AT+CSQ\r", b"\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
    h.expect(b"AT+COPS=1,2,\"99999\",7\r", b"\r\n+CME ERROR: 30\r\n");
    h.expect(
        b"AT+COPS=1,2,\"00101\",7\r",
        b"\r\nOK\r\n\r\n+CEREG: 2\r\n\r\n+CEREG: 1\r\n",
    );
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 1,2,\"00101\",7\r\n\r\nOK\r\n");
    h.expect(b"AT+COPS=0\r", b"\r\nOK\r\n");
    h.expect(b"AT+COPS?\r", b"\r\n+COPS: 0,2,\"00101\",7\r\n\r\nOK\r\n");
    h.expect(b"AT+COPS=5\r", b"\r\nERROR\r\n");
    h.expect(b"AT+COPS=1\r", b"\r\nERROR\r\n");
}

#[test]
fn cgatt_detach_drops_contexts_and_attach_restores_the_default_bearer() {
    let mut h = quiet();
    h.expect(b"AT+CGATT?\r", b"\r\n+CGATT: 1\r\n\r\nOK\r\n");
    h.expect(b"AT+CGATT=?\r", b"\r\n+CGATT: (0,1)\r\n\r\nOK\r\n");
    h.expect(b"AT+CGATT=0\r", b"\r\nOK\r\n");
    h.expect(b"AT+CGATT?\r", b"\r\n+CGATT: 0\r\n\r\nOK\r\n");
    h.expect(b"AT+QIACT?\r", b"\r\nOK\r\n");
    h.expect(b"AT+CGATT=1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QIACT?\r",
        b"\r\n+QIACT: 1,1,1,\"10.64.0.1\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CFUN=4\r", b"\r\nOK\r\n");
    h.expect(b"AT+CGATT=1\r", b"\r\n+CME ERROR: 30\r\n");
    assert_eq!(show(&h.send(b"AT+CGATT=2\r")), show(b"\r\nERROR\r\n"));
}
