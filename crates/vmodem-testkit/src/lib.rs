//! Real-parts test support for vmodem.
//!
//! The integration tests in `tests/` drive a virtual EC25 the way firmware
//! drives a real one, and check what real MQTT peers see:
//!
//! ```text
//!   test ── vmodem_client::Client ── PtyStream ══ /dev/pts/N ══ PtyPort ── module task
//!                                     (raw, no flush)                         │ links
//!   Observer (rumqttc, 3.1.1) ───────────────► broker ◄───────────────────────┘
//!                                 Mosquitto (real process) · EmbeddedBroker (built in)
//! ```
//!
//! - [`TestModule`]: a module spawned in the test's runtime on a real
//!   pseudo-terminal, with a [`vmodem_client::Client`] on the slave side
//!   (generous timeouts for a loaded CI machine) and a trace of every serial
//!   byte for exact-byte checks.
//! - [`Mosquitto`]: Debian's `/usr/sbin/mosquitto` on a free loopback port,
//!   with kill, freeze (SIGSTOP/SIGCONT) and restart on the same port. Its
//!   absence fails the test with the command that installs it.
//! - [`start_builtin_broker`]: the built-in broker on a free loopback port, and
//!   [`wait_for_connections`], a bounded wait on the clients it counts.
//! - [`http`], [`http_get`], [`http_post`], [`http_delete`]: one HTTP/1.1
//!   request written by hand, for the control API tests ([`HttpAnswer`]).
//! - [`Observer`]: an independent MQTT 3.1.1 client, "the other device";
//!   [`MosquittoSub`] and [`mosquitto_pub`] for MQTT 3.1 at both ends.
//! - [`ResettingServer`], [`free_port`], [`closed_port`]: peers and ports for
//!   the network faults a module must report.
//! - [`broker_conformance`]: a packet-level check of what a module relies on
//!   a broker to do (3.1 and 3.1.1, UNSUBACK, minimum QoS, retained, will,
//!   sessions, CONNACK 4/5), run against any broker by address.
//! - [`Urcs`]: bounded waits on the URC stream that show everything seen when
//!   they fail.
//! - [`RawHost`]: a raw serial host (no `vmodem-client`) in one of the three
//!   [`HostStyle`]s real drivers are written in (CR only; CR LF in one write;
//!   read until OK and drop the rest of that read), on a pty or a TCP serial
//!   line ([`TcpModule`]), with a transcript of the line when a wait fails.
//! - [`ScriptedBroker`]: a raw MQTT peer under the test's control, for floods
//!   and stalls, counting the PUBACKs it got; [`RawLine`]: raw bytes off the
//!   line with no transcript or client-side buffer, for floods and memory
//!   measurements (a lost byte cannot hide, and the test's own memory stays flat).
//!
//! Every wait is bounded ([`PATIENCE`], or [`within`] for a whole test), every
//! process and server a helper starts is stopped when its handle drops, and
//! each helper uses its own ports and temporary directory, so tests run in
//! parallel.

pub mod broker_conformance;
mod builtin_broker;
mod host_style;
mod http;
mod module;
mod mosquitto;
mod mosquitto_clients;
mod net;
mod observer;
mod pty;
mod raw_line;
mod scratch;
mod scripted_broker;
mod tls;
mod urcs;

use std::future::Future;
use std::time::Duration;

pub use builtin_broker::{start_builtin_broker, wait_for_connections};
pub use host_style::{HostStyle, Prompt, RawHost, Reply, TcpModule};
pub use http::{http, http_delete, http_get, http_post, HttpAnswer};
pub use module::{close_client, TestModule, TestModuleBuilder};
pub use mosquitto::{Mosquitto, MosquittoConfig};
pub use mosquitto_clients::{mosquitto_pub, try_mosquitto_pub, MosquittoSub, PersistentSub};
pub use net::{closed_port, free_port, ResetWhen, ResettingServer};
pub use observer::{Observer, Received};
pub use pty::PtyStream;
pub use raw_line::RawLine;
pub use scratch::ScratchDir;
pub use scripted_broker::{BrokerStats, ScriptedBroker};
pub use tls::{qfupl_checksum, Leaf, MosquittoTls, SniRecorder, TestPki};
pub use urcs::{line, Urcs};

/// How long any single expected event may take (a URC, a message, a broker
/// starting). Generous: the CI machine has 2 cores shared by every test.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Runs `test` and panics if it takes longer than `limit`, so that no test can hang.
pub async fn within<F: Future>(limit: Duration, test: F) -> F::Output {
    match tokio::time::timeout(limit, test).await {
        Ok(out) => out,
        Err(_) => panic!("the test did not finish within {limit:?}"),
    }
}
