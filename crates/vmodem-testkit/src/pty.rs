//! The host end of a module's pseudo-terminal, as firmware on a UART sees it.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use vmodem_client::serial::SerialPort;

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
    port: SerialPort,
}

impl PtyStream {
    /// Opens `path` (a `/dev/pts/N` or a symlink to one) with
    /// [`vmodem_client::serial::open`], as a host program would. Must be
    /// called inside a tokio runtime.
    pub fn open(path: &Path) -> io::Result<PtyStream> {
        Ok(PtyStream {
            port: vmodem_client::serial::open(path, 115_200)?,
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

impl AsyncRead for PtyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.port).poll_read(cx, buf)
    }
}

impl AsyncWrite for PtyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.port).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.port).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.port).poll_shutdown(cx)
    }
}
