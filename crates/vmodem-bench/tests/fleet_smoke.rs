//! The fleet benchmarks end to end with tiny numbers: every side connects
//! and publishes for real (built-in broker, in-process serial lines), and the
//! figures are there. Nothing here asserts on speed.

use vmodem_bench::fleet::{at_path, rss_kib, storm, BrokerKind};

#[test]
fn a_tiny_storm_connects_every_module_and_every_rumqttc_client() {
    let r = storm(5, 1, BrokerKind::BuiltIn, 2, false).expect("the storm runs");
    assert_eq!((r.vmodem.len(), r.raw.len()), (1, 1));
    // Every one of the 5 on each side reached +QMTCONN: 0,0,0 / CONNACK.
    assert_eq!(r.vmodem[0].each.count, 5);
    assert_eq!(r.raw[0].each.count, 5);
    assert!(r.ratio > 0.0 && r.ratio.is_finite(), "{r:?}");
}

#[test]
fn a_tiny_at_path_run_acknowledges_every_message_on_both_sides() {
    let r = at_path(1, 20, 1, 2, false).expect("the run completes");
    assert_eq!((r.vmodem.messages, r.raw.messages), (20, 20));
    assert!(r.vmodem.msg_per_s > 0.0 && r.raw.msg_per_s > 0.0, "{r:?}");
    assert!(rss_kib() > 0, "VmRSS is read from /proc/self/status");
}
