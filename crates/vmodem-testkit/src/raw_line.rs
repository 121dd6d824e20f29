//! A host that reads raw bytes off the serial line, as firmware reading its
//! UART does: no digester, no broadcast ring that could lag, so a test sees
//! every byte the module wrote, or sees it is missing. Unlike
//! [`RawHost`](crate::RawHost) it keeps no transcript: a flood of megabytes or
//! a memory measurement leaves the test's own memory flat.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::PATIENCE;

/// Raw reads and writes on a serial line (a [`PtyStream`](crate::PtyStream),
/// a TCP serial connection), with the bytes read but not yet consumed kept.
#[derive(Debug)]
pub struct RawLine<S> {
    line: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawLine<S> {
    /// A host on `line`.
    pub fn new(line: S) -> RawLine<S> {
        RawLine {
            line,
            buf: Vec::new(),
        }
    }

    /// Writes `bytes`.
    pub async fn send(&mut self, bytes: &[u8]) {
        tokio::time::timeout(PATIENCE, self.line.write_all(bytes))
            .await
            .expect("the module takes the host's bytes in time")
            .expect("write to the serial line");
    }

    /// Reads until `marker` has arrived; returns everything up to and
    /// including it (the rest stays for the next read). Panics after
    /// [`PATIENCE`] without it, showing the end of what came.
    pub async fn read_until(&mut self, marker: &[u8]) -> Vec<u8> {
        self.read_until_within(marker, PATIENCE).await
    }

    /// [`read_until`](Self::read_until) with another patience.
    pub async fn read_until_within(&mut self, marker: &[u8], patience: Duration) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut searched = 0;
        loop {
            if let Some(at) = self.buf[searched..]
                .windows(marker.len())
                .position(|w| w == marker)
            {
                let end = searched + at + marker.len();
                return self.buf.drain(..end).collect();
            }
            searched = self.buf.len().saturating_sub(marker.len());
            if !self.fill(deadline).await {
                let tail = &self.buf[self.buf.len().saturating_sub(300)..];
                panic!(
                    "no {:?} within {patience:?}; {} bytes came, ending {:?}",
                    marker.escape_ascii().to_string(),
                    self.buf.len(),
                    tail.escape_ascii().to_string()
                );
            }
        }
    }

    /// Reads until the first of `markers` to arrive has; returns everything
    /// up to and including it. Panics after [`PATIENCE`] without one.
    pub async fn read_until_one_of(&mut self, markers: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut scanned = 0;
        loop {
            // One pass over new bytes: a marker ends where its last byte is.
            while scanned < self.buf.len() {
                let end = scanned + 1;
                scanned = end;
                let done = markers
                    .iter()
                    .any(|m| self.buf[..end].ends_with(m.as_bytes()));
                if done {
                    let taken: Vec<u8> = self.buf.drain(..end).collect();
                    return String::from_utf8_lossy(&taken).into_owned();
                }
            }
            if !self.fill(deadline).await {
                let tail = &self.buf[self.buf.len().saturating_sub(300)..];
                panic!(
                    "none of {markers:?} within {PATIENCE:?}; got {:?}",
                    tail.escape_ascii().to_string()
                );
            }
        }
    }

    /// Sends `command` and reads the answer up to and including `until`.
    pub async fn command(&mut self, command: &str, until: &str) -> String {
        self.send(command.as_bytes()).await;
        String::from_utf8_lossy(&self.read_until(until.as_bytes()).await).into_owned()
    }

    /// Reads whatever comes as fast as it can until `done` says enough has
    /// come (it sees every byte read so far, consumed or not, via the buffer
    /// it is handed) or `patience` passes without progress; returns all.
    pub async fn read_while(
        &mut self,
        patience: Duration,
        mut done: impl FnMut(&[u8]) -> bool,
    ) -> Vec<u8> {
        loop {
            if done(&self.buf) {
                return std::mem::take(&mut self.buf);
            }
            let deadline = tokio::time::Instant::now() + patience;
            if !self.fill(deadline).await {
                return std::mem::take(&mut self.buf);
            }
        }
    }

    /// The line itself (to pause reading, drop, or read it another way).
    pub fn line(&mut self) -> &mut S {
        &mut self.line
    }

    /// One read into the buffer; false at the deadline or end of the line.
    async fn fill(&mut self, deadline: tokio::time::Instant) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout_at(deadline, self.line.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            _ => false,
        }
    }
}
