//! The TCP host port: a serial line for QEMU (`-serial tcp:…`), Renode or socat.
//!
//! One connection at a time is the host. **A new connection replaces the
//! current one**, which is closed, like re-plugging a cable: a client that
//! crashed or hung can never lock the module away from the next one. The
//! module keeps running while no host is connected; its output meanwhile is
//! dropped (nobody is on the line), and output still queued for a host that
//! left is dropped with it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

use crate::host::PortError;
use crate::outqueue::OutQueue;

/// A TCP listener serving as a module's serial line.
#[derive(Debug)]
pub struct TcpSerialPort {
    listener: TcpListener,
    host: Option<(TcpStream, SocketAddr)>,
    out: OutQueue,
}

impl TcpSerialPort {
    /// Listens on `addr` (loopback, e.g. `127.0.0.1:5555`, unless the module
    /// should be reachable from other machines; port 0 picks a free one).
    pub async fn bind(addr: SocketAddr) -> Result<TcpSerialPort, PortError> {
        let listener = TcpListener::bind(addr).await.map_err(|source| {
            if source.kind() == io::ErrorKind::AddrInUse {
                PortError::AddrInUse { addr }
            } else {
                PortError::Bind { addr, source }
            }
        })?;
        Ok(TcpSerialPort {
            listener,
            host: None,
            out: OutQueue::default(),
        })
    }

    /// The address hosts connect to (with the real port if 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) {
        if self.host.is_some() {
            self.out.push(bytes);
        } else {
            debug!(
                len = bytes.len(),
                "no host connected; module output goes nowhere"
            );
        }
    }

    /// Waits until a host connects (at once if one is connected).
    pub(crate) async fn attached(&mut self) -> io::Result<()> {
        while self.host.is_none() {
            let accepted = self.listener.accept().await;
            self.accepted(accepted).await;
        }
        Ok(())
    }

    pub(crate) async fn recv(&mut self) -> io::Result<Vec<u8>> {
        loop {
            let interest = if self.out.is_empty() {
                Interest::READABLE
            } else {
                Interest::READABLE | Interest::WRITABLE
            };
            tokio::select! {
                accepted = self.listener.accept() => self.accepted(accepted).await,
                ready = host_ready(&self.host, interest), if self.host.is_some() => {
                    match ready.and_then(|ready| self.exchange(ready)) {
                        Ok(Some(bytes)) => return Ok(bytes),
                        Ok(None) => {}
                        Err(e) => self.hang_up(&format!("connection failed: {e}")),
                    }
                }
            }
        }
    }

    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        while let Some((stream, _)) = &self.host {
            if self.out.is_empty() {
                break;
            }
            stream.writable().await?;
            write_queued(stream, &mut self.out)?;
        }
        Ok(())
    }

    async fn accepted(&mut self, accepted: io::Result<(TcpStream, SocketAddr)>) {
        match accepted {
            Ok((stream, peer)) => {
                if let Err(e) = stream.set_nodelay(true) {
                    debug!(error = %e, "cannot set TCP_NODELAY on the host connection");
                }
                match self.host.replace((stream, peer)) {
                    Some((_, old)) => {
                        info!(%peer, %old, "new host connection replaces the old one")
                    }
                    None => info!(%peer, "host connected"),
                }
                self.out.clear();
            }
            Err(e) => {
                // Out of file descriptors and the like: pause instead of spinning.
                warn!(error = %e, "cannot accept a host connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Reads and writes what readiness allows; `Some` when the host sent bytes.
    fn exchange(&mut self, ready: tokio::io::Ready) -> io::Result<Option<Vec<u8>>> {
        let Some((stream, _)) = &self.host else {
            return Ok(None);
        };
        if ready.is_writable() && !self.out.is_empty() {
            write_queued(stream, &mut self.out)?;
        }
        if ready.is_readable() || ready.is_read_closed() {
            let mut buf = [0u8; 1024];
            match stream.try_read(&mut buf) {
                Ok(0) => self.hang_up("host disconnected"),
                Ok(n) => return Ok(Some(buf[..n].to_vec())),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    fn hang_up(&mut self, why: &str) {
        if let Some((_, peer)) = self.host.take() {
            info!(%peer, "{why}; waiting for the next host connection");
        }
        self.out.clear();
    }
}

/// Writes queued output as far as the socket takes it now.
fn write_queued(stream: &TcpStream, out: &mut OutQueue) -> io::Result<()> {
    match stream.try_write(out.front()) {
        Ok(n) => out.consume(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

async fn host_ready(
    host: &Option<(TcpStream, SocketAddr)>,
    interest: Interest,
) -> io::Result<tokio::io::Ready> {
    match host {
        Some((stream, _)) => stream.ready(interest).await,
        None => std::future::pending().await,
    }
}
