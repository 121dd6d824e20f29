//! Turning `AT+QMTOPEN`'s host and port into a TCP connection, and its
//! failures into the [`ConnectError`] the core turns into `+QMTOPEN` results.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{timeout_at, Instant};
use tracing::debug;
use vmodem_core::ConnectError;

// ---- issue 13 §4: source addresses past the ephemeral port limit ----------

/// Local addresses that network links bind to before connecting, taken in
/// turn by every module sharing the pool (clones share the turn).
///
/// Why: a TCP connection needs a distinct (source address, source port) per
/// destination, and Linux hands out ~28,000 ephemeral ports
/// (`net.ipv4.ip_local_port_range` 32768–60999) per source address. A fleet
/// of more modules than that on one broker address runs out of ports with a
/// single source; every 127.0.0.x is a loopback address of its own, so a
/// pool of `k` of them holds `k` × 28k links. A source is used only for a
/// destination it can reach: a loopback source for a loopback destination,
/// a non-loopback one for the rest, same address family; otherwise the
/// kernel chooses, as with an empty pool (the default).
#[derive(Clone, Debug, Default)]
pub struct SourceAddrs {
    ips: Arc<[IpAddr]>,
    turn: Arc<AtomicUsize>,
}

impl SourceAddrs {
    /// A pool of these addresses (empty: the kernel chooses, the default).
    pub fn new(ips: impl IntoIterator<Item = IpAddr>) -> SourceAddrs {
        SourceAddrs {
            ips: ips.into_iter().collect(),
            turn: Arc::default(),
        }
    }

    /// `127.0.0.1` … `127.0.0.count` (`count` 1–254): room for `count` × ~28k
    /// links to one loopback broker.
    pub fn loopback(count: u8) -> SourceAddrs {
        SourceAddrs::new((1..=count.max(1)).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i))))
    }

    /// The addresses of the pool.
    pub fn addrs(&self) -> &[IpAddr] {
        &self.ips
    }

    /// The next source that can reach `dest`, if the pool has one.
    fn pick(&self, dest: &SocketAddr) -> Option<IpAddr> {
        let fits = |ip: &IpAddr| {
            ip.is_ipv4() == dest.is_ipv4() && ip.is_loopback() == dest.ip().is_loopback()
        };
        let usable = self.ips.iter().filter(|ip| fits(ip)).count();
        if usable == 0 {
            return None;
        }
        let n = self.turn.fetch_add(1, Ordering::Relaxed) % usable;
        self.ips.iter().filter(|ip| fits(ip)).nth(n).copied()
    }
}

/// Connects to `addr` from `source` (port chosen by the kernel), or from
/// wherever the kernel chooses.
async fn connect_from(source: Option<IpAddr>, addr: SocketAddr) -> io::Result<TcpStream> {
    let Some(ip) = source else {
        return TcpStream::connect(addr).await;
    };
    let socket = match ip {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(ip, 0))?;
    socket.connect(addr).await
}

// ---- end issue 13 §4 -----------------------------------------------------

/// Resolves and connects, with `--hosts` overrides and one deadline.
#[derive(Debug)]
pub(crate) struct Dialer {
    /// Lower-cased host name → address; consulted before the system resolver.
    hosts: HashMap<String, IpAddr>,
    /// How long resolving and connecting together may take.
    timeout: Duration,
    /// Where links connect from (issue 13 §4); empty: the kernel chooses.
    sources: SourceAddrs,
}

impl Dialer {
    pub(crate) fn new(hosts: &HashMap<String, IpAddr>, timeout: Duration) -> Dialer {
        let hosts = hosts
            .iter()
            .map(|(name, ip)| (name.to_ascii_lowercase(), *ip))
            .collect();
        Dialer {
            hosts,
            timeout,
            sources: SourceAddrs::default(),
        }
    }

    /// Links connect from the addresses of `sources`, in turn.
    pub(crate) fn with_sources(mut self, sources: SourceAddrs) -> Dialer {
        self.sources = sources;
        self
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
            let source = self.sources.pick(&addr);
            match timeout_at(deadline, connect_from(source, addr)).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 13 §4: links connect from the pool's addresses, in turn, and a
    /// loopback pool is not used for a destination it cannot reach.
    #[tokio::test]
    async fn links_connect_from_the_source_pool_in_turn() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let pool: Vec<IpAddr> = ["127.0.0.2", "127.0.0.3"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let dialer = Dialer::new(&HashMap::new(), Duration::from_secs(5))
            .with_sources(SourceAddrs::new(pool.clone()));
        let mut seen = Vec::new();
        for _ in 0..4 {
            let stream = dialer.dial("127.0.0.1", port).await.unwrap();
            let (_, peer) = listener.accept().await.unwrap();
            // What the broker sees is what the link bound.
            assert_eq!(peer, stream.local_addr().unwrap());
            seen.push(peer.ip());
        }
        assert_eq!(seen, [pool[0], pool[1], pool[0], pool[1]]);
        // A loopback source cannot reach another address: the pool stays unused.
        let dest: SocketAddr = "192.0.2.1:1883".parse().unwrap();
        assert_eq!(SourceAddrs::new(pool).pick(&dest), None);
        assert_eq!(SourceAddrs::loopback(3).addrs().len(), 3);
    }
}
