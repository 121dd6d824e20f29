//! Loopback ports and misbehaving TCP peers, for the faults a module must report.

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A loopback port that was free a moment ago (bind port 0, read, release).
/// Whoever uses it must cope with losing a race for it.
pub fn free_port() -> u16 {
    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// A loopback port nobody listens on: connecting to it is refused (RST).
pub fn closed_port() -> u16 {
    free_port()
}

/// When a [`ResettingServer`] resets a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetWhen {
    /// Right after accepting it.
    OnAccept,
    /// As soon as the first bytes arrive (the module's CONNECT).
    OnFirstBytes,
}

/// A TCP server that resets every connection (SO_LINGER 0, then close: the
/// kernel sends RST instead of FIN), as a crashing or hostile peer does.
#[derive(Debug)]
pub struct ResettingServer {
    addr: SocketAddr,
    resets: mpsc::UnboundedReceiver<Vec<u8>>,
    task: JoinHandle<()>,
}

impl ResettingServer {
    /// Listens on a free loopback port.
    pub async fn start(when: ResetWhen) -> ResettingServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let (tx, resets) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut got = Vec::new();
                if when == ResetWhen::OnFirstBytes {
                    let mut buf = [0u8; 1024];
                    match stream.read(&mut buf).await {
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(_) => continue,
                    }
                }
                stream
                    .set_zero_linger()
                    .expect("set SO_LINGER 0 on the accepted socket");
                drop(stream);
                let _ = tx.send(got);
            }
        });
        ResettingServer { addr, resets, task }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Waits (bounded by [`crate::PATIENCE`]) until a connection has been
    /// reset, and returns the bytes read from it before the reset.
    pub async fn next_reset(&mut self) -> Vec<u8> {
        tokio::time::timeout(crate::PATIENCE, self.resets.recv())
            .await
            .expect("a connection was reset in time")
            .expect("the server runs")
    }
}

impl Drop for ResettingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
