//! The built-in broker ([`EmbeddedBroker`], vmodem's own on `vmodem-mqtt`)
//! on a free loopback port, and a bounded wait on its connection count:
//! what the fault and toxic tests start from.

use std::time::{Duration, Instant};

use vmodem_tokio::EmbeddedBroker;

/// The built-in broker, plain MQTT on `127.0.0.1` and a port the system picks
/// (`broker.local_addr().port()`); it stops when dropped.
pub async fn start_builtin_broker() -> EmbeddedBroker {
    EmbeddedBroker::start("127.0.0.1:0".parse().expect("a loopback address"))
        .await
        .expect("the built-in broker starts on loopback")
}

/// Waits (at most 5 s) until `broker` counts exactly `n` connected clients,
/// e.g. to see that a fault made the module's link go or a reconnect came back.
pub async fn wait_for_connections(broker: &EmbeddedBroker, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while broker.stats().connections != n {
        assert!(
            Instant::now() < deadline,
            "after 5 s the broker counts {} connected clients, not {n}",
            broker.stats().connections
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
