//! An MQTT broker inside vmodem, so `AT+QMTOPEN=0,"127.0.0.1",1883` works
//! with nothing else installed.
//!
//! This is rumqttd 0.20 with one plain-TCP MQTT 3.1.1 listener; it accepts
//! any client (no authentication, no TLS) and also serves outside clients
//! such as `mosquitto_sub`. rumqttd runs its router and listener on threads of
//! its own, and offers no way to stop them: the broker lives until the process
//! exits. rumqttd's listener reports a failed bind only to its log, so we check
//! the address is free before starting it, and wait until it answers an MQTT
//! CONNECT before reporting it started.
//!
//! rumqttd speaks MQTT 3.1.1 (and 5) but refuses MQTT 3.1 (`MQIsdp`, protocol
//! level 3): a module must be set to `AT+QMTCFG="version",c,4` to use it.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use rumqttd::{Config, ConnectionSettings, RouterConfig, ServerSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{error, info};

/// How long rumqttd may take to start answering.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id `vmodem-probe`.
const PROBE_CONNECT: &[u8] = b"\x10\x18\x00\x04MQTT\x04\x02\x00\x3c\x00\x0cvmodem-probe";
/// CONNACK, no session present, accepted.
const CONNACK_ACCEPTED: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
/// DISCONNECT.
const DISCONNECT: &[u8] = b"\xe0\x00";

/// A running embedded broker.
#[derive(Debug)]
pub struct EmbeddedBroker {
    addr: SocketAddr,
}

/// Why the embedded broker did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// Something (often another MQTT broker, such as mosquitto) listens there.
    #[error(
        "{addr} is already in use by another program (often another MQTT broker); \
         listen on another port, or do without the embedded broker and use that one"
    )]
    AddrInUse {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address cannot be listened on for another reason.
    #[error("cannot listen on {addr}; check the address is one of this machine's")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The broker's thread could not be started.
    #[error("cannot start the broker thread; the system is out of threads or memory")]
    Thread(#[source] io::Error),
    /// rumqttd did not answer an MQTT CONNECT in time.
    #[error(
        "the embedded broker did not come up on {addr} within {timeout:?}; rumqttd logs \
         its reason under the `rumqttd` tracing target"
    )]
    NotReady {
        /// The address it should listen on.
        addr: SocketAddr,
        /// How long we waited.
        timeout: Duration,
    },
}

impl EmbeddedBroker {
    /// Starts a broker listening on `listen` (port 0 picks a free port) and
    /// returns once it accepts MQTT connections.
    pub async fn start(listen: SocketAddr) -> Result<EmbeddedBroker, BrokerError> {
        let addr = free_address(listen)?;
        let config = config(addr);
        let thread = std::thread::Builder::new()
            .name("vmodem-broker".into())
            .spawn(move || {
                // `start` returns only if every listener failed.
                if let Err(e) = rumqttd::Broker::new(config).start() {
                    error!(error = %e, "embedded broker stopped");
                }
            })
            .map_err(BrokerError::Thread)?;
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if probe(addr).await.is_ok() {
                info!(%addr, "embedded MQTT broker listening");
                return Ok(EmbeddedBroker { addr });
            }
            if thread.is_finished() || tokio::time::Instant::now() >= deadline {
                return Err(BrokerError::NotReady {
                    addr,
                    timeout: READY_TIMEOUT,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The address clients connect to (with the real port if 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Checks nobody listens on `listen` and resolves port 0 to a free port.
fn free_address(listen: SocketAddr) -> Result<SocketAddr, BrokerError> {
    let probe = std::net::TcpListener::bind(listen).map_err(|source| {
        if source.kind() == io::ErrorKind::AddrInUse {
            BrokerError::AddrInUse { addr: listen }
        } else {
            BrokerError::Bind {
                addr: listen,
                source,
            }
        }
    })?;
    probe.local_addr().map_err(|source| BrokerError::Bind {
        addr: listen,
        source,
    })
}

/// rumqttd's configuration: one v4 (MQTT 3.1.1) listener, nothing else.
fn config(addr: SocketAddr) -> Config {
    let server = ServerSettings {
        name: "vmodem-v4".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 0,
        connections: ConnectionSettings {
            // A module has this long after TCP connect to send CONNECT.
            connection_timeout_ms: 60_000,
            max_payload_size: 1024 * 1024,
            max_inflight_count: 100,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    Config {
        id: 0,
        router: RouterConfig {
            // Room for a fleet of modules plus the tools watching them.
            max_connections: 10_010,
            max_outgoing_packet_count: 200,
            max_segment_size: 1024 * 1024,
            max_segment_count: 10,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("1".to_owned(), server)])),
        ..Config::default()
    }
}

/// One MQTT session: CONNECT, expect CONNACK accepted, DISCONNECT.
async fn probe(addr: SocketAddr) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(PROBE_CONNECT).await?;
    let mut connack = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut connack))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    if connack != CONNACK_ACCEPTED {
        return Err(io::Error::other(format!(
            "unexpected CONNACK {connack:02x?}"
        )));
    }
    stream.write_all(DISCONNECT).await
}
