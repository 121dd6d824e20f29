//! Per-module memory, pinned (issue 13): a fleet multiplies every byte of a
//! [`Modem`] by 100,000, so a field added inline, or a table stored whole
//! again, fails here rather than in a fleet's RSS.

use core::mem::size_of;

use super::harness::Harness;
use crate::Modem;

/// Measured 1,248 B on x86_64 (rustc 1.95) once PDP contexts, MQTT clients
/// and SSL contexts became `Sparse` tables (it was 7,360 B: 16 × 144 B
/// contexts, 6 × 592 B clients, 6 × 80 B SSL contexts inline). The bound
/// leaves ~25 % for state added later; past it, box the new state.
const MODEM_MAX: usize = 1_600;

#[test]
fn a_modem_is_small_and_its_tables_are_pointers() {
    assert!(
        size_of::<Modem>() <= MODEM_MAX,
        "size_of::<Modem>() = {} B > {MODEM_MAX} B: box what is large, store what is used",
        size_of::<Modem>()
    );
    // One pointer per entry: 16 PDP contexts, 6 clients, 6 SSL contexts.
    assert_eq!(
        size_of::<crate::device::Contexts>(),
        16 * size_of::<usize>()
    );
    assert_eq!(size_of::<crate::mqtt::Mqtt>(), 6 * size_of::<usize>());
    assert_eq!(size_of::<crate::ssl::Ssl>(), 6 * size_of::<usize>());
}

#[test]
fn an_idle_module_stores_only_what_it_used() {
    let mut h = Harness::new();
    // Queries of every table read factory values without storing them.
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h.expect(b"AT+QMTOPEN?\r", b"\r\nOK\r\n");
    h.expect(b"AT+QMTCONN?\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QSSLCFG=\"seclevel\",3\r",
        b"\r\n+QSSLCFG: \"seclevel\",3,0\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+CGDCONT?\r",
        b"\r\n+CGDCONT: 1,\"IP\",\"\",\"0.0.0.0\",0,0,0,0\r\n\r\nOK\r\n",
    );
    let m = &h.modem;
    assert_eq!(m.mqtt.clients.stored().count(), 0);
    assert_eq!(m.ssl.contexts.stored().count(), 0);
    // Context 1 is defined at the factory (module-behaviour.md, "PDP context").
    assert_eq!(m.device.contexts.stored().count(), 1);
    // Using client 2 and SSL context 4 stores those, and only those.
    h.expect(b"AT+QMTCFG=\"keepalive\",2,60\r", b"\r\nOK\r\n");
    h.expect(b"AT+QSSLCFG=\"seclevel\",4,1\r", b"\r\nOK\r\n");
    let m = &h.modem;
    assert_eq!(
        m.mqtt.clients.stored().map(|c| c.idx).collect::<Vec<_>>(),
        [2]
    );
    assert_eq!(m.ssl.contexts.stored().count(), 1);
    h.expect(
        b"AT+QSSLCFG=\"seclevel\",4\r",
        b"\r\n+QSSLCFG: \"seclevel\",4,1\r\n\r\nOK\r\n",
    );
}
