//! An MQTT broker inside vmodem, so `AT+QMTOPEN=0,"127.0.0.1",1883` works
//! with nothing else installed.
//!
//! This is rumqttd 0.20 with one plain-TCP MQTT 3.1.1 listener and, if asked
//! ([`EmbeddedBroker::start_with_tls`]), a TLS one (rumqttd's `use-rustls`:
//! rustls 0.22 on ring) with a certificate of [`BrokerCerts`]; it accepts any
//! client (no authentication, no client certificates) and also serves outside
//! clients such as `mosquitto_sub`. rumqttd runs each TLS handshake inside its
//! accept loop, without a time limit: a client that connects to the TLS port
//! and never finishes its handshake holds up the TLS clients after it until it
//! goes (the plain port is not affected). rumqttd runs its router and listener on threads of
//! its own, and offers no way to stop them: the broker lives until the process
//! exits. rumqttd's listener reports a failed bind only to its log, so we check
//! the address is free before starting it, and wait until it answers an MQTT
//! CONNECT before reporting it started.
//!
//! rumqttd speaks MQTT 3.1.1 (and 5) but refuses MQTT 3.1 (`MQIsdp`, protocol
//! level 3): a module must be set to `AT+QMTCFG="version",c,4` to use it.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rumqttd::{Config, ConnectionSettings, RouterConfig, ServerSettings, TlsConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{error, info};

use crate::broker_tls::BrokerCerts;

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
    tls_addr: Option<SocketAddr>,
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
        EmbeddedBroker::start_with_tls(listen, None).await
    }

    /// Like [`start`](Self::start), and with `tls` also listens with TLS on
    /// its address (port 0 picks a free port) with the server certificate of
    /// its [`BrokerCerts`]; returns once both listeners accept MQTT
    /// connections (the TLS one checked with a handshake that verifies the
    /// certificate against the CA).
    pub async fn start_with_tls(
        listen: SocketAddr,
        tls: Option<(SocketAddr, &BrokerCerts)>,
    ) -> Result<EmbeddedBroker, BrokerError> {
        let addr = free_address(listen)?;
        let tls = match tls {
            Some((listen, certs)) => Some((free_address(listen)?, certs)),
            None => None,
        };
        let config = config(addr, tls);
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
        let mut plain_ready = false;
        loop {
            plain_ready = plain_ready || probe(addr).await.is_ok();
            let tls_ready = match tls {
                None => true,
                Some((tls_addr, certs)) => probe_tls(tls_addr, certs).await.is_ok(),
            };
            if plain_ready && tls_ready {
                info!(%addr, "embedded MQTT broker listening");
                let tls_addr = tls.map(|(tls_addr, _)| tls_addr);
                if let Some(tls_addr) = tls_addr {
                    info!(%tls_addr, "embedded MQTT broker listening with TLS");
                }
                return Ok(EmbeddedBroker { addr, tls_addr });
            }
            if thread.is_finished() || tokio::time::Instant::now() >= deadline {
                let addr = match (plain_ready, tls) {
                    (true, Some((tls_addr, _))) => tls_addr,
                    _ => addr,
                };
                return Err(BrokerError::NotReady {
                    addr,
                    timeout: READY_TIMEOUT,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The address of the TLS listener, if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
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

/// rumqttd's configuration: one v4 (MQTT 3.1.1) listener, and one with TLS
/// if asked for, nothing else.
fn config(addr: SocketAddr, tls: Option<(SocketAddr, &BrokerCerts)>) -> Config {
    let server = |name: &str, listen: SocketAddr, tls: Option<TlsConfig>| ServerSettings {
        name: name.into(),
        listen,
        tls,
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
    let mut servers = HashMap::from([("1".to_owned(), server("vmodem-v4", addr, None))]);
    if let Some((tls_addr, certs)) = tls {
        let tls = TlsConfig::Rustls {
            // Without rumqttd's `verify-client-cert` no client certificate is asked for.
            capath: None,
            certpath: certs.cert_path().display().to_string(),
            keypath: certs.key_path().display().to_string(),
        };
        servers.insert("2".to_owned(), server("vmodem-v4-tls", tls_addr, Some(tls)));
    }
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
        v4: Some(servers),
        ..Config::default()
    }
}

/// One MQTT session over plain TCP.
async fn probe(addr: SocketAddr) -> io::Result<()> {
    mqtt_session(TcpStream::connect(addr).await?).await
}

/// One MQTT session over TLS, verifying the broker's certificate against its
/// CA and its address, as a module at seclevel 1 does.
async fn probe_tls(addr: SocketAddr, certs: &BrokerCerts) -> io::Result<()> {
    let ca = std::fs::read(certs.ca_path())?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&ca) {
        roots
            .add(cert.map_err(io::Error::other)?)
            .map_err(io::Error::other)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // A wildcard listener is reached on loopback.
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let tcp = TcpStream::connect((ip, addr.port())).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = tokio::time::timeout(
        Duration::from_secs(2),
        connector.connect(ServerName::IpAddress(ip.into()), tcp),
    )
    .await
    .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    mqtt_session(tls).await
}

/// One MQTT session: CONNECT, expect CONNACK accepted, DISCONNECT.
async fn mqtt_session(mut stream: impl AsyncRead + AsyncWrite + Unpin) -> io::Result<()> {
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
    stream.write_all(DISCONNECT).await?;
    stream.shutdown().await
}
