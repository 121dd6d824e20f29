//! The host end of a module's pseudo-terminal, as firmware on a UART sees it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::sys::termios::{self, SetArg};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::PATIENCE;

/// A pty slave opened as a host would open a serial device: raw mode, no
/// controlling terminal, non-blocking through tokio.
///
/// The settings are applied with `tcsetattr(TCSANOW)`, **not** `TCSAFLUSH`:
/// what the module wrote before the device was opened (its boot chain) is
/// still there to read, as on a UART whose FIFO kept it.
///
/// Implements [`AsyncRead`] and [`AsyncWrite`], so it can be handed to
/// [`vmodem_client::Client::builder`], or read directly for exact bytes with
/// [`PtyStream::expect`]. Once the module is gone the slave reads `EIO`; that
/// is reported as end of file.
#[derive(Debug)]
pub struct PtyStream {
    fd: AsyncFd<File>,
}

impl PtyStream {
    /// Opens `path` (a `/dev/pts/N` or a symlink to one). Must be called
    /// inside a tokio runtime.
    pub fn open(path: &Path) -> io::Result<PtyStream> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags((OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).bits())
            .open(path)?;
        let mut raw = termios::tcgetattr(&file).map_err(io::Error::from)?;
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(&file, SetArg::TCSANOW, &raw).map_err(io::Error::from)?;
        Ok(PtyStream {
            fd: register(file)?,
        })
    }

    /// Writes `bytes` as the host.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.write_all(bytes).await.expect("write to the pty");
    }

    /// Reads exactly as many bytes as `expected` holds, within [`PATIENCE`],
    /// and checks they are those bytes. Panics showing what came otherwise.
    pub async fn expect(&mut self, expected: &[u8]) {
        let mut got = Vec::with_capacity(expected.len());
        let read = tokio::time::timeout(PATIENCE, async {
            let mut buf = [0u8; 256];
            while got.len() < expected.len() {
                let want = (expected.len() - got.len()).min(buf.len());
                let n = self.read(&mut buf[..want]).await?;
                if n == 0 {
                    return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
                }
                got.extend_from_slice(&buf[..n]);
            }
            Ok(())
        })
        .await;
        match read {
            Ok(Ok(())) => assert_eq!(
                got.escape_ascii().to_string(),
                expected.escape_ascii().to_string(),
                "unexpected bytes from the module"
            ),
            Ok(Err(e)) => panic!(
                "reading the pty failed ({e}) after {:?}; expected {:?}",
                got.escape_ascii().to_string(),
                expected.escape_ascii().to_string()
            ),
            Err(_) => panic!(
                "waited {PATIENCE:?} for {:?}, got only {:?}",
                expected.escape_ascii().to_string(),
                got.escape_ascii().to_string()
            ),
        }
    }

    /// Everything that arrives within `quiet` (for checking silence).
    pub async fn read_for(&mut self, quiet: Duration) -> Vec<u8> {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(quiet, async {
            let mut buf = [0u8; 256];
            loop {
                match self.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        got
    }
}

/// Watches `file` for readiness (tokio 1.54 made the registration `unsafe`
/// and deprecated the safe `AsyncFd::new`, as vmodem-tokio's `reactor.rs` explains).
#[allow(unsafe_code)]
fn register(file: File) -> io::Result<AsyncFd<File>> {
    // SAFETY: a `File` owns its descriptor: it stays open and names the same
    // open file description until the `File` is dropped, and `as_raw_fd`
    // always returns that one descriptor. The `AsyncFd` takes ownership of the
    // `File`, so the descriptor outlives the registration.
    unsafe { AsyncFd::register(file) }.map_err(|e| e.into_parts().1)
}

/// `EIO` is what a pty slave reads once its master has closed: end of file.
fn eof_on_eio(result: io::Result<usize>) -> io::Result<usize> {
    match result {
        Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => Ok(0),
        other => other,
    }
}

impl AsyncRead for PtyStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| eof_on_eio(fd.get_ref().read(unfilled))) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for PtyStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| fd.get_ref().write(buf)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
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
