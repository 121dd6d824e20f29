//! The TCP host port: a serial line for QEMU (`-serial tcp:…`), Renode or socat.
//!
//! One connection at a time is the host. **A new connection replaces the
//! current one**, which is closed, like re-plugging a cable: a client that
//! crashed or hung can never lock the module away from the next one.
//!
//! **While no host is connected, output waits**, as it does on a UART with
//! RTS/CTS flow control when nobody holds CTS: the module keeps it (and
//! applies back-pressure: its links pause, and past a bound it stops taking
//! host input), and the next host to connect receives it. Nothing the module
//! acknowledged to a broker is lost because a cable was unplugged. Bytes
//! already written to the socket of a host that then left went with it.
//!
//! The port is a plain byte stream ([`AsyncRead`]/[`AsyncWrite`]): reading
//! and writing both take a waiting connection first, so the module task has
//! one read and one write arm whatever the transport.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tracing::{debug, info, warn};

use crate::host::PortError;

/// How long to wait after a failed accept (out of file descriptors and the
/// like) before trying again, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A TCP listener serving as a module's serial line.
#[derive(Debug)]
pub struct TcpSerialPort {
    listener: TcpListener,
    host: Option<(TcpStream, SocketAddr)>,
    /// Set after a failed accept: no accept until it fires.
    backoff: Option<Pin<Box<Sleep>>>,
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
            backoff: None,
        })
    }

    /// The address hosts connect to (with the real port if 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Waits until a host connects (at once if one is connected).
    pub(crate) async fn attached(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| {
            self.poll_accept(cx);
            if self.host.is_some() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        Ok(())
    }

    /// Takes every connection waiting; the newest becomes the host. Never
    /// ready by itself: it registers the listener's waker.
    fn poll_accept(&mut self, cx: &mut Context<'_>) {
        loop {
            if let Some(backoff) = &mut self.backoff {
                if backoff.as_mut().poll(cx).is_pending() {
                    return;
                }
                self.backoff = None;
            }
            match self.listener.poll_accept(cx) {
                Poll::Ready(Ok((stream, peer))) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        debug!(error = %e, "cannot set TCP_NODELAY on the host connection");
                    }
                    match self.host.replace((stream, peer)) {
                        Some((_, old)) => {
                            info!(%peer, %old, "new host connection replaces the old one")
                        }
                        None => info!(%peer, "host connected"),
                    }
                }
                Poll::Ready(Err(e)) => {
                    warn!(error = %e, "cannot accept a host connection");
                    self.backoff = Some(Box::pin(tokio::time::sleep(ACCEPT_BACKOFF)));
                }
                Poll::Pending => return,
            }
        }
    }

    fn hang_up(&mut self, why: &str) {
        if let Some((_, peer)) = self.host.take() {
            info!(%peer, "{why}; output waits for the next host connection");
        }
    }
}

impl AsyncRead for TcpSerialPort {
    /// Bytes from the current host; pending while none is connected. A host
    /// that leaves is not an end: the next connection carries on.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            this.poll_accept(cx);
            let Some((stream, _)) = &mut this.host else {
                return Poll::Pending;
            };
            let before = buf.filled().len();
            match Pin::new(stream).poll_read(cx, buf) {
                Poll::Ready(Ok(())) if buf.filled().len() == before => {
                    this.hang_up("host disconnected")
                }
                Poll::Ready(Ok(())) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(e)) => this.hang_up(&format!("connection failed: {e}")),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl AsyncWrite for TcpSerialPort {
    /// Writes to the current host; pending while none is connected.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            this.poll_accept(cx);
            let Some((stream, _)) = &mut this.host else {
                return Poll::Pending;
            };
            match Pin::new(stream).poll_write(cx, buf) {
                Poll::Ready(Ok(0)) => this.hang_up("host connection takes no more bytes"),
                Poll::Ready(Ok(n)) => return Poll::Ready(Ok(n)),
                Poll::Ready(Err(e)) => this.hang_up(&format!("connection failed: {e}")),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
