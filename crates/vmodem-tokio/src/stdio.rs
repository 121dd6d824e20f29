//! stdin and stdout as the serial line: for pipes, `socat EXEC:`, and a person
//! typing AT commands straight into a terminal.
//!
//! When stdin is a terminal it is put in raw mode for the module's lifetime
//! (Enter sends CR as on a serial console, Ctrl-C still works) and restored
//! when the port is dropped. **End of stdin (or a closed stdout) means the host has gone for good:**
//! the module writes what output waits and stops, so
//! `printf 'ATI\r' | vmodem run --stdio --no-broker` prints the answer and exits.
//!
//! The port is a plain byte stream ([`AsyncRead`] on stdin, [`AsyncWrite`] on
//! stdout); a closed stdout shows as [`io::ErrorKind::BrokenPipe`].

use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use nix::sys::termios::Termios;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, Stdin, Stdout};
use tracing::warn;

use crate::host::PortError;
use crate::termios::{make_raw, restore, Raw};

/// The process's stdin and stdout serving as a module's serial line.
///
/// Only one per process makes sense: both streams are shared process-wide.
#[derive(Debug)]
pub struct StdioPort {
    stdin: Stdin,
    stdout: Stdout,
    /// Terminal settings to put back, if stdin is a terminal we made raw.
    saved: Option<Termios>,
}

impl StdioPort {
    /// Takes over stdin and stdout. Must be called inside a tokio runtime.
    pub fn open() -> Result<StdioPort, PortError> {
        let stdin = std::io::stdin();
        let saved = if nix::unistd::isatty(stdin.as_fd()).unwrap_or(false) {
            Some(make_raw(stdin.as_fd(), Raw::Keyboard).map_err(|e| PortError::Stdio(e.into()))?)
        } else {
            None
        };
        Ok(StdioPort {
            stdin: tokio::io::stdin(),
            stdout: tokio::io::stdout(),
            saved,
        })
    }
}

impl AsyncRead for StdioPort {
    /// Bytes typed or piped in; nothing read means the end of stdin.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_read(cx, buf)
    }
}

impl AsyncWrite for StdioPort {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stdout).poll_write(cx, buf)
    }

    /// std's stdout holds a partial line (the `> ` prompt) until flushed.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdout).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdout).poll_shutdown(cx)
    }
}

impl Drop for StdioPort {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            if let Err(e) = restore(std::io::stdin().as_fd(), saved) {
                warn!(error = %e, "cannot restore the terminal settings; run `reset`");
            }
        }
    }
}
