//! Coming back after a `network_loss` on a radio network: the module
//! searches, then registers after a delay drawn from the network's
//! registration profile (`radio.rs`), seeded — the same seed, the same
//! moment; another seed, another (issue 10 §2). Virtual time, exact bytes.

use core::time::Duration;

use super::harness::{show, Harness};
use crate::{Fault, Network};

/// An LTE module with `seed`, registered, `+CEREG` URCs on; a 2 s network
/// loss, then the time (ms after the loss ended) the module writes
/// `+CEREG: 1`, and everything it wrote from the loss's end on.
fn back_after_loss(seed: u64) -> (u64, String) {
    let mut h = Harness::on_network(Network::Lte, seed);
    h.advance(Duration::from_secs(60));
    h.send(b"ATE0\r");
    h.advance(Duration::from_secs(1));
    h.send(b"AT+CEREG=1\r");
    h.advance(Duration::from_secs(1));
    h.modem.add_fault(
        h.now,
        Fault::NetworkLoss { stat: 0 },
        Some(Duration::from_secs(2)),
    );
    assert_eq!(
        show(&h.advance(Duration::from_millis(1999))),
        show(b"\r\n+CEREG: 0\r\n\r\n+QIURC: \"pdpdeact\",1\r\n")
    );
    let timed = h.advance_timed(Duration::from_secs(60));
    let mut text = String::new();
    let mut registered_at = None;
    for (t, bytes) in &timed {
        let chunk = String::from_utf8_lossy(bytes).into_owned();
        if registered_at.is_none() && chunk.contains("+CEREG: 1") {
            registered_at = Some(*t);
        }
        text.push_str(&chunk);
    }
    (registered_at.expect("registered again"), text)
}

#[test]
fn reregistration_after_a_loss_takes_the_radios_seeded_time() {
    let (a, text) = back_after_loss(7);
    // Searching at the end of the loss, registered after the LTE profile's
    // registration time (2–8 s), never at once.
    assert_eq!(text, "\r\n+CEREG: 2\r\n\r\n+CEREG: 1\r\n", "{text:?}");
    assert!(
        (2_000..=8_001).contains(&a),
        "registered {a} ms after the loss"
    );
    // The same seed gives the same moment; other seeds other moments.
    assert_eq!(back_after_loss(7).0, a);
    let others: Vec<u64> = (8..12).map(|s| back_after_loss(s).0).collect();
    assert!(others.iter().any(|&t| t != a), "{a} vs {others:?}");
}
