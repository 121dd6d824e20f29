//! An MQTT broker inside vmodem, so `AT+QMTOPEN=0,"127.0.0.1",1883` works
//! with nothing else installed.
//!
//! Our own broker on our codec (`vmodem-mqtt`), chosen over rumqttd 0.20 and
//! rmqtt by the broker conformance check (`docs/decisions.md`, "The built-in
//! broker"): it speaks MQTT 3.1 (`MQIsdp`, level 3) and 3.1.1 (`MQTT`, level
//! 4), the two revisions of the module's `AT+QMTCFG="version"`; answers every
//! UNSUBSCRIBE; delivers at the minimum of the publication's and the
//! subscription's QoS; keeps retained messages, wills and clean_session=0
//! sessions; sets TCP_NODELAY on every connection; and stays within the
//! bounds of [`Limits`]. With users ([`BrokerOptions::users`]) it refuses a
//! wrong user name or password with CONNACK 4 and a CONNECT without a user
//! name with CONNACK 5. MQTT 5 clients get CONNACK 1 ("unacceptable protocol
//! version", [MQTT-3.1.2-2]).
//!
//! It runs as tasks on the tokio runtime that starts it: one accept loop per
//! listener and one task per connection (a TLS handshake has
//! [`TLS_HANDSHAKE_TIMEOUT`] and holds up nobody else). Dropping the
//! [`EmbeddedBroker`] stops it: the listeners close and every connection is
//! closed without a goodbye, as a broker that goes away does.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::broker_tls::BrokerCerts;

mod connection;
mod router;

pub use router::{Limits, Stats};

use connection::Shared;
use router::Router;

/// How long a client may take to finish its TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The MQTT revisions the broker speaks, for messages to people.
pub const BROKER_PROTOCOLS: &str = "MQTT 3.1 and 3.1.1";

/// MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id `vmodem-probe`.
const PROBE_CONNECT: &[u8] = b"\x10\x18\x00\x04MQTT\x04\x02\x00\x3c\x00\x0cvmodem-probe";
/// DISCONNECT.
const DISCONNECT: &[u8] = b"\xe0\x00";

/// What to start: listeners, users, bounds.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    /// Where the plain-TCP listener listens (port 0 picks a free port).
    pub listen: SocketAddr,
    /// A TLS listener too, at this address, with the server certificate of
    /// these [`BrokerCerts`].
    pub tls: Option<(SocketAddr, BrokerCerts)>,
    /// User names and passwords; when not empty, only these may connect
    /// (on both listeners).
    pub users: Vec<(String, String)>,
    /// The bounds it keeps to.
    pub limits: Limits,
}

impl BrokerOptions {
    /// One plain listener on `listen`, anyone may connect, default bounds.
    pub fn new(listen: SocketAddr) -> BrokerOptions {
        BrokerOptions {
            listen,
            tls: None,
            users: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// A running embedded broker; dropping it stops it.
#[derive(Debug)]
pub struct EmbeddedBroker {
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    users: usize,
    shared: Arc<Shared>,
    /// Dropped with the broker: every task it started sees the channel close.
    _stop: watch::Sender<bool>,
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
    /// The TLS certificate or key cannot be used.
    #[error("cannot use the broker's TLS certificate or key in {path}: {reason}")]
    Tls {
        /// The file, or the directory of the set.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The TLS listener did not complete a verified handshake and an MQTT
    /// CONNECT with its own CA.
    #[error("the embedded broker's TLS listener on {addr} does not work: {reason}")]
    NotReady {
        /// The TLS listener's address.
        addr: SocketAddr,
        /// What failed.
        reason: String,
    },
}

impl EmbeddedBroker {
    /// Starts a broker listening on `listen` (port 0 picks a free port) and
    /// returns once it accepts MQTT connections.
    pub async fn start(listen: SocketAddr) -> Result<EmbeddedBroker, BrokerError> {
        EmbeddedBroker::start_with(BrokerOptions::new(listen)).await
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
        let mut options = BrokerOptions::new(listen);
        options.tls = tls.map(|(addr, certs)| (addr, certs.clone()));
        EmbeddedBroker::start_with(options).await
    }

    /// Starts a broker as `options` say, on the current tokio runtime.
    pub async fn start_with(options: BrokerOptions) -> Result<EmbeddedBroker, BrokerError> {
        let plain = bind(options.listen)?;
        let addr = plain.local_addr().map_err(|source| BrokerError::Bind {
            addr: options.listen,
            source,
        })?;
        let tls = match &options.tls {
            Some((listen, certs)) => {
                let acceptor = tls_acceptor(certs)?;
                let listener = bind(*listen)?;
                let tls_addr = listener.local_addr().map_err(|source| BrokerError::Bind {
                    addr: *listen,
                    source,
                })?;
                Some((listener, tls_addr, acceptor, certs.clone()))
            }
            None => None,
        };
        let users = (!options.users.is_empty())
            .then(|| options.users.iter().cloned().collect::<HashMap<_, _>>());
        let shared = Arc::new(Shared {
            router: Mutex::new(Router::new(options.limits.clone())),
            users,
        });
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(accept_loop(plain, None, shared.clone(), stopped.clone()));
        let mut tls_addr = None;
        if let Some((listener, addr, acceptor, certs)) = tls {
            tokio::spawn(accept_loop(
                listener,
                Some(acceptor),
                shared.clone(),
                stopped.clone(),
            ));
            probe_tls(addr, &certs)
                .await
                .map_err(|e| BrokerError::NotReady {
                    addr,
                    reason: e.to_string(),
                })?;
            tls_addr = Some(addr);
        }
        info!(%addr, users = options.users.len(), "embedded MQTT broker listening");
        if let Some(tls_addr) = tls_addr {
            info!(%tls_addr, "embedded MQTT broker listening with TLS");
        }
        Ok(EmbeddedBroker {
            addr,
            tls_addr,
            users: options.users.len(),
            shared,
            _stop: stop,
        })
    }

    /// The address of the TLS listener, if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The address clients connect to (with the real port if 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many users may connect; 0: anyone may.
    pub fn users(&self) -> usize {
        self.users
    }

    /// Connections, sessions, queues and drops right now.
    pub fn stats(&self) -> Stats {
        self.shared
            .router
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stats()
    }
}

/// Binds `listen`, saying clearly when it is taken.
fn bind(listen: SocketAddr) -> Result<TcpListener, BrokerError> {
    let std = std::net::TcpListener::bind(listen).map_err(|source| {
        if source.kind() == io::ErrorKind::AddrInUse {
            BrokerError::AddrInUse { addr: listen }
        } else {
            BrokerError::Bind {
                addr: listen,
                source,
            }
        }
    })?;
    std.set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(std))
        .map_err(|source| BrokerError::Bind {
            addr: listen,
            source,
        })
}

/// A TLS acceptor with the certificate chain and key of `certs` (rustls on
/// ring, TLS 1.2 and 1.3, no client certificate asked for).
fn tls_acceptor(certs: &BrokerCerts) -> Result<tokio_rustls::TlsAcceptor, BrokerError> {
    let read = |path: PathBuf| {
        std::fs::read(&path).map_err(|e| BrokerError::Tls {
            path: path.clone(),
            reason: e.to_string(),
        })
    };
    let cert_path = certs.cert_path();
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&read(cert_path.clone())?)
            .collect::<Result<_, _>>()
            .map_err(|e| BrokerError::Tls {
                path: cert_path.clone(),
                reason: e.to_string(),
            })?;
    let key_path = certs.key_path();
    let key =
        PrivateKeyDer::from_pem_slice(&read(key_path.clone())?).map_err(|e| BrokerError::Tls {
            path: key_path.clone(),
            reason: e.to_string(),
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| BrokerError::Tls {
            path: cert_path,
            reason: e.to_string(),
        })?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections until the broker stops; each gets a task of its own.
async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(ok) => ok,
            Err(e) => {
                // Out of file descriptors, most often: wait instead of spinning.
                warn!(error = %e, "the embedded broker cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Small packets (PUBACK, PINGRESP, short messages) leave at once.
        if let Err(e) = stream.set_nodelay(true) {
            debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        let shared = shared.clone();
        let stop = stop.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => connection::serve(stream, shared, stop).await,
                Some(acceptor) => {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => connection::serve(stream, shared, stop).await,
                        Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
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
        Duration::from_secs(5),
        connector.connect(ServerName::IpAddress(ip.into()), tcp),
    )
    .await
    .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    mqtt_session(tls).await
}

/// One MQTT session: CONNECT, expect a CONNACK (refused is fine: with users
/// configured the probe has none), DISCONNECT.
async fn mqtt_session(mut stream: impl AsyncRead + AsyncWrite + Unpin) -> io::Result<()> {
    stream.write_all(PROBE_CONNECT).await?;
    let mut connack = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut connack))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    if connack[..3] != [0x20, 0x02, 0x00] {
        return Err(io::Error::other(format!(
            "unexpected CONNACK {connack:02x?}"
        )));
    }
    stream.write_all(DISCONNECT).await?;
    stream.shutdown().await
}
