//! The serial line at the byte level: what the runner writes, and a buffer of what the module
//! sent that the runner has not yet matched.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

use crate::target::Line;

/// A line to a module and the bytes it sent that are not matched yet.
pub(crate) struct Link {
    io: Box<dyn Line>,
    /// Received, not yet consumed.
    pub(crate) buf: Vec<u8>,
}

impl Link {
    pub(crate) fn new(io: Box<dyn Line>) -> Link {
        Link {
            io,
            buf: Vec::new(),
        }
    }

    /// Writes `bytes` to the module.
    pub(crate) async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.io
            .write_all(bytes)
            .await
            .context("cannot write to the module's line")?;
        self.io
            .flush()
            .await
            .context("cannot write to the module's line")
    }

    /// Waits for more bytes until `deadline`; `false` if none came by then.
    pub(crate) async fn fill(&mut self, deadline: Instant) -> Result<bool> {
        let mut chunk = [0u8; 1024];
        match timeout_at(deadline, self.io.read(&mut chunk)).await {
            Err(_) => Ok(false),
            Ok(Ok(0)) => bail!("the module's line closed (the module or its server stopped)"),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Ok(Err(e)) => Err(e).context("cannot read from the module's line"),
        }
    }

    /// Reads until nothing has come for `quiet`, or until `limit` has passed.
    pub(crate) async fn settle(&mut self, quiet: Duration, limit: Duration) -> Result<()> {
        let end = Instant::now() + limit;
        loop {
            let deadline = (Instant::now() + quiet).min(end);
            if !self.fill(deadline).await? || Instant::now() >= end {
                return Ok(());
            }
        }
    }

    /// Takes everything received so far.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Sends `line` and CR, and reads until a final result line (`OK`, `ERROR`, `+CME
    /// ERROR: …`, or `0`/`4` under ATV0) comes, for setup and probing. Returns the other
    /// lines of the answer, echo removed, and the final result.
    pub(crate) async fn command(
        &mut self,
        line: &str,
        timeout: Duration,
    ) -> Result<(Vec<String>, String)> {
        self.buf.clear();
        self.send(format!("{line}\r").as_bytes()).await?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = answer(&self.buf, line) {
                self.buf.clear();
                return Ok(found);
            }
            if !self.fill(deadline).await? {
                bail!(
                    "no answer to {line} within {timeout:?} (got {:?}): is this the module's AT \
                     port, and is the module on?",
                    crate::escape::show(&self.buf)
                );
            }
        }
    }
}

/// The lines and final result of a complete answer to `line` in `buf`, if there is one.
fn answer(buf: &[u8], line: &str) -> Option<(Vec<String>, String)> {
    let mut lines = Vec::new();
    // Only complete lines: the last piece may still be arriving.
    let complete = buf.iter().rposition(|&b| b == b'\r' || b == b'\n')?;
    for text in buf[..complete].split(|&b| b == b'\r' || b == b'\n') {
        let text = String::from_utf8_lossy(text).trim().to_string();
        if text.is_empty() || text.eq_ignore_ascii_case(line) {
            continue;
        }
        if is_final(&text) {
            return Some((lines, text));
        }
        lines.push(text);
    }
    None
}

/// A final result code, verbose or numeric.
pub(crate) fn is_final(text: &str) -> bool {
    matches!(text, "OK" | "ERROR" | "0" | "4")
        || text.starts_with("+CME ERROR:")
        || text.starts_with("+CMS ERROR:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_found_whole() {
        let ati = b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n";
        let (lines, result) = answer(ati, "ATI").unwrap();
        assert_eq!(lines, ["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"]);
        assert_eq!(result, "OK");
        assert!(answer(b"ATI\r\r\nQuectel\r\nEC25\r\n", "ATI").is_none());
        assert!(answer(b"ATI\r\r\nO", "ATI").is_none());
        assert_eq!(answer(b"ATE1\r0\r", "ATE1").unwrap().1, "0");
        assert_eq!(
            answer(b"\r\n+CME ERROR: 10\r\n", "AT+CIMI").unwrap().1,
            "+CME ERROR: 10"
        );
    }
}
