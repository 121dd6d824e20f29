//! The commands drivers send at start-up before any MQTT (issue 9, item 3),
//! answered as the manuals and real logs show (docs/decisions.md, "Start-up
//! commands").

use core::time::Duration;

use super::harness::{show, Harness};
use crate::{Config, Model, Timing};

fn quiet(model: Model) -> Harness {
    let mut h = Harness::with_config(Config {
        model,
        ..Config::default()
    });
    h.output();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h
}

#[test]
fn qgmr_adds_the_application_version() {
    let mut h = quiet(Model::Ec25);
    h.expect(
        b"AT+QGMR\r",
        b"\r\nEC25EFAR06A06M4G_01.001.01.001\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QGMR=?\r", b"\r\nOK\r\n");
    h.expect(b"AT+QGMR?\r", b"\r\nERROR\r\n");
    let mut h = quiet(Model::Bg95);
    h.expect(
        b"AT+QGMR\r",
        b"\r\nBG95M3LAR02A03_01.012.01.012\r\n\r\nOK\r\n",
    );
    h.expect(
        b"ATI\r",
        b"\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n",
    );
}

#[test]
fn qnwinfo_and_qcsq_follow_registration() {
    let mut h = quiet(Model::Ec25);
    h.expect(
        b"AT+QNWINFO\r",
        b"\r\n+QNWINFO: \"FDD LTE\",\"00101\",\"LTE BAND 3\",1300\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QCSQ\r",
        b"\r\n+QCSQ: \"LTE\",-65,-95,150,-10\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QNWINFO=?\r", b"\r\nOK\r\n");
    h.expect(b"AT+QCSQ=?\r", b"\r\nOK\r\n");
    h.expect(b"AT+QNWINFO?\r", b"\r\nERROR\r\n");
    h.expect(b"AT+COPS=2\r", b"\r\nOK\r\n");
    h.expect(b"AT+QNWINFO\r", b"\r\n+QNWINFO: No Service\r\n\r\nOK\r\n");
    h.expect(b"AT+QCSQ\r", b"\r\n+QCSQ: \"NOSERVICE\"\r\n\r\nOK\r\n");
}

#[test]
fn qlts_gives_the_network_time_once_registered() {
    // Realistic timing: registration comes seconds after power-up, so the
    // module has no network time before it.
    let mut h = Harness::with_config(Config {
        timing: Timing::Realistic,
        ..Config::default()
    });
    h.advance(Duration::from_millis(2_600)); // RDY at 2.5 s
    h.send(b"ATE0\r");
    h.advance(Duration::from_millis(100));
    h.send(b"AT+QLTS\r");
    assert_eq!(
        show(&h.advance(Duration::from_millis(100))),
        show(b"\r\n+QLTS: \"\"\r\n\r\nOK\r\n")
    );
    h.advance(Duration::from_secs(10));
    // Registered: the network time is Config::unix_time_ms (2025-01-01T00:00:00Z)
    // plus the time since power-up, zone +00.
    h.send(b"AT+QLTS=1\r");
    let got = String::from_utf8(h.advance(Duration::from_millis(100))).unwrap();
    assert!(
        got.starts_with("\r\n+QLTS: \"2025/01/01,00:00:1")
            && got.ends_with("+00,0\"\r\n\r\nOK\r\n"),
        "{got:?}"
    );
    h.send(b"AT+QLTS=?\r");
    assert_eq!(
        show(&h.advance(Duration::from_millis(100))),
        show(b"\r\n+QLTS: (0-2)\r\n\r\nOK\r\n")
    );
    h.send(b"AT+QLTS=3\r");
    assert_eq!(
        show(&h.advance(Duration::from_millis(100))),
        show(b"\r\nERROR\r\n")
    );
}

#[test]
fn qlts_modes_and_cclk_do_not_move_network_time() {
    let mut h = quiet(Model::Ec25);
    // Fast timing registers at power-up (now = 1000 s, unix time 2025-01-01).
    h.advance(Duration::from_secs(61));
    h.expect(
        b"AT+QLTS\r",
        b"\r\n+QLTS: \"2025/01/01,00:00:00+00,0\"\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QLTS=1\r",
        b"\r\n+QLTS: \"2025/01/01,00:01:01+00,0\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CCLK=\"30/06/01,12:00:00+00\"\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QLTS=2\r",
        b"\r\n+QLTS: \"2025/01/01,00:01:01+00,0\"\r\n\r\nOK\r\n",
    );
}

#[test]
fn ctzu_ctzr_ifc_cscs() {
    let mut h = quiet(Model::Ec25);
    h.expect(b"AT+CTZU?\r", b"\r\n+CTZU: 0\r\n\r\nOK\r\n");
    h.expect(b"AT+CTZU=?\r", b"\r\n+CTZU: (0,1,3)\r\n\r\nOK\r\n");
    h.expect(b"AT+CTZU=1\r", b"\r\nOK\r\n");
    h.expect(b"AT+CTZU=2\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CTZU=4\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CTZR=?\r", b"\r\n+CTZR: (0-2)\r\n\r\nOK\r\n");
    h.expect(b"AT+CTZR=0\r", b"\r\nOK\r\n");
    h.expect(b"AT+CTZR?\r", b"\r\n+CTZR: 0\r\n\r\nOK\r\n");
    h.expect(b"AT+CTZR=3\r", b"\r\nERROR\r\n");
    h.expect(b"AT+IFC=2,2\r", b"\r\nOK\r\n");
    h.expect(b"AT+IFC?\r", b"\r\n+IFC: 2,2\r\n\r\nOK\r\n");
    h.expect(b"AT+IFC=?\r", b"\r\n+IFC: (0,2),(0,2)\r\n\r\nOK\r\n");
    h.expect(b"AT+IFC=1,1\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+CSCS=?\r",
        b"\r\n+CSCS: (\"GSM\",\"IRA\",\"UCS2\")\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CSCS=\"GSM\"\r", b"\r\nOK\r\n");
    // CTZU is non-volatile; the BG96 comes with it on.
    h.send(b"AT+CFUN=1,1\r");
    h.expect(b"AT+CTZU?\r", b"AT+CTZU?\r\r\n+CTZU: 1\r\n\r\nOK\r\n");
    let mut bg = quiet(Model::Bg96);
    bg.expect(b"AT+CTZU?\r", b"\r\n+CTZU: 1\r\n\r\nOK\r\n");
}

#[test]
fn cpsms_is_stored_and_read_back() {
    let mut h = quiet(Model::Ec25);
    h.expect(
        b"AT+CPSMS?\r",
        b"\r\n+CPSMS: 0,,,\"00101100\",\"00001010\"\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+CPSMS=?\r",
        b"\r\n+CPSMS: (0-2),,,(\"00000000\"-\"11111111\"),(\"00000000\"-\"11111111\")\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CPSMS=1,,,\"00000100\",\"00001111\"\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+CPSMS?\r",
        b"\r\n+CPSMS: 1,,,\"00000100\",\"00001111\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CPSMS=0\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+CPSMS?\r",
        b"\r\n+CPSMS: 0,,,\"00000100\",\"00001111\"\r\n\r\nOK\r\n",
    );
    // Mode 2 forgets the timers.
    h.expect(b"AT+CPSMS=2\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+CPSMS?\r",
        b"\r\n+CPSMS: 0,,,\"00101100\",\"00001010\"\r\n\r\nOK\r\n",
    );
    for bad in [
        &b"AT+CPSMS=3\r"[..],
        b"AT+CPSMS=1,,,\"0000010\",\"00001111\"\r",
        b"AT+CPSMS=1,,,\"0000010x\"\r",
        b"AT+CPSMS=1,,,00000100\r",
        b"AT+CPSMS\r",
    ] {
        h.expect(bad, b"\r\nERROR\r\n");
    }
}

#[test]
fn cedrxs_is_stored_per_act_type() {
    let mut h = quiet(Model::Ec25);
    h.expect(b"AT+CEDRXS?\r", b"\r\n+CEDRXS: 0\r\n\r\nOK\r\n");
    h.expect(
        b"AT+CEDRXS=?\r",
        b"\r\n+CEDRXS: (0-3),(4),(\"0000\"-\"1111\")\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CEDRXS=1,4,\"0101\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+CEDRXS?\r", b"\r\n+CEDRXS: 4,\"0101\"\r\n\r\nOK\r\n");
    h.expect(b"AT+CEDRXS=1,5,\"0101\"\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CEDRXS=0\r", b"\r\nOK\r\n");
    h.expect(b"AT+CEDRXS?\r", b"\r\n+CEDRXS: 0\r\n\r\nOK\r\n");
    h.expect(b"AT+CEDRXS=1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CEDRXS=1,4,\"01010\"\r", b"\r\nERROR\r\n");
    let mut bg = quiet(Model::Bg96);
    bg.expect(
        b"AT+CEDRXS=?\r",
        b"\r\n+CEDRXS: (0-3),(4,5),(\"0000\"-\"1111\")\r\n\r\nOK\r\n",
    );
    bg.expect(b"AT+CEDRXS=2,5\r", b"\r\nOK\r\n");
    bg.expect(b"AT+CEDRXS=1,4,\"1001\"\r", b"\r\nOK\r\n");
    bg.expect(
        b"AT+CEDRXS?\r",
        b"\r\n+CEDRXS: 4,\"1001\"\r\n+CEDRXS: 5,\"0010\"\r\n\r\nOK\r\n",
    );
    bg.expect(b"AT+CEDRXS=3\r", b"\r\nOK\r\n");
    bg.expect(b"AT+CEDRXS?\r", b"\r\n+CEDRXS: 0\r\n\r\nOK\r\n");
}

#[test]
fn qigeterror_reports_the_last_tcpip_command() {
    let mut h = quiet(Model::Ec25);
    h.expect(
        b"AT+QIGETERROR\r",
        b"\r\n+QIGETERROR: 0,operate successfully\r\n\r\nOK\r\n",
    );
    // Context 1 is already active (the default bearer): activation fails.
    h.expect(b"AT+QIACT=1\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+QIGETERROR\r",
        b"\r\n+QIGETERROR: 561,open PDP context failed\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QICSGP=1,9,\"apn\"\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+QIGETERROR\r",
        b"\r\n+QIGETERROR: 552,invalid parameters\r\n\r\nOK\r\n",
    );
    // Non-TCP/IP commands leave it alone; a successful TCP/IP command clears it.
    h.expect(b"AT+CSQ=1\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+QIGETERROR\r",
        b"\r\n+QIGETERROR: 552,invalid parameters\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QIDEACT=1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QIGETERROR\r",
        b"\r\n+QIGETERROR: 0,operate successfully\r\n\r\nOK\r\n",
    );
}

#[test]
fn cgpaddr_ccid_cgerep() {
    let mut h = quiet(Model::Ec25);
    h.expect(
        b"AT+CGPADDR=1\r",
        b"\r\n+CGPADDR: 1,\"10.64.0.1\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CGDCONT=2,\"IP\",\"other\"\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+CGPADDR\r",
        b"\r\n+CGPADDR: 1,\"10.64.0.1\"\r\n+CGPADDR: 2\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CGPADDR=?\r", b"\r\n+CGPADDR: (1,2)\r\n\r\nOK\r\n");
    h.expect(b"AT+CGPADDR=3\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+CCID\r",
        b"\r\n+CCID: 8900101000000000001\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CGEREP=1,0\r", b"\r\nOK\r\n");
    h.expect(b"AT+CGEREP?\r", b"\r\n+CGEREP: 1,0\r\n\r\nOK\r\n");
    h.expect(b"AT+CGEREP=?\r", b"\r\n+CGEREP: (0-2),(0,1)\r\n\r\nOK\r\n");
    h.expect(b"AT+CGEREP=3\r", b"\r\nERROR\r\n");
}
