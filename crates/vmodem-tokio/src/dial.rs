//! Turning `AT+QMTOPEN`'s host and port into a TCP connection, and its
//! failures into the [`ConnectError`] the core turns into `+QMTOPEN` results.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tracing::debug;
use vmodem_core::ConnectError;

/// Resolves and connects, with `--hosts` overrides and one deadline.
#[derive(Debug)]
pub(crate) struct Dialer {
    /// Lower-cased host name → address; consulted before the system resolver.
    hosts: HashMap<String, IpAddr>,
    /// How long resolving and connecting together may take.
    timeout: Duration,
}

impl Dialer {
    pub(crate) fn new(hosts: &HashMap<String, IpAddr>, timeout: Duration) -> Dialer {
        let hosts = hosts
            .iter()
            .map(|(name, ip)| (name.to_ascii_lowercase(), *ip))
            .collect();
        Dialer { hosts, timeout }
    }

    /// Connects to `host:port`.
    ///
    /// An IP literal is used as is, then the overrides are asked, then the
    /// system resolver. Running out of time while resolving is a DNS failure
    /// (`+QMTOPEN: c,4`), while connecting a timeout. Each resolved address is
    /// tried in turn, within the same deadline.
    pub(crate) async fn dial(&self, host: &str, port: u16) -> Result<TcpStream, ConnectError> {
        let deadline = Instant::now() + self.timeout;
        let addrs = self.resolve(host, port, deadline).await?;
        let mut error = ConnectError::Dns;
        for addr in addrs {
            match timeout_at(deadline, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        debug!(%addr, error = %e, "cannot set TCP_NODELAY");
                    }
                    return Ok(stream);
                }
                Ok(Err(e)) => {
                    debug!(%addr, error = %e, "connect failed");
                    error = connect_error(&e);
                }
                Err(_) => return Err(ConnectError::TimedOut),
            }
        }
        Err(error)
    }

    async fn resolve(
        &self,
        host: &str,
        port: u16,
        deadline: Instant,
    ) -> Result<Vec<SocketAddr>, ConnectError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        if let Some(ip) = self.hosts.get(&host.to_ascii_lowercase()) {
            return Ok(vec![SocketAddr::new(*ip, port)]);
        }
        match timeout_at(deadline, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if addrs.is_empty() {
                    Err(ConnectError::Dns)
                } else {
                    Ok(addrs)
                }
            }
            Ok(Err(e)) => {
                debug!(host, error = %e, "name did not resolve");
                Err(ConnectError::Dns)
            }
            Err(_) => {
                debug!(host, "resolver did not answer in time");
                Err(ConnectError::Dns)
            }
        }
    }
}

fn connect_error(e: &io::Error) -> ConnectError {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused | HostUnreachable | NetworkUnreachable | ConnectionReset => {
            ConnectError::Refused
        }
        TimedOut => ConnectError::TimedOut,
        _ => ConnectError::Other(e.to_string()),
    }
}
