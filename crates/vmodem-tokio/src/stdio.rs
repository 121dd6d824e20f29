//! stdin and stdout as the serial line: for pipes, `socat EXEC:`, and a person
//! typing AT commands straight into a terminal.
//!
//! When stdin is a terminal it is put in raw mode for the module's lifetime
//! (Enter sends CR as on a serial console, Ctrl-C still works) and restored
//! when the port is dropped. **End of stdin (or a closed stdout) means the host has gone for good:**
//! the module writes what output is queued and stops, so
//! `printf 'ATI\r' | vmodem run --stdio --no-broker` prints the answer and exits.

use std::io;
use std::os::fd::AsFd;

use nix::sys::termios::Termios;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Stdin, Stdout};
use tracing::warn;

use crate::host::PortError;
use crate::outqueue::OutQueue;
use crate::termios::{make_raw, restore, Raw};

/// The process's stdin and stdout serving as a module's serial line.
///
/// Only one per process makes sense: both streams are shared process-wide.
#[derive(Debug)]
pub struct StdioPort {
    stdin: Stdin,
    stdout: Stdout,
    buf: Box<[u8]>,
    /// Terminal settings to put back, if stdin is a terminal we made raw.
    saved: Option<Termios>,
    out: OutQueue,
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
            buf: vec![0; 1024].into_boxed_slice(),
            saved,
            out: OutQueue::default(),
        })
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) {
        self.out.push(bytes);
    }

    pub(crate) async fn recv(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            tokio::select! {
                read = self.stdin.read(&mut self.buf) => {
                    return match read? {
                        0 => Ok(None),
                        n => Ok(Some(self.buf[..n].to_vec())),
                    };
                }
                written = self.stdout.write(self.out.front()), if !self.out.is_empty() => {
                    let written = match written {
                        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(None),
                        other => other?,
                    };
                    self.out.consume(written);
                    if self.out.is_empty() {
                        // std's stdout holds a partial line (the `> ` prompt) otherwise.
                        self.stdout.flush().await?;
                    }
                }
            }
        }
    }

    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            let written = self.stdout.write(self.out.front()).await?;
            self.out.consume(written);
        }
        self.stdout.flush().await
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
