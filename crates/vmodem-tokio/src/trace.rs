//! A record of every byte on a module's serial line, for bug reports and for
//! comparing vmodem against a capture from real hardware.
//!
//! The trace is JSON lines, one object per chunk of bytes in one direction:
//!
//! ```text
//! {"t_ms":0,"dir":"module_to_host","text":"\r\nRDY\r\n…","hex":"0d0a5244590d0a…"}
//! {"t_ms":12,"dir":"host_to_module","text":"AT\r","hex":"41540d"}
//! {"t_ms":12,"dir":"module_to_host","text":"AT\r\r\nOK\r\n","hex":"41540d0d0a4f4b0d0a"}
//! ```
//!
//! - `t_ms`: the module's clock, milliseconds since the module was created
//!   (the same `now` the core was given, so traces line up with core tests).
//! - `dir`: `host_to_module` (bytes the host wrote) or `module_to_host`
//!   (bytes the module wrote, recorded when written, whether or not a host
//!   was there to read them).
//! - `text`: the bytes as UTF-8 for reading, invalid sequences shown as U+FFFD;
//!   `hex`: the exact bytes, lower-case. Trust `hex` when they differ.
//!
//! Chunk boundaries are whatever the transport delivered; they carry no meaning.
//! Each record is written with one `write` call, so the file is complete up to
//! the last record even if vmodem is killed.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use tracing::warn;
use vmodem_core::Instant;

/// Which way bytes went on the serial line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Direction {
    /// The host wrote them.
    HostToModule,
    /// The module wrote them.
    ModuleToHost,
}

#[derive(Serialize)]
struct Record<'a> {
    t_ms: u64,
    dir: Direction,
    text: &'a str,
    hex: &'a str,
}

/// A trace being written.
pub(crate) struct Trace {
    out: Box<dyn Write + Send>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trace")
    }
}

impl Trace {
    /// Starts a trace in a new (or truncated) file.
    pub(crate) fn create(path: &Path) -> io::Result<Trace> {
        Ok(Trace::to_writer(File::create(path)?))
    }

    /// Starts a trace written to `out`.
    pub(crate) fn to_writer(out: impl Write + Send + 'static) -> Trace {
        Trace { out: Box::new(out) }
    }

    /// Records `bytes` going `dir` at `now`. A failing trace is reported and
    /// the error returned; the caller stops tracing rather than the module.
    pub(crate) fn record(&mut self, now: Instant, dir: Direction, bytes: &[u8]) -> io::Result<()> {
        let mut hex = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            let _ = write!(hex, "{b:02x}");
        }
        let record = Record {
            t_ms: now.as_millis(),
            dir,
            text: &String::from_utf8_lossy(bytes),
            hex: &hex,
        };
        let mut line = serde_json::to_vec(&record)?;
        line.push(b'\n');
        self.out.write_all(&line).inspect_err(|e| {
            warn!(error = %e, "cannot write the trace; tracing stops, the module goes on");
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_json_line_per_chunk_with_text_and_exact_hex() {
        let sink = Shared::default();
        let mut trace = Trace::to_writer(sink.clone());
        trace
            .record(Instant::from_millis(12), Direction::HostToModule, b"AT\r")
            .unwrap();
        trace
            .record(
                Instant::from_millis(13),
                Direction::ModuleToHost,
                b"\xff\"\r\n",
            )
            .unwrap();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "{\"t_ms\":12,\"dir\":\"host_to_module\",\"text\":\"AT\\r\",\"hex\":\"41540d\"}\n\
             {\"t_ms\":13,\"dir\":\"module_to_host\",\"text\":\"\u{fffd}\\\"\\r\\n\",\"hex\":\"ff220d0a\"}\n"
        );
    }
}
